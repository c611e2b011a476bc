//! The calendar: a day or a week of the business's schedule as a grid, one column (or, for a week, one row) per staff
//! member, showing appointments (each linking to its page), holds alive now, and the busy time of the calendar.
//!
//! Everything is in the business's zone, and a day is measured in elapsed time from its first shown hour, so a
//! 23-hour or 25-hour day has 23 or 25 hour rows and each block sits at its real instant (the repeated hour of a
//! fall-back day is labelled with its zone abbreviation). The grid's rows are [`SLOT_MINUTES`] long; the page's
//! Content-Security-Policy forbids inline styles, so a block is placed by classes naming its first row and its
//! length in rows, whose rules [`grid_rules`] writes into the stylesheet.

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::Signed;
use super::format::{self, clock_time};
use super::layout::Nav;
use super::{Dashboard, PageResult};
use crate::app::{self, AppError, Schedule};
use crate::domain::{
    Appointment, Hold, Interval, ServiceId, StaffId, StaffMember, ValidationError,
};

/// The length of a row of the day grid: times on the five minutes are drawn exactly.
const SLOT_MINUTES: i64 = 5;
const SLOTS_PER_HOUR: i64 = 60 / SLOT_MINUTES;
/// The most rows a day can have: a 25-hour day shown whole.
const MAX_SLOTS: i64 = 25 * SLOTS_PER_HOUR;
/// The hours a day shows when neither a service nor a member has hours that day.
const FALLBACK_OPENING: (Time, Time) = (Time::constant(8, 0, 0, 0), Time::constant(18, 0, 0, 0));
/// Dates outside these years are refused: nobody schedules there, and a week beyond them cannot be computed.
const YEARS: std::ops::RangeInclusive<i16> = 2000..=2100;

pub fn routes() -> Router<Dashboard> {
    Router::new().route("/calendar", get(calendar))
}

#[derive(Deserialize, Default)]
struct CalendarQuery {
    #[serde(default)]
    date: String,
    #[serde(default)]
    view: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum View {
    Day,
    Week,
}

impl View {
    fn parse(text: &str) -> Result<Self, ValidationError> {
        match text {
            "" | "day" => Ok(Self::Day),
            "week" => Ok(Self::Week),
            _ => Err(ValidationError::new("view", "must be day or week")),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
        }
    }
}

/// A date written exactly as `YYYY-MM-DD` (what a date input sends), in [`YEARS`]; empty is `today`.
fn parse_date(text: &str, today: Date) -> Result<Date, ValidationError> {
    if text.is_empty() {
        return Ok(today);
    }
    let refused = || {
        ValidationError::new(
            "date",
            format!(
                "must be a date written as YYYY-MM-DD between {} and {}",
                YEARS.start(),
                YEARS.end()
            ),
        )
    };
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(index, byte)| {
            matches!(
                (index, byte),
                (4 | 7, b'-') | (0..=3 | 5 | 6 | 8 | 9, b'0'..=b'9')
            )
        });
    let date = shaped
        .then(|| text.parse::<Date>().ok())
        .flatten()
        .ok_or_else(refused)?;
    if YEARS.contains(&date.year()) {
        Ok(date)
    } else {
        Err(refused())
    }
}

/// The Monday of the week `date` lies in.
fn monday_of(date: Date) -> Result<Date, jiff::Error> {
    date.checked_sub(jiff::Span::new().days(i64::from(date.weekday().to_monday_zero_offset())))
}

fn days_after(date: Date, days: i64) -> Result<Date, jiff::Error> {
    date.checked_add(jiff::Span::new().days(days))
}

/// The instant a local date begins.
fn start_of(date: Date, zone: &TimeZone) -> Result<Timestamp, jiff::Error> {
    Ok(date.to_zoned_datetime(zone.clone())?.timestamp())
}

/// The instants a local date covers (23, 24 or 25 hours).
fn day_span(date: Date, zone: &TimeZone) -> Result<Interval, AppError> {
    let start = start_of(date, zone).map_err(internal)?;
    let end = start_of(date.tomorrow().map_err(internal)?, zone).map_err(internal)?;
    Ok(Interval::new(start, end)?)
}

