//! A calendar followed by the release before each checked calendar had its own watch. That release kept one watch per
//! business (under the business's key alone, naming no watch, connection or member) and filed its busy time under
//! the calendar's id. After the upgrade the same watch keeps syncing both ways, with no reconnecting and no second
//! channel: notifications are accepted, changes and full syncs replace the busy time it filed, and appointments
//! still reach the calendar.

use booking_core::domain::{BusinessId, Interval, StaffId, WatchId};
use booking_core::ports::{BusyEvent, CalendarWatch};
use jiff::Timestamp;

use crate::harness::{Backend, Emulated, Kind, SyncHarness};

fn on_tuesday(time: &str) -> Timestamp {
    format!("2026-12-01T{time}:00-05:00").parse().unwrap()
}

/// Rewrites the business's watch and busy time as the release before stored them: the one watch under the old key
/// (the first watch's id), its busy events filed under the calendar's id. `busy` is each cached event with its
/// interval.
async fn store_as_the_release_before<E: Emulated>(
    harness: &SyncHarness<E>,
    busy: &[(&str, Interval)],
) -> CalendarWatch {
    let business: BusinessId = harness.app.business_id.parse().unwrap();
    let store = &harness.app.store;
    let mut watches = store.calendar_watches(business).await.unwrap();
    assert_eq!(watches.len(), 1, "{watches:?}");
    let today = watches.remove(0);
    for event_id in store
        .busy_event_ids(business, &today.busy_time_key())
        .await
        .unwrap()
    {
        store
            .delete_busy_event(business, &today.busy_time_key(), &event_id)
            .await
            .unwrap();
    }
    store
        .delete_calendar_watch(business, today.id)
        .await
        .unwrap();
    let old = CalendarWatch {
        id: WatchId::of_first_watch(business),
        ..today
    };
    store.put_calendar_watch(&old, None).await.unwrap();
    for (event_id, interval) in busy {
        store
            .put_busy_event(&BusyEvent {
                business_id: business,
                staff_id: StaffId::first_of(business),
                calendar_key: old.calendar_id.clone(),
                event_id: (*event_id).to_owned(),
                intervals: vec![*interval],
            })
            .await
            .unwrap();
    }
    assert_eq!(old.busy_time_key(), old.calendar_id, "filed as then");
    old
}

/// The times offered on Tuesday, as "HH:MM".
async fn tuesday<E: Emulated>(harness: &SyncHarness<E>) -> Vec<String> {
    harness.free_times("2026-12-01").await
}

pub async fn a_watch_of_the_release_before_keeps_syncing_both_ways<E: Emulated>(backend: Backend) {
    let harness = SyncHarness::<E>::connected(backend).await;
    let calendar = harness.emulator.sync_calendar();
    let dentist = harness
        .add_busy_and_sync(on_tuesday("10:00"), on_tuesday("11:00"))
        .await;
    let old = store_as_the_release_before(
        &harness,
        &[(
            dentist.as_str(),
            Interval::new(on_tuesday("10:00"), on_tuesday("11:00")).unwrap(),
        )],
    )
    .await;
    let channels = harness.emulator.channels().len();
    assert!(!tuesday(&harness).await.contains(&"10:00".to_owned()));

    // A change in the calendar: its notification is accepted against the old watch's channel, and the move replaces
    // the busy time filed under the calendar's id rather than adding a second copy beside it.
    harness
        .change_and_sync(|emulator| {
            emulator.move_event(
                &calendar,
                &dentist,
                on_tuesday("14:00"),
                on_tuesday("15:00"),
            )
        })
        .await;
    let offered = tuesday(&harness).await;
    assert!(offered.contains(&"10:00".to_owned()), "{offered:?}");
    assert!(!offered.contains(&"14:00".to_owned()), "{offered:?}");

    // A full sync (the provider forgot the cursor) drops what the calendar no longer holds from the old filing.
    harness.emulator.invalidate_cursors();
    harness
        .change_and_sync(|emulator| emulator.delete_event(&calendar, &dentist))
        .await;
    harness
        .change_and_sync(|emulator| {
            emulator.add_timed(
                &calendar,
                on_tuesday("12:00"),
                on_tuesday("13:00"),
                Kind::Busy,
            );
        })
        .await;
    let offered = tuesday(&harness).await;
    assert!(offered.contains(&"14:00".to_owned()), "{offered:?}");
    assert!(!offered.contains(&"12:00".to_owned()), "{offered:?}");

    // Still the one watch, under its old id, and no channel opened beside its own.
    let business: BusinessId = harness.app.business_id.parse().unwrap();
    let watches = harness.app.store.calendar_watches(business).await.unwrap();
    assert_eq!(
        watches.iter().map(|watch| watch.id).collect::<Vec<_>>(),
        vec![old.id]
    );
    assert_eq!(harness.emulator.channels().len(), channels);

    // Outbound: an appointment booked after the upgrade reaches the calendar.
    let booked = harness.book("2026-12-01T09:00:00-05:00").await;
    harness.run_jobs().await;
    assert!(
        harness
            .events()
            .iter()
            .any(|event| event.appointment_id == booked),
        "{:?}",
        harness.events()
    );
    harness.assert_no_violations();
}

for_providers!(
    local: [],
    aws: [a_watch_of_the_release_before_keeps_syncing_both_ways],
);
