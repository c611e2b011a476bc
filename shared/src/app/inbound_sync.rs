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

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use jiff::{SignedDuration, Timestamp};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::context::App;
use super::error::AppError;
use super::providers::Integrations;
use super::sync_core::{
    Failure, SyncError, SyncOutcome, calendar_job, jittered, with_fresh_token, with_lease,
};
use super::sync_wording::{ProviderNames, busy_times_not_read, notifications_not_set_up};
use crate::domain::{Business, BusinessId, ExternalEventChange, Interval, busy_time};
use crate::ports::{
    BusyEvent, CalendarChanges, CalendarWatch, ChangesSince, ConnectionHealth, Job, OpeningChannel,
    ProviderError, ProviderKind, ProviderSetup, PushChannel, PushEvent, PushNotification,
    PushRequest, StoreError,
};
use crate::ports::{BusyTimeStore, CatalogStore, ConnectionStore, LeaseStore};

/// Longer than a sync can take: a token refresh, a few pages and a channel call, each bounded by the HTTP timeout.
const CALENDAR_LEASE: SignedDuration = SignedDuration::from_secs(120);
/// When another sync of the same calendar is running, run again after about this long: it may have read the
/// calendar before the change that enqueued this job.
const BUSY_RETRY: Duration = Duration::from_millis(500);
/// Events that started up to this long ago are kept; an event in progress still blocks.
const PAST_MARGIN: SignedDuration = SignedDuration::from_hours(24);
/// Kept beyond the longest booking horizon, so a service's horizon can grow a little without a resync.
const HORIZON_MARGIN_DAYS: i64 = 14;
/// The horizon used when a business has no services yet.
const DEFAULT_HORIZON_DAYS: i64 = 60;
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
/// How much later than a notification a sync must have begun for the notification to count as seen.
const COALESCE_MARGIN: SignedDuration = SignedDuration::from_secs(1);
/// Cache writes of one sync in flight at once.
const APPLY_CONCURRENCY: usize = 16;
/// Watches read per page by the scheduled walk.
const WATCH_PAGE: u32 = 100;

/// Starts following the newly selected calendar: records the watch and enqueues its first (full) sync.
#[tracing::instrument(skip_all, fields(%business_id, %provider))]
pub async fn start_watching<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
    provider: ProviderKind,
    calendar_id: &str,
) -> Result<(), AppError> {
    let watch = CalendarWatch::new(business_id, provider, calendar_id.to_owned());
    // A watch left by an earlier selection (a disconnect that failed half-way) is replaced.
    app.store.delete_calendar_watch(business_id).await?;
    match app.store.put_calendar_watch(&watch, None).await {
        Ok(()) | Err(StoreError::AlreadyExists) => {}
        Err(error) => return Err(error.into()),
    }
    enqueue(app, business_id, false).await
}

/// Catches up on a calendar that stays selected across a reconnection: a sync now, or a new watch if there is none.
#[tracing::instrument(skip_all, fields(%business_id, %provider))]
pub async fn resume_watching<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
    provider: ProviderKind,
    calendar_id: &str,
) -> Result<(), AppError> {
    let watched = app
        .store
        .get_calendar_watch(business_id)
        .await?
        .is_some_and(|watch| watch.provider == provider && watch.calendar_id == calendar_id);
    if watched {
        enqueue(app, business_id, false).await
    } else {
        start_watching(app, business_id, provider, calendar_id).await
    }
}

/// Stops following the business's calendar: closes the push channel (best effort: it expires by itself) and
/// forgets the watch and the cached busy time. Called while the grant still works.
#[tracing::instrument(skip_all, fields(%business_id))]
pub async fn stop_watching<S: ConnectionStore + BusyTimeStore + LeaseStore + ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    business_id: BusinessId,
) -> Result<(), AppError> {
    let Some(watch) = app.store.get_calendar_watch(business_id).await? else {
        return Ok(());
    };
    if let (Some(channel), Ok(setup)) = (&watch.channel, integrations.provider(watch.provider)) {
        close_channel(app, integrations, setup, business_id, channel, "").await;
    }
    app.store.delete_calendar_watch(business_id).await?;
    forget_busy_time(app, business_id, &watch.calendar_id).await
}

