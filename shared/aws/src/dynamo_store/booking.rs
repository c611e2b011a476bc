//! Bookings, reschedules, cancellations and holds, each one conditional transaction over the ledgers it touches.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ConditionCheck, Delete, TransactWriteItem};
use booking_core::domain::{BusinessId, DailyLimits, Hold, HoldId};
use booking_core::ports::{
    AppointmentChange, BookingStore, IdempotencyKey, IdempotencyRecord, NewBooking, NewHold,
    ReadMark, StoreError,
};
use jiff::Timestamp;

use super::items::{
    AppointmentItem, HoldItem, IdempotencyItem, LedgerEntry, appointment_sk, business_pk, hold_sk,
    idempotency_sk,
};
use super::ledgers::{
    BookingWrite, Counted, MAX_BOOKING_ATTEMPTS, back_off, cancelled_for_no_known_reason,
    gave_up_under_contention, utc_days,
};
use super::requests::{WriteOutcome, transact_update};
use super::{DynamoStore, backend, key, nanos, number, to_item, to_value};

#[async_trait]
impl BookingStore for DynamoStore {
    async fn create_appointment(&self, booking: NewBooking<'_>) -> Result<(), StoreError> {
        let appointment = booking.appointment;
        let now = appointment.updated_at;
        let seen = booking.checked_against.and_then(ReadMark::snapshot);
        for attempt in 0..MAX_BOOKING_ATTEMPTS {
            // The first attempt relies on the availability check's read; a retry follows a change, so it reads.
            let (ledgers, counts) = self
                .read_for_write(
                    appointment.business_id,
                    &appointment.occupancy(),
                    DailyLimits {
                        service: booking.max_per_day,
                        staff: booking.staff_max_per_day,
                    },
                    booking.staff_max_per_day,
                    now,
                    seen.filter(|_| attempt == 0),
                )
                .await?;
            let mut write =
                self.booking_write(None, appointment, &ledgers, &counts, booking.idempotency)?;
            let outcome = self.transact(std::mem::take(&mut write.items)).await?;
            if matches!(outcome, WriteOutcome::Committed) {
                return Ok(());
            }
            if outcome.failed(0) {
                return Err(StoreError::AlreadyExists);
            }
            if write
                .idempotency_position
                .is_some_and(|at| outcome.failed(at))
            {
                return Err(StoreError::IdempotencyKeyTaken);
            }
            // Someone booked or held on the same days, or took a place of the day: read again and decide.
            if write.lost_race(&outcome) {
                back_off(attempt).await;
                continue;
            }
            return Err(cancelled_for_no_known_reason("booking transaction"));
        }
        Err(gave_up_under_contention("booking"))
    }

    async fn update_appointment(&self, change: AppointmentChange<'_>) -> Result<(), StoreError> {
        let next = change.appointment;
        let now = next.updated_at;
        for attempt in 0..MAX_BOOKING_ATTEMPTS {
            let current = self
                .get_appointment_item(next.business_id, next.id)
                .await?
                .ok_or(StoreError::NotFound)?;
            if current.version != change.expected_version {
                return Err(StoreError::VersionMismatch);
            }
            // A count the appointment stays on gains nothing, so its limit cannot be passed there.
            let stays = current.is_live() && current.local_date == next.local_date;
            let counted_limits = DailyLimits {
                service: change
                    .max_per_day
                    .filter(|_| !(stays && current.service_id == next.service_id)),
                staff: change
                    .staff_max_per_day
                    .filter(|_| !(stays && current.staff_id == next.staff_id)),
            };
            let (ledgers, counts) = if next.is_live() {
                self.read_for_write(
                    next.business_id,
                    &next.occupancy(),
                    counted_limits,
                    change.staff_max_per_day,
                    now,
                    None,
                )
                .await?
            } else {
                (Vec::new(), Default::default())
            };
            let mut write = self.booking_write(Some(&current), next, &ledgers, &counts, None)?;
            let outcome = self.transact(std::mem::take(&mut write.items)).await?;
            if matches!(outcome, WriteOutcome::Committed) {
                return Ok(());
            }
            // A changed appointment, a booking on the same days or the same day count, or a contended item: read
            // again and decide.
            if outcome.failed(0) || write.lost_race(&outcome) {
                back_off(attempt).await;
                continue;
            }
            return Err(cancelled_for_no_known_reason("change transaction"));
        }
        Err(gave_up_under_contention("change"))
    }

