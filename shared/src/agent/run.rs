//! Running a tool call: arguments checked and turned into domain values, the use cases of `crate::app` called, the
//! outcome worded for the caller. Transports only decode their platform's envelope and encode the answer.

use std::time::Instant;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::app::{
    self, App, AppError, AppointmentEdit, BookingOutcome, BookingRequest, CallerListing,
    HeldBooking, HoldRequest, IdempotentBooking, Missing,
};
use crate::availability::{self, Unavailability};
use crate::domain::{
    Appointment, AppointmentId, AppointmentStatus, BookingSource, Business, CallerNumber, Customer,
    CustomerName, HoldId, Interval, Notes, PhoneNumber, Service, ServiceId, ValidationError,
    WALL_TIME_FORM, parse_local_date, parse_wall_time, parse_zoned_start,
};
use crate::ports::{AgentApiStore, CalendarConnection, CalendarWatch, IdempotencyKey};

use super::answers::{
    AppointmentStatusView, AppointmentView, AvailableTimes, BookingAnswer, BusinessContext,
    CalendarView, CallerAppointments, CancelAnswer, DayTimes, HoldAnswer, RescheduleAnswer,
    ServiceView, TimeCheck, TimeView,
};
use super::arguments::{self, PartOfDay};
use super::catalogue::ToolName;
use super::health::calendar_health;
use super::spoken::{self, SpokenLocale};

/// What the tools may touch: the agent function's view of the store.
type AgentApp = App<dyn AgentApiStore>;

/// Times returned when the model does not say how many: a handful, as a receptionist would offer.
const DEFAULT_LIMIT: u32 = 5;
const MAX_LIMIT: u32 = 20;
/// Days searched when the model gives no date.
const DEFAULT_DAYS: i64 = 7;
/// How far past an empty window the next free times are looked for.
const NEXT_AVAILABLE_DAYS: i64 = 14;
const AFTERNOON_STARTS: Time = Time::constant(12, 0, 0, 0);
const EVENING_STARTS: Time = Time::constant(17, 0, 0, 0);
/// A caller's upcoming appointments listed at once; a caller with more is told there are more.
const CALLER_APPOINTMENTS: u32 = 10;

/// What the transport knows of the caller's own number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CallerId {
    /// No phone call stands behind the request (MCP): a number comes only as an argument.
    #[default]
    NotAPhoneCall,
    /// A voice platform's call: its caller id as reported (`None` when it reported none, as for a withheld number).
    /// Read leniently, because nobody typed it and a booking must not fail on it.
    Reported(Option<String>),
}

/// What the platform knows about the call beyond the model's arguments.
#[derive(Clone, Debug, Default)]
pub struct CallContext {
    /// The number the caller is calling from, as the platform reports it; used when the model leaves the phone out.
    pub caller: CallerId,
    /// A key the platform gives this very tool call (its call id and tool call id), so the platform's retries of
    /// a booking book once. Wins over the model's `idempotency_key`.
    pub idempotency_key: Option<String>,
}

/// A tool's answer: the sentence for the caller and the structured result (which repeats it as `summary`).
#[derive(Clone, Debug)]
pub struct ToolAnswer {
    pub summary: String,
    pub structured: Value,
}

/// Why a call produced no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolFailure {
    /// The arguments are wrong in a way the model can correct; the message names the argument and the fix.
    InvalidArguments(String),
    /// The request is understood but refused, in words the agent can say.
    Refused(String),
    /// Our side failed (the cause is logged, never shown).
    Unavailable,
}

impl ToolFailure {
    /// One line for the model: what went wrong and what to do.
    pub fn message(&self) -> String {
        match self {
            Self::InvalidArguments(detail) => {
                format!(
                    "Invalid arguments: {detail}. Correct the arguments and call the tool again."
                )
            }
            Self::Refused(sentence) => sentence.clone(),
            Self::Unavailable => {
                "The booking system did not answer. Apologise, and offer to take a message so \
                                  the business can call back."
                    .to_owned()
            }
        }
    }
}

fn invalid(detail: impl Into<String>) -> ToolFailure {
    ToolFailure::InvalidArguments(detail.into())
}

/// The answer of a use case, or the failure the model is told about.
fn failure(error: AppError) -> ToolFailure {
    match error {
        AppError::Validation(error) => invalid(error.to_string()),
        AppError::NotFound(Missing::Service) => invalid(
            "service_id: no such service at this business; call get_business_context for the services and their \
             ids",
        ),
        AppError::NotFound(Missing::Appointment) => invalid(
            "appointment_id: no such appointment at this business; use the id the booking or \
             find_caller_appointments gave",
        ),
        AppError::NotFound(Missing::Hold) => invalid(
            "hold_id: no such hold at this business; hold the time with hold_time first, or book with service_id \
             and start",
        ),
        AppError::HoldExpired => ToolFailure::Refused(
            "The hold on that time ran out before the booking. Hold the time again with hold_time (it may still \
             be free), then book it."
                .to_owned(),
        ),
        AppError::WindowTooLong { max_days } => invalid(format!(
            "the dates may span at most {max_days} days; search a shorter range"
        )),
        AppError::ServiceInactive => ToolFailure::Refused(
            "That service is no longer offered, so it cannot be booked.".to_owned(),
        ),
        AppError::AppointmentCancelled => ToolFailure::Refused(
            "That appointment is cancelled, so it cannot be moved; book a new one instead."
                .to_owned(),
        ),
        AppError::IdempotencyKeyReused => invalid(
            "idempotency_key: this key was already used for a different booking; use a new key for a new booking",
        ),
        AppError::VersionConflict => ToolFailure::Refused(
            "That appointment was being changed at the same moment. Please try again.".to_owned(),
        ),
        other => {
            tracing::error!(error = %other, cause = ?std::error::Error::source(&other), "agent tool failed");
            ToolFailure::Unavailable
        }
    }
}

/// Arguments as a JSON object with the absent-looking values removed: strict-mode models send `null` for every
/// argument they leave out, and some send an empty string. A value of the wrong kind is named with its argument,
/// so the model knows which one to correct.
fn parse_arguments<T: DeserializeOwned>(arguments: Value) -> Result<T, ToolFailure> {
    let object = match arguments {
        Value::Null => Map::new(),
        Value::Object(object) => object,
        _ => return Err(invalid("the arguments must be a JSON object")),
    };
    let present: Map<String, Value> = object
        .into_iter()
        .filter(|(_, value)| {
            !value.is_null() && value.as_str().is_none_or(|text| !text.trim().is_empty())
        })
        .collect();
    let present = Value::Object(present);
    serde_path_to_error::deserialize(&present).map_err(|error| {
        let argument = error.path().to_string();
        match present.get(&argument) {
            Some(value) => invalid(format!(
                "{argument}: {value} is not accepted: {}",
                error.inner()
            )),
            // Not one argument's value: a missing or unknown argument, which the message names.
            None => invalid(error.inner().to_string()),
        }
    })
}

