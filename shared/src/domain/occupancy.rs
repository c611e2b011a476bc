//! The booking rules that must hold under concurrency. Stores call [`check_booking_conflicts`] inside their
//! transaction (or against their guard item), so every adapter enforces exactly the same rules.
//!
//! - The occupied interval of an appointment is `[start − buffer_before, end + buffer_after)`. Occupied intervals
//!   of two live (booked) appointments of one staff member never overlap, whatever their services; two members may
//!   be booked at the same time.
//! - A service never has more live appointments on one business-local date than its `max_per_day`, whoever they
//!   are with; a staff member never has more than their own `max_per_day`, whatever the services.

use jiff::SignedDuration;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::{
    AppointmentId, Interval, MAX_BUFFER_MINUTES, MAX_DURATION_MINUTES, Minutes, ServiceId, StaffId,
};

/// The longest occupied interval any appointment can have. A store looking for appointments whose occupied interval
/// overlaps `[a, b)` need only look at those starting in `[a − MAX_OCCUPIED_SPAN, b + MAX_OCCUPIED_SPAN)`.
pub const MAX_OCCUPIED_SPAN: SignedDuration =
    SignedDuration::from_mins((MAX_DURATION_MINUTES as i64) + 2 * (MAX_BUFFER_MINUTES as i64));

/// `[start − buffer_before, end + buffer_after)`: the time an appointment at `time` (or a hold for it) keeps every
/// other live appointment of its staff member out of.
pub fn occupied_time(time: Interval, buffer_before: Minutes, buffer_after: Minutes) -> Interval {
    time.widened(buffer_before.as_duration(), buffer_after.as_duration())
}

/// What one live appointment contributes to the booking rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occupancy {
    pub appointment_id: AppointmentId,
    pub service_id: ServiceId,
    /// Whose time it takes.
    pub staff_id: StaffId,
    pub occupied: Interval,
    pub local_date: Date,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BookingConflict {
    #[error("the time overlaps another appointment")]
    Overlap { other: AppointmentId },
    #[error("the service already has its maximum of {limit} appointments on {date}")]
    DailyLimitReached { date: Date, limit: u32 },
    #[error("the staff member already has their maximum of {limit} appointments on {date}")]
    StaffDailyLimitReached { date: Date, limit: u32 },
}

/// The maxima per local date a new occupancy is checked against; `None` is unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DailyLimits {
    /// The service's, counted over the whole business.
    pub service: Option<u32>,
    /// The staff member's own, counted over every service.
    pub staff: Option<u32>,
}

/// Checks `candidate` against the live appointments of its business. `existing` may contain the candidate itself
/// (a reschedule); it is skipped. `existing` must include every live appointment of the candidate's staff member
/// whose occupied interval overlaps the candidate's, every live appointment of the candidate's service on its local
/// date and every live appointment of its member on that date; other members' appointments never overlap it.
pub fn check_booking_conflicts<'a>(
    candidate: &Occupancy,
    existing: impl IntoIterator<Item = &'a Occupancy>,
    limits: DailyLimits,
) -> Result<(), BookingConflict> {
    let mut service_day_count: u32 = 0;
    let mut staff_day_count: u32 = 0;
    for other in existing {
        if other.appointment_id == candidate.appointment_id {
            continue;
        }
        let same_member = other.staff_id == candidate.staff_id;
        if same_member && other.occupied.overlaps(&candidate.occupied) {
            return Err(BookingConflict::Overlap {
                other: other.appointment_id,
            });
        }
        if other.local_date == candidate.local_date {
            service_day_count += u32::from(other.service_id == candidate.service_id);
            staff_day_count += u32::from(same_member);
        }
    }
    let date = candidate.local_date;
    match limits {
        DailyLimits {
            service: Some(limit),
            ..
        } if service_day_count >= limit => Err(BookingConflict::DailyLimitReached { date, limit }),
        DailyLimits {
            staff: Some(limit), ..
        } if staff_day_count >= limit => {
            Err(BookingConflict::StaffDailyLimitReached { date, limit })
        }
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
            staff_id: StaffId::first_of(crate::domain::BusinessId::from(uuid::Uuid::nil())),
            occupied: Interval::new(at(from_minute), at(to_minute))
                .unwrap_or_else(|e| panic!("{e}")),
            local_date: date(2027, 1, 15),
        }
    }

    fn service_limit(limit: u32) -> DailyLimits {
        DailyLimits {
            service: Some(limit),
            staff: None,
        }
    }

    #[test]
    fn two_members_may_be_booked_at_once_and_one_member_never_twice() {
        let mut existing = occupancy(ServiceId::generate(), 0, 60);
        let other_member = occupancy(ServiceId::generate(), 30, 90);
        existing.staff_id = StaffId::generate();
        assert_eq!(
            check_booking_conflicts(&other_member, [&existing], DailyLimits::default()),
            Ok(())
        );
        existing.staff_id = other_member.staff_id;
        assert!(matches!(
            check_booking_conflicts(&other_member, [&existing], DailyLimits::default()),
            Err(BookingConflict::Overlap { .. })
        ));
    }

    #[test]
    fn a_member_limit_counts_their_day_over_every_service_and_a_service_limit_every_member() {
        let service = ServiceId::generate();
        let mine = occupancy(ServiceId::generate(), 0, 30);
        let mut someone_elses = occupancy(service, 0, 30);
        someone_elses.staff_id = StaffId::generate();
        let candidate = occupancy(service, 60, 90);
        let staff_limit = DailyLimits {
            service: None,
            staff: Some(1),
        };
        assert!(matches!(
            check_booking_conflicts(&candidate, [&mine], staff_limit),
            Err(BookingConflict::StaffDailyLimitReached { limit: 1, .. })
        ));
        assert_eq!(
            check_booking_conflicts(&candidate, [&someone_elses], staff_limit),
            Ok(())
        );
        assert!(matches!(
            check_booking_conflicts(&candidate, [&someone_elses], service_limit(1)),
            Err(BookingConflict::DailyLimitReached { limit: 1, .. })
        ));
    }

    #[test]
    fn overlap_is_rejected_across_services_and_touching_is_allowed() {
        let existing = occupancy(ServiceId::generate(), 0, 60);
        let overlapping = occupancy(ServiceId::generate(), 59, 90);
        let touching = occupancy(ServiceId::generate(), 60, 90);
        assert_eq!(
            check_booking_conflicts(&overlapping, [&existing], DailyLimits::default()),
            Err(BookingConflict::Overlap {
                other: existing.appointment_id
            })
        );
        assert_eq!(
            check_booking_conflicts(&touching, [&existing], DailyLimits::default()),
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
            check_booking_conflicts(&candidate, [&first, &other_service], service_limit(2)),
            Ok(())
        );
        assert!(matches!(
            check_booking_conflicts(&candidate, [&first, &other_service], service_limit(1)),
            Err(BookingConflict::DailyLimitReached { limit: 1, .. })
        ));
    }

    #[test]
    fn a_reschedule_does_not_conflict_with_itself() {
        let service = ServiceId::generate();
        let current = occupancy(service, 0, 30);
        let mut moved = occupancy(service, 15, 45);
        moved.appointment_id = current.appointment_id;
        assert_eq!(
            check_booking_conflicts(&moved, [&current], service_limit(1)),
            Ok(())
        );
    }
}
