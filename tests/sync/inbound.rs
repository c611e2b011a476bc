//! Inbound sync end to end: what the business does in its own calendar reaches `GET /v1/availability` through push
//! notifications, the webhook, the sync job and the busy-time cache, for both providers.

use jiff::Timestamp;
use jiff::civil::date;
use serde_json::{Value, json};

use crate::harness::{Backend, Emulated, Kind, Random, SyncHarness, sync_seed};

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Tuesday 2026-12-01 in New York, the harness's test day.
fn on_tuesday(time: &str) -> Timestamp {
    at(&format!("2026-12-01T{time}:00-05:00"))
}

/// Connected, with the first full sync run and the push channel open; with the synced calendar's id.
async fn watching<E: Emulated>(backend: Backend) -> (SyncHarness<E>, String) {
    let harness = SyncHarness::<E>::connected(backend).await;
    harness.run_jobs().await;
    let channels = harness.emulator.channels();
    assert_eq!(channels.len(), 1, "one push channel: {channels:#?}");
    let connection = &harness.connection().await;
    assert_eq!(connection["health"]["state"], "connected", "{connection}");
    assert!(
        connection["busy_times_synced_at"].is_string(),
        "{connection}"
    );
    assert!(
        connection["notifications_expire_at"].is_string(),
        "{connection}"
    );
    // Google announces a new channel at once, before our request to open it has returned: even that is accepted.
    if E::KIND == booking_core::ports::ProviderKind::GOOGLE {
        harness.await_notifications(1).await;
    }
    for (_, label, status) in harness.emulator.notifications() {
        assert!((200..300).contains(&status), "{label} answered {status}");
    }
    let calendar = harness.emulator.sync_calendar();
    (harness, calendar)
}

/// Busy half hours at every hour from 09:00 to 16:00 on Friday 2026-12-04, added at once; returns when all eight
/// notifications have arrived.
async fn add_eight_busy_half_hours_at_once<E: Emulated>(harness: &SyncHarness<E>, calendar: &str) {
    let before = harness.emulator.notifications().len();
    for hour in 9..17 {
        let start = on("2026-12-04", &format!("{hour:02}:00"));
        let end = on("2026-12-04", &format!("{hour:02}:30"));
        harness.emulator.add_timed(calendar, start, end, Kind::Busy);
    }
    harness.await_notifications(before + 8).await;
}

/// Adds a busy event to the synced calendar on Tuesday, from `start` to `end` ("HH:MM"), running no sync.
fn add_busy_on_tuesday<E: Emulated>(harness: &SyncHarness<E>, start: &str, end: &str) -> String {
    let calendar = harness.emulator.sync_calendar();
    harness
        .emulator
        .add_timed(&calendar, on_tuesday(start), on_tuesday(end), Kind::Busy)
}

/// Adds a busy event to the synced calendar on Tuesday, from `start` to `end` ("HH:MM"), and runs its sync.
async fn synced_busy_on_tuesday<E: Emulated>(
    harness: &SyncHarness<E>,
    start: &str,
    end: &str,
) -> String {
    harness
        .add_busy_and_sync(on_tuesday(start), on_tuesday(end))
        .await
}

/// The busy time cached from midnight of one day to midnight of another, in the business's zone.
async fn cached_between<E: Emulated>(
    harness: &SyncHarness<E>,
    from: &str,
    to: &str,
) -> Vec<(Timestamp, Timestamp)> {
    harness
        .cached_busy(on(from, "00:00"), on(to, "00:00"))
        .await
}

/// Checks that the `expected` times (space-separated, e.g. "09:30 10:00") are offered on `date` and the `absent`
/// ones are not.
async fn assert_offered_on<E: Emulated>(
    harness: &SyncHarness<E>,
    date: &str,
    expected: &str,
    absent: &str,
) {
    let times = harness.free_times(date).await;
    for time in expected.split_whitespace() {
        assert!(
            times.iter().any(|t| t == time),
            "{time} not offered: {times:?}"
        );
    }
    for time in absent.split_whitespace() {
        assert!(
            !times.iter().any(|t| t == time),
            "{time} still offered: {times:?}"
        );
    }
}

