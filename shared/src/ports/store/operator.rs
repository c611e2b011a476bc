//! What the operator's commands (`booking-admin`) touch across whole businesses: listing them, disabling one, and
//! reading or removing every record one business has, whatever role wrote it.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::Serialize;

use super::StoreError;
use crate::domain::{Business, BusinessId};

/// Where a record lives, in the adapter's own terms: a redb table and the record's key in hex (embedded store), or
/// a DynamoDB item's partition and sort keys. Use cases only show it and hand it back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordLocation {
    pub collection: String,
    pub key: String,
}

/// One stored record of a business.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StoredRecord {
    pub location: RecordLocation,
    /// The record as stored, as JSON; `None` for an index entry, whose key is all it holds.
    pub content: Option<serde_json::Value>,
}

#[async_trait]
pub trait OperatorStore: Send + Sync + 'static {
    /// Every business, disabled ones included, ordered by id.
    async fn list_businesses(&self) -> Result<Vec<Business>, StoreError>;

    /// Marks the business disabled since `disabled_at` (`None`: enabled again), also where a copy of it
    /// authenticates a request, so its API keys follow at once. `NotFound` if there is no such business.
    async fn set_business_disabled(
        &self,
        id: BusinessId,
        disabled_at: Option<Timestamp>,
    ) -> Result<(), StoreError>;

    /// Every record that belongs to the business: its own, its services, appointments, holds, index entries
    /// (phone numbers included), busy time, connection, watch, people, sessions, links and keys. The business's own
    /// record comes last, so a deletion that follows this order and stops half-way leaves the business findable and
    /// the deletion can be run again.
    async fn business_records(&self, id: BusinessId) -> Result<Vec<StoredRecord>, StoreError>;

    /// Removes one record listed by [`Self::business_records`]; removing one that is already gone succeeds.
    async fn delete_business_record(&self, location: &RecordLocation) -> Result<(), StoreError>;
}
