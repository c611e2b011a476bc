//! The sync worker: makes the business's calendar match an appointment's current state, exactly once.
//!
//! Jobs are state-based: a job names an appointment and a version, and the worker reads the current state. A job
//! for an older version than the stored one is dropped (the newer version's job carries the change), so duplicate
//! or reordered jobs change nothing wrong. Jobs of one appointment never interleave: a per-appointment lease in the
//! store serializes them, so a slow job for an old version cannot write an event after a newer job removed it.
//! The result is recorded conditionally on the version synced, so an old job never marks a newer change synced.

use std::time::Duration;

use jiff::SignedDuration;

use super::alerts::{Incident, alert_owners};
use super::appointments::{calendar_takes_appointments, get_appointment};
use super::context::App;
use super::error::{AppError, Missing};
use super::providers::Integrations;
use super::staff_calendars::written_connection;
use super::sync_core::{
    Failure, SWEEP_BATCH, SyncError, SyncOutcome, appointment_job, with_fresh_token, with_lease,
};
use super::sync_wording::{ProviderNames, appointment_not_written};
use crate::domain::{
    Appointment, AppointmentId, BookingSource, BusinessId, SyncFailure, SyncFailureCode, SyncState,
    SyncStatus,
};
use crate::metrics;
use crate::ports::{AppointmentQuery, CalendarConnection, CalendarEvent, ConnectionHealth};
use crate::ports::{AppointmentStore, CatalogStore, ConnectionStore, LeaseStore, SignInStore};

/// Longer than one job can take (a token refresh and two provider calls, each bounded by the HTTP timeout).
const APPOINTMENT_LEASE: SignedDuration = SignedDuration::from_secs(60);
/// When another job of the same appointment is running, look again after about this long.
const BUSY_RETRY: Duration = Duration::from_secs(2);
/// How often the scheduled sweep retries a version that failed for a reason that may pass.
pub const MAX_AUTOMATIC_RETRIES: u32 = 3;
/// A retryable failure is retried by the sweep once it is this old.
pub const AUTOMATIC_RETRY_AFTER: SignedDuration = SignedDuration::from_mins(10);
/// Appointments queued per enqueue call when many are retried at once.
const ENQUEUE_BATCH: usize = 100;

/// Makes the calendar match version `version` of the appointment; `attempt` is the queue's delivery count (1 on
/// the first), used for backoff. A store failure is an `Err`: the queue delivers the job again.
#[tracing::instrument(skip_all, fields(job = "sync_appointment", %business_id, %appointment_id, version, attempt))]
pub async fn run_appointment_sync<
    S: CatalogStore + AppointmentStore + ConnectionStore + LeaseStore + SignInStore + ?Sized,
>(
    app: &App<S>,
    business_id: BusinessId,
    appointment_id: AppointmentId,
    version: u64,
    attempt: u32,
) -> Result<SyncOutcome, AppError> {
    with_lease(
        app,
        &format!("sync/{appointment_id}"),
        APPOINTMENT_LEASE,
        BUSY_RETRY,
        sync_under_lease(app, business_id, appointment_id, version, attempt),
    )
    .await
}

async fn sync_under_lease<
    S: CatalogStore + AppointmentStore + ConnectionStore + LeaseStore + SignInStore + ?Sized,
>(
    app: &App<S>,
    business_id: BusinessId,
    appointment_id: AppointmentId,
    version: u64,
    attempt: u32,
) -> Result<SyncOutcome, AppError> {
    let Some(appointment) = app
        .store
        .get_appointment(business_id, appointment_id)
        .await?
    else {
        return Ok(SyncOutcome::Done);
    };
    if appointment.version != version || appointment.sync.status != SyncStatus::Pending {
        return Ok(SyncOutcome::Done);
    }
    let connection =
        written_connection(app.store.as_ref(), business_id, appointment.staff_id).await?;
    let (Some(connection), Some(integrations)) = (connection, app.integrations.as_deref()) else {
        let failure = match app.integrations {
            None => Some(sync_failure(
                SyncFailureCode::ProviderNotConfigured,
                "Calendar sync is not configured on this server.",
                false,
            )),
            // Disconnected since the change: there is nowhere to sync to.
            Some(_) => None,
        };
        let state = SyncState {
            status: if failure.is_some() {
                SyncStatus::Failed
            } else {
                SyncStatus::NotConnected
            },
            error: failure,
            updated_at: app.clock.now(),
            ..appointment.sync.clone()
        };
        record(app, &appointment, &state).await?;
        return Ok(SyncOutcome::Done);
    };
    let result = write_to_calendar(app, integrations, &connection, &appointment).await;
    conclude(app, &connection, &appointment, result, attempt).await
}

