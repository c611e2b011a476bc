//! Push notifications: `events.watch` opens a channel, which hears `sync` first, then `exists` on every change,
//! posted to its address by the background postman; `channels.stop` closes it.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::gate::{checked, google_error, not_found};
use super::{GoogleEmulator, Shared};
use crate::emulators::push::{Delivery, RECEIVER_TIMEOUT};

const DEFAULT_CHANNEL_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
const MAX_CHANNEL_TTL_MS: i64 = 30 * 24 * 3600 * 1000;
/// The longest channel id Google takes (guides/push).
pub const MAX_CHANNEL_ID_CHARS: usize = 64;
/// The longest channel token Google takes (guides/push).
pub const MAX_CHANNEL_TOKEN_CHARS: usize = 256;

/// A push channel opened by `events.watch`.
#[derive(Clone)]
pub(super) struct Channel {
    id: String,
    pub(super) calendar: &'static str,
    address: String,
    token: Option<String>,
    expiration_ms: i64,
    resource_id: String,
    resource_uri: String,
    messages: u64,
    stopped: bool,
    /// The emulator's clock skew when the channel opened (see `GoogleEmulator::set_now`).
    skew_ms: i64,
}

impl Channel {
    pub(super) fn live(&self) -> bool {
        !self.stopped && self.expiration_ms > Timestamp::now().as_millisecond() + self.skew_ms
    }

    fn json(&self) -> Value {
        let mut channel = json!({
            "kind": "api#channel",
            "id": self.id,
            "resourceId": self.resource_id,
            "resourceUri": self.resource_uri,
            "expiration": self.expiration_ms.to_string(),
        });
        if let Some(token) = &self.token {
            channel["token"] = json!(token);
        }
        channel
    }

    /// The next message on this channel, as Google posts it: headers only, an empty body.
    pub(super) fn message(&mut self, state: &str) -> Delivery {
        self.messages += 1;
        let expiration = Timestamp::from_millisecond(self.expiration_ms)
            .unwrap_or_default()
            .strftime("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let mut headers = vec![
            ("X-Goog-Channel-ID", self.id.clone()),
            ("X-Goog-Channel-Expiration", expiration),
            ("X-Goog-Resource-ID", self.resource_id.clone()),
            ("X-Goog-Resource-URI", self.resource_uri.clone()),
            ("X-Goog-Resource-State", state.to_owned()),
            ("X-Goog-Message-Number", self.messages.to_string()),
        ];
        if let Some(token) = &self.token {
            headers.push(("X-Goog-Channel-Token", token.clone()));
        }
        Delivery {
            sent_on: self.id.clone(),
            label: state.to_owned(),
            url: self.address.clone(),
            headers,
            body: None,
            answer_within: RECEIVER_TIMEOUT,
        }
    }
}

impl GoogleEmulator {
    /// Sets the emulator's clock to `now` (it runs on from there), so that the expiries it grants and checks agree
    /// with the manual clock of the app under test.
    pub fn set_now(&self, now: Timestamp) {
        self.shared.lock().skew_ms = now.as_millisecond() - Timestamp::now().as_millisecond();
    }

    /// Open push channels (neither stopped nor expired), as `Channel` resources.
    pub fn channels(&self) -> Vec<Value> {
        let data = self.shared.lock();
        data.channels
            .iter()
            .filter(|channel| channel.live())
            .map(Channel::json)
            .collect()
    }

    /// Every channel reaches its expiration: nothing more is sent on it.
    pub fn expire_channels(&self) {
        let now = Timestamp::now().as_millisecond() + self.shared.lock().skew_ms;
        for channel in &mut self.shared.lock().channels {
            channel.expiration_ms = channel.expiration_ms.min(now - 1);
        }
    }
}

/// A stable, opaque id for a watched calendar's events.
fn resource_id(calendar: &str) -> String {
    let digest = Sha256::digest(format!("events of {calendar}").as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..15])
}

