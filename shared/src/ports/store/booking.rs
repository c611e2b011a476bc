//! The writes that take time: bookings, reschedules, cancellations and holds, each checked against the booking rules in
//! the same atomic step as the write, and the idempotency records written with them.

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{CalendarConnection, CatalogStore, ConnectionStore, ReadMark, StoreError};
use crate::domain::string_newtype_conversions;
use crate::domain::{
    Appointment, AppointmentId, BusinessId, DailyLimits, Hold, HoldId, Service, ServiceId,
    StaffMember, ValidationError,
};

/// A client-chosen `Idempotency-Key`: 1 to 255 visible ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdempotencyKey(String);

impl TryFrom<String> for IdempotencyKey {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if value.is_empty() || value.len() > 255 || !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ValidationError::new(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            ));
        }
        Ok(Self(value))
    }
}

string_newtype_conversions!(IdempotencyKey);

/// What a booking request with an idempotency key produced, so a repeat gets the very same answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub business_id: BusinessId,
    pub key: IdempotencyKey,
    /// Hash of the request body; the same key with another body is refused.
    pub request_fingerprint: String,
    pub appointment_id: AppointmentId,
    /// The appointment as it was booked (its JSON), which every repeat is answered with. Records written before
    /// this held the rendered response under the same name.
    #[serde(rename = "response_body")]
    pub booked: String,
    pub created_at: Timestamp,
    /// After this the record may be forgotten (DynamoDB TTL); adapters treat an expired record as absent.
    pub expires_at: Timestamp,
}

/// A new appointment with what the store needs to enforce the booking rules in the same atomic write.
#[derive(Clone, Copy, Debug)]
pub struct NewBooking<'a> {
    pub appointment: &'a Appointment,
    /// The service's maximum per day (counted over the business).
    pub max_per_day: Option<u32>,
    /// The staff member's own maximum per day (counted over their services).
    pub staff_max_per_day: Option<u32>,
    /// Written in the same transaction as the appointment, so a key never points at a booking that did not happen.
    pub idempotency: Option<&'a IdempotencyRecord>,
    /// The read of the live occupancies the booking was checked against, if the caller has one
    /// ([`crate::ports::AppointmentStore::read_live_occupancies`]): the store may make its write conditional on it
    /// instead of reading again. The rules are enforced all the same.
    pub checked_against: Option<&'a ReadMark>,
}

/// The next state of an existing appointment (reschedule, edit, cancel). `appointment.version` must be
/// `expected_version + 1`.
#[derive(Clone, Copy, Debug)]
pub struct AppointmentChange<'a> {
    pub appointment: &'a Appointment,
    pub expected_version: u64,
    pub max_per_day: Option<u32>,
    pub staff_max_per_day: Option<u32>,
}

/// A new hold with what the store needs to enforce the booking rules in the same atomic write. The hold is checked
/// against live appointments and against the holds alive at its `created_at`.
#[derive(Clone, Copy, Debug)]
pub struct NewHold<'a> {
    pub hold: &'a Hold,
    pub max_per_day: Option<u32>,
    pub staff_max_per_day: Option<u32>,
}

impl NewBooking<'_> {
    pub fn limits(&self) -> DailyLimits {
        DailyLimits {
            service: self.max_per_day,
            staff: self.staff_max_per_day,
        }
    }
}

impl AppointmentChange<'_> {
    pub fn limits(&self) -> DailyLimits {
        DailyLimits {
            service: self.max_per_day,
            staff: self.staff_max_per_day,
        }
    }
}

impl NewHold<'_> {
    pub fn limits(&self) -> DailyLimits {
        DailyLimits {
            service: self.max_per_day,
            staff: self.staff_max_per_day,
        }
    }
}

