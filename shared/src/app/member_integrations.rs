//! One staff member's calendar connections: listing them, the calendars of one, choosing which calendar receives
//! the member's appointments and which others block their time, and disconnecting one. Every use case first checks
//! that the member belongs to the business, and acts only on that member's own connections, so one member's choice
//! never changes another's. Connecting goes through [`super::integrations::start_connect`], which takes the member.

use super::calendar_sync::{pin_event_homes, queue_upcoming};
use super::context::App;
use super::error::AppError;
use super::inbound_sync::follow_calendars;
use super::integrations::{calendars_of, disconnect_connection, integrations, list_connections};
use super::staff::get_staff_member;
use crate::domain::{Business, ConnectionId, StaffId};
use crate::ports::{
    AppointmentStore, BusyTimeStore, CalendarConnection, CalendarSummary, CalendarWatch,
    CatalogStore, ConnectionStore, LeaseStore,
};

/// What a member chose for one connection: the calendar their appointments are written to (none: nothing is
/// written through this connection) and the further calendars whose events block them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CalendarChoice {
    pub written: Option<String>,
    pub checked: Vec<String>,
}

/// The member's connections, each with the watch of its written calendar if that is followed, oldest first.
#[tracing::instrument(skip_all, fields(business_id = %business.id, %staff_id))]
pub async fn member_connections<S: ConnectionStore + CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    staff_id: StaffId,
) -> Result<Vec<(CalendarConnection, Option<CalendarWatch>)>, AppError> {
    get_staff_member(app, business, staff_id).await?;
    let mut connections = list_connections(app, business).await?;
    connections.retain(|(connection, _)| connection.staff_id == staff_id);
    connections.sort_by_key(|(connection, _)| connection.connected_at);
    Ok(connections)
}

/// The member's connection `connection_id`: `staff_not_found` for a member not in the business,
/// `calendar_not_connected` for a connection that is not theirs (or not at all).
async fn member_connection<S: ConnectionStore + CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    staff_id: StaffId,
    connection_id: ConnectionId,
) -> Result<CalendarConnection, AppError> {
    get_staff_member(app, business, staff_id).await?;
    app.store
        .get_calendar_connection(business.id, connection_id)
        .await?
        .filter(|connection| connection.staff_id == staff_id)
        .ok_or(AppError::CalendarNotConnected)
}

/// The calendars of the member's connection, fresh from the provider.
#[tracing::instrument(skip_all, fields(business_id = %business.id, %staff_id, %connection_id))]
pub async fn list_member_calendars<S: ConnectionStore + CatalogStore + LeaseStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    staff_id: StaffId,
    connection_id: ConnectionId,
) -> Result<Vec<CalendarSummary>, AppError> {
    let connection = member_connection(app, business, staff_id, connection_id).await?;
    calendars_of(app, &connection).await
}

/// Records the member's choice for one connection, every calendar checked against the provider's list. The member
/// keeps at most one written calendar: choosing one here stops writing through their other connections (the
/// calendar written there before stays checked, so its events still block them). When the written calendar
/// changes, every upcoming appointment of the member is queued for it (moving the events already written) and its
/// busy time is followed. Answers the stored connection and how many appointments were queued.
#[tracing::instrument(skip_all, fields(business_id = %business.id, %staff_id, %connection_id))]
pub async fn choose_calendars<
    S: AppointmentStore + ConnectionStore + BusyTimeStore + LeaseStore + CatalogStore + ?Sized,
>(
    app: &App<S>,
    business: &Business,
    staff_id: StaffId,
    connection_id: ConnectionId,
    choice: CalendarChoice,
) -> Result<(CalendarConnection, usize), AppError> {
    let connection = member_connection(app, business, staff_id, connection_id).await?;
    let calendars = calendars_of(app, &connection).await?;
    let known = |id: &str| {
        calendars
            .iter()
            .find(|calendar| calendar.id == id)
            .ok_or_else(|| AppError::CalendarNotFound(id.to_owned()))
    };
    if let Some(written) = &choice.written {
        if !known(written)?.writable {
            return Err(AppError::CalendarNotWritable(written.clone()));
        }
    }
    let mut checked: Vec<String> = Vec::new();
    for id in choice.checked {
        known(&id)?;
        if choice.written.as_ref() != Some(&id) && !checked.contains(&id) {
            checked.push(id);
        }
    }

    let written_changes = connection.calendar_id != choice.written;
    if written_changes {
        if choice.written.is_some() {
            stop_writing_elsewhere(app, &connection).await?;
        }
        leave_written_calendar(app, &connection).await?;
    }
    let chosen = CalendarConnection {
        calendar_id: choice.written,
        checked_calendars: checked,
        ..connection
    };
    app.store.put_calendar_connection(&chosen).await?;
    // Each calendar now checked is followed, and one no longer checked stops blocking the member.
    follow_calendars(app, integrations(app, chosen.provider)?, &chosen).await?;
    if !written_changes {
        return Ok((chosen, 0));
    }
    let queued = queue_upcoming(app, business.id, staff_id).await?;
    Ok((chosen, queued))
}

/// The member's other connections that receive their appointments stop doing so; the calendar each wrote to stays
/// checked for conflicts.
async fn stop_writing_elsewhere<
    S: AppointmentStore + ConnectionStore + BusyTimeStore + LeaseStore + ?Sized,
>(
    app: &App<S>,
    chosen: &CalendarConnection,
) -> Result<(), AppError> {
    let others = app
        .store
        .calendar_connections(chosen.business_id)
        .await?
        .into_iter()
        .filter(|other| other.staff_id == chosen.staff_id && other.id != chosen.id);
    for other in others {
        let Some(written) = other.calendar_id.clone() else {
            continue;
        };
        leave_written_calendar(app, &other).await?;
        let mut checked = other.checked_calendars.clone();
        if !checked.contains(&written) {
            checked.insert(0, written);
        }
        let checked_only = CalendarConnection {
            calendar_id: None,
            checked_calendars: checked,
            ..other
        };
        app.store.put_calendar_connection(&checked_only).await?;
    }
    Ok(())
}

/// Before `connection`'s written calendar changes: the events already in it are pinned there, so the worker moves
/// them rather than taking the new calendar for their home.
async fn leave_written_calendar<S: AppointmentStore + ConnectionStore + ?Sized>(
    app: &App<S>,
    connection: &CalendarConnection,
) -> Result<(), AppError> {
    if connection.calendar_id.is_none() {
        return Ok(());
    }
    pin_event_homes(app, connection).await
}

/// Disconnects the member's connection (see [`super::integrations::disconnect`]).
#[tracing::instrument(skip_all, fields(business_id = %business.id, %staff_id, %connection_id))]
pub async fn disconnect_member_connection<
    S: ConnectionStore + BusyTimeStore + LeaseStore + CatalogStore + ?Sized,
>(
    app: &App<S>,
    business: &Business,
    staff_id: StaffId,
    connection_id: ConnectionId,
) -> Result<(), AppError> {
    let connection = member_connection(app, business, staff_id, connection_id).await?;
    disconnect_connection(app, &connection).await
}
