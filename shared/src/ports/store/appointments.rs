//! Reading appointments (by time, by caller, by sync status) and recording how their calendar sync went.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;

use super::{Page, PageCursor, StoreError};
use crate::domain::{
    Appointment, AppointmentId, AppointmentStatus, BusinessId, Interval, Occupancy, PhoneNumber,
    StaffId, SyncState, SyncStatus,
};

#[derive(Clone, Debug)]
pub struct AppointmentQuery {
    pub business_id: BusinessId,
    /// Only appointments whose start lies in this interval.
    pub starts_within: Option<Interval>,
    pub status: Option<AppointmentStatus>,
    pub sync_status: Option<SyncStatus>,
    /// Only the appointments of this staff member.
    pub staff_id: Option<StaffId>,
    pub after: Option<PageCursor>,
    /// At most this many items (1 to 500).
    pub limit: u32,
}

impl AppointmentQuery {
    /// Every appointment of the business, whenever it starts and whatever its state, a page of 500 at a time: what
    /// a walk over all of them starts from (a filter is set by struct update).
    pub fn every(business_id: BusinessId) -> Self {
        Self {
            business_id,
            starts_within: None,
            status: None,
            sync_status: None,
            staff_id: None,
            after: None,
            limit: 500,
        }
    }

    /// Whether an appointment in the range passes the listing's filters.
    pub fn admits(&self, appointment: &Appointment) -> bool {
        passes_status_filters(self.status, self.sync_status, appointment)
            && self
                .staff_id
                .is_none_or(|staff| appointment.staff_id == staff)
    }
}

/// The status filters both listings apply to what their index finds; kept in one place so the two cannot drift.
fn passes_status_filters(
    status: Option<AppointmentStatus>,
    sync_status: Option<SyncStatus>,
    appointment: &Appointment,
) -> bool {
    status.is_none_or(|status| appointment.status == status)
        && sync_status.is_none_or(|status| appointment.sync.status == status)
}

/// Which way a listing runs through time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListOrder {
    /// Earliest start first.
    #[default]
    Ascending,
    /// Latest start first.
    Descending,
}

/// One caller's appointments, through the phone index: `(start, id)` in `order`, resuming strictly after `after` in
/// that order.
#[derive(Clone, Debug)]
pub struct CallerQuery {
    pub business_id: BusinessId,
    pub phone: PhoneNumber,
    pub starts_within: Option<Interval>,
    pub status: Option<AppointmentStatus>,
    pub sync_status: Option<SyncStatus>,
    pub order: ListOrder,
    pub after: Option<PageCursor>,
    /// At most this many items (1 to 500).
    pub limit: u32,
}

impl CallerQuery {
    /// Whether an appointment of the caller passes the listing's status filters.
    pub fn admits(&self, appointment: &Appointment) -> bool {
        passes_status_filters(self.status, self.sync_status, appointment)
    }
}

/// What a consistent read of the live occupancies saw: the occupancies, and the adapter's own note of that read, which
/// a booking checked against them hands back ([`crate::ports::NewBooking::checked_against`]) so the store can make its
/// write conditional on that read instead of reading the same records again.
#[derive(Clone, Debug, Default)]
pub struct OccupancyRead {
    pub occupancies: Vec<Occupancy>,
    pub mark: ReadMark,
}

/// A store's note of what it read, for a write conditional on that read. A store that finds its note in a write may
/// rely on it, on condition that nothing it read has changed since (and reads again when something has); a store
/// whose writes read for themselves anyway notes nothing and ignores it.
#[derive(Clone, Default)]
pub struct ReadMark(Option<Arc<LedgerSnapshot>>);

impl ReadMark {
    pub fn of(snapshot: LedgerSnapshot) -> Self {
        Self(Some(Arc::new(snapshot)))
    }

    /// The ledgers as read, if the read noted them.
    pub fn snapshot(&self) -> Option<&LedgerSnapshot> {
        self.0.as_deref()
    }
}

impl fmt::Debug for ReadMark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "ReadMark(noted)"
        } else {
            "ReadMark(none)"
        })
    }
}

/// The occupancy ledgers of a store that keeps a business's occupancies per staff member and UTC date (the DynamoDB
/// store), for the consecutive dates `first` to `last` and every member, as one consistent read returned them: the
/// version each ledger was at, so a write can be conditional on exactly that version, and what it held. A date and
/// member without a ledger had none.
#[derive(Clone, Debug)]
pub struct LedgerSnapshot {
    pub business: BusinessId,
    pub first: Date,
    pub last: Date,
    pub ledgers: HashMap<(Date, StaffId), SeenLedger>,
}

impl LedgerSnapshot {
    /// Whether it holds what a write of `business` touching `days` must be conditional on.
    pub fn covers(&self, business: BusinessId, days: &[Date]) -> bool {
        self.business == business
            && days
                .iter()
                .all(|day| self.first <= *day && *day <= self.last)
    }
}

/// One member's ledger of one date as read.
#[derive(Clone, Debug)]
pub struct SeenLedger {
    pub version: u64,
    pub entries: HashMap<AppointmentId, SeenEntry>,
}

