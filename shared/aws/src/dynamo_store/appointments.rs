//! Reading appointments (by time, by caller, by sync status), recording their sync state, and the one-time moves of
//! existing items into the phone index and the due index.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use booking_core::domain::{
    Appointment, AppointmentId, AppointmentStatus, BusinessId, Interval, Occupancy, StaffId,
    StaffMember, SyncState, SyncStatus,
};
use booking_core::ports::{
    AppointmentQuery, AppointmentStore, CalendarWatch, CallerQuery, ListOrder, OccupancyRead, Page,
    PageCursor, ReadMark, SeenEntry, StoreError,
};
use jiff::Timestamp;

use super::items::{
    AppointmentItem, BUSINESS_SK, BusinessItem, DUE_INDEX_MIGRATION, DUE_SHARDS,
    FIRST_STAFF_MIGRATION, GSI1, GSI3, OLD_WATCHES_GSI1_PK, PHONE_INDEX_MIGRATION, SINGLETON_SK,
    SK, STAFF_ROSTER_SK, WATCH_SK, appointment_gsi1_sk, appointment_sk, appointments_gsi1_pk,
    business_pk, gsi1_sk_after, instant_key, migration_pk, phone_gsi3_pk, sync_gsi4_keys,
    sync_gsi4_pk, watch_gsi4_pk,
};
use super::ledgers::utc_days;
use super::requests::{next_page, unless_condition_failed};
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
            staff: query
                .staff_id
                .map(|staff| (staff, staff == StaffId::first_of(query.business_id))),
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
        // Into the due index while the sync is pending or failed, out of it once it is not; GSI2's keys go in any
        // case, so each write finishes that appointment's move off the fleet-wide index.
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(business_pk(business_id), appointment_sk(id))))
            .condition_expression("version = :version")
            .expression_attribute_names("#appointment", "appointment")
            .expression_attribute_names("#sync", "sync")
            .expression_attribute_values(":sync", to_value(sync)?)
            .expression_attribute_values(":version", number(version));
        update = match sync_gsi4_keys(business_id, id, sync) {
            Some((due_pk, due_sk)) => update
                .update_expression(
                    "SET #appointment.#sync = :sync, GSI4PK = :due_pk, GSI4SK = :due_sk \
                     REMOVE GSI2PK, GSI2SK",
                )
                .expression_attribute_values(":due_pk", string(due_pk))
                .expression_attribute_values(":due_sk", string(due_sk)),
            None => update.update_expression(
                "SET #appointment.#sync = :sync REMOVE GSI4PK, GSI4SK, GSI2PK, GSI2SK",
            ),
        };
        let result = update.send().await;
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
        let due = self
            .first_due(
                (0..DUE_SHARDS).map(|shard| sync_gsi4_pk(status, shard)),
                "#sk < :bound",
                instant_key(updated_before),
                limit,
            )
            .await?;
        // Kept only if still in this status since before the cutoff: the index lags the table.
        Ok(self
            .due_items::<AppointmentItem>(due)
            .await?
            .into_iter()
            .map(|item| item.appointment)
            .filter(|appointment| {
                appointment.sync.status == status && appointment.sync.updated_at < updated_before
            })
            .collect())
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
            staff: None,
            order: query.order,
            after: query.after,
            limit: query.limit,
        })
        .await
    }

    async fn index_existing_phone_numbers(&self) -> Result<u64, StoreError> {
        // Appointments with a phone that carry no index key yet.
        self.migrate(
            PHONE_INDEX_MIGRATION,
            "begins_with(SK, :appointment) AND attribute_exists(#appointment.#customer.#phone) \
             AND attribute_not_exists(GSI3PK)",
            &[
                ("#appointment", "appointment"),
                ("#customer", "customer"),
                ("#phone", "phone"),
            ],
            &[],
            |item| {
                let stored: AppointmentItem = from_item(item)?;
                let fresh = AppointmentItem::new(&stored.appointment);
                let (Some(gsi3_pk), Some(gsi3_sk)) = (fresh.gsi3_pk, fresh.gsi3_sk) else {
                    return Ok(None);
                };
                Ok(Some(
                    self.unchanged_appointment(&stored)
                        .update_expression("SET GSI3PK = :pk, GSI3SK = :sk")
                        .expression_attribute_values(":pk", string(gsi3_pk))
                        .expression_attribute_values(":sk", string(gsi3_sk)),
                ))
            },
        )
        .await
    }

    async fn index_existing_scheduled_work(&self) -> Result<u64, StoreError> {
        // Appointments still keyed into GSI2's fleet-wide partitions, and watches in GSI1's one `WATCHES`.
        self.migrate(
            DUE_INDEX_MIGRATION,
            "(begins_with(SK, :appointment) AND attribute_exists(GSI2PK)) \
             OR (SK = :watch AND GSI1PK = :watches)",
            &[],
            &[(":watch", WATCH_SK), (":watches", OLD_WATCHES_GSI1_PK)],
            |item| {
                let is_watch =
                    matches!(item.get(SK), Some(AttributeValue::S(sk)) if sk == WATCH_SK);
                Ok(Some(if is_watch {
                    self.watch_into_due_index(from_item(item)?)
                } else {
                    self.appointment_into_due_index(from_item(item)?)
                }))
            },
        )
        .await
    }
}

