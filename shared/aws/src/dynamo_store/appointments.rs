//! Reading appointments (by time, by caller, by sync status) and recording their sync state.

use std::collections::HashMap;

use async_trait::async_trait;
use booking_core::domain::{
    Appointment, AppointmentId, AppointmentStatus, BusinessId, Interval, Occupancy, SyncState,
    SyncStatus,
};
use booking_core::ports::{
    AppointmentQuery, AppointmentStore, CallerQuery, ListOrder, OccupancyRead, Page, PageCursor,
    ReadMark, SeenEntry, StoreError,
};
use jiff::Timestamp;

use super::items::{
    AppointmentItem, GSI1, GSI2, GSI3, PHONE_INDEX_MIGRATION, SINGLETON_SK, appointment_gsi1_sk,
    appointment_sk, appointments_gsi1_pk, business_pk, gsi1_sk_after, instant_key, migration_pk,
    phone_gsi3_pk, sync_gsi2_pk,
};
use super::ledgers::utc_days;
use super::requests::unless_condition_failed;
use super::{DynamoStore, backend, from_item, key, number, string, to_value};

#[async_trait]
impl AppointmentStore for DynamoStore {
    async fn get_appointment(
        &self,
        business_id: BusinessId,
        id: AppointmentId,
    ) -> Result<Option<Appointment>, StoreError> {
        self.get_appointment_item(business_id, id).await
    }

    async fn list_appointments(
        &self,
        query: &AppointmentQuery,
    ) -> Result<Page<Appointment>, StoreError> {
        self.appointments_page(AppointmentRange {
            index: GSI1,
            partition: appointments_gsi1_pk(query.business_id),
            starts_within: query.starts_within,
            status: query.status,
            sync_status: query.sync_status,
            order: ListOrder::Ascending,
            after: query.after,
            limit: query.limit,
        })
        .await
    }

    async fn live_occupancies(
        &self,
        business_id: BusinessId,
        starts_within: Interval,
        now: Timestamp,
    ) -> Result<Vec<Occupancy>, StoreError> {
        Ok(self
            .read_live_occupancies(business_id, starts_within, now)
            .await?
            .occupancies)
    }

    /// One consistent Query of the ledgers of the range's dates. The ledgers as read are the read's note, so a
    /// booking checked against them writes on condition of exactly what it saw without querying them again.
    async fn read_live_occupancies(
        &self,
        business_id: BusinessId,
        starts_within: Interval,
        now: Timestamp,
    ) -> Result<OccupancyRead, StoreError> {
        let days = utc_days(&starts_within);
        let (Some(first), Some(last)) = (days.first(), days.last()) else {
            return Ok(OccupancyRead::default());
        };
        let snapshot = self.ledger_snapshot(business_id, *first, *last).await?;
        let occupancies = {
            let mut found: HashMap<AppointmentId, &SeenEntry> = HashMap::new();
            for ledger in snapshot.ledgers.values() {
                for (id, entry) in &ledger.entries {
                    if starts_within.start() <= entry.start
                        && entry.start < starts_within.end()
                        && entry.counts_at(now)
                    {
                        found.insert(*id, entry);
                    }
                }
            }
            let mut occupancies: Vec<(Timestamp, Occupancy)> = found
                .into_values()
                .map(|entry| (entry.start, entry.occupancy))
                .collect();
            occupancies.sort_by_key(|(start, occupancy)| (*start, occupancy.appointment_id));
            occupancies
                .into_iter()
                .map(|(_, occupancy)| occupancy)
                .collect()
        };
        Ok(OccupancyRead {
            occupancies,
            mark: ReadMark::of(snapshot),
        })
    }

