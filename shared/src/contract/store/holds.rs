//! What every store must do with holds ([`crate::ports::BookingStore`]): they block time like appointments while they
//! live, and become their appointment once.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::{
    all_at_once, appointment, at, base, book, business, cancelled, change, fixture_time, moved,
    occupied, only_winner, plain_booking, successes, with_service,
};
use crate::domain::{
    Appointment, BookingConflict, CustomerName, Hold, HoldId, Interval, Minutes, Service, StaffId,
};
use crate::ports::{NewHold, Store, StoreError};

/// A hold of `service` from `from` to `to` minutes after the base, made at the base, alive for 5 minutes.
fn hold(service: &Service, from: i64, to: i64) -> Hold {
    let (time, local_date) = fixture_time(from, to);
    Hold {
        id: HoldId::generate(),
        business_id: service.business_id,
        service_id: service.id,
        staff_id: StaffId::first_of(service.business_id),
        time,
        local_date,
        buffer_before: Minutes::new(0),
        buffer_after: Minutes::new(0),
        created_at: base(),
        expires_at: at(5),
    }
}

async fn place(store: &dyn Store, hold: &Hold, max_per_day: Option<u32>) -> Result<(), StoreError> {
    store
        .create_hold(NewHold {
            hold,
            max_per_day,
            staff_max_per_day: None,
        })
        .await
}

/// The appointment a hold becomes, booked at `now`.
fn from_hold(hold: &Hold, now: Timestamp) -> Appointment {
    made_at(appointment_like(hold), now)
}

fn appointment_like(hold: &Hold) -> Appointment {
    Appointment {
        id: hold.id.appointment_id(),
        business_id: hold.business_id,
        service_id: hold.service_id,
        staff_id: hold.staff_id,
        time: hold.time,
        local_date: hold.local_date,
        buffer_before: hold.buffer_before,
        buffer_after: hold.buffer_after,
        ..placeholder_appointment()
    }
}

fn placeholder_appointment() -> Appointment {
    let business = business();
    let service = super::service(&business);
    appointment(&service, 0, 30)
}

async fn convert(store: &dyn Store, appointment: &Appointment) -> Result<(), StoreError> {
    store.convert_hold(plain_booking(appointment)).await
}

/// An appointment of `service` booked at `now` (so holds are judged alive at `now`).
fn booked_at(service: &Service, from: i64, to: i64, now: Timestamp) -> Appointment {
    made_at(appointment(service, from, to), now)
}

/// Books `service` from `from` to `to` minutes after the base, at `now`, within the daily limit `max_per_day`.
async fn book_at(
    store: &dyn Store,
    service: &Service,
    from: i64,
    to: i64,
    now: Timestamp,
    max_per_day: Option<u32>,
) -> Result<(), StoreError> {
    book(store, &booked_at(service, from, to, now), max_per_day).await
}

/// `appointment` as written at `now`.
fn made_at(mut appointment: Appointment, now: Timestamp) -> Appointment {
    appointment.created_at = now;
    appointment.updated_at = now;
    appointment
}

fn is_overlap(result: &Result<(), StoreError>) -> bool {
    matches!(
        result,
        Err(StoreError::Conflict(BookingConflict::Overlap { .. }))
    )
}

pub async fn a_hold_blocks_its_time_for_bookings_and_other_holds(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let mut held = hold(&service, 60, 90);
    held.buffer_after = Minutes::new(15);
    place(store.as_ref(), &held, None).await.unwrap();
    assert_eq!(
        store.get_hold(business.id, held.id).await.unwrap(),
        Some(held.clone())
    );
    assert_eq!(
        place(store.as_ref(), &held, None)
            .await
            .err()
            .map(|e| e.to_string()),
        Some(StoreError::AlreadyExists.to_string())
    );

    // Bookings and holds of any service, inside the buffer too, are refused while it lives.
    let other_service = super::service(&business);
    store.create_service(&other_service).await.unwrap();
    let inside_buffer = booked_at(&other_service, 100, 130, at(1));
    assert!(is_overlap(
        &book(store.as_ref(), &inside_buffer, None).await
    ));
    assert!(is_overlap(
        &place(store.as_ref(), &hold(&service, 75, 105), None).await
    ));
    // Rescheduling onto it is refused as well.
    let elsewhere = booked_at(&service, 0, 30, at(1));
    book(store.as_ref(), &elsewhere, None).await.unwrap();
    let mut onto = moved(&elsewhere, 70, 100);
    onto.updated_at = at(1);
    assert!(is_overlap(&change(store.as_ref(), &onto, None).await));
    // After the buffer is free.
    book_at(store.as_ref(), &other_service, 105, 135, at(1), None)
        .await
        .unwrap();

    let live = occupied(store.as_ref(), business.id, 50, 70, at(1)).await;
    assert_eq!(live.len(), 1);
    assert_eq!(live[0], held.occupancy());
}

