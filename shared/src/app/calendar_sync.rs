//! The sync worker: makes the business's calendar match an appointment's current state, exactly once.
//!
//! Jobs are state-based: a job names an appointment and a version, and the worker reads the current state. A job
//! for an older version than the stored one is dropped (the newer version's job carries the change), so duplicate
//! or reordered jobs change nothing wrong. Jobs of one appointment never interleave: a per-appointment lease in the
//! store serializes them, so a slow job for an old version cannot write an event after a newer job removed it.
//! The result is recorded conditionally on the version synced, so an old job never marks a newer change synced.

use std::time::Duration;

use jiff::SignedDuration;
use rand::Rng;

use super::calendar_tokens::{self, TokenError};
use super::integrations::Integrations;
use super::{App, AppError};
use crate::domain::{
    Appointment, AppointmentId, BookingSource, BusinessId, SyncFailure, SyncState, SyncStatus,
};
use crate::metrics;
use crate::ports::{
    AppointmentQuery, CalendarConnection, CalendarEvent, ConnectionHealth, Job, ProviderError,
};
use crate::ports::{AppointmentStore, BusyTimeStore, CatalogStore, ConnectionStore, LeaseStore};

/// Longer than one job can take (a token refresh and two provider calls, each bounded by the HTTP timeout).
const APPOINTMENT_LEASE: SignedDuration = SignedDuration::from_secs(60);
/// When another job of the same appointment is running, look again after about this long.
const BUSY_RETRY: Duration = Duration::from_secs(2);
const FIRST_BACKOFF: Duration = Duration::from_secs(2);
/// SQS cannot delay a message longer than 15 minutes.
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// How often the scheduled sweep retries a version that failed for a reason that may pass.
pub const MAX_AUTOMATIC_RETRIES: u32 = 3;
/// A retryable failure is retried by the sweep once it is this old.
pub const AUTOMATIC_RETRY_AFTER: SignedDuration = SignedDuration::from_mins(10);
/// Appointments queued per enqueue call when many are retried at once.
const ENQUEUE_BATCH: usize = 100;

/// What the queue should do with a job after the worker ran it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Acknowledge it: the calendar matches, the job is obsolete, or the failure is recorded for good.
    Done,
    /// Deliver it again after this long.
    RetryAfter(Duration),
}

/// Runs one sync job; `attempt` is the queue's delivery count (1 on the first), used for backoff. A store failure is
/// an `Err`: the queue delivers the job again.
pub async fn run_sync_job<
    S: CatalogStore + AppointmentStore + ConnectionStore + BusyTimeStore + LeaseStore + ?Sized,
>(
    app: &App<S>,
    job: &Job,
    attempt: u32,
) -> Result<SyncOutcome, AppError> {
    let (business_id, appointment_id, version) = match job {
        Job::SyncAppointment {
            business_id,
            appointment_id,
            version,
        } => (*business_id, *appointment_id, *version),
        Job::SyncCalendar {
            business_id,
            requested_at,
        } => {
            return super::inbound_sync::run_calendar_sync(
                app,
                *business_id,
                *requested_at,
                attempt,
            )
            .await;
        }
    };
    with_lease(
        app,
        &format!("sync/{appointment_id}"),
        APPOINTMENT_LEASE,
        BUSY_RETRY,
        sync_under_lease(app, business_id, appointment_id, version, attempt),
    )
    .await
}

/// Runs `work` while holding the named lease, so jobs of one subject never interleave; when someone else holds it,
/// the job comes back after about `busy_retry`.
pub(super) async fn with_lease<S: LeaseStore + ?Sized>(
    app: &App<S>,
    name: &str,
    lifetime: SignedDuration,
    busy_retry: Duration,
    work: impl Future<Output = Result<SyncOutcome, AppError>>,
) -> Result<SyncOutcome, AppError> {
    let holder = uuid::Uuid::new_v4().to_string();
    let now = app.clock.now();
    let until = now
        .checked_add(lifetime)
        .map_err(|error| AppError::Internal(Box::new(error)))?;
    if !app
        .store
        .try_acquire_lease(name, &holder, until, now)
        .await?
    {
        return Ok(SyncOutcome::RetryAfter(jittered(busy_retry)));
    }
    let outcome = work.await;
    if let Err(error) = app.store.release_lease(name, &holder).await {
        tracing::warn!(lease = name, %error, "lease not released; it ends by itself");
    }
    outcome
}

