//! Keeping sync honest when messages are lost or exhausted: the scheduled sweep re-enqueues changes whose job went
//! missing, and the dead-letter handler turns an exhausted job into a visible `failed` status.
//!
//! [`run_scheduled_work`] is the one list of work done on a schedule; the scheduler function on AWS and the local
//! server's loop both run it, so neither can do something the other forgets.

use std::time::Duration;

use jiff::SignedDuration;

use serde::Serialize;

use super::alerts::{Incident, alert_owners};
use super::calendar_sync::retry_failed_automatically;
use super::callers::index_existing_phone_numbers;
use super::context::App;
use super::error::AppError;
use super::inbound_sync::sync_stale_calendars;
use super::sync_core::{SWEEP_BATCH, appointment_job};
use super::sync_wording::appointment_given_up;
use crate::domain::{
    AppointmentId, BusinessId, SyncFailure, SyncFailureCode, SyncState, SyncStatus,
};
use crate::metrics;
use crate::ports::Job;
use crate::ports::{AppointmentStore, CatalogStore, ConnectionStore, LeaseStore, SignInStore};

/// What one scheduled run did.
#[derive(Debug, Serialize)]
pub struct MaintenanceReport {
    pub requeued_stale_pending: usize,
    pub retried_failed: usize,
    /// Calendars whose busy time is stale or whose push channel needs renewing.
    pub calendars_queued: usize,
    /// Appointments stored before the phone index existed, indexed by this run (0 once the back-fill is done).
    pub phone_numbers_indexed: u64,
    /// Appointments and calendar watches moved off indexes the whole fleet shared onto the store's sharded one,
    /// and watches keyed by their check time, by this run (0 once done).
    pub scheduled_work_indexed: u64,
    /// Businesses stored before staff members given their first member by this run (0 once done). The embedded
    /// store does it when it opens; on AWS nothing else runs it.
    pub first_staff_members_stored: u64,
}

/// The scheduled work: move work still under a fleet-wide index onto the sharded one first (so the sweeps
/// see it), re-enqueue syncs whose job went missing, retry failures that may have passed, sync calendars whose
/// notifications may have been lost or whose channels need renewing, and back-fill the phone index and the first
/// staff member of businesses stored before staff members. Back-fills are no-ops once their marker is written. The
/// first failure ends the run; the next run starts the list again.
#[tracing::instrument(skip_all)]
pub async fn run_scheduled_work<S: AppointmentStore + ConnectionStore + CatalogStore + ?Sized>(
    app: &App<S>,
) -> Result<MaintenanceReport, AppError> {
    // In this order: the first move puts watches of the release before last where the second finds them.
    let scheduled_work_indexed = app.store.index_existing_scheduled_work().await?
        + app.store.index_watches_by_check_time().await?;
    let first_staff_members_stored = app.store.store_first_staff_members().await?;
    Ok(MaintenanceReport {
        requeued_stale_pending: requeue_stale_pending(app).await?,
        retried_failed: retry_failed_automatically(app).await?,
        calendars_queued: sync_stale_calendars(app).await?,
        phone_numbers_indexed: index_existing_phone_numbers(app).await?,
        scheduled_work_indexed,
        first_staff_members_stored,
    })
}

/// A change still pending after this long has most likely lost its job (an enqueue that failed after the write).
pub const STALE_PENDING_AFTER: SignedDuration = SignedDuration::from_mins(5);

/// Re-enqueues a sync job for every appointment pending longer than [`STALE_PENDING_AFTER`]. Jobs are state-based,
/// so re-enqueueing one whose original job is merely slow is harmless. Returns how many were enqueued.
#[tracing::instrument(skip_all)]
pub async fn requeue_stale_pending<S: AppointmentStore + ?Sized>(
    app: &App<S>,
) -> Result<usize, AppError> {
    let cutoff = app
        .clock
        .now()
        .checked_sub(STALE_PENDING_AFTER)
        .map_err(|e| AppError::Internal(Box::new(e)))?;
    let stale = app
        .store
        .appointments_by_sync_status(SyncStatus::Pending, cutoff, SWEEP_BATCH)
        .await?;
    let jobs: Vec<Job> = stale.iter().map(appointment_job).collect();
    // Failing the whole sweep is right: nothing was marked, so the next sweep finds the same appointments.
    app.queue
        .enqueue_many(&jobs, Duration::ZERO)
        .await
        .map_err(|error| AppError::Internal(Box::new(error)))?;
    if !jobs.is_empty() {
        tracing::info!(
            enqueued = jobs.len(),
            "re-enqueued stale pending appointments"
        );
    }
    Ok(jobs.len())
}

/// Marks the appointment's sync `failed` once the queue has given up on its job for `version`, keeping the last
/// error the worker recorded, and alerts the business's owners. Does nothing when the appointment has moved on to a
/// newer version (its own job carries it) or is no longer pending.
#[tracing::instrument(skip_all, fields(%business_id, %appointment_id, version))]
pub async fn give_up_appointment_sync<
    S: CatalogStore + AppointmentStore + LeaseStore + SignInStore + ?Sized,
>(
    app: &App<S>,
    business_id: BusinessId,
    appointment_id: AppointmentId,
    version: u64,
) -> Result<(), AppError> {
    let Some(appointment) = app
        .store
        .get_appointment(business_id, appointment_id)
        .await?
    else {
        return Ok(());
    };
    if appointment.version != version || appointment.sync.status != SyncStatus::Pending {
        return Ok(());
    }
    let last_error = appointment
        .sync
        .error
        .as_ref()
        .map(|error| error.message.as_str());
    let failed = SyncState {
        status: SyncStatus::Failed,
        error: Some(SyncFailure {
            code: SyncFailureCode::SyncGaveUp,
            message: appointment_given_up(last_error),
            retryable: true,
        }),
        updated_at: app.clock.now(),
        ..appointment.sync.clone()
    };
    let applied = app
        .store
        .update_sync_state(business_id, appointment_id, version, &failed)
        .await?;
    if applied {
        metrics::sync_outcome("gave_up");
        tracing::warn!(%appointment_id, version, "calendar sync marked failed after the queue gave up");
        let reason = failed
            .error
            .as_ref()
            .map_or("", |error| error.message.as_str());
        let incident = Incident::SyncFailed {
            appointment: &appointment,
            reason,
        };
        alert_owners(app, business_id, incident).await;
    }
    Ok(())
}
