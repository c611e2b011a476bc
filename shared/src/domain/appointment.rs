//! An appointment: who booked what and when, where the booking came from, its status, and whether the business's
//! calendar shows its current version (sync state, failure codes and the calendar holding its event); the customer's
//! name, phone and email.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::ids::read_from_any_release;
use super::text::string_newtype_conversions;
use super::{
    AppointmentId, BusinessId, Interval, LineBreaks, Minutes, Occupancy, ServiceId, StaffId,
    ValidationError, checked_text, occupied_time,
};

/// Where a booking came from: the phone agent, a member of staff, or an API client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BookingSource {
    Ai,
    Manual,
    Api,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    Booked,
    Cancelled,
}

/// Whether the business's external calendar reflects the appointment's current version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SyncStatus {
    /// The business has no calendar connected; nothing to sync.
    NotConnected,
    /// A change waits for the sync worker.
    Pending,
    Synced,
    Failed,
}

impl SyncStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotConnected => "not_connected",
            Self::Pending => "pending",
            Self::Synced => "synced",
            Self::Failed => "failed",
        }
    }
}

/// Why the last sync attempt failed, as programs match on it. Stored and answered as its snake_case name
/// (`reauth_required`), the very strings written before this was an enum, so stored states read back unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncFailureCode {
    /// A fault on our side; it is never stored, the job fails and the queue retries it.
    InternalError,
    /// This server has no credentials for the provider.
    ProviderNotConfigured,
    /// The provider no longer accepts the connection's grant.
    ReauthRequired,
    RateLimited,
    /// The provider was unreachable or answered with a transient error.
    ProviderUnavailable,
    /// The chosen calendar is gone or no longer shared with the account.
    CalendarNotFound,
    /// The provider refused the change for another reason.
    ProviderError,
    /// The queue gave up retrying.
    SyncGaveUp,
}

impl SyncFailureCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InternalError => "internal_error",
            Self::ProviderNotConfigured => "provider_not_configured",
            Self::ReauthRequired => "reauth_required",
            Self::RateLimited => "rate_limited",
            Self::ProviderUnavailable => "provider_unavailable",
            Self::CalendarNotFound => "calendar_not_found",
            Self::ProviderError => "provider_error",
            Self::SyncGaveUp => "sync_gave_up",
        }
    }
}

impl fmt::Display for SyncFailureCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the last sync attempt failed: a stable code for programs and a sentence for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SyncFailure {
    // The published document keeps describing the code as a plain string, as it always has.
    #[schema(value_type = String)]
    pub code: SyncFailureCode,
    pub message: String,
    /// Whether the cause may go away by itself (rate limit, outage), so the scheduled sweep retries it.
    #[serde(default)]
    pub retryable: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    pub status: SyncStatus,
    pub error: Option<SyncFailure>,
    pub updated_at: Timestamp,
    /// The provider's id of the appointment's event, once it has one.
    #[serde(default)]
    pub external_event_id: Option<String>,
    /// How many times the scheduled sweep has retried this version after a retryable failure.
    #[serde(default)]
    pub automatic_retries: u32,
    /// The calendar that holds the appointment's event, or may hold it (a write whose answer was lost), so the
    /// worker can remove it from there when the event belongs elsewhere. Absent in states stored before events
    /// recorded their calendar: with an event id, such an event is in the calendar the business's connection has
    /// chosen; without one, nowhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_home: Option<EventHome>,
}

/// Where an appointment's event lives: a calendar of one connected account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventHome {
    /// The provider's name as records carry it (`google`, `microsoft`).
    pub provider: String,
    /// The connected account, as the connection names it: with the provider, which connection's grant reaches it.
    pub account: String,
    pub calendar_id: String,
}

impl SyncState {
    /// The state of a freshly written version: pending when a calendar will receive it, else not connected.
    pub fn after_change(calendar_connected: bool, now: Timestamp) -> Self {
        let status = if calendar_connected {
            SyncStatus::Pending
        } else {
            SyncStatus::NotConnected
        };
        Self {
            status,
            error: None,
            updated_at: now,
            external_event_id: None,
            automatic_retries: 0,
            event_home: None,
        }
    }
}

