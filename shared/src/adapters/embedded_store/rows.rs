//! The appointment and hold rows with their indexes, read and written inside the caller's transaction: what the
//! booking writes check and change, and what the appointment reads find.

use jiff::{SignedDuration, Timestamp};
use redb::{ReadableTable, WriteTransaction};

use super::{
    APPOINTMENT_STARTS, APPOINTMENTS, HOLD_EXPIRIES, HOLD_STARTS, HOLDS, IDEMPOTENCY, PHONE_INDEX,
    SYNC_QUEUE, backend, decode, encode, instant_from_key, instant_key, key, read_json,
};
use crate::domain::{
    Appointment, AppointmentId, BlockingFields, BusinessId, DailyLimits, Hold, HoldId,
    MAX_OCCUPIED_SPAN, Occupancy, PhoneNumber, SyncStatus, check_booking_conflicts,
};
use crate::ports::{IdempotencyRecord, StoreError};

/// How far around a candidate a booking looks: every appointment whose occupied interval can overlap it
/// ([`MAX_OCCUPIED_SPAN`]) and every appointment on its local date (a local date lasts at most 25 hours).
const CONFLICT_SCAN_MARGIN: SignedDuration = SignedDuration::from_hours(48);
const _: () = assert!(MAX_OCCUPIED_SPAN.as_secs() <= CONFLICT_SCAN_MARGIN.as_secs());

pub(super) fn appointment_key(
    business: BusinessId,
    start: Timestamp,
    id: AppointmentId,
) -> Vec<u8> {
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
pub(super) fn phone_prefix(business: BusinessId, phone: &PhoneNumber) -> Vec<u8> {
    key(&[
        business.as_uuid().as_bytes(),
        phone.as_ref().as_bytes(),
        &[0],
    ])
}

pub(super) fn phone_key(appointment: &Appointment) -> Option<Vec<u8>> {
    let phone = appointment.customer.phone.as_ref()?;
    Some(key(&[
        &phone_prefix(appointment.business_id, phone),
        &instant_key(appointment.time.start()),
        appointment.id.as_uuid().as_bytes(),
    ]))
}

pub(super) fn sync_status_byte(status: SyncStatus) -> u8 {
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

/// The rows of `business` starting in `[from, until)` that `keep` keeps, read inside the caller's transaction from a
/// table keyed `business ‖ start ‖ id` (appointments and holds alike).
fn starting_between<T: serde::de::DeserializeOwned>(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    business: BusinessId,
    from: Timestamp,
    until: Timestamp,
    keep: impl Fn(&T) -> bool,
) -> Result<Vec<T>, StoreError> {
    let start = key(&[business.as_uuid().as_bytes(), &instant_key(from)]);
    let end = key(&[business.as_uuid().as_bytes(), &instant_key(until)]);
    let mut kept = Vec::new();
    for entry in table
        .range(start.as_slice()..end.as_slice())
        .map_err(backend)?
    {
        let (_, value) = entry.map_err(backend)?;
        let row: T = decode(value.value())?;
        if keep(&row) {
            kept.push(row);
        }
    }
    Ok(kept)
}

/// Live appointments of `business` starting in `[from, until)`.
fn live_between(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    business: BusinessId,
    from: Timestamp,
    until: Timestamp,
) -> Result<Vec<BlockingFields>, StoreError> {
    starting_between(table, business, from, until, BlockingFields::is_live)
}

/// Holds of `business` starting in `[from, until)` and alive at `now`.
fn holds_between(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    business: BusinessId,
    from: Timestamp,
    until: Timestamp,
    now: Timestamp,
) -> Result<Vec<Hold>, StoreError> {
    starting_between(table, business, from, until, |hold: &Hold| {
        hold.is_alive_at(now)
    })
}

/// Occupancy of the live appointments and of the holds alive at `now` starting in `[from, until)`.
pub(super) fn occupancies_between(
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
pub(super) fn check_conflicts(
    txn: &WriteTransaction,
    business: BusinessId,
    candidate: &Occupancy,
    limits: DailyLimits,
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
    check_booking_conflicts(candidate, &neighbours, limits)?;
    Ok(())
}

/// The first steps of every write that creates an appointment (a booking, a hold's conversion): record its
/// idempotency key if it has one, and refuse an id that is already taken.
pub(super) fn claim_new_appointment(
    txn: &WriteTransaction,
    appointment: &Appointment,
    idempotency: Option<&IdempotencyRecord>,
) -> Result<(), StoreError> {
    if let Some(record) = idempotency {
        write_idempotency(txn, record)?;
    }
    if appointment_exists(txn, appointment.business_id, appointment.id)? {
        return Err(StoreError::AlreadyExists);
    }
    Ok(())
}

/// [`check_conflicts`] for an appointment about to be written.
pub(super) fn check_appointment_conflicts(
    txn: &WriteTransaction,
    appointment: &Appointment,
    limits: DailyLimits,
    now: Timestamp,
) -> Result<(), StoreError> {
    check_conflicts(
        txn,
        appointment.business_id,
        &appointment.occupancy(),
        limits,
        now,
    )
}

/// Records the booking's idempotency key unless an unexpired record holds it.
pub(super) fn write_idempotency(
    txn: &WriteTransaction,
    record: &IdempotencyRecord,
) -> Result<(), StoreError> {
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

pub(super) fn appointment_exists(
    txn: &WriteTransaction,
    business: BusinessId,
    id: AppointmentId,
) -> Result<bool, StoreError> {
    let starts = txn.open_table(APPOINTMENT_STARTS).map_err(backend)?;
    let id_key = key(&[business.as_uuid().as_bytes(), id.as_uuid().as_bytes()]);
    Ok(starts.get(id_key.as_slice()).map_err(backend)?.is_some())
}

pub(super) fn stored_hold(
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
pub(super) fn held_in(
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

/// The appointment as stored, read inside the caller's write transaction.
pub(super) fn appointment_in(
    txn: &WriteTransaction,
    business: BusinessId,
    id: AppointmentId,
) -> Result<Option<Appointment>, StoreError> {
    stored_appointment(
        &txn.open_table(APPOINTMENTS).map_err(backend)?,
        &txn.open_table(APPOINTMENT_STARTS).map_err(backend)?,
        business,
        id,
    )
}

pub(super) fn write_hold(txn: &WriteTransaction, hold: &Hold) -> Result<(), StoreError> {
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

pub(super) fn remove_hold(txn: &WriteTransaction, hold: &Hold) -> Result<(), StoreError> {
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

pub(super) fn write_appointment(
    txn: &WriteTransaction,
    appointment: &Appointment,
) -> Result<(), StoreError> {
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

pub(super) fn remove_appointment(
    txn: &WriteTransaction,
    appointment: &Appointment,
) -> Result<(), StoreError> {
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

pub(super) fn stored_appointment(
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