pub(super) async fn watch_events(
    State(shared): State<Arc<Shared>>,
    Path(calendar_id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let text = |name: &str| body[name].as_str().filter(|v| !v.is_empty());
    let bad = |message: &str| {
        shared.violation(format!("calendar.events.watch: {message}"));
        google_error(StatusCode::BAD_REQUEST, "invalid", message)
    };
    let Some(id) = text("id") else {
        return bad("channel id is required");
    };
    if id.chars().count() > MAX_CHANNEL_ID_CHARS {
        return bad(&format!(
            "channel id is longer than {MAX_CHANNEL_ID_CHARS} characters"
        ));
    }
    if text("token").is_some_and(|token| token.chars().count() > MAX_CHANNEL_TOKEN_CHARS) {
        return bad(&format!(
            "channel token is longer than {MAX_CHANNEL_TOKEN_CHARS} characters"
        ));
    }
    if !matches!(text("type"), Some("web_hook" | "webhook")) {
        return bad("channel type must be web_hook");
    }
    let Some(address) = text("address").filter(|a| reqwest::Url::parse(a).is_ok()) else {
        return bad("channel address must be a URL");
    };
    let now = Timestamp::now().as_millisecond() + shared.lock().skew_ms;
    let ttl_ms = body["params"]["ttl"]
        .as_str()
        .and_then(|ttl| ttl.parse::<i64>().ok())
        .map(|seconds| seconds.saturating_mul(1000));
    let asked = match text("expiration").map(str::parse::<i64>) {
        Some(Ok(ms)) => Some(ms),
        Some(Err(_)) => return bad("expiration must be milliseconds since the epoch"),
        None => ttl_ms.map(|ttl| now + ttl),
    };
    let expiration_ms = asked
        .unwrap_or(now + DEFAULT_CHANNEL_TTL_MS)
        .min(now + MAX_CHANNEL_TTL_MS);
    let mut data = shared.lock();
    let Some(c) = data.calendar_index(&calendar_id) else {
        return not_found();
    };
    if data
        .channels
        .iter()
        .any(|channel| channel.id == id && channel.live())
    {
        drop(data);
        shared.violation(format!("calendar.events.watch: channel id {id} is in use"));
        return google_error(
            StatusCode::BAD_REQUEST,
            "channelIdNotUnique",
            &format!("Channel id {id} not unique"),
        );
    }
    let calendar = data.calendars[c].id;
    let mut channel = Channel {
        skew_ms: data.skew_ms,
        id: id.to_owned(),
        calendar,
        address: address.to_owned(),
        token: text("token").map(str::to_owned),
        expiration_ms,
        resource_id: resource_id(calendar),
        resource_uri: format!(
            "{}calendars/{}/events?alt=json",
            shared.api_base,
            calendar.replace('@', "%40")
        ),
        messages: 0,
        stopped: false,
    };
    let answer = channel.json();
    // A channel that expires before it opens never speaks, not even `sync`.
    let sync: Vec<Delivery> = channel
        .live()
        .then(|| channel.message("sync"))
        .into_iter()
        .collect();
    data.channels.push(channel);
    let deliveries = shared.core.postman.keep(sync);
    drop(data);
    shared.core.postman.send(deliveries);
    checked(&shared, "Channel", StatusCode::OK, answer)
}

pub(super) async fn stop_channel(
    State(shared): State<Arc<Shared>>,
    Json(body): Json<Value>,
) -> Response {
    let mut data = shared.lock();
    let found = data.channels.iter_mut().find(|channel| {
        channel.live() && channel.id == body["id"] && channel.resource_id == body["resourceId"]
    });
    match found {
        Some(channel) => {
            channel.stopped = true;
            StatusCode::NO_CONTENT.into_response()
        }
        None => google_error(
            StatusCode::NOT_FOUND,
            "notFound",
            &format!(
                "Channel '{}' not found for project 'emulated'",
                body["id"].as_str().unwrap_or_default()
            ),
        ),
    }
}
