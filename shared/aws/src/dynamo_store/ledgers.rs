//! The booking transaction: ledgers of occupied time per staff member and UTC date, and day counts per service and per
//! member, read once and written on condition that they are still as read, so two bookings can never both take the
//! same time of one member or the last place of a day.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use booking_core::domain::{
    Appointment, AppointmentId, BookingConflict, BusinessId, DailyLimits, Hold, HoldId, Interval,
    Occupancy, ServiceId, StaffId, check_booking_conflicts,
};
use booking_core::ports::{IdempotencyRecord, LedgerSnapshot, SeenEntry, SeenLedger, StoreError};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rand::Rng;

use super::items::{
    AppointmentItem, DayCountItem, IdempotencyItem, LedgerEntry, LedgerItem, business_pk,
    day_count_sk, idempotency_sk, ledger_sk, ledger_sk_bounds, parse_ledger_sk, staff_day_count_sk,
};
use super::requests::{WriteOutcome, transact_update};
use super::{DynamoStore, backend, corrupt, key, nanos, number, string, to_item, to_value};

impl DynamoStore {
    /// Reads every member's ledgers of `days` (consecutive UTC dates) in one consistent query; holds count if alive
    /// at `now`.
    pub(super) async fn read_ledgers(
        &self,
        business: BusinessId,
        days: &[Date],
        now: Timestamp,
    ) -> Result<HashMap<(Date, StaffId), LedgerRead>, StoreError> {
        let (Some(first), Some(last)) = (days.first(), days.last()) else {
            return Ok(HashMap::new());
        };
        self.ledger_snapshot(business, *first, *last)
            .await
            .map(|snapshot| ledger_reads(&snapshot, days, now))
    }

    /// Every member's ledgers of the UTC dates from `first` to `last` as one consistent Query returns them.
    pub(super) async fn ledger_snapshot(
        &self,
        business: BusinessId,
        first: Date,
        last: Date,
    ) -> Result<LedgerSnapshot, StoreError> {
        let mut ledgers = HashMap::new();
        for item in self.query_ledgers(business, first, last).await? {
            let ledger =
                parse_ledger_sk(business, &item.sk).ok_or_else(|| corrupt("ledger key"))?;
            let entries = item
                .entries
                .into_iter()
                .map(|(id, entry)| {
                    let seen = SeenEntry {
                        occupancy: entry.occupancy(business, id),
                        start: entry.start,
                        hold_expires_at: entry.hold_expires_at,
                    };
                    (id, seen)
                })
                .collect();
            let seen = SeenLedger {
                version: item.version,
                entries,
            };
            ledgers.insert(ledger, seen);
        }
        Ok(LedgerSnapshot {
            business,
            first,
            last,
            ledgers,
        })
    }

    pub(super) async fn query_ledgers(
        &self,
        business: BusinessId,
        first: Date,
        last: Date,
    ) -> Result<Vec<LedgerItem>, StoreError> {
        let (from, to) = ledger_sk_bounds(first, last);
        self.query_all(
            self.business_query(business, "SK BETWEEN :first AND :last")
                .expression_attribute_values(":first", string(from))
                .expression_attribute_values(":last", string(to))
                .projection_expression("SK, version, entries"),
        )
        .await
    }

    /// Adds an entry (an appointment's or a hold's) to its member's ledger, on condition that the ledger is still as
    /// it was read: any booking of that member committed since on that day makes this transaction fail and re-check
    /// (another member's does not). Expired holds' entries seen in the read are removed on the way.
    pub(super) fn ledger_add(
        &self,
        business: BusinessId,
        id: AppointmentId,
        entry: &LedgerEntry,
        touch: &LedgerTouch,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = self
            .ledger_update(business, touch.day, touch.staff)
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
        transact_update(update)
    }