pub async fn a_hold_counts_toward_the_daily_limit_while_it_lives(store: Arc<dyn Store>) {
    let (_, service) = with_service(store.as_ref()).await;
    place(store.as_ref(), &hold(&service, 60, 90), Some(2))
        .await
        .unwrap();
    book_at(store.as_ref(), &service, 120, 150, at(1), Some(2))
        .await
        .unwrap();
    // Full while the hold lives: for bookings and for holds.
    assert!(matches!(
        book_at(store.as_ref(), &service, 180, 210, at(1), Some(2)).await,
        Err(StoreError::Conflict(BookingConflict::DailyLimitReached {
            limit: 2,
            ..
        }))
    ));
    let mut late_hold = hold(&service, 240, 270);
    late_hold.created_at = at(1);
    late_hold.expires_at = at(6);
    assert!(matches!(
        place(store.as_ref(), &late_hold, Some(2)).await,
        Err(StoreError::Conflict(
            BookingConflict::DailyLimitReached { .. }
        ))
    ));
    // Once it expired (at 5), its place is free again, without any cleanup.
    book_at(store.as_ref(), &service, 180, 210, at(5), Some(2))
        .await
        .unwrap();
}

pub async fn a_hold_converts_into_its_appointment_exactly_once(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let held = hold(&service, 60, 90);
    place(store.as_ref(), &held, Some(2)).await.unwrap();
    let appointment = from_hold(&held, at(2));
    convert(store.as_ref(), &appointment).await.unwrap();

    assert_eq!(
        store
            .get_appointment(business.id, held.id.appointment_id())
            .await
            .unwrap(),
        Some(appointment.clone())
    );
    assert_eq!(store.get_hold(business.id, held.id).await.unwrap(), None);
    assert!(matches!(
        convert(store.as_ref(), &from_hold(&held, at(3))).await,
        Err(StoreError::AlreadyExists)
    ));
    // The time stays taken, by the appointment now, and counts once toward the limit: one more place is left.
    assert!(is_overlap(
        &book_at(store.as_ref(), &service, 60, 90, at(3), None).await
    ));
    let live = occupied(store.as_ref(), business.id, 0, 120, at(3)).await;
    assert_eq!(live, vec![appointment.occupancy()]);
    book_at(store.as_ref(), &service, 120, 150, at(3), Some(2))
        .await
        .unwrap();
    assert!(matches!(
        book_at(store.as_ref(), &service, 180, 210, at(3), Some(2)).await,
        Err(StoreError::Conflict(
            BookingConflict::DailyLimitReached { .. }
        ))
    ));
    // Cancelling the converted appointment frees its time like any other.
    let mut cancelled_now = cancelled(&appointment);
    cancelled_now.updated_at = at(4);
    change(store.as_ref(), &cancelled_now, None).await.unwrap();
    book_at(store.as_ref(), &service, 60, 90, at(4), None)
        .await
        .unwrap();
}

pub async fn concurrent_conversions_of_one_hold_make_one_appointment(store: Arc<dyn Store>) {
    let (_, service) = with_service(store.as_ref()).await;
    let held = hold(&service, 60, 90);
    place(store.as_ref(), &held, None).await.unwrap();
    let results = all_at_once((0..10).map(|n| {
        let store = store.clone();
        let mut appointment = from_hold(&held, at(1));
        appointment.customer.name = CustomerName::try_from(format!("Caller {n}")).unwrap();
        async move { convert(store.as_ref(), &appointment).await }
    }))
    .await;
    assert_eq!(successes(&results), 1, "{results:?}");
    for result in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(result, StoreError::AlreadyExists | StoreError::NotFound),
            "{result:?}"
        );
    }
}

