//! `Store` on redb: one file, ACID transactions, survives restarts.
//!
//! redb runs one write transaction at a time, so a booking that reads the neighbouring appointments, checks the
//! rules and writes in one transaction is atomic with respect to every other booking.
//!
//! Tables (all keys are byte strings that sort in the order range scans need; ids are the 16 UUID bytes, instants
//! are nanoseconds since the epoch as a sign-flipped big-endian i128):
//! - `businesses`: business → Business JSON; `api_keys`: key hash → business.
//! - `services`: business ‖ service → Service JSON.
//! - `appointments`: business ‖ start ‖ appointment → Appointment JSON, so a business's appointments in a time
//!   range are one scan; `appointment_starts`: business ‖ appointment → start, to find one by id.
//! - `sync_queue`: status ‖ sync updated_at ‖ business ‖ appointment → (), for the cross-business sweep.
//! - `idempotency`: business ‖ key → IdempotencyRecord JSON.
//! - `calendar_connections`: business → CalendarConnection JSON.
//! - `busy_events`: business ‖ calendar ‖ 0 ‖ event → its intervals (JSON), to replace or delete one event;
//!   `busy_by_start`: business ‖ start ‖ end ‖ calendar ‖ 0 ‖ event → the member whose calendar it is (no value
//!   before calendars were per member: the first member) for every interval of at most [`SHORT_BUSY_SPAN`], and
//!   `busy_long`: business ‖ end ‖ start ‖ calendar ‖ 0 ‖ event → the same for the rare longer ones (a week away),
//!   so the busy time of a window, every member's, is one scan of the starts from a day before it to its end, plus
//!   the few long intervals still running: its cost follows the window, not the business's whole future.
//! - `leases`: name → Lease JSON; `oauth_attempts`: nonce → OAuthAttempt JSON.
//! - `calendar_watches`: business → CalendarWatch JSON; `watch_checks`: business → when the scheduled walk next
//!   looks at it, and `watches_due`: that instant ‖ business → (), so the walk reads only the due watches.
//! - `holds`: business ‖ start ‖ hold → Hold JSON, read beside `appointments` by every booking rule check;
//!   `hold_starts`: business ‖ hold → start; `hold_expiries`: expires_at ‖ business ‖ hold → (), for the sweep.
//! - `phone_index`: business ‖ E.164 number ‖ 0 ‖ start ‖ appointment → (), one caller's appointments in start order
//!   (no key byte of a number is 0, so one number's keys never run into another's).
//! - `business_settings`: business → BusinessSettings JSON; `migrations`: name → () once a data migration finished.
//! - `staff_members`: business ‖ staff member → StaffMember JSON. Appointments and holds carry their member's id;
//!   those stored before staff members carry none and are their business's first member's
//!   ([`crate::domain::StaffId::first_of`]), whom opening the store adds to every business that lacks one.
//! - The dashboard's records (`sign_ins.rs`, `api_keys.rs`): `staff`: email → Account JSON; `staff_by_business`: business ‖
//!   email → (); `password_links`, `sessions`: token or id hash → JSON; `sign_in_failures`: subject ‖ 0 ‖ when ‖
//!   nonce → expiry, one row per failure; `api_key_records`: business ‖ created ‖ key id → ApiKeyRecord JSON.

mod api_keys;
mod appointments;
mod booking;
mod busy_time;
mod catalog;
mod connections;
mod leases;
mod operator;
mod rows;
mod sign_ins;

