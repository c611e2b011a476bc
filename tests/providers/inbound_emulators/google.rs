//! Google Calendar's inbound sync as the emulator serves it: `events.list` with paging, sync tokens and recurring
//! instances, and push channels with their documented limits.

use std::collections::HashMap;

use integration_tests::emulators::google::{ACCOUNT, TEAM_CALENDAR};
use serde_json::{Value, json};

use super::client::{eventually, ids, quiet, receiver};
use super::google_client::{google, google_event, google_listing};

#[tokio::test]
async fn google_full_listing_pages_and_a_sync_token_returns_only_the_changes() {
    let (google, api) = google().await;
    let mut added = Vec::new();
    for day in 1..=4 {
        added.push(google.add_event(
            ACCOUNT,
            google_event(
                &format!("Dentist {day}"),
                &format!("2026-12-0{day}T09:00:00Z"),
                &format!("2026-12-0{day}T10:00:00Z"),
            ),
        ));
    }
    // Our own outbound write is an event like any other.
    let ours = json!({
        "id": "ours00001",
        "summary": "Consultation",
        "start": { "dateTime": "2026-12-05T09:00:00Z" },
        "end": { "dateTime": "2026-12-05T09:30:00Z" },
    });
    assert_eq!(api.post("calendars/primary/events", ours).await.0, 200);

    let (items, pages, sync_token) = google_listing(&api, &[("singleEvents", "true")]).await;
    assert_eq!(items.len(), 5);
    assert_eq!(pages, 2);
    assert!(items.iter().all(|i| i["status"] == "confirmed"));
    let (_, first) = api
        .get("calendars/primary/events", &[("singleEvents", "true")])
        .await;
    assert_eq!(first["timeZone"], "Europe/London");
    assert!(first["updated"].is_string());

    // A window keeps what overlaps it.
    let (windowed, _, _) = google_listing(
        &api,
        &[
            ("singleEvents", "true"),
            ("timeMin", "2026-12-02T09:30:00Z"),
            ("timeMax", "2026-12-04T09:00:00Z"),
        ],
    )
    .await;
    assert_eq!(ids(&windowed), ids(&[items[1].clone(), items[2].clone()]));

    let new = google.add_event(
        ACCOUNT,
        google_event("New", "2026-12-06T09:00:00Z", "2026-12-06T10:00:00Z"),
    );
    google.update_event(
        ACCOUNT,
        &added[0],
        json!({ "start": { "dateTime": "2026-12-01T14:00:00Z" }, "end": { "dateTime": "2026-12-01T15:00:00Z" } }),
    );
    google.delete_event(ACCOUNT, &added[1]);
    let (status, _) = api
        .patch(
            "calendars/primary/events/ours00001",
            json!({ "summary": "Consultation (moved)" }),
        )
        .await;
    assert_eq!(status, 200);

    let (changes, _, next_token) = google_listing(
        &api,
        &[("singleEvents", "true"), ("syncToken", &sync_token)],
    )
    .await;
    let by_id: HashMap<&str, &Value> = changes
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c))
        .collect();
    assert_eq!(changes.len(), 4, "{changes:#?}");
    assert_eq!(by_id[new.as_str()]["summary"], "New");
    assert_eq!(
        by_id[added[0].as_str()]["start"]["dateTime"],
        "2026-12-01T14:00:00Z"
    );
    assert_eq!(by_id[added[1].as_str()]["status"], "cancelled");
    assert_eq!(by_id["ours00001"]["summary"], "Consultation (moved)");

    // Deleted events stay out of full listings unless asked for.
    let (full, _, _) = google_listing(&api, &[("singleEvents", "true")]).await;
    assert_eq!(full.len(), 5);
    let (with_deleted, _, _) =
        google_listing(&api, &[("singleEvents", "true"), ("showDeleted", "true")]).await;
    assert_eq!(with_deleted.len(), 6);

    let (nothing, pages, _) = google_listing(
        &api,
        &[("singleEvents", "true"), ("syncToken", &next_token)],
    )
    .await;
    assert!(nothing.is_empty());
    assert_eq!(pages, 1);
    assert_eq!(google.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn google_recurring_events_expand_into_instances_with_exceptions_and_cancellations() {
    let (google, api) = google().await;
    let mut weekly = google_event(
        "Team standup",
        "2026-12-01T10:00:00Z",
        "2026-12-01T10:30:00Z",
    );
    weekly["recurrence"] = json!(["RRULE:FREQ=WEEKLY;COUNT=4"]);
    let master = google.add_event(ACCOUNT, weekly);
    let mut daily = google_event("Pills", "2027-01-01T08:00:00Z", "2027-01-01T08:05:00Z");
    daily["recurrence"] = json!(["RRULE:FREQ=DAILY;INTERVAL=2;UNTIL=20270107T235959Z"]);
    google.add_event(ACCOUNT, daily);

    let (items, _, sync_token) =
        google_listing(&api, &[("singleEvents", "true"), ("orderBy", "startTime")]).await;
    // Four weekly instances, then the 1st, 3rd, 5th and 7th of January.
    assert_eq!(items.len(), 8, "{items:#?}");
    let instance = |n: usize| items[n]["id"].as_str().unwrap().to_owned();
    assert_eq!(instance(0), format!("{master}_20261201T100000Z"));
    assert_eq!(instance(3), format!("{master}_20261222T100000Z"));
    assert_eq!(items[1]["recurringEventId"], master.as_str());
    assert_eq!(items[1]["start"]["dateTime"], "2026-12-08T10:00:00+00:00");
    assert_eq!(
        items[1]["originalStartTime"]["dateTime"],
        "2026-12-08T10:00:00+00:00"
    );
    assert!(items[1].get("recurrence").is_none());

    // The user moves the second standup and cancels the third.
    google.update_event(
        ACCOUNT,
        &instance(1),
        json!({
            "start": { "dateTime": "2026-12-08T11:00:00Z", "timeZone": "Europe/London" },
            "end": { "dateTime": "2026-12-08T11:30:00Z", "timeZone": "Europe/London" },
        }),
    );
    google.delete_event(ACCOUNT, &instance(2));

    let (now, _, _) = google_listing(
        &api,
        &[
            ("singleEvents", "true"),
            ("timeMin", "2026-12-01T00:00:00Z"),
            ("timeMax", "2026-12-31T00:00:00Z"),
        ],
    )
    .await;
    assert_eq!(ids(&now), vec![instance(0), instance(1), instance(3)]);
    let moved = now
        .iter()
        .find(|i| i["id"] == instance(1).as_str())
        .unwrap();
    assert_eq!(moved["start"]["dateTime"], "2026-12-08T11:00:00Z");
    assert_eq!(
        moved["originalStartTime"]["dateTime"],
        "2026-12-08T10:00:00+00:00"
    );

    let (changes, _, _) = google_listing(
        &api,
        &[("singleEvents", "true"), ("syncToken", &sync_token)],
    )
    .await;
    assert_eq!(ids(&changes), vec![instance(1), instance(2)]);
    let cancelled = changes
        .iter()
        .find(|c| c["id"] == instance(2).as_str())
        .unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["recurringEventId"], master.as_str());
    assert_eq!(google.violations(), Vec::<String>::new());

    // Our client always asks for instances; a listing of masters is a finding.
    let (status, _) = api.get("calendars/primary/events", &[]).await;
    assert_eq!(status, 200);
    assert!(
        google
            .violations()
            .iter()
            .any(|v| v.contains("singleEvents")),
        "{:?}",
        google.violations()
    );
}

