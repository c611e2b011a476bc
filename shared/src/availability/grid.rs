//! The opening-hours grid in whole seconds. Every civil date-time is handled as "wall seconds" (seconds since
//! 1970-01-01T00:00 of the local calendar, as if it were UTC) and every instant as Unix seconds, so that turning a
//! grid time into an instant is one subtraction of the UTC offset in force. The zone is consulted once per query
//! (its offsets and transitions over the span), never per slot.

use jiff::Timestamp;
use jiff::civil::{Date, Time};

use crate::domain::{LocalTimeRange, Service};

const SECONDS_PER_DAY: i64 = 86_400;
/// jiff bounds UTC offsets to ±25:59:59, so every instant whose wall time falls on a date lies within this much of
/// that date's midnight read as UTC.
const OFFSET_MARGIN: i64 = 26 * 3_600;
const EPOCH_DATE: Date = Date::constant(1970, 1, 1);

/// The smallest whole second not before `t`: an integer-second slot start `s` satisfies `s >= t` iff
/// `s >= ceil_second(t)` and `s < t` iff `s < ceil_second(t)`.
pub(super) fn ceil_second(t: Timestamp) -> i64 {
    t.as_second() + i64::from(t.subsec_nanosecond() > 0)
}

/// The largest whole second not after `t`.
pub(super) fn floor_second(t: Timestamp) -> i64 {
    t.as_second() - i64::from(t.subsec_nanosecond() < 0)
}

pub(super) fn wall_midnight(date: Date) -> i64 {
    date.duration_since(EPOCH_DATE).as_secs()
}

/// Seconds since midnight, rounded up: a range that starts part-way through a second cannot open any earlier.
fn opening_second(time: Time) -> i64 {
    time_second(time) + i64::from(time.subsec_nanosecond() > 0)
}

/// Seconds since midnight, rounded down: a range that ends part-way through a second cannot stay open any later.
fn closing_second(end: Option<Time>) -> i64 {
    end.map_or(SECONDS_PER_DAY, time_second)
}

fn time_second(time: Time) -> i64 {
    i64::from(time.hour()) * 3_600 + i64::from(time.minute()) * 60 + i64::from(time.second())
}

/// The zone's UTC offsets over a span of instants: period `i` starts at `starts[i]` (the first reaches back without
/// bound) and runs to the next start.
#[derive(Clone)]
pub(super) struct ZoneOffsets {
    starts: Vec<i64>,
    offsets: Vec<i64>,
    min: i64,
    max: i64,
}

impl ZoneOffsets {
    /// Offsets for every instant whose local date lies in `first..=last`.
    pub(super) fn for_dates(zone: &jiff::tz::TimeZone, first: Date, last: Date) -> Self {
        let from = wall_midnight(first) - OFFSET_MARGIN;
        let to = wall_midnight(last) + SECONDS_PER_DAY + OFFSET_MARGIN;
        let from = from.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
        let from = Timestamp::from_second(from).unwrap_or(Timestamp::MIN);
        let initial = i64::from(zone.to_offset(from).seconds());
        let mut starts = vec![i64::MIN];
        let mut offsets = vec![initial];
        for transition in zone.following(from) {
            let at = transition.timestamp().as_second();
            if at >= to {
                break;
            }
            starts.push(at);
            offsets.push(i64::from(transition.offset().seconds()));
        }
        let min = offsets.iter().copied().min().unwrap_or(initial);
        let max = offsets.iter().copied().max().unwrap_or(initial);
        Self {
            starts,
            offsets,
            min,
            max,
        }
    }
}

/// Part of one opening range's covered instants that lies within a single offset period.
#[derive(Clone, Copy)]
pub(super) struct Stretch {
    start: i64,
    end: i64,
    offset: i64,
    /// End of the run of stretches that touch this one end to start: a slot starting here must end by then.
    reach: i64,
}

impl Stretch {
    fn covers_wall(&self, wall: i64) -> bool {
        self.start + self.offset <= wall && wall < self.end + self.offset
    }
}

/// Offered start times per local date, before any rule other than opening hours.
pub(super) struct Grid<'a> {
    service: &'a Service,
    offsets: ZoneOffsets,
    step: i64,
    duration: i64,
    stretches: Vec<Stretch>,
}

impl<'a> Grid<'a> {
    pub(super) fn new(service: &'a Service, offsets: ZoneOffsets) -> Self {
        Self {
            service,
            offsets,
            step: i64::from(service.settings.slot_interval.get()) * 60,
            duration: i64::from(service.settings.duration.get()) * 60,
            stretches: Vec::with_capacity(4),
        }
    }

