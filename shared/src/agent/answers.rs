//! What each tool answers: `summary` is the sentence to say to the caller; the other fields are the same facts for
//! the model to act on (ids, RFC 3339 times). The structs are also the tools' output schemas.

use schemars::JsonSchema;
use serde::Serialize;

/// A start time, as the model passes it on and as the caller hears it.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct TimeView {
    /// RFC 3339 with the business's UTC offset at that instant.
    pub start: String,
    pub end: String,
    /// The time as it is said to the caller, in the business's local time.
    pub spoken: String,
    /// Who is free at this time; given only when the business has more than one staff member. To book with one of
    /// them, pass their staff_id as staff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<Vec<StaffView>>,
}

/// A staff member, as the caller names them.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct StaffView {
    pub staff_id: String,
    pub name: String,
}

/// A staff member and what they do.
#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct StaffMemberView {
    pub staff_id: String,
    pub name: String,
    /// The names of the services they perform.
    pub services: Vec<String>,
    /// Their own calendar: whether the busy time read from it can be trusted (offers with them carry its warning).
    pub calendar: CalendarView,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct ServiceView {
    pub service_id: String,
    pub name: String,
    pub duration_minutes: u32,
}

/// How far the business's calendar can be trusted for busy time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CalendarState {
    /// Connected, and its events were read recently.
    Fresh,
    /// Connected, but its events were not read recently or reading them failed: recent changes may be missing.
    Stale,
    /// The provider no longer accepts our access: the business must reconnect the calendar.
    ReconnectNeeded,
    /// No calendar connected: availability comes from the bookings made here alone.
    NotConnected,
}

#[derive(Clone, Debug, Serialize, JsonSchema)]
pub struct CalendarView {
    pub state: CalendarState,
    /// The state in a sentence.
    pub message: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BusinessContext {
    /// What to tell the caller, in the business's local time.
    pub summary: String,
    pub business_name: String,
    /// IANA time zone; every time in every answer is local to it.
    pub time_zone: String,
    /// en-US or en-GB: how the spoken forms are worded.
    pub locale: String,
    /// Now, RFC 3339 with the local offset.
    pub now: String,
    /// Today's local date, YYYY-MM-DD.
    pub today: String,
    /// Today's weekday, e.g. Tuesday.
    pub weekday: String,
    /// The local time now, HH:MM (24-hour).
    pub local_time: String,
    /// Tomorrow's local date, YYYY-MM-DD.
    pub tomorrow: String,
    pub services: Vec<ServiceView>,
    /// Who performs the services: the business's active staff members, each with what they do. A caller may ask for
    /// one by name; pass the name or the staff_id as staff.
    pub staff: Vec<StaffMemberView>,
    pub calendar: CalendarView,
    /// True when the phone system gave no confirmed number for the caller: ask for one to call them back on, and
    /// give it as customer_phone when booking.
    pub callback_number_needed: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct DayTimes {
    /// Local date, YYYY-MM-DD.
    pub date: String,
    /// The date as it is said, e.g. Tuesday the 8th of December.
    pub spoken_date: String,
    pub times: Vec<TimeView>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AvailableTimes {
    /// What to tell the caller, in the business's local time.
    pub summary: String,
    pub service: ServiceView,
    /// The first and last local dates searched, YYYY-MM-DD.
    pub from_date: String,
    pub to_date: String,
    /// The free times returned, by local day.
    pub days: Vec<DayTimes>,
    /// How many free times match in the window, of which `days` holds at most `limit`.
    pub matching: usize,
    /// When nothing matched in the window: the next free times after it (same part of day or hours).
    pub next_available: Vec<TimeView>,
    /// Set when part of the window cannot be booked now (minimum notice or booking horizon), saying which part.
    pub window_note: Option<String>,
    /// Set when the calendar's busy time may be out of date: say the time still needs confirming.
    pub warning: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TimeCheck {
    /// What to tell the caller, in the business's local time.
    pub summary: String,
    pub available: bool,
    pub service: ServiceView,
    pub requested: TimeView,
    /// Why it cannot be booked: outside_hours, too_soon, too_far, daily_limit, taken or calendar_busy.
    pub reason: Option<String>,
    /// The nearest free times, when it cannot be booked.
    pub alternatives: Vec<TimeView>,
    pub warning: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct HoldAnswer {
    /// What to tell the caller, in the business's local time.
    pub summary: String,
    pub held: bool,
    /// Pass to book_appointment to book exactly this time; set when held.
    pub hold_id: Option<String>,
    pub service: ServiceView,
    /// The time held, or asked for when it could not be held.
    pub time: TimeView,
    /// With whom the time is held; given only when the business has more than one staff member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<StaffView>,
    /// Until when the time is held, RFC 3339 with the local offset; set when held.
    pub expires_at: Option<String>,
    /// Why it cannot be held: outside_hours, too_soon, too_far, daily_limit, taken or calendar_busy.
    pub reason: Option<String>,
    /// The nearest free times, when it cannot be held.
    pub alternatives: Vec<TimeView>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatusView {
    Booked,
    Cancelled,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct AppointmentView {
    pub appointment_id: String,
    pub service_id: String,
    pub service_name: String,
    pub customer_name: String,
    pub status: AppointmentStatusView,
    pub time: TimeView,
    /// With whom; given only when the business has more than one staff member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<StaffView>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct BookingAnswer {
    /// What to tell the caller, in the business's local time.
    pub summary: String,
    pub booked: bool,
    /// The appointment, when booked.
    pub appointment: Option<AppointmentView>,
    /// True when this repeats an earlier call with the same idempotency key: nothing new was booked.
    pub repeated: bool,
    /// Why it was not booked: outside_hours, too_soon, too_far, daily_limit, taken or calendar_busy.
    pub reason: Option<String>,
    /// The nearest free times, when it was not booked.
    pub alternatives: Vec<TimeView>,
    /// True when the booking has no confirmed number to call the caller back on (the phone system withheld the
    /// caller's number, or gave one that could not be confirmed): ask the caller for one.
    pub callback_number_needed: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RescheduleAnswer {
    /// What to tell the caller, in the business's local time.
    pub summary: String,
    pub rescheduled: bool,
    /// The appointment as it is now (at its old time when not rescheduled).
    pub appointment: AppointmentView,
    pub reason: Option<String>,
    pub alternatives: Vec<TimeView>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CancelAnswer {
    /// What to tell the caller, in the business's local time.
    pub summary: String,
    /// False when it had been cancelled before this call.
    pub newly_cancelled: bool,
    pub appointment: AppointmentView,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct CallerAppointments {
    /// What to tell the caller, in the business's local time.
    pub summary: String,
    /// The number searched, in international form.
    pub phone: String,
    /// The caller's upcoming booked appointments, soonest first.
    pub appointments: Vec<AppointmentView>,
    /// True when the caller has more upcoming appointments than listed.
    pub more: bool,
}
