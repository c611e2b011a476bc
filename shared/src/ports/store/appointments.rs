//! Reading appointments (by time, by caller, by sync status) and recording how their calendar sync went.

use async_trait::async_trait;
use jiff::Timestamp;

use super::{Page, PageCursor, StoreError};
use crate::domain::{
    Appointment, AppointmentId, AppointmentStatus, BusinessId, Interval, Occupancy, PhoneNumber,
    SyncState, SyncStatus,
};

#[derive(Clone, Debug)]
pub struct AppointmentQuery {
    pub business_id: BusinessId,
    /// Only appointments whose start lies in this interval.
    pub starts_within: Option<Interval>,
    pub status: Option<AppointmentStatus>,
    pub sync_status: Option<SyncStatus>,
    pub after: Option<PageCursor>,
    /// At most this many items (1 to 500).
    pub limit: u32,
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
}