impl SyncState {
    /// The state of the next version of an appointment: as [`Self::after_change`], keeping the event id the
    /// calendar already knows so the worker updates that event instead of looking it up, and where that event
    /// lives so the worker moves it if it now belongs elsewhere.
    pub fn after_next_change(&self, calendar_connected: bool, now: Timestamp) -> Self {
        Self {
            external_event_id: self.external_event_id.clone(),
            event_home: self.event_home.clone(),
            ..Self::after_change(calendar_connected, now)
        }
    }
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $field:literal, $min:expr, $max:expr, $line_breaks:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl TryFrom<String> for $name {
            type Error = ValidationError;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                checked_text($field, &value, $min, $max, $line_breaks).map(Self)
            }
        }

        string_newtype_conversions!($name);
    };
}

bounded_text!(
    /// The customer's name as given on the call; required.
    CustomerName,
    "customer.name",
    1,
    200,
    LineBreaks::Refused
);
bounded_text!(
    /// Free text about the appointment.
    Notes,
    "notes",
    0,
    4000,
    LineBreaks::Allowed
);

impl fmt::Debug for CustomerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CustomerName").field(&self.0).finish()
    }
}

impl fmt::Debug for Notes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Notes").field(&self.0).finish()
    }
}

/// A customer's phone number, normalised to `+` and digits (E.164 style, 7 to 15 digits). Its `Debug` hides all but
/// the last two digits so it cannot reach a log line by accident.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl TryFrom<String> for PhoneNumber {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let invalid = || {
            ValidationError::new(
                "customer.phone",
                "must be a phone number in international form, e.g. +14155550123",
            )
        };
        let trimmed = value.trim();
        let digits_part = trimmed.strip_prefix('+').ok_or_else(invalid)?;
        let mut digits = String::with_capacity(digits_part.len() + 1);
        digits.push('+');
        for character in digits_part.chars() {
            match character {
                '0'..='9' => digits.push(character),
                ' ' | '-' | '(' | ')' | '.' => {}
                _ => return Err(invalid()),
            }
        }
        let count = digits.len() - 1;
        if !(7..=15).contains(&count) || digits.as_bytes().get(1) == Some(&b'0') {
            return Err(invalid());
        }
        Ok(Self(digits))
    }
}

string_newtype_conversions!(PhoneNumber);

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail: String = self
            .0
            .chars()
            .rev()
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        write!(f, "PhoneNumber(***{tail})")
    }
}

/// An email address, checked for the shape `local@domain.tld` only: deliverability is not ours to judge.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl TryFrom<String> for EmailAddress {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let invalid = || {
            ValidationError::new(
                "customer.email",
                "must be an email address such as ana@example.com",
            )
        };
        let trimmed = value.trim();
        if trimmed.len() > 254 || trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(invalid());
        }
        Ok(Self(trimmed.to_owned()))
    }
}

string_newtype_conversions!(EmailAddress);

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EmailAddress([redacted])")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub name: CustomerName,
    pub phone: Option<PhoneNumber>,
    pub email: Option<EmailAddress>,
}

/// An appointment as stored. Buffers are copied from the service when booked, so changing a service later never
/// silently moves the time an existing appointment blocks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Appointment {
    pub id: AppointmentId,
    pub business_id: BusinessId,
    pub service_id: ServiceId,
    /// Who it is with; kept on reschedule unless the request names another.
    #[serde(default = "StaffId::unnamed")]
    pub staff_id: StaffId,
    pub time: Interval,
    /// The business-local date of `time.start`; max-per-day counts by it.
    pub local_date: Date,
    pub buffer_before: Minutes,
    pub buffer_after: Minutes,
    pub customer: Customer,
    pub notes: Option<Notes>,
    pub source: BookingSource,
    pub status: AppointmentStatus,
    /// 1 when booked, bumped on every change; writes are conditional on it.
    pub version: u64,
    pub sync: SyncState,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

