//! Times and dates as a voice says them, in the business's zone and English variant: "Tuesday the 8th of December at
//! 10:30 in the morning" (en-GB) or "Tuesday, December 8 at 10:30 AM" (en-US). Pure: the zone and today's local date
//! are passed in, so every rule (noon and midnight, the repeated hour of a DST change, the year across a year end) is
//! unit-tested here.

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;

/// Which English a business's callers expect to hear.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub enum SpokenLocale {
    #[serde(rename = "en-US")]
    EnUs,
    #[serde(rename = "en-GB")]
    EnGb,
}

impl SpokenLocale {
    /// The Americas (and the US's Pacific zones) say "December 8 at 10:30 AM"; elsewhere English speakers (the UK,
    /// Ireland, Australia, New Zealand, India, South Africa) say "the 8th of December at 10:30 in the morning".
    pub fn for_time_zone(name: &str) -> Self {
        let american = name.starts_with("America/")
            || name.starts_with("US/")
            || matches!(
                name,
                "Pacific/Honolulu" | "Pacific/Guam" | "Pacific/Saipan" | "Pacific/Pago_Pago"
            );
        if american { Self::EnUs } else { Self::EnGb }
    }

    pub fn tag(self) -> &'static str {
        match self {
            Self::EnUs => "en-US",
            Self::EnGb => "en-GB",
        }
    }
}

pub fn weekday_name(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Monday => "Monday",
        Weekday::Tuesday => "Tuesday",
        Weekday::Wednesday => "Wednesday",
        Weekday::Thursday => "Thursday",
        Weekday::Friday => "Friday",
        Weekday::Saturday => "Saturday",
        Weekday::Sunday => "Sunday",
    }
}

fn month_name(month: i8) -> &'static str {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    usize::try_from(month - 1)
        .ok()
        .and_then(|index| MONTHS.get(index))
        .copied()
        .unwrap_or("")
}

fn ordinal(day: i8) -> String {
    let suffix = match (day % 10, day % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{day}{suffix}")
}

/// A local date: "Tuesday the 8th of December" / "Tuesday, December 8", with the year when it is not `today`'s.
pub fn date(locale: SpokenLocale, date: Date, today: Date) -> String {
    let weekday = weekday_name(date.weekday());
    let month = month_name(date.month());
    let other_year = date.year() != today.year();
    match (locale, other_year) {
        (SpokenLocale::EnGb, false) => format!("{weekday} the {} of {month}", ordinal(date.day())),
        (SpokenLocale::EnGb, true) => format!(
            "{weekday} the {} of {month} {}",
            ordinal(date.day()),
            date.year()
        ),
        (SpokenLocale::EnUs, false) => format!("{weekday}, {month} {}", date.day()),
        (SpokenLocale::EnUs, true) => format!("{weekday}, {month} {}, {}", date.day(), date.year()),
    }
}

/// How a clock time ends when spoken: "in the morning", "AM", ...; noon and midnight are words of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Period {
    Midnight,
    Noon,
    Night,
    Morning,
    Afternoon,
    Evening,
    Am,
    Pm,
}

impl Period {
    fn of(locale: SpokenLocale, time: Time) -> Self {
        let (hour, minute) = (time.hour(), time.minute());
        match (locale, hour, minute) {
            (_, 0, 0) => Self::Midnight,
            (_, 12, 0) => Self::Noon,
            (SpokenLocale::EnUs, 0..=11, _) => Self::Am,
            (SpokenLocale::EnUs, _, _) => Self::Pm,
            (SpokenLocale::EnGb, 0, _) => Self::Night,
            (SpokenLocale::EnGb, 1..=11, _) => Self::Morning,
            (SpokenLocale::EnGb, 12..=17, _) => Self::Afternoon,
            (SpokenLocale::EnGb, _, _) => Self::Evening,
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Self::Midnight => "midnight",
            Self::Noon => "noon",
            Self::Night => "at night",
            Self::Morning => "in the morning",
            Self::Afternoon => "in the afternoon",
            Self::Evening => "in the evening",
            Self::Am => "AM",
            Self::Pm => "PM",
        }
    }

