//! Staff members' links to their external calendars: the connections (several per member, one per provider
//! account), the OAuth attempt that makes one, and the watch that follows a calendar.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::{BusinessId, ConnectionId, StaffId, WatchId, read_from_any_release};
use crate::ports::{ProviderKind, PushChannel};

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

/// A staff member's link to one account at a calendar provider; a member may hold several (identified by member,
/// provider and account). Tokens are not here: they live in the `SecretStore`. A connection stored before
/// connections belonged to members names neither id nor member: it reads as the business's first connection
/// ([`ConnectionId::of_first_connection`]) of its first member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct CalendarConnection {
    #[serde(default = "ConnectionId::unnamed")]
    pub id: ConnectionId,
    pub business_id: BusinessId,
    #[serde(default = "StaffId::unnamed")]
    pub staff_id: StaffId,
    pub provider: ProviderKind,
    pub account: String,
    /// The calendar the member's appointments are written to; nothing is written until one is chosen. At most one
    /// of a member's connections has one. (Stored under its first name, `calendar_id`.)
    pub calendar_id: Option<String>,
    /// Further calendars of the account whose events block the member; the written calendar is checked as well.
    #[serde(default)]
    pub checked_calendars: Vec<String>,
    pub connected_at: Timestamp,
    #[serde(default)]
    pub health: ConnectionHealth,
    /// When an event was last written to or removed from the calendar successfully.
    #[serde(default)]
    pub last_synced_at: Option<Timestamp>,
}

read_from_any_release!(CalendarConnection; id: ConnectionId::of_first_connection);

/// A started OAuth authorization, kept until its callback consumes it (once) or it expires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct OAuthAttempt {
    /// Random, unguessable; the signed `state` carries it.
    pub nonce: String,
    pub business_id: BusinessId,
    /// Whose connection the authorization makes; an attempt started by the release before members is the first's.
    #[serde(default = "StaffId::unnamed")]
    pub staff_id: StaffId,
    pub provider: ProviderKind,
    /// The PKCE code verifier; never leaves the server.
    pub pkce_verifier: String,
    pub expires_at: Timestamp,
    /// Started from the dashboard, whose browser goes back to its calendar picker rather than getting JSON.
    #[serde(default)]
    pub from_dashboard: bool,
}

read_from_any_release!(OAuthAttempt);

/// What addresses one connection's tokens and health reports: its business and id, and its provider (the first
/// connection's tokens are filed under the provider, as the release before members filed them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionRef {
    pub business_id: BusinessId,
    pub id: ConnectionId,
    pub provider: ProviderKind,
}

impl CalendarConnection {
    /// True once appointments have somewhere to go.
    pub fn syncs_appointments(&self) -> bool {
        self.calendar_id.is_some()
    }

    /// Every calendar whose events block the member: the written one first, then the other checked ones, each once.
    pub fn calendars_checked(&self) -> Vec<&str> {
        let mut checked: Vec<&str> = self.calendar_id.as_deref().into_iter().collect();
        for calendar in &self.checked_calendars {
            if !checked.contains(&calendar.as_str()) {
                checked.push(calendar);
            }
        }
        checked
    }

    pub fn reference(&self) -> ConnectionRef {
        ConnectionRef {
            business_id: self.business_id,
            id: self.id,
            provider: self.provider,
        }
    }

    /// Whether this is the business's connection from before connections belonged to members: stores keep it
    /// (and its tokens) under the old keys.
    pub fn is_first_connection(&self) -> bool {
        self.id == ConnectionId::of_first_connection(self.business_id)
    }
}

/// How we follow one checked calendar of a member's connection: where its next incremental sync starts and the push
/// channel that tells us when to run it. A business has one per checked calendar of each connection. Versioned, so
/// two syncs racing on notifications for the same calendar cannot both advance the cursor: the loser re-reads and
/// runs again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct CalendarWatch {
    /// [`WatchId::of`] its connection and calendar; the one watch a business had before each checked calendar had
    /// its own reads as [`WatchId::of_first_watch`].
    #[serde(default = "WatchId::unnamed")]
    pub id: WatchId,
    pub business_id: BusinessId,
    /// The connection whose calendar this follows; a watch of the release before members is the first connection's.
    #[serde(default = "ConnectionId::unnamed")]
    pub connection_id: ConnectionId,
    /// The member the calendar's busy time blocks.
    #[serde(default = "StaffId::unnamed")]
    pub staff_id: StaffId,
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

