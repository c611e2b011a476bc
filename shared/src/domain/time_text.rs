//! The one parser for every instant, local date and wall time that enters the system as text (REST, dashboard
//! forms, agent tools). Strict on purpose: a lenient parser that reads `+25:00`, `T10Z` or a contradicting zone
//! annotation books a different day than the caller meant, which for a voice agent is the worst failure there is.
//!
//! Accepted forms:
//! - instant: RFC 3339 `YYYY-MM-DDTHH:MM:SS`, an optional fraction of 1 to 9 digits, then `Z` or `±HH:MM` with an
//!   offset some zone really uses (−12:00 to +14:00). `T` and `Z` may be lower case, as RFC 3339 allows.
//! - local date: `YYYY-MM-DD`.
//! - wall time: `HH:MM`.
//! - a start in a business's zone (what the agent tools take, because models get offsets wrong): an instant as
//!   above, or a local date-time `YYYY-MM-DDTHH:MM` with optional `:SS` and no offset, read in the business's zone.
//!
//! Dates must exist (no 30 February), and years lie between 2000 and 2200: anything else is a typo, not a booking.
//!
//! Each form also exists as a JSON Schema `pattern` (ECMA-262, ASCII digits spelled `[0-9]`), so a tool's schema
//! states exactly what this parser accepts; a test holds the two to the same table of inputs.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{Offset, TimeZone};

use super::ValidationError;

pub const INSTANT_FORM: &str = "an RFC 3339 date-time with offset, as YYYY-MM-DDTHH:MM:SS±HH:MM or …Z, e.g. 2026-12-01T09:00:00-05:00";
pub const DATE_FORM: &str = "a date as YYYY-MM-DD, e.g. 2026-12-01";
pub const WALL_TIME_FORM: &str = "a time of day as HH:MM, e.g. 09:30";
pub const ZONED_START_FORM: &str = "a local date-time in the business's zone as YYYY-MM-DDTHH:MM, e.g. 2026-12-08T10:30, \
     or an RFC 3339 date-time with offset, as YYYY-MM-DDTHH:MM:SS±HH:MM or …Z";

// The patterns are built from literal pieces (macros, so `concat!` can join them at compile time).
/// A year the parser takes: 2000 to 2200.
macro_rules! year_pattern {
    () => {
        "(?:2[01][0-9]{2}|2200)"
    };
}
/// `MM-DD` of a day every year has (29 February is the leap years' own).
macro_rules! month_day_pattern {
    () => {
        "(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"
    };
}
/// The leap years from 2000 to 2200 (2100 and 2200 are not).
macro_rules! leap_year_pattern {
    () => {
        "(?:20(?:[02468][048]|[13579][26])|21(?:0[48]|[2468][048]|[13579][26]))"
    };
}
macro_rules! date_pattern {
    () => {
        concat!(
            "(?:",
            year_pattern!(),
            "-",
            month_day_pattern!(),
            "|",
            leap_year_pattern!(),
            "-02-29)"
        )
    };
}
macro_rules! hour_minute_pattern {
    () => {
        "(?:[01][0-9]|2[0-3]):[0-5][0-9]"
    };
}
/// `Z` or an offset from −12:00 to +14:00.
macro_rules! offset_pattern {
    () => {
        "(?:[Zz]|\\+(?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00)|-(?:(?:0[0-9]|1[01]):[0-5][0-9]|12:00))"
    };
}

/// What [`parse_instant`] accepts.
pub const INSTANT_PATTERN: &str = concat!(
    "^",
    date_pattern!(),
    "[Tt]",
    hour_minute_pattern!(),
    ":[0-5][0-9](?:\\.[0-9]{1,9})?",
    offset_pattern!(),
    "$"
);
/// What [`parse_local_date`] accepts.
pub const DATE_PATTERN: &str = concat!("^", date_pattern!(), "$");
/// What [`parse_wall_time`] accepts.
pub const WALL_TIME_PATTERN: &str = concat!("^", hour_minute_pattern!(), "$");
/// What [`parse_zoned_start`] accepts: seconds with a fraction and an offset (an instant), or optional seconds and
/// no offset (a local date-time).
pub const ZONED_START_PATTERN: &str = concat!(
    "^",
    date_pattern!(),
    "[Tt]",
    hour_minute_pattern!(),
    "(?::[0-5][0-9](?:\\.[0-9]{1,9})?",
    offset_pattern!(),
    "|(?::[0-5][0-9])?)$"
);