    fn is_word(self) -> bool {
        matches!(self, Self::Midnight | Self::Noon)
    }
}

/// The clock digits of a time on a 12-hour clock: "10", "10:30", "12:05".
fn clock(time: Time) -> String {
    let hour = match time.hour() % 12 {
        0 => 12,
        hour => hour,
    };
    match time.minute() {
        0 => hour.to_string(),
        minute => format!("{hour}:{minute:02}"),
    }
}

/// A clock time: "10:30 in the morning", "2 PM", "noon", "midnight".
pub fn time_of_day(locale: SpokenLocale, time: Time) -> String {
    let period = Period::of(locale, time);
    if period.is_word() {
        return period.suffix().to_owned();
    }
    format!("{} {}", clock(time), period.suffix())
}

/// The words that tell apart the two occurrences of a wall time that a DST change repeats, or `None` when the wall
/// time happens once that day.
fn repeated_hour_marker(
    locale: SpokenLocale,
    instant: Timestamp,
    zone: &TimeZone,
) -> Option<&'static str> {
    let wall = instant.to_zoned_datetime(zone.clone()).datetime();
    if !zone.to_ambiguous_timestamp(wall).is_ambiguous() {
        return None;
    }
    let summer = zone.to_offset_info(instant).dst().is_dst();
    Some(match (locale, summer) {
        (SpokenLocale::EnUs, true) => "daylight time",
        (SpokenLocale::EnUs, false) => "standard time",
        (SpokenLocale::EnGb, true) => "summer time",
        (SpokenLocale::EnGb, false) => "winter time",
    })
}

/// An instant in `zone`: "Tuesday the 8th of December at 10:30 in the morning". Midnight is said as the start of
/// its day, which no one mistakes for the night before; a wall time that a DST change repeats says which one.
pub fn instant(locale: SpokenLocale, instant: Timestamp, zone: &TimeZone, today: Date) -> String {
    let local = instant.to_zoned_datetime(zone.clone());
    let day = date(locale, local.date(), today);
    let mut spoken = match Period::of(locale, local.time()) {
        Period::Midnight => format!("midnight at the start of {day}"),
        Period::Noon => format!("{day} at noon"),
        _ => format!("{day} at {}", time_of_day(locale, local.time())),
    };
    if let Some(marker) = repeated_hour_marker(locale, instant, zone) {
        spoken.push_str(", ");
        spoken.push_str(marker);
    }
    spoken
}

/// Items joined as a voice lists alternatives: "a", "a or b", "a, b or c".
pub fn alternatives(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The clock times of one day, with each run of times sharing a period said once: "9, 9:30 or 10 in the morning, or
/// 2 in the afternoon" / "9, 9:30 or 10 AM, or 2 PM". A time that a DST change repeats is said in full with its
/// marker. `instants` are in the order to say them.
pub fn times_of_day(locale: SpokenLocale, instants: &[Timestamp], zone: &TimeZone) -> String {
    // Each group is the times said together and the period said once after them (none for words and marked times).
    let mut groups: Vec<(Option<Period>, Vec<String>)> = Vec::new();
    for instant in instants {
        let time = instant.to_zoned_datetime(zone.clone()).time();
        let period = Period::of(locale, time);
        if let Some(marker) = repeated_hour_marker(locale, *instant, zone) {
            let said = format!("{} ({marker})", time_of_day(locale, time));
            groups.push((None, vec![said]));
        } else if period == Period::Midnight {
            groups.push((None, vec!["midnight (the start of the day)".to_owned()]));
        } else if period.is_word() {
            groups.push((None, vec![period.suffix().to_owned()]));
        } else {
            match groups.last_mut() {
                Some((Some(last), times)) if *last == period => times.push(clock(time)),
                _ => groups.push((Some(period), vec![clock(time)])),
            }
        }
    }
    let phrases: Vec<String> = groups
        .into_iter()
        .map(|(period, times)| match period {
            Some(period) => format!("{} {}", alternatives(&times), period.suffix()),
            None => alternatives(&times),
        })
        .collect();
    match phrases.as_slice() {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{}, or {last}", init.join(", ")),
    }
}

/// Instants grouped by local day, each day said once: "Tuesday the 8th of December at 11 or 11:30 in the morning;
/// or Wednesday the 9th of December at 9 in the morning". `instants` are in the order to say them.
pub fn by_day(
    locale: SpokenLocale,
    instants: &[Timestamp],
    zone: &TimeZone,
    today: Date,
) -> String {
    let unqualified: Vec<(Timestamp, &str)> =
        instants.iter().map(|instant| (*instant, "")).collect();
    by_day_with(locale, &unqualified, zone, today)
}

/// Times of one day said together, and the qualifier said once after them.
type QualifiedRun<'a> = (&'a str, Vec<Timestamp>);

