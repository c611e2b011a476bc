//! Every sentence the agent is given to say: the tools' summaries, their refusals and the use cases' errors as the
//! model is told them. Each tool's file decides what happened; this file says it, so a sentence two tools share
//! (a time that is not free, a caller without a number) is written once. What is said about a wrong argument stays
//! beside the parser that refuses it (`input`), because it names that argument.

use jiff::Timestamp;
use jiff::civil::{Date, Time};

use crate::agent::answers::{CalendarView, ServiceView, StaffMemberView, StaffView};
use crate::agent::arguments::PartOfDay;
use crate::agent::call::ToolFailure;
use crate::agent::spoken::{self, SpokenLocale};
use crate::app::{AppError, Missing};
use crate::availability::{BookingWindow, Unavailability};
use crate::domain::{Appointment, Business, CallerNumber, Interval, Service, StaffId, StaffMember};

use super::input::invalid;
use super::local::Local;

/// The answer of a use case, or the failure the model is told about.
pub(crate) fn failure(error: AppError) -> ToolFailure {
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
        AppError::NotFound(Missing::StaffMember) => invalid(
            "staff: no such staff member at this business; call get_business_context for the staff and their ids",
        ),
        AppError::StaffInactive => ToolFailure::Refused(
            "That staff member is not taking bookings now: offer someone else, or whoever is free.".to_owned(),
        ),
        AppError::StaffDoesNotPerform => ToolFailure::Refused(
            "That staff member does not do that service: offer someone who does (get_business_context says who \
             does what), or whoever is free."
                .to_owned(),
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

/// Why the booking has no confirmed number to call the caller back on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Callback {
    /// The platform gave no number (withheld, anonymous, a SIP address): booked without one.
    NoNumber,
    /// The platform's number is in a range libphonenumber does not know: kept, but unconfirmed.
    Unconfirmed,
}

impl Callback {
    /// Why a number the platform reported cannot be called back, if it cannot.
    pub(crate) fn of(reported: &CallerNumber) -> Option<Self> {
        match reported {
            CallerNumber::Known(_) => None,
            CallerNumber::Unverified(_) => Some(Self::Unconfirmed),
            CallerNumber::Missing => Some(Self::NoNumber),
        }
    }

    /// What the agent is told at the start of the call, so it asks before booking.
    pub(crate) fn before_booking(self) -> &'static str {
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
    pub(crate) fn after_booking(self) -> &'static str {
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

/// Names a time's staff member said beyond this many are counted instead: "with Maria, Tom, Ana or 2 others".
const NAMES_SAID: usize = 3;

/// The business's staff as the answers name them: by name only when more than one member is active, so a business
/// with one diary hears exactly what it always heard.
pub(crate) struct Whom<'a> {
    staff: &'a [StaffMember],
    several: bool,
}

impl<'a> Whom<'a> {
    pub(crate) fn new(staff: &'a [StaffMember]) -> Self {
        Self {
            staff,
            several: staff.iter().filter(|member| member.active).count() > 1,
        }
    }

    fn name(&self, id: StaffId) -> Option<&'a str> {
        self.staff
            .iter()
            .find(|member| member.id == id)
            .map(|member| member.settings.name.as_ref())
    }

    /// " with Maria", " with Maria or Tom" (names in alphabetical order, as a person would list them); nothing for a
    /// business with one member or for nobody known.
    pub(crate) fn with(&self, ids: &[StaffId]) -> String {
        if !self.several {
            return String::new();
        }
        let mut names: Vec<String> = ids
            .iter()
            .filter_map(|id| self.name(*id))
            .map(str::to_owned)
            .collect();
        names.sort();
        match names.len() {
            0 => String::new(),
            count if count <= NAMES_SAID => format!(" with {}", spoken::alternatives(&names)),
            count => format!(
                " with {} or {} others",
                names[..NAMES_SAID].join(", "),
                count - NAMES_SAID
            ),
        }
    }

    pub(crate) fn view(&self, id: StaffId) -> Option<StaffView> {
        let name = self.name(id).filter(|_| self.several)?;
        Some(StaffView {
            staff_id: id.to_string(),
            name: name.to_owned(),
        })
    }

    pub(crate) fn views(&self, ids: &[StaffId]) -> Option<Vec<StaffView>> {
        self.several
            .then(|| ids.iter().filter_map(|id| self.view(*id)).collect())
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

/// The nearest free times, `with` whom they were looked for (" with Maria", or nothing for anyone).
fn alternatives_sentence(local: &Local, alternatives: &[Interval], with: &str) -> String {
    if alternatives.is_empty() {
        format!(" No other time is free nearby{with}.")
    } else {
        format!(
            " The nearest free times{with} are {}.",
            local.by_day(alternatives)
        )
    }
}

/// The summary with the calendar's warning after it, when its busy time may be out of date.
pub(crate) fn with_warning(mut summary: String, warning: Option<&String>) -> String {
    if let Some(warning) = warning {
        summary.push_str(" Warning: ");
        summary.push_str(warning);
    }
    summary
}

/// What a sentence about an appointment names: its service, its customer, with whom (" with Maria", or nothing)
/// and its start as said.
fn named<'a>(
    local: &Local,
    service: &'a Service,
    appointment: &'a Appointment,
    whom: &Whom,
) -> (&'a str, &'a str, String, String) {
    (
        service.settings.name.as_ref(),
        appointment.customer.name.as_ref(),
        whom.with(&[appointment.staff_id]),
        local.spoken(appointment.time.start()),
    )
}

/// An appointment as it is named to the caller: "Haircut for Ann with Maria on Tuesday, December 8 at 10:30 AM"
/// (with whom only when the business has several staff members).
fn appointment_words(
    local: &Local,
    service: &Service,
    appointment: &Appointment,
    whom: &Whom,
) -> String {
    let (service, customer, with, when) = named(local, service, appointment, whom);
    format!("{service} for {customer}{with} on {when}")
}

/// The opening of a call: the business, its time now, its services, its calendar, and a missing caller number.
pub(crate) fn business_context(
    business: &Business,
    local: &Local,
    to_the_minute: Timestamp,
    services: &[ServiceView],
    staff: &[StaffMemberView],
    calendar: &CalendarView,
    callback: Option<Callback>,
) -> String {
    let offered = if services.is_empty() {
        "It offers no services to book yet.".to_owned()
    } else {
        let names: Vec<String> = services
            .iter()
            .map(|service| format!("{} ({} minutes)", service.name, service.duration_minutes))
            .collect();
        format!("Services: {}.", names.join(", "))
    };
    // One member is the business itself: naming them would only repeat the business's name.
    let offered = match staff {
        [] | [_] => offered,
        several => {
            let who: Vec<String> = several
                .iter()
                .map(|member| match member.services.as_slice() {
                    [] => format!("{} (no services yet)", member.name),
                    services => format!("{} ({})", member.name, services.join(", ")),
                })
                .collect();
            format!("{offered} Staff: {}.", who.join("; "))
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
    summary
}

/// The times of the day a search kept, as words after the dates: " in the afternoon", " from 2 PM until 4 PM".
pub(crate) fn part_of_day(
    locale: SpokenLocale,
    part: Option<PartOfDay>,
    earliest: Option<Time>,
    latest: Option<Time>,
) -> String {
    let mut words = match part {
        None => String::new(),
        Some(PartOfDay::Morning) => " in the morning".to_owned(),
        Some(PartOfDay::Afternoon) => " in the afternoon".to_owned(),
        Some(PartOfDay::Evening) => " in the evening".to_owned(),
    };
    if let Some(earliest) = earliest {
        words.push_str(&format!(" from {}", spoken::time_of_day(locale, earliest)));
    }
    if let Some(latest) = latest {
        words.push_str(&format!(" until {}", spoken::time_of_day(locale, latest)));
    }
    words
}

/// Which part of a searched window cannot be booked now, when the service's notice or horizon clipped it.
pub(crate) fn window_note(
    local: &Local,
    service: &Service,
    window: Interval,
    searched: Option<(Timestamp, Timestamp)>,
    bookable: &BookingWindow,
) -> String {
    match searched {
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
    }
}

/// What a search for free times found, for its summary.
pub(crate) struct FreeTimes<'a> {
    pub(crate) service: &'a Service,
    /// The first and last local dates searched.
    pub(crate) first: Date,
    pub(crate) last: Date,
    /// The times of the day kept, as [`part_of_day`] says them.
    pub(crate) part_of_day: &'a str,
    /// The times to say, each with whom (" with Maria", or nothing), and how many matched in all.
    pub(crate) picked: &'a [(Interval, String)],
    pub(crate) matching: usize,
    /// When nothing matched: the next free times after the window, each with whom.
    pub(crate) next_available: &'a [(Interval, String)],
    /// How many days after the window were searched for [`Self::next_available`]; `None` when none could be
    /// booked, so none were.
    pub(crate) searched_after_days: Option<i64>,
}

/// The summary of a search for free times, before its window note and warning.
pub(crate) fn free_times(local: &Local, found: &FreeTimes) -> String {
    let name = found.service.settings.name.as_ref();
    let dates = if found.first == found.last {
        format!("on {}", local.spoken_date(found.first))
    } else {
        format!(
            "between {} and {}",
            local.spoken_date(found.first),
            local.spoken_date(found.last)
        )
    };
    if found.picked.is_empty() {
        let mut text = format!("{name} has nothing free {dates}{}.", found.part_of_day);
        if !found.next_available.is_empty() {
            text.push_str(&format!(
                " The next free times are {}.",
                local.by_day_with(found.next_available)
            ));
        } else if let Some(days) = found.searched_after_days {
            text.push_str(&format!(
                " Nothing matching is free in the {days} days after either."
            ));
        }
        text
    } else {
        let mut text = format!("{name} is free on {}.", local.by_day_with(found.picked));
        let more = found.matching - found.picked.len();
        if more > 0 {
            text.push_str(&format!(
                " {more} more times are free {dates}{}; ask for a narrower time to hear them.",
                found.part_of_day
            ));
        }
        text
    }
}

/// Whether one start is free for a service, and the nearest free times when it is not.
pub(crate) fn time_check(
    local: &Local,
    service: &Service,
    start: Timestamp,
    verdict: Result<(), Unavailability>,
    alternatives: &[Interval],
    with: &str,
) -> String {
    let spoken = local.spoken(start);
    match verdict {
        Ok(()) => format!(
            "{spoken} is free for {}{with}.",
            service.settings.name.as_ref()
        ),
        Err(reason) => format!(
            "{spoken} is not available{with}: {}.{}",
            reason_words(reason, service),
            alternatives_sentence(local, alternatives, with)
        ),
    }
}

pub(crate) fn held(
    local: &Local,
    service: &Service,
    time: &Interval,
    expires_at: Timestamp,
    with: &str,
) -> String {
    let minutes = expires_at.duration_since(local.now).as_mins().max(1);
    let until = spoken::time_of_day(local.locale, local.wall_time_of(expires_at));
    format!(
        "{} is held for {}{with} for {minutes} minutes, until {until}, while the caller decides; book it with the \
         hold_id.",
        local.spoken(time.start()),
        service.settings.name.as_ref()
    )
}

/// What the caller asked to do with a time that turned out not to be free.
#[derive(Clone, Copy)]
pub(crate) enum Attempt<'a> {
    Hold(&'a Service),
    /// The service is known when the model named it; a booking from a hold may not have.
    Book(Option<&'a Service>),
}

/// A time that could not be held or booked, then the nearest free times: one sentence for both tools, since a
/// caller hears the same refusal whichever the agent used.
pub(crate) fn not_free(
    local: &Local,
    attempt: Attempt,
    requested: Timestamp,
    reason: Unavailability,
    alternatives: &[Interval],
    with: &str,
) -> String {
    let when = local.spoken(requested);
    let opening = match (attempt, reason) {
        (Attempt::Hold(_), Unavailability::Taken) => format!("{when}{with} was just taken."),
        (Attempt::Book(_), Unavailability::Taken) => "That time was just taken.".to_owned(),
        (Attempt::Book(_), Unavailability::CalendarBusy) => format!(
            "{when} cannot be booked: the business has just put something else in its calendar then."
        ),
        (Attempt::Hold(service), other) => {
            format!("{when} cannot be held: {}.", reason_words(other, service))
        }
        (Attempt::Book(Some(service)), other) => {
            format!("{when} cannot be booked: {}.", reason_words(other, service))
        }
        (Attempt::Book(None), _) => format!("{when} cannot be booked."),
    };
    format!(
        "{opening}{}",
        alternatives_sentence(local, alternatives, with)
    )
}

/// Whether [`not_free`] names the reason for a booking, which needs the service.
pub(crate) fn booking_refusal_names_service(reason: Unavailability) -> bool {
    !matches!(reason, Unavailability::Taken | Unavailability::CalendarBusy)
}

pub(crate) fn booked(
    local: &Local,
    service: &Service,
    appointment: &Appointment,
    whom: &Whom,
    callback: Option<Callback>,
) -> String {
    let (service, customer, with, when) = named(local, service, appointment, whom);
    let mut summary = format!("{service} is booked for {customer}{with} on {when}.");
    if let Some(callback) = callback {
        summary.push(' ');
        summary.push_str(callback.after_booking());
    }
    summary
}

/// The caller's upcoming appointments, `more` when there are more than listed.
pub(crate) fn caller_appointments(
    local: &Local,
    listed: &[(&Appointment, &Service)],
    whom: &Whom,
    more: bool,
) -> String {
    let said: Vec<String> = listed
        .iter()
        .map(|(appointment, service)| appointment_words(local, service, appointment, whom))
        .collect();
    match said.as_slice() {
        [] => "There are no upcoming appointments for this phone number.".to_owned(),
        [only] => format!("There is one upcoming appointment for this number: {only}."),
        items => format!(
            "There are {} upcoming appointments for this number: {}{}.",
            items.len(),
            items.join("; "),
            if more { "; and more after those" } else { "" }
        ),
    }
}

pub(crate) fn rescheduled(
    local: &Local,
    service: &Service,
    appointment: &Appointment,
    whom: &Whom,
) -> String {
    let (service, customer, with, when) = named(local, service, appointment, whom);
    format!("{service} for {customer} is now{with} on {when}.")
}

/// A new time that is not free: the appointment stays where it was.
pub(crate) fn not_moved(
    local: &Local,
    service: &Service,
    appointment: &Appointment,
    requested: Timestamp,
    reason: Unavailability,
    alternatives: &[Interval],
    whom: &Whom,
) -> String {
    let with = whom.with(&[appointment.staff_id]);
    format!(
        "{} is not available{with}: {}. The appointment stays{with} on {}.{}",
        local.spoken(requested),
        reason_words(reason, service),
        local.spoken(appointment.time.start()),
        alternatives_sentence(local, alternatives, &with)
    )
}

pub(crate) fn cancelled(
    local: &Local,
    service: &Service,
    appointment: &Appointment,
    whom: &Whom,
    newly_cancelled: bool,
) -> String {
    let what = appointment_words(local, service, appointment, whom);
    if newly_cancelled {
        format!("{what} is cancelled.")
    } else {
        format!("{what} was already cancelled.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BusinessId, BusinessName, BusinessTimeZone, ServiceId};

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    fn business() -> Business {
        Business {
            id: BusinessId::generate(),
            name: BusinessName::try_from("Clinic".to_owned()).unwrap_or_else(|e| panic!("{e}")),
            time_zone: BusinessTimeZone::try_from("America/New_York".to_owned())
                .unwrap_or_else(|e| panic!("{e}")),
            created_at: Timestamp::UNIX_EPOCH,
            disabled_at: None,
        }
    }

    /// A service as stored: only its name and horizon are said.
    fn service(business: &Business) -> Service {
        serde_json::from_value(serde_json::json!({
            "id": ServiceId::generate(), "business_id": business.id, "active": true, "version": 1,
            "created_at": Timestamp::UNIX_EPOCH, "updated_at": Timestamp::UNIX_EPOCH,
            "name": "Checkup", "duration": 30, "slot_interval": 15, "weekly_hours": {}, "date_overrides": [],
            "buffer_before": 0, "buffer_after": 0, "max_per_day": null, "minimum_notice": 0,
            "booking_horizon_days": 60,
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The hold and book refusals are one function now; each keeps the words it had when the two tools wrote them
    /// apart (a hold names the time it lost, a booking from a hold without a service names no reason).
    #[test]
    fn a_time_that_is_not_free_is_refused_in_each_tool_s_own_words() {
        let business = business();
        let service = service(&business);
        let local = Local::new(&business, at("2026-12-01T14:00:00Z"));
        let requested = at("2026-12-08T15:30:00Z");
        let refused = |attempt, reason| not_free(&local, attempt, requested, reason, &[], "");
        let when = "Tuesday, December 8 at 10:30 AM";
        let nothing_near = " No other time is free nearby.";
        let cases = [
            (
                refused(Attempt::Hold(&service), Unavailability::Taken),
                format!("{when} was just taken."),
            ),
            (
                refused(Attempt::Hold(&service), Unavailability::DailyLimitReached),
                format!("{when} cannot be held: Checkup is fully booked that day."),
            ),
            (
                refused(Attempt::Hold(&service), Unavailability::CalendarBusy),
                format!("{when} cannot be held: the business is busy then."),
            ),
            (
                refused(Attempt::Book(Some(&service)), Unavailability::Taken),
                "That time was just taken.".to_owned(),
            ),
            (
                refused(Attempt::Book(None), Unavailability::CalendarBusy),
                format!(
                    "{when} cannot be booked: the business has just put something else in its calendar then."
                ),
            ),
            (
                refused(Attempt::Book(Some(&service)), Unavailability::OutsideHours),
                format!("{when} cannot be booked: Checkup is not offered at that time."),
            ),
            (
                refused(Attempt::Book(None), Unavailability::TooSoon),
                format!("{when} cannot be booked."),
            ),
        ];
        for (said, opening) in cases {
            assert_eq!(said, format!("{opening}{nothing_near}"));
        }
        assert!(!booking_refusal_names_service(Unavailability::Taken));
        assert!(!booking_refusal_names_service(Unavailability::CalendarBusy));
        assert!(booking_refusal_names_service(Unavailability::TooFar));
    }
}
