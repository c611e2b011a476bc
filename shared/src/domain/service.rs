//! What a business sells: a service's duration, start-time step, weekly hours and date overrides, buffers,
//! per-day limit, notice and horizon, each validated when built.

use std::collections::BTreeMap;

use jiff::SignedDuration;
use jiff::civil::{Date, Time, Weekday};
use serde::{Deserialize, Serialize};

use super::{BusinessId, ServiceId, ServiceName, ValidationError, time_text};

/// The longest a service may last. Together with [`MAX_BUFFER_MINUTES`] it bounds how far an appointment's occupied
/// interval can reach, which lets stores look up conflicts in a bounded key range.
pub const MAX_DURATION_MINUTES: u32 = 12 * 60;
pub const MAX_BUFFER_MINUTES: u32 = 4 * 60;
pub const MAX_BOOKING_HORIZON_DAYS: u32 = 366;
const MAX_NOTICE_MINUTES: u32 = 90 * 24 * 60;
/// No small business books a service more often than this in a day; a larger number is a typo.
const MAX_PER_DAY_LIMIT: u32 = 1000;
const MAX_RANGES_PER_DAY: usize = 12;
const MAX_DATE_OVERRIDES: usize = 500;

/// A whole number of minutes, the unit of every duration a business configures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Minutes(u32);

impl Minutes {
    pub const fn new(minutes: u32) -> Self {
        Self(minutes)
    }

    pub fn get(self) -> u32 {
        self.0
    }

    pub fn as_duration(self) -> SignedDuration {
        SignedDuration::from_mins(i64::from(self.0))
    }
}

/// Local wall-clock opening time `[start, end)` within one day, e.g. 09:00–12:30. Written as "HH:MM"; an end of
/// "24:00" means the end of the day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawTimeRange", into = "RawTimeRange")]
pub struct LocalTimeRange {
    start: Time,
    /// `None` is midnight at the end of the day ("24:00"), which `Time` cannot hold.
    end: Option<Time>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimeRange {
    start: String,
    end: String,
}

impl LocalTimeRange {
    pub fn new(start: Time, end: Option<Time>) -> Result<Self, ValidationError> {
        if let Some(end) = end {
            if end <= start {
                return Err(ValidationError::new(
                    "hours",
                    "each range must end after it starts",
                ));
            }
        }
        Ok(Self { start, end })
    }

    pub fn start(&self) -> Time {
        self.start
    }

    /// The end time, or `None` for the end of the day.
    pub fn end(&self) -> Option<Time> {
        self.end
    }

    fn ends_after(&self, time: Time) -> bool {
        self.end.is_none_or(|end| end > time)
    }
}

fn parse_wall_time(text: &str) -> Result<Time, ValidationError> {
    time_text::parse_wall_time("hours", text)
}

impl LocalTimeRange {
    /// Parses "HH:MM" wall times; the end may be "24:00".
    pub fn parse(start: &str, end: &str) -> Result<Self, ValidationError> {
        let start = parse_wall_time(start)?;
        let end = if end == "24:00" {
            None
        } else {
            Some(parse_wall_time(end)?)
        };
        Self::new(start, end)
    }

    /// The range as written: ("HH:MM", "HH:MM" or "24:00").
    pub fn to_wall_times(&self) -> (String, String) {
        let format = |time: Time| format!("{:02}:{:02}", time.hour(), time.minute());
        (
            format(self.start),
            self.end.map_or_else(|| "24:00".to_owned(), format),
        )
    }
}

impl TryFrom<RawTimeRange> for LocalTimeRange {
    type Error = ValidationError;

    fn try_from(raw: RawTimeRange) -> Result<Self, Self::Error> {
        Self::parse(&raw.start, &raw.end)
    }
}

impl From<LocalTimeRange> for RawTimeRange {
    fn from(range: LocalTimeRange) -> Self {
        let (start, end) = range.to_wall_times();
        Self { start, end }
    }
}

fn validate_day(ranges: &[LocalTimeRange]) -> Result<(), ValidationError> {
    if ranges.len() > MAX_RANGES_PER_DAY {
        return Err(ValidationError::new(
            "hours",
            format!("at most {MAX_RANGES_PER_DAY} ranges per day"),
        ));
    }
    let mut sorted = ranges.to_vec();
    sorted.sort();
    for pair in sorted.windows(2) {
        if let [earlier, later] = pair {
            if earlier.ends_after(later.start) {
                return Err(ValidationError::new(
                    "hours",
                    "ranges of one day must not overlap",
                ));
            }
        }
    }
    Ok(())
}

/// Opening hours per weekday; a weekday without ranges is closed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeeklyHours {
    #[serde(default)]
    pub monday: Vec<LocalTimeRange>,
    #[serde(default)]
    pub tuesday: Vec<LocalTimeRange>,
    #[serde(default)]
    pub wednesday: Vec<LocalTimeRange>,
    #[serde(default)]
    pub thursday: Vec<LocalTimeRange>,
    #[serde(default)]
    pub friday: Vec<LocalTimeRange>,
    #[serde(default)]
    pub saturday: Vec<LocalTimeRange>,
    #[serde(default)]
    pub sunday: Vec<LocalTimeRange>,
}

