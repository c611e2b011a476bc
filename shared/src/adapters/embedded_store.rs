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
//!   `busy_by_start`: business ‖ start ‖ end ‖ calendar ‖ 0 ‖ event → () for every interval of at most
//!   [`SHORT_BUSY_SPAN`], and `busy_long`: business ‖ end ‖ start ‖ calendar ‖ 0 ‖ event → () for the rare longer
//!   ones (a week away), so the busy time of a window is one scan of the starts from a day before it to its end,
//!   plus the few long intervals still running: its cost follows the window, not the business's whole future.
//! - `leases`: name → Lease JSON; `oauth_attempts`: nonce → OAuthAttempt JSON.
//! - `calendar_watches`: business → CalendarWatch JSON.
//! - `holds`: business ‖ start ‖ hold → Hold JSON, read beside `appointments` by every booking rule check;
//!   `hold_starts`: business ‖ hold → start; `hold_expiries`: expires_at ‖ business ‖ hold → (), for the sweep.
//! - `phone_index`: business ‖ E.164 number ‖ 0 ‖ start ‖ appointment → (), one caller's appointments in start order
//!   (no key byte of a number is 0, so one number's keys never run into another's).
//! - `business_settings`: business → BusinessSettings JSON; `migrations`: name → () once a data migration finished.
//! - The dashboard's records (`accounts.rs`): `staff`: email → StaffMember JSON; `staff_by_business`: business ‖
//!   email → (); `password_links`, `sessions`: token or id hash → JSON; `sign_in_failures`: subject ‖ 0 ‖ window →
//!   count and expiry; `api_key_records`: business ‖ created ‖ key id → ApiKeyRecord JSON.

mod accounts;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use redb::{Database, ReadableTable, TableDefinition, WriteTransaction};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::{
    ApiKeyHash, Appointment, AppointmentId, BlockingFields, Business, BusinessId, BusinessSettings,
    Hold, HoldId, Interval, MAX_OCCUPIED_SPAN, Occupancy, PhoneNumber, Service, ServiceId,
    SyncState, SyncStatus, check_booking_conflicts,
};
use crate::ports::{
    AppointmentChange, AppointmentQuery, AppointmentStore, BookingStore, BusyEvent, BusyTimeStore,
    CalendarConnection, CalendarWatch, CallerQuery, CatalogStore, ConnectionHealth,
    ConnectionStore, IdempotencyKey, IdempotencyRecord, LeaseStore, ListOrder, NewBooking, NewHold,
    OAuthAttempt, Page, PageCursor, ProviderKind, StoreError,
};

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

/// The marker of the back-fill that indexed the phone numbers of appointments stored before the index existed.
const PHONE_INDEX_MIGRATION: &[u8] = b"phone_index";

const ALL_TABLES: [Table; 26] = [
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
];

#[derive(serde::Serialize, serde::Deserialize)]
struct Lease {
    holder: String,
    until: Timestamp,
}

/// How far around a candidate a booking looks: every appointment whose occupied interval can overlap it
/// ([`MAX_OCCUPIED_SPAN`]) and every appointment on its local date (a local date lasts at most 25 hours).
const CONFLICT_SCAN_MARGIN: SignedDuration = SignedDuration::from_hours(48);
const _: () = assert!(MAX_OCCUPIED_SPAN.as_secs() <= CONFLICT_SCAN_MARGIN.as_secs());

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

fn appointment_key(business: BusinessId, start: Timestamp, id: AppointmentId) -> Vec<u8> {
    key(&[
        business.as_uuid().as_bytes(),
        &instant_key(start),
        id.as_uuid().as_bytes(),
    ])
}

fn hold_key(hold: &Hold) -> Vec<u8> {
    key(&[
        hold.business_id.as_uuid().as_bytes(),
        &instant_key(hold.time.start()),
        hold.id.as_uuid().as_bytes(),
    ])
}

fn hold_id_key(business: BusinessId, id: HoldId) -> Vec<u8> {
    key(&[business.as_uuid().as_bytes(), id.as_uuid().as_bytes()])
}

fn hold_expiry_key(hold: &Hold) -> Vec<u8> {
    key(&[
        &instant_key(hold.expires_at),
        hold.business_id.as_uuid().as_bytes(),
        hold.id.as_uuid().as_bytes(),
    ])
}

/// Every index key of one caller's appointments starts with this.
fn phone_prefix(business: BusinessId, phone: &PhoneNumber) -> Vec<u8> {
    key(&[
        business.as_uuid().as_bytes(),
        phone.as_ref().as_bytes(),
        &[0],
    ])
}

fn phone_key(appointment: &Appointment) -> Option<Vec<u8>> {
    let phone = appointment.customer.phone.as_ref()?;
    Some(key(&[
        &phone_prefix(appointment.business_id, phone),
        &instant_key(appointment.time.start()),
        appointment.id.as_uuid().as_bytes(),
    ]))
}

fn sync_status_byte(status: SyncStatus) -> u8 {
    match status {
        SyncStatus::NotConnected => 0,
        SyncStatus::Pending => 1,
        SyncStatus::Synced => 2,
        SyncStatus::Failed => 3,
    }
}

fn sync_key(appointment: &Appointment) -> Vec<u8> {
    key(&[
        &[sync_status_byte(appointment.sync.status)],
        &instant_key(appointment.sync.updated_at),
        appointment.business_id.as_uuid().as_bytes(),
        appointment.id.as_uuid().as_bytes(),
    ])
}

fn event_key(business: BusinessId, calendar_id: &str, event_id: &str) -> Vec<u8> {
    key(&[
        business.as_uuid().as_bytes(),
        calendar_id.as_bytes(),
        &[0],
        event_id.as_bytes(),
    ])
}

fn is_long_busy(interval: &Interval) -> bool {
    interval.end().duration_since(interval.start()) > SHORT_BUSY_SPAN
}

/// The interval's key in the index it belongs to (`busy_by_start` or `busy_long`).
fn busy_index_key(
    business: BusinessId,
    interval: &Interval,
    calendar_id: &str,
    event_id: &str,
) -> (Table, Vec<u8>) {
    let (table, first, second) = if is_long_busy(interval) {
        (BUSY_LONG, interval.end(), interval.start())
    } else {
        (BUSY_BY_START, interval.start(), interval.end())
    };
    let key = key(&[
        business.as_uuid().as_bytes(),
        &instant_key(first),
        &instant_key(second),
        calendar_id.as_bytes(),
        &[0],
        event_id.as_bytes(),
    ]);
    (table, key)
}

/// The two instants after the business id of a busy index key, in key order.
fn busy_key_instants(key: &[u8]) -> Result<(Timestamp, Timestamp), StoreError> {
    Ok((
        instant_from_key(key.get(16..32).unwrap_or_default())?,
        instant_from_key(key.get(32..48).unwrap_or_default())?,
    ))
}