fn internal(error: jiff::Error) -> AppError {
    AppError::Internal(format!("calendar date arithmetic: {error}").into())
}

fn calendar_link(date: Date, view: View) -> String {
    format!("/dashboard/calendar?date={date}&view={}", view.as_str())
}

async fn calendar(
    State(dashboard): State<Dashboard>,
    signed: Signed,
    Query(query): Query<CalendarQuery>,
) -> PageResult {
    let business = &signed.business;
    let zone = business.time_zone.zone();
    let today = format::today(dashboard.app.clock.now(), zone);
    let view = View::parse(&query.view).map_err(AppError::from)?;
    let date = parse_date(&query.date, today).map_err(AppError::from)?;
    let (first, days) = match view {
        View::Day => (date, 1),
        View::Week => (monday_of(date).map_err(internal)?, 7),
    };
    let after = days_after(first, days).map_err(internal)?;
    let window = Interval::new(
        start_of(first, zone).map_err(internal)?,
        start_of(after, zone).map_err(internal)?,
    )
    .map_err(AppError::from)?;
    let schedule = app::read_schedule(&dashboard.app, business, window).await?;
    let step = match view {
        View::Day => 1,
        View::Week => 7,
    };
    let earlier = days_after(date, -step).map_err(internal)?;
    let later = days_after(date, step).map_err(internal)?;
    let columns = shown_members(&schedule);
    let grid = match view {
        View::Day => day_grid(&schedule, &columns, date, zone)?,
        View::Week => week_table(&schedule, &columns, first, zone)?,
    };
    let (unit, heading) = match view {
        View::Day => ("day", format::day(date)),
        View::Week => (
            "week",
            format!(
                "{} – {}",
                format::day(first),
                format::day(days_after(first, 6).map_err(internal)?)
            ),
        ),
    };
    let body = html! {
        div class="cal-controls" {
            nav class="cal-steps" aria-label="Dates" {
                a class="button" href=(calendar_link(earlier, view)) rel="prev" { "Previous " (unit) }
                a class="button" href=(calendar_link(today, view)) { "Today" }
                a class="button" href=(calendar_link(later, view)) rel="next" { "Next " (unit) }
            }
            form method="get" action="/dashboard/calendar" class="cal-pick" {
                div class="field" {
                    label for="date" { "Date" }
                    input type="date" id="date" name="date" value=(date.to_string());
                }
                input type="hidden" name="view" value=(view.as_str());
                button type="submit" { "Show" }
            }
            nav class="cal-views" aria-label="View" {
                @for each in [View::Day, View::Week] {
                    @let label = if each == View::Day { "Day" } else { "Week" };
                    @if each == view {
                        a class="button" href=(calendar_link(date, each)) aria-current="page" { (label) }
                    } @else {
                        a class="button" href=(calendar_link(date, each)) { (label) }
                    }
                }
            }
        }
        h2 id="cal-title" { (heading) }
        (grid)
        p class="cal-key" {
            span class="cal-swatch cal-appointment" {} " Appointment "
            span class="cal-swatch cal-hold" {} " Held for a caller "
            span class="cal-swatch cal-busy" {} " Busy in your calendar"
        }
    };
    signed.page(Nav::Calendar, "Calendar", None, body)
}

/// The members with a column: every active one, and an inactive one only while something of theirs is shown.
fn shown_members(schedule: &Schedule) -> Vec<&StaffMember> {
    schedule
        .staff
        .iter()
        .filter(|member| {
            member.active
                || schedule
                    .appointments
                    .iter()
                    .any(|a| a.staff_id == member.id)
                || schedule.holds.iter().any(|hold| hold.staff_id == member.id)
        })
        .collect()
}

/// Something a member's column shows.
enum Block<'a> {
    Appointment(&'a Appointment),
    Hold(&'a Hold),
    Busy(Interval),
}

impl Block<'_> {
    fn time(&self) -> Interval {
        match self {
            Self::Appointment(appointment) => appointment.time,
            Self::Hold(hold) => hold.time,
            Self::Busy(time) => *time,
        }
    }
}