pub async fn a_released_hold_frees_its_time_and_cannot_be_converted(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let held = hold(&service, 60, 90);
    place(store.as_ref(), &held, Some(1)).await.unwrap();
    assert!(store.release_hold(business.id, held.id).await.unwrap());
    assert!(!store.release_hold(business.id, held.id).await.unwrap());
    assert_eq!(store.get_hold(business.id, held.id).await.unwrap(), None);
    assert!(matches!(
        convert(store.as_ref(), &from_hold(&held, at(1))).await,
        Err(StoreError::NotFound)
    ));
    // Its time and its place of the day are free at once.
    book_at(store.as_ref(), &service, 60, 90, at(1), Some(1))
        .await
        .unwrap();
}

pub async fn an_expired_hold_blocks_nothing_without_any_cleanup(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let held = hold(&service, 60, 90);
    place(store.as_ref(), &held, Some(1)).await.unwrap();
    let window = Interval::new(at(0), at(120)).unwrap();
    assert_eq!(
        store
            .live_occupancies(business.id, window, at(5) - SignedDuration::from_nanos(1))
            .await
            .unwrap()
            .len(),
        1
    );
    // At its expiry it is gone from every rule: availability, holds, bookings, the daily limit.
    assert!(
        store
            .live_occupancies(business.id, window, at(5))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        convert(store.as_ref(), &from_hold(&held, at(5))).await,
        Err(StoreError::NotFound)
    ));
    let mut next_hold = hold(&service, 60, 90);
    next_hold.created_at = at(5);
    next_hold.expires_at = at(10);
    place(store.as_ref(), &next_hold, Some(1)).await.unwrap();
    // The second hold took the day's only place; once it expires a booking gets the time.
    book_at(store.as_ref(), &service, 60, 90, at(10), Some(1))
        .await
        .unwrap();
    // The expired hold is still readable until tidied, so a caller can be told it expired.
    if let Some(stored) = store.get_hold(business.id, held.id).await.unwrap() {
        assert!(!stored.is_alive_at(at(5)));
    }
}

pub async fn removing_expired_holds_keeps_the_live_ones(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let expired = hold(&service, 60, 90);
    let mut live = hold(&service, 120, 150);
    live.expires_at = at(60);
    place(store.as_ref(), &expired, None).await.unwrap();
    place(store.as_ref(), &live, None).await.unwrap();
    let removed = store.remove_expired_holds(at(10), 100).await.unwrap();
    assert!(removed <= 1);
    if removed == 1 {
        assert_eq!(store.get_hold(business.id, expired.id).await.unwrap(), None);
    }
    assert_eq!(
        store.get_hold(business.id, live.id).await.unwrap(),
        Some(live.clone())
    );
    assert!(is_overlap(
        &book_at(store.as_ref(), &service, 120, 150, at(10), None).await
    ));
}

pub async fn fifty_concurrent_holds_of_one_time_make_one(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let results = all_at_once((0..50).map(|_| {
        let store = store.clone();
        let candidate = hold(&service, 0, 30);
        async move {
            place(store.as_ref(), &candidate, None)
                .await
                .map(|()| candidate.id)
        }
    }))
    .await;
    let winner = only_winner(&results);
    let live = occupied(store.as_ref(), business.id, -60, 60, at(1)).await;
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].appointment_id, winner.appointment_id());
}

pub async fn a_hold_racing_a_booking_lets_exactly_one_win(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    for round in 0..10 {
        let (from, to) = (round * 60, round * 60 + 30);
        let candidate_hold = hold(&service, from, to);
        let candidate_booking = booked_at(&service, from, to, at(1));
        let (held, booked) = tokio::join!(
            {
                let store = store.clone();
                async move { place(store.as_ref(), &candidate_hold, None).await }
            },
            {
                let store = store.clone();
                async move { book(store.as_ref(), &candidate_booking, None).await }
            }
        );
        assert!(
            held.is_ok() != booked.is_ok(),
            "round {round}: hold {held:?}, booking {booked:?}"
        );
        assert!(is_overlap(if held.is_ok() { &booked } else { &held }));
        let live = occupied(store.as_ref(), business.id, from, to, at(1)).await;
        assert_eq!(live.len(), 1, "round {round}");
    }
}
