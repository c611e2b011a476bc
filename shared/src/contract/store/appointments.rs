//! What every store must do to find appointments: by time, by sync status, by caller ([`crate::ports::AppointmentStore`]).

use std::sync::Arc;

use super::{appointment, at, base, book, cancelled, change, moved, with_service};
use crate::domain::{
    Appointment, AppointmentId, AppointmentStatus, BusinessId, Customer, CustomerName, Interval,
    PhoneNumber, Service, SyncFailure, SyncFailureCode, SyncState, SyncStatus,
};
use crate::ports::{AppointmentQuery, CallerQuery, ListOrder, Page, PageCursor, Store, StoreError};

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
            code: SyncFailureCode::ProviderError,
            message: "boom".into(),
            retryable: false,
        }),
        updated_at: base(),
        external_event_id: None,
        automatic_retries: 0,
        event_home: None,
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
        staff_id: None,
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
        event_home: None,
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
        event_home: None,
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
        event_home: None,
    };
    store
        .update_sync_state(second_business.id, synced.id, 1, &done)
        .await
        .unwrap();

    // What the sweep finds: pending, last updated before minute 0, at most `limit`, in the store's order.
    let pending_before_now = async |limit: u32| -> Vec<AppointmentId> {
        let found = store
            .appointments_by_sync_status(SyncStatus::Pending, at(0), limit)
            .await
            .unwrap();
        found.iter().map(|appointment| appointment.id).collect()
    };
    assert_eq!(
        pending_before_now(10).await,
        vec![older.id, old.id],
        "oldest first, only before the cutoff, only pending"
    );
    assert_eq!(pending_before_now(1).await.len(), 1);
    store
        .update_sync_state(second_business.id, older.id, 1, &done)
        .await
        .unwrap();
    assert_eq!(
        pending_before_now(10).await,
        vec![old.id],
        "a status change leaves the index"
    );
}

fn phone(text: &str) -> PhoneNumber {
    PhoneNumber::try_from(text.to_owned()).unwrap()
}

fn calling_from(service: &Service, from: i64, number: &str) -> Appointment {
    let mut booked = appointment(service, from, from + 30);
    booked.customer = Customer {
        name: CustomerName::try_from("Caller".to_owned()).unwrap(),
        phone: Some(phone(number)),
        email: None,
    };
    booked
}

fn caller_query(
    service: &Service,
    number: &str,
    order: ListOrder,
    after: Option<PageCursor>,
    limit: u32,
) -> CallerQuery {
    CallerQuery {
        business_id: service.business_id,
        phone: phone(number),
        starts_within: None,
        status: None,
        sync_status: None,
        order,
        after,
        limit,
    }
}

/// Every item of every page, following the cursor.
async fn all_pages(store: &dyn Store, mut query: CallerQuery) -> Vec<Appointment> {
    let mut found = Vec::new();
    loop {
        let Page { items, next } = store.appointments_by_phone(&query).await.unwrap();
        found.extend(items);
        match next {
            Some(next) => query.after = Some(next),
            None => return found,
        }
    }
}

pub async fn a_callers_appointments_are_found_by_phone_and_only_in_their_business(
    store: Arc<dyn Store>,
) {
    const CALLER: &str = "+14155550123";
    let (_, service) = with_service(store.as_ref()).await;
    let (_, other_business_service) = with_service(store.as_ref()).await;
    let mut mine = Vec::new();
    for slot in 0..7 {
        let booked = calling_from(&service, slot * 60, CALLER);
        book(store.as_ref(), &booked, None).await.unwrap();
        mine.push(booked);
    }
    // Same number in another business, another number here, and no number at all: never returned.
    book(
        store.as_ref(),
        &calling_from(&other_business_service, 0, CALLER),
        None,
    )
    .await
    .unwrap();
    book(
        store.as_ref(),
        &calling_from(&service, 600, "+14155550124"),
        None,
    )
    .await
    .unwrap();
    book(store.as_ref(), &appointment(&service, 700, 730), None)
        .await
        .unwrap();
    // A cancelled appointment stays listed, with its status.
    let cancelled_one = cancelled(&mine[3]);
    change(store.as_ref(), &cancelled_one, None).await.unwrap();
    mine[3] = cancelled_one;

    for limit in [1, 3, 50] {
        let ascending = all_pages(
            store.as_ref(),
            caller_query(&service, CALLER, ListOrder::Ascending, None, limit),
        )
        .await;
        assert_eq!(ascending, mine, "limit {limit}");
        let descending = all_pages(
            store.as_ref(),
            caller_query(&service, CALLER, ListOrder::Descending, None, limit),
        )
        .await;
        let mut reversed = mine.clone();
        reversed.reverse();
        assert_eq!(descending, reversed, "limit {limit}");
    }
    assert_eq!(mine[3].status, AppointmentStatus::Cancelled);

    // The other filters apply.
    let mut query = caller_query(&service, CALLER, ListOrder::Ascending, None, 50);
    query.status = Some(AppointmentStatus::Cancelled);
    assert_eq!(
        all_pages(store.as_ref(), query).await,
        vec![mine[3].clone()]
    );
    let mut query = caller_query(&service, CALLER, ListOrder::Descending, None, 50);
    query.starts_within = Some(Interval::new(at(60), at(180)).unwrap());
    query.sync_status = Some(SyncStatus::NotConnected);
    assert_eq!(
        all_pages(store.as_ref(), query).await,
        vec![mine[2].clone(), mine[1].clone()]
    );
    assert!(
        all_pages(
            store.as_ref(),
            caller_query(&service, "+14155550199", ListOrder::Ascending, None, 50)
        )
        .await
        .is_empty()
    );
}

pub async fn the_phone_index_follows_changes_of_number_and_time(store: Arc<dyn Store>) {
    let (_, service) = with_service(store.as_ref()).await;
    let booked = calling_from(&service, 0, "+14155550123");
    book(store.as_ref(), &booked, None).await.unwrap();
    let mut next = moved(&booked, 120, 150);
    next.customer.phone = Some(phone("+442079460018"));
    change(store.as_ref(), &next, None).await.unwrap();
    let query = |number| caller_query(&service, number, ListOrder::Ascending, None, 50);
    assert!(
        all_pages(store.as_ref(), query("+14155550123"))
            .await
            .is_empty()
    );
    assert_eq!(
        all_pages(store.as_ref(), query("+442079460018")).await,
        vec![next.clone()]
    );
    // Taking the number away takes the appointment out of the index.
    let mut without = next.clone();
    without.version += 1;
    without.customer.phone = None;
    change(store.as_ref(), &without, None).await.unwrap();
    assert!(
        all_pages(store.as_ref(), query("+442079460018"))
            .await
            .is_empty()
    );
    // Indexing existing appointments is idempotent and keeps what the index has.
    store.index_existing_phone_numbers().await.unwrap();
    assert_eq!(store.index_existing_phone_numbers().await.unwrap(), 0);
    assert!(
        all_pages(store.as_ref(), query("+442079460018"))
            .await
            .is_empty()
    );
}
