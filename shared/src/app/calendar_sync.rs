//! The sync worker: makes the business's calendar match an appointment's current state, exactly once.
//!
//! An appointment's event lives in one calendar, which its sync state records ([`EventHome`]); where it belongs is
//! [`written_calendar`]'s answer. When the two differ (another calendar chosen, another provider connected, the
//! appointment given to another member, or cancelled) the worker removes the event from where it lives, records
//! that there is none, then creates it where it belongs and records that: each step is recorded, so a job that
//! dies between them resumes from the recorded state, and the providers' lookup by appointment id keeps a
//! retried create from duplicating the event.
//!
//! Jobs are state-based: a job names an appointment and a version, and the worker reads the current state. A job
//! for an older version than the stored one is dropped (the newer version's job carries the change), so duplicate
//! or reordered jobs change nothing wrong. Jobs of one appointment never interleave: a per-appointment lease in the
//! store serializes them, so a slow job for an old version cannot write an event after a newer job removed it.
//! The result is recorded conditionally on the version synced, so an old job never marks a newer change synced.

use std::time::Duration;

use jiff::SignedDuration;
use secrecy::SecretString;

use super::alerts::{Incident, alert_owners};
use super::appointments::{calendar_takes_appointments, get_appointment};
use super::context::App;
use super::error::{AppError, Missing};
use super::providers::Integrations;
use super::staff_calendars::{first_member_connection, written_connection};
use super::sync_core::{
    Failure, SWEEP_BATCH, SyncError, SyncOutcome, appointment_job, with_fresh_token, with_lease,
};
use super::sync_wording::{ProviderNames, appointment_not_written};
use crate::domain::{
    Appointment, AppointmentId, BookingSource, BusinessId, ConnectionId, EventHome, StaffId,
    SyncFailure, SyncFailureCode, SyncState, SyncStatus,
};
use crate::metrics;
use crate::ports::{
    AppointmentQuery, CalendarConnection, CalendarEvent, ConnectionHealth, ProviderError,
    ProviderSetup,
};
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
    let Some(mut appointment) = app
        .store
        .get_appointment(business_id, appointment_id)
        .await?
    else {
        return Ok(SyncOutcome::Done);
    };
    if appointment.version != version || appointment.sync.status != SyncStatus::Pending {
        return Ok(SyncOutcome::Done);
    }
    let Some(integrations) = app.integrations.as_deref() else {
        let state = SyncState {
            status: SyncStatus::Failed,
            error: Some(sync_failure(
                SyncFailureCode::ProviderNotConfigured,
                "Calendar sync is not configured on this server.",
                false,
            )),
            updated_at: app.clock.now(),
            ..appointment.sync.clone()
        };
        record(app, &appointment, &state).await?;
        return Ok(SyncOutcome::Done);
    };
    let written = written_calendar(app, &appointment).await?;
    let goal = written
        .as_ref()
        .filter(|_| appointment.is_live())
        .and_then(home_of);
    let lives = where_event_lives(app, &appointment).await?;
    if let Some(home) = lives.filter(|home| goal.as_ref() != Some(home)) {
        // Moved (another calendar chosen, another provider, another member) or cancelled: out of where it lives
        // first, and recorded, so a job that dies before the create resumes from "no event anywhere".
        if let Some(connection) = connection_holding(app, business_id, &home).await? {
            let removed = remove_from(app, integrations, &connection, &home, &appointment).await;
            if let Err(error) = removed {
                return conclude(app, &connection, &appointment, Err(error), attempt).await;
            }
            mark_written(app, &connection).await?;
        }
        let without_event = SyncState {
            external_event_id: None,
            event_home: None,
            updated_at: app.clock.now(),
            ..appointment.sync.clone()
        };
        if goal.is_none() {
            return settle_without_event(app, &appointment, without_event, true).await;
        }
        if !record(app, &appointment, &without_event).await? {
            return Ok(SyncOutcome::Done);
        }
        appointment.sync = without_event;
    }
    let (Some(connection), Some(goal)) = (written.as_ref(), goal) else {
        let state = SyncState {
            updated_at: app.clock.now(),
            ..appointment.sync.clone()
        };
        return settle_without_event(app, &appointment, state, written.is_some()).await;
    };
    // From here on the event may be in the goal calendar even if the answer is lost: a failure records it there.
    appointment.sync.event_home = Some(goal.clone());
    let result = write_to_calendar(app, integrations, connection, &goal, &appointment).await;
    conclude(app, connection, &appointment, result, attempt).await
}

