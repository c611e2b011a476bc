//! Placing a new booking or hold: the slot checked against every rule with fresh data, the member named or assigned
//! by the business's policy, and the write. A booking or hold for anyone that loses its member to a concurrent one
//! reads again and assigns again; one naming a member is refused with that member's alternatives.

use std::future::Future;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::domain::{Business, Interval, Service, StaffMember};
use crate::ports::{AppointmentStore, BusyTimeStore, CatalogStore, ReadMark, StoreError};

use super::appointments::{StaffChoice, checked_slot, taken_meanwhile};
use super::context::App;
use super::error::AppError;

/// A booking for anyone that loses its member to a concurrent one reads again and assigns again; each loss means
/// someone else was booked, so this bounds the rounds only under extreme contention.
const MAX_ASSIGNMENT_ATTEMPTS: usize = 8;

/// Where a new appointment or hold goes: a slot every rule allowed at `now`, with the member it is for.
pub(super) struct Placement {
    pub time: Interval,
    /// The business-local date of the start; the maximums per day count by it.
    pub local_date: Date,
    pub member: StaffMember,
    /// The store's note of the read the slot was checked against, for the write that follows.
    pub mark: ReadMark,
    pub now: Timestamp,
}

/// A record built from a [`Placement`], and what the store answered to its write.
pub(super) struct Attempt<T> {
    pub record: T,
    pub written: Result<(), StoreError>,
}

/// Checks the slot starting at `start` for the member `staff` names (or anyone), builds and writes the record with
/// `write`, and answers with the first attempt the store did not refuse for a conflict. A lost race is retried only
/// for anyone (by then someone else has the member), and after too many rounds, or at once for a named member, is
/// refused as `SlotUnavailable` with the nearest alternatives.
pub(super) async fn place_and_write<S, T, W, F>(
    app: &App<S>,
    business: &Business,
    service: &Service,
    start: Timestamp,
    staff: StaffChoice,
    mut write: W,
) -> Result<Attempt<T>, AppError>
where
    S: CatalogStore + AppointmentStore + BusyTimeStore + ?Sized,
    W: FnMut(Placement) -> F,
    F: Future<Output = Result<Attempt<T>, AppError>>,
{
    let StaffChoice { named, known } = staff;
    let mut lost = 0;
    loop {
        let now = app.clock.now();
        let choice = StaffChoice {
            named,
            known: known.clone(),
        };
        let checked = checked_slot(app, business, service, start, None, choice, now).await?;
        let placement = Placement {
            time: checked.slot,
            local_date: checked
                .slot
                .start()
                .to_zoned_datetime(business.time_zone.zone().clone())
                .date(),
            member: checked.member,
            mark: checked.mark,
            now,
        };
        let attempt = write(placement).await?;
        let Err(StoreError::Conflict(conflict)) = attempt.written else {
            return Ok(attempt);
        };
        lost += 1;
        if named.is_some() || lost == MAX_ASSIGNMENT_ATTEMPTS {
            tracing::info!(service_id = %service.id, reason = %conflict, "lost to a concurrent booking or hold");
            return Err(taken_meanwhile(app, business, service, start, named, &conflict).await);
        }
        tracing::info!(service_id = %service.id, reason = %conflict, "assigned member taken meanwhile; assigning again");
    }
}