fn structured(summary: &str, answer: &impl Serialize) -> Result<ToolAnswer, ToolFailure> {
    let structured = serde_json::to_value(answer).map_err(|error| {
        tracing::error!(%error, "agent answer not serializable");
        ToolFailure::Unavailable
    })?;
    Ok(ToolAnswer {
        summary: summary.to_owned(),
        structured,
    })
}

/// The business's zone, its callers' English and today's local date: everything a spoken form needs.
struct Local<'a> {
    zone: &'a TimeZone,
    locale: SpokenLocale,
    now: Timestamp,
    today: Date,
}

impl<'a> Local<'a> {
    fn new(business: &'a Business, now: Timestamp) -> Self {
        let zone = business.time_zone.zone();
        Self {
            zone,
            locale: SpokenLocale::for_time_zone(business.time_zone.name()),
            now,
            today: now.to_zoned_datetime(zone.clone()).date(),
        }
    }

    fn rfc3339(&self, instant: Timestamp) -> String {
        instant
            .display_with_offset(self.zone.to_offset(instant))
            .to_string()
    }

    fn spoken(&self, instant: Timestamp) -> String {
        spoken::instant(self.locale, instant, self.zone, self.today)
    }

    fn spoken_date(&self, date: Date) -> String {
        spoken::date(self.locale, date, self.today)
    }

    fn by_day(&self, slots: &[Interval]) -> String {
        let starts: Vec<Timestamp> = slots.iter().map(Interval::start).collect();
        spoken::by_day(self.locale, &starts, self.zone, self.today)
    }

    fn time(&self, slot: &Interval) -> TimeView {
        TimeView {
            start: self.rfc3339(slot.start()),
            end: self.rfc3339(slot.end()),
            spoken: self.spoken(slot.start()),
        }
    }

    fn times(&self, slots: &[Interval]) -> Vec<TimeView> {
        slots.iter().map(|slot| self.time(slot)).collect()
    }

    fn date_of(&self, instant: Timestamp) -> Date {
        instant.to_zoned_datetime(self.zone.clone()).date()
    }

    fn wall_time_of(&self, instant: Timestamp) -> Time {
        instant.to_zoned_datetime(self.zone.clone()).time()
    }

    fn start_of(&self, date: Date) -> Result<Timestamp, ToolFailure> {
        date.to_zoned_datetime(self.zone.clone())
            .map(|start| start.timestamp())
            .map_err(|_| invalid("the date is out of range"))
    }

    /// A start as the model may give it: RFC 3339 with an offset, or a wall time in the business's zone (the
    /// first occurrence when a DST change repeats it), read by the edge's one parser.
    fn parse_start(&self, field: &'static str, text: &str) -> Result<Timestamp, ToolFailure> {
        parse_zoned_start(field, text, self.zone).map_err(|error| refused_value(&error, text))
    }
}

/// A time or date argument the edge's parser refused: the argument, the value as given, and the form it takes.
fn refused_value(error: &ValidationError, text: &str) -> ToolFailure {
    invalid(format!("{}: {text:?} {}", error.field, error.message))
}

fn parse_date(field: &'static str, text: &str) -> Result<Date, ToolFailure> {
    parse_local_date(field, text).map_err(|error| refused_value(&error, text))
}

fn parse_time_of_day(field: &'static str, text: &str) -> Result<Time, ToolFailure> {
    parse_wall_time(field, text)
        .map_err(|_| invalid(format!("{field}: {text:?} must be {WALL_TIME_FORM}")))
}

fn parse_service_id(text: &str) -> Result<ServiceId, ToolFailure> {
    text.parse()
        .map_err(|_| invalid("service_id: must be a service id (a UUID) from get_business_context"))
}

fn parse_appointment_id(text: &str) -> Result<AppointmentId, ToolFailure> {
    text.parse()
        .map_err(|_| invalid("appointment_id: must be an appointment id (a UUID)"))
}

