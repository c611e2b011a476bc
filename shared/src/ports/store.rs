use std::fmt;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::{
    ApiKeyHash, Appointment, AppointmentId, AppointmentStatus, BookingConflict, Business,
    BusinessId, BusinessSettings, Hold, HoldId, Interval, Occupancy, PhoneNumber, Service,
    ServiceId, SyncState, SyncStatus, ValidationError,
};
use crate::ports::{AccountStore, PushChannel};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    AlreadyExists,
    /// The record changed since it was read; re-read and decide again.
    #[error("the record was changed by someone else")]
    VersionMismatch,
    #[error(transparent)]
    Conflict(#[from] BookingConflict),
    /// The idempotency key of a booking was recorded by another request first.
    #[error("idempotency key already used")]
    IdempotencyKeyTaken,
    #[error("store backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A client-chosen `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl TryFrom<String> for IdempotencyKey {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if value.is_empty() || value.len() > 255 || !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ValidationError::new(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            ));
        }
        Ok(Self(value))
    }
}

impl From<IdempotencyKey> for String {
    fn from(key: IdempotencyKey) -> Self {
        key.0
    }
}

impl AsRef<str> for IdempotencyKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// What a booking request with an idempotency key produced, so a repeat gets the very same answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub business_id: BusinessId,
    pub key: IdempotencyKey,
    /// Hash of the request body; the same key with another body is refused.
    pub request_fingerprint: String,
    pub appointment_id: AppointmentId,
    /// The appointment as it was booked (its JSON), which every repeat is answered with. Records written before
    /// this held the rendered response under the same name.
    #[serde(rename = "response_body")]
    pub booked: String,
    pub created_at: Timestamp,
    /// After this the record may be forgotten (DynamoDB TTL); adapters treat an expired record as absent.
    pub expires_at: Timestamp,
}

/// A new appointment with what the store needs to enforce the booking rules in the same atomic write.
#[derive(Clone, Copy, Debug)]
pub struct NewBooking<'a> {
    pub appointment: &'a Appointment,
    pub max_per_day: Option<u32>,
    /// Written in the same transaction as the appointment, so a key never points at a booking that did not happen.
    pub idempotency: Option<&'a IdempotencyRecord>,
}

/// The next state of an existing appointment (reschedule, edit, cancel). `appointment.version` must be
/// `expected_version + 1`.
#[derive(Clone, Copy, Debug)]
pub struct AppointmentChange<'a> {
    pub appointment: &'a Appointment,
    pub expected_version: u64,
    pub max_per_day: Option<u32>,
}

/// A new hold with what the store needs to enforce the booking rules in the same atomic write. The hold is checked
/// against live appointments and against the holds alive at its `created_at`.
#[derive(Clone, Copy, Debug)]
pub struct NewHold<'a> {
    pub hold: &'a Hold,
    pub max_per_day: Option<u32>,
}

/// Which way a listing runs through time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ListOrder {
    /// Earliest start first.
    #[default]
    Ascending,
    /// Latest start first.
    Descending,
}

/// One caller's appointments, through the phone index: `(start, id)` in `order`, resuming strictly after `after` in
/// that order.
#[derive(Clone, Debug)]
pub struct CallerQuery {
    pub business_id: BusinessId,
    pub phone: PhoneNumber,
    pub starts_within: Option<Interval>,
    pub status: Option<AppointmentStatus>,
    pub sync_status: Option<SyncStatus>,
    pub order: ListOrder,
    pub after: Option<PageCursor>,
    /// At most this many items (1 to 500).
    pub limit: u32,
}

/// Where a listing resumes: strictly after this `(start, id)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PageCursor {
    pub start: Timestamp,
    pub id: AppointmentId,
}

#[derive(Clone, Debug)]
pub struct AppointmentQuery {
    pub business_id: BusinessId,
    /// Only appointments whose start lies in this interval.
    pub starts_within: Option<Interval>,
    pub status: Option<AppointmentStatus>,
    pub sync_status: Option<SyncStatus>,
    pub after: Option<PageCursor>,
    /// At most this many items (1 to 500).
    pub limit: u32,
}

/// Items ordered by `(start, id)`. A page may be shorter than the limit even when more follow (DynamoDB filters
/// after it reads); following `next` until it is `None` yields every match exactly once.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<PageCursor>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Google,
    Microsoft,
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Google => "google",
            Self::Microsoft => "microsoft",
        })
    }
}

