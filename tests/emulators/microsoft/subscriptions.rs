//! Subscriptions: their endpoints are validated first (the `validationToken` handshake), then change notifications
//! and lifecycle notifications are posted to them by the background postman.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::gate::graph_error;
use super::render::graph_timestamp;
use super::{CLIENT_ID, Data, GraphEmulator, Shared, TENANT_ID, USER_ID};
use crate::emulators::push::Delivery;

/// Graph's longest subscription to Outlook events: 4,230 minutes, under three days (its docs' lifetime table; the
/// docs warn that longer requests fail, and other sources' 10,080 is the laxer of the two).
pub const MAX_SUBSCRIPTION_MINUTES: i64 = 4_230;
/// The longest `clientState` Graph takes: 255 characters in the OpenAPI description, 128 in the CSDL's; the stricter.
pub const MAX_CLIENT_STATE_CHARS: usize = 128;
/// How long Graph waits for the answer to a change or lifecycle notification before counting it failed.
pub const NOTIFICATION_ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(3);

#[derive(Clone)]
pub(super) struct Subscription {
    id: String,
    /// The id of the calendar whose events it watches.
    calendar: String,
    resource: String,
    change_type: String,
    notification_url: String,
    lifecycle_url: Option<String>,
    client_state: Option<String>,
    expiration: Timestamp,
    /// The emulator's clock skew when the subscription was made (see `GraphEmulator::set_now`).
    skew: SignedDuration,
}

impl Subscription {
    fn live(&self) -> bool {
        self.expiration > Timestamp::now() + self.skew
    }

    fn json(&self) -> Value {
        json!({
            "id": self.id,
            "resource": self.resource,
            "applicationId": CLIENT_ID,
            "changeType": self.change_type,
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": null,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": graph_timestamp(self.expiration),
            "creatorId": USER_ID,
            "includeResourceData": false,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": null,
            "encryptionCertificateId": null,
            "notificationUrlAppId": null,
        })
    }
}

impl GraphEmulator {
    /// Sets the emulator's clock to `now` (it runs on from there), so that the expiries it grants and checks agree
    /// with the manual clock of the app under test.
    pub fn set_now(&self, now: Timestamp) {
        self.shared.lock().skew = now.duration_since(Timestamp::now());
    }

    /// Live (unexpired) subscriptions, as Graph answers them.
    pub fn subscriptions(&self) -> Vec<Value> {
        self.shared.lock().live_subscriptions()
    }

    /// The subscription lasts until `until`, beyond today's limit: as Graph granted the longer lifetime an earlier
    /// release of ours asked for, which its stored records still show.
    pub fn grant_subscription_until(&self, id: &str, until: Timestamp) {
        let mut data = self.shared.lock();
        let subscription = data.subscriptions.iter_mut().find(|s| s.id == id);
        subscription
            .unwrap_or_else(|| panic!("no subscription {id}"))
            .expiration = until;
    }

    /// Every subscription reaches its expiration: nothing more is sent, renewing or deleting it finds nothing.
    pub fn expire_subscriptions(&self) {
        let past = Timestamp::now() + self.shared.lock().skew - SignedDuration::from_secs(1);
        for subscription in &mut self.shared.lock().subscriptions {
            subscription.expiration = subscription.expiration.min(past);
        }
    }

    /// Posts a lifecycle notification (`reauthorizationRequired`, `missed`, `subscriptionRemoved`) to the
    /// subscription's `lifecycleNotificationUrl`; nothing when it has none.
    pub fn send_lifecycle(&self, subscription_id: &str, event: &str) {
        let subscription = {
            let data = self.shared.lock();
            data.subscriptions
                .iter()
                .find(|s| s.id == subscription_id)
                .cloned()
        };
        let subscription =
            subscription.unwrap_or_else(|| panic!("no subscription {subscription_id}"));
        self.shared
            .post(lifecycle(&subscription, event).into_iter().collect());
    }