use std::path::Path;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use redb::{Database, ReadTransaction, ReadableTable, TableDefinition, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;

use self::busy_time::rebuild_busy_indexes_if_old;
use crate::ports::StoreError;

type Table = TableDefinition<'static, &'static [u8], &'static [u8]>;

const BUSINESSES: Table = TableDefinition::new("businesses");
const API_KEYS: Table = TableDefinition::new("api_keys");
const SERVICES: Table = TableDefinition::new("services");
const APPOINTMENTS: Table = TableDefinition::new("appointments");
const APPOINTMENT_STARTS: Table = TableDefinition::new("appointment_starts");
const SYNC_QUEUE: Table = TableDefinition::new("sync_queue");
const IDEMPOTENCY: Table = TableDefinition::new("idempotency");
const CALENDAR_CONNECTIONS: Table = TableDefinition::new("calendar_connections");
const BUSY_EVENTS: Table = TableDefinition::new("busy_events");
const BUSY_BY_START: Table = TableDefinition::new("busy_by_start");
const BUSY_LONG: Table = TableDefinition::new("busy_long");
/// The index that earlier versions kept (every interval by end); rebuilt into the two above on open.
const BUSY_BY_END_BEFORE: Table = TableDefinition::new("busy_by_end");
/// Busy intervals up to this long (any single local day, all-day events of a 25-hour DST day included) are indexed
/// by start.
const SHORT_BUSY_SPAN: SignedDuration = SignedDuration::from_hours(26);
const LEASES: Table = TableDefinition::new("leases");
const OAUTH_ATTEMPTS: Table = TableDefinition::new("oauth_attempts");
const CALENDAR_WATCHES: Table = TableDefinition::new("calendar_watches");
const WATCH_CHECKS: Table = TableDefinition::new("watch_checks");
const WATCHES_DUE: Table = TableDefinition::new("watches_due");
const STAFF: Table = TableDefinition::new("staff");
const STAFF_BY_BUSINESS: Table = TableDefinition::new("staff_by_business");
const PASSWORD_LINKS: Table = TableDefinition::new("password_links");
const SESSIONS: Table = TableDefinition::new("sessions");
const SIGN_IN_FAILURES: Table = TableDefinition::new("sign_in_failures");
const API_KEY_RECORDS: Table = TableDefinition::new("api_key_records");
const HOLDS: Table = TableDefinition::new("holds");
const HOLD_STARTS: Table = TableDefinition::new("hold_starts");
const HOLD_EXPIRIES: Table = TableDefinition::new("hold_expiries");
const PHONE_INDEX: Table = TableDefinition::new("phone_index");
const BUSINESS_SETTINGS: Table = TableDefinition::new("business_settings");
const MIGRATIONS: Table = TableDefinition::new("migrations");
/// (business, staff member id) → StaffMember JSON. (`staff` is the dashboard's sign-in accounts, named before.)
const STAFF_MEMBERS: Table = TableDefinition::new("staff_members");

/// The marker of the back-fill that indexed the phone numbers of appointments stored before the index existed.
const PHONE_INDEX_MIGRATION: &[u8] = b"phone_index";
/// The marker of the back-fill that gave watches stored before `watch_checks` existed a check time.
const WATCH_CHECK_MIGRATION: &[u8] = b"watch_checks";

const ALL_TABLES: [Table; 29] = [
    BUSINESSES,
    API_KEYS,
    SERVICES,
    APPOINTMENTS,
    APPOINTMENT_STARTS,
    SYNC_QUEUE,
    IDEMPOTENCY,
    CALENDAR_CONNECTIONS,
    BUSY_EVENTS,
    BUSY_BY_START,
    BUSY_LONG,
    LEASES,
    OAUTH_ATTEMPTS,
    CALENDAR_WATCHES,
    WATCH_CHECKS,
    WATCHES_DUE,
    STAFF,
    STAFF_BY_BUSINESS,
    PASSWORD_LINKS,
    SESSIONS,
    SIGN_IN_FAILURES,
    API_KEY_RECORDS,
    HOLDS,
    HOLD_STARTS,
    HOLD_EXPIRIES,
    PHONE_INDEX,
    BUSINESS_SETTINGS,
    MIGRATIONS,
    STAFF_MEMBERS,
];

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
}

fn backend(error: impl Into<redb::Error>) -> StoreError {
    StoreError::Backend(Box::new(error.into()))
}

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|error| StoreError::Backend(Box::new(error)))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|error| StoreError::Backend(Box::new(error)))
}

fn instant_key(instant: Timestamp) -> [u8; 16] {
    // Flipping the sign bit makes the big-endian bytes of an i128 sort like the numbers.
    ((instant.as_nanosecond() as u128) ^ (1 << 127)).to_be_bytes()
}

fn instant_from_key(bytes: &[u8]) -> Result<Timestamp, StoreError> {
    let raw: [u8; 16] = bytes
        .try_into()
        .map_err(|_| StoreError::Backend("corrupt instant key".into()))?;
    let nanos = (u128::from_be_bytes(raw) ^ (1 << 127)) as i128;
    Timestamp::from_nanosecond(nanos).map_err(|error| StoreError::Backend(Box::new(error)))
}

fn key(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("corrupt {what}").into())
}

/// The two ids an index key holds side by side from byte `at` (business first), as UUIDs.
fn id_pair(
    stored_key: &[u8],
    at: usize,
    what: &str,
) -> Result<(uuid::Uuid, uuid::Uuid), StoreError> {
    let ids = stored_key.get(at..at + 32).ok_or_else(|| corrupt(what))?;
    let (first, second) = ids.split_at(16);
    let uuid = |bytes| uuid::Uuid::from_slice(bytes).map_err(|e| StoreError::Backend(Box::new(e)));
    Ok((uuid(first)?, uuid(second)?))
}