impl DynamoStore {
    /// The staff migration ([`booking_core::ports::CatalogStore::store_first_staff_members`]): every business item
    /// gets a staff roster holding its first member, created on condition that it is absent, so a rerun or a member
    /// stored meanwhile changes nothing.
    pub(super) async fn store_first_staff_members_once(&self) -> Result<u64, StoreError> {
        self.migrate(
            FIRST_STAFF_MIGRATION,
            "SK = :business",
            &[],
            &[(":business", BUSINESS_SK)],
            |item| {
                let business = from_item::<BusinessItem>(item)?.business;
                let first =
                    StaffMember::first_of(business.id, business.name.clone(), business.created_at);
                Ok(Some(
                    self.client
                        .update_item()
                        .table_name(&self.table)
                        .set_key(Some(key(
                            business_pk(business.id),
                            STAFF_ROSTER_SK.to_owned(),
                        )))
                        .update_expression("SET #members = :members, #version = :version")
                        .condition_expression("attribute_not_exists(PK)")
                        .expression_attribute_names("#members", "members")
                        .expression_attribute_names("#version", "version")
                        .expression_attribute_values(":members", to_value(&[first])?)
                        .expression_attribute_values(":version", number(1)),
                ))
            },
        )
        .await
    }
}

/// A watch as the release before the due index stored it: only what moving it needs.
#[derive(serde::Deserialize)]
struct OldWatchItem {
    version: u64,
    watch: CalendarWatch,
}

impl DynamoStore {
    /// The appointment's due-index keys if its sync is scheduled work, and GSI2's removed, unless it changed.
    fn appointment_into_due_index(&self, stored: AppointmentItem) -> UpdateItemFluentBuilder {
        let appointment = &stored.appointment;
        let update = self.unchanged_appointment(&stored);
        match sync_gsi4_keys(appointment.business_id, appointment.id, &appointment.sync) {
            Some((due_pk, due_sk)) => update
                .update_expression("SET GSI4PK = :due_pk, GSI4SK = :due_sk REMOVE GSI2PK, GSI2SK")
                .expression_attribute_values(":due_pk", string(due_pk))
                .expression_attribute_values(":due_sk", string(due_sk)),
            None => update.update_expression("REMOVE GSI2PK, GSI2SK"),
        }
    }

