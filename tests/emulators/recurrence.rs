//! Recurrence expansion both providers share: Google's `RRULE`s and Graph's patterned recurrences that the emulators
//! expand are the same two patterns, daily and weekly.

use jiff::ToSpan;
use jiff::civil::{Date, Weekday};

/// The dates a daily or weekly series falls on, from `first`, at most `limit` of them. Weekly series fall on
/// `weekdays` (the first date's weekday when empty) of every `interval`-th week, weeks starting on `week_start`.
pub fn recurring_dates(
    first: Date,
    weekly: bool,
    interval: i64,
    weekdays: &[Weekday],
    week_start: Weekday,
    limit: usize,
) -> Vec<Date> {
    let mut dates = Vec::new();
    let interval = interval.max(1);
    if !weekly {
        let mut date = first;
        while dates.len() < limit {
            dates.push(date);
            match date.checked_add((interval).days()) {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        return dates;
    }
    let weekdays = if weekdays.is_empty() {
        vec![first.weekday()]
    } else {
        weekdays.to_vec()
    };
    let back = i64::from(
        (first.weekday().to_monday_zero_offset() - week_start.to_monday_zero_offset())
            .rem_euclid(7),
    );
    let Ok(mut week) = first.checked_sub(back.days()) else {
        return dates;
    };
    while dates.len() < limit {
        for offset in 0..7_i64 {
            let Ok(date) = week.checked_add(offset.days()) else {
                return dates;
            };
            if date >= first && weekdays.contains(&date.weekday()) && dates.len() < limit {
                dates.push(date);
            }
        }
        match week.checked_add((interval * 7).days()) {
            Ok(next) => week = next,
            Err(_) => break,
        }
    }
    dates
}