/// An optional argument, parsed when given.
fn optional<T>(
    text: Option<&str>,
    field: &'static str,
    parse: fn(&'static str, &str) -> Result<T, ToolFailure>,
) -> Result<Option<T>, ToolFailure> {
    text.map(|text| parse(field, text)).transpose()
}

async fn service_of(
    app: &AgentApp,
    business: &Business,
    id: ServiceId,
) -> Result<Service, ToolFailure> {
    app::get_service(app, business, id).await.map_err(failure)
}

async fn appointment_of(
    app: &AgentApp,
    business: &Business,
    id: AppointmentId,
) -> Result<Appointment, ToolFailure> {
    app::get_appointment(app, business, id)
        .await
        .map_err(failure)
}

/// The calendar's health as of now, from the business's connection and watch (if it has one).
fn health_now(
    connection: Option<&(CalendarConnection, Option<CalendarWatch>)>,
    local: &Local,
) -> (CalendarView, Option<String>) {
    calendar_health(
        connection.map(|(connection, _)| connection),
        connection.and_then(|(_, watch)| watch.as_ref()),
        local.now,
    )
}

fn service_view(service: &Service) -> ServiceView {
    ServiceView {
        service_id: service.id.to_string(),
        name: service.settings.name.as_ref().to_owned(),
        duration_minutes: service.settings.duration.get(),
    }
}

fn appointment_view(
    local: &Local,
    appointment: &Appointment,
    service: &Service,
) -> AppointmentView {
    AppointmentView {
        appointment_id: appointment.id.to_string(),
        service_id: appointment.service_id.to_string(),
        service_name: service.settings.name.as_ref().to_owned(),
        customer_name: appointment.customer.name.as_ref().to_owned(),
        status: match appointment.status {
            AppointmentStatus::Booked => AppointmentStatusView::Booked,
            AppointmentStatus::Cancelled => AppointmentStatusView::Cancelled,
        },
        time: local.time(&appointment.time),
    }
}

/// Why a time cannot be booked, as a clause the agent can say after "… is not available:".
fn reason_words(reason: Unavailability, service: &Service) -> String {
    let name = service.settings.name.as_ref();
    match reason {
        Unavailability::OutsideHours => format!("{name} is not offered at that time"),
        Unavailability::TooSoon => format!("that is sooner than {name} can be booked"),
        Unavailability::TooFar => format!(
            "that is further ahead than {name} can be booked, which is up to {} days ahead",
            service.settings.booking_horizon_days
        ),
        Unavailability::DailyLimitReached => format!("{name} is fully booked that day"),
        Unavailability::Taken => "that time is already booked".to_owned(),
        Unavailability::CalendarBusy => "the business is busy then".to_owned(),
    }
}

fn alternatives_sentence(local: &Local, alternatives: &[Interval]) -> String {
    if alternatives.is_empty() {
        " No other time is free nearby.".to_owned()
    } else {
        format!(
            " The nearest free times are {}.",
            local.by_day(alternatives)
        )
    }
}

fn with_warning(mut summary: String, warning: Option<&String>) -> String {
    if let Some(warning) = warning {
        summary.push_str(" Warning: ");
        summary.push_str(warning);
    }
    summary
}

/// Runs one tool call for `business`.
pub async fn call_tool(
    app: &AgentApp,
    business: &Business,
    tool: ToolName,
    arguments: Value,
    context: &CallContext,
) -> Result<ToolAnswer, ToolFailure> {
    let started = Instant::now();
    let local = Local::new(business, app.clock.now());
    let outcome = match tool {
        ToolName::GetBusinessContext => {
            parse_arguments::<arguments::NoArguments>(arguments)?;
            business_context(app, business, &local, context).await
        }
        ToolName::FindAvailableTimes => {
            find_available_times(app, business, &local, parse_arguments(arguments)?).await
        }
        ToolName::CheckTime => check_time(app, business, &local, parse_arguments(arguments)?).await,
        ToolName::HoldTime => hold(app, business, &local, parse_arguments(arguments)?).await,
        ToolName::BookAppointment => {
            book(app, business, &local, parse_arguments(arguments)?, context).await
        }
        ToolName::FindCallerAppointments => {
            caller(app, business, &local, parse_arguments(arguments)?, context).await
        }
        ToolName::RescheduleAppointment => {
            reschedule(app, business, &local, parse_arguments(arguments)?).await
        }
        ToolName::CancelAppointment => {
            cancel(app, business, &local, parse_arguments(arguments)?).await
        }
    };
    tracing::info!(
        tool = tool.as_str(),
        outcome = match &outcome {
            Ok(_) => "answered",
            Err(ToolFailure::InvalidArguments(_)) => "invalid_arguments",
            Err(ToolFailure::Refused(_)) => "refused",
            Err(ToolFailure::Unavailable) => "failed",
        },
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "agent tool call"
    );
    outcome
}

async fn business_context(
    app: &AgentApp,
    business: &Business,
    local: &Local<'_>,
    context: &CallContext,
) -> Result<ToolAnswer, ToolFailure> {
    let (services, connection) = tokio::try_join!(
        app::list_services(app, business),
        app::integrations::get_connection(app, business)
    )
    .map_err(failure)?;
    let services: Vec<ServiceView> = services
        .iter()
        .filter(|service| service.active)
        .map(service_view)
        .collect();
    let (calendar, _) = health_now(connection.as_ref(), local);
    let now = local.now.to_zoned_datetime(local.zone.clone());
    let to_the_minute = local
        .now
        .round(
            jiff::TimestampRound::new()
                .smallest(jiff::Unit::Minute)
                .mode(jiff::RoundMode::Trunc),
        )
        .unwrap_or(local.now);
    let offered = if services.is_empty() {
        "It offers no services to book yet.".to_owned()
    } else {
        let names: Vec<String> = services
            .iter()
            .map(|service| format!("{} ({} minutes)", service.name, service.duration_minutes))
            .collect();
        format!("Services: {}.", names.join(", "))
    };
    // Said before any booking, so the agent asks for a number while the caller is still choosing.
    let callback = match &context.caller {
        CallerId::NotAPhoneCall => None,
        CallerId::Reported(reported) => {
            Callback::of(&reported_phone(app, business, reported.as_deref()).await?)
        }
    };
    let mut summary = format!(
        "{}. It is now {} in the business's time zone, {}. {offered} {}",
        business.name.as_ref(),
        local.spoken(to_the_minute),
        business.time_zone.name(),
        calendar.message
    );
    if let Some(callback) = callback {
        summary.push(' ');
        summary.push_str(callback.before_booking());
    }
    let answer = BusinessContext {
        summary: summary.clone(),
        business_name: business.name.as_ref().to_owned(),
        time_zone: business.time_zone.name().to_owned(),
        locale: local.locale.tag().to_owned(),
        now: local.rfc3339(local.now),
        today: local.today.to_string(),
        weekday: spoken::weekday_name(now.weekday()).to_owned(),
        local_time: format!("{:02}:{:02}", now.hour(), now.minute()),
        tomorrow: local
            .today
            .tomorrow()
            .map(|date| date.to_string())
            .unwrap_or_default(),
        services,
        calendar,
        callback_number_needed: callback.is_some(),
    };
    structured(&summary, &answer)
}

/// Which local times of the day a search keeps.
struct DayFilter {
    part: Option<PartOfDay>,
    earliest: Option<Time>,
    latest: Option<Time>,
}

impl DayFilter {
    fn keeps(&self, time: Time) -> bool {
        let in_part = match self.part {
            None => true,
            Some(PartOfDay::Morning) => time < AFTERNOON_STARTS,
            Some(PartOfDay::Afternoon) => (AFTERNOON_STARTS..EVENING_STARTS).contains(&time),
            Some(PartOfDay::Evening) => time >= EVENING_STARTS,
        };
        in_part
            && self.earliest.is_none_or(|earliest| time >= earliest)
            && self.latest.is_none_or(|latest| time <= latest)
    }

    /// The filter as words after the dates: " in the afternoon", " from 2 PM until 4 PM".
    fn words(&self, locale: SpokenLocale) -> String {
        let mut words = match self.part {
            None => String::new(),
            Some(PartOfDay::Morning) => " in the morning".to_owned(),
            Some(PartOfDay::Afternoon) => " in the afternoon".to_owned(),
            Some(PartOfDay::Evening) => " in the evening".to_owned(),
        };
        if let Some(earliest) = self.earliest {
            words.push_str(&format!(" from {}", spoken::time_of_day(locale, earliest)));
        }
        if let Some(latest) = self.latest {
            words.push_str(&format!(" until {}", spoken::time_of_day(locale, latest)));
        }
        words
    }
}

/// `limit` of `count` items, spread evenly from the first to the last, so a handful of times covers the window
/// instead of the first hour of it.
fn spread(count: usize, limit: usize) -> Vec<usize> {
    match limit {
        0 => Vec::new(),
        _ if count <= limit => (0..count).collect(),
        1 => vec![0],
        _ => (0..limit).map(|i| i * (count - 1) / (limit - 1)).collect(),
    }
}

async fn find_available_times(
    app: &AgentApp,
    business: &Business,
    local: &Local<'_>,
    args: arguments::FindAvailableTimes,
) -> Result<ToolAnswer, ToolFailure> {
    let service_id = parse_service_id(&args.service_id)?;
    let date = optional(args.date.as_deref(), "date", parse_date)?;
    let from_date = optional(args.from_date.as_deref(), "from_date", parse_date)?;
    let to_date = optional(args.to_date.as_deref(), "to_date", parse_date)?;
    let week_after = |first: Date| {
        first
            .checked_add(SignedDuration::from_hours((DEFAULT_DAYS - 1) * 24))
            .unwrap_or(first)
    };
    let (first, last) = match (date, from_date, to_date) {
        (Some(day), None, None) => (day, day),
        (Some(_), _, _) => {
            return Err(invalid(
                "give either date, or from_date with to_date, not both",
            ));
        }
        (None, Some(first), last) => (first, last.unwrap_or_else(|| week_after(first))),
        (None, None, Some(last)) => (local.today, last),
        (None, None, None) => (local.today, week_after(local.today)),
    };
    if last < first {
        return Err(invalid("to_date: must not be before from_date"));
    }
    let filter = DayFilter {
        part: args.part_of_day,
        earliest: optional(
            args.earliest_time.as_deref(),
            "earliest_time",
            parse_time_of_day,
        )?,
        latest: optional(
            args.latest_time.as_deref(),
            "latest_time",
            parse_time_of_day,
        )?,
    };
    if filter
        .earliest
        .zip(filter.latest)
        .is_some_and(|(earliest, latest)| latest < earliest)
    {
        return Err(invalid("latest_time: must not be before earliest_time"));
    }
    let limit = args.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(invalid(format!(
            "limit: {limit} is not accepted: must be 1 to {MAX_LIMIT}"
        )));
    }
    let after_last = last
        .tomorrow()
        .map_err(|_| invalid("to_date: is out of range"))?;
    let window = Interval::new(local.start_of(first)?, local.start_of(after_last)?)
        .map_err(|_| invalid("to_date: must not be before from_date"))?;
    let (found, connection) = tokio::try_join!(
        app::find_availability(app, business, service_id, window),
        app::integrations::get_connection(app, business)
    )
    .map_err(failure)?;
    let (_, warning) = health_now(connection.as_ref(), local);
    let service = &found.service;
    let matching: Vec<Interval> = found
        .slots
        .iter()
        .filter(|slot| filter.keeps(local.wall_time_of(slot.start())))
        .copied()
        .collect();
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let picked: Vec<Interval> = spread(matching.len(), limit)
        .into_iter()
        .filter_map(|index| matching.get(index).copied())
        .collect();

    let bookable = availability::booking_window(service, local.now);
    let next_available = if matching.is_empty() && window.end() < bookable.latest {
        next_free_after(
            app,
            business,
            local,
            service_id,
            window.end(),
            &filter,
            limit,
        )
        .await?
    } else {
        Vec::new()
    };

    let mut days: Vec<DayTimes> = Vec::new();
    for slot in &picked {
        let day = local.date_of(slot.start());
        match days.last_mut() {
            Some(last) if last.date == day.to_string() => last.times.push(local.time(slot)),
            _ => days.push(DayTimes {
                date: day.to_string(),
                spoken_date: local.spoken_date(day),
                times: vec![local.time(slot)],
            }),
        }
    }
    let window_note = found.clipped().then(|| match found.searched {
        Some((from, until)) => {
            let mut notes = Vec::new();
            if from > window.start() {
                notes.push(format!(
                    "The earliest time that can be booked is {}.",
                    local.spoken(from)
                ));
            }
            if until < window.end() {
                notes.push(format!(
                    "Bookings are taken only up to {}.",
                    local.spoken(until)
                ));
            }
            notes.join(" ")
        }
        None => format!(
            "None of these dates can be booked now: {} can be booked from {} until {}.",
            service.settings.name.as_ref(),
            local.spoken(bookable.earliest),
            local.spoken(bookable.latest)
        ),
    });
    let name = service.settings.name.as_ref();
    let dates = if first == last {
        format!("on {}", local.spoken_date(first))
    } else {
        format!(
            "between {} and {}",
            local.spoken_date(first),
            local.spoken_date(last)
        )
    };
    let mut summary = if picked.is_empty() {
        let mut text = format!(
            "{name} has nothing free {dates}{}.",
            filter.words(local.locale)
        );
        if !next_available.is_empty() {
            text.push_str(&format!(
                " The next free times are {}.",
                local.by_day(&next_available)
            ));
        } else if window.end() < bookable.latest {
            text.push_str(&format!(
                " Nothing matching is free in the {NEXT_AVAILABLE_DAYS} days after either."
            ));
        }
        text
    } else {
        let mut text = format!("{name} is free on {}.", local.by_day(&picked));
        let more = matching.len() - picked.len();
        if more > 0 {
            text.push_str(&format!(
                " {more} more times are free {dates}{}; ask for a narrower time to hear them.",
                filter.words(local.locale)
            ));
        }
        text
    };
    if let Some(note) = &window_note {
        summary.push(' ');
        summary.push_str(note);
    }
    let summary = with_warning(summary, warning.as_ref());
    let answer = AvailableTimes {
        summary: summary.clone(),
        service: service_view(service),
        from_date: first.to_string(),
        to_date: last.to_string(),
        days,
        matching: matching.len(),
        next_available: local.times(&next_available),
        window_note,
        warning,
    };
    structured(&summary, &answer)
}

