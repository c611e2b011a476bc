//! Reading appointments (by time, by caller, by sync status) and recording their sync state.

use async_trait::async_trait;
use jiff::Timestamp;
use redb::ReadableTable;

use super::rows::{
    appointment_in, appointment_key, occupancies_between, phone_key, phone_prefix,
    remove_appointment, stored_appointment, sync_status_byte, write_appointment,
};
use super::{
    APPOINTMENT_STARTS, APPOINTMENTS, EmbeddedStore, HOLDS, MIGRATIONS, PHONE_INDEX,
    PHONE_INDEX_MIGRATION, SYNC_QUEUE, backend, decode, id_pair, instant_from_key, instant_key,
    key, prefix_end, read_json,
};
use crate::domain::{
    Appointment, AppointmentId, BusinessId, Interval, Occupancy, SyncState, SyncStatus,
};
use crate::ports::{
    AppointmentQuery, AppointmentStore, CallerQuery, ListOrder, Page, PageCursor, StoreError,
};

#[async_trait]
impl AppointmentStore for EmbeddedStore {
    async fn get_appointment(
        &self,
        business_id: BusinessId,
        id: AppointmentId,
    ) -> Result<Option<Appointment>, StoreError> {
        self.read(move |txn| {
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
        self.read(move |txn| {
            let appointments = txn.open_table(APPOINTMENTS).map_err(backend)?;
            let (low, high) = key_range(
                query.business_id.as_uuid().as_bytes(),
                query.starts_within,
                query.after,
                ListOrder::Ascending,
            );
            if low >= high {
                return Ok(Page::of_appointments(Vec::new(), false));
            }
            let candidates = appointments
                .range(low.as_slice()..high.as_slice())
                .map_err(backend)?
                .map(|entry| {
                    let (_, value) = entry.map_err(backend)?;
                    decode(value.value()).map(Some)
                });
            first_page(
                candidates,
                |appointment| query.admits(appointment),
                query.limit,
            )
        })
    }

    async fn live_occupancies(
        &self,
        business_id: BusinessId,
        starts_within: Interval,
        now: Timestamp,
    ) -> Result<Vec<Occupancy>, StoreError> {
        self.read(move |txn| {
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
        self.write(move |txn| {
            let current = appointment_in(txn, business_id, id)?.ok_or(StoreError::NotFound)?;
            if current.version != version {
                return Ok(false);
            }
            let updated = Appointment {
                sync,
                ..current.clone()
            };
            remove_appointment(txn, &current)?;
            write_appointment(txn, &updated)?;
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
        self.read(move |txn| {
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
                let (business, appointment) = id_pair(key.value(), 17, "sync key")?;
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
        self.read(move |txn| {
            let index = txn.open_table(PHONE_INDEX).map_err(backend)?;
            let appointments = txn.open_table(APPOINTMENTS).map_err(backend)?;
            let prefix = phone_prefix(query.business_id, &query.phone);
            let (low, high) = key_range(&prefix, query.starts_within, query.after, query.order);
            if low >= high {
                return Ok(Page::of_appointments(Vec::new(), false));
            }
            let range = index
                .range(low.as_slice()..high.as_slice())
                .map_err(backend)?;
            let entries: Box<dyn Iterator<Item = _>> = match query.order {
                ListOrder::Ascending => Box::new(range),
                ListOrder::Descending => Box::new(range.rev()),
            };
            let candidates = entries.map(|entry| {
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
                // An index entry whose appointment is gone is skipped, not an error.
                read_json::<Appointment>(
                    &appointments,
                    &appointment_key(query.business_id, instant_from_key(start)?, id),
                )
            });
            first_page(
                candidates,
                |appointment| query.admits(appointment),
                query.limit,
            )
        })
    }

    async fn index_existing_phone_numbers(&self) -> Result<u64, StoreError> {
        let done = self.read(|txn| {
            let migrations = txn.open_table(MIGRATIONS).map_err(backend)?;
            Ok(migrations
                .get(PHONE_INDEX_MIGRATION)
                .map_err(backend)?
                .is_some())
        })?;
        if done {
            return Ok(0);
        }
        self.write(|txn| {
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
            Ok(indexed)
        })
        .await
    }
}

/// The keys under `prefix` (laid out `prefix ‖ start ‖ id`, as both the appointments table and the phone index are)
/// whose start lies in `starts_within` (all of them without it), narrowed to those strictly after `after` in
/// `order`. The range is empty when the first bound is not below the second.
fn key_range(
    prefix: &[u8],
    starts_within: Option<Interval>,
    after: Option<PageCursor>,
    order: ListOrder,
) -> (Vec<u8>, Vec<u8>) {
    let (mut low, mut high) = match starts_within {
        Some(range) => (
            key(&[prefix, &instant_key(range.start())]),
            key(&[prefix, &instant_key(range.end())]),
        ),
        None => (prefix.to_vec(), prefix_end(prefix)),
    };
    if let Some(after) = after {
        let cursor = key(&[
            prefix,
            &instant_key(after.start),
            after.id.as_uuid().as_bytes(),
        ]);
        match order {
            ListOrder::Ascending => {
                // Just past the cursor's own key: the next page starts strictly after it.
                let mut resume = cursor;
                resume.push(0);
                low = low.max(resume);
            }
            // The range's end is exclusive, so the cursor's own key is left out.
            ListOrder::Descending => high = high.min(cursor),
        }
    }
    (low, high)
}

/// The first `limit` (1 to 500) candidates a listing admits, in the order they come, and whether another admitted
/// one follows them. A candidate of `None` (an index entry without its record) is passed over.
fn first_page(
    candidates: impl Iterator<Item = Result<Option<Appointment>, StoreError>>,
    admits: impl Fn(&Appointment) -> bool,
    limit: u32,
) -> Result<Page<Appointment>, StoreError> {
    let limit = usize::try_from(limit.clamp(1, 500)).unwrap_or(500);
    let mut items = Vec::new();
    for candidate in candidates {
        let Some(appointment) = candidate? else {
            continue;
        };
        if !admits(&appointment) {
            continue;
        }
        if items.len() == limit {
            return Ok(Page::of_appointments(items, true));
        }
        items.push(appointment);
    }
    Ok(Page::of_appointments(items, false))
}
