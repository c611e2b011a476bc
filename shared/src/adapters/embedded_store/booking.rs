//! The booking writes: each reads the neighbouring appointments and holds, checks the rules and writes in one
//! transaction, which redb runs one at a time.

use async_trait::async_trait;
use jiff::Timestamp;
use redb::ReadableTable;

use super::rows::{
    appointment_exists, appointment_in, check_appointment_conflicts, check_conflicts,
    claim_new_appointment, held_in, remove_appointment, remove_hold, stored_hold,
    write_appointment, write_hold,
};
use super::{
    EmbeddedStore, HOLD_EXPIRIES, HOLD_STARTS, HOLDS, IDEMPOTENCY, backend, id_pair, instant_key,
    key,
};
use crate::domain::{BusinessId, DailyLimits, Hold, HoldId};
use crate::ports::{
    AppointmentChange, BookingStore, IdempotencyKey, IdempotencyRecord, NewBooking, NewHold,
    StoreError,
};

#[async_trait]
impl BookingStore for EmbeddedStore {
    async fn create_appointment(&self, booking: NewBooking<'_>) -> Result<(), StoreError> {
        let appointment = booking.appointment.clone();
        let limits = booking.limits();
        let idempotency = booking.idempotency.cloned();
        self.write(move |txn| {
            claim_new_appointment(txn, &appointment, idempotency.as_ref())?;
            check_appointment_conflicts(txn, &appointment, limits, appointment.updated_at)?;
            write_appointment(txn, &appointment)
        })
        .await
    }

    async fn update_appointment(&self, change: AppointmentChange<'_>) -> Result<(), StoreError> {
        let appointment = change.appointment.clone();
        let expected_version = change.expected_version;
        let limits = change.limits();
        self.write(move |txn| {
            let current = appointment_in(txn, appointment.business_id, appointment.id)?
                .ok_or(StoreError::NotFound)?;
            if current.version != expected_version {
                return Err(StoreError::VersionMismatch);
            }
            if appointment.is_live() {
                check_appointment_conflicts(txn, &appointment, limits, appointment.updated_at)?;
            }
            remove_appointment(txn, &current)?;
            write_appointment(txn, &appointment)
        })
        .await
    }

    async fn create_hold(&self, new: NewHold<'_>) -> Result<(), StoreError> {
        let hold = new.hold.clone();
        let limits = new.limits();
        self.write(move |txn| {
            if held_in(txn, hold.business_id, hold.id)?.is_some()
                || appointment_exists(txn, hold.business_id, hold.id.appointment_id())?
            {
                return Err(StoreError::AlreadyExists);
            }
            check_conflicts(
                txn,
                hold.business_id,
                &hold.occupancy(),
                limits,
                hold.created_at,
            )?;
            write_hold(txn, &hold)
        })
        .await
    }

    async fn get_hold(
        &self,
        business_id: BusinessId,
        id: HoldId,
    ) -> Result<Option<Hold>, StoreError> {
        self.read(move |txn| {
            stored_hold(
                &txn.open_table(HOLD_STARTS).map_err(backend)?,
                &txn.open_table(HOLDS).map_err(backend)?,
                business_id,
                id,
            )
        })
    }

    async fn release_hold(&self, business_id: BusinessId, id: HoldId) -> Result<bool, StoreError> {
        self.write(move |txn| {
            let Some(hold) = held_in(txn, business_id, id)? else {
                return Ok(false);
            };
            remove_hold(txn, &hold)?;
            Ok(true)
        })
        .await
    }

    async fn convert_hold(&self, booking: NewBooking<'_>) -> Result<(), StoreError> {
        let appointment = booking.appointment.clone();
        let idempotency = booking.idempotency.cloned();
        self.write(move |txn| {
            claim_new_appointment(txn, &appointment, idempotency.as_ref())?;
            let hold_id = HoldId::from(appointment.id.as_uuid());
            let hold = held_in(txn, appointment.business_id, hold_id)?
                .filter(|hold| hold.is_alive_at(appointment.created_at))
                .ok_or(StoreError::NotFound)?;
            remove_hold(txn, &hold)?;
            // The hold already counted toward the day and held this time: only overlap is checked again, as a guard.
            check_appointment_conflicts(
                txn,
                &appointment,
                DailyLimits::default(),
                appointment.created_at,
            )?;
            write_appointment(txn, &appointment)
        })
        .await
    }

    async fn remove_expired_holds(&self, now: Timestamp, limit: u32) -> Result<u32, StoreError> {
        self.write(move |txn| {
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
                    let (business, hold) = id_pair(stored.value(), 16, "hold expiry key")?;
                    found.push((business.into(), hold.into()));
                }
                found
            };
            let mut removed = 0;
            for (business, id) in expired {
                if let Some(hold) = held_in(txn, business, id)? {
                    remove_hold(txn, &hold)?;
                    removed += 1;
                }
            }
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