/// The first free times after `after` that pass `filter`, within [`NEXT_AVAILABLE_DAYS`].
async fn next_free_after(
    app: &AgentApp,
    business: &Business,
    local: &Local<'_>,
    service_id: ServiceId,
    after: Timestamp,
    filter: &DayFilter,
    limit: usize,
) -> Result<Vec<Interval>, ToolFailure> {
    let until = after
        .checked_add(SignedDuration::from_hours(NEXT_AVAILABLE_DAYS * 24))
        .unwrap_or(after);
    let Ok(window) = Interval::new(after, until) else {
        return Ok(Vec::new());
    };
    let found = app::find_availability(app, business, service_id, window)
        .await
        .map_err(failure)?;
    Ok(found
        .slots
        .into_iter()
        .filter(|slot| filter.keeps(local.wall_time_of(slot.start())))
        .take(limit.min(3))
        .collect())
}

async fn check_time(
    app: &AgentApp,
    business: &Business,
    local: &Local<'_>,
    args: arguments::CheckTime,
) -> Result<ToolAnswer, ToolFailure> {
    let service_id = parse_service_id(&args.service_id)?;
    let start = local.parse_start("start", &args.start)?;
    let (check, connection) = tokio::try_join!(
        app::check_availability(app, business, service_id, start),
        app::integrations::get_connection(app, business)
    )
    .map_err(failure)?;
    let (_, warning) = health_now(connection.as_ref(), local);
    let service = &check.service;
    let requested = match &check.verdict {
        Ok(slot) => *slot,
        Err(_) => Interval::starting_at(start, service.settings.duration.as_duration())
            .ok_or_else(|| invalid("start: is out of range"))?,
    };
    let spoken = local.spoken(start);
    let summary = match check.verdict {
        Ok(_) => format!("{spoken} is free for {}.", service.settings.name.as_ref()),
        Err(reason) => format!(
            "{spoken} is not available: {}.{}",
            reason_words(reason, service),
            alternatives_sentence(local, &check.alternatives)
        ),
    };
    let summary = with_warning(summary, warning.as_ref());
    let answer = TimeCheck {
        summary: summary.clone(),
        available: check.verdict.is_ok(),
        service: service_view(service),
        requested: local.time(&requested),
        reason: check.verdict.err().map(|reason| reason.code().to_owned()),
        alternatives: local.times(&check.alternatives),
        warning,
    };
    structured(&summary, &answer)
}

