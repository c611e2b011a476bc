//! Half-open spans of absolute time, and merging them into the sorted, disjoint list the availability engine walks.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::ValidationError;

/// A half-open span of absolute time `[start, end)` with `start < end`. Two intervals that only touch do not overlap,
/// so back-to-back appointments are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawInterval", into = "RawInterval")]
pub struct Interval {
    start: Timestamp,
    end: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct RawInterval {
    start: Timestamp,
    end: Timestamp,
}

impl TryFrom<RawInterval> for Interval {
    type Error = ValidationError;

    fn try_from(raw: RawInterval) -> Result<Self, Self::Error> {
        Interval::new(raw.start, raw.end)
    }
}

impl From<Interval> for RawInterval {
    fn from(interval: Interval) -> Self {
        Self {
            start: interval.start,
            end: interval.end,
        }
    }
}

impl Interval {
    pub fn new(start: Timestamp, end: Timestamp) -> Result<Self, ValidationError> {
        if start < end {
            Ok(Self { start, end })
        } else {
            Err(ValidationError::new("end", "must be after start"))
        }
    }

    /// An interval starting at `start` and lasting `length`; `None` when `length` is not positive or the end would
    /// fall outside the representable range.
    pub fn starting_at(start: Timestamp, length: SignedDuration) -> Option<Self> {
        let end = start.checked_add(length).ok()?;
        Self::new(start, end).ok()
    }

    pub fn start(&self) -> Timestamp {
        self.start
    }

    pub fn end(&self) -> Timestamp {
        self.end
    }

    pub fn length(&self) -> SignedDuration {
        self.end.duration_since(self.start)
    }

    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }

    pub fn contains(&self, other: &Interval) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// The same interval grown by `before` at the start and `after` at the end (saturating at the representable
    /// range, which no real booking reaches).
    pub fn widened(&self, before: SignedDuration, after: SignedDuration) -> Interval {
        let start = self.start.checked_sub(before).unwrap_or(Timestamp::MIN);
        let end = self.end.checked_add(after).unwrap_or(Timestamp::MAX);
        Interval { start, end }
    }
}

/// Sorts and merges intervals so that the result is ordered and no two of its members overlap or touch; one pass
/// over the result then answers "is this span free?" for a whole sorted sequence of spans.
pub fn merge_intervals(mut intervals: Vec<Interval>) -> Vec<Interval> {
    intervals.sort_unstable();
    let mut merged: Vec<Interval> = Vec::with_capacity(intervals.len());
    for interval in intervals {
        match merged.last_mut() {
            Some(last) if interval.start <= last.end => {
                if interval.end > last.end {
                    last.end = interval.end;
                }
            }
            _ => merged.push(interval),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + minutes * 60).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    fn span(from: i64, to: i64) -> Interval {
        Interval {
            start: at(from),
            end: at(to),
        }
    }

    #[test]
    fn rejects_empty_and_reversed_intervals() {
        assert!(Interval::new(at(0), at(0)).is_err());
        assert!(Interval::new(at(1), at(0)).is_err());
    }

    #[test]
    fn touching_intervals_do_not_overlap() {
        assert!(!span(0, 30).overlaps(&span(30, 60)));
        assert!(span(0, 31).overlaps(&span(30, 60)));
    }

    #[test]
    fn merge_joins_overlapping_and_touching_and_sorts() {
        let merged = merge_intervals(vec![span(50, 60), span(0, 10), span(10, 20), span(15, 30)]);
        assert_eq!(merged, vec![span(0, 30), span(50, 60)]);
    }

    #[test]
    fn deserializing_validates_order() {
        let reversed = r#"{"start":"2026-01-01T10:00:00Z","end":"2026-01-01T09:00:00Z"}"#;
        assert!(serde_json::from_str::<Interval>(reversed).is_err());
    }
}
