//! What every store must do with bookings, reschedules and cancellations ([`crate::ports::BookingStore`]): the
//! rules enforced in the same atomic write, under races too.

use std::collections::BTreeSet;
use std::sync::Arc;

use jiff::SignedDuration;
use jiff::civil::Date;

use super::{
    all_at_once, appointment, at, base, book, book_with, cancelled, change, idempotency_record,
    moved, occupied, only_winner, service, successes, with_service,
};
use crate::domain::{AppointmentId, BookingConflict, BusinessId, Interval, Minutes};
use crate::ports::{AppointmentChange, Store, StoreError};

pub async fn appointments_are_created_once_and_read_back(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let appointment = appointment(&service, 0, 30);
    book(store.as_ref(), &appointment, None).await.unwrap();
    assert_eq!(
        store
            .get_appointment(business.id, appointment.id)
            .await
            .unwrap(),
        Some(appointment.clone())
    );
    assert_eq!(
        store
            .get_appointment(BusinessId::generate(), appointment.id)
            .await
            .unwrap(),
        None
    );
    let mut elsewhere = appointment.clone();
    elsewhere.time = Interval::new(at(600), at(630)).unwrap();
    let duplicate = book(store.as_ref(), &elsewhere, None).await;
    assert!(
        matches!(duplicate, Err(StoreError::AlreadyExists)),
        "{duplicate:?}"
    );
}

pub async fn overlapping_live_appointments_conflict_across_services(store: Arc<dyn Store>) {
    let (business, consultation) = with_service(store.as_ref()).await;
    let cleaning = service(&business);
    store.create_service(&cleaning).await.unwrap();
    let first = appointment(&consultation, 0, 30);
    book(store.as_ref(), &first, None).await.unwrap();
    let overlapping = appointment(&cleaning, 29, 90);
    let refused = book(store.as_ref(), &overlapping, None).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(BookingConflict::Overlap { other })) if other == first.id),
        "{refused:?}"
    );
    assert_eq!(
        store
            .get_appointment(business.id, overlapping.id)
            .await
            .unwrap(),
        None
    );
}

pub async fn touching_appointments_do_not_conflict(store: Arc<dyn Store>) {
    let (_, service) = with_service(store.as_ref()).await;
    book(store.as_ref(), &appointment(&service, 0, 30), None)
        .await
        .unwrap();
    book(store.as_ref(), &appointment(&service, 30, 60), None)
        .await
        .unwrap();
    book(store.as_ref(), &appointment(&service, -30, 0), None)
        .await
        .unwrap();
}

pub async fn buffers_are_part_of_the_occupied_time(store: Arc<dyn Store>) {
    let (_, service) = with_service(store.as_ref()).await;
    let mut buffered = appointment(&service, 0, 30);
    buffered.buffer_after = Minutes::new(15);
    book(store.as_ref(), &buffered, None).await.unwrap();
    let in_buffer = book(store.as_ref(), &appointment(&service, 40, 70), None).await;
    assert!(
        matches!(
            in_buffer,
            Err(StoreError::Conflict(BookingConflict::Overlap { .. }))
        ),
        "{in_buffer:?}"
    );
    let mut needs_room_before = appointment(&service, 45, 75);
    needs_room_before.buffer_before = Minutes::new(5);
    let refused = book(store.as_ref(), &needs_room_before, None).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    book(store.as_ref(), &appointment(&service, 45, 75), None)
        .await
        .unwrap();
}

pub async fn businesses_never_conflict_with_each_other(store: Arc<dyn Store>) {
    let (_, first) = with_service(store.as_ref()).await;
    let (_, second) = with_service(store.as_ref()).await;
    book(store.as_ref(), &appointment(&first, 0, 30), Some(1))
        .await
        .unwrap();
    book(store.as_ref(), &appointment(&second, 0, 30), Some(1))
        .await
        .unwrap();
}

pub async fn cancelling_frees_the_time_at_once(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let first = appointment(&service, 0, 30);
    book(store.as_ref(), &first, Some(1)).await.unwrap();
    let gone = cancelled(&first);
    change(store.as_ref(), &gone, Some(1)).await.unwrap();
    assert_eq!(
        store.get_appointment(business.id, first.id).await.unwrap(),
        Some(gone)
    );
    book(store.as_ref(), &appointment(&service, 0, 30), Some(1))
        .await
        .unwrap();
}