#[tokio::test]
async fn google_refuses_filters_with_a_sync_token_and_an_invalidated_token_is_gone() {
    let (google, api) = google().await;
    google.add_event(
        TEAM_CALENDAR,
        google_event("x", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z"),
    );
    let (_, first) = api
        .get(
            &format!("calendars/{TEAM_CALENDAR}/events"),
            &[("singleEvents", "true")],
        )
        .await;
    assert_eq!(first["timeZone"], "America/New_York");
    let token = first["nextSyncToken"].as_str().unwrap().to_owned();
    google.set_time_zone(TEAM_CALENDAR, "Asia/Tokyo");
    let (status, again) = api
        .get(
            &format!("calendars/{TEAM_CALENDAR}/events"),
            &[("singleEvents", "true"), ("syncToken", &token)],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["timeZone"], "Asia/Tokyo");
    assert_eq!(google.violations(), Vec::<String>::new());

    google.invalidate_sync_tokens();
    let (status, gone) = api
        .get(
            &format!("calendars/{TEAM_CALENDAR}/events"),
            &[("singleEvents", "true"), ("syncToken", &token)],
        )
        .await;
    assert_eq!(status, 410);
    assert_eq!(gone["error"]["code"], 410);
    assert_eq!(gone["error"]["errors"][0]["reason"], "fullSyncRequired");
    assert_eq!(
        gone["error"]["message"],
        "Sync token is no longer valid, a full sync is required."
    );
    assert_eq!(google.violations(), Vec::<String>::new());

    let (status, _) = api
        .get(
            &format!("calendars/{TEAM_CALENDAR}/events"),
            &[
                ("singleEvents", "true"),
                ("syncToken", &token),
                ("timeMin", "2026-12-01T00:00:00Z"),
            ],
        )
        .await;
    assert_eq!(status, 400);
    let violations = google.violations();
    assert_eq!(violations.len(), 1);
    assert!(violations[0].contains("timeMin"), "{violations:?}");
}

#[tokio::test]
async fn google_watch_sends_sync_then_exists_with_channel_headers() {
    let (google, api) = google().await;
    let hook = receiver(true).await;
    let (status, channel) = api
        .post(
            "calendars/primary/events/watch",
            json!({ "id": "channel-1", "type": "web_hook", "address": hook.url, "token": "tenant=42" }),
        )
        .await;
    assert_eq!(status, 200, "{channel}");
    assert_eq!(channel["kind"], "api#channel");
    assert_eq!(channel["id"], "channel-1");
    assert_eq!(channel["token"], "tenant=42");
    let resource_id = channel["resourceId"].as_str().unwrap().to_owned();
    let expiration: i64 = channel["expiration"].as_str().unwrap().parse().unwrap();
    let week = jiff::Timestamp::now().as_millisecond() + 7 * 24 * 3600 * 1000;
    assert!((expiration - week).abs() < 60_000);

    let sync = hook.wait_for(1).await.remove(0);
    assert_eq!(sync.header("x-goog-resource-state"), Some("sync"));
    assert_eq!(sync.header("x-goog-channel-id"), Some("channel-1"));
    assert_eq!(sync.header("x-goog-channel-token"), Some("tenant=42"));
    assert_eq!(sync.header("x-goog-message-number"), Some("1"));
    assert_eq!(
        sync.header("x-goog-resource-id"),
        Some(resource_id.as_str())
    );
    assert!(
        sync.header("x-goog-resource-uri")
            .unwrap()
            .contains("/events")
    );
    assert!(
        sync.header("x-goog-channel-expiration")
            .unwrap()
            .ends_with(" GMT")
    );
    assert!(sync.body.is_empty());

    google.add_event(
        ACCOUNT,
        google_event("x", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z"),
    );
    let outbound = json!({
        "summary": "ours",
        "start": { "dateTime": "2026-12-02T09:00:00Z" },
        "end": { "dateTime": "2026-12-02T09:30:00Z" },
    });
    assert_eq!(api.post("calendars/primary/events", outbound).await.0, 200);
    let seen = hook.wait_for(3).await;
    assert_eq!(seen[1].header("x-goog-resource-state"), Some("exists"));
    assert_eq!(seen[1].header("x-goog-message-number"), Some("2"));
    assert_eq!(seen[2].header("x-goog-message-number"), Some("3"));
    eventually(|| google.notifications().len() == 3).await;
    assert_eq!(
        google.notifications(),
        vec![
            ("channel-1".to_owned(), "sync".to_owned(), 202),
            ("channel-1".to_owned(), "exists".to_owned(), 202),
            ("channel-1".to_owned(), "exists".to_owned(), 202),
        ]
    );
    // Another calendar's changes are not this channel's business.
    google.add_event(
        TEAM_CALENDAR,
        google_event("y", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z"),
    );

    // A lost notification, then one that arrives: the message numbers show the gap.
    google.drop_notifications(1);
    google.add_event(
        ACCOUNT,
        google_event("z", "2026-12-03T09:00:00Z", "2026-12-03T10:00:00Z"),
    );
    google.add_event(
        ACCOUNT,
        google_event("w", "2026-12-04T09:00:00Z", "2026-12-04T10:00:00Z"),
    );
    let seen = hook.wait_for(4).await;
    assert_eq!(seen[3].header("x-goog-message-number"), Some("5"));

    let (status, _) = api
        .post(
            "calendars/primary/events/watch",
            json!({ "id": "channel-1", "type": "web_hook", "address": hook.url }),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(google.violations().len(), 1);

    google.expire_channels();
    assert!(google.channels().is_empty());
    google.add_event(
        ACCOUNT,
        google_event("v", "2026-12-05T09:00:00Z", "2026-12-05T10:00:00Z"),
    );
    quiet().await;
    assert_eq!(hook.seen().len(), 4);
}

#[tokio::test]
async fn google_channels_stop_ends_deliveries() {
    let (google, api) = google().await;
    let hook = receiver(true).await;
    let (_, channel) = api
        .post(
            "calendars/primary/events/watch",
            json!({ "id": "channel-2", "type": "web_hook", "address": hook.url, "expiration": "1" }),
        )
        .await;
    // An expiration in the past is as good as none: Google takes it, and the channel never fires.
    assert_eq!(channel["expiration"], "1");
    assert!(google.channels().is_empty());
    let (status, channel) = api
        .post(
            "calendars/primary/events/watch",
            json!({ "id": "channel-3", "type": "web_hook", "address": hook.url }),
        )
        .await;
    assert_eq!(status, 200);
    let seen = hook.wait_for(1).await;
    assert_eq!(seen[0].header("x-goog-channel-id"), Some("channel-3"));
    assert!(seen[0].header("x-goog-channel-token").is_none());
    assert_eq!(google.channels().len(), 1);

    let (status, _) = api
        .post(
            "channels/stop",
            json!({ "id": "channel-3", "resourceId": "not-it" }),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = api
        .post(
            "channels/stop",
            json!({ "id": "channel-3", "resourceId": channel["resourceId"] }),
        )
        .await;
    assert_eq!(status, 204);
    assert!(google.channels().is_empty());
    google.add_event(
        TEAM_CALENDAR,
        google_event("x", "2026-12-01T09:00:00Z", "2026-12-01T10:00:00Z"),
    );
    quiet().await;
    assert_eq!(hook.seen().len(), 1);
    let (status, _) = api
        .post(
            "channels/stop",
            json!({ "id": "channel-3", "resourceId": channel["resourceId"] }),
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(google.violations(), Vec::<String>::new());
    assert_eq!(google.request_count("calendar.channels.stop"), 3);
}

#[tokio::test]
async fn google_refuses_channel_ids_and_tokens_beyond_its_documented_limits() {
    use integration_tests::emulators::google::{MAX_CHANNEL_ID_CHARS, MAX_CHANNEL_TOKEN_CHARS};
    let (google, api) = google().await;
    let hook = receiver(true).await;
    let watch = |id: String, token: String| {
        api.post(
            "calendars/primary/events/watch",
            json!({ "id": id, "type": "web_hook", "address": hook.url.as_str(), "token": token }),
        )
    };
    let (status, _) = watch("c".repeat(MAX_CHANNEL_ID_CHARS + 1), "t".to_owned()).await;
    assert_eq!(status, 400);
    let (status, _) = watch("c2".to_owned(), "t".repeat(MAX_CHANNEL_TOKEN_CHARS + 1)).await;
    assert_eq!(status, 400);
    assert_eq!(google.violations().len(), 2);
    let (status, opened) = watch(
        "c".repeat(MAX_CHANNEL_ID_CHARS),
        "t".repeat(MAX_CHANNEL_TOKEN_CHARS),
    )
    .await;
    assert_eq!(status, 200, "{opened}");
    assert_eq!(google.violations().len(), 2);
}
