//! What every `Store` must do. Each function gets a fresh, empty store.

use std::collections::BTreeSet;
use std::sync::Arc;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use crate::domain::{
    ApiKey, Appointment, AppointmentId, AppointmentStatus, BookingConflict, BookingSource,
    Business, BusinessId, BusinessName, BusinessTimeZone, Customer, CustomerName, Interval,
    Minutes, Service, ServiceId, ServiceName, ServiceSettings, SyncFailure, SyncState, SyncStatus,
    WeeklyHours,
};
use crate::ports::{
    AppointmentChange, AppointmentQuery, BusyEvent, CalendarConnection, CalendarWatch,
    ConnectionHealth, IdempotencyKey, IdempotencyRecord, NewBooking, OAuthAttempt, ProviderKind,
    PushChannel, Store, StoreError,
};

mod holds;
pub use holds::*;

/// Monday 2027-03-01 09:00 UTC (10:00 in Berlin): the base of every fixture time.
fn base() -> Timestamp {
    "2027-03-01T09:00:00Z".parse().unwrap()
}

fn at(minutes: i64) -> Timestamp {
    base()
        .checked_add(SignedDuration::from_mins(minutes))
        .unwrap()
}

fn business() -> Business {
    Business {
        id: BusinessId::generate(),
        name: BusinessName::try_from("Contract Clinic".to_owned()).unwrap(),
        time_zone: BusinessTimeZone::try_from("Europe/Berlin".to_owned()).unwrap(),
        created_at: base(),
    }
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
    let time = Interval::new(at(from), at(to)).unwrap();
    Appointment {
        id: AppointmentId::generate(),
        business_id: service.business_id,
        service_id: service.id,
        time,
        local_date: time
            .start()
            .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Berlin").unwrap())
            .date(),
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
            appointment,
            max_per_day,
            idempotency: None,
        })
        .await
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
        })
        .await
}

