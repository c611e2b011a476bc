//! Request and response bodies: the wire format, apart from the domain types (nittei's api_structs). Requests
//! become domain values through `TryFrom`, which is where input is validated; responses show instants in the
//! business's zone with its offset.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::BookingTarget;
use crate::availability::OfferedSlot;
use crate::domain::{
    Appointment, AppointmentStatus, BookingSource, DEFAULT_SLOT_INTERVAL, DateOverride,
    INSTANT_FORM, Interval, LocalTimeRange, Minutes, Service, ServiceId, ServiceName,
    ServiceSettings, SyncFailure, SyncStatus, ValidationError, WeeklyHours, parse_instant,
    parse_local_date,
};
use crate::domain::{AssignmentPolicy, CountryCode, HoldId, StaffId, StaffMember};

/// An instant as RFC 3339 with the offset `zone` has at that instant, e.g. `2026-12-01T09:00:00-05:00`.
pub fn local_rfc3339(instant: Timestamp, zone: &TimeZone) -> String {
    instant
        .display_with_offset(zone.to_offset(instant))
        .to_string()
}

/// A window bound: an RFC 3339 date-time, or a local date in the business's zone (a `to` date includes that day).
pub fn parse_window_bound(
    field: &'static str,
    text: &str,
    zone: &TimeZone,
    inclusive_end: bool,
) -> Result<Timestamp, ValidationError> {
    if !text.contains(['T', 't']) {
        let date = parse_local_date(field, text).map_err(|error| {
            ValidationError::new(field, format!("{} or {INSTANT_FORM}", error.message))
        })?;
        let day = if inclusive_end {
            date.tomorrow()
                .map_err(|_| ValidationError::new(field, "is out of range"))?
        } else {
            date
        };
        return day
            .to_zoned_datetime(zone.clone())
            .map(|start_of_day| start_of_day.timestamp())
            .map_err(|_| ValidationError::new(field, "is out of range"));
    }
    parse_instant(field, text)
}

pub(super) fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Opening time within one day, as local wall time.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeRangeBody {
    #[schema(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "09:00")]
    pub start: String,
    /// "24:00" is the end of the day.
    #[schema(
        pattern = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
        example = "17:00"
    )]
    pub end: String,
}

/// Opening hours per weekday; an absent or empty weekday is closed.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeeklyHoursBody {
    #[serde(default)]
    pub monday: Vec<TimeRangeBody>,
    #[serde(default)]
    pub tuesday: Vec<TimeRangeBody>,
    #[serde(default)]
    pub wednesday: Vec<TimeRangeBody>,
    #[serde(default)]
    pub thursday: Vec<TimeRangeBody>,
    #[serde(default)]
    pub friday: Vec<TimeRangeBody>,
    #[serde(default)]
    pub saturday: Vec<TimeRangeBody>,
    #[serde(default)]
    pub sunday: Vec<TimeRangeBody>,
}

/// Hours replacing the weekly hours on one local date; no hours means closed.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DateOverrideBody {
    #[schema(format = Date, example = "2026-12-24")]
    pub date: String,
    #[serde(default)]
    pub hours: Vec<TimeRangeBody>,
}

fn ranges(bodies: &[TimeRangeBody]) -> Result<Vec<LocalTimeRange>, ValidationError> {
    bodies
        .iter()
        .map(|body| LocalTimeRange::parse(&body.start, &body.end))
        .collect()
}

fn range_bodies(ranges: &[LocalTimeRange]) -> Vec<TimeRangeBody> {
    ranges
        .iter()
        .map(|range| {
            let (start, end) = range.to_wall_times();
            TimeRangeBody { start, end }
        })
        .collect()
}

impl TryFrom<&WeeklyHoursBody> for WeeklyHours {
    type Error = ValidationError;

    fn try_from(body: &WeeklyHoursBody) -> Result<Self, Self::Error> {
        Ok(Self {
            monday: ranges(&body.monday)?,
            tuesday: ranges(&body.tuesday)?,
            wednesday: ranges(&body.wednesday)?,
            thursday: ranges(&body.thursday)?,
            friday: ranges(&body.friday)?,
            saturday: ranges(&body.saturday)?,
            sunday: ranges(&body.sunday)?,
        })
    }
}

