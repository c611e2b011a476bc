//! Item shapes and keys of the single table (see DESIGN.md beside this file). Items go through serde_dynamo; keys
//! are built here and nowhere else.

use std::collections::HashMap;

use booking_core::domain::{
    Appointment, AppointmentId, Business, BusinessId, BusinessSettings, Hold, HoldId, Interval,
    Occupancy, PhoneNumber, Service, ServiceId, StaffId, StaffMember, SyncState, SyncStatus,
    WatchId,
};
use booking_core::ports::{
    BusyEvent, CalendarConnection, CalendarWatch, IdempotencyRecord, PageCursor,
};
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI3: &str = "GSI3";
/// The due index: scheduled work only (appointments whose sync is pending or failed, calendar watches), sharded by
/// business, keys only. It replaces GSI2, which copied every appointment into one partition per sync status, and
/// GSI1's `WATCHES`, one partition for every watch.
pub const GSI4: &str = "GSI4";

/// How many partitions the due index spreads each kind of work over. At 10,000 bookings a second fleet-wide each
/// booking writes the index twice (pending, then out of it once synced), so 64 shards take about 310 write units a
/// second each: under half of a partition's 1,000 (DESIGN.md, "Capacity").
pub const DUE_SHARDS: u32 = 64;

/// The business's shard of the due index: FNV-1a of its id, so the shard is stable across releases and platforms
/// (std's hasher is neither) and businesses spread evenly.
pub fn business_shard(business: BusinessId) -> u32 {
    let hash = business
        .as_uuid()
        .as_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
    u32::try_from(hash % u64::from(DUE_SHARDS)).unwrap_or(0)
}

/// An instant as a fixed-width decimal string, so that string order is time order: nanoseconds since the epoch,
/// shifted by 10^21 to be positive over jiff's whole range (±3.2 × 10^20 ns).
pub fn instant_key(instant: Timestamp) -> String {
    format!(
        "{:022}",
        instant.as_nanosecond() + 1_000_000_000_000_000_000_000
    )
}

pub fn business_pk(business: BusinessId) -> String {
    format!("BUSINESS#{business}")
}

pub const BUSINESS_SK: &str = "BUSINESS";

pub fn api_key_pk(hash: &str) -> String {
    format!("APIKEY#{hash}")
}

pub const API_KEY_SK: &str = "APIKEY";

pub fn service_sk(service: ServiceId) -> String {
    format!("SERVICE#{service}")
}

pub const SERVICE_PREFIX: &str = "SERVICE#";

/// The sort key of the business's one staff roster item. (`STAFF#` partitions are the dashboard's sign-in accounts,
/// named before.)
pub const STAFF_ROSTER_SK: &str = "STAFF_ROSTER";

/// The most members a roster holds: a member with full weekly hours and a year of time off is a few KB, so a full
/// roster stays far under DynamoDB's 400 KB item limit.
pub const MAX_ROSTER_MEMBERS: usize = 100;

/// The marker of the migration that stores every existing business's first staff member.
pub const FIRST_STAFF_MIGRATION: &str = "first_staff_members";

pub fn appointment_sk(appointment: AppointmentId) -> String {
    format!("APPOINTMENT#{appointment}")
}

pub fn appointments_gsi1_pk(business: BusinessId) -> String {
    format!("BUSINESS#{business}#APPOINTMENTS")
}

pub fn appointment_gsi1_sk(start: Timestamp, id: AppointmentId) -> String {
    format!("{}#{id}", instant_key(start))
}

/// The smallest listing key after the cursor's own. Every key is `instant#uuid` of fixed width, so no other key
/// extends the cursor's, and a space sorts below every character a key can continue with.
pub fn gsi1_sk_after(cursor: &PageCursor) -> String {
    format!("{} ", appointment_gsi1_sk(cursor.start, cursor.id))
}

/// One caller of one business: the partition of the phone index (GSI3), sorted like GSI1 by `start#id`.
pub fn phone_gsi3_pk(business: BusinessId, phone: &PhoneNumber) -> String {
    format!("BUSINESS#{business}#PHONE#{}", phone.as_ref())
}

pub fn hold_sk(hold: HoldId) -> String {
    format!("HOLD#{hold}")
}

pub const SETTINGS_SK: &str = "SETTINGS";

/// Data migrations record that they finished here, so a start after them costs one read.
pub fn migration_pk(name: &str) -> String {
    format!("MIGRATION#{name}")
}

pub const PHONE_INDEX_MIGRATION: &str = "phone_index";

/// Moving appointments off GSI2's fleet-wide partitions, and watches off GSI1's `WATCHES`, onto the due index.
pub const DUE_INDEX_MIGRATION: &str = "due_index";