read_from_any_release!(Appointment);

impl Appointment {
    /// `[start − buffer_before, end + buffer_after)`: the time no other live appointment of its staff member may
    /// touch.
    pub fn occupied(&self) -> Interval {
        occupied_time(self.time, self.buffer_before, self.buffer_after)
    }

    pub fn is_live(&self) -> bool {
        self.status == AppointmentStatus::Booked
    }

    pub fn occupancy(&self) -> Occupancy {
        Occupancy {
            appointment_id: self.id,
            service_id: self.service_id,
            staff_id: self.staff_id,
            occupied: self.occupied(),
            local_date: self.local_date,
        }
    }
}

/// The fields of a stored appointment that the time it blocks depends on, read from the same record. An
/// availability answer reads every appointment near its window; decoding only these skips the customer, notes and
/// sync state, which were most of the server's time under load.
#[derive(Clone, Debug, Deserialize)]
pub struct BlockingFields {
    id: AppointmentId,
    business_id: BusinessId,
    service_id: ServiceId,
    /// Absent from records written before staff members: those are the business's first member's.
    #[serde(default)]
    staff_id: Option<StaffId>,
    time: Interval,
    local_date: Date,
    buffer_before: Minutes,
    buffer_after: Minutes,
    status: AppointmentStatus,
}

impl BlockingFields {
    pub fn is_live(&self) -> bool {
        self.status == AppointmentStatus::Booked
    }

