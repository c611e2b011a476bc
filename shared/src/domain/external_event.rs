//! Which external calendar events block bookings, and for what time. Providers describe an event in the neutral
//! terms below; the rules here decide, so Google and Outlook events are judged the same way.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::Interval;

/// When an event happens, as the provider states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventTiming {
    Timed {
        start: Timestamp,
        end: Timestamp,
    },
    /// Whole days, `end` exclusive, as calendars store them: a one-day event on 1 June ends on 2 June.
    AllDay {
        start: Date,
        end: Date,
    },
}

/// What the rules need to know of one external event (an instance, for a recurring series).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExternalEvent {
    pub timing: EventTiming,
    /// Deleted, or a cancelled instance of a series.
    pub cancelled: bool,
    /// Shown as free (Google `transparency: transparent`, Outlook `showAs: free`).
    pub shown_as_free: bool,
    /// The calendar's owner declined the invitation.
    pub declined: bool,
    /// One of our own appointments' events: the appointment itself already blocks its time.
    pub ours: bool,
}

/// A change to one external event, as an incremental sync reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExternalEventChange {
    Changed { id: String, event: ExternalEvent },
    Removed { id: String },
}

impl ExternalEventChange {
    pub fn id(&self) -> &str {
        match self {
            Self::Changed { id, .. } | Self::Removed { id } => id,
        }
    }
}

/// The time `event` blocks, within `horizon`; empty when it blocks nothing. Timed events block exactly their span
/// (tentative ones too: the owner may still go); all-day events block their whole local dates in `zone`, from the
/// first date's start to the end date's start, so a day of 23 or 25 hours is covered exactly.
pub fn busy_time(event: &ExternalEvent, zone: &TimeZone, horizon: Interval) -> Option<Interval> {
    if event.cancelled || event.shown_as_free || event.declined || event.ours {
        return None;
    }
    let busy = match event.timing {
        EventTiming::Timed { start, end } => Interval::new(start, end).ok()?,
        EventTiming::AllDay { start, end } => {
            // A malformed all-day event with no end still takes its one day.
            let end = if end > start {
                end
            } else {
                start.tomorrow().ok()?
            };
            let first = zone
                .to_ambiguous_timestamp(start.to_datetime(jiff::civil::Time::midnight()))
                .compatible()
                .ok()?;
            let last = zone
                .to_ambiguous_timestamp(end.to_datetime(jiff::civil::Time::midnight()))
                .compatible()
                .ok()?;
            Interval::new(first, last).ok()?
        }
    };
    busy.overlaps(&horizon).then_some(busy)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn horizon() -> Interval {
        Interval::new(
            "2026-01-01T00:00:00Z".parse().unwrap(),
            "2027-01-01T00:00:00Z".parse().unwrap(),
        )
        .unwrap()
    }

    fn timed(start: &str, end: &str) -> ExternalEvent {
        ExternalEvent {
            timing: EventTiming::Timed {
                start: start.parse().unwrap(),
                end: end.parse().unwrap(),
            },
            cancelled: false,
            shown_as_free: false,
            declined: false,
            ours: false,
        }
    }

    fn all_day(start: Date, end: Date) -> ExternalEvent {
        ExternalEvent {
            timing: EventTiming::AllDay { start, end },
            ..timed("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z")
        }
    }

    fn london() -> TimeZone {
        TimeZone::get("Europe/London").unwrap()
    }

    #[test]
    fn a_timed_event_blocks_exactly_its_span() {
        let event = timed("2026-06-01T09:00:00Z", "2026-06-01T10:30:00Z");
        let busy = busy_time(&event, &london(), horizon()).map(|i| (i.start(), i.end()));
        assert_eq!(
            busy.map(|(s, e)| (s.to_string(), e.to_string())),
            Some((
                "2026-06-01T09:00:00Z".to_owned(),
                "2026-06-01T10:30:00Z".to_owned()
            ))
        );
    }

    #[test]
    fn free_declined_cancelled_and_our_own_events_block_nothing() {
        let base = timed("2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z");
        for event in [
            ExternalEvent {
                shown_as_free: true,
                ..base.clone()
            },
            ExternalEvent {
                declined: true,
                ..base.clone()
            },
            ExternalEvent {
                cancelled: true,
                ..base.clone()
            },
            ExternalEvent {
                ours: true,
                ..base.clone()
            },
        ] {
            assert_eq!(busy_time(&event, &london(), horizon()), None, "{event:?}");
        }
    }

    #[test]
    fn an_all_day_event_blocks_its_local_dates_even_across_a_dst_change() {
        // 2026-10-25 is 25 hours long in London.
        let event = all_day(
            jiff::civil::date(2026, 10, 25),
            jiff::civil::date(2026, 10, 27),
        );
        let busy = busy_time(&event, &london(), horizon());
        assert_eq!(
            busy.map(|i| (i.start().to_string(), i.end().to_string())),
            Some((
                "2026-10-24T23:00:00Z".to_owned(),
                "2026-10-27T00:00:00Z".to_owned()
            ))
        );
    }

    #[test]
    fn an_all_day_event_without_a_later_end_takes_its_one_day() {
        let day = jiff::civil::date(2026, 6, 1);
        let busy = busy_time(&all_day(day, day), &TimeZone::UTC, horizon());
        assert_eq!(busy.map(|i| i.length().as_hours()), Some(24));
    }

    #[test]
    fn events_outside_the_horizon_and_empty_events_are_not_kept() {
        let past = timed("2025-06-01T09:00:00Z", "2025-06-01T10:00:00Z");
        let empty = timed("2026-06-01T09:00:00Z", "2026-06-01T09:00:00Z");
        assert_eq!(busy_time(&past, &london(), horizon()), None);
        assert_eq!(busy_time(&empty, &london(), horizon()), None);
    }
}
