//! Inbound sync: the busy-time cache of a business's selected calendar follows what the calendar holds.
//!
//! Everything goes through one idempotent job per business, [`run_calendar_sync`]: it first makes sure a push
//! channel is open and not about to expire, then brings the cache up to date from the stored cursor (a full sync
//! when there is none, when the provider forgot it, or once a day so the window moves forward). Push
//! notifications, calendar selection and the scheduled safety net only enqueue that job, so a webhook answers in
//! milliseconds and a lost notification costs at most the safety-net period.
//!
//! Jobs of one business never interleave (a lease in the store), and the cursor is written conditionally on the
//! version the job read: a job that lost a race runs again rather than overwriting a newer cursor. Applying the same
//! changes twice is harmless, because the cache is keyed by event.
//!
//! By concern: [`watching`] starts and stops following a calendar, [`job`] is the sync job, [`busy_time`] applies
//! what the calendar holds to the cache, [`channel`] opens and renews push channels, [`notifications`]
//! authenticates the provider's webhooks, [`safety_net`] is the scheduled sweep. The timings they share are here.

mod busy_time;
mod channel;
mod job;
mod notifications;
mod safety_net;
mod watching;

use std::time::Duration;

use jiff::SignedDuration;

use super::context::App;
use super::error::AppError;
use super::sync_core::calendar_job;
use crate::domain::{BusinessId, WatchId};

pub use job::run_calendar_sync;
pub use notifications::accept_notifications;
pub use safety_net::sync_stale_calendars;
pub use watching::{follow_calendars, resume_watching, stop_watching};

/// Longer than a sync can take: a token refresh, a few pages and a channel call, each bounded by the HTTP timeout.
const CALENDAR_LEASE: SignedDuration = SignedDuration::from_secs(120);
/// A full sync moves the window forward; incremental syncs only report changes inside the first window.
pub const FULL_SYNC_EVERY: SignedDuration = SignedDuration::from_hours(24);
/// A calendar not synced for this long is synced by the scheduled function, whatever the notifications did.
pub const SAFETY_NET_AFTER: SignedDuration = SignedDuration::from_mins(15);
/// How often the scheduled function runs on AWS: `rate(5 minutes)` in `infra/template.yaml` (a test holds the two
/// together). The local server sweeps every minute, which only checks more often.
pub const SCHEDULER_PERIOD: SignedDuration = SignedDuration::from_mins(5);
/// The longest a watched calendar's channel goes unchecked even when one scheduled run is missed: every sync checks
/// the channel; a calendar is due a sync once its last one is [`SAFETY_NET_AFTER`] old, the next run notices within
/// a period (two, when one is missed), and the sync may wait out a lease held by another.
pub const LONGEST_UNCHECKED: SignedDuration = SAFETY_NET_AFTER
    .saturating_add(SCHEDULER_PERIOD)
    .saturating_add(SCHEDULER_PERIOD)
    .saturating_add(CALENDAR_LEASE);
/// How long a provider may refuse or fail our renewals before a channel lapses.
const OUTAGE_RIDDEN_OUT: SignedDuration = SignedDuration::from_hours(24);
/// Channels are renewed once they expire within this: the first check inside it comes at most
/// [`LONGEST_UNCHECKED`] later, and failed renewals are tried again at every check after it for a day.
pub const RENEW_BEFORE: SignedDuration = OUTAGE_RIDDEN_OUT.saturating_add(LONGEST_UNCHECKED);

/// Calendars checked at the same moment (a member choosing several, a salon's staff connecting on one morning)
/// would otherwise renew their channels, and run their daily full syncs, at the same moments ever after: bursts
/// against the providers' per-user limits (Graph: four concurrent requests per mailbox; Google: 600 a minute per
/// user). Each watch takes a fixed place in these spans instead, from its id: its channels are asked to expire that
/// much sooner, and its full syncs come that much earlier.
pub const RENEWAL_SPREAD: SignedDuration = SignedDuration::from_hours(6);
pub const FULL_SYNC_SPREAD: SignedDuration = SignedDuration::from_hours(2);

