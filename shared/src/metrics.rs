//! Business metrics, emitted as tracing events with the target [`TARGET`]: the local server logs them like any other
//! line, and the Lambda functions turn them into CloudWatch embedded-metric-format lines (`booking_aws::lambda`).
//! Each event has a `metric` name, a `value`, and string fields that become the metric's dimensions.

/// The tracing target every metric event carries.
pub const TARGET: &str = "metrics";

/// A booking or reschedule refused by the rules at write time (a lost race or a full day).
pub fn booking_conflict(reason: &'static str) {
    tracing::info!(target: "metrics", metric = "BookingConflict", value = 1u64, reason);
}

/// How a calendar sync of one appointment ended: `synced`, `failed`, `gave_up`.
pub fn sync_outcome(outcome: &'static str) {
    tracing::info!(target: "metrics", metric = "SyncOutcome", value = 1u64, outcome);
}