pub async fn events_added_moved_and_deleted_change_availability<E: Emulated>(backend: Backend) {
    let (harness, calendar) = watching::<E>(backend).await;
    assert_offered_on(&harness, "2026-12-01", "10:00 14:00", "").await;

    let id = synced_busy_on_tuesday(&harness, "10:00", "11:00").await;
    // A 30-minute service: every start whose half hour overlaps [10:00, 11:00) is gone.
    assert_offered_on(
        &harness,
        "2026-12-01",
        "09:30 11:00 14:00",
        "09:45 10:00 10:30",
    )
    .await;
    let check = harness
        .app
        .post_json(
            "/v1/availability/check",
            &json!({ "service_id": harness.service_id, "start": "2026-12-01T10:15:00-05:00" }),
        )
        .await;
    assert_eq!(check["reason"], "calendar_busy", "{check}");

    harness
        .change_and_sync(|emulator| {
            emulator.move_event(&calendar, &id, on_tuesday("14:00"), on_tuesday("15:00"))
        })
        .await;
    assert_offered_on(&harness, "2026-12-01", "10:00 13:30 15:00", "14:00 14:30").await;

    harness
        .change_and_sync(|emulator| emulator.delete_event(&calendar, &id))
        .await;
    assert_offered_on(&harness, "2026-12-01", "10:00 14:00 14:30", "").await;
    harness.assert_no_violations();
}

fn on(day: &str, time: &str) -> Timestamp {
    at(&format!("{day}T{time}:00-05:00"))
}

pub async fn what_blocks_follows_the_events_kind_and_the_owners_answer<E: Emulated>(
    backend: Backend,
) {
    let (harness, calendar) = watching::<E>(backend).await;
    let tuesday = "2026-12-01";
    let series_start = on("2026-12-07", "15:00");
    let mut instances = Vec::new();
    harness
        .change_and_sync(|emulator| {
            emulator.add_timed(
                &calendar,
                on(tuesday, "09:00"),
                on(tuesday, "09:30"),
                Kind::Tentative,
            );
            emulator.add_timed(
                &calendar,
                on(tuesday, "11:00"),
                on(tuesday, "12:00"),
                Kind::Free,
            );
            emulator.add_timed(
                &calendar,
                on(tuesday, "13:00"),
                on(tuesday, "14:00"),
                Kind::Declined,
            );
            emulator.add_all_day(&calendar, date(2026, 12, 2), date(2026, 12, 3), true);
            emulator.add_all_day(&calendar, date(2026, 12, 3), date(2026, 12, 4), false);
            instances =
                emulator.add_daily_series(&calendar, series_start, on("2026-12-07", "16:00"), 3);
        })
        .await;
    // The Tuesday 8th instance moves to the morning; the Wednesday 9th one is cancelled.
    harness
        .change_and_sync(|emulator| {
            emulator.move_event(
                &calendar,
                &instances[1],
                on("2026-12-08", "09:00"),
                on("2026-12-08", "10:00"),
            )
        })
        .await;
    harness
        .change_and_sync(|emulator| emulator.delete_event(&calendar, &instances[2]))
        .await;
    // More notifications may still arrive for the batch above; each only runs a sync that finds nothing new.
    harness.run_jobs().await;

    assert_offered_on(
        &harness,
        tuesday,
        "09:30 11:00 11:30 13:00 13:30",
        "09:00 09:15",
    )
    .await;
    assert_eq!(
        harness.free_times("2026-12-02").await,
        Vec::<String>::new(),
        "busy all day"
    );
    assert_eq!(
        harness.free_times("2026-12-03").await.len(),
        31,
        "free all day"
    );
    assert_offered_on(&harness, "2026-12-07", "14:30 16:00", "15:00 15:30").await;
    assert_offered_on(&harness, "2026-12-08", "10:00 15:00", "09:00 09:30").await;
    assert_offered_on(&harness, "2026-12-09", "15:00 15:30", "").await;
    harness.assert_no_violations();
}