fn index_busy_intervals(
    txn: &WriteTransaction,
    business: BusinessId,
    calendar_id: &str,
    event_id: &str,
    intervals: &[Interval],
) -> Result<(), StoreError> {
    for interval in intervals {
        let (table, index) = busy_index_key(business, interval, calendar_id, event_id);
        txn.open_table(table)
            .map_err(backend)?
            .insert(index.as_slice(), [].as_slice())
            .map_err(backend)?;
    }
    Ok(())
}

/// Stores written before busy time was indexed by start keep it in `busy_by_end`; the events themselves are the
/// truth, so the new indexes are rebuilt from them and the old one dropped, in one transaction. Idempotent: once
/// the old table is gone this does nothing.
fn rebuild_busy_indexes_if_old(txn: &WriteTransaction) -> Result<(), StoreError> {
    if !txn.delete_table(BUSY_BY_END_BEFORE).map_err(backend)? {
        return Ok(());
    }
    let mut stored = Vec::new();
    for entry in txn
        .open_table(BUSY_EVENTS)
        .map_err(backend)?
        .iter()
        .map_err(backend)?
    {
        let (key, value) = entry.map_err(backend)?;
        let key = key.value();
        let (business, rest) = key
            .split_at_checked(16)
            .ok_or_else(|| corrupt("busy event key"))?;
        let separator = rest
            .iter()
            .position(|&byte| byte == 0)
            .ok_or_else(|| corrupt("busy event key"))?;
        let business = uuid::Uuid::from_slice(business).map_err(|_| corrupt("busy event key"))?;
        let calendar =
            String::from_utf8(rest[..separator].to_vec()).map_err(|_| corrupt("busy event key"))?;
        let event = String::from_utf8(rest[separator + 1..].to_vec())
            .map_err(|_| corrupt("busy event key"))?;
        let intervals: Vec<Interval> = decode(value.value())?;
        stored.push((BusinessId::from(business), calendar, event, intervals));
    }
    for (business, calendar, event, intervals) in stored {
        index_busy_intervals(txn, business, &calendar, &event, &intervals)?;
    }
    Ok(())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("corrupt {what}").into())
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

fn read_json<T: DeserializeOwned>(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
) -> Result<Option<T>, StoreError> {
    match table.get(key).map_err(backend)? {
        Some(value) => Ok(Some(decode(value.value())?)),
        None => Ok(None),
    }
}

/// Live appointments of `business` starting in `[from, until)`, read inside the caller's transaction.
fn live_between(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    business: BusinessId,
    from: Timestamp,
    until: Timestamp,
) -> Result<Vec<BlockingFields>, StoreError> {
    let start = key(&[business.as_uuid().as_bytes(), &instant_key(from)]);
    let end = key(&[business.as_uuid().as_bytes(), &instant_key(until)]);
    let mut live = Vec::new();
    for entry in table
        .range(start.as_slice()..end.as_slice())
        .map_err(backend)?
    {
        let (_, value) = entry.map_err(backend)?;
        let appointment: BlockingFields = decode(value.value())?;
        if appointment.is_live() {
            live.push(appointment);
        }
    }
    Ok(live)
}

/// Holds of `business` starting in `[from, until)` and alive at `now`, read inside the caller's transaction.
fn holds_between(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    business: BusinessId,
    from: Timestamp,
    until: Timestamp,
    now: Timestamp,
) -> Result<Vec<Hold>, StoreError> {
    let start = key(&[business.as_uuid().as_bytes(), &instant_key(from)]);
    let end = key(&[business.as_uuid().as_bytes(), &instant_key(until)]);
    let mut alive = Vec::new();
    for entry in table
        .range(start.as_slice()..end.as_slice())
        .map_err(backend)?
    {
        let (_, value) = entry.map_err(backend)?;
        let hold: Hold = decode(value.value())?;
        if hold.is_alive_at(now) {
            alive.push(hold);
        }
    }
    Ok(alive)
}

/// Occupancy of the live appointments and of the holds alive at `now` starting in `[from, until)`.
fn occupancies_between(
    appointments: &impl ReadableTable<&'static [u8], &'static [u8]>,
    holds: &impl ReadableTable<&'static [u8], &'static [u8]>,
    business: BusinessId,
    from: Timestamp,
    until: Timestamp,
    now: Timestamp,
) -> Result<Vec<Occupancy>, StoreError> {
    let mut occupancies: Vec<Occupancy> = live_between(appointments, business, from, until)?
        .iter()
        .map(BlockingFields::occupancy)
        .collect();
    occupancies.extend(
        holds_between(holds, business, from, until, now)?
            .iter()
            .map(Hold::occupancy),
    );
    Ok(occupancies)
}

/// Enforces the booking rules for `candidate` against the live appointments and the holds alive at `now` stored
/// in the same transaction.
fn check_conflicts(
    txn: &WriteTransaction,
    business: BusinessId,
    candidate: &Occupancy,
    max_per_day: Option<u32>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let appointments = txn.open_table(APPOINTMENTS).map_err(backend)?;
    let holds = txn.open_table(HOLDS).map_err(backend)?;
    let window = candidate
        .occupied
        .widened(CONFLICT_SCAN_MARGIN, CONFLICT_SCAN_MARGIN);
    let neighbours = occupancies_between(
        &appointments,
        &holds,
        business,
        window.start(),
        window.end(),
        now,
    )?;
    check_booking_conflicts(candidate, &neighbours, max_per_day)?;
    Ok(())
}

/// Records the booking's idempotency key unless an unexpired record holds it.
fn write_idempotency(txn: &WriteTransaction, record: &IdempotencyRecord) -> Result<(), StoreError> {
    let mut records = txn.open_table(IDEMPOTENCY).map_err(backend)?;
    let key = key(&[
        record.business_id.as_uuid().as_bytes(),
        record.key.as_ref().as_bytes(),
    ]);
    let existing: Option<IdempotencyRecord> = read_json(&records, &key)?;
    if existing.is_some_and(|existing| existing.expires_at > record.created_at) {
        return Err(StoreError::IdempotencyKeyTaken);
    }
    records
        .insert(key.as_slice(), encode(record)?.as_slice())
        .map_err(backend)?;
    Ok(())
}

fn appointment_exists(
    txn: &WriteTransaction,
    business: BusinessId,
    id: AppointmentId,
) -> Result<bool, StoreError> {
    let starts = txn.open_table(APPOINTMENT_STARTS).map_err(backend)?;
    let id_key = key(&[business.as_uuid().as_bytes(), id.as_uuid().as_bytes()]);
    Ok(starts.get(id_key.as_slice()).map_err(backend)?.is_some())
}