/// Whether a connection can do its work, and if not, what the business has to do about it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConnectionHealth {
    #[default]
    Connected,
    /// The provider no longer accepts our grant (revoked, expired, password changed): connect again.
    ReauthRequired { reason: String },
    /// The last calls failed for another reason; sync keeps retrying.
    Error { message: String },
}

/// A business's link to its external calendar. Tokens are not here: they live in the `SecretStore`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarConnection {
    pub business_id: BusinessId,
    pub provider: ProviderKind,
    pub account: String,
    /// The calendar chosen for sync; nothing is synced until one is chosen.
    pub calendar_id: Option<String>,
    pub connected_at: Timestamp,
    #[serde(default)]
    pub health: ConnectionHealth,
    /// When an event was last written to or removed from the calendar successfully.
    #[serde(default)]
    pub last_synced_at: Option<Timestamp>,
}

/// A started OAuth authorization, kept until its callback consumes it (once) or it expires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthAttempt {
    /// Random, unguessable; the signed `state` carries it.
    pub nonce: String,
    pub business_id: BusinessId,
    pub provider: ProviderKind,
    /// The PKCE code verifier; never leaves the server.
    pub pkce_verifier: String,
    pub expires_at: Timestamp,
    /// Started from the dashboard, whose browser goes back to its calendar picker rather than getting JSON.
    #[serde(default)]
    pub from_dashboard: bool,
}

impl CalendarConnection {
    /// True once appointments have somewhere to go.
    pub fn syncs_appointments(&self) -> bool {
        self.calendar_id.is_some()
    }
}

/// The busy time one external event contributes (several intervals for an expanded recurring event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusyEvent {
    pub business_id: BusinessId,
    pub calendar_id: String,
    pub event_id: String,
    pub intervals: Vec<Interval>,
}

/// How we follow a business's selected calendar: where its next incremental sync starts and the push channel that
/// tells us when to run it. Versioned, so two syncs racing on notifications for the same calendar cannot both
/// advance the cursor: the loser re-reads and runs again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarWatch {
    pub business_id: BusinessId,
    pub provider: ProviderKind,
    pub calendar_id: String,
    /// Google's sync token or Graph's delta link; `None` until the first full sync has finished.
    pub cursor: Option<String>,
    /// The calendar's zone as the provider last reported it.
    pub time_zone: Option<String>,
    pub channel: Option<PushChannel>,
    /// SHA-256 (hex) of the secret the provider echoes in notifications; the secret itself is not kept.
    pub secret_hash: String,
    /// A channel being opened. It is recorded before the provider is asked, because the provider may notify before
    /// its answer arrives (Google sends `sync` at once), and a notification refused then would be lost.
    #[serde(default)]
    pub opening: Option<OpeningChannel>,
    /// When a full sync last finished; the busy window only moves forward with a full sync.
    pub full_sync_at: Option<Timestamp>,
    /// When a sync (full or incremental) last finished.
    pub synced_at: Option<Timestamp>,
    /// When the last successful sync began reading the calendar: every change before it is in the cache.
    #[serde(default)]
    pub sync_started_at: Option<Timestamp>,
    pub version: u64,
}

/// A push channel between our request to open it and the provider's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningChannel {
    /// Our id for it, where the provider lets us choose one (Google); Graph names its subscriptions itself.
    pub id: Option<String>,
    pub secret_hash: String,
}