    async fn update_sync_state(
        &self,
        business_id: BusinessId,
        id: AppointmentId,
        version: u64,
        sync: &SyncState,
    ) -> Result<bool, StoreError> {
        let sort_key = format!("{}#{business_id}#{id}", instant_key(sync.updated_at));
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(business_pk(business_id), appointment_sk(id))))
            .update_expression("SET #appointment.#sync = :sync, GSI2PK = :gsi2pk, GSI2SK = :gsi2sk")
            .condition_expression("version = :version")
            .expression_attribute_names("#appointment", "appointment")
            .expression_attribute_names("#sync", "sync")
            .expression_attribute_values(":sync", to_value(sync)?)
            .expression_attribute_values(":gsi2pk", string(sync_gsi2_pk(sync.status)))
            .expression_attribute_values(":gsi2sk", string(sort_key))
            .expression_attribute_values(":version", number(version))
            .send()
            .await;
        if unless_condition_failed(result)?.is_some() {
            return Ok(true);
        }
        match self.get_appointment_item(business_id, id).await? {
            Some(_) => Ok(false),
            None => Err(StoreError::NotFound),
        }
    }

    async fn appointments_by_sync_status(
        &self,
        status: SyncStatus,
        updated_before: Timestamp,
        limit: u32,
    ) -> Result<Vec<Appointment>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let items: Vec<AppointmentItem> = self
            .query_index(
                GSI2,
                sync_gsi2_pk(status),
                "#sk < :before",
                vec![(":before", instant_key(updated_before))],
                Some(limit),
                None,
            )
            .await?;
        Ok(items.into_iter().map(|item| item.appointment).collect())
    }

    async fn appointments_by_phone(
        &self,
        query: &CallerQuery,
    ) -> Result<Page<Appointment>, StoreError> {
        self.appointments_page(AppointmentRange {
            index: GSI3,
            partition: phone_gsi3_pk(query.business_id, &query.phone),
            starts_within: query.starts_within,
            status: query.status,
            sync_status: query.sync_status,
            order: query.order,
            after: query.after,
            limit: query.limit,
        })
        .await
    }

    async fn index_existing_phone_numbers(&self) -> Result<u64, StoreError> {
        let marker = key(migration_pk(PHONE_INDEX_MIGRATION), SINGLETON_SK.to_owned());
        let done = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(marker.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?
            .item
            .is_some();
        if done {
            return Ok(0);
        }
        // A one-time migration, so a Scan is right here (requests never scan): it finds appointments with a phone
        // that carry no index key yet.
        let mut indexed = 0;
        let mut start_key = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression(
                    "begins_with(SK, :appointment) AND attribute_exists(#appointment.#customer.#phone) \
                     AND attribute_not_exists(GSI3PK)",
                )
                .expression_attribute_names("#appointment", "appointment")
                .expression_attribute_names("#customer", "customer")
                .expression_attribute_names("#phone", "phone")
                .expression_attribute_values(":appointment", string("APPOINTMENT#"))
                .consistent_read(true)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                let stored: AppointmentItem = from_item(item)?;
                let fresh = AppointmentItem::new(&stored.appointment);
                let (Some(gsi3_pk), Some(gsi3_sk)) = (fresh.gsi3_pk, fresh.gsi3_sk) else {
                    continue;
                };
                let result = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key(stored.pk, stored.sk)))
                    .update_expression("SET GSI3PK = :pk, GSI3SK = :sk")
                    .condition_expression("version = :version")
                    .expression_attribute_values(":pk", string(gsi3_pk))
                    .expression_attribute_values(":sk", string(gsi3_sk))
                    .expression_attribute_values(":version", number(stored.version))
                    .send()
                    .await;
                // A failed condition means it changed meanwhile: the change wrote the whole item, index keys included.
                if unless_condition_failed(result)?.is_some() {
                    indexed += 1;
                }
            }
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start_key = Some(next),
                _ => break,
            }
        }
        self.put_item(marker).await?;
        Ok(indexed)
    }
}