impl WeeklyHours {
    pub fn on(&self, weekday: Weekday) -> &[LocalTimeRange] {
        match weekday {
            Weekday::Monday => &self.monday,
            Weekday::Tuesday => &self.tuesday,
            Weekday::Wednesday => &self.wednesday,
            Weekday::Thursday => &self.thursday,
            Weekday::Friday => &self.friday,
            Weekday::Saturday => &self.saturday,
            Weekday::Sunday => &self.sunday,
        }
    }

    pub(super) fn validate(&self) -> Result<(), ValidationError> {
        [
            &self.monday,
            &self.tuesday,
            &self.wednesday,
            &self.thursday,
            &self.friday,
            &self.saturday,
            &self.sunday,
        ]
        .into_iter()
        .try_for_each(|day| validate_day(day))
    }
}

/// Hours for one local date that replace the weekly hours of that date; no ranges means closed all day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateOverride {
    pub date: Date,
    #[serde(default)]
    pub hours: Vec<LocalTimeRange>,
}

/// What a business configures about a service: the validated body of a create or a full update.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceSettings {
    pub name: ServiceName,
    pub duration: Minutes,
    /// Distance between offered start times, counted from the start of each opening range.
    pub slot_interval: Minutes,
    pub weekly_hours: WeeklyHours,
    /// At most one override per date, kept sorted by date.
    pub date_overrides: Vec<DateOverride>,
    pub buffer_before: Minutes,
    pub buffer_after: Minutes,
    /// Live appointments of this service per local date; `None` is unlimited.
    pub max_per_day: Option<u32>,
    pub minimum_notice: Minutes,
    pub booking_horizon_days: u32,
}

pub const DEFAULT_SLOT_INTERVAL: Minutes = Minutes(15);

impl ServiceSettings {
    /// Checks every field against the domain's limits and normalises the overrides (sorted, one per date).
    pub fn validated(mut self) -> Result<Self, ValidationError> {
        let duration = self.duration.get();
        if duration == 0 || duration > MAX_DURATION_MINUTES {
            return Err(ValidationError::new(
                "duration_minutes",
                format!("must be between 1 and {MAX_DURATION_MINUTES}"),
            ));
        }
        let interval = self.slot_interval.get();
        if !(5..=MAX_DURATION_MINUTES).contains(&interval) {
            return Err(ValidationError::new(
                "slot_interval_minutes",
                format!("must be between 5 and {MAX_DURATION_MINUTES}"),
            ));
        }
        for (field, buffer) in [
            ("buffer_before_minutes", self.buffer_before),
            ("buffer_after_minutes", self.buffer_after),
        ] {
            if buffer.get() > MAX_BUFFER_MINUTES {
                return Err(ValidationError::new(
                    field,
                    format!("must be at most {MAX_BUFFER_MINUTES}"),
                ));
            }
        }
        checked_max_per_day(self.max_per_day)?;
        if self.minimum_notice.get() > MAX_NOTICE_MINUTES {
            return Err(ValidationError::new(
                "minimum_notice_minutes",
                format!("must be at most {MAX_NOTICE_MINUTES}"),
            ));
        }
        if self.booking_horizon_days == 0 || self.booking_horizon_days > MAX_BOOKING_HORIZON_DAYS {
            return Err(ValidationError::new(
                "booking_horizon_days",
                format!("must be between 1 and {MAX_BOOKING_HORIZON_DAYS}"),
            ));
        }
        self.weekly_hours.validate()?;
        self.date_overrides = validated_overrides(std::mem::take(&mut self.date_overrides))?;
        Ok(self)
    }
}

/// A maximum per day of a service or a staff member: 1 to [`MAX_PER_DAY_LIMIT`], or none.
pub(super) fn checked_max_per_day(limit: Option<u32>) -> Result<(), ValidationError> {
    if limit.is_some_and(|limit| limit == 0 || limit > MAX_PER_DAY_LIMIT) {
        return Err(ValidationError::new(
            "max_per_day",
            format!("must be 1 to {MAX_PER_DAY_LIMIT}, or omitted for no limit"),
        ));
    }
    Ok(())
}

/// Checks a list of date overrides (each day's ranges, at most one per date, at most [`MAX_DATE_OVERRIDES`]) and
/// sorts it by date, as [`hours_on`] reads it; a service's and a staff member's alike.
pub(super) fn validated_overrides(
    overrides: Vec<DateOverride>,
) -> Result<Vec<DateOverride>, ValidationError> {
    if overrides.len() > MAX_DATE_OVERRIDES {
        return Err(ValidationError::new(
            "date_overrides",
            format!("at most {MAX_DATE_OVERRIDES} dates"),
        ));
    }
    let mut by_date = BTreeMap::new();
    for date_override in overrides {
        validate_day(&date_override.hours)?;
        if by_date.insert(date_override.date, date_override).is_some() {
            return Err(ValidationError::new(
                "date_overrides",
                "each date may appear only once",
            ));
        }
    }
    Ok(by_date.into_values().collect())
}