fn stored_hold(
    starts: &impl ReadableTable<&'static [u8], &'static [u8]>,
    holds: &impl ReadableTable<&'static [u8], &'static [u8]>,
    business: BusinessId,
    id: HoldId,
) -> Result<Option<Hold>, StoreError> {
    let Some(start) = starts
        .get(hold_id_key(business, id).as_slice())
        .map_err(backend)?
    else {
        return Ok(None);
    };
    let key = key(&[
        business.as_uuid().as_bytes(),
        start.value(),
        id.as_uuid().as_bytes(),
    ]);
    read_json(holds, &key)
}

/// The hold as stored, read inside a write transaction.
fn held_in(
    txn: &WriteTransaction,
    business: BusinessId,
    id: HoldId,
) -> Result<Option<Hold>, StoreError> {
    stored_hold(
        &txn.open_table(HOLD_STARTS).map_err(backend)?,
        &txn.open_table(HOLDS).map_err(backend)?,
        business,
        id,
    )
}

fn write_hold(txn: &WriteTransaction, hold: &Hold) -> Result<(), StoreError> {
    txn.open_table(HOLDS)
        .map_err(backend)?
        .insert(hold_key(hold).as_slice(), encode(hold)?.as_slice())
        .map_err(backend)?;
    txn.open_table(HOLD_STARTS)
        .map_err(backend)?
        .insert(
            hold_id_key(hold.business_id, hold.id).as_slice(),
            instant_key(hold.time.start()).as_slice(),
        )
        .map_err(backend)?;
    txn.open_table(HOLD_EXPIRIES)
        .map_err(backend)?
        .insert(hold_expiry_key(hold).as_slice(), [].as_slice())
        .map_err(backend)?;
    Ok(())
}

fn remove_hold(txn: &WriteTransaction, hold: &Hold) -> Result<(), StoreError> {
    txn.open_table(HOLDS)
        .map_err(backend)?
        .remove(hold_key(hold).as_slice())
        .map_err(backend)?;
    txn.open_table(HOLD_STARTS)
        .map_err(backend)?
        .remove(hold_id_key(hold.business_id, hold.id).as_slice())
        .map_err(backend)?;
    txn.open_table(HOLD_EXPIRIES)
        .map_err(backend)?
        .remove(hold_expiry_key(hold).as_slice())
        .map_err(backend)?;
    Ok(())
}

fn write_appointment(txn: &WriteTransaction, appointment: &Appointment) -> Result<(), StoreError> {
    let business = appointment.business_id.as_uuid();
    txn.open_table(APPOINTMENTS)
        .map_err(backend)?
        .insert(
            appointment_key(
                appointment.business_id,
                appointment.time.start(),
                appointment.id,
            )
            .as_slice(),
            encode(appointment)?.as_slice(),
        )
        .map_err(backend)?;
    txn.open_table(APPOINTMENT_STARTS)
        .map_err(backend)?
        .insert(
            key(&[business.as_bytes(), appointment.id.as_uuid().as_bytes()]).as_slice(),
            instant_key(appointment.time.start()).as_slice(),
        )
        .map_err(backend)?;
    txn.open_table(SYNC_QUEUE)
        .map_err(backend)?
        .insert(sync_key(appointment).as_slice(), [].as_slice())
        .map_err(backend)?;
    if let Some(phone_key) = phone_key(appointment) {
        txn.open_table(PHONE_INDEX)
            .map_err(backend)?
            .insert(phone_key.as_slice(), [].as_slice())
            .map_err(backend)?;
    }
    Ok(())
}

fn remove_appointment(txn: &WriteTransaction, appointment: &Appointment) -> Result<(), StoreError> {
    txn.open_table(APPOINTMENTS)
        .map_err(backend)?
        .remove(
            appointment_key(
                appointment.business_id,
                appointment.time.start(),
                appointment.id,
            )
            .as_slice(),
        )
        .map_err(backend)?;
    txn.open_table(SYNC_QUEUE)
        .map_err(backend)?
        .remove(sync_key(appointment).as_slice())
        .map_err(backend)?;
    if let Some(phone_key) = phone_key(appointment) {
        txn.open_table(PHONE_INDEX)
            .map_err(backend)?
            .remove(phone_key.as_slice())
            .map_err(backend)?;
    }
    Ok(())
}

fn stored_appointment(
    appointments: &impl ReadableTable<&'static [u8], &'static [u8]>,
    starts: &impl ReadableTable<&'static [u8], &'static [u8]>,
    business: BusinessId,
    id: AppointmentId,
) -> Result<Option<Appointment>, StoreError> {
    let start = match starts
        .get(key(&[business.as_uuid().as_bytes(), id.as_uuid().as_bytes()]).as_slice())
        .map_err(backend)?
    {
        Some(start) => instant_from_key(start.value())?,
        None => return Ok(None),
    };
    read_json(appointments, &appointment_key(business, start, id))
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
        txn.commit().map_err(backend)?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Runs blocking redb work off the async runtime.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(|error| StoreError::Backend(Box::new(error)))?
    }

    /// Runs a read on the calling thread: redb reads are lock-free snapshots that take microseconds, far less than
    /// a hop to the blocking pool and back. Writes, which wait for the single writer and fsync, use [`Self::run`].
    fn read<T>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        work(&self.db)
    }

    fn get_json<T: DeserializeOwned>(
        &self,
        table: Table,
        key: Vec<u8>,
    ) -> Result<Option<T>, StoreError> {
        self.read(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(table).map_err(backend)?;
            read_json(&table, &key)
        })
    }
}

#[async_trait]
impl CatalogStore for EmbeddedStore {
    async fn create_business(
        &self,
        business: &Business,
        api_key: &ApiKeyHash,
    ) -> Result<(), StoreError> {
        let business = business.clone();
        let api_key = api_key.clone();
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut businesses = txn.open_table(BUSINESSES).map_err(backend)?;
                let mut keys = txn.open_table(API_KEYS).map_err(backend)?;
                let id = business.id.as_uuid();
                if businesses
                    .get(id.as_bytes().as_slice())
                    .map_err(backend)?
                    .is_some()
                    || keys
                        .get(api_key.as_str().as_bytes())
                        .map_err(backend)?
                        .is_some()
                {
                    return Err(StoreError::AlreadyExists);
                }
                businesses
                    .insert(id.as_bytes().as_slice(), encode(&business)?.as_slice())
                    .map_err(backend)?;
                keys.insert(api_key.as_str().as_bytes(), id.as_bytes().as_slice())
                    .map_err(backend)?;
            }
            accounts::write_api_key_record(
                &txn,
                &crate::ports::first_api_key_record(&business, &api_key),
            )?;
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn get_business(&self, id: BusinessId) -> Result<Option<Business>, StoreError> {
        self.get_json(BUSINESSES, id.as_uuid().as_bytes().to_vec())
    }

