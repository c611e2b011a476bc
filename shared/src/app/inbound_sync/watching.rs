//! The watch's lifecycle: following a newly selected calendar, catching up after a reconnection, and forgetting
//! the calendar (its channel, watch and cached busy time) on disconnect.

use super::channel::close_channel;
use super::enqueue;
use crate::app::context::App;
use crate::app::error::AppError;
use crate::app::providers::Integrations;
use crate::domain::BusinessId;
use crate::ports::{BusyTimeStore, ConnectionStore, LeaseStore};
use crate::ports::{CalendarConnection, CalendarWatch, StoreError};

/// Starts following the newly selected calendar of `connection`: records the watch and enqueues its first (full)
/// sync.
#[tracing::instrument(skip_all, fields(business_id = %connection.business_id, connection_id = %connection.id))]
pub async fn start_watching<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    connection: &CalendarConnection,
    calendar_id: &str,
) -> Result<(), AppError> {
    let business_id = connection.business_id;
    let watch = CalendarWatch::of_connection(connection, calendar_id.to_owned());
    // A watch left by an earlier selection (a disconnect that failed half-way) is replaced.
    app.store.delete_calendar_watch(business_id).await?;
    match app.store.put_calendar_watch(&watch, None).await {
        Ok(()) | Err(StoreError::AlreadyExists) => {}
        Err(error) => return Err(error.into()),
    }
    enqueue(app, business_id, false).await
}

/// Catches up on a calendar that stays selected across a reconnection: a sync now, or a new watch if there is none.
#[tracing::instrument(skip_all, fields(business_id = %connection.business_id, connection_id = %connection.id))]
pub async fn resume_watching<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    connection: &CalendarConnection,
    calendar_id: &str,
) -> Result<(), AppError> {
    let business_id = connection.business_id;
    let watched = app
        .store
        .get_calendar_watch(business_id)
        .await?
        .is_some_and(|watch| {
            watch.connection_id == connection.id && watch.calendar_id == calendar_id
        });
    if watched {
        enqueue(app, business_id, false).await
    } else {
        start_watching(app, connection, calendar_id).await
    }
}

/// Stops following the business's calendar if `whose` it is (a connection's, any): closes the push channel (best
/// effort: it expires by itself) and forgets the watch and the cached busy time. Called while the grant still works.
#[tracing::instrument(skip_all, fields(%business_id))]
pub async fn stop_watching<S: ConnectionStore + BusyTimeStore + LeaseStore + ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    business_id: BusinessId,
    whose: impl Fn(&CalendarWatch) -> bool,
) -> Result<(), AppError> {
    let Some(watch) = app
        .store
        .get_calendar_watch(business_id)
        .await?
        .filter(|watch| whose(watch))
    else {
        return Ok(());
    };
    if let (Some(channel), Ok(setup)) = (&watch.channel, integrations.provider(watch.provider)) {
        close_channel(app, integrations, setup, watch.connection(), channel, "").await;
    }
    app.store.delete_calendar_watch(business_id).await?;
    forget_busy_time(app, business_id, &watch.calendar_id).await
}

pub(super) async fn forget_busy_time<S: BusyTimeStore + ?Sized>(
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
