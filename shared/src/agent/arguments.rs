//! What each tool takes, as the model sends it. Each struct is both the JSON Schema the model is shown (doc comments
//! become descriptions, unknown fields are refused) and the parser of its arguments, so the two cannot drift apart.
//! Names are fixed by the agent-interface issue so that a business's prompt can name them.

//!
//! Every time and date argument is read by the edge's one parser (`crate::domain::time_text`), and its schema's
//! `pattern` is that parser's own, so a model is shown exactly what is accepted.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::domain::{DATE_PATTERN, WALL_TIME_PATTERN, ZONED_START_PATTERN};

const UUID_PATTERN: &str =
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArguments {}

/// A part of the day, in the business's local time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PartOfDay {
    Morning,
    Afternoon,
    Evening,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindAvailableTimes {
    /// The service's id, from get_business_context.
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub service_id: String,
    /// One local date to search, YYYY-MM-DD. Leave out when giving from_date and to_date.
    #[schemars(regex(pattern = DATE_PATTERN))]
    pub date: Option<String>,
    /// First local date of a range to search, YYYY-MM-DD.
    #[schemars(regex(pattern = DATE_PATTERN))]
    pub from_date: Option<String>,
    /// Last local date of the range (included), YYYY-MM-DD; 6 days after from_date when left out.
    #[schemars(regex(pattern = DATE_PATTERN))]
    pub to_date: Option<String>,
    /// Only times in this part of the local day: morning (before 12:00), afternoon (12:00 to 17:00) or evening
    /// (from 17:00).
    pub part_of_day: Option<PartOfDay>,
    /// Only times starting at or after this local time, HH:MM (24-hour).
    #[schemars(regex(pattern = WALL_TIME_PATTERN))]
    pub earliest_time: Option<String>,
    /// Only times starting at or before this local time, HH:MM (24-hour).
    #[schemars(regex(pattern = WALL_TIME_PATTERN))]
    pub latest_time: Option<String>,
    /// How many times to return, 1 to 20; 5 when left out.
    #[schemars(range(min = 1, max = 20))]
    pub limit: Option<u32>,
}

/// One service at one start: what check_time and hold_time both take (their schemas are published without a title,
/// so the two tools show the very same arguments).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceAtStart {
    /// The service's id, from get_business_context.
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub service_id: String,
    /// The start time: a local date-time in the business's zone as YYYY-MM-DDTHH:MM (2026-12-08T10:30), or RFC
    /// 3339 with seconds and offset (2026-12-08T10:30:00-05:00) as find_available_times gives it.
    #[schemars(regex(pattern = ZONED_START_PATTERN))]
    pub start: String,
}

pub type CheckTime = ServiceAtStart;
pub type HoldTime = ServiceAtStart;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BookAppointment {
    /// The hold_id from hold_time: books exactly the held time. Give it, or service_id and start.
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub hold_id: Option<String>,
    /// The service's id, from get_business_context, when booking without a hold.
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub service_id: Option<String>,
    /// The start time when booking without a hold: a local date-time in the business's zone (2026-12-08T10:30) or
    /// RFC 3339 with offset, as find_available_times gives it.
    #[schemars(regex(pattern = ZONED_START_PATTERN))]
    pub start: Option<String>,
    /// The caller's name as they gave it.
    pub customer_name: String,
    /// The caller's phone number, international (+14155550123) or as the caller says it in the business's country.
    /// Leave out to use the number the caller is calling from.
    pub customer_phone: Option<String>,
    /// Anything the caller wants the business to know.
    pub notes: Option<String>,
    /// A key unique to this booking (for example the call id). Calling again with the same key and details books
    /// nothing new and gives the same answer.
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindCallerAppointments {
    /// The caller's phone number, international (+14155550123) or as the caller says it in the business's country.
    /// Leave out to use the number the caller is calling from.
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RescheduleAppointment {
    /// The appointment's id, from find_caller_appointments or the booking.
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub appointment_id: String,
    /// The new start time: a local date-time in the business's zone (2026-12-08T10:30) or RFC 3339 with offset.
    #[schemars(regex(pattern = ZONED_START_PATTERN))]
    pub start: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelAppointment {
    /// The appointment's id, from find_caller_appointments or the booking.
    #[schemars(regex(pattern = UUID_PATTERN))]
    pub appointment_id: String,
}