/// An appointment's or a hold's occupancy in a ledger as read; a hold counts only until it expires.
#[derive(Clone, Debug)]
pub struct SeenEntry {
    pub occupancy: Occupancy,
    /// When the appointment or hold starts (its occupied time begins earlier by the buffer before).
    pub start: Timestamp,
    pub hold_expires_at: Option<Timestamp>,
}

impl SeenEntry {
    /// An appointment's entry always counts; a hold's until it expires.
    pub fn counts_at(&self, now: Timestamp) -> bool {
        self.hold_expires_at.is_none_or(|expires| now < expires)
    }
}

/// Appointments as stored, and the sync state that follows each one to the business's calendar.
#[async_trait]
pub trait AppointmentStore: Send + Sync + 'static {
    async fn get_appointment(
        &self,
        business_id: BusinessId,
        id: AppointmentId,
    ) -> Result<Option<Appointment>, StoreError>;

    async fn list_appointments(
        &self,
        query: &AppointmentQuery,
    ) -> Result<Page<Appointment>, StoreError>;

    /// Occupancy of every live appointment of the business whose start lies in `starts_within`, and of every hold
    /// starting there that is alive at `now`.
    async fn live_occupancies(
        &self,
        business_id: BusinessId,
        starts_within: Interval,
        now: Timestamp,
    ) -> Result<Vec<Occupancy>, StoreError>;

    /// [`Self::live_occupancies`] with the store's note of the read, for a booking checked against it. Stores whose
    /// writes read for themselves anyway keep the default, which notes nothing.
    async fn read_live_occupancies(
        &self,
        business_id: BusinessId,
        starts_within: Interval,
        now: Timestamp,
    ) -> Result<OccupancyRead, StoreError> {
        Ok(OccupancyRead {
            occupancies: self
                .live_occupancies(business_id, starts_within, now)
                .await?,
            mark: ReadMark::default(),
        })
    }

    /// Sets the sync state if the appointment is still at `version`; `Ok(false)` when it has moved on, so a late
    /// result never overwrites a newer change.
    async fn update_sync_state(
        &self,
        business_id: BusinessId,
        id: AppointmentId,
        version: u64,
        sync: &SyncState,
    ) -> Result<bool, StoreError>;

    /// Appointments of every business whose sync status is `status` and whose sync state was last updated before
    /// `updated_before`, oldest first, at most `limit`: the work of the scheduled sweep, found without a scan.
    async fn appointments_by_sync_status(
        &self,
        status: SyncStatus,
        updated_before: Timestamp,
        limit: u32,
    ) -> Result<Vec<Appointment>, StoreError>;

    /// One caller's appointments (any status), through an index keyed by business and number: never a scan.
    async fn appointments_by_phone(
        &self,
        query: &CallerQuery,
    ) -> Result<Page<Appointment>, StoreError>;

    /// Indexes the phone numbers of appointments stored before the phone index existed. Idempotent; once it has
    /// finished it records so, and later calls cost one read. Answers how many appointments it indexed now.
    async fn index_existing_phone_numbers(&self) -> Result<u64, StoreError>;

    /// Moves scheduled work (appointments whose sync is pending or failed, calendar watches) stored under indexes
    /// the whole fleet shared into the store's sharded one. Idempotent and resumable like
    /// [`Self::index_existing_phone_numbers`]; answers how many items it moved now. A store whose indexes were never
    /// shared by the fleet (the embedded one) has nothing to move.
    async fn index_existing_scheduled_work(&self) -> Result<u64, StoreError> {
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use jiff::civil::date;

    use super::*;

    #[test]
    fn a_read_mark_hands_back_the_ledgers_it_noted_and_they_cover_only_their_business_and_dates() {
        assert!(ReadMark::default().snapshot().is_none());
        let business = BusinessId::generate();
        let mark = ReadMark::of(LedgerSnapshot {
            business,
            first: date(2026, 12, 1),
            last: date(2026, 12, 2),
            ledgers: HashMap::new(),
        });
        let snapshot = mark.snapshot().unwrap();
        assert!(snapshot.covers(business, &[date(2026, 12, 1), date(2026, 12, 2)]));
        assert!(!snapshot.covers(business, &[date(2026, 12, 2), date(2026, 12, 3)]));
        assert!(!snapshot.covers(BusinessId::generate(), &[date(2026, 12, 1)]));
        assert_eq!(format!("{mark:?}"), "ReadMark(noted)");
    }

    #[test]
    fn a_hold_counts_until_it_expires_and_an_appointment_always() {
        let start: Timestamp = "2026-12-01T15:00:00Z".parse().unwrap();
        let occupancy = Occupancy {
            appointment_id: AppointmentId::generate(),
            service_id: crate::domain::ServiceId::generate(),
            staff_id: StaffId::generate(),
            occupied: Interval::new(start, start + jiff::SignedDuration::from_mins(30)).unwrap(),
            local_date: date(2026, 12, 1),
        };
        let appointment = SeenEntry {
            occupancy,
            start,
            hold_expires_at: None,
        };
        let hold = SeenEntry {
            hold_expires_at: Some(start),
            ..appointment.clone()
        };
        assert!(appointment.counts_at(start));
        assert!(hold.counts_at(start - jiff::SignedDuration::from_secs(1)));
        assert!(!hold.counts_at(start));
    }
}
