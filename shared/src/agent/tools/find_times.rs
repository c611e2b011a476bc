//! `find_available_times`: a service's free times in a day or a range of days, narrowed to a part of the day or
//! to hours, a handful spread over the window; when nothing matches, the next free times after it.

use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp};

use crate::agent::answers::{AvailableTimes, DayTimes, TimeView};
use crate::agent::arguments::{self, PartOfDay};
use crate::agent::call::ToolFailure;
use crate::agent::health::warning_for_offers;
use crate::agent::spoken::SpokenLocale;
use crate::app::{self, FindTimes};
use crate::availability::{self, OfferedSlot};
use crate::domain::{Interval, ServiceId, StaffId};

use super::input::{invalid, optional, parse_date, parse_service_id, parse_time_of_day};
use super::local::Local;
use super::wording::{self, FreeTimes, Whom, failure};
use super::{Call, ToolResult, service_view, structured};

/// Times returned when the model does not say how many: a handful, as a receptionist would offer.
const DEFAULT_LIMIT: u32 = 5;
const MAX_LIMIT: u32 = 20;
/// Days searched when the model gives no date.
const DEFAULT_DAYS: i64 = 7;
/// How far past an empty window the next free times are looked for.
const NEXT_AVAILABLE_DAYS: i64 = 14;
const AFTERNOON_STARTS: Time = Time::constant(12, 0, 0, 0);
const EVENING_STARTS: Time = Time::constant(17, 0, 0, 0);

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

    fn words(&self, locale: SpokenLocale) -> String {
        wording::part_of_day(locale, self.part, self.earliest, self.latest)
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

/// The first and last local dates to search: one date, a range (a week when its end is left out), or the week
/// from today.
fn dates(local: &Local, args: &arguments::FindAvailableTimes) -> Result<(Date, Date), ToolFailure> {
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
    Ok((first, last))
}

fn day_filter(args: &arguments::FindAvailableTimes) -> Result<DayFilter, ToolFailure> {
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
    Ok(filter)
}

pub(crate) async fn run(call: &Call<'_>, args: arguments::FindAvailableTimes) -> ToolResult {
    let local = &call.local;
    let service_id = parse_service_id(&args.service_id)?;
    let (first, last) = dates(local, &args)?;
    let filter = day_filter(&args)?;
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
    let staff_id = call
        .staff_asked_for(args.staff.as_deref())
        .await?
        .map(|(id, _)| id);
    let use_case = app::find_times(
        call.app,
        call.business,
        FindTimes::in_window(service_id, window).with_staff(staff_id),
    );
    let (found, _, members) = call.with_calendar_health(use_case).await?;
    let service = &found.service;
    let whom = Whom::new(&found.staff);
    let matching: Vec<&OfferedSlot> = found
        .slots
        .iter()
        .filter(|offered| filter.keeps(local.wall_time_of(offered.slot.start())))
        .collect();
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let picked: Vec<&OfferedSlot> = spread(matching.len(), limit)
        .into_iter()
        .filter_map(|index| matching.get(index).copied())
        .collect();

    let bookable = availability::booking_window(service, local.now);
    let searched_after_days = (window.end() < bookable.latest).then_some(NEXT_AVAILABLE_DAYS);
    let next_available = if matching.is_empty() && searched_after_days.is_some() {
        next_free_after(call, service_id, staff_id, window.end(), &filter, limit).await?
    } else {
        Vec::new()
    };

    let mut days: Vec<DayTimes> = Vec::new();
    for offered in &picked {
        let day = local.date_of(offered.slot.start());
        let time = offered_time(local, &whom, offered);
        match days.last_mut() {
            Some(last) if last.date == day.to_string() => last.times.push(time),
            _ => days.push(DayTimes {
                date: day.to_string(),
                spoken_date: local.spoken_date(day),
                times: vec![time],
            }),
        }
    }
    let said = |slots: &[&OfferedSlot]| -> Vec<(Interval, String)> {
        slots
            .iter()
            .map(|offered| (offered.slot, whom.with(&offered.staff)))
            .collect()
    };
    let next_available: Vec<&OfferedSlot> = next_available.iter().collect();
    let warning = warning_for_offers(
        &members,
        staff_id,
        picked
            .iter()
            .chain(&next_available)
            .flat_map(|offered| offered.staff.iter()),
    );
    let window_note = found
        .clipped()
        .then(|| wording::window_note(local, service, window, found.searched, &bookable));
    let mut summary = wording::free_times(
        local,
        &FreeTimes {
            service,
            first,
            last,
            part_of_day: &filter.words(local.locale),
            picked: &said(&picked),
            matching: matching.len(),
            next_available: &said(&next_available),
            searched_after_days,
        },
    );
    if let Some(note) = &window_note {
        summary.push(' ');
        summary.push_str(note);
    }
    let summary = wording::with_warning(summary, warning.as_ref());
    let answer = AvailableTimes {
        summary: summary.clone(),
        service: service_view(service),
        from_date: first.to_string(),
        to_date: last.to_string(),
        days,
        matching: matching.len(),
        next_available: next_available
            .iter()
            .map(|offered| offered_time(local, &whom, offered))
            .collect(),
        window_note,
        warning,
    };
    structured(&summary, &answer)
}

/// A free time with who is free then (named only when the business has several members).
fn offered_time(local: &Local, whom: &Whom, offered: &OfferedSlot) -> TimeView {
    TimeView {
        staff: whom.views(&offered.staff),
        ..local.time(&offered.slot)
    }
}

/// The first free times after `after` that pass `filter`, within [`NEXT_AVAILABLE_DAYS`].
async fn next_free_after(
    call: &Call<'_>,
    service_id: ServiceId,
    staff_id: Option<StaffId>,
    after: Timestamp,
    filter: &DayFilter,
    limit: usize,
) -> Result<Vec<OfferedSlot>, ToolFailure> {
    let until = after
        .checked_add(SignedDuration::from_hours(NEXT_AVAILABLE_DAYS * 24))
        .unwrap_or(after);
    let Ok(window) = Interval::new(after, until) else {
        return Ok(Vec::new());
    };
    let found = app::find_times(
        call.app,
        call.business,
        FindTimes::in_window(service_id, window).with_staff(staff_id),
    )
    .await
    .map_err(failure)?;
    Ok(found
        .slots
        .into_iter()
        .filter(|offered| filter.keeps(call.local.wall_time_of(offered.slot.start())))
        .take(limit.min(3))
        .collect())
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
}