const EARLIEST_YEAR: i16 = 2000;
const LATEST_YEAR: i16 = 2200;
/// The widest offsets any zone observes today (Baker Island, Line Islands).
const MIN_OFFSET_MINUTES: i32 = -12 * 60;
const MAX_OFFSET_MINUTES: i32 = 14 * 60;

/// Exactly `n` ASCII digits as a number; `None` for anything else (signs, spaces, fewer or more digits).
fn digits(text: &str, n: usize) -> Option<i32> {
    if text.len() != n || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn date_parts(text: &str) -> Option<Date> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year = i16::try_from(digits(text.get(0..4)?, 4)?).ok()?;
    let month = i8::try_from(digits(text.get(5..7)?, 2)?).ok()?;
    let day = i8::try_from(digits(text.get(8..10)?, 2)?).ok()?;
    Date::new(year, month, day).ok()
}

fn in_year_range(field: &'static str, year: i16) -> Result<(), ValidationError> {
    if (EARLIEST_YEAR..=LATEST_YEAR).contains(&year) {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            format!("must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}"),
        ))
    }
}

/// `HH:MM:SS` with an optional `.fraction` of 1 to 9 digits.
fn time_parts(text: &str) -> Option<Time> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let bytes = whole.as_bytes();
    if bytes.len() != 8 || bytes[2] != b':' || bytes[5] != b':' {
        return None;
    }
    let hour = i8::try_from(digits(whole.get(0..2)?, 2)?).ok()?;
    let minute = i8::try_from(digits(whole.get(3..5)?, 2)?).ok()?;
    let second = i8::try_from(digits(whole.get(6..8)?, 2)?).ok()?;
    let nanos = match fraction {
        None => 0,
        Some(fraction) => {
            if !(1..=9).contains(&fraction.len()) {
                return None;
            }
            let value = digits(fraction, fraction.len())?;
            value * 10_i32.pow(u32::try_from(9 - fraction.len()).ok()?)
        }
    };
    Time::new(hour, minute, second, nanos).ok()
}

/// `Z` or `±HH:MM` within the offsets zones really use.
fn offset_part(text: &str) -> Option<Offset> {
    if text.eq_ignore_ascii_case("z") {
        return Some(Offset::UTC);
    }
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let rest = text.get(1..)?;
    if rest.len() != 5 || rest.as_bytes()[2] != b':' {
        return None;
    }
    let hours = digits(rest.get(0..2)?, 2)?;
    let minutes = digits(rest.get(3..5)?, 2)?;
    if minutes > 59 {
        return None;
    }
    let total = sign * (hours * 60 + minutes);
    if !(MIN_OFFSET_MINUTES..=MAX_OFFSET_MINUTES).contains(&total) {
        return None;
    }
    Offset::from_seconds(total * 60).ok()
}

/// An instant as strict RFC 3339 with the local date it was written on (whose year is checked).
fn instant_parts(text: &str) -> Option<(Date, Timestamp)> {
    let date = text.get(0..10).and_then(date_parts)?;
    if !matches!(text.as_bytes().get(10), Some(b'T' | b't')) {
        return None;
    }
    let rest = text.get(11..)?;
    let offset_at = rest.find(['Z', 'z', '+', '-'])?;
    let (time, offset) = rest.split_at(offset_at);
    let time = time_parts(time)?;
    let offset = offset_part(offset)?;
    let instant = offset.to_timestamp(DateTime::from_parts(date, time)).ok()?;
    Some((date, instant))
}

/// An instant as strict RFC 3339 (see the module documentation); the error names `field` and shows the form.
pub fn parse_instant(field: &'static str, text: &str) -> Result<Timestamp, ValidationError> {
    let (date, instant) = instant_parts(text)
        .ok_or_else(|| ValidationError::new(field, format!("must be {INSTANT_FORM}")))?;
    in_year_range(field, date.year())?;
    Ok(instant)
}

/// A local date as `YYYY-MM-DD`; the error names `field` and shows the form.
pub fn parse_local_date(field: &'static str, text: &str) -> Result<Date, ValidationError> {
    let date = date_parts(text)
        .ok_or_else(|| ValidationError::new(field, format!("must be {DATE_FORM}")))?;
    in_year_range(field, date.year())?;
    Ok(date)
}

