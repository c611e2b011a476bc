//! Microsoft Graph's inbound sync as the emulator serves it: `calendarView/delta` and change-notification
//! subscriptions, with their validation handshake, documented limits and lifecycle notifications.

use std::collections::HashMap;

use integration_tests::emulators::microsoft::TENANT_ID;
use serde_json::{Value, json};

use super::client::{eventually, ids, quiet, receiver};
use super::graph_client::{WINDOW, graph, graph_delta, graph_event, subscribe, subscribe_for};

#[tokio::test]
async fn graph_delta_lists_the_window_then_only_the_changes() {
    let (graph, api, calendar) = graph().await;
    let delta = format!("me/calendars/{calendar}/calendarView/delta");
    let mut added = Vec::new();
    for day in 1..=4 {
        added.push(graph.add_event(
            &calendar,
            graph_event(
                &format!("Dentist {day}"),
                &format!("2026-12-0{day}T09:00:00"),
                &format!("2026-12-0{day}T10:00:00"),
            ),
        ));
    }
    graph.add_event(
        &calendar,
        graph_event("Next year", "2027-03-01T09:00:00", "2027-03-01T10:00:00"),
    );
    let (status, ours) = api
        .post(
            &format!("me/calendars/{calendar}/events"),
            json!({
                "subject": "Consultation",
                "start": { "dateTime": "2026-12-05T09:00:00", "timeZone": "America/New_York" },
                "end": { "dateTime": "2026-12-05T09:30:00", "timeZone": "America/New_York" },
                "transactionId": "ours-1",
            }),
        )
        .await;
    assert_eq!(status, 201);
    let ours = ours["id"].as_str().unwrap().to_owned();

    let (items, pages, delta_link) = graph_delta(&api, &delta, WINDOW).await;
    assert_eq!(items.len(), 5, "{items:#?}");
    assert_eq!(pages, 2);
    let consultation = items.iter().find(|i| i["id"] == ours.as_str()).unwrap();
    assert_eq!(
        consultation["start"],
        json!({ "dateTime": "2026-12-05T14:00:00.0000000", "timeZone": "UTC" })
    );
    assert_eq!(consultation["transactionId"], "ours-1");
    assert_eq!(consultation["type"], "singleInstance");
    assert_eq!(consultation["showAs"], "busy");
    assert_eq!(consultation["isCancelled"], false);

    graph.update_event(
        &calendar,
        &added[0],
        json!({ "subject": "Dentist (moved)" }),
    );
    graph.delete_event(&calendar, &added[1]);
    graph.update_event(
        &calendar,
        &added[2],
        json!({
            "start": { "dateTime": "2027-02-01T09:00:00", "timeZone": "UTC" },
            "end": { "dateTime": "2027-02-01T10:00:00", "timeZone": "UTC" },
        }),
    );
    let new = graph.add_event(
        &calendar,
        graph_event("New", "2026-12-06T09:00:00", "2026-12-06T10:00:00"),
    );
    let (status, _) = api
        .delete(&format!("me/calendars/{calendar}/events/{ours}"))
        .await;
    assert_eq!(status, 204);

    let (changes, _, next_link) = graph_delta(&api, &delta_link, &[]).await;
    assert_eq!(
        ids(&changes),
        ids(&[
            json!({ "id": added[0] }),
            json!({ "id": added[1] }),
            json!({ "id": added[2] }),
            json!({ "id": new }),
            json!({ "id": ours }),
        ])
    );
    let by_id: HashMap<&str, &Value> = changes
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c))
        .collect();
    assert_eq!(by_id[added[0].as_str()]["subject"], "Dentist (moved)");
    for removed in [&added[1], &added[2], &ours] {
        assert_eq!(
            by_id[removed.as_str()]["@removed"],
            json!({ "reason": "deleted" })
        );
    }
    assert_eq!(by_id[new.as_str()]["subject"], "New");

    let (nothing, pages, _) = graph_delta(&api, &next_link, &[]).await;
    assert!(nothing.is_empty());
    assert_eq!(pages, 1);
    assert_eq!(graph.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn graph_delta_expands_series_with_exceptions_and_cancelled_occurrences() {
    let (graph, api, calendar) = graph().await;
    let delta = format!("me/calendars/{calendar}/calendarView/delta");
    let mut weekly = graph_event("Standup", "2026-12-01T10:00:00", "2026-12-01T10:30:00");
    weekly["start"]["timeZone"] = json!("Europe/London");
    weekly["end"]["timeZone"] = json!("Europe/London");
    weekly["recurrence"] = json!({
        "pattern": { "type": "weekly", "interval": 1, "daysOfWeek": ["tuesday", "thursday"] },
        "range": { "type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 4 },
    });
    let master = graph.add_event(&calendar, weekly);

    let http = reqwest::Client::new();
    let first = http
        .get(format!("{}{delta}", api.base))
        .query(WINDOW)
        .bearer_auth(&api.token)
        .header(
            "Prefer",
            "outlook.timezone=\"America/New_York\", odata.maxpagesize=10",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let applied = first.headers()["preference-applied"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(applied.contains("maxpagesize=10"), "{applied}");
    let first: Value = first.json().await.unwrap();
    let items = first["value"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{items:#?}");
    assert!(items.iter().all(|i| i["type"] == "occurrence"));
    assert!(items.iter().all(|i| i["seriesMasterId"] == master.as_str()));
    assert!(items.iter().all(|i| i["id"] != master.as_str()));
    assert_eq!(
        items[1]["start"],
        json!({ "dateTime": "2026-12-03T05:00:00.0000000", "timeZone": "America/New_York" })
    );
    let delta_link = first["@odata.deltaLink"].as_str().unwrap().to_owned();
    let occurrence = |n: usize| items[n]["id"].as_str().unwrap().to_owned();

    graph.update_event(
        &calendar,
        &occurrence(1),
        json!({ "subject": "Standup (demo)" }),
    );
    graph.delete_event(&calendar, &occurrence(2));
    let (changes, _, _) = graph_delta(&api, &delta_link, &[]).await;
    assert_eq!(changes.len(), 2, "{changes:#?}");
    let exception = changes
        .iter()
        .find(|c| c["id"] == occurrence(1).as_str())
        .unwrap();
    assert_eq!(exception["type"], "exception");
    assert_eq!(exception["subject"], "Standup (demo)");
    let cancelled = changes
        .iter()
        .find(|c| c["id"] == occurrence(2).as_str())
        .unwrap();
    assert_eq!(cancelled["@removed"]["reason"], "deleted");

    let (all, _, _) = graph_delta(&api, &delta, WINDOW).await;
    assert_eq!(all.len(), 3);
    assert_eq!(graph.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn graph_delta_needs_a_window_and_forgets_invalidated_tokens() {
    let (graph, api, calendar) = graph().await;
    let delta = format!("me/calendars/{calendar}/calendarView/delta");
    graph.add_event(
        &calendar,
        graph_event("x", "2026-12-01T09:00:00", "2026-12-01T10:00:00"),
    );
    let (_, _, delta_link) = graph_delta(&api, &delta, WINDOW).await;
    graph.invalidate_delta_tokens();
    let (status, gone) = api.get(&delta_link, &[]).await;
    assert_eq!(status, 410);
    assert_eq!(gone["error"]["code"], "syncStateNotFound");
    assert_eq!(graph.violations(), Vec::<String>::new());

    let (status, _) = api.get(&delta, &[]).await;
    assert_eq!(status, 400);
    assert_eq!(graph.violations().len(), 1);
}

#[tokio::test]
async fn graph_subscriptions_validate_the_endpoint_then_notify_with_client_state() {
    let (graph, api, calendar) = graph().await;
    let deaf = receiver(false).await;
    let (status, refused) = subscribe(&api, &calendar, &deaf, None).await;
    assert_eq!(status, 400);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Subscription validation request failed")
    );
    assert_eq!(graph.violations().len(), 1);
    assert!(graph.subscriptions().is_empty());

    let hook = receiver(true).await;
    let (status, subscription) = subscribe(&api, &calendar, &hook, None).await;
    assert_eq!(status, 201, "{subscription}");
    let id = subscription["id"].as_str().unwrap().to_owned();
    assert_eq!(subscription["clientState"], "secret-state");
    let validation = hook.seen().remove(0);
    assert_eq!(validation.query["tenant"], "7");
    assert!(
        validation.query["validationToken"].starts_with("Validation: "),
        "{validation:?}"
    );
    assert!(validation.body.is_empty());
    assert_eq!(graph.subscriptions().len(), 1);

    let event = graph.add_event(
        &calendar,
        graph_event("x", "2026-12-01T09:00:00", "2026-12-01T10:00:00"),
    );
    // A calendar nobody subscribed to.
    graph.add_event(
        &graph.calendar_id("Team"),
        graph_event("y", "2026-12-01T09:00:00", "2026-12-01T10:00:00"),
    );
    graph.update_event(&calendar, &event, json!({ "subject": "x2" }));
    let (status, _) = api
        .delete(&format!("me/calendars/{calendar}/events/{event}"))
        .await;
    assert_eq!(status, 204);
    let seen = hook.wait_for(4).await;
    let changes: Vec<Value> = seen[1..]
        .iter()
        .map(|s| s.json()["value"][0].clone())
        .collect();
    let types: Vec<&str> = changes
        .iter()
        .map(|c| c["changeType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["created", "updated", "deleted"]);
    for change in &changes {
        assert_eq!(change["subscriptionId"], id.as_str());
        assert_eq!(change["clientState"], "secret-state");
        assert_eq!(change["tenantId"], TENANT_ID);
        assert_eq!(change["resourceData"]["id"], event.as_str());
        assert_eq!(
            change["resourceData"]["@odata.type"],
            "#Microsoft.Graph.Event"
        );
    }
    eventually(|| graph.notifications().len() == 3).await;
    assert_eq!(
        graph.notifications()[0],
        (id.clone(), "created".to_owned(), 202)
    );
    assert_eq!(graph.violations().len(), 1);

    graph.drop_notifications(1);
    graph.add_event(
        &calendar,
        graph_event("lost", "2026-12-02T09:00:00", "2026-12-02T10:00:00"),
    );
    graph.expire_subscriptions();
    assert!(graph.subscriptions().is_empty());
    graph.add_event(
        &calendar,
        graph_event("unheard", "2026-12-03T09:00:00", "2026-12-03T10:00:00"),
    );
    quiet().await;
    assert_eq!(hook.seen().len(), 4);
}

#[tokio::test]
async fn graph_refuses_subscriptions_beyond_its_documented_limits() {
    use integration_tests::emulators::microsoft::{
        MAX_CLIENT_STATE_CHARS, MAX_SUBSCRIPTION_MINUTES, too_long_message,
    };
    let (graph, api, calendar) = graph().await;
    let hook = receiver(true).await;
    let refused_as_graph_does = |(status, body): (u16, Value)| {
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["code"], "ExtensionError", "{body}");
        assert_eq!(
            body["error"]["message"],
            too_long_message(MAX_SUBSCRIPTION_MINUTES).as_str()
        );
        assert_eq!(
            too_long_message(MAX_SUBSCRIPTION_MINUTES),
            "Subscription expiration can only be 4230 minutes in the future."
        );
    };

    // What the code asked for before: 10,070 minutes.
    refused_as_graph_does(subscribe_for(&api, &calendar, &hook, 10_070, "state").await);
    let (status, made) = subscribe_for(
        &api,
        &calendar,
        &hook,
        MAX_SUBSCRIPTION_MINUTES - 1,
        "state",
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    let path = format!("subscriptions/{id}");
    let until = |minutes| json!({ "expirationDateTime": (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(minutes)).to_string() });
    refused_as_graph_does(api.patch(&path, until(10_070)).await);
    let (status, renewed) = api.patch(&path, until(MAX_SUBSCRIPTION_MINUTES - 1)).await;
    assert_eq!(status, 200, "{renewed}");

    // lifecycleNotificationUrl only at creation; clientState at most 128 characters.
    let (status, _) = api
        .patch(&path, json!({ "lifecycleNotificationUrl": hook.url }))
        .await;
    assert_eq!(status, 400);
    let long_state = "s".repeat(MAX_CLIENT_STATE_CHARS + 1);
    assert_eq!(
        subscribe_for(&api, &calendar, &hook, 60, &long_state)
            .await
            .0,
        400
    );
    let longest_state = "s".repeat(MAX_CLIENT_STATE_CHARS);
    assert_eq!(
        subscribe_for(&api, &calendar, &hook, 60, &longest_state)
            .await
            .0,
        201
    );
    // Each refusal is a violation: the code under test must never send one.
    assert_eq!(graph.violations().len(), 4, "{:#?}", graph.violations());
}

#[tokio::test]
async fn graph_lifecycle_notifications_renewal_and_deletion() {
    let (graph, api, calendar) = graph().await;
    let hook = receiver(true).await;
    let lifecycle = receiver(true).await;
    let (status, subscription) = subscribe(&api, &calendar, &hook, Some(&lifecycle)).await;
    assert_eq!(status, 201, "{subscription}");
    let id = subscription["id"].as_str().unwrap().to_owned();
    let path = format!("subscriptions/{id}");
    let renew = async |until: &str| {
        api.patch(&path, json!({ "expirationDateTime": until }))
            .await
    };
    assert_eq!(
        lifecycle.seen().len(),
        1,
        "the lifecycle URL is validated too"
    );

    graph.send_lifecycle(&id, "reauthorizationRequired");
    let notice = lifecycle.wait_for(2).await[1].json();
    assert_eq!(
        notice["value"][0]["lifecycleEvent"],
        "reauthorizationRequired"
    );
    assert_eq!(notice["value"][0]["subscriptionId"], id.as_str());
    assert_eq!(notice["value"][0]["clientState"], "secret-state");

    let later = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(70)).to_string();
    let (status, renewed) = renew(&later).await;
    assert_eq!(status, 200, "{renewed}");
    let renewed_until: jiff::Timestamp = renewed["expirationDateTime"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(renewed_until > jiff::Timestamp::now() + jiff::SignedDuration::from_hours(69));
    assert_eq!(graph.violations(), Vec::<String>::new());

    let too_late = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 8)).to_string();
    let (status, _) = renew(&too_late).await;
    assert_eq!(status, 400);
    assert_eq!(graph.violations().len(), 1);

    let (status, _) = api.delete(&path).await;
    assert_eq!(status, 204);
    let (status, _) = api.delete(&path).await;
    assert_eq!(status, 404);
    let (status, _) = renew(&later).await;
    assert_eq!(status, 404);
    graph.add_event(
        &calendar,
        graph_event("x", "2026-12-01T09:00:00", "2026-12-01T10:00:00"),
    );

    let (_, second) = subscribe(&api, &calendar, &hook, Some(&lifecycle)).await;
    let second = second["id"].as_str().unwrap().to_owned();
    graph.remove_subscription(&second);
    let removed = lifecycle.wait_for(4).await[3].json();
    assert_eq!(removed["value"][0]["lifecycleEvent"], "subscriptionRemoved");
    assert!(graph.subscriptions().is_empty());
    quiet().await;
    // Two validations of the notification URL, and no change notifications.
    assert_eq!(hook.seen().len(), 2);
    eventually(|| graph.notifications().len() == 2).await;
    assert_eq!(
        graph.notifications(),
        vec![
            (id, "reauthorizationRequired".to_owned(), 202),
            (second, "subscriptionRemoved".to_owned(), 202),
        ]
    );
    assert_eq!(graph.violations().len(), 1);
}
