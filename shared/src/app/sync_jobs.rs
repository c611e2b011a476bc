//! Where a sync job goes: the one place that looks at a job's kind, for running it and for giving up on it, and
//! the one place a delivered job is settled, whichever runtime's queue delivered it.

use super::calendar_sync::run_appointment_sync;
use super::context::App;
use super::error::AppError;
use super::inbound_sync::run_calendar_sync;
use super::mail::send_queued_email;
use super::sync_core::SyncOutcome;
use super::sync_maintenance::give_up_appointment_sync;
use crate::ports::{DeadLetterStore, SyncWorkerStore};
use crate::ports::{Job, ReceivedJob};

/// Runs one sync job; `attempt` is the queue's delivery count (1 on the first), used for backoff. A store failure is
/// an `Err`: the queue delivers the job again.
pub async fn run_sync_job<S: SyncWorkerStore + ?Sized>(
    app: &App<S>,
    job: &Job,
    attempt: u32,
) -> Result<SyncOutcome, AppError> {
    match *job {
        Job::SyncAppointment {
            business_id,
            appointment_id,
            version,
        } => run_appointment_sync(app, business_id, appointment_id, version, attempt).await,
        Job::SyncCalendar {
            business_id,
            watch_id,
            requested_at,
        } => run_calendar_sync(app, business_id, watch_id, requested_at, attempt).await,
        Job::SendEmail { ref email } => send_queued_email(app, email, attempt).await,
    }
}

/// How a delivered job ended, for the runtime to tell its queue in its own way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobEnd {
    /// Done for good: the job leaves the queue.
    Done,
    /// To be retried: the queue already holds it back for its backoff.
    Postponed,
    /// The run failed (the store, most likely): the job is delivered again.
    Failed,
}

/// Runs a delivered job and, when it is to be retried, gives it back to the queue with its backoff as the time
/// before its next delivery. The sync worker on AWS and the local loop both settle every job here; what each then
/// tells its queue about the [`JobEnd`] is its own (Lambda reports a batch's failures, the local loop acknowledges).
pub async fn run_delivered_job<S: SyncWorkerStore + ?Sized>(
    app: &App<S>,
    delivered: &ReceivedJob,
) -> JobEnd {
    match run_sync_job(app, &delivered.job, delivered.attempt).await {
        Ok(SyncOutcome::Done) => JobEnd::Done,
        Ok(SyncOutcome::RetryAfter(delay)) => {
            if let Err(error) = app.queue.retry_later(&delivered.receipt, delay).await {
                // Without the new timeout the queue's own visibility timeout applies: a retry, just sooner.
                tracing::warn!(%error, "backoff not applied");
            }
            JobEnd::Postponed
        }
        Err(error) => {
            tracing::warn!(%error, "sync job failed; the queue delivers it again");
            JobEnd::Failed
        }
    }
}

/// What to do once the queue has given up on `job`.
pub async fn give_up_sync<S: DeadLetterStore + ?Sized>(
    app: &App<S>,
    job: &Job,
) -> Result<(), AppError> {
    match *job {
        Job::SyncAppointment {
            business_id,
            appointment_id,
            version,
        } => give_up_appointment_sync(app, business_id, appointment_id, version).await,
        // The scheduled safety-net sync runs the calendar again; the connection's health already tells the failure.
        Job::SyncCalendar { business_id, .. } => {
            tracing::warn!(%business_id, "the queue gave up on a calendar sync; the scheduled sync will run it");
            Ok(())
        }
        Job::SendEmail { ref email } => {
            tracing::error!(subject = %email.subject, "the queue gave up on an email; it was not sent");
            Ok(())
        }
    }
}