    /// Removing needs no read: it only frees time, so it cannot break a rule whatever committed meanwhile.
    pub(super) fn ledger_remove(
        &self,
        business: BusinessId,
        id: AppointmentId,
        day: Date,
        staff: StaffId,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = self
            .ledger_update(business, day, staff)
            .update_expression("REMOVE #entries.#id SET #version = #version + :one")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#version", "version")
            .expression_attribute_names("#entries", "entries")
            .expression_attribute_names("#id", id.to_string())
            .expression_attribute_values(":one", number(1));
        transact_update(update)
    }

    pub(super) async fn read_day_count(
        &self,
        business: BusinessId,
        counted: Counted,
        local_date: Date,
    ) -> Result<DayCountRead, StoreError> {
        let item: Option<DayCountItem> = self
            .get(business_pk(business), counted.sk(local_date))
            .await?;
        Ok(DayCountRead {
            item: item.unwrap_or_default(),
        })
    }

    /// An update of one ledger of the business (its member `staff` on the UTC date `day`).
    pub(super) fn ledger_update(
        &self,
        business: BusinessId,
        day: Date,
        staff: StaffId,
    ) -> UpdateBuilder {
        Update::builder().table_name(&self.table).set_key(Some(key(
            business_pk(business),
            ledger_sk(business, day, staff),
        )))
    }