/// Keying watches stored under `WATCH#shard` by business into `WATCH#due#shard` by check time.
pub const WATCH_CHECK_MIGRATION: &str = "watch_checks";

/// Only a sync that waits for the worker or may be retried is scheduled work; the rest stay out of the due index.
pub fn sync_is_due_work(status: SyncStatus) -> bool {
    matches!(status, SyncStatus::Pending | SyncStatus::Failed)
}

/// One shard of one sync status in the due index, e.g. `SYNC#failed#07`.
pub fn sync_gsi4_pk(status: SyncStatus, shard: u32) -> String {
    format!("SYNC#{}#{shard:02}", status.as_str())
}

/// Oldest change first within a shard; the business and appointment make the key unique.
pub fn sync_gsi4_sk(
    updated_at: Timestamp,
    business: BusinessId,
    appointment: AppointmentId,
) -> String {
    format!("{}#{business}#{appointment}", instant_key(updated_at))
}

/// The due index's keys of an appointment in `sync`, or `None` when its sync is not scheduled work.
pub fn sync_gsi4_keys(
    business: BusinessId,
    appointment: AppointmentId,
    sync: &SyncState,
) -> Option<(String, String)> {
    sync_is_due_work(sync.status).then(|| {
        (
            sync_gsi4_pk(sync.status, business_shard(business)),
            sync_gsi4_sk(sync.updated_at, business, appointment),
        )
    })
}

/// One ledger per business, staff member and UTC date: the occupancy of every live appointment and hold of that
/// member whose occupied interval touches that date. The business's first member keeps the key ledgers had before
/// staff members (`LEDGER#date`), so nothing stored is rewritten; every other member's is `LEDGER#date#member`.
/// [`parse_ledger_sk`] reads it back.
pub fn ledger_sk(business: BusinessId, day: Date, staff: StaffId) -> String {
    if staff == StaffId::first_of(business) {
        format!("{LEDGER_PREFIX}{day}")
    } else {
        format!("{LEDGER_PREFIX}{day}#{staff}")
    }
}

/// The date and member of a ledger key written by [`ledger_sk`].
pub fn parse_ledger_sk(business: BusinessId, sk: &str) -> Option<(Date, StaffId)> {
    let rest = sk.strip_prefix(LEDGER_PREFIX)?;
    match rest.split_once('#') {
        None => Some((rest.parse().ok()?, StaffId::first_of(business))),
        Some((day, staff)) => Some((day.parse().ok()?, staff.parse().ok()?)),
    }
}

/// The bounds of a `BETWEEN` that takes every member's ledgers of the dates `first` to `last` and nothing else:
/// `~` sorts after `#` and after every character of a date, so `LEDGER#last#member` lies below `LEDGER#last~`, and
/// the next date's keys above it.
pub fn ledger_sk_bounds(first: Date, last: Date) -> (String, String) {
    (
        format!("{LEDGER_PREFIX}{first}"),
        format!("{LEDGER_PREFIX}{last}~"),
    )
}

const LEDGER_PREFIX: &str = "LEDGER#";

pub fn day_count_sk(service: ServiceId, local_date: Date) -> String {
    format!("DAYCOUNT#{service}#{local_date}")
}

/// A staff member's live appointments and holds on one local date, the item their own maximum per day is kept
/// exact on (the service's is [`day_count_sk`]).
pub fn staff_day_count_sk(staff: StaffId, local_date: Date) -> String {
    format!("STAFFDAYCOUNT#{staff}#{local_date}")
}

pub fn idempotency_sk(key: &str) -> String {
    format!("IDEMPOTENCY#{key}")
}

/// The sort key of the business's connection from before connections belonged to members, and the prefix of every
/// connection's (one Query lists them all).
pub const CALENDAR_SK: &str = "CALENDAR";

/// Leases and OAuth attempts are not a business's items; each lives in its own partition.
pub fn lease_pk(name: &str) -> String {
    format!("LEASE#{name}")
}

pub fn oauth_attempt_pk(nonce: &str) -> String {
    format!("OAUTH#{nonce}")
}

pub const SINGLETON_SK: &str = "-";

/// The calendar id's length comes first so that no `(calendar, event)` pair can spell another's key.
pub fn busy_event_sk(calendar_id: &str, event_id: &str) -> String {
    format!("BUSY#{}#{calendar_id}#{event_id}", calendar_id.len())
}

pub const WATCH_SK: &str = "WATCH";

/// Where the release before the due index kept every business's watch: one GSI1 partition for the whole fleet.
pub const OLD_WATCHES_GSI1_PK: &str = "WATCHES";