/// A local date-time `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS`, without fraction or offset.
fn local_date_time(text: &str) -> Option<DateTime> {
    let date = text.get(0..10).and_then(date_parts)?;
    if !matches!(text.as_bytes().get(10), Some(b'T' | b't')) {
        return None;
    }
    let time = text.get(11..)?;
    let with_seconds = match time.len() {
        5 => format!("{time}:00"),
        8 => time.to_owned(),
        _ => return None,
    };
    if with_seconds.contains('.') {
        return None;
    }
    Some(DateTime::from_parts(date, time_parts(&with_seconds)?))
}

/// A start as a business's callers mean it: an instant (see [`parse_instant`]), or a local date-time without offset
/// read in `zone` (an hour a DST change repeats means its first occurrence; one it skips, the instant as far after
/// the change as the wall time is after the gap's start). The error names `field` and shows both forms.
pub fn parse_zoned_start(
    field: &'static str,
    text: &str,
    zone: &TimeZone,
) -> Result<Timestamp, ValidationError> {
    let invalid = || ValidationError::new(field, format!("must be {ZONED_START_FORM}"));
    if let Some(local) = local_date_time(text) {
        in_year_range(field, local.year())?;
        return local
            .to_zoned_datetime(zone.clone())
            .map(|zoned| zoned.timestamp())
            .map_err(|_| invalid());
    }
    let (date, instant) = instant_parts(text).ok_or_else(invalid)?;
    in_year_range(field, date.year())?;
    Ok(instant)
}