/// What identifies a booking request for idempotency (what to book and for whom): the same key with other details
/// is refused.
fn booking_fingerprint(target: Value, customer: &Customer, notes: Option<&Notes>) -> String {
    let canonical = json!({
        "tool": "book_appointment",
        "target": target,
        "customer_name": customer.name.as_ref(),
        "customer_phone": customer.phone.as_ref().map(AsRef::<str>::as_ref),
        "notes": notes.map(AsRef::<str>::as_ref),
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

fn idempotency(
    args_key: Option<&str>,
    context: &CallContext,
    customer: &Customer,
    notes: Option<&Notes>,
    target: Value,
) -> Result<Option<IdempotentBooking>, ToolFailure> {
    // The model's own keys get a prefix of their own, so they never collide with a REST client's keys.
    let key = match (&context.idempotency_key, args_key) {
        (Some(platform), _) => platform.clone(),
        (None, Some(model)) => format!("agent:{model}"),
        (None, None) => return Ok(None),
    };
    let key = IdempotencyKey::try_from(key).map_err(|_| {
        invalid("idempotency_key: must be 1 to 240 visible ASCII characters without spaces")
    })?;
    Ok(Some(IdempotentBooking {
        key,
        request_fingerprint: booking_fingerprint(target, customer, notes),
    }))
}

/// A number the model typed (the caller said it): checked strictly, the refusal naming the argument.
async fn typed_phone(
    app: &AgentApp,
    business: &Business,
    field: &'static str,
    text: &str,
) -> Result<PhoneNumber, ToolFailure> {
    app::normalize_customer_phone(app, business, field, text)
        .await
        .map_err(|error| match error {
            AppError::Validation(error) => invalid(format!(
                "{field}: {}; check the number with the caller (international form, e.g. +14155550123, is always \
                 understood)",
                error.message
            )),
            other => failure(other),
        })
}

/// The number the platform reports for the caller, read leniently; `Missing` when it reported none.
async fn reported_phone(
    app: &AgentApp,
    business: &Business,
    reported: Option<&str>,
) -> Result<CallerNumber, ToolFailure> {
    match reported {
        Some(text) => app::read_platform_caller(app, business, text)
            .await
            .map_err(failure),
        None => Ok(CallerNumber::Missing),
    }
}

fn no_caller_number(field: &str) -> ToolFailure {
    invalid(format!(
        "{field}: no caller number came with this call; ask the caller for their phone number"
    ))
}

/// The number to look a caller up by: the model's, or the one the platform reports when the model left it out.
async fn caller_phone(
    app: &AgentApp,
    business: &Business,
    field: &'static str,
    given: Option<String>,
    context: &CallContext,
) -> Result<PhoneNumber, ToolFailure> {
    if let Some(given) = given {
        return typed_phone(app, business, field, &given).await;
    }
    let CallerId::Reported(reported) = &context.caller else {
        return Err(no_caller_number(field));
    };
    match reported_phone(app, business, reported.as_deref()).await? {
        CallerNumber::Known(number) | CallerNumber::Unverified(number) => Ok(number),
        CallerNumber::Missing => Err(no_caller_number(field)),
    }
}

/// Why the booking has no confirmed number to call the caller back on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Callback {
    /// The platform gave no number (withheld, anonymous, a SIP address): booked without one.
    NoNumber,
    /// The platform's number is in a range libphonenumber does not know: kept, but unconfirmed.
    Unconfirmed,
}

impl Callback {
    fn of(reported: &CallerNumber) -> Option<Self> {
        match reported {
            CallerNumber::Known(_) => None,
            CallerNumber::Unverified(_) => Some(Self::Unconfirmed),
            CallerNumber::Missing => Some(Self::NoNumber),
        }
    }

    /// What the agent is told at the start of the call, so it asks before booking.
    fn before_booking(self) -> &'static str {
        match self {
            Self::NoNumber => {
                "The phone system did not pass on the caller's number: ask for a number to call them back on, and \
                 give it as customer_phone when booking."
            }
            Self::Unconfirmed => {
                "The number the phone system gave for the caller could not be confirmed: ask for a number to call \
                 them back on, and give it as customer_phone when booking."
            }
        }
    }

    /// What the agent is told, after the booking's own sentence.
    fn sentence(self) -> &'static str {
        match self {
            Self::NoNumber => {
                "The phone system did not pass on the caller's number, so the booking has no number to call them \
                 back on: ask the caller for one."
            }
            Self::Unconfirmed => {
                "The number the phone system gave for the caller could not be confirmed as a working number: ask \
                 the caller for a number to call them back on."
            }
        }
    }
}