pub async fn rescheduling_is_checked_against_others_but_not_itself(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let first = appointment(&service, 0, 30);
    let second = appointment(&service, 60, 90);
    book(store.as_ref(), &first, None).await.unwrap();
    book(store.as_ref(), &second, None).await.unwrap();

    let onto_second = moved(&first, 75, 105);
    let refused = change(store.as_ref(), &onto_second, None).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Conflict(BookingConflict::Overlap { .. }))
        ),
        "{refused:?}"
    );
    assert_eq!(
        store.get_appointment(business.id, first.id).await.unwrap(),
        Some(first.clone()),
        "unchanged"
    );

    let overlapping_itself = moved(&first, 15, 45);
    change(store.as_ref(), &overlapping_itself, None)
        .await
        .unwrap();
    assert_eq!(
        store.get_appointment(business.id, first.id).await.unwrap(),
        Some(overlapping_itself.clone())
    );
    book(store.as_ref(), &appointment(&service, 0, 15), None)
        .await
        .unwrap();

    let stale = store
        .update_appointment(AppointmentChange {
            appointment: &moved(&first, 200, 230),
            expected_version: 1,
            max_per_day: None,
            staff_max_per_day: None,
        })
        .await;
    assert!(
        matches!(stale, Err(StoreError::VersionMismatch)),
        "{stale:?}"
    );
    let missing = change(
        store.as_ref(),
        &moved(&appointment(&service, 300, 330), 300, 330),
        None,
    )
    .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

pub async fn the_daily_limit_counts_one_service_on_one_local_date(store: Arc<dyn Store>) {
    let (business, limited) = with_service(store.as_ref()).await;
    let other = service(&business);
    store.create_service(&other).await.unwrap();
    book(store.as_ref(), &appointment(&limited, 0, 30), Some(2))
        .await
        .unwrap();
    book(store.as_ref(), &appointment(&other, 30, 60), Some(2))
        .await
        .unwrap();
    book(store.as_ref(), &appointment(&limited, 60, 90), Some(2))
        .await
        .unwrap();
    let third = book(store.as_ref(), &appointment(&limited, 120, 150), Some(2)).await;
    assert!(
        matches!(
            third,
            Err(StoreError::Conflict(BookingConflict::DailyLimitReached {
                limit: 2,
                ..
            }))
        ),
        "{third:?}"
    );
    // Another local date has its own count: 24 hours later is the next Berlin day.
    let next_day = appointment(&limited, 24 * 60, 24 * 60 + 30);
    book(store.as_ref(), &next_day, Some(2)).await.unwrap();
    book(
        store.as_ref(),
        &appointment(&limited, 24 * 60 + 60, 24 * 60 + 90),
        Some(2),
    )
    .await
    .unwrap();
    let mut into_full_day = moved(&next_day, 180, 210);
    into_full_day.local_date = Date::constant(2027, 3, 1);
    let refused = change(store.as_ref(), &into_full_day, Some(2)).await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Conflict(
                BookingConflict::DailyLimitReached { .. }
            ))
        ),
        "{refused:?}"
    );
}

pub async fn an_idempotency_record_is_written_with_its_booking_only(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let first = appointment(&service, 0, 30);
    let record = idempotency_record(&first, "key-1", base());
    book_with(store.as_ref(), &first, Some(&record), None)
        .await
        .unwrap();
    assert_eq!(
        store
            .get_idempotency_record(business.id, &record.key, base())
            .await
            .unwrap(),
        Some(record.clone())
    );

    let retry = appointment(&service, 120, 150);
    let retry_record = idempotency_record(&retry, "key-1", base());
    let taken = book_with(store.as_ref(), &retry, Some(&retry_record), None).await;
    assert!(
        matches!(taken, Err(StoreError::IdempotencyKeyTaken)),
        "{taken:?}"
    );
    assert_eq!(
        store.get_appointment(business.id, retry.id).await.unwrap(),
        None,
        "no booking without its key"
    );

    let clashing = appointment(&service, 15, 45);
    let clashing_record = idempotency_record(&clashing, "key-2", base());
    let refused = book_with(store.as_ref(), &clashing, Some(&clashing_record), None).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(
        store
            .get_idempotency_record(business.id, &clashing_record.key, base())
            .await
            .unwrap(),
        None,
        "no key without its booking"
    );
    let other_business = BusinessId::generate();
    assert_eq!(
        store
            .get_idempotency_record(other_business, &record.key, base())
            .await
            .unwrap(),
        None,
        "scoped by business"
    );
}