async fn forget_busy_time<S: BusyTimeStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
    calendar_id: &str,
) -> Result<(), AppError> {
    for event_id in app.store.busy_event_ids(business_id, calendar_id).await? {
        app.store
            .delete_busy_event(business_id, calendar_id, &event_id)
            .await?;
    }
    Ok(())
}

/// Enqueues a sync of the business's calendar; `notified` when a push notification asked for it.
async fn enqueue<S: ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
    notified: bool,
) -> Result<(), AppError> {
    let job = calendar_job(business_id, notified.then(|| app.clock.now()));
    app.queue
        .enqueue(&job, Duration::ZERO)
        .await
        .map_err(|error| AppError::Internal(Box::new(error)))
}

/// Runs the calendar sync job of one business; `attempt` is the queue's delivery count, for backoff.
#[tracing::instrument(skip_all, fields(job = "sync_calendar", %business_id, attempt))]
pub async fn run_calendar_sync<
    S: CatalogStore + ConnectionStore + BusyTimeStore + LeaseStore + ?Sized,
>(
    app: &App<S>,
    business_id: BusinessId,
    requested_at: Option<Timestamp>,
    attempt: u32,
) -> Result<SyncOutcome, AppError> {
    with_lease(
        app,
        &format!("calendar-sync/{business_id}"),
        CALENDAR_LEASE,
        BUSY_RETRY,
        sync_under_lease(app, business_id, requested_at, attempt),
    )
    .await
}

async fn sync_under_lease<
    S: CatalogStore + ConnectionStore + BusyTimeStore + LeaseStore + ?Sized,
>(
    app: &App<S>,
    business_id: BusinessId,
    requested_at: Option<Timestamp>,
    attempt: u32,
) -> Result<SyncOutcome, AppError> {
    let Some(watch) = app.store.get_calendar_watch(business_id).await? else {
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
        app.store.get_calendar_connection(business_id),
        app.store.get_business(business_id)
    )?;
    let still_selected = connection.as_ref().is_some_and(|connection| {
        connection.provider == watch.provider
            && connection.calendar_id.as_deref() == Some(watch.calendar_id.as_str())
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
            forget_busy_time(app, business_id, &watch.calendar_id).await?;
            return Ok(SyncOutcome::Done);
        }
        Err(error) => return Err(error.into()),
    }
    if let Some(error) = failure {
        return fail(app, business_id, provider, error, attempt).await;
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
        .update_connection_health(business_id, provider, &health, None)
        .await?;
    Ok(SyncOutcome::Done)
}

/// Records a failed sync on the connection and decides whether the queue should try again.
async fn fail<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
    provider: ProviderKind,
    error: SyncError,
    attempt: u32,
) -> Result<SyncOutcome, AppError> {
    // The owner reads the provider's words; the log keeps ours (status, code) beside them.
    tracing::warn!(%business_id, %provider, %error, "calendar busy-time sync failed");
    let failure = Failure::of(error, attempt);
    match failure {
        Failure::Ours(error) => return Err(error),
        // The token module has marked the connection; nothing syncs until the business reconnects.
        Failure::NotConfigured | Failure::ReauthRequired(_) => return Ok(SyncOutcome::Done),
        _ => {}
    }
    let health = ConnectionHealth::Error {
        message: busy_times_not_read(
            &ProviderNames::of(&app.registry, provider),
            &failure,
            &account(app, business_id, provider).await?,
        ),
    };
    app.store
        .update_connection_health(business_id, provider, &health, None)
        .await?;
    Ok(failure
        .retry_in()
        .map_or(SyncOutcome::Done, SyncOutcome::RetryAfter))
}

/// The connected account, as the owner knows the calendar's sharing by.
async fn account<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
    provider: ProviderKind,
) -> Result<String, AppError> {
    Ok(app
        .store
        .get_calendar_connection(business_id)
        .await?
        .filter(|connection| connection.provider == provider)
        .map_or_else(
            || CONNECTED_ACCOUNT.to_owned(),
            |connection| connection.account,
        ))
}