/// As [`by_day`], each run of times of a day that share a qualifier said with it once after them: "Tuesday, December
/// 8 at 10 or 10:30 AM with Maria, or 11 AM with Maria or Tom". An empty qualifier says nothing, so times without
/// one are said exactly as [`by_day`] says them.
pub fn by_day_with(
    locale: SpokenLocale,
    instants: &[(Timestamp, &str)],
    zone: &TimeZone,
    today: Date,
) -> String {
    let mut days: Vec<(Date, Vec<QualifiedRun>)> = Vec::new();
    for (instant, qualifier) in instants {
        let day = instant.to_zoned_datetime(zone.clone()).date();
        match days.last_mut() {
            Some((last, runs)) if *last == day => match runs.last_mut() {
                Some((same, times)) if same == qualifier => times.push(*instant),
                _ => runs.push((qualifier, vec![*instant])),
            },
            _ => days.push((day, vec![(qualifier, vec![*instant])])),
        }
    }
    let phrases: Vec<String> = days
        .iter()
        .map(|(day, runs)| {
            let runs: Vec<String> = runs
                .iter()
                .map(|(qualifier, times)| {
                    format!("{}{qualifier}", times_of_day(locale, times, zone))
                })
                .collect();
            format!("{} at {}", date(locale, *day, today), runs.join(", or "))
        })
        .collect();
    match phrases.as_slice() {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{}; or {last}", init.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date as civil_date, time};

    fn zone(name: &str) -> TimeZone {
        jiff::tz::db()
            .get(name)
            .unwrap_or_else(|error| panic!("{error}"))
    }

    fn at(zone_name: &str, text: &str) -> Timestamp {
        let wall: jiff::civil::DateTime = text.parse().unwrap_or_else(|error| panic!("{error}"));
        wall.to_zoned_datetime(zone(zone_name))
            .unwrap_or_else(|error| panic!("{error}"))
            .timestamp()
    }

    const TODAY: Date = civil_date(2026, 12, 1);

    /// A place the agent speaks for: how its people say times, and the zone its clocks show.
    type Place = (SpokenLocale, &'static str);
    const LONDON: Place = (SpokenLocale::EnGb, "Europe/London");
    const NEW_YORK: Place = (SpokenLocale::EnUs, "America/New_York");

    /// How the agent says the instant a clock in `place` shows as `wall`, on `today`.
    fn said_at((locale, zone_name): Place, wall: &str, today: Date) -> String {
        instant(locale, at(zone_name, wall), &zone(zone_name), today)
    }

    /// How the agent says an instant written in UTC (the hours a zone's clocks show twice or never), on `today`.
    fn said_of_utc((locale, zone_name): Place, utc: &str, today: Date) -> String {
        let utc: Timestamp = utc.parse().unwrap_or_else(|error| panic!("{error}"));
        instant(locale, utc, &zone(zone_name), today)
    }

    #[test]
    fn says_the_issue_s_examples_in_both_variants() {
        let cases = [
            (
                LONDON,
                "Tuesday the 8th of December at 10:30 in the morning",
            ),
            (NEW_YORK, "Tuesday, December 8 at 10:30 AM"),
        ];
        for (place, expected) in cases {
            assert_eq!(said_at(place, "2026-12-08T10:30", TODAY), expected);
        }
    }

    #[test]
    fn picks_the_variant_from_the_zone() {
        let cases = [
            ("America/New_York", SpokenLocale::EnUs),
            ("Pacific/Honolulu", SpokenLocale::EnUs),
            ("Europe/London", SpokenLocale::EnGb),
            ("Australia/Sydney", SpokenLocale::EnGb),
        ];
        for (zone_name, locale) in cases {
            assert_eq!(
                SpokenLocale::for_time_zone(zone_name),
                locale,
                "{zone_name}"
            );
        }
    }

    #[test]
    fn ordinals_follow_english_rules() {
        let spoken: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31]
            .into_iter()
            .map(ordinal)
            .collect();
        assert_eq!(
            spoken,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "31st"
            ]
        );
    }

    #[test]
    fn noon_and_midnight_are_words_and_midnight_names_the_day_it_starts() {
        let cases = [
            (
                LONDON,
                "2026-12-08T12:00",
                "Tuesday the 8th of December at noon",
            ),
            (NEW_YORK, "2026-12-08T12:00", "Tuesday, December 8 at noon"),
            (
                LONDON,
                "2026-12-09T00:00",
                "midnight at the start of Wednesday the 9th of December",
            ),
            (
                NEW_YORK,
                "2026-12-09T00:00",
                "midnight at the start of Wednesday, December 9",
            ),
        ];
        for (place, wall, expected) in cases {
            assert_eq!(said_at(place, wall, TODAY), expected);
        }
    }

    #[test]
    fn the_minutes_either_side_of_noon_and_midnight_keep_their_half_of_the_day() {
        let cases = [
            (time(0, 30, 0, 0), "12:30 at night", "12:30 AM"),
            (time(11, 59, 0, 0), "11:59 in the morning", "11:59 AM"),
            (time(12, 5, 0, 0), "12:05 in the afternoon", "12:05 PM"),
            (time(17, 45, 0, 0), "5:45 in the afternoon", "5:45 PM"),
            (time(18, 0, 0, 0), "6 in the evening", "6 PM"),
            (time(23, 59, 0, 0), "11:59 in the evening", "11:59 PM"),
            (time(9, 0, 0, 0), "9 in the morning", "9 AM"),
        ];
        for (wall, british, american) in cases {
            assert_eq!(time_of_day(SpokenLocale::EnGb, wall), british);
            assert_eq!(time_of_day(SpokenLocale::EnUs, wall), american);
        }
    }

    #[test]
    fn a_date_in_another_year_says_its_year() {
        let new_years_eve = civil_date(2026, 12, 31);
        assert_eq!(
            date(SpokenLocale::EnGb, civil_date(2027, 1, 4), new_years_eve),
            "Monday the 4th of January 2027"
        );
        assert_eq!(
            date(SpokenLocale::EnUs, civil_date(2027, 1, 4), new_years_eve),
            "Monday, January 4, 2027"
        );
        assert_eq!(
            date(SpokenLocale::EnUs, civil_date(2026, 12, 31), new_years_eve),
            "Thursday, December 31"
        );
        assert_eq!(
            said_at(NEW_YORK, "2027-01-01T00:00", new_years_eve),
            "midnight at the start of Friday, January 1, 2027"
        );
    }

    #[test]
    fn the_hour_a_dst_change_repeats_says_which_one_and_other_hours_do_not() {
        // New York falls back on Sunday 2026-11-01: 01:00-02:00 happens twice, first in daylight time. London falls
        // back on Sunday 2026-10-25.
        let cases = [
            (
                NEW_YORK,
                "2026-11-01T05:30:00Z",
                "Sunday, November 1 at 1:30 AM, daylight time",
            ),
            (
                NEW_YORK,
                "2026-11-01T06:30:00Z",
                "Sunday, November 1 at 1:30 AM, standard time",
            ),
            (
                NEW_YORK,
                "2026-11-01T08:00:00Z",
                "Sunday, November 1 at 3 AM",
            ),
            (
                LONDON,
                "2026-10-25T00:15:00Z",
                "Sunday the 25th of October at 1:15 in the morning, summer time",
            ),
            (
                LONDON,
                "2026-10-25T01:15:00Z",
                "Sunday the 25th of October at 1:15 in the morning, winter time",
            ),
        ];
        for (place, utc, expected) in cases {
            assert_eq!(said_of_utc(place, utc, civil_date(2026, 10, 30)), expected);
        }
    }

    #[test]
    fn on_a_spring_forward_day_times_after_the_gap_are_said_as_the_clock_shows() {
        // New York springs forward on Sunday 2027-03-14: 02:00-03:00 does not exist.
        assert_eq!(
            said_of_utc(NEW_YORK, "2027-03-14T06:30:00Z", TODAY),
            "Sunday, March 14, 2027 at 1:30 AM"
        );
        assert_eq!(
            said_of_utc(NEW_YORK, "2027-03-14T07:00:00Z", TODAY),
            "Sunday, March 14, 2027 at 3 AM"
        );
    }

    #[test]
    fn a_day_s_times_share_their_period() {
        /// How the agent says these times of December 8 on the clocks of `place`.
        fn said((locale, zone_name): Place, walls: &[&str]) -> String {
            let times: Vec<Timestamp> = walls
                .iter()
                .map(|wall| at(zone_name, &format!("2026-12-08T{wall}")))
                .collect();
            times_of_day(locale, &times, &zone(zone_name))
        }
        assert_eq!(
            said(
                LONDON,
                &["09:00", "09:30", "10:00", "12:00", "14:00", "18:15"]
            ),
            "9, 9:30 or 10 in the morning, noon, 2 in the afternoon, or 6:15 in the evening"
        );
        assert_eq!(
            said(NEW_YORK, &["13:00", "13:30", "15:45"]),
            "1, 1:30 or 3:45 PM"
        );
        assert_eq!(said(NEW_YORK, &[]), "");
    }

    #[test]
    fn a_repeated_hour_in_a_list_is_said_in_full() {
        let new_york = zone("America/New_York");
        let times: Vec<Timestamp> = [
            "2026-11-01T05:00:00Z",
            "2026-11-01T05:30:00Z",
            "2026-11-01T06:30:00Z",
            "2026-11-01T08:00:00Z",
        ]
        .iter()
        .map(|text| text.parse().unwrap_or_else(|e| panic!("{e}")))
        .collect();
        assert_eq!(
            times_of_day(SpokenLocale::EnUs, &times, &new_york),
            "1 AM (daylight time), 1:30 AM (daylight time), 1:30 AM (standard time), or 3 AM"
        );
    }

    #[test]
    fn times_are_said_once_per_day_and_midnight_as_the_start_of_its_day() {
        let london = zone("Europe/London");
        let times: Vec<Timestamp> = ["2026-12-08T11:00", "2026-12-08T11:30", "2026-12-09T09:00"]
            .iter()
            .map(|wall| at("Europe/London", wall))
            .collect();
        assert_eq!(
            by_day(SpokenLocale::EnGb, &times, &london, TODAY),
            "Tuesday the 8th of December at 11 or 11:30 in the morning; or Wednesday the 9th of December at 9 in \
             the morning"
        );
        let midnight = [at("Europe/London", "2026-12-09T00:00")];
        assert_eq!(
            by_day(SpokenLocale::EnGb, &midnight, &london, TODAY),
            "Wednesday the 9th of December at midnight (the start of the day)"
        );
        assert_eq!(by_day(SpokenLocale::EnGb, &[], &london, TODAY), "");
    }

    #[test]
    fn alternatives_read_naturally() {
        let items = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(alternatives(&items(&[])), "");
        assert_eq!(alternatives(&items(&["a"])), "a");
        assert_eq!(alternatives(&items(&["a", "b"])), "a or b");
        assert_eq!(alternatives(&items(&["a", "b", "c"])), "a, b or c");
    }
}