/// The first key after every key that starts with `prefix`.
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return end;
        }
    }
    vec![u8::MAX; prefix.len() + 1]
}

/// Every row whose key starts with `prefix`, in key order, decoded.
fn rows_under<T: DeserializeOwned>(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    prefix: &[u8],
) -> Result<Vec<T>, StoreError> {
    let mut rows = Vec::new();
    for entry in table
        .range(prefix..prefix_end(prefix).as_slice())
        .map_err(backend)?
    {
        let (_, value) = entry.map_err(backend)?;
        rows.push(decode(value.value())?);
    }
    Ok(rows)
}

/// What follows `prefix` in every key that starts with it, in key order: for index tables whose keys are the data.
fn key_tails_under(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    prefix: &[u8],
) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut tails = Vec::new();
    for entry in table
        .range(prefix..prefix_end(prefix).as_slice())
        .map_err(backend)?
    {
        let (stored, _) = entry.map_err(backend)?;
        tails.push(
            stored
                .value()
                .get(prefix.len()..)
                .unwrap_or_default()
                .to_vec(),
        );
    }
    Ok(tails)
}

fn read_json<T: DeserializeOwned>(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
) -> Result<Option<T>, StoreError> {
    match table.get(key).map_err(backend)? {
        Some(value) => Ok(Some(decode(value.value())?)),
        None => Ok(None),
    }
}

impl EmbeddedStore {
    /// Opens (or creates) the store file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(backend)?;
        let txn = db.begin_write().map_err(backend)?;
        for table in ALL_TABLES {
            txn.open_table(table).map_err(backend)?;
        }
        rebuild_busy_indexes_if_old(&txn)?;
        catalog::store_first_staff_members(&txn)?;
        txn.commit().map_err(backend)?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Runs `work` in one write transaction off the async runtime and commits what it did when it succeeds; an error
    /// drops the transaction, so nothing of a refused write is kept. redb runs one write transaction at a time, which
    /// is what makes every check-then-write of this store atomic. It waits for the single writer and fsyncs, so it
    /// runs on the blocking pool.
    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_write().map_err(backend)?;
            let done = work(&txn)?;
            txn.commit().map_err(backend)?;
            Ok(done)
        })
        .await
        .map_err(|error| StoreError::Backend(Box::new(error)))?
    }

    /// Runs `work` on one read snapshot on the calling thread: redb reads are lock-free snapshots that take
    /// microseconds, far less than a hop to the blocking pool and back.
    fn read<T>(
        &self,
        work: impl FnOnce(&ReadTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let txn = self.db.begin_read().map_err(backend)?;
        work(&txn)
    }

    fn get_json<T: DeserializeOwned>(
        &self,
        table: Table,
        key: Vec<u8>,
    ) -> Result<Option<T>, StoreError> {
        self.read(move |txn| {
            let table = txn.open_table(table).map_err(backend)?;
            read_json(&table, &key)
        })
    }

    /// Inserts `value` under `key` unless the key is taken (`AlreadyExists`).
    async fn insert_new(
        &self,
        table: Table,
        key: Vec<u8>,
        value: Vec<u8>,
    ) -> Result<(), StoreError> {
        self.write(move |txn| {
            {
                let mut table = txn.open_table(table).map_err(backend)?;
                if table.get(key.as_slice()).map_err(backend)?.is_some() {
                    return Err(StoreError::AlreadyExists);
                }
                table
                    .insert(key.as_slice(), value.as_slice())
                    .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    /// Replaces the record under `key` with `value` when the stored one is at `expected_version`: `NotFound` when
    /// nothing is stored, `VersionMismatch` when another write came first. The optimistic check of every versioned
    /// record's update.
    async fn replace_at_version<T: DeserializeOwned + 'static>(
        &self,
        table: Table,
        key: Vec<u8>,
        value: Vec<u8>,
        expected_version: u64,
        version_of: fn(&T) -> u64,
    ) -> Result<(), StoreError> {
        self.write(move |txn| {
            let mut table = txn.open_table(table).map_err(backend)?;
            let current: T = read_json(&table, &key)?.ok_or(StoreError::NotFound)?;
            if version_of(&current) != expected_version {
                return Err(StoreError::VersionMismatch);
            }
            table
                .insert(key.as_slice(), value.as_slice())
                .map_err(backend)?;
            Ok(())
        })
        .await
    }
}

impl From<crate::domain::ValidationError> for StoreError {
    fn from(error: crate::domain::ValidationError) -> Self {
        StoreError::Backend(Box::new(error))
    }
}

#[cfg(test)]
mod tests;
