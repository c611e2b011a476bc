//! The watches' lifecycle: following the calendars a connection checks (one watch each), catching up after a
//! reconnection, and forgetting a calendar (its channel, watch and cached busy time) when it is no longer checked
//! or the connection goes.

use super::channel::close_channel;
use super::enqueue;
use crate::app::context::App;
use crate::app::error::AppError;
use crate::app::providers::Integrations;
use crate::domain::BusinessId;
use crate::ports::{BusyTimeStore, ConnectionStore, LeaseStore};
use crate::ports::{CalendarConnection, CalendarWatch, StoreError};

/// Makes the watches of `connection` match the calendars it checks: each newly checked calendar gets a watch and
/// its first (full) sync; a calendar no longer checked stops blocking its member (see [`stop_watching`]). Safe to
/// repeat: a calendar already followed is left as it is.
#[tracing::instrument(skip_all, fields(business_id = %connection.business_id, connection_id = %connection.id))]
pub async fn follow_calendars<S: ConnectionStore + BusyTimeStore + LeaseStore + ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    connection: &CalendarConnection,
) -> Result<(), AppError> {
    let watches = app.store.calendar_watches(connection.business_id).await?;
    follow_among(app, integrations, connection, watches).await?;
    Ok(())
}

/// [`follow_calendars`] given the business's `watches` as just read; answers the ones of the connection it kept.
async fn follow_among<S: ConnectionStore + BusyTimeStore + LeaseStore + ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    connection: &CalendarConnection,
    watches: Vec<CalendarWatch>,
) -> Result<Vec<CalendarWatch>, AppError> {
    let checked = connection.calendars_checked();
    let (kept, dropped): (Vec<_>, Vec<_>) = watches
        .into_iter()
        .filter(|watch| watch.connection_id == connection.id)
        .partition(|watch| checked.contains(&watch.calendar_id.as_str()));
    stop(app, integrations, dropped).await?;
    for calendar_id in checked {
        if !kept
            .iter()
            .any(|watch| watch.follows(connection.id, calendar_id))
        {
            start_watching(app, connection, calendar_id).await?;
        }
    }
    Ok(kept)
}

/// Starts following `calendar_id` of `connection`: records its watch and enqueues its first (full) sync.
async fn start_watching<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    connection: &CalendarConnection,
    calendar_id: &str,
) -> Result<(), AppError> {
    let watch = CalendarWatch::of_connection(connection, calendar_id.to_owned());
    match app.store.put_calendar_watch(&watch, None).await {
        // Started by a retry or a racing request: its sync is queued already, and another is harmless.
        Ok(()) | Err(StoreError::AlreadyExists) => {}
        Err(error) => return Err(error.into()),
    }
    enqueue(app, connection.business_id, watch.id, false).await
}

/// Catches up on the calendars of a connection that works again (a reconnection, a business enabled again): a sync
/// now of each calendar still followed, and a watch for each checked calendar that has none.
#[tracing::instrument(skip_all, fields(business_id = %connection.business_id, connection_id = %connection.id))]
pub async fn resume_watching<S: ConnectionStore + BusyTimeStore + LeaseStore + ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    connection: &CalendarConnection,
) -> Result<(), AppError> {
    let watches = app.store.calendar_watches(connection.business_id).await?;
    for watch in follow_among(app, integrations, connection, watches).await? {
        enqueue(app, watch.business_id, watch.id, false).await?;
    }
    Ok(())
}

/// Stops following every calendar of the business `whose` watch it is (a connection's, any): see [`stop`].
#[tracing::instrument(skip_all, fields(%business_id))]
pub async fn stop_watching<S: ConnectionStore + BusyTimeStore + LeaseStore + ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    business_id: BusinessId,
    whose: impl Fn(&CalendarWatch) -> bool,
) -> Result<(), AppError> {
    let mut watches = app.store.calendar_watches(business_id).await?;
    watches.retain(|watch| whose(watch));
    stop(app, integrations, watches).await
}

/// Closes each watch's push channel (best effort: it expires by itself) and forgets the watch and its cached busy
/// time. Called while the grant still works.
async fn stop<S: ConnectionStore + BusyTimeStore + LeaseStore + ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    watches: Vec<CalendarWatch>,
) -> Result<(), AppError> {
    for watch in watches {
        if let (Some(channel), Ok(setup)) = (&watch.channel, integrations.provider(watch.provider))
        {
            close_channel(app, integrations, setup, watch.connection(), channel, "").await;
        }
        app.store
            .delete_calendar_watch(watch.business_id, watch.id)
            .await?;
        forget_busy_time(app, &watch).await?;
    }
    Ok(())
}

/// Drops the busy time read through `watch`.
pub(super) async fn forget_busy_time<S: BusyTimeStore + ?Sized>(
    app: &App<S>,
    watch: &CalendarWatch,
) -> Result<(), AppError> {
    let (business_id, calendar_key) = (watch.business_id, watch.busy_time_key());
    for event_id in app.store.busy_event_ids(business_id, &calendar_key).await? {
        app.store
            .delete_busy_event(business_id, &calendar_key, &event_id)
            .await?;
    }
    Ok(())
}