    /// An update of the count of one service's or member's appointments and holds on one local date.
    fn day_count_update(
        &self,
        business: BusinessId,
        counted: Counted,
        local_date: Date,
    ) -> UpdateBuilder {
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(business_pk(business), counted.sk(local_date))))
    }

    /// The condition that the day count is still at the version `read` saw.
    pub(super) fn day_count_unchanged(update: UpdateBuilder, read: &DayCountRead) -> UpdateBuilder {
        match read.item.version {
            Some(version) => update
                .condition_expression("#version = :read")
                .expression_attribute_values(":read", number(version)),
            None => update.condition_expression("attribute_not_exists(#version)"),
        }
    }

    /// Counts a live appointment on its service's or member's local date. A write checked against a limit is
    /// conditional on the count being as read, so two writers can never both take the last place.
    pub(super) fn day_count_add(
        &self,
        appointment: &Appointment,
        counted: Counted,
        read: Option<&DayCountRead>,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = self
            .day_count_update(appointment.business_id, counted, appointment.local_date)
            .update_expression("ADD booked :one, #version :one")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":one", number(1));
        let update = match read {
            Some(read) => Self::day_count_unchanged(update, read),
            None => update,
        };
        transact_update(update)
    }

    pub(super) fn day_count_remove(
        &self,
        appointment: &Appointment,
        counted: Counted,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = self
            .day_count_update(appointment.business_id, counted, appointment.local_date)
            .update_expression("ADD booked :minus_one")
            .expression_attribute_values(":minus_one", number(-1));
        transact_update(update)
    }

    /// Adds a hold to its day count, writing the whole map of live holds (expired ones drop out) on condition that
    /// the count is as read.
    pub(super) fn day_count_add_hold(
        &self,
        hold: &Hold,
        counted: Counted,
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
        let update = self
            .day_count_update(hold.business_id, counted, hold.local_date)
            .update_expression("SET #holds = :holds ADD #version :one")
            .expression_attribute_names("#holds", "holds")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":holds", to_value(&holds)?)
            .expression_attribute_values(":one", number(1));
        let update = Self::day_count_unchanged(update, read);
        transact_update(update)
    }

    /// Takes a hold out of its day count; when it becomes its appointment, the appointment is counted instead.
    /// The version moves, so a concurrent writer that read the hold cannot write it back.
    pub(super) fn day_count_remove_hold(
        &self,
        business: BusinessId,
        counted: Counted,
        local_date: Date,
        hold: HoldId,
        converted: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let expression = if converted {
            "REMOVE #holds.#hold ADD booked :one, #version :one"
        } else {
            "REMOVE #holds.#hold ADD #version :one"
        };
        let update = self
            .day_count_update(business, counted, local_date)
            .update_expression(expression)
            .expression_attribute_names("#holds", "holds")
            .expression_attribute_names("#hold", hold.to_string())
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":one", number(1));
        transact_update(update)
    }

    /// Refuses when the service's or member's day is full at `now`: booked appointments plus live holds.
    pub(super) fn check_daily_limit(
        read: &DayCountRead,
        counted: Counted,
        limit: Option<u32>,
        local_date: Date,
        now: Timestamp,
        excluding: Option<&str>,
    ) -> Result<(), StoreError> {
        let Some(limit) = limit else {
            return Ok(());
        };
        if read.item.live(nanos(now)?, excluding) >= i64::from(limit) {
            return Err(StoreError::Conflict(
                counted.limit_reached(local_date, limit),
            ));
        }
        Ok(())
    }

    /// Reads the ledgers of the UTC dates the candidate's occupied time touches (every member's, in one Query) and
    /// checks it against them (holds alive at `now` included). Returns how its own member's ledgers of those dates
    /// were read, for the conditional writes: only those, so a booking of another member at the same moment does not
    /// contend with it. With a staff member's own limit, the ledgers of every UTC date the candidate's local date can
    /// reach are read too, and the member's entries of that local date counted.
    pub(super) async fn check_overlaps(
        &self,
        business: BusinessId,
        candidate: &Occupancy,
        staff_limit: Option<u32>,
        now: Timestamp,
        seen: Option<&LedgerSnapshot>,
    ) -> Result<Vec<LedgerTouch>, StoreError> {
        let days = utc_days(&candidate.occupied);
        let read_days = match staff_limit {
            Some(_) => local_date_reach(&days, candidate.local_date),
            None => days.clone(),
        };
        // A snapshot read moments ago for this booking saves the Query: the write is conditional on the versions it
        // saw, so anything that changed since cancels it and the retry reads afresh.
        let mut ledgers = match seen.filter(|snapshot| snapshot.covers(business, &read_days)) {
            Some(snapshot) => ledger_reads(snapshot, &read_days, now),
            None => self.read_ledgers(business, &read_days, now).await?,
        };
        // An entry whose occupied time spans two dates is in both ledgers: count it once.
        let occupancies: HashMap<AppointmentId, Occupancy> = ledgers
            .values()
            .flat_map(|read| &read.occupancies)
            .map(|occupancy| (occupancy.appointment_id, *occupancy))
            .collect();
        // The service's daily limit is the day counter's job.
        check_booking_conflicts(
            candidate,
            occupancies.values(),
            DailyLimits {
                service: None,
                staff: staff_limit,
            },
        )?;
        let staff = candidate.staff_id;
        Ok(days
            .into_iter()
            .map(|day| match ledgers.remove(&(day, staff)) {
                Some(read) => LedgerTouch {
                    day,
                    staff,
                    version: read.version,
                    expired: read.expired,
                },
                None => LedgerTouch {
                    day,
                    staff,
                    version: LedgerVersion::Absent,
                    expired: Vec::new(),
                },
            })
            .collect())
    }

    /// The ledgers and, for each limit the write adds to (`counted_limits`), the day count a write of `candidate`
    /// must be conditional on, read at once; the rules are checked on what was read. `staff_limit` is the member's
    /// own maximum, also checked on the member's ledger entries of the local date: the count keeps it exact under
    /// races, the entries cover appointments stored before the count existed.
    pub(super) async fn read_for_write(
        &self,
        business: BusinessId,
        candidate: &Occupancy,
        counted_limits: DailyLimits,
        staff_limit: Option<u32>,
        now: Timestamp,
        seen: Option<&LedgerSnapshot>,
    ) -> Result<(Vec<LedgerTouch>, CountReads), StoreError> {
        let count = async |counted: Counted, limit: Option<u32>| match limit {
            Some(_) => self
                .read_day_count(business, counted, candidate.local_date)
                .await
                .map(Some),
            None => Ok(None),
        };
        let (ledgers, service, staff) = tokio::try_join!(
            self.check_overlaps(business, candidate, staff_limit, now, seen),
            count(
                Counted::Service(candidate.service_id),
                counted_limits.service
            ),
            count(Counted::Staff(candidate.staff_id), counted_limits.staff),
        )?;
        let excluding = candidate.appointment_id.to_string();
        for (counted, read, limit) in [
            (
                Counted::Service(candidate.service_id),
                &service,
                counted_limits.service,
            ),
            (
                Counted::Staff(candidate.staff_id),
                &staff,
                counted_limits.staff,
            ),
        ] {
            if let Some(read) = read {
                Self::check_daily_limit(
                    read,
                    counted,
                    limit,
                    candidate.local_date,
                    now,
                    Some(&excluding),
                )?;
            }
        }
        Ok((ledgers, CountReads { service, staff }))
    }

    /// The write that makes `next` the stored state of an appointment that was `previous` (None for a new one).
    pub(super) fn booking_write(
        &self,
        previous: Option<&Appointment>,
        next: &Appointment,
        read_ledgers: &[LedgerTouch],
        counts: &CountReads,
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
            let kept: BTreeSet<(Date, StaffId)> = read_ledgers
                .iter()
                .map(|touch| (touch.day, touch.staff))
                .collect();
            for day in utc_days(&previous.occupied()) {
                if !kept.contains(&(day, previous.staff_id)) {
                    items.push(self.ledger_remove(
                        previous.business_id,
                        previous.id,
                        day,
                        previous.staff_id,
                    )?);
                }
            }
        }

        // The service's count and the member's: each moves only when the appointment leaves or enters it.
        let counted_by: [fn(&Appointment) -> Counted; 2] = [
            |appointment| Counted::Service(appointment.service_id),
            |appointment| Counted::Staff(appointment.staff_id),
        ];
        let mut count_positions = Vec::new();
        for (counted, read) in counted_by
            .into_iter()
            .zip([counts.service.as_ref(), counts.staff.as_ref()])
        {
            let counted_on =
                |appointment: &Appointment| (counted(appointment), appointment.local_date);
            match (live_previous, next.is_live()) {
                (Some(previous), true) if counted_on(previous) == counted_on(next) => {}
                (previous, next_live) => {
                    if let Some(previous) = previous {
                        items.push(self.day_count_remove(previous, counted(previous))?);
                    }
                    if next_live {
                        count_positions.push(items.len());
                        items.push(self.day_count_add(next, counted(next), read)?);
                    }
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
            count_positions,
            idempotency_position,
        })
    }

    pub(super) fn idempotency_put(
        &self,
        record: &IdempotencyRecord,
    ) -> Result<TransactWriteItem, StoreError> {
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
}