/// Domain-level persistence. Every method is atomic; the booking methods enforce the rules of
/// [`crate::domain::check_booking_conflicts`] in the same atomic step as the write, so two concurrent callers can
/// never both succeed in taking overlapping time or the last place of a day. The dashboard's records are the
/// [`AccountStore`] part of it.
///
/// Holds take part in those rules like live appointments while they are alive. Expiry is judged at the instant of
/// the write (a hold's `created_at`, an appointment's `updated_at`: the "now" of the use case) or at the `now` a read
/// is given, never by whether a cleanup has run; [`Store::remove_expired_holds`] only tidies.
#[async_trait]
pub trait Store: AccountStore + Send + Sync + 'static {
    /// Fails with `AlreadyExists` if the id or the key hash is taken. The key is listed as the business's first key
    /// ([`crate::ports::first_api_key_record`]).
    async fn create_business(
        &self,
        business: &Business,
        api_key: &ApiKeyHash,
    ) -> Result<(), StoreError>;
    async fn get_business(&self, id: BusinessId) -> Result<Option<Business>, StoreError>;
    async fn business_by_api_key(
        &self,
        api_key: &ApiKeyHash,
    ) -> Result<Option<Business>, StoreError>;

    /// Fails with `AlreadyExists` if the id is taken.
    async fn create_service(&self, service: &Service) -> Result<(), StoreError>;
    /// Replaces the service if its stored version is `expected_version`, else `VersionMismatch` (`NotFound` if absent).
    async fn update_service(
        &self,
        service: &Service,
        expected_version: u64,
    ) -> Result<(), StoreError>;
    async fn get_service(
        &self,
        business_id: BusinessId,
        id: ServiceId,
    ) -> Result<Option<Service>, StoreError>;
    /// All services of the business, ordered by id.
    async fn list_services(&self, business_id: BusinessId) -> Result<Vec<Service>, StoreError>;

    /// Stores a new live appointment if it conflicts with no live appointment of the business (`Conflict`) and the
    /// idempotency key, if any, is unused (`IdempotencyKeyTaken`); all or nothing.
    async fn create_appointment(&self, booking: NewBooking<'_>) -> Result<(), StoreError>;
    /// Replaces an appointment if its stored version is `expected_version` (`VersionMismatch`, or `NotFound`). When
    /// the new state is live it is checked against every other live appointment as in `create_appointment`; a
    /// cancelled one frees its time at once.
    async fn update_appointment(&self, change: AppointmentChange<'_>) -> Result<(), StoreError>;
    async fn get_appointment(
        &self,
        business_id: BusinessId,
        id: AppointmentId,
    ) -> Result<Option<Appointment>, StoreError>;
    async fn list_appointments(
        &self,
        query: &AppointmentQuery,
    ) -> Result<Page<Appointment>, StoreError>;
    /// Occupancy of every live appointment of the business whose start lies in `starts_within`, and of every hold
    /// starting there that is alive at `now`.
    async fn live_occupancies(
        &self,
        business_id: BusinessId,
        starts_within: Interval,
        now: Timestamp,
    ) -> Result<Vec<Occupancy>, StoreError>;
    /// Sets the sync state if the appointment is still at `version`; `Ok(false)` when it has moved on, so a late
    /// result never overwrites a newer change.
    async fn update_sync_state(
        &self,
        business_id: BusinessId,
        id: AppointmentId,
        version: u64,
        sync: &SyncState,
    ) -> Result<bool, StoreError>;

    /// Appointments of every business whose sync status is `status` and whose sync state was last updated before
    /// `updated_before`, oldest first, at most `limit`: the work of the scheduled sweep, found without a scan.
    async fn appointments_by_sync_status(
        &self,
        status: SyncStatus,
        updated_before: Timestamp,
        limit: u32,
    ) -> Result<Vec<Appointment>, StoreError>;

    /// Stores a hold if it conflicts with no live appointment and no live hold of the business (`Conflict`) and
    /// its id is unused by a hold or an appointment (`AlreadyExists`); all or nothing.
    async fn create_hold(&self, hold: NewHold<'_>) -> Result<(), StoreError>;
    /// The hold as stored, possibly expired (until a cleanup removes it), so a caller can tell "expired" from "gone".
    async fn get_hold(
        &self,
        business_id: BusinessId,
        id: HoldId,
    ) -> Result<Option<Hold>, StoreError>;
    /// Removes the hold and frees its time; `Ok(false)` when none was stored.
    async fn release_hold(&self, business_id: BusinessId, id: HoldId) -> Result<bool, StoreError>;
    /// Turns a hold into the booking's appointment in one atomic write: the appointment's id must be the hold's
    /// ([`HoldId::appointment_id`]), and it keeps the hold's time, buffers, service and date. `AlreadyExists` when
    /// that appointment exists (the hold was converted before); `NotFound` when no hold alive at the appointment's
    /// `created_at` is stored; `IdempotencyKeyTaken` as for `create_appointment`. The daily limit is not re-checked:
    /// the hold already counted.
    async fn convert_hold(&self, booking: NewBooking<'_>) -> Result<(), StoreError>;
    /// Deletes up to `limit` holds of any business that expired at or before `now`; how many it deleted. Only
    /// tidies: an expired hold blocks nothing whether or not this has run.
    async fn remove_expired_holds(&self, now: Timestamp, limit: u32) -> Result<u32, StoreError>;

    /// One caller's appointments (any status), through an index keyed by business and number: never a scan.
    async fn appointments_by_phone(
        &self,
        query: &CallerQuery,
    ) -> Result<Page<Appointment>, StoreError>;
    /// Indexes the phone numbers of appointments stored before the phone index existed. Idempotent; once it has
    /// finished it records so, and later calls cost one read. Answers how many appointments it indexed now.
    async fn index_existing_phone_numbers(&self) -> Result<u64, StoreError>;

    /// The business's settings; defaults when it never changed any.
    async fn get_business_settings(
        &self,
        business_id: BusinessId,
    ) -> Result<BusinessSettings, StoreError>;
    async fn put_business_settings(
        &self,
        business_id: BusinessId,
        settings: &BusinessSettings,
    ) -> Result<(), StoreError>;

    /// The unexpired record for the key, if any.
    async fn get_idempotency_record(
        &self,
        business_id: BusinessId,
        key: &IdempotencyKey,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;

    async fn get_calendar_connection(
        &self,
        business_id: BusinessId,
    ) -> Result<Option<CalendarConnection>, StoreError>;
    /// Creates or replaces the business's connection.
    async fn put_calendar_connection(
        &self,
        connection: &CalendarConnection,
    ) -> Result<(), StoreError>;

    /// Records how the connection is doing (and, when given, when it last synced) if the business is still
    /// connected to `provider`; `Ok(false)` otherwise. Only these fields change, so a worker's report can never
    /// undo a disconnect or a calendar choice made meanwhile.
    async fn update_connection_health(
        &self,
        business_id: BusinessId,
        provider: ProviderKind,
        health: &ConnectionHealth,
        synced_at: Option<Timestamp>,
    ) -> Result<bool, StoreError>;
    /// Removes the business's connection; removing none succeeds.
    async fn delete_calendar_connection(&self, business_id: BusinessId) -> Result<(), StoreError>;

    /// Takes the named lease for `holder` until `until` if nobody holds it or the holder's lease ended before `now`;
    /// `Ok(false)` when someone else holds it. Used so that one worker refreshes a token while the others wait.
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Ends `holder`'s lease early; releasing a lease held by someone else (or nobody) changes nothing.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;

    /// Fails with `AlreadyExists` if the nonce is taken.
    async fn put_oauth_attempt(&self, attempt: &OAuthAttempt) -> Result<(), StoreError>;
    /// Removes and returns the attempt: a second call with the same nonce, or one after it expired, gets `None`.
    async fn take_oauth_attempt(
        &self,
        nonce: &str,
        now: Timestamp,
    ) -> Result<Option<OAuthAttempt>, StoreError>;

    /// Replaces everything stored for `(business, calendar, event)` with the event's intervals.
    async fn put_busy_event(&self, event: &BusyEvent) -> Result<(), StoreError>;
    /// Removing an event that is not stored succeeds.
    async fn delete_busy_event(
        &self,
        business_id: BusinessId,
        calendar_id: &str,
        event_id: &str,
    ) -> Result<(), StoreError>;
    /// Every busy interval of the business that overlaps `range`, in no particular order.
    async fn busy_intervals_overlapping(
        &self,
        business_id: BusinessId,
        range: Interval,
    ) -> Result<Vec<Interval>, StoreError>;

    /// Every event id stored for the business's calendar, so a full sync can drop those that no longer exist.
    async fn busy_event_ids(
        &self,
        business_id: BusinessId,
        calendar_id: &str,
    ) -> Result<Vec<String>, StoreError>;

    async fn get_calendar_watch(
        &self,
        business_id: BusinessId,
    ) -> Result<Option<CalendarWatch>, StoreError>;
    /// Writes the watch if the stored one is at `expected_version` (`None`: none may be stored, else
    /// `AlreadyExists`); otherwise `VersionMismatch` (or `NotFound` when none is stored).
    async fn put_calendar_watch(
        &self,
        watch: &CalendarWatch,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError>;
    /// Removing none succeeds.
    async fn delete_calendar_watch(&self, business_id: BusinessId) -> Result<(), StoreError>;
    /// Watches of every business ordered by business id, strictly after `after`, at most `limit`: the scheduled
    /// renewal and safety-net sync walk them all.
    async fn calendar_watches(
        &self,
        after: Option<BusinessId>,
        limit: u32,
    ) -> Result<Vec<CalendarWatch>, StoreError>;
}