    async fn create_service(&self, service: &Service) -> Result<(), StoreError> {
        let service = service.clone();
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut services = txn.open_table(SERVICES).map_err(backend)?;
                let key = key(&[
                    service.business_id.as_uuid().as_bytes(),
                    service.id.as_uuid().as_bytes(),
                ]);
                if services.get(key.as_slice()).map_err(backend)?.is_some() {
                    return Err(StoreError::AlreadyExists);
                }
                services
                    .insert(key.as_slice(), encode(&service)?.as_slice())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn update_service(
        &self,
        service: &Service,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let service = service.clone();
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut services = txn.open_table(SERVICES).map_err(backend)?;
                let key = key(&[
                    service.business_id.as_uuid().as_bytes(),
                    service.id.as_uuid().as_bytes(),
                ]);
                let current: Service = read_json(&services, &key)?.ok_or(StoreError::NotFound)?;
                if current.version != expected_version {
                    return Err(StoreError::VersionMismatch);
                }
                services
                    .insert(key.as_slice(), encode(&service)?.as_slice())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn get_service(
        &self,
        business_id: BusinessId,
        id: ServiceId,
    ) -> Result<Option<Service>, StoreError> {
        self.get_json(
            SERVICES,
            key(&[business_id.as_uuid().as_bytes(), id.as_uuid().as_bytes()]),
        )
    }

    async fn list_services(&self, business_id: BusinessId) -> Result<Vec<Service>, StoreError> {
        self.read(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let services = txn.open_table(SERVICES).map_err(backend)?;
            let prefix = business_id.as_uuid().as_bytes().to_vec();
            let end = prefix_end(&prefix);
            let mut listed = Vec::new();
            for entry in services
                .range(prefix.as_slice()..end.as_slice())
                .map_err(backend)?
            {
                let (_, value) = entry.map_err(backend)?;
                listed.push(decode(value.value())?);
            }
            Ok(listed)
        })
    }

    async fn get_business_settings(
        &self,
        business_id: BusinessId,
    ) -> Result<BusinessSettings, StoreError> {
        Ok(self
            .get_json(BUSINESS_SETTINGS, business_id.as_uuid().as_bytes().to_vec())?
            .unwrap_or_default())
    }

    async fn put_business_settings(
        &self,
        business_id: BusinessId,
        settings: &BusinessSettings,
    ) -> Result<(), StoreError> {
        let settings = settings.clone();
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            txn.open_table(BUSINESS_SETTINGS)
                .map_err(backend)?
                .insert(
                    business_id.as_uuid().as_bytes().as_slice(),
                    encode(&settings)?.as_slice(),
                )
                .map_err(backend)?;
            txn.commit().map_err(backend)
        })
        .await
    }
}

#[async_trait]
impl BookingStore for EmbeddedStore {
    async fn create_appointment(&self, booking: NewBooking<'_>) -> Result<(), StoreError> {
        let appointment = booking.appointment.clone();
        let max_per_day = booking.max_per_day;
        let idempotency = booking.idempotency.cloned();
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            if let Some(record) = &idempotency {
                write_idempotency(&txn, record)?;
            }
            if appointment_exists(&txn, appointment.business_id, appointment.id)? {
                return Err(StoreError::AlreadyExists);
            }
            check_conflicts(
                &txn,
                appointment.business_id,
                &appointment.occupancy(),
                max_per_day,
                appointment.updated_at,
            )?;
            write_appointment(&txn, &appointment)?;
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn update_appointment(&self, change: AppointmentChange<'_>) -> Result<(), StoreError> {
        let appointment = change.appointment.clone();
        let expected_version = change.expected_version;
        let max_per_day = change.max_per_day;
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            let current = {
                let appointments = txn.open_table(APPOINTMENTS).map_err(backend)?;
                let starts = txn.open_table(APPOINTMENT_STARTS).map_err(backend)?;
                stored_appointment(
                    &appointments,
                    &starts,
                    appointment.business_id,
                    appointment.id,
                )?
                .ok_or(StoreError::NotFound)?
            };
            if current.version != expected_version {
                return Err(StoreError::VersionMismatch);
            }
            if appointment.is_live() {
                check_conflicts(
                    &txn,
                    appointment.business_id,
                    &appointment.occupancy(),
                    max_per_day,
                    appointment.updated_at,
                )?;
            }
            remove_appointment(&txn, &current)?;
            write_appointment(&txn, &appointment)?;
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn create_hold(&self, new: NewHold<'_>) -> Result<(), StoreError> {
        let hold = new.hold.clone();
        let max_per_day = new.max_per_day;
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            if held_in(&txn, hold.business_id, hold.id)?.is_some()
                || appointment_exists(&txn, hold.business_id, hold.id.appointment_id())?
            {
                return Err(StoreError::AlreadyExists);
            }
            check_conflicts(
                &txn,
                hold.business_id,
                &hold.occupancy(),
                max_per_day,
                hold.created_at,
            )?;
            write_hold(&txn, &hold)?;
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn get_hold(
        &self,
        business_id: BusinessId,
        id: HoldId,
    ) -> Result<Option<Hold>, StoreError> {
        self.read(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            stored_hold(
                &txn.open_table(HOLD_STARTS).map_err(backend)?,
                &txn.open_table(HOLDS).map_err(backend)?,
                business_id,
                id,
            )
        })
    }

    async fn release_hold(&self, business_id: BusinessId, id: HoldId) -> Result<bool, StoreError> {
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            let Some(hold) = held_in(&txn, business_id, id)? else {
                return Ok(false);
            };
            remove_hold(&txn, &hold)?;
            txn.commit().map_err(backend)?;
            Ok(true)
        })
        .await
    }

    async fn convert_hold(&self, booking: NewBooking<'_>) -> Result<(), StoreError> {
        let appointment = booking.appointment.clone();
        let idempotency = booking.idempotency.cloned();
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            if let Some(record) = &idempotency {
                write_idempotency(&txn, record)?;
            }
            if appointment_exists(&txn, appointment.business_id, appointment.id)? {
                return Err(StoreError::AlreadyExists);
            }
            let hold_id = HoldId::from(appointment.id.as_uuid());
            let hold = held_in(&txn, appointment.business_id, hold_id)?
                .filter(|hold| hold.is_alive_at(appointment.created_at))
                .ok_or(StoreError::NotFound)?;
            remove_hold(&txn, &hold)?;
            // The hold already counted toward the day and held this time: only overlap is checked again, as a guard.
            check_conflicts(
                &txn,
                appointment.business_id,
                &appointment.occupancy(),
                None,
                appointment.created_at,
            )?;
            write_appointment(&txn, &appointment)?;
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn remove_expired_holds(&self, now: Timestamp, limit: u32) -> Result<u32, StoreError> {
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            let expired: Vec<(BusinessId, HoldId)> = {
                let expiries = txn.open_table(HOLD_EXPIRIES).map_err(backend)?;
                // Expiry keys start with the instant: every hold expired by `now` sorts before `now`'s key ‖ 0xFF….
                let end = key(&[&instant_key(now), &[u8::MAX; 33]]);
                let mut found = Vec::new();
                for entry in expiries
                    .range(..end.as_slice())
                    .map_err(backend)?
                    .take(usize::try_from(limit).unwrap_or(usize::MAX))
                {
                    let (stored, _) = entry.map_err(backend)?;
                    let ids = stored
                        .value()
                        .get(16..48)
                        .ok_or_else(|| StoreError::Backend("corrupt hold expiry key".into()))?;
                    let (business, hold) = ids.split_at(16);
                    let business = uuid::Uuid::from_slice(business)
                        .map_err(|e| StoreError::Backend(Box::new(e)))?;
                    let hold = uuid::Uuid::from_slice(hold)
                        .map_err(|e| StoreError::Backend(Box::new(e)))?;
                    found.push((business.into(), hold.into()));
                }
                found
            };
            let mut removed = 0;
            for (business, id) in expired {
                if let Some(hold) = held_in(&txn, business, id)? {
                    remove_hold(&txn, &hold)?;
                    removed += 1;
                }
            }
            txn.commit().map_err(backend)?;
            Ok(removed)
        })
        .await
    }

    async fn get_idempotency_record(
        &self,
        business_id: BusinessId,
        key_text: &IdempotencyKey,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let record: Option<IdempotencyRecord> = self.get_json(
            IDEMPOTENCY,
            key(&[
                business_id.as_uuid().as_bytes(),
                key_text.as_ref().as_bytes(),
            ]),
        )?;
        Ok(record.filter(|record| record.expires_at > now))
    }
}

