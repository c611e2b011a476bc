//! The busy time the staff members' own calendar events contribute, kept so availability never asks the provider.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::{BusinessId, Interval, MemberBusy, StaffId};

/// The busy time one external event contributes (several intervals for an expanded recurring event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredBusyEvent")]
pub struct BusyEvent {
    pub business_id: BusinessId,
    /// Whose calendar the event is in: it blocks only them.
    pub staff_id: StaffId,
    /// The followed calendar the event came from, as its watch files busy time
    /// ([`crate::ports::CalendarWatch::busy_time_key`]). Stored under its first name.
    #[serde(rename = "calendar_id")]
    pub calendar_key: String,
    pub event_id: String,
    pub intervals: Vec<Interval>,
}

/// A busy event as any release stored it: one written before calendars were per staff member names none and is its
/// business's first member's ([`StaffId::first_of`]), as the ledgers read their entries of that time.
#[derive(Deserialize)]
struct StoredBusyEvent {
    business_id: BusinessId,
    #[serde(default)]
    staff_id: Option<StaffId>,
    calendar_id: String,
    event_id: String,
    intervals: Vec<Interval>,
}

impl From<StoredBusyEvent> for BusyEvent {
    fn from(stored: StoredBusyEvent) -> Self {
        Self {
            business_id: stored.business_id,
            staff_id: stored
                .staff_id
                .unwrap_or_else(|| StaffId::first_of(stored.business_id)),
            calendar_key: stored.calendar_id,
            event_id: stored.event_id,
            intervals: stored.intervals,
        }
    }
}

/// The cached busy intervals of external calendar events.
#[async_trait]
pub trait BusyTimeStore: Send + Sync + 'static {
    /// Replaces everything stored for `(business, calendar key, event)` with the event's intervals and member.
    async fn put_busy_event(&self, event: &BusyEvent) -> Result<(), StoreError>;

    /// Removing an event that is not stored succeeds.
    async fn delete_busy_event(
        &self,
        business_id: BusinessId,
        calendar_key: &str,
        event_id: &str,
    ) -> Result<(), StoreError>;

    /// Every busy interval of the business that overlaps `range`, each with the member whose calendar it is in, in
    /// no particular order. One read for all members, however many there are.
    async fn busy_intervals_overlapping(
        &self,
        business_id: BusinessId,
        range: Interval,
    ) -> Result<Vec<MemberBusy>, StoreError>;

    /// Every event id stored under the calendar key, so a full sync can drop those that no longer exist.
    async fn busy_event_ids(
        &self,
        business_id: BusinessId,
        calendar_key: &str,
    ) -> Result<Vec<String>, StoreError>;
}
