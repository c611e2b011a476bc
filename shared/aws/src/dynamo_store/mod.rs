//! `Store` on one DynamoDB table. The design (keys, indexes, item shapes, and why bookings go through per-day
//! ledgers) is in DESIGN.md beside this file.

mod accounts;
mod items;
mod schema;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValue, TransactWriteItem, Update,
};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rand::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::domain::{
    ApiKeyHash, Appointment, AppointmentId, BookingConflict, Business, BusinessId,
    BusinessSettings, Hold, HoldId, Interval, Occupancy, Service, ServiceId, SyncState, SyncStatus,
    check_booking_conflicts,
};
use shared::ports::{
    AppointmentChange, AppointmentQuery, AppointmentStore, BookingStore, BusyEvent, BusyTimeStore,
    CalendarConnection, CalendarWatch, CallerQuery, CatalogStore, ConnectionHealth,
    ConnectionStore, IdempotencyKey, IdempotencyRecord, LeaseStore, ListOrder, NewBooking, NewHold,
    OAuthAttempt, Page, PageCursor, ProviderKind, StoreError,
};

use items::*;
pub use schema::create_table;

/// How often a booking re-reads and retries when another booking of the same days committed first. Each retry
/// follows a commit of someone else, so progress is guaranteed; the cap only bounds a pathological storm.
const MAX_BOOKING_ATTEMPTS: u32 = 64;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn backend(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(error))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("corrupt item: {what}").into())
}

fn to_item(value: &impl Serialize) -> Result<HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::to_item(value).map_err(backend)
}

fn to_value(value: &impl Serialize) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(backend)
}

fn from_item<T: DeserializeOwned>(item: HashMap<String, AttributeValue>) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(backend)
}

fn string(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key(pk: String, sk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.to_owned(), string(pk)), (SK.to_owned(), string(sk))])
}

fn nanos(instant: Timestamp) -> Result<i64, StoreError> {
    i64::try_from(instant.as_nanosecond()).map_err(|_| corrupt("instant out of range"))
}

/// The UTC dates an interval touches (its end is exclusive).
fn utc_days(interval: &Interval) -> Vec<Date> {
    let first = interval.start().to_zoned_datetime(TimeZone::UTC).date();
    let last = (interval.end() - SignedDuration::from_nanos(1))
        .to_zoned_datetime(TimeZone::UTC)
        .date();
    let mut days = vec![first];
    let mut day = first;
    while day < last {
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
        days.push(day);
    }
    days
}