impl From<&WeeklyHours> for WeeklyHoursBody {
    fn from(hours: &WeeklyHours) -> Self {
        Self {
            monday: range_bodies(&hours.monday),
            tuesday: range_bodies(&hours.tuesday),
            wednesday: range_bodies(&hours.wednesday),
            thursday: range_bodies(&hours.thursday),
            friday: range_bodies(&hours.friday),
            saturday: range_bodies(&hours.saturday),
            sunday: range_bodies(&hours.sunday),
        }
    }
}

pub(super) fn date_overrides(
    bodies: &[DateOverrideBody],
) -> Result<Vec<DateOverride>, ValidationError> {
    bodies
        .iter()
        .map(|body| {
            let date = parse_local_date("date_overrides", &body.date)?;
            Ok(DateOverride {
                date,
                hours: ranges(&body.hours)?,
            })
        })
        .collect()
}

pub(super) fn date_override_bodies(overrides: &[DateOverride]) -> Vec<DateOverrideBody> {
    overrides
        .iter()
        .map(|o| DateOverrideBody {
            date: o.date.to_string(),
            hours: range_bodies(&o.hours),
        })
        .collect()
}

fn default_horizon_days() -> u32 {
    60
}

/// A new service.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceCreateBody {
    #[schema(example = "Haircut")]
    pub name: String,
    #[schema(minimum = 1, maximum = 720, example = 30)]
    pub duration_minutes: u32,
    /// Distance between offered start times; 15 when omitted.
    #[schema(minimum = 5, maximum = 720)]
    pub slot_interval_minutes: Option<u32>,
    #[serde(default)]
    pub weekly_hours: WeeklyHoursBody,
    #[serde(default)]
    pub date_overrides: Vec<DateOverrideBody>,
    #[serde(default)]
    #[schema(maximum = 240)]
    pub buffer_before_minutes: u32,
    #[serde(default)]
    #[schema(maximum = 240)]
    pub buffer_after_minutes: u32,
    /// Live appointments per local date; unlimited when omitted.
    #[schema(minimum = 1, maximum = 1000)]
    pub max_per_day: Option<u32>,
    #[serde(default)]
    #[schema(maximum = 129600)]
    pub minimum_notice_minutes: u32,
    /// How many days ahead booking is allowed; 60 when omitted.
    #[serde(default = "default_horizon_days")]
    #[schema(minimum = 1, maximum = 366)]
    pub booking_horizon_days: u32,
}

impl TryFrom<ServiceCreateBody> for ServiceSettings {
    type Error = ValidationError;

    fn try_from(body: ServiceCreateBody) -> Result<Self, Self::Error> {
        Self {
            name: ServiceName::try_from(body.name)?,
            duration: Minutes::new(body.duration_minutes),
            slot_interval: body
                .slot_interval_minutes
                .map_or(DEFAULT_SLOT_INTERVAL, Minutes::new),
            weekly_hours: WeeklyHours::try_from(&body.weekly_hours)?,
            date_overrides: date_overrides(&body.date_overrides)?,
            buffer_before: Minutes::new(body.buffer_before_minutes),
            buffer_after: Minutes::new(body.buffer_after_minutes),
            max_per_day: body.max_per_day,
            minimum_notice: Minutes::new(body.minimum_notice_minutes),
            booking_horizon_days: body.booking_horizon_days,
        }
        .validated()
    }
}

/// A partial update of a service: absent fields keep their value; `max_per_day: null` removes the limit.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicePatchBody {
    pub name: Option<String>,
    #[schema(minimum = 1, maximum = 720)]
    pub duration_minutes: Option<u32>,
    #[schema(minimum = 5, maximum = 720)]
    pub slot_interval_minutes: Option<u32>,
    pub weekly_hours: Option<WeeklyHoursBody>,
    pub date_overrides: Option<Vec<DateOverrideBody>>,
    #[schema(maximum = 240)]
    pub buffer_before_minutes: Option<u32>,
    #[schema(maximum = 240)]
    pub buffer_after_minutes: Option<u32>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    pub max_per_day: Option<Option<u32>>,
    #[schema(maximum = 129600)]
    pub minimum_notice_minutes: Option<u32>,
    #[schema(minimum = 1, maximum = 366)]
    pub booking_horizon_days: Option<u32>,
    pub active: Option<bool>,
}

impl TryFrom<ServicePatchBody> for crate::app::ServiceChanges {
    type Error = ValidationError;

