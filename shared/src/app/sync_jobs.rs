//! Where a sync job goes: the one place that looks at a job's kind, for running it and for giving up on it.

use super::calendar_sync::run_appointment_sync;
use super::context::App;
use super::error::AppError;
use super::inbound_sync::run_calendar_sync;
use super::sync_core::SyncOutcome;
use super::sync_maintenance::give_up_appointment_sync;
use crate::ports::Job;
use crate::ports::{AppointmentStore, BusyTimeStore, CatalogStore, ConnectionStore, LeaseStore};

/// Runs one sync job; `attempt` is the queue's delivery count (1 on the first), used for backoff. A store failure is
/// an `Err`: the queue delivers the job again.
pub async fn run_sync_job<
    S: CatalogStore + AppointmentStore + ConnectionStore + BusyTimeStore + LeaseStore + ?Sized,
>(
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
            requested_at,
        } => run_calendar_sync(app, business_id, requested_at, attempt).await,
    }
}

/// What to do once the queue has given up on `job`.
pub async fn give_up_sync<S: AppointmentStore + ?Sized>(
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
    }
}