/// Why a transaction was cancelled, item by item, in the order the items were sent.
enum WriteOutcome {
    Committed,
    Cancelled(Vec<CancelReason>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CancelReason {
    Passed,
    ConditionFailed,
    /// Another transaction held the item; trying again is right.
    Contended,
}

impl WriteOutcome {
    fn failed(&self, index: usize) -> bool {
        matches!(self, Self::Cancelled(reasons) if reasons.get(index) == Some(&CancelReason::ConditionFailed))
    }

    fn contended(&self) -> bool {
        matches!(self, Self::Cancelled(reasons) if reasons.contains(&CancelReason::Contended))
    }
}

/// A ledger as read: absent, or at a version. Writing an entry is conditional on exactly this.
#[derive(Clone, Copy)]
enum LedgerVersion {
    Absent,
    At(u64),
}

/// One ledger as a booking read it: its version, the occupancies that count now, and the entries of holds that
/// have expired (a write to the ledger removes them, tidying as it goes).
struct LedgerRead {
    version: LedgerVersion,
    occupancies: Vec<Occupancy>,
    expired: Vec<AppointmentId>,
}

/// A ledger the write adds an entry to, conditional on the version read.
struct LedgerTouch {
    day: Date,
    version: LedgerVersion,
    expired: Vec<AppointmentId>,
}

/// The items of a booking transaction, with the positions the cancellation reasons are checked at.
struct BookingWrite {
    items: Vec<TransactWriteItem>,
    ledger_positions: Vec<usize>,
    day_count_position: Option<usize>,
    idempotency_position: Option<usize>,
}

/// A day count as read for a write checked against the daily limit.
struct DayCountRead {
    item: DayCountItem,
}

impl DynamoStore {
    /// `table` must have the schema of `infra/template.yaml` (see [`create_table`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    async fn get<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: String,
    ) -> Result<Option<T>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        output.item.map(from_item).transpose()
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<WriteOutcome, StoreError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(WriteOutcome::Committed),
            Err(SdkError::ServiceError(failure)) => match failure.err() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                    let reasons = cancelled
                        .cancellation_reasons()
                        .iter()
                        .map(|reason| match reason.code() {
                            Some("ConditionalCheckFailed") => CancelReason::ConditionFailed,
                            Some("None") | None => CancelReason::Passed,
                            Some(_) => CancelReason::Contended,
                        })
                        .collect();
                    Ok(WriteOutcome::Cancelled(reasons))
                }
                // Conflicts with a transaction in flight on the same items are reported this way too.
                TransactWriteItemsError::TransactionInProgressException(_) => {
                    Ok(WriteOutcome::Cancelled(vec![CancelReason::Contended]))
                }
                _ => Err(backend(SdkError::ServiceError(failure))),
            },
            Err(other) => Err(backend(other)),
        }
    }

    /// Deletes an item unconditionally; deleting one that is not there succeeds.
    async fn delete(&self, pk: String, sk: String) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    fn put(
        &self,
        item: HashMap<String, AttributeValue>,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(backend)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Reads the ledgers of `days` (consecutive UTC dates) in one consistent query; holds count if alive at `now`.
    async fn read_ledgers(
        &self,
        business: BusinessId,
        days: &[Date],
        now: Timestamp,
    ) -> Result<HashMap<Date, LedgerRead>, StoreError> {
        let mut ledgers: HashMap<Date, LedgerRead> = days
            .iter()
            .map(|day| {
                let absent = LedgerRead {
                    version: LedgerVersion::Absent,
                    occupancies: Vec::new(),
                    expired: Vec::new(),
                };
                (*day, absent)
            })
            .collect();
        let (Some(first), Some(last)) = (days.first(), days.last()) else {
            return Ok(ledgers);
        };
        for item in self.query_ledgers(business, *first, *last).await? {
            let day: Date = item
                .sk
                .strip_prefix("LEDGER#")
                .and_then(|day| day.parse().ok())
                .ok_or_else(|| corrupt("ledger key"))?;
            let mut read = LedgerRead {
                version: LedgerVersion::At(item.version),
                occupancies: Vec::new(),
                expired: Vec::new(),
            };
            for (id, entry) in &item.entries {
                if entry.counts_at(now) {
                    read.occupancies.push(entry.occupancy(*id));
                } else {
                    read.expired.push(*id);
                }
            }
            ledgers.insert(day, read);
        }
        Ok(ledgers)
    }

    async fn query_ledgers(
        &self,
        business: BusinessId,
        first: Date,
        last: Date,
    ) -> Result<Vec<LedgerItem>, StoreError> {
        let mut ledgers = Vec::new();
        let mut start_key = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND SK BETWEEN :first AND :last")
                .expression_attribute_values(":pk", string(business_pk(business)))
                .expression_attribute_values(":first", string(ledger_sk(first)))
                .expression_attribute_values(":last", string(ledger_sk(last)))
                .projection_expression("SK, version, entries")
                .consistent_read(true)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                ledgers.push(from_item(item)?);
            }
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start_key = Some(next),
                _ => return Ok(ledgers),
            }
        }
    }

    /// Adds an entry (an appointment's or a hold's) to a ledger, on condition that the ledger is still as it was read:
    /// any booking committed since on that day makes this transaction fail and re-check. Expired holds' entries seen
    /// in the read are removed on the way.
    fn ledger_add(
        &self,
        business: BusinessId,
        id: AppointmentId,
        entry: &LedgerEntry,
        touch: &LedgerTouch,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(business_pk(business), ledger_sk(touch.day))))
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#entries", "entries")
            .expression_attribute_values(":one", number(1));
        let update = match touch.version {
            LedgerVersion::Absent => update
                .update_expression("SET #entries = :entries, #version = :one")
                .condition_expression("attribute_not_exists(PK)")
                .expression_attribute_values(
                    ":entries",
                    to_value(&HashMap::from([(id, entry.clone())]))?,
                ),
            LedgerVersion::At(read) => {
                let mut update = update
                    .condition_expression("#version = :read")
                    .expression_attribute_names("#id", id.to_string())
                    .expression_attribute_values(":entry", to_value(entry)?)
                    .expression_attribute_values(":read", number(read));
                let mut removals = Vec::new();
                for (n, expired) in touch.expired.iter().filter(|e| **e != id).enumerate() {
                    let name = format!("#expired{n}");
                    removals.push(format!("#entries.{name}"));
                    update = update.expression_attribute_names(name, expired.to_string());
                }
                let mut expression =
                    "SET #entries.#id = :entry, #version = #version + :one".to_owned();
                if !removals.is_empty() {
                    expression.push_str(" REMOVE ");
                    expression.push_str(&removals.join(", "));
                }
                update.update_expression(expression)
            }
        };
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(backend)?)
            .build())
    }

    /// Removing needs no read: it only frees time, so it cannot break a rule whatever committed meanwhile.
    fn ledger_remove(
        &self,
        business: BusinessId,
        id: AppointmentId,
        day: Date,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(business_pk(business), ledger_sk(day))))
            .update_expression("REMOVE #entries.#id SET #version = #version + :one")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#entries", "entries")
            .expression_attribute_names("#id", id.to_string())
            .expression_attribute_values(":one", number(1))
            .build()
            .map_err(backend)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    async fn read_day_count(
        &self,
        business: BusinessId,
        service: ServiceId,
        local_date: Date,
    ) -> Result<DayCountRead, StoreError> {
        let item: Option<DayCountItem> = self
            .get(business_pk(business), day_count_sk(service, local_date))
            .await?;
        Ok(DayCountRead {
            item: item.unwrap_or_default(),
        })
    }

    /// The condition that the day count is still at the version `read` saw.
    fn day_count_unchanged(update: UpdateBuilder, read: &DayCountRead) -> UpdateBuilder {
        match read.item.version {
            Some(version) => update
                .condition_expression("#version = :read")
                .expression_attribute_values(":read", number(version)),
            None => update.condition_expression("attribute_not_exists(#version)"),
        }
    }

    /// Counts a live appointment on its service's local date. A write checked against a limit is conditional on
    /// the count being as read, so two writers can never both take the last place.
    fn day_count_add(
        &self,
        appointment: &Appointment,
        read: Option<&DayCountRead>,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                business_pk(appointment.business_id),
                day_count_sk(appointment.service_id, appointment.local_date),
            )))
            .update_expression("ADD booked :one, #version :one")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":one", number(1));
        let update = match read {
            Some(read) => Self::day_count_unchanged(update, read),
            None => update,
        };
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(backend)?)
            .build())
    }

    fn day_count_remove(&self, appointment: &Appointment) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                business_pk(appointment.business_id),
                day_count_sk(appointment.service_id, appointment.local_date),
            )))
            .update_expression("ADD booked :minus_one")
            .expression_attribute_values(":minus_one", number(-1))
            .build()
            .map_err(backend)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Adds a hold to its day count, writing the whole map of live holds (expired ones drop out) on condition that
    /// the count is as read.
    fn day_count_add_hold(
        &self,
        hold: &Hold,
        read: &DayCountRead,
    ) -> Result<TransactWriteItem, StoreError> {
        let now = nanos(hold.created_at)?;
        let mut holds: HashMap<String, i64> = read
            .item
            .holds
            .iter()
            .filter(|(_, expires)| **expires > now)
            .map(|(id, expires)| (id.clone(), *expires))
            .collect();
        holds.insert(hold.id.to_string(), nanos(hold.expires_at)?);
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                business_pk(hold.business_id),
                day_count_sk(hold.service_id, hold.local_date),
            )))
            .update_expression("SET #holds = :holds ADD #version :one")
            .expression_attribute_names("#holds", "holds")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":holds", to_value(&holds)?)
            .expression_attribute_values(":one", number(1));
        let update = Self::day_count_unchanged(update, read);
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(backend)?)
            .build())
    }

    /// Takes a hold out of its day count; when it becomes its appointment, the appointment is counted instead.
    /// The version moves, so a concurrent writer that read the hold cannot write it back.
    fn day_count_remove_hold(
        &self,
        business: BusinessId,
        service: ServiceId,
        local_date: Date,
        hold: HoldId,
        converted: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let expression = if converted {
            "REMOVE #holds.#hold ADD booked :one, #version :one"
        } else {
            "REMOVE #holds.#hold ADD #version :one"
        };
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                business_pk(business),
                day_count_sk(service, local_date),
            )))
            .update_expression(expression)
            .expression_attribute_names("#holds", "holds")
            .expression_attribute_names("#hold", hold.to_string())
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":one", number(1))
            .build()
            .map_err(backend)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Refuses when the service's day is full at `now`: booked appointments plus live holds.
    fn check_daily_limit(
        read: &DayCountRead,
        limit: Option<u32>,
        local_date: Date,
        now: Timestamp,
        excluding: Option<&str>,
    ) -> Result<(), StoreError> {
        let Some(limit) = limit else {
            return Ok(());
        };
        if read.item.live(nanos(now)?, excluding) >= i64::from(limit) {
            return Err(StoreError::Conflict(BookingConflict::DailyLimitReached {
                date: local_date,
                limit,
            }));
        }
        Ok(())
    }

    /// Reads the ledgers the candidate's occupied time touches and checks it against them (holds alive at `now`
    /// included). Returns how each ledger was read, for the conditional writes.
    async fn check_overlaps(
        &self,
        business: BusinessId,
        candidate: &Occupancy,
        now: Timestamp,
    ) -> Result<Vec<LedgerTouch>, StoreError> {
        let days = utc_days(&candidate.occupied);
        let mut ledgers = self.read_ledgers(business, &days, now).await?;
        // The daily limit is the day counter's job; the ledgers only see the days the occupied time touches.
        check_booking_conflicts(
            candidate,
            ledgers.values().flat_map(|read| &read.occupancies),
            None,
        )?;
        Ok(days
            .into_iter()
            .map(|day| match ledgers.remove(&day) {
                Some(read) => LedgerTouch {
                    day,
                    version: read.version,
                    expired: read.expired,
                },
                None => LedgerTouch {
                    day,
                    version: LedgerVersion::Absent,
                    expired: Vec::new(),
                },
            })
            .collect())
    }

    /// The ledgers and, when a limit applies, the day count a write of `candidate` must be conditional on, read at
    /// once; the rules are checked on what was read.
    async fn read_for_write(
        &self,
        business: BusinessId,
        candidate: &Occupancy,
        count_with_limit: Option<u32>,
        now: Timestamp,
    ) -> Result<(Vec<LedgerTouch>, Option<DayCountRead>), StoreError> {
        let count = async {
            match count_with_limit {
                Some(_) => self
                    .read_day_count(business, candidate.service_id, candidate.local_date)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let (ledgers, count) =
            tokio::try_join!(self.check_overlaps(business, candidate, now), count)?;
        if let Some(count) = &count {
            let excluding = candidate.appointment_id.to_string();
            Self::check_daily_limit(
                count,
                count_with_limit,
                candidate.local_date,
                now,
                Some(&excluding),
            )?;
        }
        Ok((ledgers, count))
    }

    /// The write that makes `next` the stored state of an appointment that was `previous` (None for a new one).
    fn booking_write(
        &self,
        previous: Option<&Appointment>,
        next: &Appointment,
        read_ledgers: &[LedgerTouch],
        day_count: Option<&DayCountRead>,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<BookingWrite, StoreError> {
        let item = to_item(&AppointmentItem::new(next))?;
        let mut items = vec![match previous {
            None => self.put(item, Some("attribute_not_exists(PK)"))?,
            Some(previous) => {
                let put = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .condition_expression("version = :expected")
                    .expression_attribute_values(":expected", number(previous.version))
                    .build()
                    .map_err(backend)?;
                TransactWriteItem::builder().put(put).build()
            }
        }];

        let entry = LedgerEntry::of(next);
        let mut ledger_positions = Vec::new();
        for touch in read_ledgers {
            ledger_positions.push(items.len());
            items.push(self.ledger_add(next.business_id, next.id, &entry, touch)?);
        }
        let live_previous = previous.filter(|previous| previous.is_live());
        if let Some(previous) = live_previous {
            let kept: BTreeSet<Date> = read_ledgers.iter().map(|touch| touch.day).collect();
            for day in utc_days(&previous.occupied()) {
                if !kept.contains(&day) {
                    items.push(self.ledger_remove(previous.business_id, previous.id, day)?);
                }
            }
        }

        let counted_on =
            |appointment: &Appointment| (appointment.service_id, appointment.local_date);
        let mut day_count_position = None;
        match (live_previous, next.is_live()) {
            (Some(previous), true) if counted_on(previous) == counted_on(next) => {}
            (previous, next_live) => {
                if let Some(previous) = previous {
                    items.push(self.day_count_remove(previous)?);
                }
                if next_live {
                    day_count_position = Some(items.len());
                    items.push(self.day_count_add(next, day_count)?);
                }
            }
        }

        let idempotency_position = match idempotency {
            Some(record) => {
                items.push(self.idempotency_put(record)?);
                Some(items.len() - 1)
            }
            None => None,
        };
        Ok(BookingWrite {
            items,
            ledger_positions,
            day_count_position,
            idempotency_position,
        })
    }

    fn idempotency_put(&self, record: &IdempotencyRecord) -> Result<TransactWriteItem, StoreError> {
        let item = IdempotencyItem {
            pk: business_pk(record.business_id),
            sk: idempotency_sk(record.key.as_ref()),
            expires_at_epoch: record.expires_at.as_second(),
            expires_at_nanos: nanos(record.expires_at)?,
            record: record.clone(),
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?))
            .condition_expression("attribute_not_exists(PK) OR expires_at_nanos <= :now")
            .expression_attribute_values(":now", number(nanos(record.created_at)?))
            .build()
            .map_err(backend)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    async fn get_appointment_item(
        &self,
        business: BusinessId,
        id: AppointmentId,
    ) -> Result<Option<Appointment>, StoreError> {
        Ok(self
            .get::<AppointmentItem>(business_pk(business), appointment_sk(id))
            .await?
            .map(|item| item.appointment))
    }

    async fn query_index<T: DeserializeOwned>(
        &self,
        index: &str,
        partition: String,
        sort_condition: &str,
        values: Vec<(&str, String)>,
        limit: Option<u32>,
        projection: Option<(&str, &[(&str, &str)])>,
    ) -> Result<Vec<T>, StoreError> {
        let mut found = Vec::new();
        let mut start_key = None;
        loop {
            let pk_name = format!("{index}PK");
            let sk_name = format!("{index}SK");
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(format!("#pk = :pk AND {sort_condition}"))
                .expression_attribute_names("#pk", pk_name)
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":pk", string(partition.clone()))
                .set_exclusive_start_key(start_key)
                .set_limit(limit.map(|limit| limit.saturating_sub(found.len() as u32) as i32));
            for (name, value) in &values {
                query = query.expression_attribute_values(*name, string(value.clone()));
            }
            if let Some((expression, names)) = projection {
                query = query.projection_expression(expression);
                for (placeholder, name) in names {
                    query = query.expression_attribute_names(*placeholder, *name);
                }
            }
            let output = query.send().await.map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                found.push(from_item(item)?);
            }
            let full = limit.is_some_and(|limit| found.len() >= limit as usize);
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() && !full => start_key = Some(next),
                _ => return Ok(found),
            }
        }
    }
}