/// What both appointment listings ask of an index sorted by `start#id` (GSI1 for a business, GSI3 for a caller):
/// one partition, the starts to cover, the status filters, the direction and where to resume.
struct AppointmentRange {
    index: &'static str,
    partition: String,
    starts_within: Option<Interval>,
    status: Option<AppointmentStatus>,
    sync_status: Option<SyncStatus>,
    order: ListOrder,
    after: Option<PageCursor>,
    limit: u32,
}

impl DynamoStore {
    /// One page of a listing: the sort-key range, DynamoDB's filter for the statuses, then Query pages until the
    /// page is full or the range is read.
    async fn appointments_page(
        &self,
        range: AppointmentRange,
    ) -> Result<Page<Appointment>, StoreError> {
        let mut low = range
            .starts_within
            .map_or_else(|| "0".to_owned(), |starts| instant_key(starts.start()));
        // Keys are `instant#id`, so the bare key of the range's end sorts above every start before it.
        let mut high = range
            .starts_within
            .map_or_else(|| "~".to_owned(), |starts| instant_key(starts.end()));
        if let Some(after) = &range.after {
            match range.order {
                ListOrder::Ascending => low = low.max(gsi1_sk_after(after)),
                // BETWEEN is inclusive: the cursor's own item comes back first and is skipped below.
                ListOrder::Descending => {
                    high = high.min(appointment_gsi1_sk(after.start, after.id))
                }
            }
        }
        if low > high {
            return Ok(Page::of_appointments(Vec::new(), false));
        }
        let mut filters = Vec::new();
        let mut names = HashMap::from([
            ("#pk".to_owned(), format!("{}PK", range.index)),
            ("#sk".to_owned(), format!("{}SK", range.index)),
        ]);
        let mut values = HashMap::from([
            (":pk".to_owned(), string(range.partition)),
            (":low".to_owned(), string(low)),
            (":high".to_owned(), string(high)),
        ]);
        if range.status.is_some() || range.sync_status.is_some() {
            names.insert("#appointment".to_owned(), "appointment".to_owned());
            names.insert("#status".to_owned(), "status".to_owned());
        }
        if let Some(status) = range.status {
            filters.push("#appointment.#status = :status");
            values.insert(":status".to_owned(), to_value(&status)?);
        }
        if let Some(sync_status) = range.sync_status {
            names.insert("#sync".to_owned(), "sync".to_owned());
            filters.push("#appointment.#sync.#status = :sync_status");
            values.insert(":sync_status".to_owned(), to_value(&sync_status)?);
        }
        let limit = range.limit.clamp(1, 500) as usize;
        let mut items: Vec<Appointment> = Vec::new();
        let mut start_key = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(range.index)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .set_filter_expression((!filters.is_empty()).then(|| filters.join(" AND ")))
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(range.order == ListOrder::Ascending)
                // DynamoDB limits what it reads before filtering, so asking for one more than is missing never
                // overshoots by more than the one that tells whether a next page exists (or the cursor's own item,
                // which may come first on a descending page).
                .limit((limit - items.len() + 1) as i32)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                let appointment = from_item::<AppointmentItem>(item)?.appointment;
                let is_cursor = range.after.is_some_and(|after| {
                    after.start == appointment.time.start() && after.id == appointment.id
                });
                if is_cursor {
                    continue;
                }
                if items.len() == limit {
                    // A match beyond this page: there is a next one.
                    return Ok(Page::of_appointments(items, true));
                }
                items.push(appointment);
            }
            match output.last_evaluated_key.filter(|key| !key.is_empty()) {
                Some(key) => start_key = Some(key),
                None => return Ok(Page::of_appointments(items, false)),
            }
        }
    }

    pub(super) async fn get_appointment_item(
        &self,
        business: BusinessId,
        id: AppointmentId,
    ) -> Result<Option<Appointment>, StoreError> {
        Ok(self
            .get::<AppointmentItem>(business_pk(business), appointment_sk(id))
            .await?
            .map(|item| item.appointment))
    }
}