async fn write_to_calendar<S: CatalogStore + ConnectionStore + LeaseStore + ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    connection: &CalendarConnection,
    appointment: &Appointment,
) -> Result<Option<String>, SyncError> {
    let setup = integrations
        .provider(connection.provider)
        .map_err(|_| SyncError::NotConfigured(connection.provider))?;
    let calendar_id = connection.calendar_id.as_deref().unwrap_or_default();
    let event = if appointment.is_live() {
        Some(calendar_event(app, appointment).await?)
    } else {
        None
    };
    let event = event.as_ref();
    let known_event_id = appointment.sync.external_event_id.as_deref();
    with_fresh_token(
        app,
        integrations,
        setup,
        connection.reference(),
        |token| async move {
            match event {
                Some(event) => setup
                    .calendar
                    .put_event(&token, calendar_id, event, known_event_id)
                    .await
                    .map(Some),
                None => setup
                    .calendar
                    .remove_event(&token, calendar_id, appointment.id, known_event_id)
                    .await
                    .map(|()| None),
            }
        },
    )
    .await
}

/// The event an appointment shows as: customer and service in the title, the details a receptionist needs in the
/// description, in the business's zone.
async fn calendar_event<S: CatalogStore + ?Sized>(
    app: &App<S>,
    appointment: &Appointment,
) -> Result<CalendarEvent, SyncError> {
    let (business, service) = tokio::try_join!(
        app.store.get_business(appointment.business_id),
        app.store
            .get_service(appointment.business_id, appointment.service_id)
    )?;
    let business = business.ok_or(SyncError::internal(AppError::NotFound(Missing::Business)))?;
    let service_name = service.map_or_else(
        || "Appointment".to_owned(),
        |service| service.settings.name.as_ref().to_owned(),
    );
    let customer = &appointment.customer;
    let mut description = vec![
        format!("Service: {service_name}"),
        format!("Customer: {}", customer.name.as_ref()),
    ];
    if let Some(phone) = &customer.phone {
        description.push(format!("Phone: {}", phone.as_ref()));
    }
    if let Some(email) = &customer.email {
        description.push(format!("Email: {}", email.as_ref()));
    }
    if let Some(notes) = &appointment.notes {
        description.push(format!("Notes: {}", notes.as_ref()));
    }
    description.push(format!(
        "Booked {}.",
        match appointment.source {
            BookingSource::Ai => "by the phone agent",
            BookingSource::Manual => "by staff",
            BookingSource::Api => "through the API",
        }
    ));
    Ok(CalendarEvent {
        appointment_id: appointment.id,
        summary: format!("{} – {service_name}", customer.name.as_ref()),
        description: description.join("\n"),
        start: appointment.time.start(),
        end: appointment.time.end(),
        time_zone: business.time_zone.name().to_owned(),
    })
}

fn sync_failure(code: SyncFailureCode, message: &str, retryable: bool) -> SyncFailure {
    SyncFailure {
        code,
        message: message.to_owned(),
        retryable,
    }
}

async fn conclude<
    S: CatalogStore + AppointmentStore + ConnectionStore + LeaseStore + SignInStore + ?Sized,
