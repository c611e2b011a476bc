//! Microsoft Graph's emulator as the inbound-sync tests call it: an events client, an event body, a whole delta
//! round, subscriptions.

use integration_tests::emulators::microsoft::GraphEmulator;
use serde_json::{Value, json};

use super::client::{Api, Receiver};

/// A fresh emulator, a client signed in to it and the id of its default calendar.
pub(super) async fn graph() -> (GraphEmulator, Api, String) {
    let graph = GraphEmulator::start().await;
    let (token, _) = graph.issue_tokens();
    let api = Api::new(graph.api_base(), token);
    let calendar = graph.calendar_id("Calendar");
    (graph, api, calendar)
}

pub(super) fn graph_event(subject: &str, start: &str, end: &str) -> Value {
    json!({
        "subject": subject,
        "start": { "dateTime": start, "timeZone": "UTC" },
        "end": { "dateTime": end, "timeZone": "UTC" },
    })
}

/// The month the delta tests read.
pub(super) const WINDOW: &[(&str, &str)] = &[
    ("startDateTime", "2026-12-01T00:00:00Z"),
    ("endDateTime", "2027-01-01T00:00:00Z"),
];

/// Every page of a delta round: the items, the number of pages and the deltaLink.
pub(super) async fn graph_delta(
    api: &Api,
    first: &str,
    query: &[(&str, &str)],
) -> (Vec<Value>, usize, String) {
    let mut items = Vec::new();
    let mut pages = 0;
    let (mut url, mut query) = (first.to_owned(), query.to_vec());
    loop {
        let (status, page) = api.get(&url, &query).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        items.extend(page["value"].as_array().unwrap().iter().cloned());
        if let Some(next) = page["@odata.nextLink"].as_str() {
            assert!(next.contains("$skiptoken="), "{next}");
            assert!(page["value"].as_array().unwrap().len() <= 3);
            (url, query) = (next.to_owned(), Vec::new());
        } else {
            let delta = page["@odata.deltaLink"].as_str().unwrap().to_owned();
            assert!(delta.starts_with(&api.base) && delta.contains("$deltatoken="));
            return (items, pages, delta);
        }
    }
}

/// Subscribes `hook` (with a `tenant` query) to the calendar's events for two days, lifecycle notifications to
/// `lifecycle` when given.
pub(super) async fn subscribe(
    api: &Api,
    calendar: &str,
    hook: &Receiver,
    lifecycle: Option<&Receiver>,
) -> (u16, Value) {
    let expiration = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(48)).to_string();
    let mut body = json!({
        "changeType": "created,updated,deleted",
        "notificationUrl": format!("{}?tenant=7", hook.url),
        "resource": format!("/me/calendars/{calendar}/events"),
        "expirationDateTime": expiration,
        "clientState": "secret-state",
    });
    if let Some(lifecycle) = lifecycle {
        body["lifecycleNotificationUrl"] = json!(lifecycle.url);
    }
    api.post("subscriptions", body).await
}

/// Subscribes `hook` to the calendar's events for `minutes`, with `client_state`.
pub(super) async fn subscribe_for(
    api: &Api,
    calendar: &str,
    hook: &Receiver,
    minutes: i64,
    client_state: &str,
) -> (u16, Value) {
    let expiration = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(minutes);
    api.post(
        "subscriptions",
        json!({
            "changeType": "created,updated,deleted",
            "notificationUrl": hook.url,
            "resource": format!("me/calendars/{calendar}/events"),
            "expirationDateTime": expiration.to_string(),
            "clientState": client_state,
        }),
    )
    .await
}