/// Stands in for the account's address when the connection is gone meanwhile.
const CONNECTED_ACCOUNT: &str = "the connected account";

/// The span of time the cache holds for a business: from a day ago to its longest booking horizon and a margin.
async fn busy_window<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    now: Timestamp,
) -> Result<Interval, SyncError> {
    let services = app.store.list_services(business.id).await?;
    let horizon_days = services
        .iter()
        .filter(|service| service.active)
        .map(|service| i64::from(service.settings.booking_horizon_days))
        .max()
        .unwrap_or(DEFAULT_HORIZON_DAYS)
        + HORIZON_MARGIN_DAYS;
    let start = now.checked_sub(PAST_MARGIN).map_err(SyncError::internal)?;
    let end = now
        .checked_add(SignedDuration::from_hours(horizon_days * 24))
        .map_err(SyncError::internal)?;
    Interval::new(start, end).map_err(SyncError::internal)
}

/// Reads the calendar's changes and applies them to the cache; returns the watch with its new cursor.
async fn refresh_busy_time<
    S: CatalogStore + ConnectionStore + BusyTimeStore + LeaseStore + ?Sized,
>(
    app: &App<S>,
    integrations: &Integrations,
    setup: &ProviderSetup,
    business: &Business,
    watch: &CalendarWatch,
) -> Result<CalendarWatch, SyncError> {
    let now = app.clock.now();
    let window = busy_window(app, business, now).await?;
    let started_at = now;
    let full_sync_due = watch
        .full_sync_at
        .is_none_or(|at| now.duration_since(at) >= FULL_SYNC_EVERY);
    let incremental = match (&watch.cursor, full_sync_due) {
        (Some(cursor), false) => {
            let read =
                with_fresh_token(app, integrations, setup, business.id, |token| async move {
                    let since = ChangesSince::Cursor(cursor);
                    setup
                        .calendar
                        .changes(&token, &watch.calendar_id, since)
                        .await
                })
                .await;
            match read {
                Ok(changes) => Some(changes),
                Err(SyncError::Provider(ProviderError::CursorExpired)) => {
                    tracing::info!(business_id = %business.id, "sync cursor expired; running a full sync");
                    None
                }
                Err(error) => return Err(error),
            }
        }
        _ => None,
    };
    let full = incremental.is_none();
    let changes = match incremental {
        Some(changes) => changes,
        None => {
            with_fresh_token(app, integrations, setup, business.id, |token| async move {
                let since = ChangesSince::Start { window };
                setup
                    .calendar
                    .changes(&token, &watch.calendar_id, since)
                    .await
            })
            .await?
        }
    };
    let zone_name = changes
        .time_zone
        .clone()
        .or_else(|| watch.time_zone.clone());
    apply(
        app,
        business,
        watch,
        &changes,
        zone_name.as_deref(),
        window,
        full,
    )
    .await?;
    let synced_at = app.clock.now();
    Ok(CalendarWatch {
        cursor: Some(changes.cursor),
        time_zone: zone_name,
        full_sync_at: if full {
            Some(synced_at)
        } else {
            watch.full_sync_at
        },
        synced_at: Some(synced_at),
        sync_started_at: Some(started_at),
        ..watch.clone()
    })
}