async fn sync_under_lease<
    S: CatalogStore + AppointmentStore + ConnectionStore + LeaseStore + ?Sized,
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
    let connection = app
        .store
        .get_calendar_connection(business_id)
        .await?
        .filter(CalendarConnection::syncs_appointments);
    let (Some(connection), Some(integrations)) = (connection, app.integrations.as_deref()) else {
        let failure = match app.integrations {
            None => Some(failure(
                "provider_not_configured",
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

/// Why a sync attempt did not reach its goal.
enum SyncError {
    Provider(ProviderError),
    Token(TokenError),
    /// The connection's provider is not configured on this server (its credentials were removed).
    NotConfigured(crate::ports::ProviderKind),
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
        Some(
            calendar_event(app, appointment)
                .await
                .map_err(|e| SyncError::Token(e.into()))?,
        )
    } else {
        None
    };
    let known_event_id = appointment.sync.external_event_id.as_deref();
    let mut force_refresh = false;
    loop {
        let token = calendar_tokens::access_token(
            app,
            integrations,
            setup,
            connection.business_id,
            force_refresh,
        )
        .await
        .map_err(SyncError::Token)?;
        let written = match &event {
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
        };
        match written {
            // The stored token looked fresh but was refused (revoked early, clock skew): refresh once and retry.
            Err(ProviderError::Unauthorized) if !force_refresh => force_refresh = true,
            other => return other.map_err(SyncError::Provider),
        }
    }
}

/// The event an appointment shows as: customer and service in the title, the details a receptionist needs in the
/// description, in the business's zone.
async fn calendar_event<S: CatalogStore + ?Sized>(
    app: &App<S>,
    appointment: &Appointment,
) -> Result<CalendarEvent, AppError> {
    let (business, service) = tokio::try_join!(
        app.store.get_business(appointment.business_id),
        app.store
            .get_service(appointment.business_id, appointment.service_id)
    )?;
    let business = business.ok_or(AppError::NotFound("business"))?;
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

fn failure(code: &str, message: &str, retryable: bool) -> SyncFailure {
    SyncFailure {
        code: code.to_owned(),
        message: message.to_owned(),
        retryable,
    }
}

async fn conclude<S: AppointmentStore + ConnectionStore + ?Sized>(
    app: &App<S>,
    connection: &CalendarConnection,
    appointment: &Appointment,
    result: Result<Option<String>, SyncError>,
    attempt: u32,
) -> Result<SyncOutcome, AppError> {
    let now = app.clock.now();
    let provider = connection.provider;
    let (status, error, retry) = match result {
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
                    provider,
                    &ConnectionHealth::Connected,
                    Some(now),
                )
                .await?;
            return Ok(SyncOutcome::Done);
        }
        Err(SyncError::Token(TokenError::App(error))) => return Err(error),
        Err(SyncError::NotConfigured(kind)) => (
            SyncStatus::Failed,
            failure(
                "provider_not_configured",
                &format!("{kind} calendars are not configured on this server."),
                false,
            ),
            None,
        ),
        Err(SyncError::Token(TokenError::ReauthRequired(reason))) => (
            SyncStatus::Failed,
            failure(
                "reauth_required",
                &format!(
                    "The {provider} calendar connection must be authorized again ({reason}). Reconnect the calendar; \
                     failed appointments are then queued again."
                ),
                false,
            ),
            None,
        ),
        Err(SyncError::Token(TokenError::Transient(reason))) => (
            SyncStatus::Pending,
            failure("provider_unavailable", &reason, true),
            Some(backoff(attempt, None)),
        ),
        Err(SyncError::Provider(ProviderError::RateLimited { retry_after })) => (
            SyncStatus::Pending,
            failure(
                "rate_limited",
                &format!("The {provider} calendar asked us to slow down; retrying."),
                true,
            ),
            Some(backoff(attempt, retry_after)),
        ),
        Err(SyncError::Provider(
            error @ (ProviderError::Transient(_) | ProviderError::Unauthorized),
        )) => (
            SyncStatus::Pending,
            failure("provider_unavailable", &error.to_string(), true),
            Some(backoff(attempt, None)),
        ),
        Err(SyncError::Provider(ProviderError::CalendarNotFound)) => {
            let message = format!(
                "The selected {provider} calendar no longer exists or is no longer shared with {}.",
                connection.account
            );
            app.store
                .update_connection_health(
                    appointment.business_id,
                    provider,
                    &ConnectionHealth::Error {
                        message: message.clone(),
                    },
                    None,
                )
                .await?;
            (
                SyncStatus::Failed,
                failure("calendar_not_found", &message, false),
                None,
            )
        }
        Err(SyncError::Provider(ProviderError::Rejected(reason))) => (
            SyncStatus::Failed,
            failure("provider_error", &reason, false),
            None,
        ),
        // Event writes carry no cursor; a provider that answers so is refusing the request.
        Err(SyncError::Provider(error @ ProviderError::CursorExpired)) => (
            SyncStatus::Failed,
            failure("provider_error", &error.to_string(), false),
            None,
        ),
    };
    let state = SyncState {
        status,
        error: Some(error),
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

/// Exponential backoff with jitter, never shorter than the provider's `Retry-After`.
pub(super) fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let exponential = FIRST_BACKOFF
        .saturating_mul(1_u32 << attempt.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    jittered(exponential)
        .max(retry_after.unwrap_or_default())
        .min(MAX_BACKOFF)
}

/// Somewhere between half and all of `delay`, so retries of many jobs spread out.
pub(super) fn jittered(delay: Duration) -> Duration {
    let half = delay / 2;
    half + delay.mul_f64(rand::rng().random_range(0.0..0.5))
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
                jobs.push(Job::SyncAppointment {
                    business_id: appointment.business_id,
                    appointment_id: appointment.id,
                    version: appointment.version,
                });
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
async fn all_matching<S: AppointmentStore + ?Sized>(
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
            after: None,
            limit: 500,
        },
    )
    .await?;
    queue_again(app, failed, false).await
}

/// After a calendar is chosen: every live appointment not yet in it (from a day ago on) goes there.
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
            after: None,
            limit: 500,
        },
    )
    .await?;
    Ok(queue_again(app, upcoming, false).await?.len())
}

