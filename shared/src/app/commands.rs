//! Commands: what a front door (REST, dashboard forms, agent tools) asks the use cases to do, as typed values built
//! from already-parsed domain values. A door only reads its transport's shape (times with the one strict parser,
//! `domain::parse_instant`; customers through the one phone path, `read_customer` and `normalize_customer_phone`,
//! which read national numbers in the business's country), builds a command, runs the use case and answers in its
//! own shape; so a new field or rule is added here once, not once per door.
//!
//! A layer below the use cases: it imports only the domain and the ports' value types.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::{
    AppointmentId, BookingSource, Customer, HoldId, Interval, Notes, ServiceId, StaffId,
};
use crate::ports::IdempotencyKey;

/// An `Idempotency-Key` with a fingerprint of the request it came with: the same key with another request is
/// refused, the same key with the same request replays the first answer.
#[derive(Clone, Debug)]
pub struct IdempotentBooking {
    pub(super) key: IdempotencyKey,
    pub(super) request_fingerprint: String,
}

impl IdempotentBooking {
    /// The one fingerprint every door uses: a SHA-256 of the request's canonical JSON. A door passes the request
    /// as it parsed it (not the bytes it received), so formatting and key order never make a retry look different.
    pub fn new(key: IdempotencyKey, request: &impl Serialize) -> Result<Self, serde_json::Error> {
        let canonical = serde_json::to_vec(request)?;
        Ok(Self {
            key,
            request_fingerprint: hex::encode(Sha256::digest(&canonical)),
        })
    }

    /// Lets a door's tests check that its requests fingerprint as they did before, so stored keys still replay.
    #[cfg(test)]
    pub(crate) fn request_fingerprint(&self) -> &str {
        &self.request_fingerprint
    }
}

/// Which time a booking takes: a slot checked against every rule now, or the time a hold keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookingTarget {
    Slot {
        service_id: ServiceId,
        start: Timestamp,
        /// With whom; `None` is anyone, assigned by the business's policy among those free.
        staff_id: Option<StaffId>,
    },
    Held(HoldId),
}

/// Book a time for a customer, at most once per idempotency key.
#[derive(Clone, Debug)]
pub struct BookAppointment {
    pub(super) target: BookingTarget,
    pub(super) customer: Customer,
    pub(super) notes: Option<Notes>,
    pub(super) source: BookingSource,
    pub(super) idempotency: Option<IdempotentBooking>,
}

impl BookAppointment {
    pub fn new(
        target: BookingTarget,
        customer: Customer,
        notes: Option<Notes>,
        source: BookingSource,
    ) -> Self {
        Self {
            target,
            customer,
            notes,
            source,
            idempotency: None,
        }
    }

    /// Makes retries safe: a repeat with the same key and request books nothing new and gets the first answer.
    pub fn idempotent(self, idempotency: Option<IdempotentBooking>) -> Self {
        Self {
            idempotency,
            ..self
        }
    }
}

/// Keep a time while the caller decides.
#[derive(Clone, Copy, Debug)]
pub struct HoldTime {
    pub service_id: ServiceId,
    pub start: Timestamp,
    /// With whom; `None` is anyone: the member is picked when the hold is made, and the booking keeps them.
    pub staff_id: Option<StaffId>,
}

/// A change to an appointment (a reschedule, an edit, or both); absent fields stay as they are.
#[derive(Clone, Debug, Default)]
pub struct AppointmentEdit {
    pub start: Option<Timestamp>,
    pub customer: Option<Customer>,
    pub notes: Option<Option<Notes>>,
    /// When given, the edit applies only to this version; otherwise concurrent edits are merged.
    pub expected_version: Option<u64>,
    /// Move the appointment to this staff member; without it a reschedule keeps its member (and is refused, with
    /// their alternatives, when they are busy: never silently given to someone else).
    pub staff_id: Option<StaffId>,
}