/// Writes each changed event's busy time (or its absence) to the cache. After a full listing, events the cache
/// holds that the listing no longer has are removed too.
async fn apply<S: BusyTimeStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    watch: &CalendarWatch,
    changes: &CalendarChanges,
    zone_name: Option<&str>,
    window: Interval,
    full: bool,
) -> Result<(), SyncError> {
    // All-day events block the calendar's own dates; the business's zone stands in when the provider does not say.
    let zone = zone_name
        .and_then(|name| jiff::tz::TimeZone::get(name).ok())
        .unwrap_or_else(|| business.time_zone.zone().clone());
    let stored: HashSet<String> = if full {
        app.store
            .busy_event_ids(business.id, &watch.calendar_id)
            .await?
            .into_iter()
            .collect()
    } else {
        HashSet::new()
    };
    let mut writes = Vec::new();
    for change in &changes.changes {
        let busy = match change {
            ExternalEventChange::Changed { event, .. } => busy_time(event, &zone, window),
            ExternalEventChange::Removed { .. } => None,
        };
        let id = change.id().to_owned();
        // A full listing names every event; one that blocks nothing and is not cached needs no write.
        if busy.is_some() || !full || stored.contains(&id) {
            writes.push((id, busy));
        }
    }
    if full {
        let listed: HashSet<&str> = changes
            .changes
            .iter()
            .map(ExternalEventChange::id)
            .collect();
        writes.extend(
            stored
                .iter()
                .filter(|id| !listed.contains(id.as_str()))
                .map(|id| (id.clone(), None)),
        );
    }
    futures::stream::iter(writes)
        .map(|(event_id, busy)| async move {
            match busy {
                Some(interval) => {
                    app.store
                        .put_busy_event(&BusyEvent {
                            business_id: business.id,
                            calendar_id: watch.calendar_id.clone(),
                            event_id,
                            intervals: vec![interval],
                        })
                        .await
                }
                None => {
                    app.store
                        .delete_busy_event(business.id, &watch.calendar_id, &event_id)
                        .await
                }
            }
        })
        .buffer_unordered(APPLY_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// A fresh random secret: 64 hex digits, safe in a header, a channel id and a client state.
fn random_secret() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Constant-time: a notification's secret must not be guessable a byte at a time from our response times.
fn secret_matches(presented: &str, stored_hash: &str) -> bool {
    let presented = secret_hash(presented);
    !stored_hash.is_empty() && bool::from(presented.as_bytes().ct_eq(stored_hash.as_bytes()))
}

/// Opens a push channel if there is none, renews it if it expires soon; updates `watch` with the result. A new
/// channel is announced in the store (its id and secret) before the provider is asked, so the notifications it
/// sends before answering are accepted; `watch.version` is then the announced one.
async fn keep_channel_open<S: ConnectionStore + LeaseStore + ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    setup: &ProviderSetup,
    watch: &mut CalendarWatch,
) -> Result<(), SyncError> {
    let now = app.clock.now();
    let push = setup.calendar.push_settings();
    let expires_at = now
        .checked_add(push.channel_lifetime)
        .map_err(SyncError::internal)?;
    let current = watch.channel.clone();
    if let Some(channel) = &current {
        if channel.expires_at.duration_since(now) > RENEW_BEFORE {
            return Ok(());
        }
        let renewed = with_fresh_token(
            app,
            integrations,
            setup,
            watch.business_id,
            |token| async move {
                setup
                    .calendar
                    .renew_push_channel(&token, channel, expires_at)
                    .await
            },
        )
        .await?;
        if let Some(renewed) = renewed {
            watch.channel = Some(renewed);
            return Ok(());
        }
    }
    let address = integrations.webhook_url(setup);
    let (channel_id, secret) = if push.we_name_channels {
        (
            format!("{}_{}", watch.business_id, &random_secret()[..20]),
            random_secret(),
        )
    } else {
        // The provider names the channel; the business rides in the secret instead.
        (
            String::new(),
            format!("{}.{}", watch.business_id, random_secret()),
        )
    };
    let secret = SecretString::from(secret);
    let opening = OpeningChannel {
        id: push.we_name_channels.then(|| channel_id.clone()),
        secret_hash: secret_hash(secret.expose_secret()),
    };
    let announced = CalendarWatch {
        opening: Some(opening.clone()),
        version: watch.version + 1,
        ..watch.clone()
    };
    app.store
        .put_calendar_watch(&announced, Some(watch.version))
        .await?;
    *watch = announced;
    let request = PushRequest {
        channel_id: &channel_id,
        address: &address,
        secret: &secret,
        expires_at,
    };
    let calendar_id = watch.calendar_id.as_str();
    let request = &request;
    let opened = with_fresh_token(
        app,
        integrations,
        setup,
        watch.business_id,
        |token| async move {
            setup
                .calendar
                .open_push_channel(&token, calendar_id, request)
                .await
        },
    )
    .await?;
    watch.channel = Some(opened);
    watch.secret_hash = opening.secret_hash;
    watch.opening = None;
    if let Some(old) = current {
        // The new channel is open; the old one would only send duplicates until it expires.
        close_channel(app, integrations, setup, watch.business_id, &old, "old ").await;
    }
    Ok(())
}

/// A channel this run opened but could not record would only send notifications we reject: close it.
async fn close_unrecorded_channel<S: ConnectionStore + LeaseStore + ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    setup: &ProviderSetup,
    before: &CalendarWatch,
    after: &CalendarWatch,
) {
    let Some(opened) = after.channel.as_ref().filter(|channel| {
        before
            .channel
            .as_ref()
            .is_none_or(|old| old.id != channel.id)
    }) else {
        return;
    };
    close_channel(
        app,
        integrations,
        setup,
        after.business_id,
        opened,
        "unrecorded ",
    )
    .await;
}

