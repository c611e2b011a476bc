use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use secrecy::SecretString;

use crate::domain::AppointmentId;
use crate::ports::ProviderKind;

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
    Transient(String),
    /// The calendar is gone or not ours to write: retrying will not help.
    #[error("the calendar was not found")]
    CalendarNotFound,
    /// Anything else the provider refused; retrying the same request will not help.
    #[error("the provider refused the request: {0}")]
    Rejected(String),
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

/// One calendar provider's event API, reduced to what sync needs: make the appointment's event exist with these
/// details, or make it not exist. Both are idempotent, so a retried or duplicated job is harmless.
#[async_trait]
pub trait CalendarProvider: Send + Sync + 'static {
    fn kind(&self) -> ProviderKind;

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
}