#[async_trait]
impl AppointmentStore for EmbeddedStore {
    async fn get_appointment(
        &self,
        business_id: BusinessId,
        id: AppointmentId,
    ) -> Result<Option<Appointment>, StoreError> {
        self.read(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let appointments = txn.open_table(APPOINTMENTS).map_err(backend)?;
            let starts = txn.open_table(APPOINTMENT_STARTS).map_err(backend)?;
            stored_appointment(&appointments, &starts, business_id, id)
        })
    }

    async fn list_appointments(
        &self,
        query: &AppointmentQuery,
    ) -> Result<Page<Appointment>, StoreError> {
        let query = query.clone();
        self.read(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let appointments = txn.open_table(APPOINTMENTS).map_err(backend)?;
            let business = query.business_id.as_uuid();
            let mut start = match query.starts_within {
                Some(range) => key(&[business.as_bytes(), &instant_key(range.start())]),
                None => business.as_bytes().to_vec(),
            };
            if let Some(after) = query.after {
                // Just past the cursor's own key: the next page starts strictly after it.
                let mut resume = appointment_key(query.business_id, after.start, after.id);
                resume.push(0);
                start = start.max(resume);
            }
            let end = match query.starts_within {
                Some(range) => key(&[business.as_bytes(), &instant_key(range.end())]),
                None => prefix_end(business.as_bytes()),
            };
            let limit = usize::try_from(query.limit.clamp(1, 500)).unwrap_or(500);
            let mut items: Vec<Appointment> = Vec::new();
            let mut more = false;
            if start < end {
                for entry in appointments
                    .range(start.as_slice()..end.as_slice())
                    .map_err(backend)?
                {
                    let (_, value) = entry.map_err(backend)?;
                    let appointment: Appointment = decode(value.value())?;
                    let matches = query
                        .status
                        .is_none_or(|status| appointment.status == status)
                        && query
                            .sync_status
                            .is_none_or(|status| appointment.sync.status == status);
                    if !matches {
                        continue;
                    }
                    if items.len() == limit {
                        more = true;
                        break;
                    }
                    items.push(appointment);
                }
            }
            let next = if more {
                items.last().map(|last| PageCursor {
                    start: last.time.start(),
                    id: last.id,
                })
            } else {
                None
            };
            Ok(Page { items, next })
        })
    }

    async fn live_occupancies(
        &self,
        business_id: BusinessId,
        starts_within: Interval,
        now: Timestamp,
    ) -> Result<Vec<Occupancy>, StoreError> {
        self.read(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let appointments = txn.open_table(APPOINTMENTS).map_err(backend)?;
            let holds = txn.open_table(HOLDS).map_err(backend)?;
            occupancies_between(
                &appointments,
                &holds,
                business_id,
                starts_within.start(),
                starts_within.end(),
                now,
            )
        })
    }

    async fn update_sync_state(
        &self,
        business_id: BusinessId,
        id: AppointmentId,
        version: u64,
        sync: &SyncState,
    ) -> Result<bool, StoreError> {
        let sync = sync.clone();
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            let current = {
                let appointments = txn.open_table(APPOINTMENTS).map_err(backend)?;
                let starts = txn.open_table(APPOINTMENT_STARTS).map_err(backend)?;
                stored_appointment(&appointments, &starts, business_id, id)?
                    .ok_or(StoreError::NotFound)?
            };
            if current.version != version {
                return Ok(false);
            }
            let updated = Appointment {
                sync,
                ..current.clone()
            };
            remove_appointment(&txn, &current)?;
            write_appointment(&txn, &updated)?;
            txn.commit().map_err(backend)?;
            Ok(true)
        })
        .await
    }

    async fn appointments_by_sync_status(
        &self,
        status: SyncStatus,
        updated_before: Timestamp,
        limit: u32,
    ) -> Result<Vec<Appointment>, StoreError> {
        self.read(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let index = txn.open_table(SYNC_QUEUE).map_err(backend)?;
            let appointments = txn.open_table(APPOINTMENTS).map_err(backend)?;
            let starts = txn.open_table(APPOINTMENT_STARTS).map_err(backend)?;
            let start = vec![sync_status_byte(status)];
            let end = key(&[&[sync_status_byte(status)], &instant_key(updated_before)]);
            let mut found = Vec::new();
            for entry in index
                .range(start.as_slice()..end.as_slice())
                .map_err(backend)?
            {
                if found.len() >= usize::try_from(limit).unwrap_or(usize::MAX) {
                    break;
                }
                let (key, _) = entry.map_err(backend)?;
                let ids = key
                    .value()
                    .get(17..49)
                    .ok_or_else(|| StoreError::Backend("corrupt sync key".into()))?;
                let (business, appointment) = ids.split_at(16);
                let business = uuid::Uuid::from_slice(business)
                    .map_err(|e| StoreError::Backend(Box::new(e)))?;
                let appointment = uuid::Uuid::from_slice(appointment)
                    .map_err(|e| StoreError::Backend(Box::new(e)))?;
                if let Some(appointment) =
                    stored_appointment(&appointments, &starts, business.into(), appointment.into())?
                {
                    found.push(appointment);
                }
            }
            Ok(found)
        })
    }

    async fn appointments_by_phone(
        &self,
        query: &CallerQuery,
    ) -> Result<Page<Appointment>, StoreError> {
        let query = query.clone();
        self.read(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let index = txn.open_table(PHONE_INDEX).map_err(backend)?;
            let appointments = txn.open_table(APPOINTMENTS).map_err(backend)?;
            let prefix = phone_prefix(query.business_id, &query.phone);
            let mut low = match query.starts_within {
                Some(range) => key(&[&prefix, &instant_key(range.start())]),
                None => prefix.clone(),
            };
            let mut high = match query.starts_within {
                Some(range) => key(&[&prefix, &instant_key(range.end())]),
                None => prefix_end(&prefix),
            };
            if let Some(after) = query.after {
                let cursor = key(&[
                    &prefix,
                    &instant_key(after.start),
                    after.id.as_uuid().as_bytes(),
                ]);
                match query.order {
                    ListOrder::Ascending => {
                        let mut resume = cursor;
                        resume.push(0);
                        low = low.max(resume);
                    }
                    ListOrder::Descending => high = high.min(cursor),
                }
            }
            let limit = usize::try_from(query.limit.clamp(1, 500)).unwrap_or(500);
            let mut items: Vec<Appointment> = Vec::new();
            let mut more = false;
            if low < high {
                let range = index
                    .range(low.as_slice()..high.as_slice())
                    .map_err(backend)?;
                let entries: Box<dyn Iterator<Item = _>> = match query.order {
                    ListOrder::Ascending => Box::new(range),
                    ListOrder::Descending => Box::new(range.rev()),
                };
                for entry in entries {
                    let (stored, _) = entry.map_err(backend)?;
                    let tail = stored
                        .value()
                        .get(prefix.len()..)
                        .filter(|tail| tail.len() == 32)
                        .ok_or_else(|| StoreError::Backend("corrupt phone index key".into()))?;
                    let (start, id) = tail.split_at(16);
                    let id = AppointmentId::from(
                        uuid::Uuid::from_slice(id).map_err(|e| StoreError::Backend(Box::new(e)))?,
                    );
                    let Some(appointment) = read_json::<Appointment>(
                        &appointments,
                        &appointment_key(query.business_id, instant_from_key(start)?, id),
                    )?
                    else {
                        continue;
                    };
                    let matches = query
                        .status
                        .is_none_or(|status| appointment.status == status)
                        && query
                            .sync_status
                            .is_none_or(|status| appointment.sync.status == status);
                    if !matches {
                        continue;
                    }
                    if items.len() == limit {
                        more = true;
                        break;
                    }
                    items.push(appointment);
                }
            }
            let next = if more {
                items.last().map(|last| PageCursor {
                    start: last.time.start(),
                    id: last.id,
                })
            } else {
                None
            };
            Ok(Page { items, next })
        })
    }

    async fn index_existing_phone_numbers(&self) -> Result<u64, StoreError> {
        let done = self.read(|db| {
            let txn = db.begin_read().map_err(backend)?;
            let migrations = txn.open_table(MIGRATIONS).map_err(backend)?;
            Ok(migrations
                .get(PHONE_INDEX_MIGRATION)
                .map_err(backend)?
                .is_some())
        })?;
        if done {
            return Ok(0);
        }
        self.run(|db| {
            let txn = db.begin_write().map_err(backend)?;
            let mut indexed = 0;
            {
                let appointments = txn.open_table(APPOINTMENTS).map_err(backend)?;
                let mut index = txn.open_table(PHONE_INDEX).map_err(backend)?;
                for entry in appointments.iter().map_err(backend)? {
                    let (_, value) = entry.map_err(backend)?;
                    let appointment: Appointment = decode(value.value())?;
                    if let Some(phone_key) = phone_key(&appointment) {
                        // Inserting a key that is already there changes nothing, so a rerun is harmless.
                        if index
                            .insert(phone_key.as_slice(), [].as_slice())
                            .map_err(backend)?
                            .is_none()
                        {
                            indexed += 1;
                        }
                    }
                }
                txn.open_table(MIGRATIONS)
                    .map_err(backend)?
                    .insert(PHONE_INDEX_MIGRATION, [].as_slice())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)?;
            Ok(indexed)
        })
        .await
    }
}