    fn try_from(body: ServicePatchBody) -> Result<Self, Self::Error> {
        Ok(Self {
            name: body.name.map(ServiceName::try_from).transpose()?,
            duration: body.duration_minutes.map(Minutes::new),
            slot_interval: body.slot_interval_minutes.map(Minutes::new),
            weekly_hours: body
                .weekly_hours
                .as_ref()
                .map(WeeklyHours::try_from)
                .transpose()?,
            date_overrides: body
                .date_overrides
                .as_deref()
                .map(date_overrides)
                .transpose()?,
            buffer_before: body.buffer_before_minutes.map(Minutes::new),
            buffer_after: body.buffer_after_minutes.map(Minutes::new),
            max_per_day: body.max_per_day,
            minimum_notice: body.minimum_notice_minutes.map(Minutes::new),
            booking_horizon_days: body.booking_horizon_days,
            active: body.active,
        })
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ServiceView {
    pub id: ServiceId,
    pub name: String,
    pub duration_minutes: u32,
    pub slot_interval_minutes: u32,
    pub weekly_hours: WeeklyHoursBody,
    pub date_overrides: Vec<DateOverrideBody>,
    pub buffer_before_minutes: u32,
    pub buffer_after_minutes: u32,
    pub max_per_day: Option<u32>,
    pub minimum_notice_minutes: u32,
    pub booking_horizon_days: u32,
    pub active: bool,
    pub version: u64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl ServiceView {
    pub fn new(service: &Service, zone: &TimeZone) -> Self {
        let settings = &service.settings;
        Self {
            id: service.id,
            name: settings.name.as_ref().to_owned(),
            duration_minutes: settings.duration.get(),
            slot_interval_minutes: settings.slot_interval.get(),
            weekly_hours: WeeklyHoursBody::from(&settings.weekly_hours),
            date_overrides: date_override_bodies(&settings.date_overrides),
            buffer_before_minutes: settings.buffer_before.get(),
            buffer_after_minutes: settings.buffer_after.get(),
            max_per_day: settings.max_per_day,
            minimum_notice_minutes: settings.minimum_notice.get(),
            booking_horizon_days: settings.booking_horizon_days,
            active: service.active,
            version: service.version,
            created_at: local_rfc3339(service.created_at, zone),
            updated_at: local_rfc3339(service.updated_at, zone),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ServiceList {
    pub items: Vec<ServiceView>,
}

/// A bookable time: `[start, end)` in the business's zone.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SlotView {
    #[schema(format = DateTime, example = "2026-12-01T09:00:00-05:00")]
    pub start: String,
    #[schema(format = DateTime, example = "2026-12-01T09:30:00-05:00")]
    pub end: String,
}

impl SlotView {
    pub fn new(slot: &Interval, zone: &TimeZone) -> Self {
        Self {
            start: local_rfc3339(slot.start(), zone),
            end: local_rfc3339(slot.end(), zone),
        }
    }

    pub fn all(slots: &[Interval], zone: &TimeZone) -> Vec<Self> {
        slots.iter().map(|slot| Self::new(slot, zone)).collect()
    }
}

/// Who an appointment or a hold is with, or who is free for a slot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StaffRef {
    pub id: StaffId,
    /// Their name as callers say it.
    #[schema(example = "Maria")]
    pub name: String,
}

impl StaffRef {
    /// The member `id` among the business's `staff`.
    pub fn of(id: StaffId, staff: &[StaffMember]) -> Self {
        Self {
            id,
            name: staff
                .iter()
                .find(|member| member.id == id)
                .map(|member| member.settings.name.as_ref().to_owned())
                .unwrap_or_default(),
        }
    }
}

/// A free time and who is free for it (the member asked about, or every qualified member for anyone).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OfferedSlotView {
    #[schema(format = DateTime, example = "2026-12-01T09:00:00-05:00")]
    pub start: String,
    #[schema(format = DateTime, example = "2026-12-01T09:30:00-05:00")]
    pub end: String,
    pub staff: Vec<StaffRef>,
}

impl OfferedSlotView {
    pub fn new(offered: &OfferedSlot, staff: &[StaffMember], zone: &TimeZone) -> Self {
        Self {
            start: local_rfc3339(offered.slot.start(), zone),
            end: local_rfc3339(offered.slot.end(), zone),
            staff: offered
                .staff
                .iter()
                .map(|id| StaffRef::of(*id, staff))
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityParams {
    pub service_id: ServiceId,
    /// Only this staff member's times; anyone's when omitted.
    pub staff_id: Option<StaffId>,
    /// Window start: an RFC 3339 date-time, or a local date (YYYY-MM-DD) meaning its start. Now when omitted.
    pub from: Option<String>,
    /// Window end: an RFC 3339 date-time, or a local date meaning the end of that day. 7 days after `from` when
    /// omitted. At most 93 days after `from`.
    pub to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AvailabilityView {
    pub service_id: ServiceId,
    #[schema(example = "America/New_York")]
    pub time_zone: String,
    /// The window asked for.
    #[schema(format = DateTime)]
    pub from: String,
    #[schema(format = DateTime)]
    pub to: String,
    /// True when minimum notice or the booking horizon cut the window; `searched_from`/`searched_to` say to what.
    pub clipped: bool,
    #[schema(format = DateTime)]
    pub searched_from: Option<String>,
    #[schema(format = DateTime)]
    pub searched_to: Option<String>,
    pub slots: Vec<OfferedSlotView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotCheckBody {
    pub service_id: ServiceId,
    #[schema(format = DateTime, example = "2026-12-01T09:00:00-05:00")]
    pub start: String,
    /// With this staff member; anyone when omitted.
    pub staff_id: Option<StaffId>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlotCheckView {
    pub available: bool,
    pub service_id: ServiceId,
    pub time_zone: String,
    /// The slot that would be booked, when available.
    pub slot: Option<SlotView>,
    /// Who is free for it, when available.
    pub staff: Vec<StaffRef>,
    /// Why not: outside_hours, too_soon, too_far, daily_limit, taken or calendar_busy.
    pub reason: Option<String>,
    pub message: Option<String>,
    /// The nearest bookable slots, when not available.
    pub alternatives: Vec<SlotView>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerBody {
    #[schema(example = "Ana Silva")]
    pub name: String,
    /// International (+14155550123) or national in the business's country ((415) 555-0123 for a US business);
    /// stored and answered in E.164.
    #[schema(example = "+14155550123")]
    pub phone: Option<String>,
    #[schema(example = "ana@example.com")]
    pub email: Option<String>,
}

/// A booking: of `service_id` at `start`, or of the time a hold keeps (`hold_id`, without `service_id` and
/// `start`). Send an `Idempotency-Key` header to make retries safe.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<ServiceId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime, example = "2026-12-01T09:00:00-05:00")]
    pub start: Option<String>,
    /// Books the held time; the hold becomes the appointment (same id) exactly once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_id: Option<HoldId>,
    /// With this staff member; when omitted, anyone free, by the business's assignment policy. A hold already
    /// names its member.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_id: Option<StaffId>,
    pub customer: CustomerBody,
    pub notes: Option<String>,
    /// Who booked: the phone agent (ai), staff (manual) or an API client (api, the default).
    pub source: Option<BookingSource>,
}

impl BookingBody {
    /// The time the body books: a slot, or a hold's time (`hold_id` without `service_id` and `start`).
    pub fn target(&self) -> Result<BookingTarget, ValidationError> {
        match (self.hold_id, self.service_id, self.start.as_deref()) {
            (Some(_), _, _) if self.staff_id.is_some() => Err(ValidationError::new(
                "staff_id",
                "the hold names its staff member: leave out staff_id",
            )),
            (Some(hold_id), None, None) => Ok(BookingTarget::Held(hold_id)),
            (Some(_), _, _) => Err(ValidationError::new(
                "hold_id",
                "books the held time: leave out service_id and start",
            )),
            (None, Some(service_id), Some(start)) => Ok(BookingTarget::Slot {
                service_id,
                start: parse_instant("start", start)?,
                staff_id: self.staff_id,
            }),
            (None, None, _) => Err(ValidationError::new(
                "service_id",
                "is required unless hold_id is given",
            )),
            (None, Some(_), None) => Err(ValidationError::new(
                "start",
                "is required unless hold_id is given",
            )),
        }
    }
}

/// A reschedule and/or edit; absent fields stay as they are, `notes: null` clears the notes.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppointmentPatchBody {
    #[schema(format = DateTime)]
    pub start: Option<String>,
    pub customer: Option<CustomerBody>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    /// Apply only if the appointment is still at this version (optimistic concurrency).
    pub expected_version: Option<u64>,
    /// Move it to this staff member (at its time, or at `start`); without it a reschedule keeps its member and is
    /// refused with their alternatives when they are busy.
    pub staff_id: Option<StaffId>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct CustomerView {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct SyncView {
    pub status: SyncStatus,
    /// Why the last attempt failed; kept while a retry is pending, cleared once synced.
    pub error: Option<SyncFailure>,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// The calendar event's id at the provider, once written.
    pub external_event_id: Option<String>,
}

impl From<Vec<crate::domain::AppointmentId>> for RetryView {
    fn from(appointment_ids: Vec<crate::domain::AppointmentId>) -> Self {
        Self {
            queued: appointment_ids.len(),
            appointment_ids,
        }
    }
}

/// What a retry request queued.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct RetryView {
    pub queued: usize,
    pub appointment_ids: Vec<crate::domain::AppointmentId>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AppointmentView {
    pub id: crate::domain::AppointmentId,
    pub service_id: ServiceId,
    /// Who it is with.
    pub staff: StaffRef,
    #[schema(format = DateTime)]
    pub start: String,
    #[schema(format = DateTime)]
    pub end: String,
    pub time_zone: String,
    pub customer: CustomerView,
    pub notes: Option<String>,
    pub source: BookingSource,
    pub status: AppointmentStatus,
    pub version: u64,
    pub sync: SyncView,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl AppointmentView {
    pub fn new(
        appointment: &Appointment,
        zone: &crate::domain::BusinessTimeZone,
        staff: &[StaffMember],
    ) -> Self {
        let tz = zone.zone();
        Self {
            id: appointment.id,
            service_id: appointment.service_id,
            staff: StaffRef::of(appointment.staff_id, staff),
            start: local_rfc3339(appointment.time.start(), tz),
            end: local_rfc3339(appointment.time.end(), tz),
            time_zone: zone.name().to_owned(),
            customer: CustomerView {
                name: appointment.customer.name.as_ref().to_owned(),
                phone: appointment
                    .customer
                    .phone
                    .as_ref()
                    .map(|phone| phone.as_ref().to_owned()),
                email: appointment
                    .customer
                    .email
                    .as_ref()
                    .map(|email| email.as_ref().to_owned()),
            },
            notes: appointment
                .notes
                .as_ref()
                .map(|notes| notes.as_ref().to_owned()),
            source: appointment.source,
            status: appointment.status,
            version: appointment.version,
            sync: SyncView {
                status: appointment.sync.status,
                error: appointment.sync.error.clone(),
                updated_at: local_rfc3339(appointment.sync.updated_at, tz),
                external_event_id: appointment.sync.external_event_id.clone(),
            },
            created_at: local_rfc3339(appointment.created_at, tz),
            updated_at: local_rfc3339(appointment.updated_at, tz),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AppointmentListParams {
    /// Only appointments starting at or after this RFC 3339 date-time or local date.
    pub from: Option<String>,
    /// Only appointments starting before this RFC 3339 date-time or local date (inclusive day).
    pub to: Option<String>,
    pub status: Option<AppointmentStatus>,
    pub sync_status: Option<SyncStatus>,
    /// Only this staff member's appointments.
    pub staff_id: Option<StaffId>,
    /// Page size, 1 to 200 (50 when omitted).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only this caller's appointments (any status unless `status` says), found through the phone index; national
    /// numbers are read in the business's country. Upcoming ones come first, soonest first, then past ones, latest
    /// first.
    #[param(example = "+14155550123")]
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AppointmentPage {
    pub items: Vec<AppointmentView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// A time to hold while the caller decides.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldBody {
    pub service_id: ServiceId,
    #[schema(format = DateTime, example = "2026-12-01T09:00:00-05:00")]
    pub start: String,
    /// With this staff member; when omitted, anyone free is picked now and the booking keeps them.
    pub staff_id: Option<StaffId>,
}

impl TryFrom<HoldBody> for crate::app::HoldTime {
    type Error = ValidationError;

    fn try_from(body: HoldBody) -> Result<Self, Self::Error> {
        Ok(Self {
            service_id: body.service_id,
            start: parse_instant("start", &body.start)?,
            staff_id: body.staff_id,
        })
    }
}

/// A held time: nobody else can book it until `expires_at`, and `POST /v1/appointments` with `hold_id` books it.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldView {
    pub id: HoldId,
    pub service_id: ServiceId,
    /// Whose time it keeps.
    pub staff: StaffRef,
    pub slot: SlotView,
    #[schema(format = DateTime)]
    pub expires_at: String,
    /// False once `expires_at` has passed: the time is free again.
    pub active: bool,
    pub time_zone: String,
}

impl HoldView {
    pub fn new(
        hold: &crate::domain::Hold,
        zone: &crate::domain::BusinessTimeZone,
        now: Timestamp,
        staff: &[StaffMember],
    ) -> Self {
        Self {
            id: hold.id,
            service_id: hold.service_id,
            staff: StaffRef::of(hold.staff_id, staff),
            slot: SlotView::new(&hold.time, zone.zone()),
            expires_at: local_rfc3339(hold.expires_at, zone.zone()),
            active: hold.is_alive_at(now),
            time_zone: zone.name().to_owned(),
        }
    }
}

/// The business's settings as in force, and whether each was chosen or is the default.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsView {
    /// The country national phone numbers are read in (ISO 3166 alpha-2); absent when neither chosen nor known
    /// from the time zone, and then only international numbers are accepted.
    #[schema(example = "US")]
    pub country: Option<String>,
    /// `chosen`, `time_zone` (taken from the business's zone) or `none`.
    pub country_source: String,
    /// How long a hold keeps its time, 1 to 15 minutes (5 unless chosen).
    pub hold_minutes: u32,
    /// Who a booking for anyone goes to (`balanced` unless chosen).
    pub assignment: AssignmentBody,
    pub time_zone: String,
}

impl SettingsView {
    pub fn new(
        settings: &crate::domain::BusinessSettings,
        zone: &crate::domain::BusinessTimeZone,
    ) -> Self {
        let country = settings.phone_country(zone);
        let country_source = match (settings.country, country) {
            (Some(_), _) => "chosen",
            (None, Some(_)) => "time_zone",
            (None, None) => "none",
        };
        Self {
            country: country.map(String::from),
            country_source: country_source.to_owned(),
            hold_minutes: settings.hold_minutes().get(),
            assignment: AssignmentBody::from(&settings.assignment),
            time_zone: zone.name().to_owned(),
        }
    }
}

/// A change of settings; absent fields stay, `null` returns a field to its default.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatchBody {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, example = "US")]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 15)]
    pub hold_minutes: Option<Option<u32>>,
    /// `null` returns to `balanced`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<AssignmentBody>)]
    pub assignment: Option<Option<AssignmentBody>>,
}

/// Who a booking for anyone goes to, among the members qualified and free at its time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
pub enum AssignmentBody {
    /// The member with the fewest appointments that local day; ties go to the one booked least recently.
    Balanced,
    /// The first free member of `order` (staff ids of this business, each once; an inactive one is skipped); free
    /// members it leaves out come after it.
    Priority { order: Vec<StaffId> },
}

impl From<&AssignmentPolicy> for AssignmentBody {
    fn from(policy: &AssignmentPolicy) -> Self {
        match policy {
            AssignmentPolicy::Balanced => Self::Balanced,
            AssignmentPolicy::Priority(order) => Self::Priority {
                order: order.clone(),
            },
        }
    }
}

impl From<AssignmentBody> for AssignmentPolicy {
    fn from(body: AssignmentBody) -> Self {
        match body {
            AssignmentBody::Balanced => Self::Balanced,
            AssignmentBody::Priority { order } => Self::Priority(order),
        }
    }
}

impl TryFrom<SettingsPatchBody> for crate::app::SettingsChanges {
    type Error = ValidationError;

    fn try_from(body: SettingsPatchBody) -> Result<Self, Self::Error> {
        Ok(Self {
            country: body
                .country
                .map(|country| country.map(CountryCode::try_from).transpose())
                .transpose()?,
            hold_minutes: body
                .hold_minutes
                .map(|minutes| {
                    minutes
                        .map(crate::domain::HoldMinutes::try_from)
                        .transpose()
                })
                .transpose()?,
            assignment: body
                .assignment
                .map(|assignment| assignment.map(AssignmentPolicy::from).unwrap_or_default()),
            ..Self::default()
        })
    }
}