/// The connection and calendar an appointment's event belongs in: its member's written calendar, or none (the
/// member has not chosen one, and their appointments show as not connected).
pub async fn written_calendar<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    appointment: &Appointment,
) -> Result<Option<CalendarConnection>, AppError> {
    Ok(written_connection(
        app.store.as_ref(),
        appointment.business_id,
        appointment.staff_id,
    )
    .await?)
}

/// Where a connection writes appointments: its account's chosen calendar, once one is chosen.
fn home_of(connection: &CalendarConnection) -> Option<EventHome> {
    connection
        .calendar_id
        .as_ref()
        .map(|calendar_id| EventHome {
            provider: connection.provider.to_string(),
            account: connection.account.clone(),
            calendar_id: calendar_id.clone(),
        })
}

/// The calendar that holds (or may hold) the appointment's event, as its sync state records it. A state stored
/// before events recorded their calendar, with an event id, means the calendar the business's one connection had
/// chosen (now its first member's): the only one events were ever written to then, whoever performs them.
async fn where_event_lives<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    appointment: &Appointment,
) -> Result<Option<EventHome>, AppError> {
    if let Some(home) = &appointment.sync.event_home {
        return Ok(Some(home.clone()));
    }
    if appointment.sync.external_event_id.is_none() {
        return Ok(None);
    }
    Ok(
        first_member_connection(app.store.as_ref(), appointment.business_id)
            .await?
            .as_ref()
            .and_then(home_of),
    )
}

/// The connection whose grant reaches the calendar an event lives in, if the business still has it (a provider
/// switch or a reconnection with another account replaces it, and the event can no longer be reached).
async fn connection_holding<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
    home: &EventHome,
) -> Result<Option<CalendarConnection>, AppError> {
    Ok(app
        .store
        .calendar_connections(business_id)
        .await?
        .into_iter()
        .find(|connection| {
            connection.provider.as_str() == home.provider && connection.account == home.account
        }))
}

/// Records that there is no event anywhere, with the status that says so: `synced` for a cancelled appointment
/// whose calendar shows it gone, else `not_connected` (its member has no written calendar).
async fn settle_without_event<S: AppointmentStore + ?Sized>(
    app: &App<S>,
    appointment: &Appointment,
    state: SyncState,
    calendar_reflects_it: bool,
) -> Result<SyncOutcome, AppError> {
    let synced = !appointment.is_live() && calendar_reflects_it;
    let state = SyncState {
        status: if synced {
            SyncStatus::Synced
        } else {
            SyncStatus::NotConnected
        },
        error: None,
        ..state
    };
    if record(app, appointment, &state).await? && synced {
        metrics::sync_outcome("synced");
    }
    Ok(SyncOutcome::Done)
}

/// A successful write or removal shows on the connection: healthy, and when the calendar last took a change.
async fn mark_written<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    connection: &CalendarConnection,
) -> Result<(), AppError> {
    app.store
        .update_connection_health(
            connection.business_id,
            connection.id,
            &ConnectionHealth::Connected,
            Some(app.clock.now()),
        )
        .await?;
    Ok(())
}

async fn remove_from<S: ConnectionStore + LeaseStore + ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    connection: &CalendarConnection,
    home: &EventHome,
    appointment: &Appointment,
) -> Result<(), SyncError> {
    let known_event_id = appointment.sync.external_event_id.as_deref();
    let removed = at_provider(app, integrations, connection, |setup, token| async move {
        setup
            .calendar
            .remove_event(&token, &home.calendar_id, appointment.id, known_event_id)
            .await
    })
    .await;
    match removed {
        // The calendar itself is gone or no longer shared: nothing of ours is left there to reach.
        Err(SyncError::Provider(ProviderError::CalendarNotFound)) => Ok(()),
        other => other,
    }
}

