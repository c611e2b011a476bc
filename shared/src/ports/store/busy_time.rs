//! The busy time the business's own calendar events contribute, kept so availability never asks the provider.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::{BusinessId, Interval};

/// The busy time one external event contributes (several intervals for an expanded recurring event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusyEvent {
    pub business_id: BusinessId,
    pub calendar_id: String,
    pub event_id: String,
    pub intervals: Vec<Interval>,
}

/// The cached busy intervals of external calendar events.
#[async_trait]
pub trait BusyTimeStore: Send + Sync + 'static {
    /// Replaces everything stored for `(business, calendar, event)` with the event's intervals.
    async fn put_busy_event(&self, event: &BusyEvent) -> Result<(), StoreError>;

    /// Removing an event that is not stored succeeds.
    async fn delete_busy_event(
        &self,
        business_id: BusinessId,
        calendar_id: &str,
        event_id: &str,
    ) -> Result<(), StoreError>;

    /// Every busy interval of the business that overlaps `range`, in no particular order.
    async fn busy_intervals_overlapping(
        &self,
        business_id: BusinessId,
        range: Interval,
    ) -> Result<Vec<Interval>, StoreError>;

    /// Every event id stored for the business's calendar, so a full sync can drop those that no longer exist.
    async fn busy_event_ids(
        &self,
        business_id: BusinessId,
        calendar_id: &str,
    ) -> Result<Vec<String>, StoreError>;
}