pub async fn our_own_events_never_block_the_appointments_they_show<E: Emulated>(backend: Backend) {
    let (harness, _) = watching::<E>(backend).await;
    let before = harness.emulator.notifications().len();
    let id = harness.book("2026-12-01T10:00:00-05:00").await;
    // The appointment's event is written, and its notification makes the calendar sync read it back.
    harness.run_jobs().await;
    harness.await_notifications(before + 1).await;
    harness.run_jobs().await;
    assert_eq!(harness.events().len(), 1);

    // Moving by a quarter hour overlaps the appointment's own event: only the appointment may count.
    let moved = harness
        .app
        .patch(
            &format!("/v1/appointments/{id}"),
            &json!({ "start": "2026-12-01T10:15:00-05:00", "expected_version": 1 }),
        )
        .await;
    let status = moved.status();
    let body: Value = moved.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let before = harness.emulator.notifications().len();
    harness.run_jobs().await;
    harness.await_notifications(before + 1).await;
    harness.run_jobs().await;
    let cached = cached_between(&harness, "2026-12-01", "2026-12-02").await;
    assert_eq!(cached, vec![], "our events are not busy time");
    assert_offered_on(&harness, "2026-12-01", "09:45 10:45", "10:00 10:15 10:30").await;
    harness.assert_no_violations();
}

pub async fn an_expired_cursor_forces_a_full_resync_that_ends_right<E: Emulated>(backend: Backend) {
    let (harness, calendar) = watching::<E>(backend).await;
    let first = synced_busy_on_tuesday(&harness, "10:00", "11:00").await;
    harness.emulator.invalidate_cursors();
    harness
        .change_and_sync(|emulator| {
            emulator.delete_event(&calendar, &first);
        })
        .await;
    synced_busy_on_tuesday(&harness, "14:00", "15:00").await;
    assert_offered_on(&harness, "2026-12-01", "10:00 10:30", "14:00 14:30").await;
    harness.assert_no_violations();
}

pub async fn a_lost_notification_is_healed_by_the_scheduled_sync<E: Emulated>(backend: Backend) {
    let (harness, _) = watching::<E>(backend).await;
    harness.emulator.drop_notifications(1);
    add_busy_on_tuesday(&harness, "10:00", "11:00");
    assert_eq!(harness.run_jobs().await, 0, "nothing told us");
    assert_offered_on(&harness, "2026-12-01", "10:00", "").await;
    assert_eq!(
        booking_core::app::sync_stale_calendars(&harness.app.app)
            .await
            .unwrap(),
        0,
        "synced moments ago"
    );

    harness
        .app
        .clock
        .advance(booking_core::app::SAFETY_NET_AFTER);
    assert_eq!(
        booking_core::app::sync_stale_calendars(&harness.app.app)
            .await
            .unwrap(),
        1
    );
    harness.run_jobs().await;
    assert_offered_on(&harness, "2026-12-01", "09:30 11:00", "10:00 10:30").await;
    harness.assert_no_violations();
}

pub async fn channels_are_renewed_before_they_expire_and_closed_on_disconnect<E: Emulated>(
    backend: Backend,
) {
    let (harness, _) = watching::<E>(backend).await;
    synced_busy_on_tuesday(&harness, "10:00", "11:00").await;
    let old = harness.emulator.channels()[0].clone();

    // A minute into the renewal window: the channel is still open, and is renewed before it lapses.
    let expires = channel_expiry(&old);
    let into_window = expires.duration_since(harness.app.clock_now())
        - booking_core::app::RENEW_BEFORE
        + jiff::SignedDuration::from_mins(1);
    harness.app.clock.advance(into_window);
    harness.emulator.set_now(harness.app.clock_now());
    assert_eq!(
        booking_core::app::sync_stale_calendars(&harness.app.app)
            .await
            .unwrap(),
        1
    );
    harness.run_jobs().await;
    let channels = harness.emulator.channels();
    assert_eq!(
        channels.len(),
        1,
        "the old channel is closed: {channels:#?}"
    );
    let renewed = &channels[0];
    assert!(
        channel_expiry(renewed).duration_since(harness.app.clock_now())
            > booking_core::app::RENEW_BEFORE,
        "renewed: {renewed}, was {old}"
    );
    if E::KIND == booking_core::ports::ProviderKind::MICROSOFT {
        assert_eq!(
            renewed["id"], old["id"],
            "a Graph subscription is renewed in place"
        );
    }
    // Still heard: a change on the renewed channel arrives and is applied.
    harness
        .add_busy_and_sync(on("2026-12-08", "10:00"), on("2026-12-08", "11:00"))
        .await;
    assert_offered_on(&harness, "2026-12-08", "11:00", "10:00").await;

    assert_eq!(harness.disconnect().await, 204);
    assert_eq!(
        harness.emulator.channels(),
        Vec::<Value>::new(),
        "closed on disconnect"
    );
    assert_offered_on(&harness, "2026-12-08", "10:00", "").await;
    harness.assert_no_violations();
}