read_from_any_release!(CalendarWatch; connection_id: ConnectionId::of_first_connection, id: WatchId::of_first_watch);

impl CalendarWatch {
    /// Following a newly checked calendar of the business's first connection (its first member's): nothing
    /// synced yet, no channel, version 1.
    pub fn new(business_id: BusinessId, provider: ProviderKind, calendar_id: String) -> Self {
        let connection_id = ConnectionId::of_first_connection(business_id);
        Self {
            id: WatchId::of(connection_id, &calendar_id),
            business_id,
            connection_id,
            staff_id: StaffId::first_of(business_id),
            provider,
            calendar_id,
            cursor: None,
            time_zone: None,
            channel: None,
            secret_hash: String::new(),
            opening: None,
            full_sync_at: None,
            synced_at: None,
            sync_started_at: None,
            version: 1,
        }
    }

    /// Following a newly checked calendar of `connection`, for its member.
    pub fn of_connection(connection: &CalendarConnection, calendar_id: String) -> Self {
        Self {
            id: WatchId::of(connection.id, &calendar_id),
            connection_id: connection.id,
            staff_id: connection.staff_id,
            ..Self::new(connection.business_id, connection.provider, calendar_id)
        }
    }

    /// The connection whose tokens read this calendar.
    pub fn connection(&self) -> ConnectionRef {
        ConnectionRef {
            business_id: self.business_id,
            id: self.connection_id,
            provider: self.provider,
        }
    }

    /// Whether this follows `calendar_id` through `connection_id`.
    pub fn follows(&self, connection_id: ConnectionId, calendar_id: &str) -> bool {
        self.connection_id == connection_id && self.calendar_id == calendar_id
    }

    /// What the busy time read through this watch is filed under: the calendar's id for the one watch of the
    /// release before (its busy time was filed so), else the watch's id, since two members may check the same
    /// calendar through connections of their own.
    pub fn busy_time_key(&self) -> String {
        if self.id == WatchId::of_first_watch(self.business_id) {
            self.calendar_id.clone()
        } else {
            self.id.to_string()
        }
    }
}

/// Where a watch stands in the scheduled walk's order: its check time, then business, then watch.
pub type WatchPlace = (Timestamp, BusinessId, WatchId);

/// A calendar watch as the scheduled walk reads it: with when the walk is next to look at it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledWatch {
    pub watch: CalendarWatch,
    /// Set by the walk alone (a sync writing its cursor leaves it), so the store's index of watches by check time
    /// changes about once per safety-net period per calendar, not once per webhook.
    pub check_at: Timestamp,
}

impl ScheduledWatch {
    /// Where a walk that read this watch resumes: strictly after its check time, business and id.
    pub fn place(&self) -> WatchPlace {
        (self.check_at, self.watch.business_id, self.watch.id)
    }
}

/// A push channel between our request to open it and the provider's answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpeningChannel {
    /// Our id for it, where the provider lets us choose one (Google); Graph names its subscriptions itself.
    pub id: Option<String>,
    pub secret_hash: String,
}