#[async_trait]
impl ConnectionStore for EmbeddedStore {
    async fn get_calendar_connection(
        &self,
        business_id: BusinessId,
    ) -> Result<Option<CalendarConnection>, StoreError> {
        self.get_json(
            CALENDAR_CONNECTIONS,
            business_id.as_uuid().as_bytes().to_vec(),
        )
    }

    async fn put_calendar_connection(
        &self,
        connection: &CalendarConnection,
    ) -> Result<(), StoreError> {
        let connection = connection.clone();
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            txn.open_table(CALENDAR_CONNECTIONS)
                .map_err(backend)?
                .insert(
                    connection.business_id.as_uuid().as_bytes().as_slice(),
                    encode(&connection)?.as_slice(),
                )
                .map_err(backend)?;
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn update_connection_health(
        &self,
        business_id: BusinessId,
        provider: ProviderKind,
        health: &ConnectionHealth,
        synced_at: Option<Timestamp>,
    ) -> Result<bool, StoreError> {
        let health = health.clone();
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut connections = txn.open_table(CALENDAR_CONNECTIONS).map_err(backend)?;
                let key = *business_id.as_uuid().as_bytes();
                let key = key.as_slice();
                let current: Option<CalendarConnection> = connections
                    .get(key)
                    .map_err(backend)?
                    .map(|stored| decode(stored.value()))
                    .transpose()?;
                let Some(mut connection) = current.filter(|c| c.provider == provider) else {
                    return Ok(false);
                };
                connection.health = health;
                if synced_at.is_some() {
                    connection.last_synced_at = synced_at;
                }
                connections
                    .insert(key, encode(&connection)?.as_slice())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)?;
            Ok(true)
        })
        .await
    }

    async fn delete_calendar_connection(&self, business_id: BusinessId) -> Result<(), StoreError> {
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            txn.open_table(CALENDAR_CONNECTIONS)
                .map_err(backend)?
                .remove(business_id.as_uuid().as_bytes().as_slice())
                .map_err(backend)?;
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn put_oauth_attempt(&self, attempt: &OAuthAttempt) -> Result<(), StoreError> {
        let attempt = attempt.clone();
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut attempts = txn.open_table(OAUTH_ATTEMPTS).map_err(backend)?;
                if attempts
                    .get(attempt.nonce.as_bytes())
                    .map_err(backend)?
                    .is_some()
                {
                    return Err(StoreError::AlreadyExists);
                }
                attempts
                    .insert(attempt.nonce.as_bytes(), encode(&attempt)?.as_slice())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn take_oauth_attempt(
        &self,
        nonce: &str,
        now: Timestamp,
    ) -> Result<Option<OAuthAttempt>, StoreError> {
        let nonce = nonce.to_owned();
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            let taken: Option<OAuthAttempt> = txn
                .open_table(OAUTH_ATTEMPTS)
                .map_err(backend)?
                .remove(nonce.as_bytes())
                .map_err(backend)?
                .map(|removed| decode(removed.value()))
                .transpose()?;
            txn.commit().map_err(backend)?;
            Ok(taken.filter(|attempt| attempt.expires_at > now))
        })
        .await
    }

    async fn get_calendar_watch(
        &self,
        business_id: BusinessId,
    ) -> Result<Option<CalendarWatch>, StoreError> {
        self.get_json(CALENDAR_WATCHES, business_id.as_uuid().as_bytes().to_vec())
    }

    async fn put_calendar_watch(
        &self,
        watch: &CalendarWatch,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let watch = watch.clone();
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut watches = txn.open_table(CALENDAR_WATCHES).map_err(backend)?;
                let key = *watch.business_id.as_uuid().as_bytes();
                let stored: Option<CalendarWatch> = read_json(&watches, &key)?;
                match (stored.map(|stored| stored.version), expected_version) {
                    (None, None) => {}
                    (Some(_), None) => return Err(StoreError::AlreadyExists),
                    (None, Some(_)) => return Err(StoreError::NotFound),
                    (Some(stored), Some(expected)) if stored != expected => {
                        return Err(StoreError::VersionMismatch);
                    }
                    (Some(_), Some(_)) => {}
                }
                watches
                    .insert(key.as_slice(), encode(&watch)?.as_slice())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn delete_calendar_watch(&self, business_id: BusinessId) -> Result<(), StoreError> {
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            txn.open_table(CALENDAR_WATCHES)
                .map_err(backend)?
                .remove(business_id.as_uuid().as_bytes().as_slice())
                .map_err(backend)?;
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn calendar_watches(
        &self,
        after: Option<BusinessId>,
        limit: u32,
    ) -> Result<Vec<CalendarWatch>, StoreError> {
        self.read(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let watches = txn.open_table(CALENDAR_WATCHES).map_err(backend)?;
            let entries = match after {
                Some(after) => {
                    let start = prefix_end(after.as_uuid().as_bytes());
                    watches.range(start.as_slice()..).map_err(backend)?
                }
                None => watches.iter().map_err(backend)?,
            };
            let mut found = Vec::new();
            for entry in entries.take(limit as usize) {
                let (_, value) = entry.map_err(backend)?;
                found.push(decode(value.value())?);
            }
            Ok(found)
        })
    }
}