>(
    app: &App<S>,
    connection: &CalendarConnection,
    appointment: &Appointment,
    result: Result<Option<String>, SyncError>,
    attempt: u32,
) -> Result<SyncOutcome, AppError> {
    let now = app.clock.now();
    let provider = connection.provider;
    let failure = match result {
        Ok(event_id) => {
            let synced = SyncState {
                status: SyncStatus::Synced,
                error: None,
                updated_at: now,
                external_event_id: event_id,
                automatic_retries: appointment.sync.automatic_retries,
            };
            if record(app, appointment, &synced).await? {
                metrics::sync_outcome("synced");
            }
            app.store
                .update_connection_health(
                    appointment.business_id,
                    connection.id,
                    &ConnectionHealth::Connected,
                    Some(now),
                )
                .await?;
            return Ok(SyncOutcome::Done);
        }
        Err(error) => {
            // The owner reads the provider's words; the log keeps ours (status, code) beside them.
            tracing::info!(appointment_id = %appointment.id, %error, "calendar write failed");
            match Failure::of(error, attempt) {
                Failure::Ours(error) => return Err(error),
                failure => failure,
            }
        }
    };
    let names = ProviderNames::of(&app.registry, provider);
    let message = appointment_not_written(&names, &failure, &connection.account);
    if let Failure::CalendarNotFound = failure {
        // The connection shows it too: every appointment will fail the same way until another calendar is chosen.
        let health = ConnectionHealth::Error {
            message: message.clone(),
        };
        app.store
            .update_connection_health(appointment.business_id, connection.id, &health, None)
            .await?;
    }
    let retry = failure.retry_in();
    let state = SyncState {
        status: if retry.is_some() {
            SyncStatus::Pending
        } else {
            SyncStatus::Failed
        },
        error: Some(sync_failure(failure.code(), &message, retry.is_some())),
        updated_at: now,
        ..appointment.sync.clone()
    };
    let recorded = record(app, appointment, &state).await?;
    match retry {
        Some(delay) => {
            tracing::info!(appointment_id = %appointment.id, attempt, delay_ms = delay.as_millis() as u64, "calendar sync will be retried");
            Ok(SyncOutcome::RetryAfter(delay))
        }
        None => {
            if recorded {
                metrics::sync_outcome("failed");
                tracing::warn!(appointment_id = %appointment.id, code = %state.error.as_ref().map_or("", |e| e.code.as_str()), "calendar sync failed");
                let incident = match &failure {
                    Failure::ReauthRequired(reason) => Incident::Reconnect {
                        provider,
                        reason,
                        connected_at: connection.connected_at,
                    },
                    _ => Incident::SyncFailed {
                        appointment,
                        reason: &message,
                    },
                };
                alert_owners(app, appointment.business_id, incident).await;
            }
            Ok(SyncOutcome::Done)
        }
    }
}

/// Writes the sync state if the appointment is still at the version synced.
async fn record<S: AppointmentStore + ?Sized>(
    app: &App<S>,
    appointment: &Appointment,
    state: &SyncState,
) -> Result<bool, AppError> {
    Ok(app
        .store
        .update_sync_state(
            appointment.business_id,
            appointment.id,
            appointment.version,
            state,
        )
        .await?)
}

/// Marks appointments pending again and queues them; each keeps its last error until the retry reports. Returns the
/// ids queued (an appointment that changed meanwhile has its own job and is skipped).
async fn queue_again<S: AppointmentStore + ?Sized>(
    app: &App<S>,
    appointments: Vec<Appointment>,
    automatic: bool,
) -> Result<Vec<AppointmentId>, AppError> {
    let now = app.clock.now();
    let mut queued = Vec::new();
    for chunk in appointments.chunks(ENQUEUE_BATCH) {
        let mut jobs = Vec::with_capacity(chunk.len());
        for appointment in chunk {
            let pending = SyncState {
                status: SyncStatus::Pending,
                updated_at: now,
                automatic_retries: if automatic {
                    appointment.sync.automatic_retries + 1
                } else {
                    0
                },
                ..appointment.sync.clone()
            };
            if record(app, appointment, &pending).await? {
                queued.push(appointment.id);
                jobs.push(appointment_job(appointment));
            }
        }
        // If this fails the appointments stay pending and the stale-pending sweep queues them.
        if let Err(error) = app.queue.enqueue_many(&jobs, Duration::ZERO).await {
            tracing::warn!(%error, count = jobs.len(), "sync jobs not enqueued; the sweep will retry");
        }
    }
    Ok(queued)
}