/// What `member`'s column shows: their busy time first (drawn beneath), then their appointments and holds by start.
fn blocks_of(schedule: &Schedule, member: StaffId) -> Vec<Block<'_>> {
    let mut taken: Vec<Block<'_>> = schedule
        .appointments
        .iter()
        .filter(|appointment| appointment.staff_id == member)
        .map(Block::Appointment)
        .chain(
            schedule
                .holds
                .iter()
                .filter(|hold| hold.staff_id == member)
                .map(Block::Hold),
        )
        .collect();
    taken.sort_by_key(|block| block.time().start());
    // The member's own busy time: the schedule decides whose calendar keeps them busy.
    schedule
        .busy_of(member)
        .map(Block::Busy)
        .chain(taken)
        .collect()
}

fn service_name(schedule: &Schedule, id: ServiceId) -> &str {
    schedule
        .services
        .iter()
        .find(|service| service.id == id)
        .map_or("—", |service| service.settings.name.as_ref())
}

/// The time one day's grid covers: from a whole local hour to a whole local hour, measured in elapsed time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Axis {
    start: Timestamp,
    end: Timestamp,
}

impl Axis {
    /// The day's opening hours (the union of its services' and members' hours that day, else [`FALLBACK_OPENING`]),
    /// widened to every block shown that day, rounded out to whole local hours and kept within the day.
    fn of_day(
        date: Date,
        zone: &TimeZone,
        opening: Option<(Time, Option<Time>)>,
        shown: impl Iterator<Item = Interval>,
    ) -> Result<Self, jiff::Error> {
        let day_start = start_of(date, zone)?;
        let day_end = start_of(date.tomorrow()?, zone)?;
        let (opens, closes) = opening.unwrap_or((FALLBACK_OPENING.0, Some(FALLBACK_OPENING.1)));
        let mut start = date
            .to_datetime(opens)
            .to_zoned_datetime(zone.clone())?
            .timestamp();
        let mut end = match closes {
            Some(closes) => date
                .to_datetime(closes)
                .to_zoned_datetime(zone.clone())?
                .timestamp(),
            None => day_end,
        };
        for interval in shown {
            start = start.min(interval.start());
            end = end.max(interval.end());
        }
        let start = whole_hour_at_or_before(start.max(day_start), zone)?.max(day_start);
        let end_floor = whole_hour_at_or_before(end.min(day_end), zone)?;
        let end = if end_floor < end.min(day_end) {
            (end_floor + SignedDuration::from_hours(1)).min(day_end)
        } else {
            end_floor
        };
        Ok(Self { start, end })
    }

    fn slots(&self) -> i64 {
        ((self.end - self.start).as_mins() / SLOT_MINUTES).clamp(1, MAX_SLOTS)
    }

    /// The rows `interval` covers: its first row and how many, clipped to the axis; `None` outside it.
    fn rows(&self, interval: Interval) -> Option<(i64, i64)> {
        if interval.end() <= self.start || self.end <= interval.start() {
            return None;
        }
        let from = (interval.start().max(self.start) - self.start).as_mins() / SLOT_MINUTES;
        let to_minutes = (interval.end().min(self.end) - self.start).as_mins();
        let to = (to_minutes + SLOT_MINUTES - 1) / SLOT_MINUTES;
        let from = from.clamp(0, self.slots() - 1);
        Some((from, (to - from).clamp(1, self.slots() - from)))
    }

    /// Each hour row's first row and label: its local clock time, with the zone's abbreviation where the offset
    /// changed since the hour before (the repeated hour of a fall-back day reads "01:00 EST").
    fn hours(&self, zone: &TimeZone) -> Vec<(i64, String)> {
        let mut hours = Vec::new();
        let mut at = self.start;
        let mut offset = at.to_zoned_datetime(zone.clone()).offset();
        let mut row = 0;
        while at < self.end && row < MAX_SLOTS {
            let local = at.to_zoned_datetime(zone.clone());
            let label = if local.offset() == offset {
                clock_time(at, zone)
            } else {
                local.strftime("%H:%M %Z").to_string()
            };
            offset = local.offset();
            hours.push((row, label));
            at += SignedDuration::from_hours(1);
            row += SLOTS_PER_HOUR;
        }
        hours
    }
}

