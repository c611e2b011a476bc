//! Services and appointments made or written straight into a store, below the use cases: the seeds of the benches
//! and of the engine's tests, and the phone-index migration test every store runs. Included by `#[path]` into each user, which names booking-core `booking`
//! (`use booking_core as booking;`, or `use crate as booking;` inside booking-core's own tests).

// Each user takes the part it needs.
#![allow(dead_code)]

use std::fmt::Display;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::booking::domain::{
    Appointment, AppointmentId, AppointmentStatus, BookingSource, BusinessId, Customer,
    CustomerName, Interval, Minutes, PhoneNumber, Service, ServiceId, ServiceSettings, StaffId,
    SyncState,
};
use super::booking::ports::{CallerQuery, ListOrder, NewBooking, Store, StoreError};

fn or_fail<T, E: Display>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|error| panic!("{error}"))
}

/// An active service of a new business, created at the epoch; `settings` must be valid.
pub fn new_service(settings: ServiceSettings) -> Service {
    Service {
        id: ServiceId::generate(),
        business_id: BusinessId::generate(),
        settings: or_fail(settings.validated()),
        active: true,
        version: 1,
        created_at: Timestamp::UNIX_EPOCH,
        updated_at: Timestamp::UNIX_EPOCH,
    }
}

/// A booked appointment over `time`, its date taken in `zone`, with no buffers, notes or email, as the API would
/// have written it at `now` with no calendar connected.
pub fn booked_appointment(
    business_id: BusinessId,
    service_id: ServiceId,
    time: Interval,
    zone: TimeZone,
    name: &str,
    phone: Option<PhoneNumber>,
    now: Timestamp,
) -> Appointment {
    Appointment {
        id: AppointmentId::generate(),
        business_id,
        service_id,
        staff_id: StaffId::first_of(business_id),
        time,
        local_date: time.start().to_zoned_datetime(zone).date(),
        buffer_before: Minutes::new(0),
        buffer_after: Minutes::new(0),
        customer: Customer {
            name: or_fail(CustomerName::try_from(name.to_owned())),
            phone,
            email: None,
        },
        notes: None,
        source: BookingSource::Api,
        status: AppointmentStatus::Booked,
        version: 1,
        sync: SyncState::after_change(false, now),
        created_at: now,
        updated_at: now,
    }
}

/// Writes `appointment` as a new booking with no daily limit and no idempotency key.
pub async fn store_appointment(
    store: &dyn Store,
    appointment: &Appointment,
) -> Result<(), StoreError> {
    store
        .create_appointment(NewBooking {
            appointment,
            max_per_day: None,
            staff_max_per_day: None,
            idempotency: None,
            checked_against: None,
        })
        .await
}

/// An appointment stored before the phone index existed (`strip_index` removes what the store's index holds of it)
/// is found by phone only after the migration, which indexes it once.
pub async fn assert_phone_index_migrated_once(
    store: &dyn Store,
    strip_index: impl AsyncFnOnce(&Appointment),
) {
    let start: Timestamp = or_fail("2027-03-01T09:00:00Z".parse());
    let phone = or_fail(PhoneNumber::try_from("+14155550123".to_owned()));
    let time = or_fail(Interval::new(start, start + SignedDuration::from_mins(30)));
    let appointment = booked_appointment(
        BusinessId::generate(),
        ServiceId::generate(),
        time,
        TimeZone::UTC,
        "Ana",
        Some(phone.clone()),
        start,
    );
    or_fail(store_appointment(store, &appointment).await);
    strip_index(&appointment).await;
    let query = CallerQuery {
        business_id: appointment.business_id,
        phone,
        starts_within: None,
        status: None,
        sync_status: None,
        order: ListOrder::Ascending,
        after: None,
        limit: 10,
    };
    let found = or_fail(store.appointments_by_phone(&query).await);
    assert!(found.items.is_empty(), "{:?}", found.items);
    assert_eq!(or_fail(store.index_existing_phone_numbers().await), 1);
    assert_eq!(
        or_fail(store.appointments_by_phone(&query).await).items,
        vec![appointment]
    );
    assert_eq!(or_fail(store.index_existing_phone_numbers().await), 0);
}