/// How often a booking re-reads and retries when another booking of the same days committed first. Each retry
/// follows a commit of someone else, so progress is guaranteed; the cap only bounds a pathological storm.
pub(super) const MAX_BOOKING_ATTEMPTS: u32 = 64;

/// `days` widened to every UTC date an instant of `local_date` can fall on in any zone (offsets stay within a day),
/// as one consecutive run.
fn local_date_reach(days: &[Date], local_date: Date) -> Vec<Date> {
    let earliest = local_date.yesterday().unwrap_or(local_date);
    let latest = local_date.tomorrow().unwrap_or(local_date);
    let first = days
        .first()
        .map_or(earliest, |first| (*first).min(earliest));
    let last = days.last().map_or(latest, |last| (*last).max(latest));
    let mut reach = vec![first];
    let mut day = first;
    while day < last {
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
        reach.push(day);
    }
    reach
}

/// The UTC dates an interval touches (its end is exclusive).
pub(super) fn utc_days(interval: &Interval) -> Vec<Date> {
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

/// A ledger as read: absent, or at a version. Writing an entry is conditional on exactly this.
#[derive(Clone, Copy)]
pub(super) enum LedgerVersion {
    Absent,
    At(u64),
}

/// One ledger as a booking read it: its version, the occupancies that count now, and the entries of holds that
/// have expired (a write to the ledger removes them, tidying as it goes).
pub(super) struct LedgerRead {
    pub(super) version: LedgerVersion,
    pub(super) occupancies: Vec<Occupancy>,
    pub(super) expired: Vec<AppointmentId>,
}

/// A ledger the write adds an entry to, conditional on the version read.
pub(super) struct LedgerTouch {
    pub(super) day: Date,
    pub(super) staff: StaffId,
    pub(super) version: LedgerVersion,
    pub(super) expired: Vec<AppointmentId>,
}

/// The items of a booking transaction, with the positions the cancellation reasons are checked at.
pub(super) struct BookingWrite {
    pub(super) items: Vec<TransactWriteItem>,
    pub(super) ledger_positions: Vec<usize>,
    pub(super) count_positions: Vec<usize>,
    pub(super) idempotency_position: Option<usize>,
}

impl BookingWrite {
    /// Whether the transaction lost to a concurrent write: a booking or hold on the same days, a place of the day
    /// taken, or an item another transaction held. Reading again and deciding again may well succeed.
    pub(super) fn lost_race(&self, outcome: &WriteOutcome) -> bool {
        self.ledger_positions
            .iter()
            .chain(&self.count_positions)
            .any(|at| outcome.failed(*at))
            || outcome.contended()
    }
}

/// A day count as read for a write checked against the daily limit.
pub(super) struct DayCountRead {
    pub(super) item: DayCountItem,
}

/// The day counts a write read because it adds to a count with a limit: the service's, the member's.
#[derive(Default)]
pub(super) struct CountReads {
    pub(super) service: Option<DayCountRead>,
    pub(super) staff: Option<DayCountRead>,
}

/// Whose appointments and holds of one local date a day count counts: a service's (its maximum per day over the
/// business) or a staff member's (their own maximum over their services).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Counted {
    Service(ServiceId),
    Staff(StaffId),
}