#[async_trait]
impl CatalogStore for DynamoStore {
    async fn create_business(
        &self,
        business: &Business,
        api_key: &ApiKeyHash,
    ) -> Result<(), StoreError> {
        let business_item = BusinessItem {
            pk: business_pk(business.id),
            sk: BUSINESS_SK.to_owned(),
            business: business.clone(),
        };
        let key_item = ApiKeyItem {
            pk: api_key_pk(api_key.as_str()),
            sk: API_KEY_SK.to_owned(),
            business: business.clone(),
        };
        let condition = Some("attribute_not_exists(PK)");
        let first_key = accounts::ApiKeyRecordItem::new(&shared::ports::first_api_key_record(
            business, api_key,
        ));
        let outcome = self
            .transact(vec![
                self.put(to_item(&business_item)?, condition)?,
                self.put(to_item(&key_item)?, condition)?,
                self.put(to_item(&first_key)?, condition)?,
            ])
            .await?;
        match outcome {
            WriteOutcome::Committed => Ok(()),
            outcome if outcome.failed(0) || outcome.failed(1) => Err(StoreError::AlreadyExists),
            _ => Err(StoreError::Backend(
                "creating the business was cancelled".into(),
            )),
        }
    }

    async fn get_business(&self, id: BusinessId) -> Result<Option<Business>, StoreError> {
        Ok(self
            .get::<BusinessItem>(business_pk(id), BUSINESS_SK.to_owned())
            .await?
            .map(|item| item.business))
    }