async fn with_service(store: &dyn Store) -> (Business, Service) {
    let business = business();
    store
        .create_business(&business, &ApiKey::generate().hash())
        .await
        .unwrap();
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

pub async fn businesses_are_created_once_and_found_by_key(store: Arc<dyn Store>) {
    let business = business();
    let key = ApiKey::generate();
    store.create_business(&business, &key.hash()).await.unwrap();
    assert_eq!(
        store.get_business(business.id).await.unwrap(),
        Some(business.clone())
    );
    assert_eq!(
        store.business_by_api_key(&key.hash()).await.unwrap(),
        Some(business.clone())
    );
    assert_eq!(
        store
            .business_by_api_key(&ApiKey::generate().hash())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.get_business(BusinessId::generate()).await.unwrap(),
        None
    );

    let same_id = store
        .create_business(&business, &ApiKey::generate().hash())
        .await;
    assert!(
        matches!(same_id, Err(StoreError::AlreadyExists)),
        "{same_id:?}"
    );
    let mut other = self::business();
    other.name = BusinessName::try_from("Other".to_owned()).unwrap();
    let same_key = store.create_business(&other, &key.hash()).await;
    assert!(
        matches!(same_key, Err(StoreError::AlreadyExists)),
        "{same_key:?}"
    );
    assert_eq!(
        store.get_business(other.id).await.unwrap(),
        None,
        "a refused business is not half-written"
    );
}

pub async fn services_are_created_listed_and_updated_by_version(store: Arc<dyn Store>) {
    let (business, first) = with_service(store.as_ref()).await;
    let second = service(&business);
    store.create_service(&second).await.unwrap();
    assert!(matches!(
        store.create_service(&second).await,
        Err(StoreError::AlreadyExists)
    ));
    let listed = store.list_services(business.id).await.unwrap();
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort_by_key(|service| service.id);
    assert_eq!(listed, expected);
    assert_eq!(
        store.list_services(BusinessId::generate()).await.unwrap(),
        vec![]
    );

    let mut updated = first.clone();
    updated.settings.duration = Minutes::new(45);
    updated.version = 2;
    store.update_service(&updated, 1).await.unwrap();
    assert_eq!(
        store.get_service(business.id, first.id).await.unwrap(),
        Some(updated.clone())
    );
    let stale = store.update_service(&updated, 1).await;
    assert!(
        matches!(stale, Err(StoreError::VersionMismatch)),
        "{stale:?}"
    );
    let missing = store.update_service(&service(&business), 1).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    assert_eq!(
        store
            .get_service(BusinessId::generate(), first.id)
            .await
            .unwrap(),
        None,
        "scoped by business"
    );
}

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
    store
        .create_appointment(NewBooking {
            appointment: &first,
            max_per_day: None,
            idempotency: Some(&record),
        })
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
    let taken = store
        .create_appointment(NewBooking {
            appointment: &retry,
            max_per_day: None,
            idempotency: Some(&retry_record),
        })
        .await;
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
    let refused = store
        .create_appointment(NewBooking {
            appointment: &clashing,
            max_per_day: None,
            idempotency: Some(&clashing_record),
        })
        .await;
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
    store
        .create_appointment(NewBooking {
            appointment: &first,
            max_per_day: None,
            idempotency: Some(&record),
        })
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
    store
        .create_appointment(NewBooking {
            appointment: &second,
            max_per_day: None,
            idempotency: Some(&reused),
        })
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

pub async fn listing_filters_orders_and_paginates_exactly_once(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let mut booked = Vec::new();
    // 25 appointments inserted out of start order; live ones of a business never share a start.
    for slot in [
        12, 3, 20, 0, 7, 15, 24, 9, 1, 18, 5, 22, 11, 2, 16, 8, 13, 21, 4, 19, 6, 23, 10, 17, 14,
    ] {
        let appointment = appointment(&service, slot * 30, slot * 30 + 30);
        book(store.as_ref(), &appointment, None).await.unwrap();
        booked.push(appointment);
    }
    booked.sort_by_key(|appointment| (appointment.time.start(), appointment.id));
    let cancelled_one = cancelled(&booked[4]);
    change(store.as_ref(), &cancelled_one, None).await.unwrap();
    booked[4] = cancelled_one;
    let failed = SyncState {
        status: SyncStatus::Failed,
        error: Some(SyncFailure {
            code: "provider_error".into(),
            message: "boom".into(),
            retryable: false,
        }),
        updated_at: base(),
        external_event_id: None,
        automatic_retries: 0,
    };
    assert!(
        store
            .update_sync_state(business.id, booked[7].id, booked[7].version, &failed)
            .await
            .unwrap()
    );
    booked[7].sync = failed;

    let all = |status, sync_status, starts_within| AppointmentQuery {
        business_id: business.id,
        starts_within,
        status,
        sync_status,
        after: None,
        limit: 7,
    };
    let collect = |query: AppointmentQuery| {
        let store = store.clone();
        async move {
            let mut query = query;
            let mut items = Vec::new();
            let mut pages = 0;
            loop {
                let page = store.list_appointments(&query).await.unwrap();
                assert!(page.items.len() <= 7);
                items.extend(page.items);
                pages += 1;
                assert!(pages < 30, "pagination does not end");
                match page.next {
                    Some(next) => query.after = Some(next),
                    None => break,
                }
            }
            items
        }
    };
    assert_eq!(collect(all(None, None, None)).await, booked);
    let live: Vec<Appointment> = booked.iter().filter(|a| a.is_live()).cloned().collect();
    assert_eq!(
        collect(all(Some(AppointmentStatus::Booked), None, None)).await,
        live
    );
    assert_eq!(
        collect(all(None, Some(SyncStatus::Failed), None)).await,
        vec![booked[7].clone()]
    );
    let window = Interval::new(at(3 * 30), at(6 * 30)).unwrap();
    assert_eq!(
        collect(all(None, None, Some(window))).await,
        booked[3..6].to_vec()
    );
    let other = AppointmentQuery {
        business_id: BusinessId::generate(),
        ..all(None, None, None)
    };
    assert!(collect(other).await.is_empty());
}

pub async fn live_occupancies_are_the_live_appointments_starting_in_range(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let before = appointment(&service, -60, -30);
    let inside = appointment(&service, 0, 30);
    let cancelled_inside = appointment(&service, 30, 60);
    let at_end = appointment(&service, 60, 90);
    for appointment in [&before, &inside, &cancelled_inside, &at_end] {
        book(store.as_ref(), appointment, None).await.unwrap();
    }
    change(store.as_ref(), &cancelled(&cancelled_inside), None)
        .await
        .unwrap();
    let (_, other_service) = with_service(store.as_ref()).await;
    book(store.as_ref(), &appointment(&other_service, 0, 30), None)
        .await
        .unwrap();

    let found = store
        .live_occupancies(business.id, Interval::new(at(-30), at(60)).unwrap(), base())
        .await
        .unwrap();
    assert_eq!(found, vec![inside.occupancy()]);
}

pub async fn sync_state_changes_only_at_the_matching_version(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let first = appointment(&service, 0, 30);
    book(store.as_ref(), &first, None).await.unwrap();
    let synced = SyncState {
        status: SyncStatus::Synced,
        error: None,
        updated_at: at(1),
        external_event_id: Some("event-1".into()),
        automatic_retries: 2,
    };
    assert!(
        !store
            .update_sync_state(business.id, first.id, 2, &synced)
            .await
            .unwrap(),
        "a newer version is not ours"
    );
    assert_eq!(
        store.get_appointment(business.id, first.id).await.unwrap(),
        Some(first.clone())
    );
    assert!(
        store
            .update_sync_state(business.id, first.id, 1, &synced)
            .await
            .unwrap()
    );
    let stored = store
        .get_appointment(business.id, first.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.sync, synced);
    assert_eq!(stored.version, 1, "a sync result is not a new version");
    let missing = store
        .update_sync_state(business.id, AppointmentId::generate(), 1, &synced)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

pub async fn appointments_are_found_by_sync_status_across_businesses(store: Arc<dyn Store>) {
    let (first_business, first_service) = with_service(store.as_ref()).await;
    let (second_business, second_service) = with_service(store.as_ref()).await;
    let pending_at = |minutes| SyncState {
        status: SyncStatus::Pending,
        error: None,
        updated_at: at(minutes),
        external_event_id: None,
        automatic_retries: 0,
    };
    let old = appointment(&first_service, 0, 30);
    let older = appointment(&second_service, 0, 30);
    let recent = appointment(&first_service, 60, 90);
    let synced = appointment(&second_service, 60, 90);
    for appointment in [&old, &older, &recent, &synced] {
        book(store.as_ref(), appointment, None).await.unwrap();
    }
    store
        .update_sync_state(first_business.id, old.id, 1, &pending_at(-10))
        .await
        .unwrap();
    store
        .update_sync_state(second_business.id, older.id, 1, &pending_at(-20))
        .await
        .unwrap();
    store
        .update_sync_state(first_business.id, recent.id, 1, &pending_at(5))
        .await
        .unwrap();
    let done = SyncState {
        status: SyncStatus::Synced,
        error: None,
        updated_at: at(-30),
        external_event_id: None,
        automatic_retries: 0,
    };
    store
        .update_sync_state(second_business.id, synced.id, 1, &done)
        .await
        .unwrap();

    let stale = store
        .appointments_by_sync_status(SyncStatus::Pending, at(0), 10)
        .await
        .unwrap();
    let ids: Vec<AppointmentId> = stale.iter().map(|appointment| appointment.id).collect();
    assert_eq!(
        ids,
        vec![older.id, old.id],
        "oldest first, only before the cutoff, only pending"
    );
    let limited = store
        .appointments_by_sync_status(SyncStatus::Pending, at(0), 1)
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
    store
        .update_sync_state(second_business.id, older.id, 1, &done)
        .await
        .unwrap();
    let after = store
        .appointments_by_sync_status(SyncStatus::Pending, at(0), 10)
        .await
        .unwrap();
    assert_eq!(
        after.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![old.id],
        "a status change leaves the index"
    );
}

pub async fn calendar_connections_are_stored_and_replaced(store: Arc<dyn Store>) {
    let (business, _) = with_service(store.as_ref()).await;
    assert_eq!(
        store.get_calendar_connection(business.id).await.unwrap(),
        None
    );
    let google = CalendarConnection {
        business_id: business.id,
        provider: ProviderKind::Google,
        account: "clinic@example.com".into(),
        calendar_id: None,
        connected_at: base(),
        health: ConnectionHealth::Connected,
        last_synced_at: None,
    };
    store.put_calendar_connection(&google).await.unwrap();
    assert_eq!(
        store.get_calendar_connection(business.id).await.unwrap(),
        Some(google.clone())
    );
    let chosen = CalendarConnection {
        calendar_id: Some("primary".into()),
        health: ConnectionHealth::ReauthRequired {
            reason: "revoked".into(),
        },
        last_synced_at: Some(at(3)),
        ..google
    };
    store.put_calendar_connection(&chosen).await.unwrap();
    assert_eq!(
        store.get_calendar_connection(business.id).await.unwrap(),
        Some(chosen.clone())
    );
    assert!(
        !store
            .update_connection_health(
                business.id,
                ProviderKind::Microsoft,
                &ConnectionHealth::Connected,
                Some(at(4))
            )
            .await
            .unwrap(),
        "a report about another provider's connection changes nothing"
    );
    assert!(
        store
            .update_connection_health(
                business.id,
                ProviderKind::Google,
                &ConnectionHealth::Connected,
                Some(at(5))
            )
            .await
            .unwrap()
    );
    let error = ConnectionHealth::Error {
        message: "Google answered 503".into(),
    };
    assert!(
        store
            .update_connection_health(business.id, ProviderKind::Google, &error, None)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_calendar_connection(business.id).await.unwrap(),
        Some(CalendarConnection {
            health: error,
            last_synced_at: Some(at(5)),
            ..chosen.clone()
        }),
        "only health and the last sync time change; a report without a time keeps the old one"
    );
    store.delete_calendar_connection(business.id).await.unwrap();
    assert_eq!(
        store.get_calendar_connection(business.id).await.unwrap(),
        None
    );
    assert!(
        !store
            .update_connection_health(
                business.id,
                ProviderKind::Google,
                &ConnectionHealth::Connected,
                Some(at(6))
            )
            .await
            .unwrap(),
        "a late report never brings a disconnected calendar back"
    );
    assert_eq!(
        store.get_calendar_connection(business.id).await.unwrap(),
        None
    );
    store.delete_calendar_connection(business.id).await.unwrap();
}

pub async fn a_lease_has_one_holder_until_it_ends_or_is_released(store: Arc<dyn Store>) {
    let name = format!("refresh-{}", uuid::Uuid::new_v4());
    assert!(
        store
            .try_acquire_lease(&name, "a", at(1), at(0))
            .await
            .unwrap()
    );
    assert!(
        !store
            .try_acquire_lease(&name, "b", at(1), at(0))
            .await
            .unwrap()
    );
    assert!(
        store
            .try_acquire_lease(&name, "a", at(2), at(0))
            .await
            .unwrap(),
        "the holder may extend its own lease"
    );
    store.release_lease(&name, "b").await.unwrap();
    assert!(
        !store
            .try_acquire_lease(&name, "b", at(2), at(1))
            .await
            .unwrap(),
        "another's release changes nothing"
    );
    assert!(
        store
            .try_acquire_lease(&name, "b", at(5), at(3))
            .await
            .unwrap(),
        "an ended lease is free"
    );
    store.release_lease(&name, "b").await.unwrap();
    assert!(
        store
            .try_acquire_lease(&name, "c", at(5), at(3))
            .await
            .unwrap()
    );

    let contested = format!("refresh-{}", uuid::Uuid::new_v4());
    let attempts = (0..20).map(|holder| {
        let store = store.clone();
        let contested = contested.clone();
        tokio::spawn(async move {
            store
                .try_acquire_lease(&contested, &holder.to_string(), at(1), at(0))
                .await
                .unwrap()
        })
    });
    let winners = futures::future::join_all(attempts)
        .await
        .into_iter()
        .filter(|won| *won.as_ref().unwrap())
        .count();
    assert_eq!(winners, 1);
}

pub async fn an_oauth_attempt_is_taken_once_and_not_after_it_expires(store: Arc<dyn Store>) {
    let (business, _) = with_service(store.as_ref()).await;
    let attempt = |nonce: &str, expires_at| OAuthAttempt {
        nonce: nonce.to_owned(),
        business_id: business.id,
        provider: ProviderKind::Microsoft,
        pkce_verifier: "verifier".into(),
        expires_at,
        from_dashboard: true,
    };
    let nonce = uuid::Uuid::new_v4().to_string();
    let fresh = attempt(&nonce, at(10));
    store.put_oauth_attempt(&fresh).await.unwrap();
    assert!(matches!(
        store.put_oauth_attempt(&fresh).await,
        Err(StoreError::AlreadyExists)
    ));
    let takers = (0..8).map(|_| {
        let store = store.clone();
        let nonce = nonce.clone();
        tokio::spawn(async move { store.take_oauth_attempt(&nonce, at(0)).await.unwrap() })
    });
    let taken: Vec<_> = futures::future::join_all(takers)
        .await
        .into_iter()
        .filter_map(|taken| taken.unwrap())
        .collect();
    assert_eq!(taken, vec![fresh]);

    let late = uuid::Uuid::new_v4().to_string();
    store
        .put_oauth_attempt(&attempt(&late, at(10)))
        .await
        .unwrap();
    assert_eq!(store.take_oauth_attempt(&late, at(11)).await.unwrap(), None);
    assert_eq!(
        store
            .take_oauth_attempt("never-issued", at(0))
            .await
            .unwrap(),
        None
    );
}

pub async fn busy_events_are_replaced_deleted_and_found_by_overlap(store: Arc<dyn Store>) {
    let (business, _) = with_service(store.as_ref()).await;
    let span = |from, to| Interval::new(at(from), at(to)).unwrap();
    let event = |id: &str, intervals: Vec<Interval>| BusyEvent {
        business_id: business.id,
        calendar_id: "primary".into(),
        event_id: id.into(),
        intervals,
    };
    store
        .put_busy_event(&event(
            "standup",
            vec![span(0, 15), span(24 * 60, 24 * 60 + 15)],
        ))
        .await
        .unwrap();
    store
        .put_busy_event(&event("vacation", vec![span(-3 * 24 * 60, 10 * 24 * 60)]))
        .await
        .unwrap();
    store
        .put_busy_event(&event("lunch", vec![span(180, 240)]))
        .await
        .unwrap();
    let other = BusyEvent {
        business_id: BusinessId::generate(),
        ..event("foreign", vec![span(0, 600)])
    };
    store.put_busy_event(&other).await.unwrap();

    let found = |from, to| {
        let store = store.clone();
        async move {
            let mut found = store
                .busy_intervals_overlapping(business.id, span(from, to))
                .await
                .unwrap();
            found.sort();
            found
        }
    };
    assert_eq!(
        found(15, 180).await,
        vec![span(-3 * 24 * 60, 10 * 24 * 60)],
        "touching intervals do not overlap"
    );
    assert_eq!(
        found(10, 20).await,
        vec![span(-3 * 24 * 60, 10 * 24 * 60), span(0, 15)]
    );

    store
        .put_busy_event(&event("lunch", vec![span(200, 260)]))
        .await
        .unwrap();
    store
        .delete_busy_event(business.id, "primary", "vacation")
        .await
        .unwrap();
    store
        .delete_busy_event(business.id, "primary", "never-existed")
        .await
        .unwrap();
    assert_eq!(
        found(0, 24 * 60).await,
        vec![span(0, 15), span(200, 260)],
        "replaced and deleted"
    );
    assert_eq!(
        found(24 * 60, 25 * 60).await,
        vec![span(24 * 60, 24 * 60 + 15)]
    );
}

pub async fn fifty_concurrent_bookings_of_one_slot_make_one(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let attempts = (0..50).map(|_| {
        let store = store.clone();
        let candidate = appointment(&service, 0, 30);
        tokio::spawn(async move {
            book(store.as_ref(), &candidate, None)
                .await
                .map(|()| candidate.id)
        })
    });
    let results: Vec<Result<AppointmentId, StoreError>> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|joined| joined.unwrap())
        .collect();
    let winners: Vec<&AppointmentId> = results
        .iter()
        .filter_map(|result| result.as_ref().ok())
        .collect();
    assert_eq!(winners.len(), 1);
    for result in &results {
        if let Err(error) = result {
            assert!(
                matches!(error, StoreError::Conflict(BookingConflict::Overlap { .. })),
                "{error:?}"
            );
        }
    }
    let live = store
        .live_occupancies(business.id, Interval::new(at(-60), at(60)).unwrap(), base())
        .await
        .unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(&live[0].appointment_id, winners[0]);
}

pub async fn concurrent_bookings_never_exceed_the_daily_limit(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let attempts = (0..20).map(|slot| {
        let store = store.clone();
        let candidate = appointment(&service, slot * 30, slot * 30 + 30);
        tokio::spawn(async move { book(store.as_ref(), &candidate, Some(3)).await })
    });
    let results: Vec<Result<(), StoreError>> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|joined| joined.unwrap())
        .collect();
    assert_eq!(
        results.iter().filter(|result| result.is_ok()).count(),
        3,
        "{results:?}"
    );
    let live = store
        .live_occupancies(
            business.id,
            Interval::new(at(-60), at(24 * 60)).unwrap(),
            base(),
        )
        .await
        .unwrap();
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
    let moves = booked.iter().map(|appointment| {
        let store = store.clone();
        let next = moved(appointment, 600, 630);
        tokio::spawn(async move { change(store.as_ref(), &next, None).await })
    });
    let results: Vec<Result<(), StoreError>> = futures::future::join_all(moves)
        .await
        .into_iter()
        .map(|joined| joined.unwrap())
        .collect();
    assert_eq!(
        results.iter().filter(|result| result.is_ok()).count(),
        1,
        "{results:?}"
    );
    let at_target = store
        .live_occupancies(
            business.id,
            Interval::new(at(600), at(601)).unwrap(),
            base(),
        )
        .await
        .unwrap();
    assert_eq!(at_target.len(), 1);
    let all: BTreeSet<AppointmentId> = store
        .live_occupancies(
            business.id,
            Interval::new(at(-60), at(24 * 60)).unwrap(),
            base(),
        )
        .await
        .unwrap()
        .iter()
        .map(|occupancy| occupancy.appointment_id)
        .collect();
    assert_eq!(all.len(), 6, "every appointment is still live exactly once");
}