impl Counted {
    fn sk(self, local_date: Date) -> String {
        match self {
            Self::Service(service) => day_count_sk(service, local_date),
            Self::Staff(staff) => staff_day_count_sk(staff, local_date),
        }
    }

    fn limit_reached(self, date: Date, limit: u32) -> BookingConflict {
        match self {
            Self::Service(_) => BookingConflict::DailyLimitReached { date, limit },
            Self::Staff(_) => BookingConflict::StaffDailyLimitReached { date, limit },
        }
    }
}

/// A booking transaction cancelled for a reason that is neither a rule nor a race (the write is wrong, or DynamoDB is).
pub(super) fn cancelled_for_no_known_reason(write: &str) -> StoreError {
    StoreError::Backend(format!("{write} cancelled for no known reason").into())
}

/// Every attempt of a booking transaction lost a race; the caller sees a backend failure and may retry.
pub(super) fn gave_up_under_contention(write: &str) -> StoreError {
    StoreError::Backend(format!("{write} gave up under contention").into())
}

/// Jittered backoff so that bookings racing for the same days do not collide again in lockstep.
pub(super) async fn back_off(attempt: u32) {
    let ceiling_ms = 5u64 << attempt.min(5);
    let wait = rand::rng().random_range(0..=ceiling_ms);
    tokio::time::sleep(Duration::from_millis(wait)).await;
}

/// Every member's ledgers of `days` as a snapshot holds them (a member's date absent there had no ledger), holds
/// counted if alive at `now`. Availability keeps the snapshot as its read's note ([`booking_core::ports::ReadMark`]),
/// so a booking checked against that read makes its write conditional on it instead of querying the same ledgers
/// again.
fn ledger_reads(
    snapshot: &LedgerSnapshot,
    days: &[Date],
    now: Timestamp,
) -> HashMap<(Date, StaffId), LedgerRead> {
    let days: BTreeSet<&Date> = days.iter().collect();
    snapshot
        .ledgers
        .iter()
        .filter(|((day, _), _)| days.contains(day))
        .map(|(ledger, seen)| {
            let mut read = LedgerRead {
                version: LedgerVersion::At(seen.version),
                occupancies: Vec::new(),
                expired: Vec::new(),
            };
            for (id, entry) in &seen.entries {
                if entry.counts_at(now) {
                    read.occupancies.push(entry.occupancy);
                } else {
                    read.expired.push(*id);
                }
            }
            (*ledger, read)
        })
        .collect()
}
