//! Reading appointments (by time, by caller, by sync status) and recording their sync state.

use async_trait::async_trait;
use jiff::Timestamp;
use redb::ReadableTable;

use super::rows::{
    appointment_key, occupancies_between, phone_key, phone_prefix, remove_appointment,
    stored_appointment, sync_status_byte, write_appointment,
};
use super::{
    APPOINTMENT_STARTS, APPOINTMENTS, EmbeddedStore, HOLDS, MIGRATIONS, PHONE_INDEX,
    PHONE_INDEX_MIGRATION, SYNC_QUEUE, backend, decode, instant_from_key, instant_key, key,
    prefix_end, read_json,
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
        self.read(move |txn| {
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
