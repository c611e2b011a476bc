//! The calendar provider port ([`CalendarProvider`]): writing our appointments as events, reading the business's own
//! events as busy time, push channels, and the errors providers answer with, the provider's own words kept apart.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use secrecy::SecretString;

use serde::{Deserialize, Serialize};

use crate::domain::{AppointmentId, ExternalEventChange, Interval};
use crate::ports::{OAuthFlow, ProviderKind, ProviderProfile};

/// What an appointment looks like on the business's calendar. The provider decides the event's id from
/// `appointment_id`, so the same appointment always maps to the same event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarEvent {
    pub appointment_id: AppointmentId,
    pub summary: String,
    pub description: String,
    pub start: Timestamp,
    pub end: Timestamp,
    /// IANA zone the event is shown in.
    pub time_zone: String,
}

/// A calendar of the connected account, as offered for selection.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct CalendarSummary {
    pub id: String,
    pub name: String,
    /// The account's main calendar; its owner names the account.
    pub primary: bool,
    /// Whether we may create events in it; only writable calendars can be selected.
    pub writable: bool,
    /// The e-mail address of the calendar's owner, where the provider tells it.
    pub owner: Option<String>,
}

/// Why a provider call failed, sorted by what the caller should do about it.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The access token was refused: refresh it and try again.
    #[error("the provider refused the access token")]
    Unauthorized,
    /// The provider asks us to slow down; `retry_after` is its hint, if it gave one.
    #[error("rate limited by the provider")]
    RateLimited { retry_after: Option<Duration> },
    /// Network trouble, a timeout or a 5xx: the same call may well succeed later.
    #[error("the provider is unavailable: {0}")]
    Transient(Trouble),
    /// The calendar is gone or not ours to write: retrying will not help.
    #[error("the calendar was not found")]
    CalendarNotFound,
    /// Anything else the provider refused; retrying the same request will not help.
    #[error("the provider refused the request: {0}")]
    Rejected(Trouble),
    /// The change cursor is no longer valid (Google's 410 for a sync token, Graph's for a delta link): only a full
    /// sync can continue.
    #[error("the provider no longer knows the sync cursor; a full sync is needed")]
    CursorExpired,
}

/// What a failed provider call was told: our account of it, and the provider's own message when it gave one.
/// Kept apart so that the owner reads the provider's words once, quoted, and never our wrapping around them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trouble {
    /// Ours, for the log: the status and code the provider answered, or what failed on the way.
    pub detail: String,
    /// The provider's own message, verbatim.
    pub provider_says: Option<String>,
}

impl Trouble {
    /// A refusal the provider explained in its own words.
    pub fn said(detail: impl Into<String>, provider_says: Option<&str>) -> Self {
        Self {
            detail: detail.into(),
            provider_says: provider_says
                .map(str::trim)
                .filter(|words| !words.is_empty())
                .map(str::to_owned),
        }
    }
}

/// Trouble of our own (a timeout, an answer we could not read): nothing the provider said.
impl From<String> for Trouble {
    fn from(detail: String) -> Self {
        Self {
            detail,
            provider_says: None,
        }
    }
}

impl From<&str> for Trouble {
    fn from(detail: &str) -> Self {
        detail.to_owned().into()
    }
}

impl std::fmt::Display for Trouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.provider_says {
            Some(words) => write!(f, "{}: {words}", self.detail),
            None => f.write_str(&self.detail),
        }
    }
}

impl ProviderError {
    /// Whether a later attempt of the same call may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Transient(_) | Self::RateLimited { .. } | Self::Unauthorized
        )
    }
}

/// Where a sync starts: from nothing (every event in `window`) or from the cursor an earlier sync returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangesSince<'a> {
    Start { window: Interval },
    Cursor(&'a str),
}

/// Everything that changed since the starting point, all pages read, and where the next sync continues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalendarChanges {
    /// After a start from nothing, every event of the window (deleted ones may be listed as removed).
    pub changes: Vec<ExternalEventChange>,
    /// Google's `nextSyncToken`, Graph's `@odata.deltaLink`.
    pub cursor: String,
    /// The calendar's own zone when the provider tells it; all-day events are read in it.
    pub time_zone: Option<String>,
}