    /// The same occupancy [`Appointment::occupancy`] gives for the whole record.
    pub fn occupancy(&self) -> Occupancy {
        Occupancy {
            appointment_id: self.id,
            service_id: self.service_id,
            staff_id: self
                .staff_id
                .unwrap_or_else(|| StaffId::first_of(self.business_id)),
            occupied: occupied_time(self.time, self.buffer_before, self.buffer_after),
            local_date: self.local_date,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocking_fields_read_from_a_stored_appointment_give_its_occupancy() {
        let at = |text: &str| text.parse::<Timestamp>().unwrap_or_else(|e| panic!("{e}"));
        let time = Interval::new(at("2027-01-20T10:00:00Z"), at("2027-01-20T10:30:00Z"))
            .unwrap_or_else(|e| panic!("{e}"));
        let business_id = BusinessId::generate();
        let mut appointment = Appointment {
            id: AppointmentId::generate(),
            business_id,
            service_id: ServiceId::generate(),
            staff_id: StaffId::first_of(business_id),
            time,
            local_date: jiff::civil::date(2027, 1, 20),
            buffer_before: Minutes::new(5),
            buffer_after: Minutes::new(10),
            customer: Customer {
                name: CustomerName::try_from("Ana \"Silva\"".to_owned())
                    .unwrap_or_else(|e| panic!("{e}")),
                phone: None,
                email: None,
            },
            notes: None,
            source: BookingSource::Api,
            status: AppointmentStatus::Booked,
            version: 3,
            sync: SyncState::after_change(true, at("2027-01-01T00:00:00Z")),
            created_at: at("2027-01-01T00:00:00Z"),
            updated_at: at("2027-01-01T00:00:00Z"),
        };
        for status in [AppointmentStatus::Booked, AppointmentStatus::Cancelled] {
            appointment.status = status;
            let stored = serde_json::to_vec(&appointment).unwrap_or_else(|e| panic!("{e}"));
            let fields: BlockingFields =
                serde_json::from_slice(&stored).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(fields.is_live(), appointment.is_live());
            assert_eq!(fields.occupancy(), appointment.occupancy());
        }
    }

    #[test]
    fn phone_numbers_are_normalised_and_validated() {
        let phone = PhoneNumber::try_from("+1 (415) 555-0123".to_owned()).map(String::from);
        assert_eq!(phone.ok().as_deref(), Some("+14155550123"));
        assert!(PhoneNumber::try_from("4155550123".to_owned()).is_err());
        assert!(PhoneNumber::try_from("+1 415 CALL ME".to_owned()).is_err());
        assert!(PhoneNumber::try_from("+123".to_owned()).is_err());
        assert!(PhoneNumber::try_from("+0123456789".to_owned()).is_err());
    }

    #[test]
    fn phone_debug_hides_the_number() {
        let phone =
            PhoneNumber::try_from("+14155550123".to_owned()).unwrap_or_else(|e| panic!("{e}"));
        let shown = format!("{phone:?}");
        assert!(!shown.contains("415555"));
        assert!(shown.ends_with("23)"));
    }

    #[test]
    fn emails_need_a_plausible_shape() {
        assert!(EmailAddress::try_from("ana@example.com".to_owned()).is_ok());
        for bad in [
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "ana @example.com",
            "ana@.com",
            "ana@example..com",
        ] {
            assert!(
                EmailAddress::try_from(bad.to_owned()).is_err(),
                "{bad} accepted"
            );
        }
    }

    /// The codes as sync states were stored before the code was an enum: each reads back as its variant and is
    /// written again as the same string, so stored appointments need no migration.
    #[test]
    fn stored_sync_failure_codes_read_and_write_back_unchanged() {
        let stored = [
            ("internal_error", SyncFailureCode::InternalError),
            (
                "provider_not_configured",
                SyncFailureCode::ProviderNotConfigured,
            ),
            ("reauth_required", SyncFailureCode::ReauthRequired),
            ("rate_limited", SyncFailureCode::RateLimited),
            ("provider_unavailable", SyncFailureCode::ProviderUnavailable),
            ("calendar_not_found", SyncFailureCode::CalendarNotFound),
            ("provider_error", SyncFailureCode::ProviderError),
            ("sync_gave_up", SyncFailureCode::SyncGaveUp),
        ];
        for (text, code) in stored {
            let written = serde_json::json!({"code": text, "message": "Google answered 429", "retryable": true});
            let read: Result<SyncFailure, _> = serde_json::from_value(written.clone());
            let failure = read.map_err(|error| error.to_string());
            assert_eq!(
                failure.as_ref().map(|failure| failure.code),
                Ok(code),
                "{text}"
            );
            let again = failure.and_then(|failure| {
                serde_json::to_value(&failure).map_err(|error| error.to_string())
            });
            assert_eq!(again, Ok(written), "{text}");
            assert_eq!(code.as_str(), text);
            assert_eq!(code.to_string(), text);
        }
    }

    /// A state stored before events recorded their calendar reads with no home (the worker then takes the
    /// connection's chosen calendar), and a state with a home is stored readably and reads back the same.
    #[test]
    fn sync_states_with_and_without_an_event_home_read_back() {
        let stored_by_the_previous_release = serde_json::json!({
            "status": "synced",
            "error": null,
            "updated_at": "2027-01-01T00:00:00Z",
            "external_event_id": "event-1",
            "automatic_retries": 0
        });
        let state: SyncState = serde_json::from_value(stored_by_the_previous_release.clone())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(state.external_event_id.as_deref(), Some("event-1"));
        assert_eq!(state.event_home, None);
        let written = serde_json::to_value(&state).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(written, stored_by_the_previous_release);

        let homed = SyncState {
            event_home: Some(EventHome {
                provider: "google".to_owned(),
                account: "owner@example.com".to_owned(),
                calendar_id: "team@group.calendar.google.com".to_owned(),
            }),
            ..state
        };
        let written = serde_json::to_value(&homed).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            written["event_home"],
            serde_json::json!({
                "provider": "google",
                "account": "owner@example.com",
                "calendar_id": "team@group.calendar.google.com"
            })
        );
        let read: SyncState = serde_json::from_value(written).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read, homed);
    }

    #[test]
    fn customer_name_is_required() {
        assert!(CustomerName::try_from("  ".to_owned()).is_err());
        assert!(Notes::try_from(String::new()).is_ok());
    }
}