    /// Graph removes the subscription on its own and says so with `subscriptionRemoved`.
    pub fn remove_subscription(&self, id: &str) {
        let removed = {
            let mut data = self.shared.lock();
            let index = data.subscriptions.iter().position(|s| s.id == id);
            index.map(|index| data.subscriptions.remove(index))
        };
        let removed = removed.unwrap_or_else(|| panic!("no subscription {id}"));
        self.shared.post(
            lifecycle(&removed, "subscriptionRemoved")
                .into_iter()
                .collect(),
        );
    }
}

fn lifecycle(subscription: &Subscription, event: &str) -> Option<Delivery> {
    Some(Delivery {
        sent_on: subscription.id.clone(),
        label: event.to_owned(),
        url: subscription.lifecycle_url.clone()?,
        answer_within: NOTIFICATION_ANSWER_WITHIN,
        headers: Vec::new(),
        body: Some(json!({
            "value": [{
                "subscriptionId": subscription.id,
                "subscriptionExpirationDateTime": graph_timestamp(subscription.expiration),
                "clientState": subscription.client_state,
                "tenantId": TENANT_ID,
                "lifecycleEvent": event,
            }]
        })),
    })
}

impl Shared {
    /// Queues notifications for the background task, less those to be lost, each checked against Graph's types.
    pub(super) fn post(&self, deliveries: Vec<Delivery>) {
        let deliveries = self.core.postman.keep(deliveries);
        for body in deliveries
            .iter()
            .filter_map(|delivery| delivery.body.as_ref())
        {
            self.check("ChangeNotificationCollection", "notification", body);
        }
        self.core.postman.send(deliveries);
    }
}

impl Data {
    /// Live (unexpired) subscriptions, as Graph answers them.
    fn live_subscriptions(&self) -> Vec<Value> {
        self.subscriptions
            .iter()
            .filter(|s| s.live())
            .map(Subscription::json)
            .collect()
    }

    /// Records a change to an event of calendar `c`; returns the notifications of the subscriptions watching it.
    pub(super) fn touch(&mut self, c: usize, event_id: &str, change_type: &str) -> Vec<Delivery> {
        self.change_seq += 1;
        let calendar = &mut self.calendars[c];
        calendar
            .changes
            .insert(event_id.to_owned(), self.change_seq);
        let calendar_id = calendar.id.clone();
        let resource = format!("Users/{USER_ID}/Events/{event_id}");
        self.subscriptions
            .iter()
            .filter(|s| {
                s.live()
                    && s.calendar == calendar_id
                    && s.change_type.split(',').any(|t| t.trim() == change_type)
            })
            .map(|s| Delivery {
                sent_on: s.id.clone(),
                label: change_type.to_owned(),
                url: s.notification_url.clone(),
                answer_within: NOTIFICATION_ANSWER_WITHIN,
                headers: Vec::new(),
                body: Some(json!({
                    "value": [{
                        "subscriptionId": s.id,
                        "subscriptionExpirationDateTime": graph_timestamp(s.expiration),
                        "changeType": change_type,
                        "resource": resource,
                        "resourceData": {
                            "@odata.type": "#Microsoft.Graph.Event",
                            "@odata.id": resource,
                            "id": event_id,
                        },
                        "clientState": s.client_state,
                        "tenantId": TENANT_ID,
                    }]
                })),
            })
            .collect()
    }
}

/// `me/calendars/{id}/events` (with or without a leading slash), or `me/events` for the default calendar.
fn subscribed_calendar(data: &Data, resource: &str) -> Option<String> {
    let resource = resource.trim_start_matches('/');
    if resource.eq_ignore_ascii_case("me/events") {
        return data
            .calendars
            .iter()
            .find(|c| c.is_default)
            .map(|c| c.id.clone());
    }
    let id = resource
        .strip_prefix("me/calendars/")?
        .strip_suffix("/events")?;
    data.calendars
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.id.clone())
}