/// Closes a push channel as a courtesy: one left open expires by itself, so a failure is only logged. `which`
/// names the channel in the log line ("old ", "unrecorded ").
async fn close_channel<S: ConnectionStore + LeaseStore + ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    setup: &ProviderSetup,
    business_id: BusinessId,
    channel: &PushChannel,
    which: &str,
) {
    let closed = with_fresh_token(app, integrations, setup, business_id, |token| async move {
        setup.calendar.close_push_channel(&token, channel).await
    })
    .await;
    if let Err(error) = closed {
        tracing::warn!(%business_id, provider = %setup.kind(), %error, "{which}push channel not closed; it expires by itself");
    }
}

/// The businesses a notification may be for. We put the business's id in front of the channel id where we choose
/// it (`{business}_{random}`), else in front of the secret the provider echoes (`{business}.{random}`); either
/// reading is only a lookup key, since [`is_authentic`] then checks the secret against the stored hash.
fn addressed_businesses(notification: &PushNotification) -> Vec<BusinessId> {
    let from_channel = notification.channel_id.split_once('_');
    let from_secret = notification
        .secret
        .as_deref()
        .and_then(|secret| secret.split_once('.'));
    let mut businesses: Vec<BusinessId> = [from_channel, from_secret]
        .into_iter()
        .flatten()
        .filter_map(|(business, _)| business.parse().ok())
        .collect();
    businesses.dedup();
    businesses
}

/// Whether the notification comes from the watch's live channel, or from the one being opened (whose id, where
/// the provider chooses it, is not known until it answers: its secret alone identifies it).
fn is_authentic(watch: &CalendarWatch, notification: &PushNotification) -> bool {
    let secret = notification.secret.as_deref().unwrap_or_default();
    let live = watch.channel.as_ref().is_some_and(|channel| {
        let same_resource = match (&channel.resource_id, &notification.resource_id) {
            (Some(ours), Some(theirs)) => ours == theirs,
            _ => true,
        };
        channel.id == notification.channel_id
            && same_resource
            && secret_matches(secret, &watch.secret_hash)
    });
    let opening = watch.opening.as_ref().is_some_and(|opening| {
        opening
            .id
            .as_deref()
            .is_none_or(|id| id == notification.channel_id)
            && secret_matches(secret, &opening.secret_hash)
    });
    live || opening
}

