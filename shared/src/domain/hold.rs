//! Holds: a time kept for a caller between "10:30 is free" and "yes, book it". While alive a hold occupies its time
//! (with the service's buffers) and counts toward the service's daily limit exactly like a booked appointment;
//! once expired it blocks nothing, whether or not anything has removed it yet.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::ids::read_from_any_release;
use super::{
    BusinessId, HoldId, Interval, Minutes, Occupancy, ServiceId, StaffId, ValidationError,
    occupied_time,
};

/// How long a hold lives when the business has not chosen: long enough to take a name and a number.
pub const DEFAULT_HOLD_MINUTES: u32 = 5;
/// The shortest and longest hold a business may choose.
pub const MIN_HOLD_MINUTES: u32 = 1;
pub const MAX_HOLD_MINUTES: u32 = 15;

/// A business's hold lifetime, 1 to 15 minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct HoldMinutes(u32);

impl HoldMinutes {
    pub const DEFAULT: Self = Self(DEFAULT_HOLD_MINUTES);

    pub fn get(self) -> u32 {
        self.0
    }

    pub fn as_duration(self) -> SignedDuration {
        SignedDuration::from_mins(i64::from(self.0))
    }
}

impl TryFrom<u32> for HoldMinutes {
    type Error = ValidationError;

    fn try_from(minutes: u32) -> Result<Self, Self::Error> {
        if !(MIN_HOLD_MINUTES..=MAX_HOLD_MINUTES).contains(&minutes) {
            return Err(ValidationError::new(
                "hold_minutes",
                format!("must be {MIN_HOLD_MINUTES} to {MAX_HOLD_MINUTES} minutes"),
            ));
        }
        Ok(Self(minutes))
    }
}

impl From<HoldMinutes> for u32 {
    fn from(minutes: HoldMinutes) -> Self {
        minutes.0
    }
}

/// A hold as stored. Like an appointment it copies the service's buffers, so the time it blocks never moves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct Hold {
    pub id: HoldId,
    pub business_id: BusinessId,
    pub service_id: ServiceId,
    /// Whose time it keeps; a hold for "anyone" picked the member when it was made.
    #[serde(default = "StaffId::unnamed")]
    pub staff_id: StaffId,
    pub time: Interval,
    /// The business-local date of `time.start`; max-per-day counts by it.
    pub local_date: Date,
    pub buffer_before: Minutes,
    pub buffer_after: Minutes,
    pub created_at: Timestamp,
    /// From this instant on the hold blocks nothing and can no longer be converted.
    pub expires_at: Timestamp,
}

read_from_any_release!(Hold);

impl Hold {
    pub fn occupied(&self) -> Interval {
        occupied_time(self.time, self.buffer_before, self.buffer_after)
    }

    pub fn is_alive_at(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }

    /// What the hold contributes to the booking rules: the occupancy its appointment will have.
    pub fn occupancy(&self) -> Occupancy {
        Occupancy {
            appointment_id: self.id.appointment_id(),
            service_id: self.service_id,
            staff_id: self.staff_id,
            occupied: self.occupied(),
            local_date: self.local_date,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_minutes_are_bounded() {
        assert!(HoldMinutes::try_from(0).is_err());
        assert!(HoldMinutes::try_from(16).is_err());
        assert_eq!(HoldMinutes::try_from(15).map(u32::from).ok(), Some(15));
        assert_eq!(HoldMinutes::DEFAULT.get(), 5);
    }

    /// A 30-minute hold at 09:00 UTC with buffers of 5 and 10 minutes, alive for 5 minutes.
    fn hold() -> Hold {
        let start: Timestamp = "2027-03-01T09:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        Hold {
            id: HoldId::generate(),
            business_id: BusinessId::generate(),
            service_id: ServiceId::generate(),
            staff_id: StaffId::generate(),
            time: Interval::starting_at(start, SignedDuration::from_mins(30))
                .unwrap_or_else(|| panic!("interval")),
            local_date: start.to_zoned_datetime(jiff::tz::TimeZone::UTC).date(),
            buffer_before: Minutes::new(5),
            buffer_after: Minutes::new(10),
            created_at: start,
            expires_at: start + SignedDuration::from_mins(5),
        }
    }

    #[test]
    fn a_hold_is_dead_from_its_expiry_on() {
        let hold = hold();
        let start = hold.time.start();
        assert!(hold.is_alive_at(start));
        assert!(!hold.is_alive_at(hold.expires_at));
        assert_eq!(hold.occupancy().appointment_id, hold.id.appointment_id());
        assert_eq!(hold.occupied().length(), SignedDuration::from_mins(45));
    }

    /// A hold stored before staff members names no member: it reads as its business's first member's; one naming a
    /// member reads as written, and what is written reads back the same.
    #[test]
    fn a_hold_of_any_release_reads_with_its_member() {
        let hold = hold();
        let read = |json: serde_json::Value| {
            serde_json::from_value::<Hold>(json).unwrap_or_else(|e| panic!("{e}"))
        };
        let mut written = serde_json::to_value(&hold).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(written.clone()), hold);
        if let Some(fields) = written.as_object_mut() {
            fields.remove("staff_id");
        }
        assert_eq!(read(written).staff_id, StaffId::first_of(hold.business_id));
    }
}