/// The local whole hour at or before `instant` (in a repeated hour, the one with `instant`'s offset).
fn whole_hour_at_or_before(instant: Timestamp, zone: &TimeZone) -> Result<Timestamp, jiff::Error> {
    let local = instant.to_zoned_datetime(zone.clone());
    Ok(local
        .with()
        .minute(0)
        .second(0)
        .subsec_nanosecond(0)
        .build()?
        .timestamp()
        .min(instant))
}

/// The earliest opening and latest closing of the business's active services and members on `date`; `None` when
/// nobody opens that day. A closing of `None` is midnight at the day's end.
fn opening_on(schedule: &Schedule, date: Date) -> Option<(Time, Option<Time>)> {
    let services = schedule
        .services
        .iter()
        .filter(|service| service.active)
        .flat_map(|service| service.hours_on(date).iter());
    let members = schedule
        .staff
        .iter()
        .filter(|member| member.active)
        .filter_map(|member| member.hours_on(date))
        .flatten();
    services.chain(members).fold(None, |union, range| {
        let later = |a: Option<Time>, b: Option<Time>| match (a, b) {
            (None, _) | (_, None) => None,
            (Some(a), Some(b)) => Some(a.max(b)),
        };
        Some(match union {
            None => (range.start(), range.end()),
            Some((opens, closes)) => (opens.min(range.start()), later(closes, range.end())),
        })
    })
}

/// The row classes of a block: `at-N` its first row, `span-N` its length.
fn placement(rows: (i64, i64)) -> String {
    format!("at-{} span-{}", rows.0, rows.1)
}

/// "10:00–10:30"; across a change of offset each end names its zone ("01:30 EDT–01:00 EST"), or it would read
/// backwards.
fn time_range(time: Interval, zone: &TimeZone) -> String {
    let (start, end) = (
        time.start().to_zoned_datetime(zone.clone()),
        time.end().to_zoned_datetime(zone.clone()),
    );
    if start.offset() == end.offset() {
        format!("{}–{}", start.strftime("%H:%M"), end.strftime("%H:%M"))
    } else {
        format!(
            "{}–{}",
            start.strftime("%H:%M %Z"),
            end.strftime("%H:%M %Z")
        )
    }
}