impl AppointmentEdit {
    /// Move the appointment to `start`, changing nothing else.
    pub fn reschedule(start: Timestamp) -> Self {
        Self {
            start: Some(start),
            ..Self::default()
        }
    }
}

/// Find the free times of a service whose start lies in a window, clipped to what may be booked now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FindTimes {
    pub(super) service_id: ServiceId,
    pub(super) window: Interval,
    pub(super) moving: Option<AppointmentId>,
    pub(super) staff_id: Option<StaffId>,
}

impl FindTimes {
    pub fn in_window(service_id: ServiceId, window: Interval) -> Self {
        Self {
            service_id,
            window,
            moving: None,
            staff_id: None,
        }
    }

    /// Only the times of this staff member (`None`: anyone's, the default).
    pub fn with_staff(self, staff_id: Option<StaffId>) -> Self {
        Self { staff_id, ..self }
    }

    /// The whole local day `date` in `zone`, however long daylight saving makes it; `None` for a day the zone
    /// cannot place (out of range).
    pub fn on_day(service_id: ServiceId, date: Date, zone: &TimeZone) -> Option<Self> {
        let start = date.to_zoned_datetime(zone.clone()).ok()?;
        let end = date.tomorrow().ok()?.to_zoned_datetime(zone.clone()).ok()?;
        let window = Interval::new(start.timestamp(), end.timestamp()).ok()?;
        Some(Self::in_window(service_id, window))
    }

    /// The times `appointment` can be moved to: its own time does not block it, as when it is rescheduled.
    pub fn moving(self, appointment: AppointmentId) -> Self {
        Self {
            moving: Some(appointment),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use jiff::SignedDuration;
    use jiff::civil::date;
    use jiff::tz::TimeZone;

    use super::{FindTimes, IdempotentBooking};
    use crate::domain::ServiceId;
    use crate::ports::IdempotencyKey;

    #[test]
    fn a_day_is_the_zones_whole_local_day_however_long_daylight_saving_makes_it() {
        let zone = TimeZone::get("America/New_York").unwrap();
        let service = ServiceId::generate();
        let length =
            |day| FindTimes::on_day(service, day, &zone).map(|times| times.window.length());
        assert_eq!(
            length(date(2026, 12, 1)),
            Some(SignedDuration::from_hours(24))
        );
        // The clocks go back on 1 November 2026 and forward on 8 March 2026.
        assert_eq!(
            length(date(2026, 11, 1)),
            Some(SignedDuration::from_hours(25))
        );
        assert_eq!(
            length(date(2026, 3, 8)),
            Some(SignedDuration::from_hours(23))
        );
        let first = FindTimes::on_day(service, date(2026, 12, 1), &zone).unwrap();
        assert_eq!(first.window.start().to_string(), "2026-12-01T05:00:00Z");
    }

    fn fingerprint(request: &serde_json::Value) -> String {
        let key = IdempotencyKey::try_from("call-0001".to_owned()).unwrap();
        IdempotentBooking::new(key, request)
            .unwrap()
            .request_fingerprint
    }

    #[test]
    fn the_fingerprint_is_of_the_parsed_request_so_formatting_does_not_count() {
        let parsed: serde_json::Value = serde_json::from_str(
            "{ \"service_id\" : \"s\",\n \"start\": \"2026-12-01T10:00:00Z\" }",
        )
        .unwrap();
        assert_eq!(
            fingerprint(&parsed),
            fingerprint(&json!({"service_id": "s", "start": "2026-12-01T10:00:00Z"}))
        );
        assert_ne!(
            fingerprint(&parsed),
            fingerprint(&json!({"service_id": "s", "start": "2026-12-01T11:00:00Z"}))
        );
        // The hex SHA-256 of the compact JSON, as records stored by earlier releases hold it, so a retry across a
        // deploy still replays.
        assert_eq!(
            fingerprint(&json!({"a": 1})),
            "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
        );
    }
}