/// Where the due index's first release kept a watch, `WATCH#07` sorted by business: the due-index migration still
/// moves watches of the release before it there, and the watch-check migration moves them on.
pub fn watch_gsi4_pk(business: BusinessId) -> String {
    format!("WATCH#{:02}", business_shard(business))
}

/// One shard of the calendar watches in the due index, e.g. `WATCH#due#07`, sorted by when the scheduled walk next
/// looks at each, so the walk reads only the due ones.
pub fn watch_due_gsi4_pk(business: BusinessId) -> String {
    watch_due_shard_gsi4_pk(business_shard(business))
}

pub fn watch_due_shard_gsi4_pk(shard: u32) -> String {
    format!("WATCH#due#{shard:02}")
}

/// Earliest check first within a shard; the business and watch make the key unique. The one watch of the release
/// before each checked calendar had its own is keyed by the business alone, as that release keyed it.
pub fn watch_due_gsi4_sk(check_at: Timestamp, business: BusinessId, watch: WatchId) -> String {
    if watch == WatchId::of_first_watch(business) {
        format!("{}#{business}", instant_key(check_at))
    } else {
        format!("{}#{business}#{watch}", instant_key(check_at))
    }
}

/// A watch's sort key in its business's partition: `WATCH` for the one watch of the release before each checked
/// calendar had its own (where that release kept it), `WATCH#<id>` for the others.
pub fn watch_sk(business: BusinessId, watch: WatchId) -> String {
    if watch == WatchId::of_first_watch(business) {
        WATCH_SK.to_owned()
    } else {
        format!("{WATCH_SK}#{watch}")
    }
}

pub fn busy_gsi1_pk(business: BusinessId) -> String {
    format!("BUSINESS#{business}#BUSY")
}

/// Busy events are indexed by their earliest start, so "everything that started before t" is one range of the index.
/// The cache only holds events from a day or so ago onwards (each full sync drops the rest), so for the near-term
/// windows a live call asks about, that range is the few days up to the window's end, not the whole horizon.
pub fn busy_gsi1_sk(earliest_start: Timestamp, event_sk: &str) -> String {
    format!("{}#{event_sk}", instant_key(earliest_start))
}

#[derive(Serialize, Deserialize)]
pub struct BusinessItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub business: Business,
}

/// The API key's own item carries the business, so authenticating a request is one read.
#[derive(Serialize, Deserialize)]
pub struct ApiKeyItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub business: Business,
}

#[derive(Serialize, Deserialize)]
pub struct ServiceItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    /// Top-level copy of `service.version` for condition expressions.
    pub version: u64,
    pub service: Service,
}

impl ServiceItem {
    pub fn new(service: &Service) -> Self {
        Self {
            pk: business_pk(service.business_id),
            sk: service_sk(service.id),
            version: service.version,
            service: service.clone(),
        }
    }
}

/// Every staff member of a business in one item, so a booking reads them in the same BatchGetItem as its service
/// and connection; each change is a write conditional on the roster's `version`.
#[derive(Serialize, Deserialize)]
pub struct StaffRosterItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    /// Raised by every change of any member, for condition expressions.
    pub version: u64,
    /// Ordered by id.
    pub members: Vec<StaffMember>,
}

impl StaffRosterItem {
    pub fn new(business: BusinessId, version: u64, mut members: Vec<StaffMember>) -> Self {
        members.sort_by_key(|member| member.id.as_uuid());
        Self {
            pk: business_pk(business),
            sk: STAFF_ROSTER_SK.to_owned(),
            version,
            members,
        }
    }
}

#[derive(Serialize, Deserialize)]
pub struct AppointmentItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    /// Top-level copy of `appointment.version` for condition expressions.
    pub version: u64,
    #[serde(rename = "GSI1PK")]
    pub gsi1_pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1_sk: String,
    /// The due index; only appointments whose sync is pending or failed are in it.
    #[serde(rename = "GSI4PK", skip_serializing_if = "Option::is_none")]
    pub gsi4_pk: Option<String>,
    #[serde(rename = "GSI4SK", skip_serializing_if = "Option::is_none")]
    pub gsi4_sk: Option<String>,
    /// The phone index; only appointments with a customer phone are in it.
    #[serde(rename = "GSI3PK", skip_serializing_if = "Option::is_none")]
    pub gsi3_pk: Option<String>,
    #[serde(rename = "GSI3SK", skip_serializing_if = "Option::is_none")]
    pub gsi3_sk: Option<String>,
    pub appointment: Appointment,
}