#[async_trait]
impl BusyTimeStore for EmbeddedStore {
    async fn put_busy_event(&self, event: &BusyEvent) -> Result<(), StoreError> {
        let event = event.clone();
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            remove_busy_event(&txn, event.business_id, &event.calendar_id, &event.event_id)?;
            let key = event_key(event.business_id, &event.calendar_id, &event.event_id);
            txn.open_table(BUSY_EVENTS)
                .map_err(backend)?
                .insert(key.as_slice(), encode(&event.intervals)?.as_slice())
                .map_err(backend)?;
            index_busy_intervals(
                &txn,
                event.business_id,
                &event.calendar_id,
                &event.event_id,
                &event.intervals,
            )?;
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn delete_busy_event(
        &self,
        business_id: BusinessId,
        calendar_id: &str,
        event_id: &str,
    ) -> Result<(), StoreError> {
        let calendar_id = calendar_id.to_owned();
        let event_id = event_id.to_owned();
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            remove_busy_event(&txn, business_id, &calendar_id, &event_id)?;
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn busy_intervals_overlapping(
        &self,
        business_id: BusinessId,
        range: Interval,
    ) -> Result<Vec<Interval>, StoreError> {
        self.read(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let business_uuid = business_id.as_uuid();
            let business = business_uuid.as_bytes();
            let mut overlapping = Vec::new();
            // Short intervals overlapping the range start at most SHORT_BUSY_SPAN before it and before its end.
            let earliest_start = range
                .start()
                .checked_sub(SHORT_BUSY_SPAN)
                .unwrap_or(Timestamp::MIN);
            let from = key(&[business, &instant_key(earliest_start)]);
            let until = key(&[business, &instant_key(range.end())]);
            let short = txn.open_table(BUSY_BY_START).map_err(backend)?;
            for entry in short
                .range(from.as_slice()..until.as_slice())
                .map_err(backend)?
            {
                let (key, _) = entry.map_err(backend)?;
                let (start_at, end_at) = busy_key_instants(key.value())?;
                if end_at > range.start() {
                    overlapping.push(Interval::new(start_at, end_at)?);
                }
            }
            // Long intervals ending after the range starts, in end order; those starting before its end overlap.
            let from = key(&[business, &instant_key(range.start()), &[u8::MAX; 17]]);
            let until = prefix_end(business);
            let long = txn.open_table(BUSY_LONG).map_err(backend)?;
            for entry in long
                .range(from.as_slice()..until.as_slice())
                .map_err(backend)?
            {
                let (key, _) = entry.map_err(backend)?;
                let (end_at, start_at) = busy_key_instants(key.value())?;
                if start_at < range.end() {
                    overlapping.push(Interval::new(start_at, end_at)?);
                }
            }
            Ok(overlapping)
        })
    }

    async fn busy_event_ids(
        &self,
        business_id: BusinessId,
        calendar_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let prefix = key(&[
            business_id.as_uuid().as_bytes(),
            calendar_id.as_bytes(),
            &[0],
        ]);
        self.read(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let events = txn.open_table(BUSY_EVENTS).map_err(backend)?;
            let end = prefix_end(&prefix);
            let mut ids = Vec::new();
            for entry in events
                .range(prefix.as_slice()..end.as_slice())
                .map_err(backend)?
            {
                let (stored, _) = entry.map_err(backend)?;
                let id = stored.value().get(prefix.len()..).unwrap_or_default();
                ids.push(
                    String::from_utf8(id.to_vec())
                        .map_err(|error| StoreError::Backend(Box::new(error)))?,
                );
            }
            Ok(ids)
        })
    }
}

#[async_trait]
impl LeaseStore for EmbeddedStore {
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut leases = txn.open_table(LEASES).map_err(backend)?;
                let current: Option<Lease> = leases
                    .get(name.as_bytes())
                    .map_err(backend)?
                    .map(|held| decode(held.value()))
                    .transpose()?;
                if current.is_some_and(|lease| lease.until >= now && lease.holder != holder) {
                    return Ok(false);
                }
                leases
                    .insert(
                        name.as_bytes(),
                        encode(&Lease { holder, until })?.as_slice(),
                    )
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)?;
            Ok(true)
        })
        .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut leases = txn.open_table(LEASES).map_err(backend)?;
                let held_by_caller = leases
                    .get(name.as_bytes())
                    .map_err(backend)?
                    .map(|held| decode::<Lease>(held.value()))
                    .transpose()?
                    .is_some_and(|lease| lease.holder == holder);
                if held_by_caller {
                    leases.remove(name.as_bytes()).map_err(backend)?;
                }
            }
            txn.commit().map_err(backend)
        })
        .await
    }
}