/// The watch's place in `span`: from its id, so it stays put across renewals and restarts.
fn spread(watch_id: WatchId, span: SignedDuration) -> SignedDuration {
    let id = watch_id.as_uuid();
    let mut tail = [0_u8; 8];
    tail.copy_from_slice(&id.as_bytes()[8..]);
    let span_seconds = span.as_secs().unsigned_abs().max(1);
    let place = u64::from_be_bytes(tail) % span_seconds;
    SignedDuration::from_secs(i64::try_from(place).unwrap_or(0))
}

/// Enqueues a sync of the calendar the watch follows; `notified` when a push notification asked for it.
async fn enqueue<S: ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
    watch_id: WatchId,
    notified: bool,
) -> Result<(), AppError> {
    let job = calendar_job(business_id, watch_id, notified.then(|| app.clock.now()));
    app.queue
        .enqueue(&job, Duration::ZERO)
        .await
        .map_err(|error| AppError::Internal(Box::new(error)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::{google, microsoft};
    #[test]
    fn the_scheduler_period_is_the_one_the_template_deploys() {
        let template = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../infra/template.yaml"
        ));
        let schedule = format!(
            "ScheduleExpression: rate({} minutes)",
            SCHEDULER_PERIOD.as_mins()
        );
        assert_eq!(template.matches("ScheduleExpression:").count(), 1);
        assert!(template.contains(&schedule), "{schedule}");
    }

    #[test]
    fn a_missed_scheduler_run_never_lets_a_channel_lapse() {
        // One missed run is inside the longest gap between checks, and the renewal window holds that gap many
        // times over: a renewal is tried well before expiry and, when it fails, again at later checks.
        assert!(LONGEST_UNCHECKED >= SAFETY_NET_AFTER + SCHEDULER_PERIOD * 2);
        assert!(RENEW_BEFORE >= LONGEST_UNCHECKED * 2);
        assert!(RENEW_BEFORE - LONGEST_UNCHECKED >= OUTAGE_RIDDEN_OUT);
        for lifetime in [google::CHANNEL_LIFETIME, microsoft::SUBSCRIPTION_LIFETIME] {
            // A fresh channel is not renewed at once, wherever its watch sits in the spread: it lives at least a
            // renewal window past the next check.
            assert!(
                lifetime - RENEWAL_SPREAD >= RENEW_BEFORE * 2 + LONGEST_UNCHECKED,
                "{lifetime:?}"
            );
        }
        assert!(microsoft::SUBSCRIPTION_LIFETIME <= microsoft::MAX_SUBSCRIPTION_LIFETIME);
    }

    /// A salon of 20 members, each checking two calendars, all connected within the same minute: 40 channels
    /// (one per checked calendar) whose renewals, and daily full syncs, would all fall in one scheduler run. Spread
    /// by their ids, no run of the scheduler renews more than a few, and the renewals cover most of the span.
    #[test]
    fn the_renewals_of_calendars_checked_together_are_spread() {
        let watches: Vec<WatchId> = (0..20_u128)
            .flat_map(|member| {
                let connection =
                    crate::domain::ConnectionId::from(uuid::Uuid::from_u128(member + 1));
                ["work", "personal"].map(|calendar| WatchId::of(connection, calendar))
            })
            .collect();
        assert_eq!(watches.len(), 40, "one channel per checked calendar");
        for (span, most_per_run) in [(RENEWAL_SPREAD, 3), (FULL_SYNC_SPREAD, 5)] {
            let mut runs: std::collections::BTreeMap<i64, usize> =
                std::collections::BTreeMap::new();
            for watch in &watches {
                let place = spread(*watch, span);
                assert!(place >= SignedDuration::ZERO && place < span, "{place:?}");
                *runs
                    .entry(place.as_secs() / SCHEDULER_PERIOD.as_secs())
                    .or_default() += 1;
            }
            let busiest = runs.values().copied().max().unwrap_or(0);
            assert!(busiest <= most_per_run, "{busiest} in one run of {span:?}");
            let (first, last) = (runs.keys().next(), runs.keys().last());
            let covered = SCHEDULER_PERIOD
                * i32::try_from(last.zip(first).map_or(0, |(l, f)| l - f)).unwrap_or(0);
            assert!(covered >= span * 3 / 4, "covered {covered:?} of {span:?}");
        }
    }
}
