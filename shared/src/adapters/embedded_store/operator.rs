//! The operator's view across a business's records (tables listed in the parent module's doc). Most tables are
//! keyed by the business first and are read as one range each; the few keyed otherwise (a key hash, an email, a
//! token hash, the sync and expiry sweeps, lease names) are walked whole and filtered, which suits commands an
//! operator runs now and then.

use async_trait::async_trait;
use jiff::Timestamp;
use redb::{ReadTransaction, ReadableTable, TableHandle};

use super::{
    ALL_TABLES, API_KEY_RECORDS, API_KEYS, APPOINTMENT_STARTS, APPOINTMENTS, BUSINESS_SETTINGS,
    BUSINESSES, BUSY_BY_START, BUSY_EVENTS, BUSY_LONG, CALENDAR_CONNECTIONS, CALENDAR_WATCHES,
    EmbeddedStore, HOLD_EXPIRIES, HOLD_STARTS, HOLDS, IDEMPOTENCY, LEASES, OAUTH_ATTEMPTS,
    PASSWORD_LINKS, PHONE_INDEX, SERVICES, SESSIONS, STAFF, STAFF_BY_BUSINESS, STAFF_MEMBERS,
    SYNC_QUEUE, Table, WATCH_CHECKS, WATCHES_DUE, backend, decode, prefix_end,
};
use crate::domain::{Business, BusinessId};
use crate::ports::{OperatorStore, RecordLocation, StoreError, StoredRecord};

/// Tables whose keys start with the business's id.
const KEYED_BY_BUSINESS: [Table; 17] = [
    SERVICES,
    APPOINTMENTS,
    APPOINTMENT_STARTS,
    IDEMPOTENCY,
    CALENDAR_CONNECTIONS,
    BUSY_EVENTS,
    BUSY_BY_START,
    BUSY_LONG,
    CALENDAR_WATCHES,
    WATCH_CHECKS,
    STAFF_BY_BUSINESS,
    API_KEY_RECORDS,
    HOLDS,
    HOLD_STARTS,
    PHONE_INDEX,
    BUSINESS_SETTINGS,
    STAFF_MEMBERS,
];

/// Sweep tables whose keys hold the business's id after a fixed-width head: the sync queue after its status byte
/// and instant, hold expiries and due watches after their instant.
const BUSINESS_AT_OFFSET: [(Table, usize); 3] =
    [(SYNC_QUEUE, 17), (HOLD_EXPIRIES, 16), (WATCHES_DUE, 16)];

/// Tables of JSON records that name their business in a `business_id` field.
const NAMING_THE_BUSINESS: [Table; 4] = [STAFF, PASSWORD_LINKS, SESSIONS, OAUTH_ATTEMPTS];

fn record(table: Table, key: &[u8], value: &[u8]) -> StoredRecord {
    StoredRecord {
        location: RecordLocation {
            collection: table.name().to_owned(),
            key: hex::encode(key),
        },
        // Index rows hold nothing or an instant's bytes, which are not JSON.
        content: serde_json::from_slice(value).ok(),
    }
}

/// Every row of `table` that `belongs` keeps.
fn rows_where(
    txn: &ReadTransaction,
    table: Table,
    belongs: impl Fn(&[u8], &[u8]) -> bool,
) -> Result<Vec<StoredRecord>, StoreError> {
    let mut found = Vec::new();
    for entry in txn
        .open_table(table)
        .map_err(backend)?
        .iter()
        .map_err(backend)?
    {
        let (stored_key, value) = entry.map_err(backend)?;
        if belongs(stored_key.value(), value.value()) {
            found.push(record(table, stored_key.value(), value.value()));
        }
    }
    Ok(found)
}

fn rows_with_prefix(
    txn: &ReadTransaction,
    table: Table,
    prefix: &[u8],
) -> Result<Vec<StoredRecord>, StoreError> {
    let mut found = Vec::new();
    let opened = txn.open_table(table).map_err(backend)?;
    for entry in opened
        .range(prefix..prefix_end(prefix).as_slice())
        .map_err(backend)?
    {
        let (stored_key, value) = entry.map_err(backend)?;
        found.push(record(table, stored_key.value(), value.value()));
    }
    Ok(found)
}

fn names_business(value: &[u8], business: &str) -> bool {
    serde_json::from_slice::<serde_json::Value>(value)
        .is_ok_and(|json| json.get("business_id").and_then(|id| id.as_str()) == Some(business))
}

#[async_trait]
impl OperatorStore for EmbeddedStore {
    async fn list_businesses(&self) -> Result<Vec<Business>, StoreError> {
        self.read(|txn| {
            let mut businesses = Vec::new();
            for entry in txn
                .open_table(BUSINESSES)
                .map_err(backend)?
                .iter()
                .map_err(backend)?
            {
                let (_, value) = entry.map_err(backend)?;
                businesses.push(decode::<Business>(value.value())?);
            }
            Ok(businesses)
        })
    }

    async fn set_business_disabled(
        &self,
        id: BusinessId,
        disabled_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        self.change_business(id, move |business| business.disabled_at = disabled_at)
            .await
    }

    async fn business_records(&self, id: BusinessId) -> Result<Vec<StoredRecord>, StoreError> {
        let id_bytes = *id.as_uuid().as_bytes();
        let id_text = id.to_string();
        self.read(|txn| {
            // The keys first: removing them stops the business being served at once.
            let mut found = rows_where(txn, API_KEYS, |_, business| business == id_bytes)?;
            for table in NAMING_THE_BUSINESS {
                found.extend(rows_where(txn, table, |_, value| {
                    names_business(value, &id_text)
                })?);
            }
            for table in KEYED_BY_BUSINESS {
                found.extend(rows_with_prefix(txn, table, &id_bytes)?);
            }
            for (table, offset) in BUSINESS_AT_OFFSET {
                found.extend(rows_where(txn, table, |stored_key, _| {
                    stored_key.get(offset..offset + 16) == Some(id_bytes.as_slice())
                })?);
            }
            // Leases are named after what they guard, a business's token refresh for one.
            found.extend(rows_where(txn, LEASES, |stored_key, _| {
                String::from_utf8_lossy(stored_key).contains(&id_text)
            })?);
            found.extend(rows_with_prefix(txn, BUSINESSES, &id_bytes)?);
            Ok(found)
        })
    }

    async fn delete_business_record(&self, location: &RecordLocation) -> Result<(), StoreError> {
        let table = ALL_TABLES
            .into_iter()
            .find(|table| table.name() == location.collection)
            .ok_or_else(|| {
                StoreError::Backend(format!("no table {}", location.collection).into())
            })?;
        let stored_key =
            hex::decode(&location.key).map_err(|error| StoreError::Backend(Box::new(error)))?;
        self.write(move |txn| {
            txn.open_table(table)
                .map_err(backend)?
                .remove(stored_key.as_slice())
                .map_err(backend)?;
            Ok(())
        })
        .await
    }
}