/// The customer to book: the name, and the number the model gave (strict) or, when it gave none, the one the
/// platform reports (lenient: a withheld or unknown caller id books without a confirmed number, and says so).
async fn customer(
    app: &AgentApp,
    business: &Business,
    name: String,
    phone: Option<String>,
    context: &CallContext,
) -> Result<(Customer, Option<Callback>), ToolFailure> {
    let name = CustomerName::try_from(name).map_err(|_| {
        invalid("customer_name: ask the caller for their name (1 to 200 characters)")
    })?;
    let (phone, callback) = match (phone, &context.caller) {
        (Some(typed), _) => (
            Some(typed_phone(app, business, "customer_phone", &typed).await?),
            None,
        ),
        (None, CallerId::NotAPhoneCall) => return Err(no_caller_number("customer_phone")),
        (None, CallerId::Reported(reported)) => {
            let reported = reported_phone(app, business, reported.as_deref()).await?;
            let callback = Callback::of(&reported);
            let phone = match reported {
                CallerNumber::Known(number) | CallerNumber::Unverified(number) => Some(number),
                CallerNumber::Missing => None,
            };
            (phone, callback)
        }
    };
    let customer = Customer {
        name,
        phone,
        email: None,
    };
    Ok((customer, callback))
}

/// What the model asked to book: a held time, or a service at a start.
enum Booking {
    Held(HoldId),
    Direct {
        service_id: ServiceId,
        start: Timestamp,
    },
}

fn booking_target(
    local: &Local,
    args: &arguments::BookAppointment,
) -> Result<Booking, ToolFailure> {
    match (&args.hold_id, &args.service_id, &args.start) {
        // A hold names its time; a strict-mode model may repeat the service and start, which the hold settles.
        (Some(hold_id), _, _) => hold_id
            .parse()
            .map(Booking::Held)
            .map_err(|_| invalid("hold_id: must be the hold_id hold_time gave (a UUID)")),
        (None, Some(service_id), Some(start)) => Ok(Booking::Direct {
            service_id: parse_service_id(service_id)?,
            start: local.parse_start("start", start)?,
        }),
        (None, _, _) => Err(invalid(
            "give hold_id from hold_time, or service_id and start",
        )),
    }
}

async fn book(
    app: &AgentApp,
    business: &Business,
    local: &Local<'_>,
    args: arguments::BookAppointment,
    context: &CallContext,
) -> Result<ToolAnswer, ToolFailure> {
    let target = booking_target(local, &args)?;
    let (customer, callback) = customer(
        app,
        business,
        args.customer_name,
        args.customer_phone,
        context,
    )
    .await?;
    let notes = args
        .notes
        .map(Notes::try_from)
        .transpose()
        .map_err(|_| invalid("notes: at most 4000 characters"))?;
    let key = args.idempotency_key.as_deref();
    let outcome = match target {
        Booking::Direct { service_id, start } => {
            let target =
                json!({ "service_id": service_id.to_string(), "start": start.to_string() });
            let idempotency = idempotency(key, context, &customer, notes.as_ref(), target)?;
            let request = BookingRequest {
                service_id,
                start,
                customer,
                notes,
                source: BookingSource::Ai,
            };
            app::book_appointment(app, business, request, idempotency).await
        }
        Booking::Held(hold_id) => {
            let target = json!({ "hold_id": hold_id.to_string() });
            let idempotency = idempotency(key, context, &customer, notes.as_ref(), target)?;
            let request = HeldBooking {
                hold_id,
                customer,
                notes,
                source: BookingSource::Ai,
            };
            match app::book_held_appointment(app, business, request, idempotency).await {
                // Booked before (a retry without a key, or a second tool call): the booking stands, so say so.
                Err(AppError::HoldAlreadyConverted) => {
                    let appointment =
                        appointment_of(app, business, hold_id.appointment_id()).await?;
                    return booked(app, business, local, &appointment, true, callback).await;
                }
                outcome => outcome,
            }
        }
    };
    match outcome {
        Ok(BookingOutcome::Created(appointment)) => {
            booked(app, business, local, &appointment, false, callback).await
        }
        // A repeat is told how the booking stands now, not only how it was made.
        Ok(BookingOutcome::Replayed(first)) => {
            let appointment = appointment_of(app, business, first.id).await?;
            booked(app, business, local, &appointment, true, callback).await
        }
        Err(AppError::SlotUnavailable {
            requested,
            reason,
            alternatives,
            ..
        }) => {
            let opening = match (reason, &args.service_id) {
                (Unavailability::Taken, _) => "That time was just taken.".to_owned(),
                (Unavailability::CalendarBusy, _) => format!(
                    "{} cannot be booked: the business has just put something else in its calendar then.",
                    local.spoken(requested)
                ),
                (other, Some(service_id)) => {
                    let service = service_of(app, business, parse_service_id(service_id)?).await?;
                    format!(
                        "{} cannot be booked: {}.",
                        local.spoken(requested),
                        reason_words(other, &service)
                    )
                }
                (_, None) => format!("{} cannot be booked.", local.spoken(requested)),
            };
            let summary = format!("{opening}{}", alternatives_sentence(local, &alternatives));
            let answer = BookingAnswer {
                summary: summary.clone(),
                booked: false,
                appointment: None,
                repeated: false,
                reason: Some(reason.code().to_owned()),
                alternatives: local.times(&alternatives),
                callback_number_needed: false,
            };
            structured(&summary, &answer)
        }
        Err(error) => Err(failure(error)),
    }
}

async fn booked(
    app: &AgentApp,
    business: &Business,
    local: &Local<'_>,
    appointment: &Appointment,
    repeated: bool,
    callback: Option<Callback>,
) -> Result<ToolAnswer, ToolFailure> {
    let service = service_of(app, business, appointment.service_id).await?;
    let mut summary = format!(
        "{} is booked for {} on {}.",
        service.settings.name.as_ref(),
        appointment.customer.name.as_ref(),
        local.spoken(appointment.time.start())
    );
    if let Some(callback) = callback {
        summary.push(' ');
        summary.push_str(callback.sentence());
    }
    let answer = BookingAnswer {
        summary: summary.clone(),
        booked: true,
        appointment: Some(appointment_view(local, appointment, &service)),
        repeated,
        reason: None,
        alternatives: Vec::new(),
        callback_number_needed: callback.is_some(),
    };
    structured(&summary, &answer)
}