/// Adapters may index short and long busy intervals apart (the embedded store does); every length must be found,
/// including those that start well before the window.
pub async fn busy_intervals_of_every_length_are_found_by_overlap(store: Arc<dyn Store>) {
    let (business, _) = with_service(store.as_ref()).await;
    let hours = |h: i64| h * 60;
    let span = |from, to| Interval::new(at(from), at(to)).unwrap();
    let window = span(hours(100), hours(101));
    let cases = [
        (
            "all-day on a 25-hour day",
            span(hours(76) - 1, hours(101)),
            true,
        ),
        ("exactly 26 hours", span(hours(75), hours(101)), true),
        (
            "just over 26 hours",
            span(hours(75) - 1, hours(100) + 1),
            true,
        ),
        ("a month away", span(-hours(500), hours(600)), true),
        (
            "ends as the window starts",
            span(hours(50), hours(100)),
            false,
        ),
        (
            "starts as the window ends",
            span(hours(101), hours(200)),
            false,
        ),
        ("long, long ago", span(-hours(900), hours(99)), false),
    ];
    for (id, interval, _) in &cases {
        store
            .put_busy_event(&BusyEvent {
                business_id: business.id,
                calendar_id: "primary".into(),
                event_id: (*id).into(),
                intervals: vec![*interval],
            })
            .await
            .unwrap();
    }
    let mut found = store
        .busy_intervals_overlapping(business.id, window)
        .await
        .unwrap();
    found.sort();
    let mut expected: Vec<Interval> = cases
        .iter()
        .filter(|(_, _, overlaps)| *overlaps)
        .map(|(_, interval, _)| *interval)
        .collect();
    expected.sort();
    assert_eq!(found, expected);
    for (id, _, _) in &cases {
        store
            .delete_busy_event(business.id, "primary", id)
            .await
            .unwrap();
    }
    assert!(
        store
            .busy_intervals_overlapping(business.id, window)
            .await
            .unwrap()
            .is_empty(),
        "deleting removes every index entry"
    );
}