    /// The watch's shard of the due index instead of GSI1's `WATCHES`, unless it changed.
    fn watch_into_due_index(&self, stored: OldWatchItem) -> UpdateItemFluentBuilder {
        let business = stored.watch.business_id;
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(business_pk(business), WATCH_SK.to_owned())))
            .update_expression("SET GSI4PK = :due_pk, GSI4SK = :due_sk REMOVE GSI1PK, GSI1SK")
            .condition_expression("version = :version")
            .expression_attribute_values(":due_pk", string(watch_gsi4_pk(business)))
            .expression_attribute_values(":due_sk", string(business.to_string()))
            .expression_attribute_values(":version", number(stored.version))
    }

    /// An update of the stored appointment on condition that it is still at the version read.
    fn unchanged_appointment(&self, stored: &AppointmentItem) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(stored.pk.clone(), stored.sk.clone())))
            .condition_expression("version = :version")
            .expression_attribute_values(":version", number(stored.version))
    }

    /// A one-time back-fill: unless `name`'s marker exists, Scan for the items `filter` picks (page by page) and
    /// send the conditional update `move_item` builds for each (`None`: nothing to do), then write the marker.
    /// Answers how many updates applied. A failed condition means the item changed meanwhile, and the change wrote
    /// the whole item, index keys included.
    pub(super) async fn migrate(
        &self,
        name: &str,
        filter: &str,
        names: &[(&str, &str)],
        values: &[(&str, &str)],
        move_item: impl Fn(
            HashMap<String, AttributeValue>,
        ) -> Result<Option<UpdateItemFluentBuilder>, StoreError>,
    ) -> Result<u64, StoreError> {
        if self.migration_done(name).await? {
            return Ok(0);
        }
        let mut moved = 0;
        let mut start_key = None;
        loop {
            let (items, next) = self.scan_page(filter, names, values, start_key).await?;
            for item in items {
                let Some(update) = move_item(item)? else {
                    continue;
                };
                if unless_condition_failed(update.send().await)?.is_some() {
                    moved += 1;
                }
            }
            match next {
                Some(next) => start_key = Some(next),
                None => break,
            }
        }
        self.record_migration(name).await?;
        Ok(moved)
    }

    /// Data migrations record that they finished, so every run after that costs one read.
    async fn migration_done(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(migration_pk(name), SINGLETON_SK.to_owned())))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?
            .item
            .is_some())
    }

    async fn record_migration(&self, name: &str) -> Result<(), StoreError> {
        self.put_item(key(migration_pk(name), SINGLETON_SK.to_owned()))
            .await
    }

    /// One page of a migration's Scan (`:appointment`, the appointments' sort-key prefix, is bound here), and where the next page
    /// starts. Migrations are one-time back-fills, so a Scan is right there; requests never scan.
    async fn scan_page(
        &self,
        filter: &str,
        names: &[(&str, &str)],
        values: &[(&str, &str)],
        start_key: Option<HashMap<String, AttributeValue>>,
    ) -> Result<ScanPage, StoreError> {
        let mut scan = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression(filter)
            .consistent_read(true)
            .set_exclusive_start_key(start_key);
        if filter.contains(":appointment") {
            scan = scan.expression_attribute_values(":appointment", string("APPOINTMENT#"));
        }
        for (placeholder, name) in names {
            scan = scan.expression_attribute_names(*placeholder, *name);
        }
        for (placeholder, value) in values {
            scan = scan.expression_attribute_values(*placeholder, string(*value));
        }
        let output = scan.send().await.map_err(backend)?;
        let next = next_page(output.last_evaluated_key);
        Ok((output.items.unwrap_or_default(), next))
    }
}

type ScanPage = (
    Vec<HashMap<String, AttributeValue>>,
    Option<HashMap<String, AttributeValue>>,
);

/// What both appointment listings ask of an index sorted by `start#id` (GSI1 for a business, GSI3 for a caller):
/// one partition, the starts to cover, the status filters, the direction and where to resume.
struct AppointmentRange {
    index: &'static str,
    partition: String,
    starts_within: Option<Interval>,
    status: Option<AppointmentStatus>,
    sync_status: Option<SyncStatus>,
    /// Only this member's, and whether they are their business's first (who also has the appointments stored
    /// before staff members, which name nobody).
    staff: Option<(StaffId, bool)>,
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
        if let Some((staff, first)) = range.staff {
            names.insert("#appointment".to_owned(), "appointment".to_owned());
            names.insert("#staff".to_owned(), "staff_id".to_owned());
            values.insert(":staff".to_owned(), string(staff.to_string()));
            filters.push(if first {
                "(#appointment.#staff = :staff OR attribute_not_exists(#appointment.#staff))"
            } else {
                "#appointment.#staff = :staff"
            });
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
            match next_page(output.last_evaluated_key) {
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