async fn hold(
    app: &AgentApp,
    business: &Business,
    local: &Local<'_>,
    args: arguments::HoldTime,
) -> Result<ToolAnswer, ToolFailure> {
    let service_id = parse_service_id(&args.service_id)?;
    let start = local.parse_start("start", &args.start)?;
    let (held, service) = tokio::join!(
        app::create_hold(app, business, HoldRequest { service_id, start }),
        app::get_service(app, business, service_id)
    );
    let service = service.map_err(failure)?;
    match held {
        Ok(hold) => {
            let minutes = hold.expires_at.duration_since(local.now).as_mins().max(1);
            let until = spoken::time_of_day(local.locale, local.wall_time_of(hold.expires_at));
            let summary = format!(
                "{} is held for {} for {minutes} minutes, until {until}, while the caller decides; book it with \
                 the hold_id.",
                local.spoken(hold.time.start()),
                service.settings.name.as_ref()
            );
            let answer = HoldAnswer {
                summary: summary.clone(),
                held: true,
                hold_id: Some(hold.id.to_string()),
                service: service_view(&service),
                time: local.time(&hold.time),
                expires_at: Some(local.rfc3339(hold.expires_at)),
                reason: None,
                alternatives: Vec::new(),
            };
            structured(&summary, &answer)
        }
        Err(AppError::SlotUnavailable {
            requested,
            reason,
            alternatives,
            ..
        }) => {
            let opening = match reason {
                Unavailability::Taken => format!("{} was just taken.", local.spoken(requested)),
                other => format!(
                    "{} cannot be held: {}.",
                    local.spoken(requested),
                    reason_words(other, &service)
                ),
            };
            let summary = format!("{opening}{}", alternatives_sentence(local, &alternatives));
            let time = Interval::starting_at(requested, service.settings.duration.as_duration())
                .ok_or_else(|| invalid("start: is out of range"))?;
            let answer = HoldAnswer {
                summary: summary.clone(),
                held: false,
                hold_id: None,
                service: service_view(&service),
                time: local.time(&time),
                expires_at: None,
                reason: Some(reason.code().to_owned()),
                alternatives: local.times(&alternatives),
            };
            structured(&summary, &answer)
        }
        Err(error) => Err(failure(error)),
    }
}

async fn caller(
    app: &AgentApp,
    business: &Business,
    local: &Local<'_>,
    args: arguments::FindCallerAppointments,
    context: &CallContext,
) -> Result<ToolAnswer, ToolFailure> {
    let phone = caller_phone(app, business, "phone", args.phone, context).await?;
    let upcoming = Interval::new(local.now, Timestamp::MAX)
        .map_err(|_| invalid("phone: the clock is out of range"))?;
    let listing = CallerListing {
        phone: phone.clone(),
        starts_within: Some(upcoming),
        status: Some(AppointmentStatus::Booked),
        sync_status: None,
        cursor: None,
        limit: CALLER_APPOINTMENTS,
    };
    let (page, services) = tokio::try_join!(
        app::caller_appointments(app, business, &listing),
        app::list_services(app, business)
    )
    .map_err(failure)?;
    let mut appointments = Vec::with_capacity(page.items.len());
    let mut said = Vec::with_capacity(page.items.len());
    for appointment in &page.items {
        let Some(service) = services
            .iter()
            .find(|service| service.id == appointment.service_id)
        else {
            continue;
        };
        said.push(format!(
            "{} for {} on {}",
            service.settings.name.as_ref(),
            appointment.customer.name.as_ref(),
            local.spoken(appointment.time.start())
        ));
        appointments.push(appointment_view(local, appointment, service));
    }
    let more = page.next.is_some();
    let summary = match said.as_slice() {
        [] => "There are no upcoming appointments for this phone number.".to_owned(),
        [only] => format!("There is one upcoming appointment for this number: {only}."),
        items => format!(
            "There are {} upcoming appointments for this number: {}{}.",
            items.len(),
            items.join("; "),
            if more { "; and more after those" } else { "" }
        ),
    };
    let answer = CallerAppointments {
        summary: summary.clone(),
        phone: phone.as_ref().to_owned(),
        appointments,
        more,
    };
    structured(&summary, &answer)
}

async fn reschedule(
    app: &AgentApp,
    business: &Business,
    local: &Local<'_>,
    args: arguments::RescheduleAppointment,
) -> Result<ToolAnswer, ToolFailure> {
    let id = parse_appointment_id(&args.appointment_id)?;
    let start = local.parse_start("start", &args.start)?;
    let edit = AppointmentEdit {
        start: Some(start),
        ..AppointmentEdit::default()
    };
    match app::edit_appointment(app, business, id, &edit).await {
        Ok(appointment) => {
            let service = service_of(app, business, appointment.service_id).await?;
            let summary = format!(
                "{} for {} is now on {}.",
                service.settings.name.as_ref(),
                appointment.customer.name.as_ref(),
                local.spoken(appointment.time.start())
            );
            let answer = RescheduleAnswer {
                summary: summary.clone(),
                rescheduled: true,
                appointment: appointment_view(local, &appointment, &service),
                reason: None,
                alternatives: Vec::new(),
            };
            structured(&summary, &answer)
        }
        Err(AppError::SlotUnavailable {
            requested,
            reason,
            alternatives,
            ..
        }) => {
            let appointment = appointment_of(app, business, id).await?;
            let service = service_of(app, business, appointment.service_id).await?;
            let summary = format!(
                "{} is not available: {}. The appointment stays on {}.{}",
                local.spoken(requested),
                reason_words(reason, &service),
                local.spoken(appointment.time.start()),
                alternatives_sentence(local, &alternatives)
            );
            let answer = RescheduleAnswer {
                summary: summary.clone(),
                rescheduled: false,
                appointment: appointment_view(local, &appointment, &service),
                reason: Some(reason.code().to_owned()),
                alternatives: local.times(&alternatives),
            };
            structured(&summary, &answer)
        }
        Err(error) => Err(failure(error)),
    }
}