/// Queues one appointment again, whatever its state (a synced one is written again, e.g. after someone deleted its
/// event by hand).
pub async fn retry_sync<S: AppointmentStore + ConnectionStore + ?Sized>(
    app: &App<S>,
    business: &crate::domain::Business,
    id: AppointmentId,
) -> Result<Vec<AppointmentId>, AppError> {
    let appointment = super::get_appointment(app, business, id).await?;
    let connected = app
        .store
        .get_calendar_connection(business.id)
        .await?
        .is_some_and(|connection| connection.syncs_appointments());
    if !connected {
        return Err(AppError::CalendarNotConnected);
    }
    queue_again(app, vec![appointment], false).await
}

/// The sweep's automatic retries: failures that may pass (rate limits, outages, an exhausted queue) are queued
/// again after [`AUTOMATIC_RETRY_AFTER`], at most [`MAX_AUTOMATIC_RETRIES`] times per version.
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
        .appointments_by_sync_status(
            SyncStatus::Failed,
            cutoff,
            super::sync_maintenance::SWEEP_BATCH,
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        for attempt in 1..=20 {
            let delay = backoff(attempt, None);
            let ceiling = FIRST_BACKOFF
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(MAX_BACKOFF);
            assert!(
                delay <= ceiling && delay >= ceiling / 2,
                "{attempt}: {delay:?}"
            );
        }
        assert_eq!(
            backoff(1, Some(Duration::from_secs(120))),
            Duration::from_secs(120)
        );
        assert_eq!(backoff(1, Some(Duration::from_secs(86_400))), MAX_BACKOFF);
    }
}