/// When a push channel (Google) or subscription (Graph), as the emulator lists it, expires.
fn channel_expiry(channel: &Value) -> Timestamp {
    channel["expiration"]
        .as_str()
        .and_then(|millis| millis.parse::<i64>().ok())
        .map(|millis| Timestamp::from_millisecond(millis).unwrap())
        .or_else(|| {
            channel["expirationDateTime"]
                .as_str()
                .map(|text| text.parse().unwrap())
        })
        .unwrap()
}

/// Subscriptions stored by the previous release asked Graph for 10,070 minutes. They need no migration: nothing
/// renews them while they are far from expiry, and the renewal inside the window asks for what Graph allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_subscription_stored_with_a_far_expiry_is_renewed_within_graphs_limit() {
    use booking_core::app::{RENEW_BEFORE, sync_stale_calendars};
    use integration_tests::emulators::microsoft::{GraphEmulator, MAX_SUBSCRIPTION_MINUTES};
    use jiff::SignedDuration;

    let (harness, _) = watching::<GraphEmulator>(Backend::Local).await;
    let business = harness.app.business_id.parse().unwrap();
    let store = &harness.app.app.store;
    let mut watch = store
        .calendar_watches(business)
        .await
        .unwrap()
        .pop()
        .unwrap();
    let far = harness.app.clock_now() + SignedDuration::from_mins(10_070);
    let channel = watch.channel.as_mut().unwrap();
    channel.expires_at = far;
    let id = channel.id.clone();
    harness.emulator.grant_subscription_until(&id, far);
    let version = watch.version;
    watch.version += 1;
    store
        .put_calendar_watch(&watch, Some(version))
        .await
        .unwrap();
    let sync_now = || async {
        harness.emulator.set_now(harness.app.clock_now());
        sync_stale_calendars(&harness.app.app).await.unwrap();
        harness.run_jobs().await;
        harness.emulator.subscriptions()
    };

    // Three days on (past today's whole lifetime), syncs run and leave the subscription alone.
    harness.app.clock.advance(SignedDuration::from_hours(72));
    let untouched = sync_now().await;
    assert_eq!(untouched.len(), 1);
    assert_eq!(untouched[0]["id"], id.as_str());
    assert!(channel_expiry(&untouched[0]).duration_since(far).abs() < SignedDuration::from_secs(1));

    // A minute into the renewal window it is renewed in place, within Graph's limit.
    let into_window =
        far.duration_since(harness.app.clock_now()) - RENEW_BEFORE + SignedDuration::from_mins(1);
    harness.app.clock.advance(into_window);
    let renewed = sync_now().await;
    assert_eq!(renewed.len(), 1);
    assert_eq!(renewed[0]["id"], id.as_str());
    let left = channel_expiry(&renewed[0]).duration_since(harness.app.clock_now());
    assert!(
        left > RENEW_BEFORE && left <= SignedDuration::from_mins(MAX_SUBSCRIPTION_MINUTES),
        "{left:?}"
    );
    let stored = store
        .calendar_watches(business)
        .await
        .unwrap()
        .pop()
        .unwrap();
    assert_eq!(
        stored.channel.map(|channel| channel.expires_at),
        Some(channel_expiry(&renewed[0]))
    );
    harness.assert_no_violations();
}