async fn write_to_calendar<S: CatalogStore + ConnectionStore + LeaseStore + ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    connection: &CalendarConnection,
    goal: &EventHome,
    appointment: &Appointment,
) -> Result<String, SyncError> {
    let event = calendar_event(app, appointment).await?;
    let event = &event;
    let known_event_id = appointment.sync.external_event_id.as_deref();
    at_provider(app, integrations, connection, |setup, token| async move {
        setup
            .calendar
            .put_event(&token, &goal.calendar_id, event, known_event_id)
            .await
    })
    .await
}

/// Runs `call` with the connection's provider and a usable token of its grant.
async fn at_provider<'a, S, T, F, Fut>(
    app: &App<S>,
    integrations: &'a Integrations,
    connection: &CalendarConnection,
    call: F,
) -> Result<T, SyncError>
where
    S: ConnectionStore + LeaseStore + ?Sized,
    F: Fn(&'a ProviderSetup, SecretString) -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let setup = integrations
        .provider(connection.provider)
        .map_err(|_| SyncError::NotConfigured(connection.provider))?;
    with_fresh_token(app, integrations, setup, connection.reference(), |token| {
        call(setup, token)
    })
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
    result: Result<String, SyncError>,
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
                external_event_id: Some(event_id),
                ..appointment.sync.clone()
            };
            if record(app, appointment, &synced).await? {
                metrics::sync_outcome("synced");
            }
            mark_written(app, connection).await?;
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
    requeue_failed_matching(app, AppointmentQuery::every(business_id)).await
}

/// Queues the member's failed appointments again, once their calendar works again: a colleague's failures have
/// another cause, which reconnecting this calendar does not cure.
#[tracing::instrument(skip_all, fields(%business_id, %staff_id))]
pub async fn requeue_members_failed<S: AppointmentStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
    staff_id: StaffId,
) -> Result<Vec<AppointmentId>, AppError> {
    requeue_failed_matching(
        app,
        AppointmentQuery {
            staff_id: Some(staff_id),
            ..AppointmentQuery::every(business_id)
        },
    )
    .await
}

async fn requeue_failed_matching<S: AppointmentStore + ?Sized>(
    app: &App<S>,
    query: AppointmentQuery,
) -> Result<Vec<AppointmentId>, AppError> {
    let failed = all_matching(
        app,
        AppointmentQuery {
            sync_status: Some(SyncStatus::Failed),
            ..query
        },
    )
    .await?;
    queue_again(app, failed, false).await
}

/// After a member's written calendar is chosen: every live appointment of theirs (from a day ago on) whose event is
/// not known to be in it goes there, moved out of the calendar chosen before where it has an event.
#[tracing::instrument(skip_all, fields(%business_id, %staff_id))]
pub async fn queue_upcoming<S: AppointmentStore + ConnectionStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
    staff_id: StaffId,
) -> Result<usize, AppError> {
    let chosen = written_connection(app.store.as_ref(), business_id, staff_id)
        .await?
        .as_ref()
        .and_then(home_of);
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
            sync_status: None,
            staff_id: Some(staff_id),
            after: None,
            limit: 500,
        },
    )
    .await?
    .into_iter()
    .filter(|appointment| {
        appointment.sync.status == SyncStatus::NotConnected || appointment.sync.event_home != chosen
    })
    .collect();
    Ok(queue_again(app, upcoming, false).await?.len())
}

/// Before the business's first connection's chosen calendar changes: every event recorded before events named
/// their calendar is said to be in that calendar, where it is, so the worker moves it rather than taking the newly
/// chosen calendar for its home. Only that connection ever held such events, so any other changes nothing.
#[tracing::instrument(skip_all, fields(business_id = %connection.business_id))]
pub async fn pin_event_homes<S: AppointmentStore + ?Sized>(
    app: &App<S>,
    connection: &CalendarConnection,
) -> Result<(), AppError> {
    let Some(home) = home_of(connection)
        .filter(|_| connection.id == ConnectionId::of_first_connection(connection.business_id))
    else {
        return Ok(());
    };
    let every = AppointmentQuery::every(connection.business_id);
    for appointment in all_matching(app, every).await? {
        let sync = &appointment.sync;
        if sync.event_home.is_none() && sync.external_event_id.is_some() {
            let pinned = SyncState {
                event_home: Some(home.clone()),
                ..sync.clone()
            };
            record(app, &appointment, &pinned).await?;
        }
    }
    Ok(())
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
