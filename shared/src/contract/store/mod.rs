//! What every `Store` must do, a file per role of the store; the fixtures they share are here. Each function gets a
//! fresh, empty store.

use std::fmt::Debug;
use std::future::Future;

use jiff::{SignedDuration, Timestamp};

use super::{at, base};

use crate::domain::{
    ApiKey, Appointment, AppointmentId, AppointmentStatus, BookingConflict, BookingSource,
    Business, BusinessId, BusinessName, BusinessTimeZone, Customer, CustomerName, Interval,
    Minutes, Occupancy, Service, ServiceId, ServiceName, ServiceSettings, StaffId, SyncState,
    SyncStatus, WeeklyHours,
};
use crate::ports::{
    AppointmentChange, IdempotencyKey, IdempotencyRecord, NewBooking, ReadMark, Store, StoreError,
};

mod appointments;
mod booking;
mod busy_time;
mod catalog;
mod connections;
mod holds;
mod leases;
mod operator;
mod staff;

pub use appointments::*;
pub use booking::*;
pub use busy_time::*;
pub use catalog::*;
pub use connections::*;
pub use holds::*;
pub use leases::*;
pub use operator::*;
pub use staff::*;

/// `from`..`to` minutes after the base, with the date it starts on in Berlin (the zone of every fixture business).
fn fixture_time(from: i64, to: i64) -> (Interval, jiff::civil::Date) {
    let time = Interval::new(at(from), at(to)).unwrap();
    let local_date = time
        .start()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Berlin").unwrap())
        .date();
    (time, local_date)
}

fn business() -> Business {
    Business {
        id: BusinessId::generate(),
        name: BusinessName::try_from("Contract Clinic".to_owned()).unwrap(),
        time_zone: BusinessTimeZone::try_from("Europe/Berlin".to_owned()).unwrap(),
        created_at: base(),
        disabled_at: None,
    }
}

/// A new business stored with a new API key; both, the key to authenticate with.
async fn stored_business(store: &dyn Store) -> (Business, ApiKey) {
    let business = business();
    let key = ApiKey::generate();
    store.create_business(&business, &key.hash()).await.unwrap();
    (business, key)
}

/// The business `key` authenticates as, if any.
async fn authenticated_as(store: &dyn Store, key: &ApiKey) -> Option<Business> {
    store.business_by_api_key(&key.hash()).await.unwrap()
}

fn service(business: &Business) -> Service {
    Service {
        id: ServiceId::generate(),
        business_id: business.id,
        settings: ServiceSettings {
            name: ServiceName::try_from("Checkup".to_owned()).unwrap(),
            duration: Minutes::new(30),
            slot_interval: Minutes::new(15),
            weekly_hours: WeeklyHours::default(),
            date_overrides: vec![],
            buffer_before: Minutes::new(0),
            buffer_after: Minutes::new(0),
            max_per_day: None,
            minimum_notice: Minutes::new(0),
            booking_horizon_days: 60,
        },
        active: true,
        version: 1,
        created_at: base(),
        updated_at: base(),
    }
}

/// A live appointment of `service` from `from` to `to` minutes after the base, without buffers.
fn appointment(service: &Service, from: i64, to: i64) -> Appointment {
    let (time, local_date) = fixture_time(from, to);
    Appointment {
        id: AppointmentId::generate(),
        business_id: service.business_id,
        service_id: service.id,
        staff_id: StaffId::first_of(service.business_id),
        time,
        local_date,
        buffer_before: Minutes::new(0),
        buffer_after: Minutes::new(0),
        customer: Customer {
            name: CustomerName::try_from("Ana".to_owned()).unwrap(),
            phone: None,
            email: None,
        },
        notes: None,
        source: BookingSource::Api,
        status: AppointmentStatus::Booked,
        version: 1,
        sync: SyncState {
            status: SyncStatus::NotConnected,
            error: None,
            updated_at: base(),
            external_event_id: None,
            automatic_retries: 0,
            event_home: None,
        },
        created_at: base(),
        updated_at: base(),
    }
}