impl AppointmentItem {
    pub fn new(appointment: &Appointment) -> Self {
        let phone = appointment.customer.phone.as_ref();
        let due = sync_gsi4_keys(appointment.business_id, appointment.id, &appointment.sync);
        let (gsi4_pk, gsi4_sk) = due.map_or((None, None), |(pk, sk)| (Some(pk), Some(sk)));
        Self {
            gsi3_pk: phone.map(|phone| phone_gsi3_pk(appointment.business_id, phone)),
            gsi3_sk: phone.map(|_| appointment_gsi1_sk(appointment.time.start(), appointment.id)),
            pk: business_pk(appointment.business_id),
            sk: appointment_sk(appointment.id),
            version: appointment.version,
            gsi1_pk: appointments_gsi1_pk(appointment.business_id),
            gsi1_sk: appointment_gsi1_sk(appointment.time.start(), appointment.id),
            gsi4_pk,
            gsi4_sk,
            appointment: appointment.clone(),
        }
    }
}

/// What a ledger keeps of one live appointment or hold: its occupancy and its start (for "starting in range" reads),
/// and for a hold when it stops counting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub service: ServiceId,
    /// Absent from entries written before staff members: those are the business's first member's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff: Option<StaffId>,
    pub start: Timestamp,
    pub occupied: Interval,
    pub local_date: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_expires_at: Option<Timestamp>,
}

impl LedgerEntry {
    pub fn of(appointment: &Appointment) -> Self {
        Self {
            service: appointment.service_id,
            staff: Some(appointment.staff_id),
            start: appointment.time.start(),
            occupied: appointment.occupied(),
            local_date: appointment.local_date,
            hold_expires_at: None,
        }
    }

    pub fn of_hold(hold: &Hold) -> Self {
        Self {
            service: hold.service_id,
            staff: Some(hold.staff_id),
            start: hold.time.start(),
            occupied: hold.occupied(),
            local_date: hold.local_date,
            hold_expires_at: Some(hold.expires_at),
        }
    }

    pub fn occupancy(&self, business: BusinessId, appointment_id: AppointmentId) -> Occupancy {
        Occupancy {
            appointment_id,
            service_id: self.service,
            staff_id: self.staff.unwrap_or_else(|| StaffId::first_of(business)),
            occupied: self.occupied,
            local_date: self.local_date,
        }
    }
}

#[derive(Serialize, Deserialize)]
pub struct LedgerItem {
    #[serde(rename = "SK")]
    pub sk: String,
    pub version: u64,
    /// Keyed by appointment id, so adding or removing one entry is a single-path update.
    #[serde(default)]
    pub entries: HashMap<AppointmentId, LedgerEntry>,
}

/// A service's or a staff member's live appointments on one local date (`booked`, an exact counter) and its holds
/// there (hold id → expiry in nanoseconds), which count only until they expire. `version` changes with every write that adds to
/// either, so a write checked against the daily limit can be conditional on exactly what it read.
#[derive(Debug, Default, Deserialize)]
pub struct DayCountItem {
    #[serde(default)]
    pub booked: i64,
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default)]
    pub holds: HashMap<String, i64>,
}

impl DayCountItem {
    /// What counts toward the limit at `now_nanos`, leaving out `excluding` (a hold becoming its appointment).
    pub fn live(&self, now_nanos: i64, excluding: Option<&str>) -> i64 {
        let holds = self
            .holds
            .iter()
            .filter(|(id, expires)| **expires > now_nanos && Some(id.as_str()) != excluding)
            .count();
        self.booked + i64::try_from(holds).unwrap_or(i64::MAX)
    }
}

#[derive(Serialize, Deserialize)]
pub struct HoldItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    /// DynamoDB's TTL attribute: TTL tidies expired holds away; reads and conditions use `expires_at_nanos`.
    pub expires_at_epoch: i64,
    pub expires_at_nanos: i64,
    pub hold: Hold,
}

#[derive(Serialize, Deserialize)]
pub struct BusinessSettingsItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub settings: BusinessSettings,
}

#[derive(Serialize, Deserialize)]
pub struct IdempotencyItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    /// DynamoDB's TTL attribute: the item disappears some time after this.
    pub expires_at_epoch: i64,
    /// The exact expiry, for the condition that lets an expired key be reused before TTL removes it.
    pub expires_at_nanos: i64,
    pub record: IdempotencyRecord,
}

/// Every calendar connection of a business, in one item so a booking reads them with its service and roster: the
/// first connection where the release before staff members kept the business's one (`connection`, read as the first
/// member's first connection when it carries no id), every other in a map by connection id.
#[derive(Deserialize)]
pub struct CalendarConnectionsItem {
    #[serde(default)]
    pub connection: Option<CalendarConnection>,
    #[serde(default)]
    pub connections: HashMap<String, CalendarConnection>,
}

