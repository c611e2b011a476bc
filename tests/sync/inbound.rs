//! Inbound sync end to end: what the business does in its own calendar reaches `GET /v1/availability` through push
//! notifications, the webhook, the sync job and the busy-time cache, for both providers.

use jiff::Timestamp;
use jiff::civil::date;
use serde_json::{Value, json};

use crate::harness::{Backend, Emulated, Kind, SyncHarness};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Tuesday 2026-12-01 in New York, the harness's test day.
fn on_tuesday(time: &str) -> Timestamp {
    at(&format!("2026-12-01T{time}:00-05:00"))
}

/// Connected, with the first full sync run and the push channel open.
async fn watching<E: Emulated>(backend: Backend) -> SyncHarness<E> {
    let harness = SyncHarness::<E>::connected(backend).await;
    harness.run_jobs().await;
    let channels = harness.emulator.channels();
    assert_eq!(channels.len(), 1, "one push channel: {channels:#?}");
    let integrations: Value = harness
        .app
        .get("/v1/integrations")
        .await
        .json()
        .await
        .unwrap();
    let connection = &integrations["connections"][0];
    assert_eq!(connection["health"]["state"], "connected", "{connection}");
    assert!(
        connection["busy_times_synced_at"].is_string(),
        "{connection}"
    );
    assert!(
        connection["notifications_expire_at"].is_string(),
        "{connection}"
    );
    harness
}

fn assert_offered(times: &[String], expected: &[&str], absent: &[&str]) {
    for time in expected {
        assert!(
            times.iter().any(|t| t == time),
            "{time} not offered: {times:?}"
        );
    }
    for time in absent {
        assert!(
            !times.iter().any(|t| t == time),
            "{time} still offered: {times:?}"
        );
    }
}

pub async fn events_added_moved_and_deleted_change_availability<E: Emulated>(backend: Backend) {
    let harness = watching::<E>(backend).await;
    let calendar = harness.emulator.sync_calendar();
    assert_offered(
        &harness.free_times("2026-12-01").await,
        &["10:00", "14:00"],
        &[],
    );

    let mut id = String::new();
    harness
        .change_and_sync(|emulator| {
            id = emulator.add_timed(
                &calendar,
                on_tuesday("10:00"),
                on_tuesday("11:00"),
                Kind::Busy,
            )
        })
        .await;
    // A 30-minute service: every start whose half hour overlaps [10:00, 11:00) is gone.
    assert_offered(
        &harness.free_times("2026-12-01").await,
        &["09:30", "11:00", "14:00"],
        &["09:45", "10:00", "10:30"],
    );
    let check: Value = harness
        .app
        .post(
            "/v1/availability/check",
            &json!({ "service_id": harness.service_id, "start": "2026-12-01T10:15:00-05:00" }),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(check["reason"], "calendar_busy", "{check}");

    harness
        .change_and_sync(|emulator| {
            emulator.move_event(&calendar, &id, on_tuesday("14:00"), on_tuesday("15:00"))
        })
        .await;
    assert_offered(
        &harness.free_times("2026-12-01").await,
        &["10:00", "13:30", "15:00"],
        &["14:00", "14:30"],
    );

    harness
        .change_and_sync(|emulator| emulator.delete_event(&calendar, &id))
        .await;
    assert_offered(
        &harness.free_times("2026-12-01").await,
        &["10:00", "14:00", "14:30"],
        &[],
    );
    harness.assert_no_violations();
}

for_providers!(
    local: [],
    aws: [events_added_moved_and_deleted_change_availability,],
);
