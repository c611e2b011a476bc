//! The sync job of one followed calendar, under its lease: the channel kept open, then the busy time read, then
//! the watch recorded conditionally on the version read, and the connection's health told what happened.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::busy_time::refresh_busy_time;
use super::channel::{close_unrecorded_channel, keep_channel_open};
use super::watching::forget_busy_time;
use super::{CALENDAR_LEASE, SAFETY_NET_AFTER, enqueue};
use crate::app::alerts::{Incident, alert_owners};
use crate::app::context::App;
use crate::app::error::AppError;
use crate::app::sync_core::{Failure, SyncError, SyncOutcome, jittered, with_lease};
use crate::app::sync_wording::{ProviderNames, busy_times_not_read, notifications_not_set_up};
use crate::domain::{BusinessId, WatchId};
use crate::ports::{BusyTimeStore, CatalogStore, ConnectionStore, LeaseStore, SignInStore};
use crate::ports::{ConnectionHealth, ConnectionRef, StoreError};

/// When another sync of the same account's calendars is running, run again after about this long: it may be this
/// calendar's, which may have read it before the change that enqueued this job.
const BUSY_RETRY: Duration = Duration::from_millis(500);
/// How much later than a notification a sync must have begun for the notification to count as seen.
const COALESCE_MARGIN: SignedDuration = SignedDuration::from_secs(1);

/// Runs the sync job of the calendar `watch_id` follows (of each the business follows, for `None`: see
/// [`crate::ports::Job::SyncCalendar`]); `attempt` is the queue's delivery count, for backoff.
#[tracing::instrument(skip_all, fields(job = "sync_calendar", %business_id, attempt))]
pub async fn run_calendar_sync<
    S: CatalogStore + ConnectionStore + BusyTimeStore + LeaseStore + SignInStore + ?Sized,
>(
    app: &App<S>,
    business_id: BusinessId,
    watch_id: Option<WatchId>,
    requested_at: Option<Timestamp>,
    attempt: u32,
) -> Result<SyncOutcome, AppError> {
    let Some(watch_id) = watch_id else {
        // Each calendar gets its own job, retried on its own.
        for watch in app.store.calendar_watches(business_id).await? {
            enqueue(app, business_id, watch.id, requested_at.is_some()).await?;
        }
        return Ok(SyncOutcome::Done);
    };
    let Some(watch) = app.store.get_calendar_watch(business_id, watch_id).await? else {
        return Ok(SyncOutcome::Done);
    };
    // Syncs of one account's calendars take turns: Graph allows a mailbox four concurrent requests, and a member
    // who checks many calendars must not spend them all at once.
    with_lease(
        app,
        &format!("calendar-sync/{business_id}/{}", watch.connection_id),
        CALENDAR_LEASE,
        BUSY_RETRY,
        sync_under_lease(app, business_id, watch_id, requested_at, attempt),
    )
    .await
}

async fn sync_under_lease<
    S: CatalogStore + ConnectionStore + BusyTimeStore + LeaseStore + SignInStore + ?Sized,