async fn book(
    store: &dyn Store,
    appointment: &Appointment,
    max_per_day: Option<u32>,
) -> Result<(), StoreError> {
    store
        .create_appointment(NewBooking {
            max_per_day,
            ..plain_booking(appointment)
        })
        .await
}

/// Books with an idempotency record written in the same step, or on condition of what an earlier read of the live
/// occupancies saw.
async fn book_with(
    store: &dyn Store,
    appointment: &Appointment,
    idempotency: Option<&IdempotencyRecord>,
    checked_against: Option<&ReadMark>,
) -> Result<(), StoreError> {
    store
        .create_appointment(NewBooking {
            idempotency,
            checked_against,
            ..plain_booking(appointment)
        })
        .await
}

/// A booking the store checks by its own rules only (no overlap): no daily maximum, no idempotency record, no
/// earlier read to be conditional on. Fixtures change the one field a contract is about.
pub fn plain_booking(appointment: &Appointment) -> NewBooking<'_> {
    NewBooking {
        appointment,
        max_per_day: None,
        staff_max_per_day: None,
        idempotency: None,
        checked_against: None,
    }
}

/// The appointment moved to `from`..`to` minutes, one version on.
fn moved(appointment: &Appointment, from: i64, to: i64) -> Appointment {
    let mut next = appointment.clone();
    next.time = Interval::new(at(from), at(to)).unwrap();
    next.version += 1;
    next
}

fn cancelled(appointment: &Appointment) -> Appointment {
    let mut next = appointment.clone();
    next.status = AppointmentStatus::Cancelled;
    next.version += 1;
    next
}

async fn change(
    store: &dyn Store,
    next: &Appointment,
    max_per_day: Option<u32>,
) -> Result<(), StoreError> {
    store
        .update_appointment(AppointmentChange {
            appointment: next,
            expected_version: next.version - 1,
            max_per_day,
            staff_max_per_day: None,
        })
        .await
}

async fn with_service(store: &dyn Store) -> (Business, Service) {
    let (business, _) = stored_business(store).await;
    let service = service(&business);
    store.create_service(&service).await.unwrap();
    (business, service)
}

fn idempotency_record(
    appointment: &Appointment,
    key: &str,
    created_at: Timestamp,
) -> IdempotencyRecord {
    IdempotencyRecord {
        business_id: appointment.business_id,
        key: IdempotencyKey::try_from(key.to_owned()).unwrap(),
        request_fingerprint: "fingerprint".to_owned(),
        appointment_id: appointment.id,
        booked: "{}".to_owned(),
        created_at,
        expires_at: created_at
            .checked_add(SignedDuration::from_hours(24))
            .unwrap(),
    }
}

/// Runs every attempt at once, each on a task of its own, as concurrent callers would; their results in order.
async fn all_at_once<T, F>(attempts: impl IntoIterator<Item = F>) -> Vec<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    futures::future::join_all(attempts.into_iter().map(tokio::spawn))
        .await
        .into_iter()
        .map(|joined| joined.unwrap())
        .collect()
}

/// How many of `results` succeeded.
fn successes<T, E>(results: &[Result<T, E>]) -> usize {
    results.iter().filter(|result| result.is_ok()).count()
}

/// The one attempt of a race for one time that succeeded; every other lost to the overlap.
fn only_winner<T: Copy + Debug>(results: &[Result<T, StoreError>]) -> T {
    let winners: Vec<T> = results
        .iter()
        .filter_map(|result| result.as_ref().ok().copied())
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for error in results.iter().filter_map(|result| result.as_ref().err()) {
        assert!(
            matches!(error, StoreError::Conflict(BookingConflict::Overlap { .. })),
            "{error:?}"
        );
    }
    winners[0]
}

/// The live occupancies starting `from`..`to` minutes after the base, as the store sees them at `now`.
async fn occupied(
    store: &dyn Store,
    business: BusinessId,
    from: i64,
    to: i64,
    now: Timestamp,
) -> Vec<Occupancy> {
    store
        .live_occupancies(business, Interval::new(at(from), at(to)).unwrap(), now)
        .await
        .unwrap()
}