/// What a new push channel should deliver, and where.
#[derive(Clone, Copy, Debug)]
pub struct PushRequest<'a> {
    /// Our id for the channel where the provider lets us choose one (Google); Graph chooses its own.
    pub channel_id: &'a str,
    /// Our webhook URL for change notifications (and for Graph's lifecycle notifications).
    pub address: &'a str,
    /// Echoed by the provider in every notification (Google's channel token, Graph's clientState).
    pub secret: &'a SecretString,
    /// When the channel should end; the provider may end it sooner.
    pub expires_at: Timestamp,
}

/// A live push channel (Google) or subscription (Graph) on one calendar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushChannel {
    pub id: String,
    /// Google's `resourceId`, needed to stop the channel.
    pub resource_id: Option<String>,
    pub expires_at: Timestamp,
}

/// How a provider's push channels are set up, so that the use cases need not know which provider they talk to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushSettings {
    /// How long a new or renewed channel is asked to last.
    pub channel_lifetime: SignedDuration,
    /// Whether we choose the channel's id (Google), which then carries the business; otherwise the provider names
    /// the channel (Graph) and the business rides in the secret it echoes.
    pub we_name_channels: bool,
}

/// One provider, ready to use: who it is, its OAuth flow and its calendar API, built at start-up by the composition
/// root.
#[derive(Clone)]
pub struct ProviderSetup {
    pub profile: ProviderProfile,
    pub oauth: Arc<dyn OAuthFlow>,
    pub calendar: Arc<dyn CalendarProvider>,
}

impl ProviderSetup {
    pub fn kind(&self) -> ProviderKind {
        self.profile.kind
    }
}

/// One calendar provider's event API, reduced to what sync needs: make the appointment's event exist with these
/// details, or make it not exist. Both are idempotent, so a retried or duplicated job is harmless.
#[async_trait]
pub trait CalendarProvider: Send + Sync + 'static {
    fn push_settings(&self) -> PushSettings;

    /// Every calendar of the account, the primary one included.
    async fn list_calendars(
        &self,
        access_token: &SecretString,
    ) -> Result<Vec<CalendarSummary>, ProviderError>;

    /// Creates the appointment's event or brings it up to date; returns the provider's event id. `known_event_id` is
    /// the id an earlier sync returned, if any: a hint that saves a lookup, never trusted to still exist.
    async fn put_event(
        &self,
        access_token: &SecretString,
        calendar_id: &str,
        event: &CalendarEvent,
        known_event_id: Option<&str>,
    ) -> Result<String, ProviderError>;

    /// Removes the appointment's event; an event that is already gone is success.
    async fn remove_event(
        &self,
        access_token: &SecretString,
        calendar_id: &str,
        appointment_id: AppointmentId,
        known_event_id: Option<&str>,
    ) -> Result<(), ProviderError>;

    /// The events of the calendar that changed since `since`, every page read. `CursorExpired` when the cursor is
    /// no longer valid.
    async fn changes(
        &self,
        access_token: &SecretString,
        calendar_id: &str,
        since: ChangesSince<'_>,
    ) -> Result<CalendarChanges, ProviderError>;

    /// Asks the provider to notify `request.address` of every change to the calendar's events.
    async fn open_push_channel(
        &self,
        access_token: &SecretString,
        calendar_id: &str,
        request: &PushRequest<'_>,
    ) -> Result<PushChannel, ProviderError>;

    /// Extends the channel to `expires_at`. `Ok(None)` when the provider cannot extend channels (Google): the caller
    /// opens a new one and closes the old.
    async fn renew_push_channel(
        &self,
        access_token: &SecretString,
        channel: &PushChannel,
        expires_at: Timestamp,
    ) -> Result<Option<PushChannel>, ProviderError>;

    /// Stops the channel; one that is already gone is success.
    async fn close_push_channel(
        &self,
        access_token: &SecretString,
        channel: &PushChannel,
    ) -> Result<(), ProviderError>;
}