for_providers!(
    local: [what_blocks_follows_the_events_kind_and_the_owners_answer,
    our_own_events_never_block_the_appointments_they_show,
    channels_are_renewed_before_they_expire_and_closed_on_disconnect,
    reconnecting_after_a_revoked_grant_catches_up_at_once,
    a_burst_of_notifications_costs_one_sync,
    a_failing_calendar_read_shows_on_the_connection_until_it_works_again,
    disconnecting_during_a_sync_leaves_no_busy_time_behind,],
    aws: [events_added_moved_and_deleted_change_availability,
    random_changes_lost_notifications_and_faults_converge_to_the_calendar,
    concurrent_syncs_of_one_calendar_end_in_the_right_state,
    an_expired_cursor_forces_a_full_resync_that_ends_right,
    a_lost_notification_is_healed_by_the_scheduled_sync,],
);

/// Concurrent notifications for one calendar: every sync job runs at once, and the cache and cursor end right.
pub async fn concurrent_syncs_of_one_calendar_end_in_the_right_state<E: Emulated>(
    backend: Backend,
) {
    let (harness, calendar) = watching::<E>(backend).await;
    let business: booking_core::domain::BusinessId = harness.app.business_id.parse().unwrap();
    add_eight_busy_half_hours_at_once(&harness, &calendar).await;
    for _ in 0..8 {
        harness
            .app
            .queue
            .enqueue(
                // As a job of the release before each calendar had its own watch: it stands for all of them.
                &booking_core::ports::Job::SyncCalendar {
                    business_id: business,
                    watch_id: None,
                    requested_at: None,
                },
                std::time::Duration::ZERO,
            )
            .await
            .unwrap();
    }
    harness.run_jobs().await;
    assert_offered_on(
        &harness,
        "2026-12-04",
        "09:30 10:30 16:30",
        "09:00 10:00 16:00",
    )
    .await;
    // The stored cursor still works: one more change arrives incrementally.
    harness
        .add_busy_and_sync(on("2026-12-04", "09:30"), on("2026-12-04", "10:00"))
        .await;
    assert_offered_on(&harness, "2026-12-04", "10:30", "09:30").await;
    harness.assert_no_violations();
}

/// Google tells the calendar's own zone with every listing: an all-day event blocks that zone's dates, not the
/// business's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn all_day_events_block_the_dates_of_the_calendars_own_zone() {
    use integration_tests::emulators::google::GoogleEmulator;

    let (harness, calendar) = watching::<GoogleEmulator>(Backend::Local).await;
    harness.emulator.set_time_zone(&calendar, "Europe/London");
    harness
        .change_and_sync(|emulator| {
            emulator.add_all_day(&calendar, date(2026, 12, 2), date(2026, 12, 3), true);
        })
        .await;
    // London midnight to midnight, which is 19:00 to 19:00 in the business's New York.
    assert_eq!(
        cached_between(&harness, "2026-11-30", "2026-12-10").await,
        vec![(at("2026-12-02T00:00:00Z"), at("2026-12-03T00:00:00Z"))]
    );
    harness.assert_no_violations();
}

mod webhooks;

pub async fn reconnecting_after_a_revoked_grant_catches_up_at_once<E: Emulated>(backend: Backend) {
    let (harness, calendar) = watching::<E>(backend).await;
    // The owner revokes our access, then adds an event: its sync finds the grant gone.
    harness.emulator.revoke_grants();
    harness.emulator.expire_access_tokens();
    synced_busy_on_tuesday(&harness, "10:00", "11:00").await;
    let connection = harness.connection().await;
    assert_eq!(
        connection["health"]["state"], "reauth_required",
        "{connection}"
    );
    assert_offered_on(&harness, "2026-12-01", "10:00", "").await;

    let reconnected = harness.connect().await;
    assert_eq!(reconnected["selected_calendar_id"], json!(calendar));
    harness.run_jobs().await;
    assert_offered_on(&harness, "2026-12-01", "11:00", "10:00 10:30").await;
    harness.assert_no_violations();
}