    async fn create_hold(&self, new: NewHold<'_>) -> Result<(), StoreError> {
        let hold = new.hold;
        let occupancy = hold.occupancy();
        for attempt in 0..MAX_BOOKING_ATTEMPTS {
            // A hold always writes its day counts (the maps of live holds), so it reads them even without a limit.
            let service = Counted::Service(hold.service_id);
            let staff = Counted::Staff(hold.staff_id);
            let (ledgers, service_count, staff_count) = tokio::try_join!(
                self.check_overlaps(
                    hold.business_id,
                    &occupancy,
                    new.staff_max_per_day,
                    hold.created_at,
                    None
                ),
                self.read_day_count(hold.business_id, service, hold.local_date),
                self.read_day_count(hold.business_id, staff, hold.local_date),
            )?;
            for (counted, read, limit) in [
                (service, &service_count, new.max_per_day),
                (staff, &staff_count, new.staff_max_per_day),
            ] {
                Self::check_daily_limit(
                    read,
                    counted,
                    limit,
                    hold.local_date,
                    hold.created_at,
                    None,
                )?;
            }
            let item = HoldItem {
                pk: business_pk(hold.business_id),
                sk: hold_sk(hold.id),
                expires_at_epoch: hold.expires_at.as_second(),
                expires_at_nanos: nanos(hold.expires_at)?,
                hold: hold.clone(),
            };
            let appointment_absent = ConditionCheck::builder()
                .table_name(&self.table)
                .set_key(Some(key(
                    business_pk(hold.business_id),
                    appointment_sk(hold.id.appointment_id()),
                )))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .map_err(backend)?;
            let mut write = BookingWrite {
                items: vec![
                    self.put(to_item(&item)?, Some("attribute_not_exists(PK)"))?,
                    TransactWriteItem::builder()
                        .condition_check(appointment_absent)
                        .build(),
                ],
                ledger_positions: Vec::new(),
                count_positions: Vec::new(),
                idempotency_position: None,
            };
            let entry = LedgerEntry::of_hold(hold);
            for touch in &ledgers {
                write.ledger_positions.push(write.items.len());
                write.items.push(self.ledger_add(
                    hold.business_id,
                    occupancy.appointment_id,
                    &entry,
                    touch,
                )?);
            }
            for (counted, read) in [(service, &service_count), (staff, &staff_count)] {
                write.count_positions.push(write.items.len());
                write
                    .items
                    .push(self.day_count_add_hold(hold, counted, read)?);
            }
            let outcome = self.transact(std::mem::take(&mut write.items)).await?;
            if matches!(outcome, WriteOutcome::Committed) {
                return Ok(());
            }
            if outcome.failed(0) || outcome.failed(1) {
                return Err(StoreError::AlreadyExists);
            }
            if write.lost_race(&outcome) {
                back_off(attempt).await;
                continue;
            }
            return Err(cancelled_for_no_known_reason("hold transaction"));
        }
        Err(gave_up_under_contention("hold"))
    }

    async fn get_hold(
        &self,
        business_id: BusinessId,
        id: HoldId,
    ) -> Result<Option<Hold>, StoreError> {
        Ok(self
            .get::<HoldItem>(business_pk(business_id), hold_sk(id))
            .await?
            .map(|item| item.hold))
    }