    async fn create_service(&self, service: &Service) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&ServiceItem::new(service))?))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::AlreadyExists)
            }
            Err(error) => Err(backend(error)),
        }
    }

    async fn update_service(
        &self,
        service: &Service,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&ServiceItem::new(service))?))
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", number(expected_version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_conditional_check_failed_exception()) =>
            {
                match self.get_service(service.business_id, service.id).await? {
                    Some(_) => Err(StoreError::VersionMismatch),
                    None => Err(StoreError::NotFound),
                }
            }
            Err(error) => Err(backend(error)),
        }
    }

    async fn get_service(
        &self,
        business_id: BusinessId,
        id: ServiceId,
    ) -> Result<Option<Service>, StoreError> {
        Ok(self
            .get::<ServiceItem>(business_pk(business_id), service_sk(id))
            .await?
            .map(|item| item.service))
    }

    async fn list_services(&self, business_id: BusinessId) -> Result<Vec<Service>, StoreError> {
        let mut services = Vec::new();
        let mut start_key = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", string(business_pk(business_id)))
                .expression_attribute_values(":prefix", string(SERVICE_PREFIX))
                .consistent_read(true)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                services.push(from_item::<ServiceItem>(item)?.service);
            }
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start_key = Some(next),
                _ => return Ok(services),
            }
        }
    }

    async fn get_business_settings(
        &self,
        business_id: BusinessId,
    ) -> Result<BusinessSettings, StoreError> {
        Ok(self
            .get::<BusinessSettingsItem>(business_pk(business_id), SETTINGS_SK.to_owned())
            .await?
            .map(|item| item.settings)
            .unwrap_or_default())
    }

    async fn put_business_settings(
        &self,
        business_id: BusinessId,
        settings: &BusinessSettings,
    ) -> Result<(), StoreError> {
        let item = BusinessSettingsItem {
            pk: business_pk(business_id),
            sk: SETTINGS_SK.to_owned(),
            settings: settings.clone(),
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl BookingStore for DynamoStore {
    async fn create_appointment(&self, booking: NewBooking<'_>) -> Result<(), StoreError> {
        let appointment = booking.appointment;
        let now = appointment.updated_at;
        for attempt in 0..MAX_BOOKING_ATTEMPTS {
            let (ledgers, day_count) = self
                .read_for_write(
                    appointment.business_id,
                    &appointment.occupancy(),
                    booking.max_per_day,
                    now,
                )
                .await?;
            let write = self.booking_write(
                None,
                appointment,
                &ledgers,
                day_count.as_ref(),
                booking.idempotency,
            )?;
            let outcome = self.transact(write.items).await?;
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
            if write.ledger_positions.iter().any(|at| outcome.failed(*at))
                || write
                    .day_count_position
                    .is_some_and(|at| outcome.failed(at))
                || outcome.contended()
            {
                back_off(attempt).await;
                continue;
            }
            return Err(StoreError::Backend(
                "booking transaction cancelled for no known reason".into(),
            ));
        }
        Err(StoreError::Backend(
            "booking gave up under contention".into(),
        ))
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
            let counted_again = current.is_live()
                && (current.service_id, current.local_date) == (next.service_id, next.local_date);
            let limit = change.max_per_day.filter(|_| !counted_again);
            let (ledgers, day_count) = if next.is_live() {
                self.read_for_write(next.business_id, &next.occupancy(), limit, now)
                    .await?
            } else {
                (Vec::new(), None)
            };
            let write =
                self.booking_write(Some(&current), next, &ledgers, day_count.as_ref(), None)?;
            let outcome = self.transact(write.items).await?;
            if matches!(outcome, WriteOutcome::Committed) {
                return Ok(());
            }
            // A changed appointment, a booking on the same days or the same day count, or a contended item: read
            // again and decide.
            if outcome.failed(0)
                || write.ledger_positions.iter().any(|at| outcome.failed(*at))
                || write
                    .day_count_position
                    .is_some_and(|at| outcome.failed(at))
                || outcome.contended()
            {
                back_off(attempt).await;
                continue;
            }
            return Err(StoreError::Backend(
                "change transaction cancelled for no known reason".into(),
            ));
        }
        Err(StoreError::Backend(
            "change gave up under contention".into(),
        ))
    }

    async fn create_hold(&self, new: NewHold<'_>) -> Result<(), StoreError> {
        let hold = new.hold;
        let occupancy = hold.occupancy();
        for attempt in 0..MAX_BOOKING_ATTEMPTS {
            // A hold always writes its day count (the map of live holds), so it reads it even without a limit.
            let (ledgers, day_count) = tokio::try_join!(
                self.check_overlaps(hold.business_id, &occupancy, hold.created_at),
                self.read_day_count(hold.business_id, hold.service_id, hold.local_date),
            )?;
            Self::check_daily_limit(
                &day_count,
                new.max_per_day,
                hold.local_date,
                hold.created_at,
                None,
            )?;
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
            let mut items = vec![
                self.put(to_item(&item)?, Some("attribute_not_exists(PK)"))?,
                TransactWriteItem::builder()
                    .condition_check(appointment_absent)
                    .build(),
            ];
            let entry = LedgerEntry::of_hold(hold);
            let mut ledger_positions = Vec::new();
            for touch in &ledgers {
                ledger_positions.push(items.len());
                items.push(self.ledger_add(
                    hold.business_id,
                    occupancy.appointment_id,
                    &entry,
                    touch,
                )?);
            }
            let day_count_position = items.len();
            items.push(self.day_count_add_hold(hold, &day_count)?);
            let outcome = self.transact(items).await?;
            if matches!(outcome, WriteOutcome::Committed) {
                return Ok(());
            }
            if outcome.failed(0) || outcome.failed(1) {
                return Err(StoreError::AlreadyExists);
            }
            if ledger_positions.iter().any(|at| outcome.failed(*at))
                || outcome.failed(day_count_position)
                || outcome.contended()
            {
                back_off(attempt).await;
                continue;
            }
            return Err(StoreError::Backend(
                "hold transaction cancelled for no known reason".into(),
            ));
        }
        Err(StoreError::Backend("hold gave up under contention".into()))
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
            items.push(self.ledger_remove(business_id, id.appointment_id(), day)?);
        }
        items.push(self.day_count_remove_hold(
            business_id,
            hold.service_id,
            hold.local_date,
            id,
            false,
        )?);
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
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(
                    business_pk(appointment.business_id),
                    ledger_sk(day),
                )))
                .update_expression("SET #entries.#id = :entry, #version = #version + :one")
                .condition_expression("attribute_exists(#entries.#id)")
                .expression_attribute_names("#entries", "entries")
                .expression_attribute_names("#version", "version")
                .expression_attribute_names("#id", appointment.id.to_string())
                .expression_attribute_values(":entry", to_value(&entry)?)
                .expression_attribute_values(":one", number(1))
                .build()
                .map_err(backend)?;
            ledger_positions.push(items.len());
            items.push(TransactWriteItem::builder().update(update).build());
        }
        items.push(self.day_count_remove_hold(
            appointment.business_id,
            appointment.service_id,
            appointment.local_date,
            hold_id,
            true,
        )?);
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
            return Err(StoreError::Backend(
                "converting the hold was cancelled for no known reason".into(),
            ));
        }
        Err(StoreError::Backend(
            "converting the hold gave up under contention".into(),
        ))
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
        let mut low = query
            .starts_within
            .map_or_else(|| "0".to_owned(), |range| instant_key(range.start()));
        if let Some(after) = &query.after {
            low = low.max(gsi1_sk_after(after));
        }
        // Keys are `instant#id`, so the bare key of the range's end sorts above every start before it.
        let high = query
            .starts_within
            .map_or_else(|| "~".to_owned(), |range| instant_key(range.end()));
        if low > high {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }

        let mut filters = Vec::new();
        let mut names = HashMap::from([
            ("#pk".to_owned(), "GSI1PK".to_owned()),
            ("#sk".to_owned(), "GSI1SK".to_owned()),
        ]);
        let mut values = HashMap::from([
            (
                ":pk".to_owned(),
                string(appointments_gsi1_pk(query.business_id)),
            ),
            (":low".to_owned(), string(low)),
            (":high".to_owned(), string(high)),
        ]);
        if query.status.is_some() || query.sync_status.is_some() {
            names.insert("#appointment".to_owned(), "appointment".to_owned());
            names.insert("#status".to_owned(), "status".to_owned());
        }
        if let Some(status) = query.status {
            filters.push("#appointment.#status = :status");
            values.insert(":status".to_owned(), to_value(&status)?);
        }
        if let Some(sync_status) = query.sync_status {
            names.insert("#sync".to_owned(), "sync".to_owned());
            filters.push("#appointment.#sync.#status = :sync_status");
            values.insert(":sync_status".to_owned(), to_value(&sync_status)?);
        }

        let limit = query.limit.clamp(1, 500) as usize;
        let mut items: Vec<Appointment> = Vec::new();
        let mut start_key = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .set_filter_expression((!filters.is_empty()).then(|| filters.join(" AND ")))
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                // DynamoDB limits what it reads before filtering, so asking for what is missing never overshoots.
                .limit((limit - items.len()) as i32)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                items.push(from_item::<AppointmentItem>(item)?.appointment);
            }
            let more = output.last_evaluated_key.filter(|key| !key.is_empty());
            match more {
                Some(key) if items.len() < limit => start_key = Some(key),
                Some(_) => {
                    let next = items.last().map(|last| PageCursor {
                        start: last.time.start(),
                        id: last.id,
                    });
                    return Ok(Page { items, next });
                }
                None => return Ok(Page { items, next: None }),
            }
        }
    }

    async fn live_occupancies(
        &self,
        business_id: BusinessId,
        starts_within: Interval,
        now: Timestamp,
    ) -> Result<Vec<Occupancy>, StoreError> {
        let days = utc_days(&starts_within);
        let (Some(first), Some(last)) = (days.first(), days.last()) else {
            return Ok(Vec::new());
        };
        let mut found: HashMap<AppointmentId, LedgerEntry> = HashMap::new();
        for ledger in self.query_ledgers(business_id, *first, *last).await? {
            for (id, entry) in ledger.entries {
                if starts_within.start() <= entry.start
                    && entry.start < starts_within.end()
                    && entry.counts_at(now)
                {
                    found.insert(id, entry);
                }
            }
        }
        let mut occupancies: Vec<(Timestamp, Occupancy)> = found
            .into_iter()
            .map(|(id, entry)| (entry.start, entry.occupancy(id)))
            .collect();
        occupancies.sort_by_key(|(start, occupancy)| (*start, occupancy.appointment_id));
        Ok(occupancies
            .into_iter()
            .map(|(_, occupancy)| occupancy)
            .collect())
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
        match result {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_conditional_check_failed_exception()) =>
            {
                match self.get_appointment_item(business_id, id).await? {
                    Some(_) => Ok(false),
                    None => Err(StoreError::NotFound),
                }
            }
            Err(error) => Err(backend(error)),
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
        let mut low = query
            .starts_within
            .map_or_else(|| "0".to_owned(), |range| instant_key(range.start()));
        // Keys are `instant#id`, so the bare key of the range's end sorts above every start before it.
        let mut high = query
            .starts_within
            .map_or_else(|| "~".to_owned(), |range| instant_key(range.end()));
        if let Some(after) = &query.after {
            match query.order {
                ListOrder::Ascending => low = low.max(gsi1_sk_after(after)),
                // BETWEEN is inclusive: the cursor's own item comes back first and is skipped below.
                ListOrder::Descending => {
                    high = high.min(appointment_gsi1_sk(after.start, after.id))
                }
            }
        }
        if low > high {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }
        let mut filters = Vec::new();
        let mut names = HashMap::from([
            ("#pk".to_owned(), "GSI3PK".to_owned()),
            ("#sk".to_owned(), "GSI3SK".to_owned()),
        ]);
        let mut values = HashMap::from([
            (
                ":pk".to_owned(),
                string(phone_gsi3_pk(query.business_id, &query.phone)),
            ),
            (":low".to_owned(), string(low)),
            (":high".to_owned(), string(high)),
        ]);
        if query.status.is_some() || query.sync_status.is_some() {
            names.insert("#appointment".to_owned(), "appointment".to_owned());
            names.insert("#status".to_owned(), "status".to_owned());
        }
        if let Some(status) = query.status {
            filters.push("#appointment.#status = :status");
            values.insert(":status".to_owned(), to_value(&status)?);
        }
        if let Some(sync_status) = query.sync_status {
            names.insert("#sync".to_owned(), "sync".to_owned());
            filters.push("#appointment.#sync.#status = :sync_status");
            values.insert(":sync_status".to_owned(), to_value(&sync_status)?);
        }
        let limit = query.limit.clamp(1, 500) as usize;
        let mut items: Vec<Appointment> = Vec::new();
        let mut start_key = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI3)
                .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
                .set_filter_expression((!filters.is_empty()).then(|| filters.join(" AND ")))
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .scan_index_forward(query.order == ListOrder::Ascending)
                // One more than is missing: the cursor's own item may come first on a descending page.
                .limit((limit - items.len() + 1) as i32)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                let appointment = from_item::<AppointmentItem>(item)?.appointment;
                let is_cursor = query.after.is_some_and(|after| {
                    after.start == appointment.time.start() && after.id == appointment.id
                });
                if !is_cursor && items.len() < limit {
                    items.push(appointment);
                } else if !is_cursor {
                    // A match beyond this page: there is a next one.
                    let next = items.last().map(|last| PageCursor {
                        start: last.time.start(),
                        id: last.id,
                    });
                    return Ok(Page { items, next });
                }
            }
            match output.last_evaluated_key.filter(|key| !key.is_empty()) {
                Some(key) => start_key = Some(key),
                None => return Ok(Page { items, next: None }),
            }
        }
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
                match result {
                    Ok(_) => indexed += 1,
                    // Changed meanwhile: the change wrote the whole item, index keys included.
                    Err(error)
                        if error
                            .as_service_error()
                            .is_some_and(|error| error.is_conditional_check_failed_exception()) => {
                    }
                    Err(error) => return Err(backend(error)),
                }
            }
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start_key = Some(next),
                _ => break,
            }
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(marker))
            .send()
            .await
            .map_err(backend)?;
        Ok(indexed)
    }
}

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn get_calendar_connection(
        &self,
        business_id: BusinessId,
    ) -> Result<Option<CalendarConnection>, StoreError> {
        Ok(self
            .get::<CalendarConnectionItem>(business_pk(business_id), CALENDAR_SK.to_owned())
            .await?
            .map(|item| item.connection))
    }

    async fn put_calendar_connection(
        &self,
        connection: &CalendarConnection,
    ) -> Result<(), StoreError> {
        let item = CalendarConnectionItem {
            pk: business_pk(connection.business_id),
            sk: CALENDAR_SK.to_owned(),
            connection: connection.clone(),
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn update_connection_health(
        &self,
        business_id: BusinessId,
        provider: ProviderKind,
        health: &ConnectionHealth,
        synced_at: Option<Timestamp>,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(business_pk(business_id), CALENDAR_SK.to_owned())))
            .condition_expression("#connection.provider = :provider")
            .expression_attribute_names("#connection", "connection")
            .expression_attribute_values(":provider", to_value(&provider)?)
            .expression_attribute_values(":health", to_value(health)?);
        update = match synced_at {
            Some(synced_at) => update
                .update_expression(
                    "SET #connection.health = :health, #connection.last_synced_at = :synced",
                )
                .expression_attribute_values(":synced", to_value(&synced_at)?),
            None => update.update_expression("SET #connection.health = :health"),
        };
        match update.send().await {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(backend(error)),
        }
    }

    async fn delete_calendar_connection(&self, business_id: BusinessId) -> Result<(), StoreError> {
        self.delete(business_pk(business_id), CALENDAR_SK.to_owned())
            .await
    }

    async fn put_oauth_attempt(&self, attempt: &OAuthAttempt) -> Result<(), StoreError> {
        let item = OAuthAttemptItem {
            pk: oauth_attempt_pk(&attempt.nonce),
            sk: SINGLETON_SK.to_owned(),
            expires_at_epoch: attempt.expires_at.as_second(),
            attempt: attempt.clone(),
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::AlreadyExists)
            }
            Err(error) => Err(backend(error)),
        }
    }

    async fn take_oauth_attempt(
        &self,
        nonce: &str,
        now: Timestamp,
    ) -> Result<Option<OAuthAttempt>, StoreError> {
        // Concurrent unconditional deletes may each return the old item; the condition lets exactly one win.
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(oauth_attempt_pk(nonce), SINGLETON_SK.to_owned())))
            .condition_expression("attribute_exists(PK)")
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_conditional_check_failed_exception()) =>
            {
                return Ok(None);
            }
            Err(error) => return Err(backend(error)),
        };
        let Some(attributes) = output.attributes else {
            return Ok(None);
        };
        let item: OAuthAttemptItem = from_item(attributes)?;
        Ok(Some(item.attempt).filter(|attempt| attempt.expires_at > now))
    }

    async fn get_calendar_watch(
        &self,
        business_id: BusinessId,
    ) -> Result<Option<CalendarWatch>, StoreError> {
        Ok(self
            .get::<CalendarWatchItem>(business_pk(business_id), WATCH_SK.to_owned())
            .await?
            .map(|item| item.watch))
    }

    async fn put_calendar_watch(
        &self,
        watch: &CalendarWatch,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let item = CalendarWatchItem {
            pk: business_pk(watch.business_id),
            sk: WATCH_SK.to_owned(),
            gsi1_pk: WATCHES_GSI1_PK.to_owned(),
            gsi1_sk: watch.business_id.to_string(),
            version: watch.version,
            watch: watch.clone(),
        };
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?));
        let put = match expected_version {
            None => put
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK),
            Some(expected) => put
                .condition_expression("#version = :expected")
                .expression_attribute_names("#version", "version")
                .expression_attribute_values(":expected", number(expected)),
        };
        match put.send().await {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_conditional_check_failed_exception()) =>
            {
                match (
                    expected_version,
                    self.get_calendar_watch(watch.business_id).await?,
                ) {
                    (None, _) => Err(StoreError::AlreadyExists),
                    (Some(_), None) => Err(StoreError::NotFound),
                    (Some(_), Some(_)) => Err(StoreError::VersionMismatch),
                }
            }
            Err(error) => Err(backend(error)),
        }
    }

    async fn delete_calendar_watch(&self, business_id: BusinessId) -> Result<(), StoreError> {
        self.delete(business_pk(business_id), WATCH_SK.to_owned())
            .await
    }

    async fn calendar_watches(
        &self,
        after: Option<BusinessId>,
        limit: u32,
    ) -> Result<Vec<CalendarWatch>, StoreError> {
        // A space sorts below every character of a business id.
        let after = after.map_or_else(|| " ".to_owned(), |after| after.to_string());
        let items: Vec<CalendarWatchItem> = self
            .query_index(
                GSI1,
                WATCHES_GSI1_PK.to_owned(),
                "#sk > :after",
                vec![(":after", after)],
                Some(limit),
                None,
            )
            .await?;
        Ok(items.into_iter().map(|item| item.watch).collect())
    }
}