pub async fn an_expired_idempotency_record_is_absent_and_reusable(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let first = appointment(&service, 0, 30);
    let record = idempotency_record(&first, "old-key", base());
    book_with(store.as_ref(), &first, Some(&record), None)
        .await
        .unwrap();
    let later = record
        .expires_at
        .checked_add(SignedDuration::from_secs(1))
        .unwrap();
    assert_eq!(
        store
            .get_idempotency_record(business.id, &record.key, later)
            .await
            .unwrap(),
        None
    );

    let second = appointment(&service, 60, 90);
    let reused = idempotency_record(&second, "old-key", later);
    book_with(store.as_ref(), &second, Some(&reused), None)
        .await
        .unwrap();
    assert_eq!(
        store
            .get_idempotency_record(business.id, &reused.key, later)
            .await
            .unwrap(),
        Some(reused)
    );
}

pub async fn fifty_concurrent_bookings_of_one_slot_make_one(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let results = all_at_once((0..50).map(|_| {
        let store = store.clone();
        let candidate = appointment(&service, 0, 30);
        async move {
            book(store.as_ref(), &candidate, None)
                .await
                .map(|()| candidate.id)
        }
    }))
    .await;
    let winner = only_winner(&results);
    let live = occupied(store.as_ref(), business.id, -60, 60, base()).await;
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].appointment_id, winner);
}

pub async fn concurrent_bookings_never_exceed_the_daily_limit(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let results = all_at_once((0..20).map(|slot| {
        let store = store.clone();
        let candidate = appointment(&service, slot * 30, slot * 30 + 30);
        async move { book(store.as_ref(), &candidate, Some(3)).await }
    }))
    .await;
    assert_eq!(successes(&results), 3, "{results:?}");
    let live = occupied(store.as_ref(), business.id, -60, 24 * 60, base()).await;
    assert_eq!(live.len(), 3);
}

pub async fn concurrent_reschedules_into_one_slot_move_one(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let mut booked = Vec::new();
    for slot in 0..6 {
        let appointment = appointment(&service, slot * 60, slot * 60 + 30);
        book(store.as_ref(), &appointment, None).await.unwrap();
        booked.push(appointment);
    }
    let results = all_at_once(booked.iter().map(|appointment| {
        let store = store.clone();
        let next = moved(appointment, 600, 630);
        async move { change(store.as_ref(), &next, None).await }
    }))
    .await;
    assert_eq!(successes(&results), 1, "{results:?}");
    let at_target = occupied(store.as_ref(), business.id, 600, 601, base()).await;
    assert_eq!(at_target.len(), 1);
    let all: BTreeSet<AppointmentId> = occupied(store.as_ref(), business.id, -60, 24 * 60, base())
        .await
        .iter()
        .map(|occupancy| occupancy.appointment_id)
        .collect();
    assert_eq!(all.len(), 6, "every appointment is still live exactly once");
}

/// A booking handed the read it was checked against obeys the rules all the same when that read is stale: what was
/// booked since wins, and the store reads again rather than trusting it.
pub async fn a_booking_checked_against_a_stale_read_still_conflicts(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let around = Interval::new(at(-24 * 60), at(24 * 60)).unwrap();
    let read = store
        .read_live_occupancies(business.id, around, base())
        .await
        .unwrap();
    assert!(read.occupancies.is_empty());
    let first = appointment(&service, 0, 30);
    book(store.as_ref(), &first, None).await.unwrap();
    let second = appointment(&service, 15, 45);
    let refused = book_with(store.as_ref(), &second, None, Some(&read.mark)).await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(BookingConflict::Overlap { other })) if other == first.id),
        "{refused:?}"
    );
    // A fresh read lets a free time through.
    let read = store
        .read_live_occupancies(business.id, around, base())
        .await
        .unwrap();
    assert_eq!(read.occupancies, vec![first.occupancy()]);
    let third = appointment(&service, 30, 60);
    book_with(store.as_ref(), &third, None, Some(&read.mark))
        .await
        .unwrap();
    assert_eq!(
        store.get_appointment(business.id, third.id).await.unwrap(),
        Some(third)
    );
}