async fn cancel(
    app: &AgentApp,
    business: &Business,
    local: &Local<'_>,
    args: arguments::CancelAppointment,
) -> Result<ToolAnswer, ToolFailure> {
    let id = parse_appointment_id(&args.appointment_id)?;
    let current = appointment_of(app, business, id).await?;
    let (appointment, newly_cancelled) = if current.is_live() {
        (
            app::cancel_appointment(app, business, id)
                .await
                .map_err(failure)?,
            true,
        )
    } else {
        (current, false)
    };
    let service = service_of(app, business, appointment.service_id).await?;
    let what = format!(
        "{} for {} on {}",
        service.settings.name.as_ref(),
        appointment.customer.name.as_ref(),
        local.spoken(appointment.time.start())
    );
    let summary = if newly_cancelled {
        format!("{what} is cancelled.")
    } else {
        format!("{what} was already cancelled.")
    };
    let answer = CancelAnswer {
        summary: summary.clone(),
        newly_cancelled,
        appointment: appointment_view(local, &appointment, &service),
    };
    structured(&summary, &answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_keeps_the_first_and_last_and_stays_in_order() {
        assert_eq!(spread(3, 5), vec![0, 1, 2]);
        assert_eq!(spread(10, 1), vec![0]);
        assert_eq!(spread(10, 0), Vec::<usize>::new());
        assert_eq!(spread(9, 5), vec![0, 2, 4, 6, 8]);
        let picked = spread(33, 5);
        assert_eq!(picked.first(), Some(&0));
        assert_eq!(picked.last(), Some(&32));
        assert!(picked.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn parts_of_the_day_split_at_noon_and_five() {
        let filter = |part| DayFilter {
            part: Some(part),
            earliest: None,
            latest: None,
        };
        let noon = Time::constant(12, 0, 0, 0);
        let before_noon = Time::constant(11, 45, 0, 0);
        let five = Time::constant(17, 0, 0, 0);
        assert!(filter(PartOfDay::Morning).keeps(before_noon));
        assert!(!filter(PartOfDay::Morning).keeps(noon));
        assert!(filter(PartOfDay::Afternoon).keeps(noon));
        assert!(!filter(PartOfDay::Afternoon).keeps(five));
        assert!(filter(PartOfDay::Evening).keeps(five));
        let hours = DayFilter {
            part: None,
            earliest: Some(Time::constant(14, 0, 0, 0)),
            latest: Some(Time::constant(16, 0, 0, 0)),
        };
        assert!(hours.keeps(Time::constant(16, 0, 0, 0)));
        assert!(!hours.keeps(Time::constant(16, 15, 0, 0)));
        assert!(!hours.keeps(Time::constant(13, 45, 0, 0)));
    }

    #[test]
    fn absent_looking_arguments_are_dropped_and_unknown_ones_refused() {
        let parsed: Result<arguments::CheckTime, _> = parse_arguments(json!({
            "service_id": "0190f0b4-0000-7000-8000-000000000000",
            "start": "2026-12-08T10:30",
        }));
        assert!(parsed.is_ok());
        let strict: Result<arguments::FindAvailableTimes, _> = parse_arguments(json!({
            "service_id": "0190f0b4-0000-7000-8000-000000000000",
            "date": null, "from_date": "", "to_date": null, "part_of_day": null,
            "earliest_time": null, "latest_time": null, "limit": null,
        }));
        assert!(strict.is_ok_and(|args| args.from_date.is_none()));
        let unknown: Result<arguments::CheckTime, _> = parse_arguments(json!({
            "service_id": "x", "start": "y", "when": "tomorrow",
        }));
        assert!(
            matches!(&unknown, Err(ToolFailure::InvalidArguments(message)) if message.contains("when")),
            "{unknown:?}"
        );
        let missing: Result<arguments::CheckTime, _> = parse_arguments(json!({ "start": "y" }));
        assert!(
            matches!(&missing, Err(ToolFailure::InvalidArguments(message)) if message.contains("service_id")),
            "{missing:?}"
        );
        let not_an_object: Result<arguments::CheckTime, _> = parse_arguments(json!([1]));
        assert!(not_an_object.is_err());
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_named_with_its_argument() {
        let service_id = "0190f0b4-0000-7000-8000-000000000000";
        let limit: Result<arguments::FindAvailableTimes, _> =
            parse_arguments(json!({ "service_id": service_id, "limit": "five" }));
        assert!(
            matches!(&limit, Err(ToolFailure::InvalidArguments(message))
                if message.starts_with("limit: \"five\" is not accepted")),
            "{limit:?}"
        );
        let part: Result<arguments::FindAvailableTimes, _> =
            parse_arguments(json!({ "service_id": service_id, "part_of_day": "lunchtime" }));
        assert!(
            matches!(&part, Err(ToolFailure::InvalidArguments(message))
                if message.starts_with("part_of_day: \"lunchtime\" is not accepted")
                    && message.contains("morning")),
            "{part:?}"
        );
    }

    #[test]
    fn a_start_may_be_local_or_carry_its_offset() {
        let business = Business {
            id: crate::domain::BusinessId::generate(),
            name: crate::domain::BusinessName::try_from("Clinic".to_owned())
                .unwrap_or_else(|e| panic!("{e}")),
            time_zone: crate::domain::BusinessTimeZone::try_from("America/New_York".to_owned())
                .unwrap_or_else(|e| panic!("{e}")),
            created_at: Timestamp::UNIX_EPOCH,
        };
        let now: Timestamp = "2026-12-01T14:00:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let local = Local::new(&business, now);
        let expected: Timestamp = "2026-12-08T15:30:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let start = |text| local.parse_start("start", text);
        assert_eq!(start("2026-12-08T10:30"), Ok(expected));
        assert_eq!(start("2026-12-08T10:30:00-05:00"), Ok(expected));
        assert_eq!(start("2026-12-08T15:30:00Z"), Ok(expected));
        assert!(start("next tuesday").is_err());
        assert!(start("1999-12-08T10:30").is_err());
        // The repeated hour of 2026-11-01 means its first occurrence (daylight time).
        let first: Timestamp = "2026-11-01T05:30:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(start("2026-11-01T01:30"), Ok(first));
        // Read leniently, this was Wednesday 9 December at 4 AM.
        assert_eq!(
            start("2026-12-10T10:00:00+25:00"),
            Err(invalid(
                "start: \"2026-12-10T10:00:00+25:00\" must be a local date-time in the business's zone as \
                 YYYY-MM-DDTHH:MM, e.g. 2026-12-08T10:30, or an RFC 3339 date-time with offset, as \
                 YYYY-MM-DDTHH:MM:SS±HH:MM or …Z"
            ))
        );
    }
}
