//! The business's zone, its callers' English and today's local date: everything a spoken form needs, and the zone
//! a start given as a wall time is read in.

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

use crate::agent::answers::TimeView;
use crate::agent::call::ToolFailure;
use crate::agent::spoken::{self, SpokenLocale};
use crate::domain::{Business, Interval, parse_zoned_start};

use super::input::{invalid, refused_value};

pub(crate) struct Local<'a> {
    pub(crate) zone: &'a TimeZone,
    pub(crate) locale: SpokenLocale,
    pub(crate) now: Timestamp,
    pub(crate) today: Date,
}

impl<'a> Local<'a> {
    pub(crate) fn new(business: &'a Business, now: Timestamp) -> Self {
        let zone = business.time_zone.zone();
        Self {
            zone,
            locale: SpokenLocale::for_time_zone(business.time_zone.name()),
            now,
            today: now.to_zoned_datetime(zone.clone()).date(),
        }
    }

    pub(crate) fn rfc3339(&self, instant: Timestamp) -> String {
        instant
            .display_with_offset(self.zone.to_offset(instant))
            .to_string()
    }

    pub(crate) fn spoken(&self, instant: Timestamp) -> String {
        spoken::instant(self.locale, instant, self.zone, self.today)
    }

    pub(crate) fn spoken_date(&self, date: Date) -> String {
        spoken::date(self.locale, date, self.today)
    }

    pub(crate) fn by_day(&self, slots: &[Interval]) -> String {
        let starts: Vec<Timestamp> = slots.iter().map(Interval::start).collect();
        spoken::by_day(self.locale, &starts, self.zone, self.today)
    }

    /// Times each said with whom (" with Maria", or nothing), by day as [`spoken::by_day_with`] says them.
    pub(crate) fn by_day_with(&self, slots: &[(Interval, String)]) -> String {
        let starts: Vec<(Timestamp, &str)> = slots
            .iter()
            .map(|(slot, with)| (slot.start(), with.as_str()))
            .collect();
        spoken::by_day_with(self.locale, &starts, self.zone, self.today)
    }

    pub(crate) fn time(&self, slot: &Interval) -> TimeView {
        TimeView {
            start: self.rfc3339(slot.start()),
            end: self.rfc3339(slot.end()),
            spoken: self.spoken(slot.start()),
            staff: None,
        }
    }

    pub(crate) fn times(&self, slots: &[Interval]) -> Vec<TimeView> {
        slots.iter().map(|slot| self.time(slot)).collect()
    }

    pub(crate) fn date_of(&self, instant: Timestamp) -> Date {
        instant.to_zoned_datetime(self.zone.clone()).date()
    }

    pub(crate) fn wall_time_of(&self, instant: Timestamp) -> Time {
        instant.to_zoned_datetime(self.zone.clone()).time()
    }

    pub(crate) fn start_of(&self, date: Date) -> Result<Timestamp, ToolFailure> {
        date.to_zoned_datetime(self.zone.clone())
            .map(|start| start.timestamp())
            .map_err(|_| invalid("the date is out of range"))
    }

    /// A start as the model may give it: RFC 3339 with an offset, or a wall time in the business's zone (the
    /// first occurrence when a DST change repeats it), read by the edge's one parser.
    pub(crate) fn parse_start(
        &self,
        field: &'static str,
        text: &str,
    ) -> Result<Timestamp, ToolFailure> {
        parse_zoned_start(field, text, self.zone).map_err(|error| refused_value(&error, text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_may_be_local_or_carry_its_offset() {
        let business = Business {
            id: crate::domain::BusinessId::generate(),
            name: crate::domain::BusinessName::try_from("Clinic".to_owned())
                .unwrap_or_else(|e| panic!("{e}")),
            time_zone: crate::domain::BusinessTimeZone::try_from("America/New_York".to_owned())
                .unwrap_or_else(|e| panic!("{e}")),
            created_at: Timestamp::UNIX_EPOCH,
            disabled_at: None,
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
