//! What every store must do with the busy time of external events ([`crate::ports::BusyTimeStore`]).

use std::sync::Arc;

use super::{at, with_service};
use crate::domain::{BusinessId, Interval, MemberBusy, StaffId};
use crate::ports::{BusyEvent, Store};

/// The intervals found, sorted, whoever's they are.
fn intervals_of(found: Vec<MemberBusy>) -> Vec<Interval> {
    let mut intervals: Vec<Interval> = found.into_iter().map(|busy| busy.interval).collect();
    intervals.sort();
    intervals
}

pub async fn busy_events_are_replaced_deleted_and_found_by_overlap(store: Arc<dyn Store>) {
    let (business, _) = with_service(store.as_ref()).await;
    let span = |from, to| Interval::new(at(from), at(to)).unwrap();
    let event = |id: &str, intervals: Vec<Interval>| BusyEvent {
        business_id: business.id,
        staff_id: StaffId::first_of(business.id),
        calendar_key: "primary".into(),
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
            intervals_of(
                store
                    .busy_intervals_overlapping(business.id, span(from, to))
                    .await
                    .unwrap(),
            )
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
                staff_id: StaffId::first_of(business.id),
                calendar_key: "primary".into(),
                event_id: (*id).into(),
                intervals: vec![*interval],
            })
            .await
            .unwrap();
    }
    let found = intervals_of(
        store
            .busy_intervals_overlapping(business.id, window)
            .await
            .unwrap(),
    );
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
                staff_id: StaffId::first_of(business.id),
                calendar_key: calendar.into(),
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

/// Each staff member's busy time comes back with them, both members' from one read, and replacing an event keeps
/// whose it is as written.
pub async fn busy_time_is_read_back_with_the_member_whose_calendar_it_is(store: Arc<dyn Store>) {
    let (business, _) = with_service(store.as_ref()).await;
    let span = |from, to| Interval::new(at(from), at(to)).unwrap();
    let maria = StaffId::first_of(business.id);
    let tom = StaffId::generate();
    let event = |staff_id, calendar: &str, id: &str, intervals| BusyEvent {
        business_id: business.id,
        staff_id,
        calendar_key: calendar.into(),
        event_id: id.into(),
        intervals,
    };
    for busy in [
        event(maria, "maria@example.com", "dentist", vec![span(0, 60)]),
        event(tom, "tom@example.com", "school-run", vec![span(30, 90)]),
        event(
            tom,
            "tom@example.com",
            "gym",
            vec![span(120, 150), span(24 * 60, 24 * 60 + 30)],
        ),
        // A long one, which an adapter may index apart.
        event(
            maria,
            "maria@example.com",
            "away",
            vec![span(-3 * 24 * 60, 3 * 24 * 60)],
        ),
    ] {
        store.put_busy_event(&busy).await.unwrap();
    }
    let found = || {
        let store = store.clone();
        async move {
            let mut found: Vec<(Interval, StaffId)> = store
                .busy_intervals_overlapping(business.id, span(0, 180))
                .await
                .unwrap()
                .into_iter()
                .map(|busy| (busy.interval, busy.staff_id))
                .collect();
            found.sort();
            found
        }
    };
    assert_eq!(
        found().await,
        vec![
            (span(-3 * 24 * 60, 3 * 24 * 60), maria),
            (span(0, 60), maria),
            (span(30, 90), tom),
            (span(120, 150), tom),
        ]
    );

    store
        .put_busy_event(&event(
            tom,
            "tom@example.com",
            "school-run",
            vec![span(40, 100)],
        ))
        .await
        .unwrap();
    store
        .delete_busy_event(business.id, "maria@example.com", "away")
        .await
        .unwrap();
    assert_eq!(
        found().await,
        vec![
            (span(0, 60), maria),
            (span(40, 100), tom),
            (span(120, 150), tom),
        ]
    );
}