>(
    app: &App<S>,
    business_id: BusinessId,
    watch_id: WatchId,
    requested_at: Option<Timestamp>,
    attempt: u32,
) -> Result<SyncOutcome, AppError> {
    let Some(watch) = app.store.get_calendar_watch(business_id, watch_id).await? else {
        return Ok(SyncOutcome::Done);
    };
    if let (Some(requested_at), Some(started_at)) = (requested_at, watch.sync_started_at) {
        // A burst of notifications costs one sync, not one each: a sync that began reading after this one was
        // asked for (with a margin for clocks of different machines) has already seen its change.
        if started_at.duration_since(requested_at) > COALESCE_MARGIN {
            return Ok(SyncOutcome::Done);
        }
    }
    let (connection, business) = tokio::try_join!(
        app.store
            .get_calendar_connection(business_id, watch.connection_id),
        app.store.get_business(business_id)
    )?;
    let still_selected = connection.as_ref().is_some_and(|connection| {
        connection
            .calendars_checked()
            .contains(&watch.calendar_id.as_str())
    });
    let (Some(business), true, Some(integrations)) =
        (business, still_selected, app.integrations.as_deref())
    else {
        return Ok(SyncOutcome::Done);
    };
    let Ok(setup) = integrations.provider(watch.provider) else {
        tracing::warn!(%business_id, provider = %watch.provider, "calendar sync skipped: provider not configured");
        return Ok(SyncOutcome::Done);
    };
    let provider = watch.provider;
    // The channel first, then the read: a change made after the read starts is notified on an open channel, and
    // one made before it is in the read, so nothing falls between the two.
    let mut next = watch.clone();
    let channel_problem = match keep_channel_open(app, integrations, setup, &mut next).await {
        Ok(()) => None,
        Err(SyncError::Store(StoreError::VersionMismatch)) => {
            return Ok(SyncOutcome::RetryAfter(jittered(BUSY_RETRY)));
        }
        Err(SyncError::Store(StoreError::NotFound)) => return Ok(SyncOutcome::Done),
        Err(SyncError::Store(error)) => return Err(error.into()),
        Err(SyncError::Internal(error)) => return Err(AppError::Internal(error)),
        Err(error) => {
            tracing::warn!(%business_id, %provider, %error, "push channel not opened or renewed");
            Some(Failure::of(error, attempt))
        }
    };
    let expected_version = next.version;
    let (mut recorded, failure) =
        match refresh_busy_time(app, integrations, setup, &business, &next).await {
            Ok(refreshed) => (refreshed, None),
            // The channel is kept even when the read failed.
            Err(error) => (next, Some(error)),
        };
    recorded.version = expected_version + 1;
    match app
        .store
        .put_calendar_watch(&recorded, Some(expected_version))
        .await
    {
        Ok(()) => {}
        // Someone changed the watch meanwhile (a lifecycle notification, another sync after our lease ended): this
        // run's cursor may be stale, so run again from theirs.
        Err(StoreError::VersionMismatch) => {
            close_unrecorded_channel(app, integrations, setup, &watch, &recorded).await;
            return Ok(SyncOutcome::RetryAfter(jittered(BUSY_RETRY)));
        }
        // Disconnected meanwhile: what this run wrote to the cache must not outlive the watch.
        Err(StoreError::NotFound) => {
            close_unrecorded_channel(app, integrations, setup, &watch, &recorded).await;
            forget_busy_time(app, &watch).await?;
            return Ok(SyncOutcome::Done);
        }
        Err(error) => return Err(error.into()),
    }
    if let Some(error) = failure {
        return fail(app, watch.connection(), error, attempt).await;
    }
    let health = match channel_problem {
        None => ConnectionHealth::Connected,
        Some(problem) => ConnectionHealth::Error {
            message: notifications_not_set_up(
                &ProviderNames::of(&app.registry, provider),
                &problem,
                connection
                    .as_ref()
                    .map_or(CONNECTED_ACCOUNT, |connection| connection.account.as_str()),
                SAFETY_NET_AFTER.unsigned_abs(),
            ),
        },
    };
    app.store
        .update_connection_health(business_id, watch.connection_id, &health, None)
        .await?;
    Ok(SyncOutcome::Done)
}

/// Records a failed sync on the connection and decides whether the queue should try again.
async fn fail<S: CatalogStore + ConnectionStore + LeaseStore + SignInStore + ?Sized>(
    app: &App<S>,
    connection: ConnectionRef,
    error: SyncError,
    attempt: u32,
) -> Result<SyncOutcome, AppError> {
    let ConnectionRef {
        business_id,
        id,
        provider,
    } = connection;
    // The owner reads the provider's words; the log keeps ours (status, code) beside them.
    tracing::warn!(%business_id, %provider, %error, "calendar busy-time sync failed");
    let failure = Failure::of(error, attempt);
    match failure {
        Failure::Ours(error) => return Err(error),
        Failure::NotConfigured => return Ok(SyncOutcome::Done),
        // The token module has marked the connection; nothing syncs until the business reconnects, which its owners
        // are told.
        Failure::ReauthRequired(reason) => {
            // Gone with the connection: a disconnected calendar needs no reconnecting.
            if let Some(connection) = app.store.get_calendar_connection(business_id, id).await? {
                let incident = Incident::Reconnect {
                    provider,
                    reason: &reason,
                    connected_at: connection.connected_at,
                };
                alert_owners(app, business_id, incident).await;
            }
            return Ok(SyncOutcome::Done);
        }
        _ => {}
    }
    let health = ConnectionHealth::Error {
        message: busy_times_not_read(
            &ProviderNames::of(&app.registry, provider),
            &failure,
            &account(app, connection).await?,
        ),
    };
    app.store
        .update_connection_health(business_id, id, &health, None)
        .await?;
    Ok(failure
        .retry_in()
        .map_or(SyncOutcome::Done, SyncOutcome::RetryAfter))
}

/// The connected account, as the owner knows the calendar's sharing by.
async fn account<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    connection: ConnectionRef,
) -> Result<String, AppError> {
    Ok(app
        .store
        .get_calendar_connection(connection.business_id, connection.id)
        .await?
        .map_or_else(
            || CONNECTED_ACCOUNT.to_owned(),
            |connection| connection.account,
        ))
}

/// Stands in for the account's address when the connection is gone meanwhile.
const CONNECTED_ACCOUNT: &str = "the connected account";