/// Checks each notification from `provider` against the channel we opened and its secret; acts on the authentic
/// ones (a sync for changes, a renewal when the provider asks for one, a new channel when it removed ours).
/// Refused when none is authentic; anything that does not match a live channel and its secret changes nothing.
#[tracing::instrument(skip_all, fields(%provider, count = notifications.len()))]
pub async fn accept_notifications<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    provider: ProviderKind,
    notifications: &[PushNotification],
) -> Result<(), AppError> {
    let mut authentic_seen = false;
    let mut to_sync = HashSet::new();
    // A batch usually names one channel many times: read each watch once.
    let mut watches: HashMap<BusinessId, Option<CalendarWatch>> = HashMap::new();
    for notification in notifications {
        let mut addressed = None;
        for business_id in addressed_businesses(notification) {
            let watch = match watches.get(&business_id) {
                Some(watch) => watch.clone(),
                None => {
                    let watch = app
                        .store
                        .get_calendar_watch(business_id)
                        .await?
                        .filter(|watch| watch.provider == provider);
                    watches.insert(business_id, watch.clone());
                    watch
                }
            };
            if watch.is_some_and(|watch| is_authentic(&watch, notification)) {
                addressed = Some(business_id);
                break;
            }
        }
        let Some(business_id) = addressed else {
            continue;
        };
        authentic_seen = true;
        match notification.event {
            PushEvent::Opened => continue,
            PushEvent::Changed => {}
            PushEvent::RenewNow => mark_channel(app, business_id, ChannelMark::RenewNow).await?,
            PushEvent::Removed => mark_channel(app, business_id, ChannelMark::Gone).await?,
        }
        to_sync.insert(business_id);
    }
    if !authentic_seen && !notifications.is_empty() {
        return Err(AppError::WebhookRejected);
    }
    for business_id in to_sync {
        enqueue(app, business_id, true).await?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum ChannelMark {
    /// The provider wants the subscription renewed (reauthorized) now.
    RenewNow,
    /// The provider removed the subscription: the next sync opens a new one.
    Gone,
}

/// Records what a lifecycle notification said about the channel, so the sync it enqueues acts on it.
async fn mark_channel<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
    mark: ChannelMark,
) -> Result<(), AppError> {
    for _ in 0..5 {
        let Some(watch) = app.store.get_calendar_watch(business_id).await? else {
            return Ok(());
        };
        let channel = match mark {
            ChannelMark::RenewNow => watch.channel.clone().map(|channel| PushChannel {
                expires_at: app.clock.now(),
                ..channel
            }),
            ChannelMark::Gone => None,
        };
        let marked = CalendarWatch {
            channel,
            version: watch.version + 1,
            ..watch.clone()
        };
        match app
            .store
            .put_calendar_watch(&marked, Some(watch.version))
            .await
        {
            Ok(()) | Err(StoreError::NotFound) => return Ok(()),
            Err(StoreError::VersionMismatch) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    // A sync keeps winning the race; the sync we enqueue renews an expiring channel anyway.
    Ok(())
}

/// The scheduled safety net: enqueues a sync for every calendar not synced for [`SAFETY_NET_AFTER`], whose full
/// sync is due, or whose push channel is missing or expires within [`RENEW_BEFORE`]. Returns how many it enqueued.
#[tracing::instrument(skip_all)]
pub async fn sync_stale_calendars<S: ConnectionStore + ?Sized>(
    app: &App<S>,
) -> Result<usize, AppError> {
    let now = app.clock.now();
    let older_than = |at: Option<Timestamp>, period: SignedDuration| {
        at.is_none_or(|at| now.duration_since(at) >= period)
    };
    let mut enqueued = 0;
    let mut after = None;
    loop {
        let page = app.store.calendar_watches(after, WATCH_PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(enqueued);
        };
        after = Some(last.business_id);
        let jobs: Vec<Job> = page
            .iter()
            .filter(|watch| {
                older_than(watch.synced_at, SAFETY_NET_AFTER)
                    || older_than(watch.full_sync_at, FULL_SYNC_EVERY)
                    || watch.channel.as_ref().is_none_or(|channel| {
                        channel.expires_at.duration_since(now) <= RENEW_BEFORE
                    })
            })
            .map(|watch| calendar_job(watch.business_id, None))
            .collect();
        app.queue
            .enqueue_many(&jobs, Duration::ZERO)
            .await
            .map_err(|error| AppError::Internal(Box::new(error)))?;
        enqueued += jobs.len();
    }
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
            // A fresh channel is not renewed at once: it lives at least a renewal window past the next check.
            assert!(
                lifetime >= RENEW_BEFORE * 2 + LONGEST_UNCHECKED,
                "{lifetime:?}"
            );
        }
        assert!(microsoft::SUBSCRIPTION_LIFETIME <= microsoft::MAX_SUBSCRIPTION_LIFETIME);
    }

    #[test]
    fn a_secret_matches_only_itself_and_never_an_empty_hash() {
        let secret = random_secret();
        let hash = secret_hash(&secret);
        assert!(secret_matches(&secret, &hash));
        assert!(!secret_matches(&random_secret(), &hash));
        assert!(!secret_matches("", ""));
        assert!(!secret_matches(&secret, ""));
    }
}