/// The ranges of `date` in sorted `overrides` if one names it, else `None`.
pub(super) fn override_on(overrides: &[DateOverride], date: Date) -> Option<&[LocalTimeRange]> {
    overrides
        .binary_search_by_key(&date, |o| o.date)
        .ok()
        .and_then(|index| overrides.get(index))
        .map(|o| o.hours.as_slice())
}

/// A bookable service of a business, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub id: ServiceId,
    pub business_id: BusinessId,
    #[serde(flatten)]
    pub settings: ServiceSettings,
    pub active: bool,
    /// Bumped on every change; updates are conditional on it.
    pub version: u64,
    pub created_at: jiff::Timestamp,
    pub updated_at: jiff::Timestamp,
}

impl Service {
    /// Opening ranges for a local date: the date's override if there is one, else the weekday's hours.
    pub fn hours_on(&self, date: Date) -> &[LocalTimeRange] {
        override_on(&self.settings.date_overrides, date)
            .unwrap_or_else(|| self.settings.weekly_hours.on(date.weekday()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn range(start: &str, end: &str) -> Result<LocalTimeRange, ValidationError> {
        LocalTimeRange::try_from(RawTimeRange {
            start: start.to_owned(),
            end: end.to_owned(),
        })
    }

    pub(crate) fn settings() -> ServiceSettings {
        ServiceSettings {
            name: ServiceName::try_from("Haircut".to_owned()).unwrap_or_else(|e| panic!("{e}")),
            duration: Minutes::new(30),
            slot_interval: DEFAULT_SLOT_INTERVAL,
            weekly_hours: WeeklyHours::default(),
            date_overrides: vec![],
            buffer_before: Minutes::new(0),
            buffer_after: Minutes::new(0),
            max_per_day: None,
            minimum_notice: Minutes::new(0),
            booking_horizon_days: 60,
        }
    }

    #[test]
    fn parses_wall_times_and_end_of_day() {
        let full_day = range("00:00", "24:00").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(full_day.start(), time(0, 0, 0, 0));
        assert_eq!(full_day.end(), None);
        assert!(range("9:00", "10:00").is_err());
        assert!(range("10:00", "09:00").is_err());
        assert!(range("25:00", "26:00").is_err());
        assert!(range("10:00", "10:00").is_err());
    }

    #[test]
    fn serializes_ranges_as_written() {
        let parsed: LocalTimeRange = serde_json::from_str(r#"{"start":"09:30","end":"24:00"}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            serde_json::to_string(&parsed).ok().as_deref(),
            Some(r#"{"start":"09:30","end":"24:00"}"#)
        );
    }

    #[test]
    fn rejects_overlapping_ranges_in_a_day() {
        let mut invalid = settings();
        invalid.weekly_hours.monday = vec![
            range("09:00", "12:00").unwrap_or_else(|e| panic!("{e}")),
            range("11:00", "13:00").unwrap_or_else(|e| panic!("{e}")),
        ];
        assert!(invalid.validated().is_err());
    }

    #[test]
    fn rejects_out_of_range_numbers() {
        let mut zero_duration = settings();
        zero_duration.duration = Minutes::new(0);
        assert!(zero_duration.validated().is_err());
        let mut zero_limit = settings();
        zero_limit.max_per_day = Some(0);
        assert!(zero_limit.validated().is_err());
        let mut far = settings();
        far.booking_horizon_days = MAX_BOOKING_HORIZON_DAYS + 1;
        assert!(far.validated().is_err());
    }

    #[test]
    fn override_wins_over_weekly_hours_and_duplicates_are_rejected() {
        let mut configured = settings();
        configured.weekly_hours.monday =
            vec![range("09:00", "17:00").unwrap_or_else(|e| panic!("{e}"))];
        let monday = date(2026, 11, 30);
        configured.date_overrides = vec![DateOverride {
            date: monday,
            hours: vec![],
        }];
        let validated = configured
            .clone()
            .validated()
            .unwrap_or_else(|e| panic!("{e}"));
        let service = Service {
            id: ServiceId::generate(),
            business_id: BusinessId::generate(),
            settings: validated,
            active: true,
            version: 1,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
        };
        assert!(service.hours_on(monday).is_empty());
        assert_eq!(service.hours_on(date(2026, 12, 7)).len(), 1);

        configured.date_overrides.push(DateOverride {
            date: monday,
            hours: vec![],
        });
        assert!(configured.validated().is_err());
    }
}