/// What Graph answers, with 400 and the code `ExtensionError`, to an expiry beyond the resource's maximum.
pub fn too_long_message(max_minutes: i64) -> String {
    format!("Subscription expiration can only be {max_minutes} minutes in the future.")
}

/// Checks a requested expiration: in the future and at most Graph's maximum for events away.
fn expiration(shared: &Shared, value: &Value) -> Result<Timestamp, Response> {
    let Some(instant) = value.as_str().and_then(|t| t.parse::<Timestamp>().ok()) else {
        return Err(shared.bad_request(
            "InvalidRequest",
            format!("expirationDateTime {value} is not a date-time"),
        ));
    };
    let now = Timestamp::now() + shared.lock().skew;
    if instant <= now {
        return Err(shared.bad_request(
            "InvalidRequest",
            "Subscription expiration must be in the future.".to_owned(),
        ));
    }
    if instant > now + SignedDuration::from_mins(MAX_SUBSCRIPTION_MINUTES) {
        return Err(
            shared.bad_request("ExtensionError", too_long_message(MAX_SUBSCRIPTION_MINUTES))
        );
    }
    Ok(instant)
}

/// Graph's validation handshake: a POST with `validationToken` in the query, answered within ten seconds by 200,
/// `text/plain` and the token itself.
async fn handshake(shared: &Shared, url: &str) -> Result<(), String> {
    let token = format!(
        "Validation: Testing client application reachability for subscription Request-Id: {}",
        uuid::Uuid::new_v4()
    );
    let mut target = reqwest::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
    target
        .query_pairs_mut()
        .append_pair("validationToken", &token);
    let response = shared
        .core
        .postman
        .http()
        .post(target)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CONTENT_LENGTH, "0")
        .send()
        .await
        .map_err(|e| format!("{url}: no answer to the validation request: {e}"))?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.unwrap_or_default();
    if status != StatusCode::OK {
        Err(format!(
            "{url} answered the validation request with {status}"
        ))
    } else if !content_type.starts_with("text/plain") {
        Err(format!(
            "{url} answered the validation request as {content_type:?}, not text/plain"
        ))
    } else if body != token {
        Err(format!(
            "{url} answered {body:?} instead of the validationToken {token:?}"
        ))
    } else {
        Ok(())
    }
}

fn subscription_not_found() -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        "The object was not found.",
    )
}

fn subscription_answer(
    shared: &Shared,
    status: StatusCode,
    subscription: &Subscription,
) -> Response {
    let mut body = subscription.json();
    body["@odata.context"] = json!(format!(
        "{}$metadata#subscriptions/$entity",
        shared.graph_base()
    ));
    shared.check("Subscription", "subscription answer", &body);
    (status, Json(body)).into_response()
}

fn subscription_body(shared: &Shared, at: &str, body: &Bytes) -> Result<Value, Response> {
    let parsed: Value = serde_json::from_slice(body).map_err(|error| {
        shared.bad_request("BadRequest", format!("{at}: the body is not JSON: {error}"))
    })?;
    if !parsed.is_object() {
        return Err(shared.bad_request("BadRequest", format!("{at}: the body is not an object")));
    }
    let problems = shared.types.check("Subscription", &parsed);
    if !problems.is_empty() {
        return Err(shared.bad_request(
            "BadRequest",
            format!("{at} request: {}", problems.join("; ")),
        ));
    }
    Ok(parsed)
}