pub async fn a_burst_of_notifications_costs_one_sync<E: Emulated>(backend: Backend) {
    let (harness, calendar) = watching::<E>(backend).await;
    add_eight_busy_half_hours_at_once(&harness, &calendar).await;
    // The worker gets to the jobs a little later, as it would under load.
    harness
        .app
        .clock
        .advance(jiff::SignedDuration::from_secs(2));
    let business = harness.app.business_id.parse().unwrap();
    let version = |harness: &SyncHarness<E>| {
        let store = harness.app.store.clone();
        async move {
            store
                .calendar_watches(business)
                .await
                .unwrap()
                .pop()
                .unwrap()
                .version
        }
    };
    let (versions, listings) = (version(&harness).await, harness.emulator.change_listings());
    assert!(harness.run_jobs().await >= 8, "one job per notification");
    assert_eq!(
        version(&harness).await - versions,
        1,
        "the first sync saw every change; the others had nothing left to do"
    );
    // One sync's pages: three for Google (its emulator pages by three), one for Graph.
    assert!(harness.emulator.change_listings() - listings <= 3);
    assert_offered_on(&harness, "2026-12-04", "09:30 16:30", "09:00 12:00 16:00").await;
    harness.assert_no_violations();
}

/// Random changes to the calendar, lost notifications, provider faults, forgotten cursors, redelivered jobs and
/// a clock that moves on; once the safety net has run, the cache holds exactly the busy time of the events the
/// calendar has, by the test's own model of what it made.
pub async fn random_changes_lost_notifications_and_faults_converge_to_the_calendar<E: Emulated>(
    backend: Backend,
) {
    use integration_tests::emulators::faults::{Fault, Matcher};

    let seed = sync_seed(0x1b0_0d5e_u64);
    let mut random = Random::seeded(seed);
    let (harness, calendar) = watching::<E>(backend).await;
    let business: booking_core::domain::BusinessId = harness.app.business_id.parse().unwrap();
    let kinds = [Kind::Busy, Kind::Tentative, Kind::Free, Kind::Declined];
    let span = |random: &mut Random| {
        let day = 1 + random.below(3);
        let start = on(
            &format!("2026-12-{day:02}"),
            &format!("{:02}:{:02}", 8 + random.below(9), 15 * random.below(4)),
        );
        let end = start
            .checked_add(jiff::SignedDuration::from_mins(
                15 * (1 + random.below(8)) as i64,
            ))
            .unwrap();
        (start, end)
    };
    // Event id → its span and kind, as the calendar holds them.
    let mut model: std::collections::BTreeMap<String, (Timestamp, Timestamp, Kind)> =
        std::collections::BTreeMap::new();
    for _ in 0..80 {
        match random.below(12) {
            0..=2 => {
                let (start, end) = span(&mut random);
                let kind = kinds[random.below(kinds.len())];
                let id = harness.emulator.add_timed(&calendar, start, end, kind);
                model.insert(id, (start, end, kind));
            }
            3 | 4 if !model.is_empty() => {
                let id = model.keys().nth(random.below(model.len())).unwrap().clone();
                let (start, end) = span(&mut random);
                harness.emulator.move_event(&calendar, &id, start, end);
                let kind = model[&id].2;
                model.insert(id, (start, end, kind));
            }
            5 if !model.is_empty() => {
                let id = model.keys().nth(random.below(model.len())).unwrap().clone();
                harness.emulator.delete_event(&calendar, &id);
                model.remove(&id);
            }
            6 => harness.emulator.drop_notifications(1 + random.below(2)),
            7 => {
                let fault = [
                    Fault::ServerError,
                    Fault::Unavailable,
                    Fault::TooManyRequests {
                        retry_after_secs: 1,
                    },
                    Fault::ConnectionReset,
                ][random.below(4)]
                .clone();
                let rule = random.fault_rule(Matcher::any(), fault, 2);
                harness.emulator.faults().add(rule);
            }
            8 => harness.emulator.invalidate_cursors(),
            9 => {
                let watch = harness
                    .app
                    .store
                    .calendar_watches(business)
                    .await
                    .unwrap()
                    .pop();
                let job = booking_core::ports::Job::SyncCalendar {
                    business_id: business,
                    watch_id: watch.map(|watch| watch.id),
                    requested_at: Some(harness.app.clock_now()),
                };
                harness
                    .app
                    .queue
                    .enqueue(&job, std::time::Duration::ZERO)
                    .await
                    .unwrap();
            }
            10 => harness
                .app
                .clock
                .advance(jiff::SignedDuration::from_secs(2)),
            _ => {
                crate::harness::run_some_jobs(&harness.app, 1 + random.below(6)).await;
            }
        }
    }
    // Heal: no more faults, every notification answered and every job run, then the safety net.
    harness.emulator.faults().clear();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    harness.run_jobs().await;
    harness
        .app
        .clock
        .advance(booking_core::app::SAFETY_NET_AFTER);
    booking_core::app::sync_stale_calendars(&harness.app.app)
        .await
        .unwrap();
    harness.run_jobs().await;

    let mut expected: Vec<(Timestamp, Timestamp)> = model
        .values()
        .filter(|(_, _, kind)| matches!(kind, Kind::Busy | Kind::Tentative))
        .map(|(start, end, _)| (*start, *end))
        .collect();
    expected.sort();
    let cached = cached_between(&harness, "2026-11-30", "2026-12-05").await;
    assert!(
        model.len() >= 5,
        "seed {seed} made too little to mean anything"
    );
    assert_eq!(cached, expected, "seed {seed}");
    harness.assert_no_violations();
}