#[async_trait]
impl BusyTimeStore for DynamoStore {
    async fn put_busy_event(&self, event: &BusyEvent) -> Result<(), StoreError> {
        let Some(earliest_start) = event.intervals.iter().map(Interval::start).min() else {
            // An event that blocks nothing is stored as no event at all.
            return self
                .delete_busy_event(event.business_id, &event.calendar_id, &event.event_id)
                .await;
        };
        let sk = busy_event_sk(&event.calendar_id, &event.event_id);
        let item = BusyEventItem {
            pk: business_pk(event.business_id),
            gsi1_pk: busy_gsi1_pk(event.business_id),
            gsi1_sk: busy_gsi1_sk(earliest_start, &sk),
            sk,
            event: event.clone(),
        };
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn delete_busy_event(
        &self,
        business_id: BusinessId,
        calendar_id: &str,
        event_id: &str,
    ) -> Result<(), StoreError> {
        self.delete(
            business_pk(business_id),
            busy_event_sk(calendar_id, event_id),
        )
        .await
    }

    async fn busy_intervals_overlapping(
        &self,
        business_id: BusinessId,
        range: Interval,
    ) -> Result<Vec<Interval>, StoreError> {
        // Only the intervals travel: availability reads this on every call.
        let items: Vec<BusyIntervalsOnly> = self
            .query_index(
                GSI1,
                busy_gsi1_pk(business_id),
                // Keys are `start#…`: every event starting before the range ends sorts below its bare instant.
                "#sk < :before",
                vec![(":before", instant_key(range.end()))],
                None,
                Some((
                    "#event.#intervals",
                    &[("#event", "event"), ("#intervals", "intervals")],
                )),
            )
            .await?;
        Ok(items
            .into_iter()
            .flat_map(|item| item.event.intervals)
            .filter(|interval| interval.overlaps(&range))
            .collect())
    }

    async fn busy_event_ids(
        &self,
        business_id: BusinessId,
        calendar_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let prefix = busy_event_sk(calendar_id, "");
        let mut ids = Vec::new();
        let mut start_key = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_names("#event", "event")
                .expression_attribute_names("#id", "event_id")
                .expression_attribute_values(":pk", string(business_pk(business_id)))
                .expression_attribute_values(":prefix", string(prefix.clone()))
                .projection_expression("#event.#id")
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                ids.push(from_item::<BusyEventIdOnly>(item)?.event.event_id);
            }
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start_key = Some(next),
                _ => return Ok(ids),
            }
        }
    }
}

#[async_trait]
impl LeaseStore for DynamoStore {
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let item = LeaseItem {
            pk: lease_pk(name),
            sk: SINGLETON_SK.to_owned(),
            holder: holder.to_owned(),
            until_nanos: nanos(until)?,
            expires_at_epoch: until.as_second() + 3600,
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)?))
            .condition_expression(
                "attribute_not_exists(PK) OR until_nanos < :now OR holder = :holder",
            )
            .expression_attribute_values(":now", number(nanos(now)?))
            .expression_attribute_values(":holder", AttributeValue::S(holder.to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(backend(error)),
        }
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(lease_pk(name), SINGLETON_SK.to_owned())))
            .condition_expression("holder = :holder")
            .expression_attribute_values(":holder", AttributeValue::S(holder.to_owned()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(error) => Err(backend(error)),
        }
    }
}

/// Jittered backoff so that bookings racing for the same days do not collide again in lockstep.
async fn back_off(attempt: u32) {
    let ceiling_ms = 5u64 << attempt.min(5);
    let wait = rand::rng().random_range(0..=ceiling_ms);
    tokio::time::sleep(Duration::from_millis(wait)).await;
}