fn remove_busy_event(
    txn: &WriteTransaction,
    business_id: BusinessId,
    calendar_id: &str,
    event_id: &str,
) -> Result<(), StoreError> {
    let mut events = txn.open_table(BUSY_EVENTS).map_err(backend)?;
    let key = event_key(business_id, calendar_id, event_id);
    let previous: Option<Vec<Interval>> = match events.remove(key.as_slice()).map_err(backend)? {
        Some(value) => Some(decode(value.value())?),
        None => None,
    };
    for interval in previous.unwrap_or_default() {
        let (table, index) = busy_index_key(business_id, &interval, calendar_id, event_id);
        txn.open_table(table)
            .map_err(backend)?
            .remove(index.as_slice())
            .map_err(backend)?;
    }
    Ok(())
}

impl From<crate::domain::ValidationError> for StoreError {
    fn from(error: crate::domain::ValidationError) -> Self {
        StoreError::Backend(Box::new(error))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::{ApiKey, BusinessName, BusinessTimeZone};
    use crate::ports::ApiKeyStore;

    #[tokio::test]
    async fn data_survives_a_restart() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("store.redb");
        let business = Business {
            id: BusinessId::generate(),
            name: BusinessName::try_from("Kept".to_owned()).unwrap(),
            time_zone: BusinessTimeZone::try_from("Europe/Paris".to_owned()).unwrap(),
            created_at: Timestamp::UNIX_EPOCH,
        };
        let key = ApiKey::generate();
        {
            let store = EmbeddedStore::open(&path).unwrap();
            store.create_business(&business, &key.hash()).await.unwrap();
        }
        let reopened = EmbeddedStore::open(&path).unwrap();
        assert_eq!(
            reopened.business_by_api_key(&key.hash()).await.unwrap(),
            Some(business)
        );
    }

    #[tokio::test]
    async fn appointments_stored_before_the_phone_index_are_indexed_once() {
        use crate::domain::{
            AppointmentStatus, BookingSource, Customer, CustomerName, Minutes, SyncState,
        };
        let directory = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&directory.path().join("store.redb")).unwrap();
        let start: Timestamp = "2027-03-01T09:00:00Z".parse().unwrap();
        let phone = PhoneNumber::try_from("+14155550123".to_owned()).unwrap();
        let appointment = Appointment {
            id: AppointmentId::generate(),
            business_id: BusinessId::generate(),
            service_id: ServiceId::generate(),
            time: Interval::new(start, start + SignedDuration::from_mins(30)).unwrap(),
            local_date: start.to_zoned_datetime(jiff::tz::TimeZone::UTC).date(),
            buffer_before: Minutes::new(0),
            buffer_after: Minutes::new(0),
            customer: Customer {
                name: CustomerName::try_from("Ana".to_owned()).unwrap(),
                phone: Some(phone.clone()),
                email: None,
            },
            notes: None,
            source: BookingSource::Api,
            status: AppointmentStatus::Booked,
            version: 1,
            sync: SyncState::after_change(false, start),
            created_at: start,
            updated_at: start,
        };
        store
            .create_appointment(NewBooking {
                appointment: &appointment,
                max_per_day: None,
                idempotency: None,
            })
            .await
            .unwrap();
        // As a store written before the index existed: the appointment without its index entry or the marker.
        {
            let txn = store.db.begin_write().unwrap();
            txn.open_table(PHONE_INDEX)
                .unwrap()
                .remove(phone_key(&appointment).unwrap().as_slice())
                .unwrap();
            txn.open_table(MIGRATIONS)
                .unwrap()
                .remove(PHONE_INDEX_MIGRATION)
                .unwrap();
            txn.commit().unwrap();
        }
        let query = CallerQuery {
            business_id: appointment.business_id,
            phone,
            starts_within: None,
            status: None,
            sync_status: None,
            order: ListOrder::Ascending,
            after: None,
            limit: 10,
        };
        assert!(
            store
                .appointments_by_phone(&query)
                .await
                .unwrap()
                .items
                .is_empty()
        );
        assert_eq!(store.index_existing_phone_numbers().await.unwrap(), 1);
        assert_eq!(
            store.appointments_by_phone(&query).await.unwrap().items,
            vec![appointment]
        );
        assert_eq!(store.index_existing_phone_numbers().await.unwrap(), 0);
    }

    #[test]
    fn instant_keys_sort_like_instants() {
        let instants: Vec<Timestamp> = [
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:00:00Z",
            "2027-03-01T09:00:00.5Z",
        ]
        .iter()
        .map(|text| text.parse().unwrap())
        .collect();
        let keys: Vec<[u8; 16]> = instants
            .iter()
            .map(|instant| instant_key(*instant))
            .collect();
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]));
        for (instant, key) in instants.iter().zip(&keys) {
            assert_eq!(instant_from_key(key).unwrap(), *instant);
        }
    }

    #[tokio::test]
    async fn busy_time_indexed_by_an_earlier_version_is_reindexed_on_open() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("store.redb");
        let business = BusinessId::generate();
        let hour = |h: i64| Timestamp::from_second(1_800_000_000 + h * 3_600).unwrap();
        let short = Interval::new(hour(0), hour(1)).unwrap();
        let long = Interval::new(hour(-100), hour(100)).unwrap();
        {
            // The layout of the earlier version: events, and every interval indexed by end.
            let db = Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            {
                let mut events = txn.open_table(BUSY_EVENTS).unwrap();
                let mut by_end = txn.open_table(BUSY_BY_END_BEFORE).unwrap();
                for (event, interval) in [("dentist", short), ("away", long)] {
                    let key = event_key(business, "primary", event);
                    events
                        .insert(key.as_slice(), encode(&vec![interval]).unwrap().as_slice())
                        .unwrap();
                    let old = key_of_parts(business, interval.end(), interval.start(), event);
                    by_end.insert(old.as_slice(), [].as_slice()).unwrap();
                }
            }
            txn.commit().unwrap();
        }
        for _ in 0..2 {
            let store = EmbeddedStore::open(&path).unwrap();
            let mut found = store
                .busy_intervals_overlapping(business, Interval::new(hour(0), hour(2)).unwrap())
                .await
                .unwrap();
            found.sort();
            assert_eq!(found, vec![long, short]);
            store
                .delete_busy_event(business, "primary", "away")
                .await
                .unwrap();
            store
                .put_busy_event(&BusyEvent {
                    business_id: business,
                    calendar_id: "primary".into(),
                    event_id: "away".into(),
                    intervals: vec![long],
                })
                .await
                .unwrap();
        }
    }

    fn key_of_parts(
        business: BusinessId,
        first: Timestamp,
        second: Timestamp,
        event: &str,
    ) -> Vec<u8> {
        key(&[
            business.as_uuid().as_bytes(),
            &instant_key(first),
            &instant_key(second),
            b"primary",
            &[0],
            event.as_bytes(),
        ])
    }
}
