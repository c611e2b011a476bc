//! The domain: businesses, services, appointments and the rules that bind them. Pure: no I/O, no clock; time is
//! always passed in.

mod appointment;
mod business;
mod display_name;
mod external_event;
mod hold;
mod ids;
mod interval;
mod member_busy;
mod occupancy;
mod phone;
mod service;
mod settings;
mod staff;
mod text;
mod time_text;

pub use appointment::{
    Appointment, AppointmentStatus, BlockingFields, BookingSource, Customer, CustomerName,
    EmailAddress, EventHome, Notes, PhoneNumber, SyncFailure, SyncFailureCode, SyncState,
    SyncStatus,
};
pub use business::{ApiKey, ApiKeyHash, Business, BusinessTimeZone};
pub use display_name::{BusinessName, DisplayName, ServiceName};
pub use external_event::{EventTiming, ExternalEvent, ExternalEventChange, busy_time};
pub use hold::{DEFAULT_HOLD_MINUTES, Hold, HoldMinutes, MAX_HOLD_MINUTES, MIN_HOLD_MINUTES};
pub(crate) use ids::read_from_any_release;
pub use ids::{AppointmentId, BusinessId, ConnectionId, HoldId, ServiceId, StaffId, WatchId};
pub use interval::{Interval, merge_intervals};
pub use member_busy::MemberBusy;
pub use occupancy::{
    BookingConflict, DailyLimits, MAX_OCCUPIED_SPAN, Occupancy, check_booking_conflicts,
    occupied_time,
};
pub use phone::{CallerNumber, normalize_phone, read_caller_number};
pub use service::{
    DEFAULT_SLOT_INTERVAL, DateOverride, LocalTimeRange, MAX_BOOKING_HORIZON_DAYS,
    MAX_BUFFER_MINUTES, MAX_DURATION_MINUTES, Minutes, Service, ServiceSettings, WeeklyHours,
};
pub use settings::{BusinessSettings, CountryCode};
pub use staff::{AssignmentPolicy, StaffMember, StaffName, StaffServices, StaffSettings};
pub(crate) use text::string_newtype_conversions;
pub use text::{LineBreaks, checked_text};
pub use time_text::{
    DATE_FORM, DATE_PATTERN, INSTANT_FORM, INSTANT_PATTERN, WALL_TIME_FORM, WALL_TIME_PATTERN,
    ZONED_START_FORM, ZONED_START_PATTERN, parse_instant, parse_local_date, parse_wall_time,
    parse_zoned_start,
};

/// Input that breaks a domain rule, naming the offending field so the API can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
