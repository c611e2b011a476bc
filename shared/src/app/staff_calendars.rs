//! Which of a business's calendar connections serves what: the one a member's appointments are written to (at most
//! one per member), and the one the business-level routes of the release before staff members act on (the first
//! member's). Both sync directions and the integration routes ask here, so the rule lives in one place.

use crate::domain::{BusinessId, StaffId};
use crate::ports::{CalendarConnection, ConnectionStore, StoreError};

/// The member's connection whose calendar receives their appointments, among `connections`.
pub fn written_by(
    connections: &[CalendarConnection],
    staff_id: StaffId,
) -> Option<&CalendarConnection> {
    connections
        .iter()
        .find(|connection| connection.staff_id == staff_id && connection.syncs_appointments())
}

/// The member's connection whose calendar receives their appointments, if they have chosen one.
pub async fn written_connection<S: ConnectionStore + ?Sized>(
    store: &S,
    business_id: BusinessId,
    staff_id: StaffId,
) -> Result<Option<CalendarConnection>, StoreError> {
    let connections = store.calendar_connections(business_id).await?;
    Ok(written_by(&connections, staff_id).cloned())
}

/// The first member's connection among `connections`: the one their appointments are written to, else the one
/// connected last. What the business-level routes and pages show and act on.
pub fn first_members(
    connections: Vec<CalendarConnection>,
    business_id: BusinessId,
) -> Option<CalendarConnection> {
    let first = StaffId::first_of(business_id);
    connections
        .into_iter()
        .filter(|connection| connection.staff_id == first)
        .max_by_key(|connection| (connection.syncs_appointments(), connection.connected_at))
}

/// The first member's connection (see [`first_members`]).
pub async fn first_member_connection<S: ConnectionStore + ?Sized>(
    store: &S,
    business_id: BusinessId,
) -> Result<Option<CalendarConnection>, StoreError> {
    Ok(first_members(
        store.calendar_connections(business_id).await?,
        business_id,
    ))
}