    async fn release_hold(&self, business_id: BusinessId, id: HoldId) -> Result<bool, StoreError> {
        let Some(hold) = self.get_hold(business_id, id).await? else {
            return Ok(false);
        };
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(business_pk(business_id), hold_sk(id))))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map_err(backend)?;
        let mut items = vec![TransactWriteItem::builder().delete(delete).build()];
        for day in utc_days(&hold.occupied()) {
            items.push(self.ledger_remove(business_id, id.appointment_id(), day, hold.staff_id)?);
        }
        for counted in [
            Counted::Service(hold.service_id),
            Counted::Staff(hold.staff_id),
        ] {
            items.push(self.day_count_remove_hold(
                business_id,
                counted,
                hold.local_date,
                id,
                false,
            )?);
        }
        match self.transact(items).await? {
            WriteOutcome::Committed => Ok(true),
            // Released or converted by someone else meanwhile.
            outcome if outcome.failed(0) => Ok(false),
            _ => Err(StoreError::Backend(
                "releasing the hold was cancelled".into(),
            )),
        }
    }

    async fn convert_hold(&self, booking: NewBooking<'_>) -> Result<(), StoreError> {
        let appointment = booking.appointment;
        let hold_id = HoldId::from(appointment.id.as_uuid());
        // No ledger read: the appointment's entry replaces the hold's, which occupies exactly the same time, so the
        // write is conditional only on that entry still being there.
        let mut items = vec![self.put(
            to_item(&AppointmentItem::new(appointment))?,
            Some("attribute_not_exists(PK)"),
        )?];
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                business_pk(appointment.business_id),
                hold_sk(hold_id),
            )))
            .condition_expression("attribute_exists(PK) AND expires_at_nanos > :now")
            .expression_attribute_values(":now", number(nanos(appointment.created_at)?))
            .build()
            .map_err(backend)?;
        items.push(TransactWriteItem::builder().delete(delete).build());
        let entry = LedgerEntry::of(appointment);
        let mut ledger_positions = Vec::new();
        for day in utc_days(&appointment.occupied()) {
            let update = self
                .ledger_update(appointment.business_id, day, appointment.staff_id)
                .update_expression("SET #entries.#id = :entry, #version = #version + :one")
                .condition_expression("attribute_exists(#entries.#id)")
                .expression_attribute_names("#entries", "entries")
                .expression_attribute_names("#version", "version")
                .expression_attribute_names("#id", appointment.id.to_string())
                .expression_attribute_values(":entry", to_value(&entry)?)
                .expression_attribute_values(":one", number(1));
            ledger_positions.push(items.len());
            items.push(transact_update(update)?);
        }
        for counted in [
            Counted::Service(appointment.service_id),
            Counted::Staff(appointment.staff_id),
        ] {
            items.push(self.day_count_remove_hold(
                appointment.business_id,
                counted,
                appointment.local_date,
                hold_id,
                true,
            )?);
        }
        let idempotency_position = match booking.idempotency {
            Some(record) => {
                items.push(self.idempotency_put(record)?);
                Some(items.len() - 1)
            }
            None => None,
        };
        for attempt in 0..MAX_BOOKING_ATTEMPTS {
            let outcome = self.transact(items.clone()).await?;
            if matches!(outcome, WriteOutcome::Committed) {
                return Ok(());
            }
            if outcome.failed(0) {
                return Err(StoreError::AlreadyExists);
            }
            if idempotency_position.is_some_and(|at| outcome.failed(at)) {
                return Err(StoreError::IdempotencyKeyTaken);
            }
            if outcome.failed(1) || ledger_positions.iter().any(|at| outcome.failed(*at)) {
                return Err(StoreError::NotFound);
            }
            if outcome.contended() {
                back_off(attempt).await;
                continue;
            }
            return Err(cancelled_for_no_known_reason("hold conversion transaction"));
        }
        Err(gave_up_under_contention("hold conversion"))
    }

    async fn remove_expired_holds(&self, _now: Timestamp, _limit: u32) -> Result<u32, StoreError> {
        // DynamoDB's TTL deletes expired hold items (`expires_at_epoch`), and every write to a ledger drops the
        // expired holds' entries it read; reads already ignore them. There is nothing for a sweep to do.
        Ok(0)
    }

    async fn get_idempotency_record(
        &self,
        business_id: BusinessId,
        key: &IdempotencyKey,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        Ok(self
            .get::<IdempotencyItem>(business_pk(business_id), idempotency_sk(key.as_ref()))
            .await?
            .map(|item| item.record)
            .filter(|record| record.expires_at > now))
    }
}
