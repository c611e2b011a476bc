//! The booking rules that must hold under concurrency. Stores call [`check_booking_conflicts`] inside their
//! transaction (or against their guard item), so every adapter enforces exactly the same rules.
//!
//! - The occupied interval of an appointment is `[start − buffer_before, end + buffer_after)`. Occupied intervals
//!   of two live (booked) appointments of a business never overlap, whatever their services.
//! - A service never has more live appointments on one business-local date than its `max_per_day`.

use jiff::SignedDuration;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::{
    AppointmentId, Interval, MAX_BUFFER_MINUTES, MAX_DURATION_MINUTES, Minutes, ServiceId,
};

/// The longest occupied interval any appointment can have. A store looking for appointments whose occupied interval
/// overlaps `[a, b)` need only look at those starting in `[a − MAX_OCCUPIED_SPAN, b + MAX_OCCUPIED_SPAN)`.
pub const MAX_OCCUPIED_SPAN: SignedDuration =
    SignedDuration::from_mins((MAX_DURATION_MINUTES as i64) + 2 * (MAX_BUFFER_MINUTES as i64));

/// `[start − buffer_before, end + buffer_after)`: the time an appointment at `time` (or a hold for it) keeps every
/// other live appointment of the business out of.
pub fn occupied_time(time: Interval, buffer_before: Minutes, buffer_after: Minutes) -> Interval {
    time.widened(buffer_before.as_duration(), buffer_after.as_duration())
}

/// What one live appointment contributes to the booking rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occupancy {
    pub appointment_id: AppointmentId,
    pub service_id: ServiceId,
    pub occupied: Interval,
    pub local_date: Date,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BookingConflict {
    #[error("the time overlaps another appointment")]
    Overlap { other: AppointmentId },
    #[error("the service already has its maximum of {limit} appointments on {date}")]
    DailyLimitReached { date: Date, limit: u32 },
}

/// Checks `candidate` against the live appointments of its business. `existing` may contain the candidate itself
/// (a reschedule); it is skipped. `existing` must include every live appointment whose occupied interval overlaps
/// the candidate's and every live appointment of the candidate's service on its local date.
pub fn check_booking_conflicts<'a>(
    candidate: &Occupancy,
    existing: impl IntoIterator<Item = &'a Occupancy>,
    max_per_day: Option<u32>,
) -> Result<(), BookingConflict> {
    let mut same_day_count: u32 = 0;
    for other in existing {
        if other.appointment_id == candidate.appointment_id {
            continue;
        }
        if other.occupied.overlaps(&candidate.occupied) {
            return Err(BookingConflict::Overlap {
                other: other.appointment_id,
            });
        }
        if other.service_id == candidate.service_id && other.local_date == candidate.local_date {
            same_day_count += 1;
        }
    }
    match max_per_day {
        Some(limit) if same_day_count >= limit => Err(BookingConflict::DailyLimitReached {
            date: candidate.local_date,
            limit,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use jiff::civil::date;

    fn occupancy(service: ServiceId, from_minute: i64, to_minute: i64) -> Occupancy {
        let base = Timestamp::from_second(1_800_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
        let at = |minute: i64| {
            base.checked_add(SignedDuration::from_mins(minute))
                .unwrap_or(base)
        };
        Occupancy {
            appointment_id: AppointmentId::generate(),
            service_id: service,
            occupied: Interval::new(at(from_minute), at(to_minute))
                .unwrap_or_else(|e| panic!("{e}")),
            local_date: date(2027, 1, 15),
        }
    }

    #[test]
    fn overlap_is_rejected_across_services_and_touching_is_allowed() {
        let existing = occupancy(ServiceId::generate(), 0, 60);
        let overlapping = occupancy(ServiceId::generate(), 59, 90);
        let touching = occupancy(ServiceId::generate(), 60, 90);
        assert_eq!(
            check_booking_conflicts(&overlapping, [&existing], None),
            Err(BookingConflict::Overlap {
                other: existing.appointment_id
            })
        );
        assert_eq!(
            check_booking_conflicts(&touching, [&existing], None),
            Ok(())
        );
    }

    #[test]
    fn daily_limit_counts_only_the_same_service_and_date() {
        let service = ServiceId::generate();
        let first = occupancy(service, 0, 30);
        let other_service = occupancy(ServiceId::generate(), 30, 60);
        let candidate = occupancy(service, 60, 90);
        assert_eq!(
            check_booking_conflicts(&candidate, [&first, &other_service], Some(2)),
            Ok(())
        );
        assert!(matches!(
            check_booking_conflicts(&candidate, [&first, &other_service], Some(1)),
            Err(BookingConflict::DailyLimitReached { limit: 1, .. })
        ));
    }

    #[test]
    fn a_reschedule_does_not_conflict_with_itself() {
        let service = ServiceId::generate();
        let current = occupancy(service, 0, 30);
        let mut moved = occupancy(service, 15, 45);
        moved.appointment_id = current.appointment_id;
        assert_eq!(check_booking_conflicts(&moved, [&current], Some(1)), Ok(()));
    }
}
