//! `AppError`: everything a use case can refuse, each with one meaning; the front doors map it once to their
//! own answer (problem+json, a dashboard page, an agent tool's error).

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::availability::Unavailability;
use crate::domain::{Interval, ValidationError};
use crate::ports::StoreError;

/// Why connecting a calendar from the dashboard did not finish. It travels to the dashboard's page in the
/// redirect's query as its snake_case name; a name the page does not know reads as [`ConnectFailure::Failed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectFailure {
    /// The owner did not grant access, or the provider refused the grant.
    Denied,
    /// The provider could not be reached.
    Unavailable,
    /// Anything else.
    #[serde(other)]
    Failed,
}

impl ConnectFailure {
    /// How a failure to connect is told to the dashboard.
    pub fn of(error: &AppError) -> Self {
        match error {
            AppError::OAuthDenied(_) => Self::Denied,
            AppError::ProviderUnavailable(_) => Self::Unavailable,
            _ => Self::Failed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Denied => "denied",
            Self::Unavailable => "unavailable",
            Self::Failed => "failed",
        }
    }
}

impl std::fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a use case looked for and did not find; each has its own stable problem code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    Service,
    Appointment,
    Hold,
    StaffMember,
    Business,
    Account,
    ApiKey,
    /// A calendar provider this build does not register.
    Provider,
    /// A record the store did not find, where the use case did not say which.
    Record,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Service => "service",
            Self::Appointment => "appointment",
            Self::Hold => "hold",
            Self::StaffMember => "staff member",
            Self::Business => "business",
            Self::Account => "staff member",
            Self::ApiKey => "api key",
            Self::Provider => "calendar provider",
            Self::Record => "record",
        })
    }
}

/// Everything a use case can refuse, each with one meaning; the HTTP layer maps these once to problem responses.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Validation(#[from] ValidationError),
    #[error("{0} not found")]
    NotFound(Missing),
    #[error("a window may span at most {max_days} days")]
    WindowTooLong { max_days: i64 },
    #[error("the service is not active")]
    ServiceInactive,
    #[error("the staff member is not active")]
    StaffInactive,
    #[error("the staff member does not perform this service")]
    StaffDoesNotPerform,
    /// Deactivating a member who still has appointments ahead needs the request to say what becomes of them.
    #[error(
        "the staff member has {count} upcoming appointments; move or cancel them, or ask to reassign or cancel them"
    )]
    StaffHasFutureAppointments { count: usize },
    #[error("a business keeps at least one active staff member")]
    LastActiveStaffMember,
    /// Carries the business's zone, so every front door tells the refused time and the alternatives in local time
    /// from the refusal alone, and passing it on with `?` keeps `reason` and `alternatives`.
    #[error("the time is not available: {reason}")]
    SlotUnavailable {
        requested: Timestamp,
        reason: Unavailability,
        alternatives: Vec<Interval>,
        zone: TimeZone,
    },
    #[error("it was changed since it was read; read it again")]
    VersionConflict,
    #[error("the appointment is cancelled")]
    AppointmentCancelled,
    #[error("the hold has expired; hold the time again")]
    HoldExpired,
    #[error("the hold was already booked")]
    HoldAlreadyConverted,
    #[error("this Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,
    #[error("{0} calendars are not configured on this server")]
    ProviderNotConfigured(crate::ports::ProviderKind),
    #[error("no calendar is connected")]
    CalendarNotConnected,
    #[error("the authorization link is invalid, expired or already used; start connecting again")]
    OAuthStateInvalid,
    #[error("the calendar provider did not grant access: {0}")]
    OAuthDenied(String),
    #[error("the calendar {0:?} is not one of the account's calendars")]
    CalendarNotFound(String),
    #[error("the calendar {0:?} is read-only for this account")]
    CalendarNotWritable(String),
    #[error("the calendar provider is unavailable: {0}")]
    ProviderUnavailable(String),
    /// A webhook call that does not match a live push channel and its secret.
    #[error("the notification does not match a live subscription")]
    WebhookRejected,
    #[error("the email or password is not right")]
    SignInFailed,
    /// Too many failed sign-ins for the account or the address in the current window.
    #[error("too many failed sign-ins; try again after {retry_at}")]
    SignInThrottled { retry_at: Timestamp },
    #[error("the link is invalid, expired or already used; ask for a new one")]
    PasswordLinkInvalid,
    /// The password is right but the owner who signed up has not followed the emailed link yet.
    #[error("confirm your email with the link we sent before signing in")]
    EmailNotVerified,
    /// Too many links asked for (sign-up confirmations, password resets) by this address or for this account.
    #[error("too many requests; try again after {retry_at}")]
    TooManyRequests { retry_at: Timestamp },
    /// Connecting from the dashboard did not finish; the browser goes back to the dashboard, told why.
    #[error("connecting {provider} did not finish ({why})")]
    DashboardConnectFailed {
        provider: crate::ports::ProviderKind,
        why: ConnectFailure,
    },
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => Self::NotFound(Missing::Record),
            StoreError::VersionMismatch => Self::VersionConflict,
            StoreError::Refused(invalid) => Self::Validation(invalid),
            other => Self::Internal(Box::new(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dashboard reads the reason back from the redirect's query by the same names; a name it does not know
    /// (typed by hand, or from an older page) is the plain "did not finish".
    #[test]
    fn connect_failures_travel_by_name_and_unknown_names_read_as_failed() {
        for why in [
            ConnectFailure::Denied,
            ConnectFailure::Unavailable,
            ConnectFailure::Failed,
        ] {
            let read: Result<ConnectFailure, _> = serde_json::from_value(why.as_str().into());
            assert_eq!(read.ok(), Some(why));
        }
        let unknown: Result<ConnectFailure, _> = serde_json::from_value("teapot".into());
        assert_eq!(unknown.ok(), Some(ConnectFailure::Failed));
        assert_eq!(
            ConnectFailure::of(&AppError::OAuthDenied("no".into())),
            ConnectFailure::Denied
        );
        assert_eq!(
            ConnectFailure::of(&AppError::OAuthStateInvalid),
            ConnectFailure::Failed
        );
    }
}