fn day_grid(
    schedule: &Schedule,
    columns: &[&StaffMember],
    date: Date,
    zone: &TimeZone,
) -> Result<Markup, AppError> {
    let day = day_span(date, zone)?;
    let shown = columns.iter().flat_map(|member| {
        blocks_of(schedule, member.id)
            .into_iter()
            .map(|block| block.time())
            .filter(|time| time.overlaps(&day))
            .collect::<Vec<_>>()
    });
    let axis = Axis::of_day(date, zone, opening_on(schedule, date), shown).map_err(internal)?;
    let all_rows = placement((0, axis.slots()));
    Ok(html! {
        div class="cal-scroll" role="region" aria-labelledby="cal-title" tabindex="0" {
            div class="cal-day" {
                div class="cal-col cal-axis" aria-hidden="true" {
                    div class="cal-head" {}
                    div class="cal-body" {
                        div class={ "cal-fill " (all_rows) } {}
                        @for (row, label) in axis.hours(zone) {
                            span class={ "cal-hour " (placement((row, SLOTS_PER_HOUR.min(axis.slots() - row)))) } { (label) }
                        }
                    }
                }
                @for member in columns {
                    section class="cal-col" aria-label=(member.settings.name.as_ref()) {
                        h3 class="cal-head" {
                            (member.settings.name.as_ref())
                            @if !member.active { span class="muted" { " (inactive)" } }
                        }
                        div class="cal-body" {
                            div class={ "cal-fill " (all_rows) } {}
                            @for block in blocks_of(schedule, member.id) {
                                @if let Some(rows) = axis.rows(block.time()) {
                                    (day_block(schedule, &block, &placement(rows), zone))
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

fn day_block(schedule: &Schedule, block: &Block<'_>, rows: &str, zone: &TimeZone) -> Markup {
    let time = time_range(block.time(), zone);
    match block {
        Block::Appointment(appointment) => html! {
            a class={ "cal-block cal-appointment " (rows) } href={ "/dashboard/appointments/" (appointment.id) } {
                span class="cal-line" { strong { (time) } " " (appointment.customer.name.as_ref()) }
                span class="cal-line" { (service_name(schedule, appointment.service_id)) }
            }
        },
        Block::Hold(hold) => html! {
            div class={ "cal-block cal-hold " (rows) } {
                span class="cal-line" { strong { (time) } " Held until " (clock_time(hold.expires_at, zone)) }
                span class="cal-line" { (service_name(schedule, hold.service_id)) }
            }
        },
        Block::Busy(_) => html! {
            div class={ "cal-block cal-busy " (rows) } {
                span class="cal-line" { "Busy " (time) }
            }
        },
    }
}

/// A week as a table: a row per member, a cell per day listing that day's blocks compactly.
fn week_table(
    schedule: &Schedule,
    columns: &[&StaffMember],
    monday: Date,
    zone: &TimeZone,
) -> Result<Markup, AppError> {
    let mut days = Vec::with_capacity(7);
    for offset in 0..7 {
        let date = days_after(monday, offset).map_err(internal)?;
        days.push((date, day_span(date, zone)?));
    }
    Ok(html! {
        div class="cal-scroll" role="region" aria-labelledby="cal-title" tabindex="0" {
            table class="cal-week" {
                caption class="visually-hidden" { "The week by staff member and day" }
                thead { tr {
                    th scope="col" { "With" }
                    @for (date, _) in &days {
                        th scope="col" { a href=(calendar_link(*date, View::Day)) { (format::day(*date)) } }
                    }
                } }
                tbody {
                    @for member in columns {
                        @let blocks = by_start(blocks_of(schedule, member.id));
                        tr {
                            th scope="row" {
                                (member.settings.name.as_ref())
                                @if !member.active { span class="muted" { " (inactive)" } }
                            }
                            @for (_, span) in &days {
                                td {
                                    @let today: Vec<&Block<'_>> = blocks.iter().filter(|block| block.time().overlaps(span)).collect();
                                    @if !today.is_empty() {
                                        ul class="cal-list" {
                                            @for block in today { li { (week_item(schedule, block, zone)) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// A list reads in time order, busy time among the rest (the grid draws it first, beneath).
fn by_start(mut blocks: Vec<Block<'_>>) -> Vec<Block<'_>> {
    blocks.sort_by_key(|block| block.time().start());
    blocks
}

fn week_item(schedule: &Schedule, block: &Block<'_>, zone: &TimeZone) -> Markup {
    let time = time_range(block.time(), zone);
    match block {
        Block::Appointment(appointment) => html! {
            a class="cal-block cal-appointment" href={ "/dashboard/appointments/" (appointment.id) } {
                strong { (time) } " " (appointment.customer.name.as_ref())
                span class="cal-line" { (service_name(schedule, appointment.service_id)) }
            }
        },
        Block::Hold(hold) => html! {
            div class="cal-block cal-hold" {
                strong { (time) } " Held until " (clock_time(hold.expires_at, zone))
            }
        },
        Block::Busy(_) => html! { div class="cal-block cal-busy" { "Busy " (time) } },
    }
}

/// The stylesheet's rules placing day-grid blocks: `at-N` starts at row N (from 0), `span-N` covers N rows.
pub fn grid_rules() -> String {
    let mut rules = String::from("/* Calendar rows, written by the calendar page's code. */\n");
    for row in 0..MAX_SLOTS {
        rules.push_str(&format!(".at-{row}{{grid-row-start:{}}}\n", row + 1));
    }
    for rows in 1..=MAX_SLOTS {
        rules.push_str(&format!(".span-{rows}{{grid-row-end:span {rows}}}\n"));
    }
    rules
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn new_york() -> TimeZone {
        TimeZone::get("America/New_York").unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn a_date_is_read_only_as_yyyy_mm_dd_within_the_years_and_empty_is_today() {
        let today = jiff::civil::date(2026, 12, 8);
        assert_eq!(parse_date("", today), Ok(today));
        assert_eq!(
            parse_date("2027-03-14", today),
            Ok(jiff::civil::date(2027, 3, 14))
        );
        for refused in [
            "2026-13-01",
            "20261208",
            "2026-12-8",
            "tomorrow",
            "1999-12-31",
            "9999-12-31",
            "2026-12-08T10:00",
        ] {
            assert!(parse_date(refused, today).is_err(), "{refused}");
        }
        assert_eq!(View::parse(""), Ok(View::Day));
        assert_eq!(View::parse("week"), Ok(View::Week));
        assert!(View::parse("month").is_err());
    }

    #[test]
    fn the_week_starts_on_monday() {
        assert_eq!(
            monday_of(jiff::civil::date(2026, 12, 13)).unwrap(),
            jiff::civil::date(2026, 12, 7)
        );
        assert_eq!(
            monday_of(jiff::civil::date(2026, 12, 7)).unwrap(),
            jiff::civil::date(2026, 12, 7)
        );
    }

    /// `date` in New York shown whole (open 00:00 to 24:00), and its hour rows.
    fn whole_day(date: Date) -> (Axis, Vec<(i64, String)>) {
        let zone = new_york();
        let axis = Axis::of_day(
            date,
            &zone,
            Some((Time::midnight(), None)),
            std::iter::empty(),
        )
        .unwrap();
        let hours = axis.hours(&zone);
        (axis, hours)
    }

    fn half_hour_from(start: &str) -> Interval {
        let start = at(start);
        Interval::new(start, start + SignedDuration::from_mins(30)).unwrap()
    }

    #[test]
    fn a_fall_back_day_shown_whole_has_25_hour_rows_and_repeats_one_oclock_in_the_other_offset() {
        let (axis, hours) = whole_day(jiff::civil::date(2027, 11, 7));
        assert_eq!(hours.len(), 25);
        let labels: Vec<&str> = hours
            .iter()
            .take(3)
            .map(|(_, label)| label.as_str())
            .collect();
        assert_eq!(labels, ["00:00", "01:00", "01:00 EST"]);
        // 01:30 EST is the second 01:30: two and a half elapsed hours after midnight.
        assert_eq!(
            axis.rows(half_hour_from("2027-11-07T06:30:00Z")),
            Some((30, 6))
        );
    }

    #[test]
    fn a_spring_forward_day_shown_whole_has_23_hour_rows_and_skips_two_oclock() {
        let (axis, hours) = whole_day(jiff::civil::date(2027, 3, 14));
        assert_eq!(hours.len(), 23);
        assert_eq!(hours[2].1, "03:00 EDT");
        // 03:30 EDT is two and a half elapsed hours after midnight.
        assert_eq!(
            axis.rows(half_hour_from("2027-03-14T07:30:00Z")),
            Some((30, 6))
        );
    }

    #[test]
    fn the_axis_widens_to_whole_hours_around_a_block_outside_the_opening_hours() {
        let zone = new_york();
        let date = jiff::civil::date(2026, 12, 8);
        let early = Interval::new(at("2026-12-08T12:40:00Z"), at("2026-12-08T13:10:00Z")).unwrap();
        let axis = Axis::of_day(date, &zone, None, [early].into_iter()).unwrap();
        assert_eq!(axis.start, at("2026-12-08T12:00:00Z"), "07:00 local");
        assert_eq!(axis.end, at("2026-12-08T23:00:00Z"), "the fallback 18:00");
        assert_eq!(axis.rows(early), Some((8, 6)));
    }

    #[test]
    fn every_row_and_length_a_day_can_have_has_its_rule() {
        let rules = grid_rules();
        assert!(rules.contains(".at-0{grid-row-start:1}"));
        assert!(rules.contains(&format!(".at-{}{{", MAX_SLOTS - 1)));
        assert!(rules.contains(&format!(
            ".span-{MAX_SLOTS}{{grid-row-end:span {MAX_SLOTS}}}"
        )));
    }
}