/// Calendar connections, OAuth attempts and calendar watches.
#[async_trait]
pub trait ConnectionStore: Send + Sync + 'static {
    /// Every connection of the business's members, in no particular order (DynamoDB: one Query).
    async fn calendar_connections(
        &self,
        business_id: BusinessId,
    ) -> Result<Vec<CalendarConnection>, StoreError>;

    async fn get_calendar_connection(
        &self,
        business_id: BusinessId,
        id: ConnectionId,
    ) -> Result<Option<CalendarConnection>, StoreError>;

    /// Creates or replaces the connection with its id.
    async fn put_calendar_connection(
        &self,
        connection: &CalendarConnection,
    ) -> Result<(), StoreError>;

    /// Records how the connection is doing (and, when given, when it last synced) if it still exists; `Ok(false)`
    /// otherwise. Only these fields change, so a worker's report can never undo a disconnect or a calendar choice
    /// made meanwhile.
    async fn update_connection_health(
        &self,
        business_id: BusinessId,
        id: ConnectionId,
        health: &ConnectionHealth,
        synced_at: Option<Timestamp>,
    ) -> Result<bool, StoreError>;

    /// Removes the connection; removing none succeeds.
    async fn delete_calendar_connection(
        &self,
        business_id: BusinessId,
        id: ConnectionId,
    ) -> Result<(), StoreError>;

    /// Fails with `AlreadyExists` if the nonce is taken.
    async fn put_oauth_attempt(&self, attempt: &OAuthAttempt) -> Result<(), StoreError>;

    /// Removes and returns the attempt: a second call with the same nonce, or one after it expired, gets `None`.
    async fn take_oauth_attempt(
        &self,
        nonce: &str,
        now: Timestamp,
    ) -> Result<Option<OAuthAttempt>, StoreError>;

    /// Every calendar watch of the business, of every member, in no particular order (DynamoDB: one Query).
    async fn calendar_watches(
        &self,
        business_id: BusinessId,
    ) -> Result<Vec<CalendarWatch>, StoreError>;

    async fn get_calendar_watch(
        &self,
        business_id: BusinessId,
        id: WatchId,
    ) -> Result<Option<CalendarWatch>, StoreError>;

    /// Writes the watch (under its business and id) if the stored one is at `expected_version` (`None`: none may
    /// be stored, else `AlreadyExists`); otherwise `VersionMismatch` (or `NotFound` when none is stored).
    async fn put_calendar_watch(
        &self,
        watch: &CalendarWatch,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError>;

    /// Removing none succeeds.
    async fn delete_calendar_watch(
        &self,
        business_id: BusinessId,
        id: WatchId,
    ) -> Result<(), StoreError>;

    /// Watches of every business whose check is due at `now` (check time at or before it), in order of check time,
    /// business and watch, strictly after `after` (a [`ScheduledWatch::place`]), at most `limit`. A new watch is due
    /// at once; [`Self::schedule_calendar_watch_check`] moves it later.
    async fn calendar_watches_due(
        &self,
        now: Timestamp,
        after: Option<WatchPlace>,
        limit: u32,
    ) -> Result<Vec<ScheduledWatch>, StoreError>;

    /// Sets when the scheduled walk next looks at the watch, if it is still at `version`; `Ok(false)` when it
    /// changed or is gone (it then stays as it was: due, for a walk to look at afresh). Nothing else changes, and
    /// [`Self::put_calendar_watch`] never changes the check time, so a sync's cursor write leaves it alone.
    async fn schedule_calendar_watch_check(
        &self,
        business_id: BusinessId,
        id: WatchId,
        version: u64,
        check_at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Gives calendar watches stored before watches were kept by check time one (due at once). Idempotent and
    /// resumable, and once it has finished it records so: later calls cost one read. Answers how many it keyed now.
    async fn index_watches_by_check_time(&self) -> Result<u64, StoreError>;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The release before each checked calendar had its own watch stored one per business, naming neither watch nor
    /// connection nor member: it reads as the business's first watch, of its first connection and member, and its
    /// busy time stays filed under the calendar's id, as that release filed it.
    #[test]
    fn a_watch_of_the_release_before_reads_as_the_first_watch() {
        let business = BusinessId::generate();
        let stored = serde_json::json!({
            "business_id": business,
            "provider": "google",
            "calendar_id": "team@group.calendar.google.com",
            "cursor": "token",
            "time_zone": null,
            "channel": null,
            "secret_hash": "",
            "full_sync_at": null,
            "synced_at": null,
            "version": 7,
        });
        let watch: CalendarWatch = serde_json::from_value(stored).unwrap();
        assert_eq!(watch.id, WatchId::of_first_watch(business));
        assert_eq!(
            watch.connection_id,
            ConnectionId::of_first_connection(business)
        );
        assert_eq!(watch.staff_id, StaffId::first_of(business));
        assert_eq!(watch.busy_time_key(), "team@group.calendar.google.com");
        // A watch of this release files its busy time under its own id.
        let new = CalendarWatch::new(business, ProviderKind::GOOGLE, watch.calendar_id.clone());
        assert_eq!(new.busy_time_key(), new.id.to_string());
        assert!(new.follows(watch.connection_id, &watch.calendar_id));
    }
}