pub async fn busy_event_ids_are_listed_per_calendar(store: Arc<dyn Store>) {
    let (business, _) = with_service(store.as_ref()).await;
    let span = Interval::new(at(0), at(30)).unwrap();
    for (calendar, event) in [
        ("primary", "a"),
        ("primary", "b#1"),
        ("primary-2", "c"),
        ("prim", "d"),
    ] {
        store
            .put_busy_event(&BusyEvent {
                business_id: business.id,
                calendar_id: calendar.into(),
                event_id: event.into(),
                intervals: vec![span],
            })
            .await
            .unwrap();
    }
    let mut ids = store.busy_event_ids(business.id, "primary").await.unwrap();
    ids.sort();
    assert_eq!(ids, vec!["a".to_owned(), "b#1".to_owned()]);
    assert!(
        store
            .busy_event_ids(BusinessId::generate(), "primary")
            .await
            .unwrap()
            .is_empty()
    );
}

fn watch(business_id: BusinessId, version: u64) -> CalendarWatch {
    CalendarWatch {
        business_id,
        provider: ProviderKind::Google,
        calendar_id: "primary".into(),
        cursor: Some(format!("token-{version}")),
        time_zone: Some("Europe/Berlin".into()),
        channel: Some(PushChannel {
            id: format!("{business_id}_channel"),
            resource_id: Some("resource".into()),
            expires_at: at(7 * 24 * 60),
        }),
        secret_hash: "00ff".into(),
        opening: None,
        full_sync_at: Some(at(0)),
        synced_at: Some(at(version as i64)),
        sync_started_at: Some(at(version as i64 - 1)),
        version,
    }
}