impl CalendarConnectionsItem {
    /// The first connection first, then the others in the order of their ids.
    pub fn into_connections(self) -> Vec<CalendarConnection> {
        let mut others: Vec<CalendarConnection> = self.connections.into_values().collect();
        others.sort_by_key(|connection| connection.id);
        self.connection.into_iter().chain(others).collect()
    }
}

#[derive(Serialize, Deserialize)]
pub struct CalendarWatchItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    /// The due index holds keys only, and only the scheduled walk changes them (with `check_at`): a sync writes
    /// the watch's cursor and version alone, so it writes no index.
    #[serde(rename = "GSI4PK")]
    pub gsi4_pk: String,
    #[serde(rename = "GSI4SK")]
    pub gsi4_sk: String,
    /// When the scheduled walk next looks at the watch; missing on watches stored before the index kept them by
    /// it, until the watch-check migration gives them one.
    #[serde(default)]
    pub check_at: Option<Timestamp>,
    /// Top level, for the condition of a versioned write.
    pub version: u64,
    pub watch: CalendarWatch,
}

/// A busy event's item read for its id only.
#[derive(Deserialize)]
pub struct BusyEventIdOnly {
    pub event: BusyEventId,
}

#[derive(Deserialize)]
pub struct BusyEventId {
    pub event_id: String,
}

#[derive(Serialize, Deserialize)]
pub struct LeaseItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub holder: String,
    pub until_nanos: i64,
    /// DynamoDB's TTL attribute, so ended leases do not pile up.
    pub expires_at_epoch: i64,
}

#[derive(Serialize, Deserialize)]
pub struct OAuthAttemptItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    pub expires_at_epoch: i64,
    pub attempt: booking_core::ports::OAuthAttempt,
}

#[derive(Serialize, Deserialize)]
pub struct BusyEventItem {
    #[serde(rename = "PK")]
    pub pk: String,
    #[serde(rename = "SK")]
    pub sk: String,
    #[serde(rename = "GSI1PK")]
    pub gsi1_pk: String,
    #[serde(rename = "GSI1SK")]
    pub gsi1_sk: String,
    pub event: BusyEvent,
}

/// A busy event read for availability, projected to its intervals and member.
#[derive(Deserialize)]
pub struct BusyIntervalsOnly {
    pub event: BusyIntervals,
}

#[derive(Deserialize)]
pub struct BusyIntervals {
    pub intervals: Vec<Interval>,
    /// Absent from events written before calendars were per staff member: those are the first member's.
    #[serde(default)]
    pub staff_id: Option<StaffId>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    #[test]
    fn instant_keys_sort_like_instants() {
        let instants = [
            Timestamp::MIN,
            Timestamp::from_second(-1).unwrap_or(Timestamp::MIN),
            Timestamp::UNIX_EPOCH,
            Timestamp::UNIX_EPOCH + SignedDuration::from_nanos(1),
            Timestamp::from_second(1_800_000_000).unwrap_or(Timestamp::MAX),
            Timestamp::MAX,
        ];
        let keys: Vec<String> = instants.iter().copied().map(instant_key).collect();
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]), "{keys:?}");
        assert!(keys.iter().all(|key| key.len() == 22), "{keys:?}");
    }

    #[test]
    fn the_key_after_a_cursor_is_above_it_and_below_every_later_key() {
        let start = Timestamp::from_second(1_800_000_000).unwrap_or(Timestamp::MIN);
        let first = AppointmentId::generate();
        let second = AppointmentId::generate();
        let cursor = PageCursor { start, id: first };
        let after = gsi1_sk_after(&cursor);
        assert!(appointment_gsi1_sk(start, first) < after);
        assert!(after < appointment_gsi1_sk(start, second));
        assert!(after < appointment_gsi1_sk(start + SignedDuration::from_nanos(1), first));
    }

    #[test]
    fn a_business_keeps_its_shard_across_releases_and_businesses_fill_every_shard() {
        // Stored keys name the shard: a change of the hash would strand every item written before it.
        let known = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".parse::<BusinessId>();
        assert_eq!(known.map(business_shard).ok(), Some(51));
        let shards: std::collections::BTreeSet<u32> = (0..6_400)
            .map(|_| business_shard(BusinessId::generate()))
            .collect();
        assert_eq!(shards.len(), DUE_SHARDS as usize);
    }

    #[test]
    fn busy_event_keys_cannot_collide_through_the_separator() {
        assert_ne!(busy_event_sk("a#b", "c"), busy_event_sk("a", "b#c"));
    }
}