/// The booking writes. Every method is atomic and enforces the rules of [`crate::domain::check_booking_conflicts`]
/// in the same atomic step as the write, so two concurrent callers can never both succeed in taking overlapping time
/// or the last place of a day.
///
/// Holds take part in those rules like live appointments while they are alive. Expiry is judged at the instant of
/// the write (a hold's `created_at`, an appointment's `updated_at`: the "now" of the use case) or at the `now` a read
/// is given, never by whether a cleanup has run; [`BookingStore::remove_expired_holds`] only tidies.
#[async_trait]
pub trait BookingStore: Send + Sync + 'static {
    /// Stores a new live appointment if it conflicts with no live appointment of its staff member, and neither the
    /// service's nor the member's day is full (`Conflict`), and the
    /// idempotency key, if any, is unused (`IdempotencyKeyTaken`); all or nothing.
    async fn create_appointment(&self, booking: NewBooking<'_>) -> Result<(), StoreError>;

    /// Replaces an appointment if its stored version is `expected_version` (`VersionMismatch`, or `NotFound`). When
    /// the new state is live it is checked against every other live appointment as in `create_appointment`; a
    /// cancelled one frees its time at once.
    async fn update_appointment(&self, change: AppointmentChange<'_>) -> Result<(), StoreError>;

    /// Stores a hold if it conflicts with no live appointment and no live hold of the business (`Conflict`) and
    /// its id is unused by a hold or an appointment (`AlreadyExists`); all or nothing.
    async fn create_hold(&self, hold: NewHold<'_>) -> Result<(), StoreError>;

    /// The hold as stored, possibly expired (until a cleanup removes it), so a caller can tell "expired" from "gone".
    async fn get_hold(
        &self,
        business_id: BusinessId,
        id: HoldId,
    ) -> Result<Option<Hold>, StoreError>;

    /// Removes the hold and frees its time; `Ok(false)` when none was stored.
    async fn release_hold(&self, business_id: BusinessId, id: HoldId) -> Result<bool, StoreError>;

    /// Turns a hold into the booking's appointment in one atomic write: the appointment's id must be the hold's
    /// ([`HoldId::appointment_id`]), and it keeps the hold's time, buffers, service and date. `AlreadyExists` when
    /// that appointment exists (the hold was converted before); `NotFound` when no hold alive at the appointment's
    /// `created_at` is stored; `IdempotencyKeyTaken` as for `create_appointment`. The daily limit is not re-checked:
    /// the hold already counted.
    async fn convert_hold(&self, booking: NewBooking<'_>) -> Result<(), StoreError>;

    /// Deletes up to `limit` holds of any business that expired at or before `now`; how many it deleted. Only
    /// tidies: an expired hold blocks nothing whether or not this has run.
    async fn remove_expired_holds(&self, now: Timestamp, limit: u32) -> Result<u32, StoreError>;

    /// The unexpired record for the key, if any.
    async fn get_idempotency_record(
        &self,
        business_id: BusinessId,
        key: &IdempotencyKey,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>, StoreError>;
}

/// What a booking reads before it decides: its service (or, booking from a hold, the hold), the business's calendar
/// connections and its staff members (as [`CatalogStore::list_staff`] gives them), in one call so that an adapter can
/// fetch all three in one round trip (DynamoDB: one BatchGetItem). The defaults read them concurrently.
#[async_trait]
pub trait BookingReads: CatalogStore + ConnectionStore + BookingStore {
    async fn service_connection_and_staff(
        &self,
        business_id: BusinessId,
        service_id: ServiceId,
    ) -> Result<(Option<Service>, Vec<CalendarConnection>, Vec<StaffMember>), StoreError> {
        tokio::try_join!(
            self.get_service(business_id, service_id),
            self.calendar_connections(business_id),
            self.list_staff(business_id)
        )
    }

    /// The hold (expired or not, as [`BookingStore::get_hold`] gives it), the connections and the staff members: what
    /// a booking from a hold reads before it converts it, the member's name for the answer included.
    async fn hold_connection_and_staff(
        &self,
        business_id: BusinessId,
        hold_id: HoldId,
    ) -> Result<(Option<Hold>, Vec<CalendarConnection>, Vec<StaffMember>), StoreError> {
        tokio::try_join!(
            self.get_hold(business_id, hold_id),
            self.calendar_connections(business_id),
            self.list_staff(business_id)
        )
    }
}