pub(super) async fn create_subscription(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Response {
    let body = match subscription_body(&shared, "subscriptions.create", &body) {
        Ok(body) => body,
        Err(response) => return response,
    };
    let text = |name: &str| body[name].as_str().filter(|v| !v.is_empty());
    for required in [
        "changeType",
        "notificationUrl",
        "resource",
        "expirationDateTime",
    ] {
        if text(required).is_none() {
            return shared.bad_request(
                "InvalidRequest",
                format!("subscriptions.create: {required} is required."),
            );
        }
    }
    let change_type = text("changeType").unwrap_or_default();
    if !change_type
        .split(',')
        .all(|t| matches!(t.trim(), "created" | "updated" | "deleted"))
    {
        return shared.bad_request(
            "InvalidRequest",
            format!("subscriptions.create: changeType {change_type:?} is not created, updated or deleted."),
        );
    }
    if text("clientState").is_some_and(|state| state.chars().count() > MAX_CLIENT_STATE_CHARS) {
        return shared.bad_request(
            "InvalidRequest",
            format!("subscriptions.create: clientState is longer than {MAX_CLIENT_STATE_CHARS} characters."),
        );
    }
    let resource = text("resource").unwrap_or_default();
    let Some(calendar) = subscribed_calendar(&shared.lock(), resource) else {
        return shared.bad_request(
            "InvalidRequest",
            format!("subscriptions.create: resource {resource:?} is not a calendar's events."),
        );
    };
    let expires = match expiration(&shared, &body["expirationDateTime"]) {
        Ok(expires) => expires,
        Err(response) => return response,
    };
    let notification_url = text("notificationUrl").unwrap_or_default().to_owned();
    let lifecycle_url = text("lifecycleNotificationUrl").map(str::to_owned);
    for url in std::iter::once(&notification_url).chain(lifecycle_url.as_ref()) {
        if let Err(problem) = handshake(&shared, url).await {
            shared.violation(format!("subscriptions.create: {problem}"));
            return graph_error(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.",
            );
        }
    }
    let subscription = Subscription {
        skew: shared.lock().skew,
        id: uuid::Uuid::new_v4().to_string(),
        calendar,
        resource: resource.to_owned(),
        change_type: change_type.to_owned(),
        notification_url,
        lifecycle_url,
        client_state: text("clientState").map(str::to_owned),
        expiration: expires,
    };
    shared.lock().subscriptions.push(subscription.clone());
    subscription_answer(&shared, StatusCode::CREATED, &subscription)
}

pub(super) async fn list_subscriptions(State(shared): State<Arc<Shared>>) -> Response {
    let value = shared.lock().live_subscriptions();
    Json(json!({
        "@odata.context": format!("{}$metadata#subscriptions", shared.graph_base()),
        "value": value,
    }))
    .into_response()
}

pub(super) async fn get_subscription(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Response {
    let found = {
        let data = shared.lock();
        data.subscriptions
            .iter()
            .find(|s| s.id == id && s.live())
            .cloned()
    };
    match found {
        Some(subscription) => subscription_answer(&shared, StatusCode::OK, &subscription),
        None => subscription_not_found(),
    }
}

pub(super) async fn renew_subscription(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let body = match subscription_body(&shared, "subscriptions.update", &body) {
        Ok(body) => body,
        Err(response) => return response,
    };
    if !shared
        .lock()
        .subscriptions
        .iter()
        .any(|s| s.id == id && s.live())
    {
        return subscription_not_found();
    }
    if body.get("lifecycleNotificationUrl").is_some() {
        return shared.bad_request(
            "InvalidRequest",
            "subscriptions.update: lifecycleNotificationUrl can be set only when the subscription is created."
                .to_owned(),
        );
    }
    let expires = match expiration(&shared, &body["expirationDateTime"]) {
        Ok(expires) => expires,
        Err(response) => return response,
    };
    let renewed = {
        let mut data = shared.lock();
        let Some(subscription) = data.subscriptions.iter_mut().find(|s| s.id == id) else {
            return subscription_not_found();
        };
        subscription.expiration = expires;
        subscription.clone()
    };
    subscription_answer(&shared, StatusCode::OK, &renewed)
}

pub(super) async fn delete_subscription(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Response {
    let mut data = shared.lock();
    match data
        .subscriptions
        .iter()
        .position(|s| s.id == id && s.live())
    {
        Some(index) => {
            data.subscriptions.remove(index);
            StatusCode::NO_CONTENT.into_response()
        }
        None => subscription_not_found(),
    }
}