/// Every appointment of the business matching the query, across pages.
pub(super) async fn all_matching<S: AppointmentStore + ?Sized>(
    app: &App<S>,
    mut query: AppointmentQuery,
) -> Result<Vec<Appointment>, AppError> {
    let mut found = Vec::new();
    loop {
        let page = app.store.list_appointments(&query).await?;
        found.extend(page.items);
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(found),
        }
    }
}

/// Queues every failed appointment of the business again: "retry all failed".
#[tracing::instrument(skip_all, fields(%business_id))]
pub async fn requeue_failed<S: AppointmentStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
) -> Result<Vec<AppointmentId>, AppError> {
    let failed = all_matching(
        app,
        AppointmentQuery {
            business_id,
            starts_within: None,
            status: None,
            sync_status: Some(SyncStatus::Failed),
            staff_id: None,
            after: None,
            limit: 500,
        },
    )
    .await?;
    queue_again(app, failed, false).await
}

/// After a calendar is chosen: every live appointment not yet in it (from a day ago on) goes there.
#[tracing::instrument(skip_all, fields(%business_id))]
pub async fn queue_upcoming<S: AppointmentStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
) -> Result<usize, AppError> {
    let since = app
        .clock
        .now()
        .checked_sub(SignedDuration::from_hours(24))
        .map_err(|error| AppError::Internal(Box::new(error)))?;
    let upcoming = all_matching(
        app,
        AppointmentQuery {
            business_id,
            starts_within: since
                .checked_add(SignedDuration::from_hours(24 * 800))
                .ok()
                .and_then(|until| crate::domain::Interval::new(since, until).ok()),
            status: Some(crate::domain::AppointmentStatus::Booked),
            sync_status: Some(SyncStatus::NotConnected),
            staff_id: None,
            after: None,
            limit: 500,
        },
    )
    .await?;
    Ok(queue_again(app, upcoming, false).await?.len())
}

/// Queues one appointment again, whatever its state (a synced one is written again, e.g. after someone deleted its
/// event by hand).
#[tracing::instrument(skip_all, fields(business_id = %business.id, appointment_id = %id))]
pub async fn retry_sync<S: AppointmentStore + ConnectionStore + ?Sized>(
    app: &App<S>,
    business: &crate::domain::Business,
    id: AppointmentId,
) -> Result<Vec<AppointmentId>, AppError> {
    let appointment = get_appointment(app, business, id).await?;
    if !calendar_takes_appointments(app, business, &[appointment.staff_id]).await? {
        return Err(AppError::CalendarNotConnected);
    }
    queue_again(app, vec![appointment], false).await
}

/// The sweep's automatic retries: failures that may pass (rate limits, outages, an exhausted queue) are queued
/// again after [`AUTOMATIC_RETRY_AFTER`], at most [`MAX_AUTOMATIC_RETRIES`] times per version.
#[tracing::instrument(skip_all)]
pub async fn retry_failed_automatically<S: AppointmentStore + ?Sized>(
    app: &App<S>,
) -> Result<usize, AppError> {
    let cutoff = app
        .clock
        .now()
        .checked_sub(AUTOMATIC_RETRY_AFTER)
        .map_err(|error| AppError::Internal(Box::new(error)))?;
    let due: Vec<Appointment> = app
        .store
        .appointments_by_sync_status(SyncStatus::Failed, cutoff, SWEEP_BATCH)
        .await?
        .into_iter()
        .filter(|appointment| {
            appointment
                .sync
                .error
                .as_ref()
                .is_some_and(|error| error.retryable)
                && appointment.sync.automatic_retries < MAX_AUTOMATIC_RETRIES
        })
        .collect();
    Ok(queue_again(app, due, true).await?.len())
}