pub async fn a_calendar_watch_advances_only_from_the_version_it_read(store: Arc<dyn Store>) {
    let business = BusinessId::generate();
    assert_eq!(store.get_calendar_watch(business).await.unwrap(), None);
    assert!(matches!(
        store.put_calendar_watch(&watch(business, 2), Some(1)).await,
        Err(StoreError::NotFound)
    ));
    store
        .put_calendar_watch(&watch(business, 1), None)
        .await
        .unwrap();
    assert!(matches!(
        store.put_calendar_watch(&watch(business, 1), None).await,
        Err(StoreError::AlreadyExists)
    ));
    store
        .put_calendar_watch(&watch(business, 2), Some(1))
        .await
        .unwrap();
    assert!(
        matches!(
            store.put_calendar_watch(&watch(business, 2), Some(1)).await,
            Err(StoreError::VersionMismatch)
        ),
        "a second writer that read version 1 loses"
    );
    assert_eq!(
        store.get_calendar_watch(business).await.unwrap(),
        Some(watch(business, 2))
    );

    // Many writers racing from the same version: exactly one wins.
    let results = futures::future::join_all((0..10).map(|_| {
        let store = store.clone();
        async move { store.put_calendar_watch(&watch(business, 3), Some(2)).await }
    }))
    .await;
    assert_eq!(results.iter().filter(|result| result.is_ok()).count(), 1);

    store.delete_calendar_watch(business).await.unwrap();
    store.delete_calendar_watch(business).await.unwrap();
    assert_eq!(store.get_calendar_watch(business).await.unwrap(), None);
}

pub async fn calendar_watches_are_walked_in_pages_by_business(store: Arc<dyn Store>) {
    let mut businesses: Vec<BusinessId> = (0..7).map(|_| BusinessId::generate()).collect();
    for business in &businesses {
        store
            .put_calendar_watch(&watch(*business, 1), None)
            .await
            .unwrap();
    }
    businesses.sort();
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = store.calendar_watches(after, 3).await.unwrap();
        assert!(page.len() <= 3);
        let Some(last) = page.last() else { break };
        after = Some(last.business_id);
        walked.extend(page.iter().map(|watch| watch.business_id));
    }
    assert_eq!(walked, businesses);
}