    /// Calls `emit` with every grid start (Unix seconds) of `date` lying in `[from, until)` whose slot fits in one
    /// opening range. `midnight` is `wall_midnight(date)`, passed in so that callers walking consecutive dates add a
    /// day instead of recomputing it.
    pub(super) fn starts_on(
        &mut self,
        date: Date,
        midnight: i64,
        from: i64,
        until: i64,
        mut emit: impl FnMut(i64),
    ) {
        for range in self.service.hours_on(date) {
            self.range_starts(range, midnight, from, until, &mut emit);
        }
    }

    fn range_starts(
        &mut self,
        range: &LocalTimeRange,
        midnight: i64,
        from: i64,
        until: i64,
        emit: &mut impl FnMut(i64),
    ) {
        let open = midnight + opening_second(range.start());
        let close = midnight + closing_second(range.end());
        if open >= close {
            return;
        }
        self.collect_stretches(open, close);
        let step = self.step;
        for (index, stretch) in self.stretches.iter().enumerate() {
            let offset = stretch.offset;
            // Grid index bounds, each derived from `wall = open + k * step` and `instant = wall - offset`.
            let first = ceil_div(stretch.start + offset - open, step)
                .max(ceil_div(from + offset - open, step))
                .max(0);
            let past_stretch = ceil_div(stretch.end + offset - open, step);
            let past_fit = floor_div(stretch.reach + offset - self.duration - open, step) + 1;
            let past_until = ceil_div(until + offset - open, step);
            let past = past_stretch.min(past_fit).min(past_until);
            let earlier = &self.stretches[..index];
            for k in first..past {
                let wall = open + k * step;
                // In a fold the wall time also occurred in an earlier stretch; only that first occurrence counts.
                if earlier.iter().any(|e| e.covers_wall(wall)) {
                    continue;
                }
                emit(wall - offset);
            }
        }
    }

    /// Splits the instants whose wall time lies in `[open, close)` by offset period.
    fn collect_stretches(&mut self, open: i64, close: i64) {
        split_by_offset(&self.offsets, open, close, &mut self.stretches);
    }
}

/// For each of `ranges` on the local date at wall `midnight`, the spans of starts whose slot of `duration` seconds
/// lies inside it (as the grid reads the service's hours), `(first, last)` inclusive, appended to `spans`.
/// `stretches` is scratch space: a caller walking many dates keeps it, so the walk allocates once.
pub(super) fn push_fitting_spans(
    ranges: &[LocalTimeRange],
    offsets: &ZoneOffsets,
    midnight: i64,
    duration: i64,
    stretches: &mut Vec<Stretch>,
    spans: &mut Vec<(i64, i64)>,
) {
    for range in ranges {
        let open = midnight + opening_second(range.start());
        let close = midnight + closing_second(range.end());
        if open >= close {
            continue;
        }
        split_by_offset(offsets, open, close, stretches);
        spans.extend(stretches.iter().filter_map(|stretch| {
            let last = (stretch.end - 1).min(stretch.reach - duration);
            (stretch.start <= last).then_some((stretch.start, last))
        }));
    }
}

/// Splits the instants whose wall time lies in `[open, close)` by offset period, into `stretches`.
fn split_by_offset(offsets: &ZoneOffsets, open: i64, close: i64, stretches: &mut Vec<Stretch>) {
    stretches.clear();
    let earliest = open - offsets.max;
    let latest = close - offsets.min;
    let first = offsets.starts.partition_point(|&s| s <= earliest).max(1) - 1;
    for period in first..offsets.starts.len() {
        let period_start = offsets.starts[period];
        if period_start >= latest {
            break;
        }
        let period_end = offsets.starts.get(period + 1).copied().unwrap_or(i64::MAX);
        let offset = offsets.offsets[period];
        let start = (open - offset).max(period_start);
        let end = (close - offset).min(period_end);
        if start < end {
            stretches.push(Stretch {
                start,
                end,
                offset,
                reach: end,
            });
        }
    }
    for index in (1..stretches.len()).rev() {
        let next = stretches[index];
        let previous = &mut stretches[index - 1];
        if previous.end == next.start {
            previous.reach = next.reach;
        }
    }
}

fn floor_div(value: i64, divisor: i64) -> i64 {
    value.div_euclid(divisor)
}

fn ceil_div(value: i64, divisor: i64) -> i64 {
    -(-value).div_euclid(divisor)
}