/// A wall time as `HH:MM` (00:00 to 23:59); the error names `field` and shows the form.
pub fn parse_wall_time(field: &'static str, text: &str) -> Result<Time, ValidationError> {
    let invalid = || ValidationError::new(field, format!("{text:?} is not {WALL_TIME_FORM}"));
    let bytes = text.as_bytes();
    if bytes.len() != 5 || bytes[2] != b':' {
        return Err(invalid());
    }
    let hour = text.get(0..2).and_then(|part| digits(part, 2));
    let minute = text.get(3..5).and_then(|part| digits(part, 2));
    match (hour, minute) {
        (Some(hour), Some(minute)) => Time::new(
            i8::try_from(hour).map_err(|_| invalid())?,
            i8::try_from(minute).map_err(|_| invalid())?,
            0,
            0,
        )
        .map_err(|_| invalid()),
        _ => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn instant(text: &str) -> Result<Timestamp, ValidationError> {
        parse_instant("start", text)
    }

    #[test]
    fn accepts_rfc3339_instants() {
        let cases = [
            ("2027-01-20T10:00:00Z", "2027-01-20T10:00:00Z"),
            ("2027-01-20t10:00:00z", "2027-01-20T10:00:00Z"),
            ("2027-01-20T10:00:00-05:00", "2027-01-20T15:00:00Z"),
            ("2027-01-20T10:00:00+05:30", "2027-01-20T04:30:00Z"),
            ("2027-01-20T10:00:00+14:00", "2027-01-19T20:00:00Z"),
            ("2027-01-20T10:00:00-12:00", "2027-01-20T22:00:00Z"),
            ("2027-01-20T10:00:00-00:00", "2027-01-20T10:00:00Z"),
            ("2027-01-20T10:00:00.5Z", "2027-01-20T10:00:00.5Z"),
            (
                "2027-01-20T10:00:00.123456789Z",
                "2027-01-20T10:00:00.123456789Z",
            ),
            ("2028-02-29T23:59:59Z", "2028-02-29T23:59:59Z"),
        ];
        for (text, expected) in cases {
            let parsed = instant(text).unwrap_or_else(|error| panic!("{text}: {error}"));
            assert_eq!(parsed, expected.parse::<Timestamp>().unwrap(), "{text}");
        }
    }

    #[test]
    fn refuses_everything_else_naming_the_field_and_the_form() {
        let cases = [
            "2027-01-20T10:00:00+25:00",
            "2027-01-20T10:00:00+15:00",
            "2027-01-20T10:00:00-13:00",
            "2027-01-20T10:00:00+05:60",
            "2027-01-20T10:00Z",
            "2027-01-20T10Z",
            "2027-01-20T10:00:00+0500",
            "2027-01-20T10:00:00+05",
            "20270120T100000Z",
            "2027-01-20T10:00:00+01:00[America/New_York]",
            "2027-01-20T10:00:00Z[UTC]",
            "2027-01-20T10:00:00",
            "2027-01-20 10:00:00Z",
            "2027-01-20",
            "2027-02-30T10:00:00Z",
            "2027-13-01T10:00:00Z",
            "2027-01-20T24:00:00Z",
            "2027-01-20T10:00:60Z",
            "2027-01-20T10:00:00.Z",
            "2027-01-20T10:00:00.1234567890Z",
            "+2027-01-20T10:00:00Z",
            " 2027-01-20T10:00:00Z",
            "2027-01-20T10:00:00Z ",
            "2027-1-20T10:00:00Z",
            "2027-01-20T+1:00:00Z",
            "2027-01-20T10:00:00+05:00:00",
            "２０２７-01-20T10:00:00Z",
            "",
        ];
        for text in cases {
            let error = instant(text).expect_err(text);
            assert_eq!(error.field, "start", "{text}");
            assert!(
                error.message.contains("YYYY-MM-DDTHH:MM:SS"),
                "{text}: {}",
                error.message
            );
        }
    }

    #[test]
    fn refuses_years_outside_the_plausible_range() {
        assert!(instant("1999-12-31T23:59:59Z").is_err());
        assert!(instant("2201-01-01T00:00:00Z").is_err());
    }

    #[test]
    fn local_dates_are_exactly_yyyy_mm_dd() {
        assert_eq!(
            parse_local_date("date", "2027-01-20").unwrap(),
            jiff::civil::date(2027, 1, 20)
        );
        for text in [
            "2027-1-20",
            "20270120",
            "2027-01-20T00:00:00Z",
            "2027-02-29",
            "+2027-01-20",
            "",
        ] {
            let error = parse_local_date("date", text).expect_err(text);
            assert_eq!(error.field, "date");
            assert!(error.message.contains("YYYY-MM-DD"), "{text}");
        }
    }

    #[test]
    fn a_zoned_start_is_a_local_date_time_in_the_zone_or_an_instant() {
        let zone = TimeZone::get("America/New_York").unwrap();
        let start = |text| parse_zoned_start("start", text, &zone);
        let expected: Timestamp = "2026-12-08T15:30:00Z".parse().unwrap();
        for text in [
            "2026-12-08T10:30",
            "2026-12-08t10:30",
            "2026-12-08T10:30:00",
            "2026-12-08T10:30:00-05:00",
            "2026-12-08T15:30:00Z",
            "2026-12-08T20:30:00.000+05:00",
        ] {
            assert_eq!(start(text), Ok(expected), "{text}");
        }
        // The hour 2026-11-01 repeats means its first occurrence (daylight time).
        assert_eq!(
            start("2026-11-01T01:30"),
            Ok("2026-11-01T05:30:00Z".parse().unwrap())
        );
        for text in [
            "2026-12-10T10:00:00+25:00",
            "2026-12-10T10:00:00+0500",
            "2026-12-10T10:00+05:00",
            "2026-12-10T10:00Z",
            "20261210T100000Z",
            "2026-12-10T10:00:00-05:00[America/New_York]",
            "2026-12-10T10:00:00.5",
            "2026-12-10T10",
            "2026-12-10T9:30",
            "2026-12-10 10:30",
            "2026-02-30T10:30",
            "2026-12-10",
            "next tuesday",
            "",
        ] {
            let error = start(text).expect_err(text);
            assert_eq!(error.field, "start");
            assert!(error.message.contains("YYYY-MM-DDTHH:MM,"), "{text}");
        }
        let typo = start("1999-12-08T10:30").expect_err("a typo of a year");
        assert!(typo.message.contains("2000"), "{}", typo.message);
        assert!(start("2201-01-01T10:30:00Z").is_err());
    }

    #[test]
    fn wall_times_are_exactly_hh_mm() {
        assert_eq!(
            parse_wall_time("hours", "09:30").unwrap(),
            jiff::civil::time(9, 30, 0, 0)
        );
        for text in [
            "9:30", "+9:30", "09:3", "24:00", "09:60", "09:30:00", "0930", " 9:30",
        ] {
            assert!(parse_wall_time("hours", text).is_err(), "{text}");
        }
    }
}