pub async fn a_failing_calendar_read_shows_on_the_connection_until_it_works_again<E: Emulated>(
    backend: Backend,
) {
    use integration_tests::emulators::faults::{Fault, FaultRule, Matcher, When};

    let (harness, _) = watching::<E>(backend).await;
    harness.emulator.faults().add(FaultRule {
        matcher: Matcher::method("GET"),
        when: When::Before,
        fault: Fault::Unavailable,
        times: 2,
    });
    let before = harness.emulator.notifications().len();
    add_busy_on_tuesday(&harness, "10:00", "11:00");
    harness.await_notifications(before + 1).await;
    crate::harness::run_some_jobs(&harness.app, 1).await;
    let failing = harness.connection().await["health"].clone();
    assert_eq!(failing["state"], "error", "{failing}");
    let calendar = if E::KIND == booking_core::ports::ProviderKind::GOOGLE {
        "Google Calendar"
    } else {
        "Outlook Calendar"
    };
    assert!(
        failing["message"].as_str().unwrap().starts_with(&format!(
            "Busy times could not be read: {calendar} could not be reached just now"
        )),
        "{failing}"
    );

    // The queue retries with backoff; once the provider answers, the change arrives and the health clears.
    harness.run_jobs().await;
    let healed = harness.connection().await["health"].clone();
    assert_eq!(healed["state"], "connected", "{healed}");
    assert_offered_on(&harness, "2026-12-01", "11:00", "10:00").await;
    harness.assert_no_violations();
}

pub async fn disconnecting_during_a_sync_leaves_no_busy_time_behind<E: Emulated>(backend: Backend) {
    use integration_tests::emulators::faults::{Fault, FaultRule, Matcher, When};

    let (harness, _) = watching::<E>(backend).await;
    synced_busy_on_tuesday(&harness, "10:00", "11:00").await;
    let before = harness.emulator.notifications().len();
    add_busy_on_tuesday(&harness, "14:00", "15:00");
    harness.await_notifications(before + 1).await;
    // The sync's read of the calendar is slow; the business disconnects while it is under way.
    harness.emulator.faults().add(FaultRule {
        matcher: Matcher::method("GET"),
        when: When::After,
        fault: Fault::Delay(std::time::Duration::from_millis(300)),
        times: 1,
    });
    let disconnect = async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        harness.disconnect().await
    };
    let (_, status) = tokio::join!(harness.run_jobs(), disconnect);
    assert_eq!(status, 204);
    harness.run_jobs().await;
    let cached = cached_between(&harness, "2026-11-30", "2026-12-10").await;
    assert_eq!(cached, vec![], "no busy time outlives the connection");
    assert_offered_on(&harness, "2026-12-01", "10:00 14:00", "").await;
}
