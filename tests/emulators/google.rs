//! Google Calendar API v3 (calendar list and events of one account) and Google's OAuth 2.0 endpoints, served on a
//! loopback port. It behaves like Google where our clients depend on it: client-chosen base32hex event ids, 409 for an
//! id already used (even by a deleted event), deleted events kept as `cancelled` and revived by a patch, 410 for
//! deleting one twice, read-only calendars, PKCE, offline access. Every request is checked against the discovery
//! document (method, parameters, body schema) and every event it answers with against the `Event` schema; anything
//! malformed is recorded as a violation for the test to assert on.
//!
//! Inbound sync works as with Google: `events.list` expands recurring events into instances (`singleEvents=true`),
//! pages by `nextPageToken` (three events a page, so clients must page), ends with a `nextSyncToken` that later
//! returns only what changed (deletions as `cancelled`), refuses a sync token with filters (400) and an invalidated
//! one (410 `fullSyncRequired`). `events.watch` opens a push channel: a `sync` message first, then `exists` on every
//! change, posted to the channel's address by a background task; `channels.stop` closes it. Tests act as the user
//! through `add_event`, `update_event` and `delete_event`, which count as changes like API writes do.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Helpers fail with the finished error response; its size is of no concern in a test server.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::faults::{Fault, Faults, When, reset_connection};
use super::spec::{GoogleDiscovery, GoogleRequest};

pub const CLIENT_ID: &str = "emulated-google-client.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "emulated-google-secret";
/// The one account; its primary calendar's id is its address.
pub const ACCOUNT: &str = "owner@example.com";
pub const TEAM_CALENDAR: &str = "team@group.calendar.google.com";
pub const HOLIDAYS_CALENDAR: &str = "holidays@group.v.calendar.google.com";
const EVENTS_SCOPE: &str = "https://www.googleapis.com/auth/calendar.events";
const TOKEN_LIFETIME_SECS: u64 = 3599;
/// Google pages at most this many events whatever `maxResults` asks (it may return fewer than asked): clients must
/// follow `nextPageToken`.
const PAGE_SIZE: usize = 3;
/// Instances expanded from one recurring event at most (an endless series stops here).
const MAX_INSTANCES: usize = 1000;
const DEFAULT_CHANNEL_TTL_MS: i64 = 7 * 24 * 3600 * 1000;
const MAX_CHANNEL_TTL_MS: i64 = 30 * 24 * 3600 * 1000;
/// How long a push notification waits for the receiver's answer.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct GoogleEmulator {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
    postman: tokio::task::JoinHandle<()>,
}

struct Shared {
    faults: Faults,
    discovery: GoogleDiscovery,
    /// `http://127.0.0.1:PORT/calendar/v3/`
    api_base: String,
    /// Push notifications waiting for the background task that posts them, in order.
    outbox: mpsc::UnboundedSender<Delivery>,
    data: Mutex<Data>,
}

struct Calendar {
    id: &'static str,
    summary: &'static str,
    access_role: &'static str,
    primary: bool,
    time_zone: String,
    /// By id; deleted events stay, `cancelled`, as Google keeps them. Changed instances of recurring events
    /// (exceptions) are stored under their instance id, with `recurringEventId`.
    events: HashMap<String, Value>,
    /// Event id → the change number of its last change: what sync tokens compare against.
    changes: HashMap<String, u64>,
    updated: Timestamp,
}

/// A push channel opened by `events.watch`.
#[derive(Clone)]
struct Channel {
    id: String,
    calendar: &'static str,
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
    fn live(&self) -> bool {
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
    fn message(&mut self, state: &str) -> Delivery {
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
            channel_id: self.id.clone(),
            state: state.to_owned(),
            address: self.address.clone(),
            headers,
        }
    }
}

struct Delivery {
    channel_id: String,
    state: String,
    address: String,
    headers: Vec<(&'static str, String)>,
}

struct CodeGrant {
    redirect_uri: String,
    code_challenge: String,
}

struct Data {
    /// How far the emulator's clock is ahead of the real one, so that expiries agree with a test's manual clock.
    skew_ms: i64,
    calendars: Vec<Calendar>,
    codes: HashMap<String, CodeGrant>,
    access_tokens: HashSet<String>,
    refresh_tokens: HashSet<String>,
    violations: Vec<String>,
    requests: HashMap<String, usize>,
    token_refreshes: usize,
    /// The last change number handed out, across calendars.
    change_seq: u64,
    /// Sync tokens carry the generation they were issued in; invalidating tokens starts a new one.
    token_generation: u64,
    channels: Vec<Channel>,
    /// How many of the next notifications are silently lost.
    drop_notifications: usize,
    /// `(channel id, resource state, HTTP status our receiver answered, 0 for none)`.
    notifications: Vec<(String, String, u16)>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn violation(&self, problem: String) {
        self.lock().violations.push(problem);
    }

    fn post(&self, deliveries: Vec<Delivery>) {
        for delivery in deliveries {
            // The receiving task ends only with the emulator.
            let _ = self.outbox.send(delivery);
        }
    }
}

impl Data {
    fn issue(&mut self) -> (String, String) {
        let access = format!("ya29.{}", random_token());
        let refresh = format!("1//{}", random_token());
        self.access_tokens.insert(access.clone());
        self.refresh_tokens.insert(refresh.clone());
        (access, refresh)
    }

    fn calendar(&mut self, id: &str) -> Option<&mut Calendar> {
        let index = self.calendar_index(id)?;
        Some(&mut self.calendars[index])
    }

    fn calendar_index(&self, id: &str) -> Option<usize> {
        let id = if id == "primary" { ACCOUNT } else { id };
        self.calendars.iter().position(|calendar| calendar.id == id)
    }

    /// Records a change to an event of calendar `c` and returns the `exists` messages of the channels watching it.
    fn touch(&mut self, c: usize, event_id: &str) -> Vec<Delivery> {
        self.change_seq += 1;
        let seq = self.change_seq;
        let calendar = &mut self.calendars[c];
        calendar.changes.insert(event_id.to_owned(), seq);
        calendar.updated = Timestamp::now();
        let calendar_id = calendar.id;
        let mut deliveries = Vec::new();
        for channel in &mut self.channels {
            if channel.calendar == calendar_id && channel.live() {
                deliveries.push(channel.message("exists"));
            }
        }
        self.lose_dropped(deliveries)
    }

    fn lose_dropped(&mut self, mut deliveries: Vec<Delivery>) -> Vec<Delivery> {
        let lost = self.drop_notifications.min(deliveries.len());
        self.drop_notifications -= lost;
        deliveries.drain(..lost);
        deliveries
    }
}

impl GoogleEmulator {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let calendar = |id, summary, access_role, primary, zone: &str| Calendar {
            id,
            summary,
            access_role,
            primary,
            time_zone: zone.to_owned(),
            events: HashMap::new(),
            changes: HashMap::new(),
            updated: Timestamp::now(),
        };
        let (outbox, inbox) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            faults: Faults::default(),
            discovery: GoogleDiscovery::load(),
            api_base: format!("http://{address}/calendar/v3/"),
            outbox,
            data: Mutex::new(Data {
                skew_ms: 0,
                calendars: vec![
                    calendar(ACCOUNT, ACCOUNT, "owner", true, "Europe/London"),
                    calendar(TEAM_CALENDAR, "Team", "writer", false, "America/New_York"),
                    calendar(
                        HOLIDAYS_CALENDAR,
                        "Holidays",
                        "reader",
                        false,
                        "America/New_York",
                    ),
                ],
                codes: HashMap::new(),
                access_tokens: HashSet::new(),
                refresh_tokens: HashSet::new(),
                violations: Vec::new(),
                requests: HashMap::new(),
                token_refreshes: 0,
                change_seq: 0,
                token_generation: 0,
                channels: Vec::new(),
                drop_notifications: 0,
                notifications: Vec::new(),
            }),
        });
        let postman = tokio::spawn(deliver(shared.clone(), inbox));
        let router = Router::new()
            .route("/o/oauth2/v2/auth", get(authorize))
            .route("/token", post(token))
            .route("/revoke", post(revoke))
            .route("/calendar/v3/users/me/calendarList", get(calendar_list))
            .route(
                "/calendar/v3/calendars/{calendar}/events",
                get(list_events).post(insert_event),
            )
            .route(
                "/calendar/v3/calendars/{calendar}/events/watch",
                post(watch_events),
            )
            .route(
                "/calendar/v3/calendars/{calendar}/events/{event}",
                get(get_event)
                    .patch(patch_event)
                    .put(update_event)
                    .delete(delete_event),
            )
            .route("/calendar/v3/channels/stop", post(stop_channel))
            .fallback(unknown_endpoint)
            .layer(middleware::from_fn_with_state(shared.clone(), gate))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            address,
            shared,
            server,
            postman,
        }
    }

    /// The counterpart of `https://www.googleapis.com/calendar/v3/`.
    pub fn api_base(&self) -> String {
        format!("http://{}/calendar/v3/", self.address)
    }

    pub fn authorize_url(&self) -> String {
        format!("http://{}/o/oauth2/v2/auth", self.address)
    }

    pub fn token_url(&self) -> String {
        format!("http://{}/token", self.address)
    }

    pub fn revoke_url(&self) -> String {
        format!("http://{}/revoke", self.address)
    }

    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// Live events of the calendar (not `cancelled`).
    pub fn events(&self, calendar_id: &str) -> Vec<Value> {
        self.all_events(calendar_id)
            .into_iter()
            .filter(|event| event["status"] != "cancelled")
            .collect()
    }

    /// Every event of the calendar, the deleted (`cancelled`) ones included.
    pub fn all_events(&self, calendar_id: &str) -> Vec<Value> {
        let mut data = self.shared.lock();
        data.calendar(calendar_id)
            .map(|calendar| calendar.events.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn violations(&self) -> Vec<String> {
        self.shared.lock().violations.clone()
    }

    /// Requests per discovery method id (`calendar.events.insert`, …), or `token`, `authorize`, `revoke`.
    pub fn request_count(&self, method_id: &str) -> usize {
        self.shared
            .lock()
            .requests
            .get(method_id)
            .copied()
            .unwrap_or(0)
    }

    pub fn token_refresh_count(&self) -> usize {
        self.shared.lock().token_refreshes
    }

    /// The user removes our access: refresh tokens stop working (access tokens still work until they expire).
    pub fn revoke_grants(&self) {
        self.shared.lock().refresh_tokens.clear();
    }

    pub fn expire_access_tokens(&self) {
        self.shared.lock().access_tokens.clear();
    }

    /// Tokens as if the account had just been connected: `(access, refresh)`.
    pub fn issue_tokens(&self) -> (String, String) {
        self.shared.lock().issue()
    }

    /// The user creates an event in Google Calendar: Google's defaults are filled in (status, created, updated,
    /// etag, iCalUID, an id when `event` has none). Returns the id. A recurring event has `recurrence`
    /// (`RRULE:FREQ=DAILY|WEEKLY;…`).
    pub fn add_event(&self, calendar_id: &str, event: Value) -> String {
        let mut fields = event.as_object().cloned().expect("an event object");
        let id = fields
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(new_event_id, str::to_owned);
        fields.insert("id".into(), json!(id));
        let problems = self
            .shared
            .discovery
            .check_schema("Event", &Value::Object(fields.clone()));
        assert!(problems.is_empty(), "add_event: {problems:?}");
        let mut data = self.shared.lock();
        let c = data.calendar_index(calendar_id).expect("a known calendar");
        assert!(
            !data.calendars[c].events.contains_key(&id),
            "add_event: {id} exists"
        );
        let event = stamped(fields, data.calendars[c].id, &id, 0);
        data.calendars[c].events.insert(id.clone(), event);
        let deliveries = data.touch(c, &id);
        drop(data);
        self.shared.post(deliveries);
        id
    }

    /// The user edits an event: `patch` is merged into it. On an instance id of a recurring event, that instance
    /// becomes an exception.
    pub fn update_event(&self, calendar_id: &str, event_id: &str, patch: Value) {
        if let Err(response) =
            write_event(&self.shared, calendar_id, event_id, &patch, false, false)
        {
            panic!("update_event {event_id}: {}", response.status());
        }
    }

    /// The user deletes an event (it stays, `cancelled`); on an instance id, only that instance is cancelled.
    pub fn delete_event(&self, calendar_id: &str, event_id: &str) {
        if let Err(response) = cancel_event(&self.shared, calendar_id, event_id, false) {
            panic!("delete_event {event_id}: {}", response.status());
        }
    }

    /// The calendar's time zone, answered as the `timeZone` of listings (the primary calendar's is Europe/London
    /// until set).
    pub fn set_time_zone(&self, calendar_id: &str, zone: &str) {
        assert!(TimeZone::get(zone).is_ok(), "unknown zone {zone}");
        let mut data = self.shared.lock();
        let c = data.calendar_index(calendar_id).expect("a known calendar");
        data.calendars[c].time_zone = zone.to_owned();
    }

    /// Every sync token issued so far stops working: its next use is answered 410 `fullSyncRequired`.
    pub fn invalidate_sync_tokens(&self) {
        self.shared.lock().token_generation += 1;
    }

    /// The next `n` push notifications are lost: never sent, not recorded (their message numbers are used up).
    pub fn drop_notifications(&self, n: usize) {
        self.shared.lock().drop_notifications += n;
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

    /// Push notifications posted so far, in order: `(channel id, resource state, HTTP status of the answer)`, the
    /// status 0 when none came (refused, reset, or more than ten seconds).
    pub fn notifications(&self) -> Vec<(String, String, u16)> {
        self.shared.lock().notifications.clone()
    }

    /// Sets the emulator's clock to `now` (it runs on from there), so that the expiries it grants and checks agree
    /// with the manual clock of the app under test.
    pub fn set_now(&self, now: Timestamp) {
        self.shared.lock().skew_ms = now.as_millisecond() - Timestamp::now().as_millisecond();
    }

    /// Every channel reaches its expiration: nothing more is sent on it.
    pub fn expire_channels(&self) {
        let now = Timestamp::now().as_millisecond() + self.shared.lock().skew_ms;
        for channel in &mut self.shared.lock().channels {
            channel.expiration_ms = channel.expiration_ms.min(now - 1);
        }
    }
}

/// Posts push notifications one after another, in the order they were made, and records the answers.
async fn deliver(shared: Arc<Shared>, mut inbox: mpsc::UnboundedReceiver<Delivery>) {
    let http = reqwest::Client::builder()
        .timeout(DELIVERY_TIMEOUT)
        .build()
        .unwrap();
    while let Some(delivery) = inbox.recv().await {
        let mut request = http
            .post(&delivery.address)
            .header(header::CONTENT_LENGTH, "0");
        for (name, value) in &delivery.headers {
            request = request.header(*name, value);
        }
        let status = match request.send().await {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        };
        shared
            .lock()
            .notifications
            .push((delivery.channel_id, delivery.state, status));
    }
}

impl Drop for GoogleEmulator {
    fn drop(&mut self) {
        self.server.abort();
        self.postman.abort();
    }
}

/// Faults, authentication, request counting and the discovery check of every API request.
async fn gate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let api_path = path.strip_prefix("/calendar/v3/").map(str::to_owned);
    let label = match &api_path {
        Some(api_path) => shared
            .discovery
            .method_for(&method, api_path)
            .map_or_else(|| "unknown".to_owned(), |(id, _)| id.to_owned()),
        None => path
            .trim_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("")
            .to_owned(),
    };
    *shared.lock().requests.entry(label).or_default() += 1;
    let oauth = api_path.is_none();
    match shared.faults.take(&method, &path, When::Before) {
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(fault) => return render_fault(fault, oauth),
        None => {}
    }
    let request = match api_path {
        Some(api_path) => {
            let bearer = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("Bearer "));
            if !bearer.is_some_and(|token| shared.lock().access_tokens.contains(token)) {
                return render_fault(Fault::Unauthorized, false);
            }
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, 1 << 20)
                .await
                .unwrap_or_default();
            let query: Vec<(String, String)> = parts.uri.query().map(url_pairs).unwrap_or_default();
            let body_json: Option<Value> = if bytes.is_empty() {
                None
            } else {
                match serde_json::from_slice(&bytes) {
                    Ok(value) => Some(value),
                    Err(error) => {
                        shared.violation(format!("{method} {path}: body is not JSON: {error}"));
                        return google_error(StatusCode::BAD_REQUEST, "parseError", "Parse Error");
                    }
                }
            };
            let problems = shared.discovery.check_request(&GoogleRequest {
                http_method: &method,
                path: &api_path,
                query: &query,
                body: body_json.as_ref(),
            });
            if !problems.is_empty() {
                shared.lock().violations.extend(problems.clone());
                return google_error(StatusCode::BAD_REQUEST, "invalid", &problems.join("; "));
            }
            Request::from_parts(parts, Body::from(bytes))
        }
        None => request,
    };
    let response = next.run(request).await;
    match shared.faults.take(&method, &path, When::After) {
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            response
        }
        Some(fault) => render_fault(fault, oauth),
        None => response,
    }
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

/// Google's JSON error format.
fn google_error(status: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({
        "error": {
            "code": status.as_u16(),
            "message": message,
            "errors": [{ "domain": "global", "reason": reason, "message": message }],
        }
    });
    (status, Json(body)).into_response()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

fn render_fault(fault: Fault, oauth: bool) -> Response {
    let with_retry_after = |seconds: u64, mut response: Response| {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        response
    };
    match fault {
        Fault::ConnectionReset => reset_connection(),
        Fault::InvalidGrant => oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Token has been expired or revoked.",
        ),
        Fault::ServerError if oauth => oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_failure",
            "Internal error",
        ),
        Fault::ServerError => google_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "backendError",
            "Backend Error",
        ),
        Fault::Unavailable => google_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "backendError",
            "The service is currently unavailable.",
        ),
        Fault::TooManyRequests { retry_after_secs } => with_retry_after(
            retry_after_secs,
            google_error(
                StatusCode::TOO_MANY_REQUESTS,
                "rateLimitExceeded",
                "Rate Limit Exceeded",
            ),
        ),
        Fault::RateLimitForbidden => google_error(
            StatusCode::FORBIDDEN,
            "rateLimitExceeded",
            "Rate Limit Exceeded",
        ),
        Fault::Unauthorized => google_error(
            StatusCode::UNAUTHORIZED,
            "authError",
            "Request had invalid authentication credentials.",
        ),
        Fault::NotFound => google_error(StatusCode::NOT_FOUND, "notFound", "Not Found"),
        Fault::Gone => google_error(StatusCode::GONE, "deleted", "Resource has been deleted"),
        Fault::Delay(_) => unreachable!("delays are served by waiting"),
    }
}

async fn unknown_endpoint(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    shared.violation(format!(
        "no such endpoint: {} {}",
        request.method(),
        request.uri().path()
    ));
    google_error(StatusCode::NOT_FOUND, "notFound", "Not Found")
}

// ---- OAuth ------------------------------------------------------------------------------------------------------

async fn authorize(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let param = |name: &str| {
        query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let scopes: Vec<&str> = param("scope").unwrap_or_default().split(' ').collect();
    let problem = if param("client_id") != Some(CLIENT_ID) {
        Some("unknown client_id")
    } else if param("response_type") != Some("code") {
        Some("response_type must be code")
    } else if !scopes.contains(&EVENTS_SCOPE) {
        Some("the calendar.events scope is missing")
    } else if param("access_type") != Some("offline") || param("prompt") != Some("consent") {
        Some("without access_type=offline and prompt=consent no refresh token is issued")
    } else if param("code_challenge").is_none() || param("code_challenge_method") != Some("S256") {
        Some("PKCE with S256 is required")
    } else if param("state").is_none() {
        Some("state is missing")
    } else {
        None
    };
    let Some(mut target) = param("redirect_uri").and_then(|uri| reqwest::Url::parse(uri).ok())
    else {
        shared.violation("authorize: redirect_uri missing or not a URL".to_owned());
        return (StatusCode::BAD_REQUEST, "Error 400: invalid_request").into_response();
    };
    if let Some(problem) = problem {
        shared.violation(format!("authorize: {problem}"));
        return (StatusCode::BAD_REQUEST, format!("Error 400: {problem}")).into_response();
    }
    let code = format!("4/0A{}", random_token());
    shared.lock().codes.insert(
        code.clone(),
        CodeGrant {
            redirect_uri: target.to_string(),
            code_challenge: param("code_challenge").unwrap_or_default().to_owned(),
        },
    );
    target
        .query_pairs_mut()
        .append_pair("state", param("state").unwrap_or_default())
        .append_pair("code", &code)
        .append_pair("scope", &scopes.join(" "));
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

fn client_authenticated(headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    use base64::engine::general_purpose::STANDARD;
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| STANDARD.decode(encoded.trim()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok());
    match basic {
        Some(basic) => basic == format!("{CLIENT_ID}:{CLIENT_SECRET}"),
        None => {
            form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET)
        }
    }
}

async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let param = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    if !client_authenticated(&headers, &form) {
        shared.violation("token: client authentication failed".to_owned());
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized");
    }
    let invalid_grant = || oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request");
    let mut data = shared.lock();
    match param("grant_type") {
        Some("authorization_code") => {
            let Some(grant) = param("code").and_then(|code| data.codes.remove(code)) else {
                return invalid_grant();
            };
            let verified = param("code_verifier").is_some_and(|verifier| {
                URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == grant.code_challenge
            });
            let redirect_matches = param("redirect_uri").is_some_and(|uri| {
                reqwest::Url::parse(uri).is_ok_and(|uri| uri.to_string() == grant.redirect_uri)
            });
            if !verified || !redirect_matches {
                data.violations
                    .push("token: PKCE verifier or redirect_uri does not match".to_owned());
                return invalid_grant();
            }
            let (access, refresh) = data.issue();
            let body = json!({
                "access_token": access,
                "expires_in": TOKEN_LIFETIME_SECS,
                "refresh_token": refresh,
                "scope": EVENTS_SCOPE,
                "token_type": "Bearer",
            });
            (StatusCode::OK, Json(body)).into_response()
        }
        Some("refresh_token") => {
            let known =
                param("refresh_token").is_some_and(|token| data.refresh_tokens.contains(token));
            if !known {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Token has been expired or revoked.",
                );
            }
            data.token_refreshes += 1;
            let access = format!("ya29.{}", random_token());
            data.access_tokens.insert(access.clone());
            // Google keeps the refresh token: none comes back.
            let body = json!({
                "access_token": access,
                "expires_in": TOKEN_LIFETIME_SECS,
                "scope": EVENTS_SCOPE,
                "token_type": "Bearer",
            });
            (StatusCode::OK, Json(body)).into_response()
        }
        other => {
            data.violations.push(format!("token: grant_type {other:?}"));
            oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Invalid grant_type",
            )
        }
    }
}

async fn revoke(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let form: HashMap<String, String> = url_pairs(&String::from_utf8_lossy(&body))
        .into_iter()
        .collect();
    let Some(token) = form.get("token").or_else(|| query.get("token")) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Missing token");
    };
    let mut data = shared.lock();
    let known = data.refresh_tokens.remove(token) | data.access_tokens.remove(token);
    if known {
        // Revoking a grant ends all of it.
        data.refresh_tokens.clear();
        data.access_tokens.clear();
        StatusCode::OK.into_response()
    } else {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "Token expired or revoked",
        )
    }
}

// ---- Calendar API -----------------------------------------------------------------------------------------------

fn checked(shared: &Shared, schema: &str, status: StatusCode, value: Value) -> Response {
    let problems = shared.discovery.check_schema(schema, &value);
    if !problems.is_empty() {
        shared.lock().violations.extend(problems);
    }
    (status, Json(value)).into_response()
}

async fn calendar_list(State(shared): State<Arc<Shared>>) -> Response {
    let items: Vec<Value> = shared
        .lock()
        .calendars
        .iter()
        .map(|calendar| {
            let mut entry = json!({
                "kind": "calendar#calendarListEntry",
                "etag": format!("\"{}\"", calendar.id.len()),
                "id": calendar.id,
                "summary": calendar.summary,
                "timeZone": calendar.time_zone,
                "accessRole": calendar.access_role,
            });
            if calendar.primary {
                entry["primary"] = json!(true);
            }
            entry
        })
        .collect();
    let list = json!({
        "kind": "calendar#calendarList",
        "etag": "\"p33c\"",
        "items": items,
    });
    checked(&shared, "CalendarList", StatusCode::OK, list)
}

/// Google's rule for client-chosen ids: base32hex characters, 5 to 1024 of them.
fn valid_event_id(id: &str) -> bool {
    (5..=1024).contains(&id.len()) && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'v'))
}

fn writable(calendar: &Calendar) -> Result<(), Response> {
    if matches!(calendar.access_role, "owner" | "writer") {
        Ok(())
    } else {
        Err(google_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "You need to have writer access to this calendar.",
        ))
    }
}

fn calendar_not_found() -> Response {
    google_error(StatusCode::NOT_FOUND, "notFound", "Not Found")
}

fn stamped(mut event: Map<String, Value>, calendar: &str, id: &str, sequence: u64) -> Value {
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    event.insert("kind".into(), json!("calendar#event"));
    event.insert("id".into(), json!(id));
    event.insert(
        "etag".into(),
        json!(format!(
            "\"{}\"",
            uuid::Uuid::new_v4().as_u128() % 10_u128.pow(16)
        )),
    );
    event.insert("updated".into(), json!(now));
    event.entry("created").or_insert(json!(now));
    event.insert("sequence".into(), json!(sequence));
    event.insert("iCalUID".into(), json!(format!("{id}@google.com")));
    event.insert(
        "htmlLink".into(),
        json!(format!("https://www.google.com/calendar/event?eid={id}")),
    );
    event.insert(
        "organizer".into(),
        json!({ "email": calendar, "self": true }),
    );
    event.insert("creator".into(), json!({ "email": ACCOUNT, "self": true }));
    event.entry("status").or_insert(json!("confirmed"));
    Value::Object(event)
}

fn new_event_id() -> String {
    URL_SAFE_NO_PAD
        .encode(uuid::Uuid::new_v4().as_bytes())
        .to_lowercase()
        .chars()
        .filter(|c| matches!(c, '0'..='9' | 'a'..='v'))
        .collect()
}

async fn insert_event(
    State(shared): State<Arc<Shared>>,
    Path(calendar_id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut data = shared.lock();
    let Some(c) = data.calendar_index(&calendar_id) else {
        return calendar_not_found();
    };
    let calendar = &mut data.calendars[c];
    if let Err(refused) = writable(calendar) {
        return refused;
    }
    let Some(fields) = body.as_object().cloned() else {
        return google_error(StatusCode::BAD_REQUEST, "invalid", "Invalid body");
    };
    if fields.get("start").is_none() || fields.get("end").is_none() {
        return google_error(StatusCode::BAD_REQUEST, "required", "Missing end time.");
    }
    let id = match fields.get("id").and_then(Value::as_str) {
        Some(id) if !valid_event_id(id) => {
            data.violations.push(format!(
                "calendar.events.insert: id {id:?} is not 5 to 1024 base32hex characters"
            ));
            return google_error(
                StatusCode::BAD_REQUEST,
                "invalid",
                "Invalid resource id value.",
            );
        }
        Some(id) => id.to_owned(),
        None => new_event_id(),
    };
    if calendar.events.contains_key(&id) {
        return google_error(
            StatusCode::CONFLICT,
            "duplicate",
            "The requested identifier already exists.",
        );
    }
    let event = stamped(fields, calendar.id, &id, 0);
    calendar.events.insert(id.clone(), event.clone());
    let deliveries = data.touch(c, &id);
    drop(data);
    shared.post(deliveries);
    checked(&shared, "Event", StatusCode::OK, event)
}

/// A stored event, or an instance of a recurring one by its instance id.
fn find_event(calendar: &Calendar, event_id: &str) -> Option<Value> {
    if let Some(event) = calendar.events.get(event_id) {
        return Some(event.clone());
    }
    let (master_id, _) = event_id.rsplit_once('_')?;
    let master = calendar.events.get(master_id)?;
    instances(calendar, master)
        .into_iter()
        .find(|instance| instance.event["id"] == event_id)
        .map(|instance| instance.event)
}

async fn get_event(
    State(shared): State<Arc<Shared>>,
    Path((calendar_id, event_id)): Path<(String, String)>,
) -> Response {
    let mut data = shared.lock();
    let Some(calendar) = data.calendar(&calendar_id) else {
        return calendar_not_found();
    };
    let Some(event) = find_event(calendar, &event_id) else {
        return google_error(StatusCode::NOT_FOUND, "notFound", "Not Found");
    };
    drop(data);
    checked(&shared, "Event", StatusCode::OK, event)
}

/// Patches (`replace` false) or replaces an event, or an instance of a recurring event, which then becomes an
/// exception. `by_api` applies the calendar's access role (the user in the web UI is its owner).
fn write_event(
    shared: &Shared,
    calendar_id: &str,
    event_id: &str,
    body: &Value,
    replace: bool,
    by_api: bool,
) -> Result<Value, Response> {
    let mut data = shared.lock();
    let c = data
        .calendar_index(calendar_id)
        .ok_or_else(calendar_not_found)?;
    let calendar = &mut data.calendars[c];
    if by_api {
        writable(calendar)?;
    }
    let calendar_name = calendar.id;
    let current = find_event(calendar, event_id)
        .ok_or_else(|| google_error(StatusCode::NOT_FOUND, "notFound", "Not Found"))?;
    let Some(changes) = body.as_object() else {
        return Err(google_error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "Invalid body",
        ));
    };
    let mut fields = if replace {
        Map::new()
    } else {
        current.as_object().cloned().unwrap_or_default()
    };
    for (name, value) in changes {
        fields.insert(name.clone(), value.clone());
    }
    for kept in ["created", "recurringEventId", "originalStartTime"] {
        if let Some(value) = current.get(kept) {
            fields.insert(kept.into(), value.clone());
        }
    }
    // A patch without a status leaves a cancelled event cancelled, as Google does.
    if !changes.contains_key("status") {
        if let Some(status) = current.get("status") {
            fields.insert("status".into(), status.clone());
        }
    }
    let sequence = current["sequence"].as_u64().unwrap_or(0) + 1;
    let mut event = stamped(fields, calendar_name, event_id, sequence);
    if let Some(uid) = current.get("iCalUID") {
        event["iCalUID"] = uid.clone();
    }
    calendar.events.insert(event_id.to_owned(), event.clone());
    let deliveries = data.touch(c, event_id);
    drop(data);
    shared.post(deliveries);
    Ok(event)
}

async fn patch_event(
    State(shared): State<Arc<Shared>>,
    Path((calendar_id, event_id)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    match write_event(&shared, &calendar_id, &event_id, &body, false, true) {
        Ok(event) => checked(&shared, "Event", StatusCode::OK, event),
        Err(response) => response,
    }
}

async fn update_event(
    State(shared): State<Arc<Shared>>,
    Path((calendar_id, event_id)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    match write_event(&shared, &calendar_id, &event_id, &body, true, true) {
        Ok(event) => checked(&shared, "Event", StatusCode::OK, event),
        Err(response) => response,
    }
}

/// Marks an event `cancelled` (an instance becomes a cancelled exception); 410 when it already is.
fn cancel_event(
    shared: &Shared,
    calendar_id: &str,
    event_id: &str,
    by_api: bool,
) -> Result<(), Response> {
    let mut data = shared.lock();
    let c = data
        .calendar_index(calendar_id)
        .ok_or_else(calendar_not_found)?;
    let calendar = &mut data.calendars[c];
    if by_api {
        writable(calendar)?;
    }
    let mut event = find_event(calendar, event_id)
        .ok_or_else(|| google_error(StatusCode::NOT_FOUND, "notFound", "Not Found"))?;
    if event["status"] == "cancelled" {
        return Err(google_error(
            StatusCode::GONE,
            "deleted",
            "Resource has been deleted",
        ));
    }
    event["status"] = json!("cancelled");
    event["updated"] = json!(google_now());
    calendar.events.insert(event_id.to_owned(), event);
    let deliveries = data.touch(c, event_id);
    drop(data);
    shared.post(deliveries);
    Ok(())
}

async fn delete_event(
    State(shared): State<Arc<Shared>>,
    Path((calendar_id, event_id)): Path<(String, String)>,
) -> Response {
    match cancel_event(&shared, &calendar_id, &event_id, true) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(response) => response,
    }
}

fn google_now() -> String {
    Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

// ---- Listing and sync -------------------------------------------------------------------------------------------

/// An event or instance as a listing sees it: when it starts and ends (for the window and the order) and which
/// stored events it depends on (for sync tokens).
struct Listed {
    event: Value,
    start: Timestamp,
    end: Timestamp,
    /// The stored event ids whose changes change this one: itself, or the recurring event and the exception.
    sources: Vec<String>,
}

/// The instant an event edge (`start`/`end`) stands for; all-day dates begin at midnight in `zone`.
fn edge_instant(edge: &Value, zone: &str) -> Option<Timestamp> {
    if let Some(text) = edge["dateTime"].as_str() {
        if let Ok(instant) = text.parse::<Timestamp>() {
            return Some(instant);
        }
        let wall: DateTime = text.parse().ok()?;
        let tz = TimeZone::get(edge["timeZone"].as_str().unwrap_or(zone)).ok()?;
        return tz.to_ambiguous_timestamp(wall).compatible().ok();
    }
    let date: Date = edge["date"].as_str()?.parse().ok()?;
    TimeZone::get(zone)
        .ok()?
        .to_ambiguous_timestamp(date.at(0, 0, 0, 0))
        .compatible()
        .ok()
}

fn listed(event: &Value, zone: &str, sources: Vec<String>) -> Listed {
    let start = edge_instant(&event["start"], zone)
        .or_else(|| edge_instant(&event["originalStartTime"], zone))
        .unwrap_or_default();
    let end = edge_instant(&event["end"], zone).unwrap_or(start);
    Listed {
        event: event.clone(),
        start,
        end,
        sources,
    }
}

/// A recurrence rule: `FREQ=DAILY|WEEKLY`, `INTERVAL`, `COUNT` or `UNTIL`, `BYDAY`, `WKST`.
struct Rule {
    weekly: bool,
    interval: i64,
    count: Option<usize>,
    until: Option<Until>,
    by_day: Vec<Weekday>,
    week_start: Weekday,
}

enum Until {
    Date(Date),
    Instant(Timestamp),
}

fn weekday(code: &str) -> Option<Weekday> {
    Some(match code {
        "MO" => Weekday::Monday,
        "TU" => Weekday::Tuesday,
        "WE" => Weekday::Wednesday,
        "TH" => Weekday::Thursday,
        "FR" => Weekday::Friday,
        "SA" => Weekday::Saturday,
        "SU" => Weekday::Sunday,
        _ => return None,
    })
}

fn parse_rule(recurrence: &Value) -> Result<Rule, String> {
    let line = recurrence
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find_map(|line| line.strip_prefix("RRULE:"))
        .ok_or("no RRULE")?;
    let mut rule = Rule {
        weekly: false,
        interval: 1,
        count: None,
        until: None,
        by_day: Vec::new(),
        week_start: Weekday::Monday,
    };
    for part in line.split(';') {
        let (name, value) = part.split_once('=').ok_or(format!("{part:?}"))?;
        match name {
            "FREQ" => {
                rule.weekly = match value {
                    "DAILY" => false,
                    "WEEKLY" => true,
                    other => return Err(format!("FREQ={other} is not emulated")),
                }
            }
            "INTERVAL" => rule.interval = value.parse().map_err(|_| format!("{part:?}"))?,
            "COUNT" => rule.count = Some(value.parse().map_err(|_| format!("{part:?}"))?),
            "UNTIL" => {
                rule.until = Some(if value.len() == 8 {
                    Until::Date(Date::strptime("%Y%m%d", value).map_err(|_| format!("{part:?}"))?)
                } else {
                    Until::Instant(
                        DateTime::strptime("%Y%m%dT%H%M%SZ", value)
                            .ok()
                            .and_then(|wall| wall.to_zoned_datetime(TimeZone::UTC).ok())
                            .ok_or(format!("{part:?}"))?
                            .timestamp(),
                    )
                })
            }
            "BYDAY" => {
                rule.by_day = value
                    .split(',')
                    .map(|code| weekday(code).ok_or(format!("BYDAY {code}")))
                    .collect::<Result<_, _>>()?
            }
            "WKST" => rule.week_start = weekday(value).ok_or(format!("{part:?}"))?,
            other => return Err(format!("{other} is not emulated")),
        }
    }
    if rule.interval < 1 {
        return Err("INTERVAL must be positive".to_owned());
    }
    Ok(rule)
}

/// The dates a daily or weekly series falls on, from `first`, at most `limit` of them. Weekly series fall on
/// `weekdays` (the first date's weekday when empty) of every `interval`-th week, weeks starting on `week_start`.
/// Also used by the Graph emulator, whose patterned recurrences are the same two patterns.
pub(crate) fn recurring_dates(
    first: Date,
    weekly: bool,
    interval: i64,
    weekdays: &[Weekday],
    week_start: Weekday,
    limit: usize,
) -> Vec<Date> {
    let mut dates = Vec::new();
    let interval = interval.max(1);
    if !weekly {
        let mut date = first;
        while dates.len() < limit {
            dates.push(date);
            match date.checked_add((interval).days()) {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        return dates;
    }
    let weekdays = if weekdays.is_empty() {
        vec![first.weekday()]
    } else {
        weekdays.to_vec()
    };
    let back = i64::from(
        (first.weekday().to_monday_zero_offset() - week_start.to_monday_zero_offset())
            .rem_euclid(7),
    );
    let Ok(mut week) = first.checked_sub(back.days()) else {
        return dates;
    };
    while dates.len() < limit {
        for offset in 0..7_i64 {
            let Ok(date) = week.checked_add(offset.days()) else {
                return dates;
            };
            if date >= first && weekdays.contains(&date.weekday()) && dates.len() < limit {
                dates.push(date);
            }
        }
        match week.checked_add((interval * 7).days()) {
            Ok(next) => week = next,
            Err(_) => break,
        }
    }
    dates
}

/// The instances of a recurring event, exceptions applied (a cancelled recurring event has only cancelled
/// instances). An event whose rule cannot be read has none.
fn instances(calendar: &Calendar, master: &Value) -> Vec<Listed> {
    let Ok(rule) = parse_rule(&master["recurrence"]) else {
        return Vec::new();
    };
    let master_id = master["id"].as_str().unwrap_or_default();
    let zone_name = master["start"]["timeZone"]
        .as_str()
        .unwrap_or(&calendar.time_zone)
        .to_owned();
    let Ok(zone) = TimeZone::get(&zone_name) else {
        return Vec::new();
    };
    let all_day = master["start"].get("date").is_some_and(Value::is_string);
    let (Some(first), Some(last)) = (
        edge_instant(&master["start"], &zone_name),
        edge_instant(&master["end"], &zone_name),
    ) else {
        return Vec::new();
    };
    let first_wall = first.to_zoned_datetime(zone.clone()).datetime();
    let length = last.duration_since(first);
    let days = master["end"]["date"]
        .as_str()
        .and_then(|end| end.parse::<Date>().ok())
        .map(|end| end.duration_since(first_wall.date()).as_hours() / 24)
        .unwrap_or(1);
    let limit = rule.count.unwrap_or(MAX_INSTANCES).min(MAX_INSTANCES);
    let dates = recurring_dates(
        first_wall.date(),
        rule.weekly,
        rule.interval,
        &rule.by_day,
        rule.week_start,
        limit,
    );
    let mut found = Vec::new();
    for date in dates {
        let wall = date.to_datetime(first_wall.time());
        let Ok(start) = zone.to_ambiguous_timestamp(wall).compatible() else {
            continue;
        };
        let past_until = match &rule.until {
            Some(Until::Date(until)) => date > *until,
            Some(Until::Instant(until)) => start > *until,
            None => false,
        };
        if past_until {
            break;
        }
        let (id, original, start_edge, end_edge) = if all_day {
            let end = date.checked_add(days.days()).unwrap_or(date);
            (
                format!("{master_id}_{}", date.strftime("%Y%m%d")),
                json!({ "date": date.to_string() }),
                json!({ "date": date.to_string() }),
                json!({ "date": end.to_string() }),
            )
        } else {
            let end = start.checked_add(length).unwrap_or(start);
            let local = |instant: Timestamp| {
                json!({
                    "dateTime": instant.to_zoned_datetime(zone.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                    "timeZone": zone_name,
                })
            };
            (
                format!(
                    "{master_id}_{}",
                    start
                        .to_zoned_datetime(TimeZone::UTC)
                        .strftime("%Y%m%dT%H%M%SZ")
                ),
                local(start),
                local(start),
                local(end),
            )
        };
        let mut sources = vec![master_id.to_owned()];
        let mut instance = match calendar.events.get(&id) {
            Some(exception) => {
                sources.push(id.clone());
                exception.clone()
            }
            None => {
                let mut instance = master.clone();
                if let Some(fields) = instance.as_object_mut() {
                    fields.remove("recurrence");
                    fields.insert("id".into(), json!(id));
                    fields.insert("recurringEventId".into(), json!(master_id));
                    fields.insert("originalStartTime".into(), original);
                    fields.insert("start".into(), start_edge);
                    fields.insert("end".into(), end_edge);
                }
                instance
            }
        };
        if master["status"] == "cancelled" {
            instance["status"] = json!("cancelled");
        }
        found.push(listed(&instance, &zone_name, sources));
    }
    found
}

/// What Google lists for a deleted event: its identity and status, nothing else.
fn cancelled_form(event: &Value) -> Value {
    let mut minimal = json!({
        "kind": "calendar#event",
        "etag": event["etag"],
        "id": event["id"],
        "status": "cancelled",
    });
    for kept in ["recurringEventId", "originalStartTime", "updated"] {
        if let Some(value) = event.get(kept) {
            minimal[kept] = value.clone();
        }
    }
    minimal
}

/// `{generation}:{calendar}:{change number}`, opaque to clients.
fn sync_token(generation: u64, calendar: &str, seq: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("sync:{generation}:{calendar}:{seq}"))
}

fn read_sync_token(token: &str) -> Option<(u64, String, u64)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    let rest = text.strip_prefix("sync:")?;
    let (generation, rest) = rest.split_once(':')?;
    let (calendar, seq) = rest.rsplit_once(':')?;
    Some((
        generation.parse().ok()?,
        calendar.to_owned(),
        seq.parse().ok()?,
    ))
}

/// Where the next page starts: the listing's kind, the change numbers it covers and the sort key of the last event
/// sent (pages follow a key, not an offset, so events moving between pages are neither lost nor repeated).
struct PageToken {
    generation: u64,
    since: Option<u64>,
    snapshot: u64,
    after: (i64, String),
}

fn page_token(token: &PageToken) -> String {
    let since = token
        .since
        .map_or_else(|| "-".to_owned(), |s| s.to_string());
    URL_SAFE_NO_PAD.encode(format!(
        "page:{}:{since}:{}:{}:{}",
        token.generation, token.snapshot, token.after.0, token.after.1
    ))
}

fn read_page_token(token: &str) -> Option<PageToken> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    let mut parts = text.strip_prefix("page:")?.splitn(5, ':');
    let generation = parts.next()?.parse().ok()?;
    let since = match parts.next()? {
        "-" => None,
        number => Some(number.parse().ok()?),
    };
    Some(PageToken {
        generation,
        since,
        snapshot: parts.next()?.parse().ok()?,
        after: (parts.next()?.parse().ok()?, parts.next()?.to_owned()),
    })
}

fn sync_token_gone() -> Response {
    let message = "Sync token is no longer valid, a full sync is required.";
    let body = json!({
        "error": {
            "code": 410,
            "message": message,
            "errors": [{ "domain": "calendar", "reason": "fullSyncRequired", "message": message }],
        }
    });
    (StatusCode::GONE, Json(body)).into_response()
}

/// Parameters `events.list` refuses next to a `syncToken`.
const NOT_WITH_SYNC_TOKEN: &[&str] = &[
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
];

async fn list_events(
    State(shared): State<Arc<Shared>>,
    Path(calendar_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let param = |name: &str| query.get(name).map(String::as_str);
    let flag = |name: &str| param(name) == Some("true");
    let bad = |message: String| {
        shared.violation(format!("calendar.events.list: {message}"));
        google_error(StatusCode::BAD_REQUEST, "invalid", &message)
    };
    if param("syncToken").is_some() {
        let clashing: Vec<&str> = NOT_WITH_SYNC_TOKEN
            .iter()
            .copied()
            .filter(|name| query.contains_key(*name))
            .collect();
        if !clashing.is_empty() {
            return bad(format!(
                "Some requested parameters are not compatible with syncToken: {}",
                clashing.join(", ")
            ));
        }
    }
    let single = flag("singleEvents");
    let by_start = match param("orderBy") {
        None | Some("updated") => false,
        Some("startTime") if single => true,
        Some(other) => {
            return bad(format!(
                "The requested ordering {other:?} is not available for the particular query."
            ));
        }
    };
    let instant = |name: &str| param(name).and_then(|t| t.parse::<Timestamp>().ok());
    let (time_min, time_max, updated_min) = (
        instant("timeMin"),
        instant("timeMax"),
        instant("updatedMin"),
    );
    if let (Some(min), Some(max)) = (time_min, time_max) {
        if max <= min {
            return bad("The specified time range is empty.".to_owned());
        }
    }
    let mut data = shared.lock();
    let generation = data.token_generation;
    let change_seq = data.change_seq;
    let Some(c) = data.calendar_index(&calendar_id) else {
        return calendar_not_found();
    };
    let page = match param("pageToken") {
        Some(token) => match read_page_token(token) {
            Some(page) => Some(page),
            None => return google_error(StatusCode::BAD_REQUEST, "invalid", "Invalid page token."),
        },
        None => None,
    };
    let since = match (&page, param("syncToken")) {
        (Some(page), _) => page.since,
        (None, Some(token)) => match read_sync_token(token) {
            Some((issued, calendar, seq))
                if issued == generation && calendar == data.calendars[c].id =>
            {
                Some(seq)
            }
            _ => return sync_token_gone(),
        },
        (None, None) => None,
    };
    // A page of a sync listing is as stale as the token it started from.
    if page
        .as_ref()
        .is_some_and(|p| p.since.is_some() && p.generation != generation)
    {
        return sync_token_gone();
    }
    let snapshot = page.as_ref().map_or(change_seq, |p| p.snapshot);
    let calendar = &data.calendars[c];
    let zone = calendar.time_zone.clone();
    let changed = |ids: &[String]| {
        since.is_none_or(|since| {
            ids.iter()
                .any(|id| calendar.changes.get(id).is_some_and(|seq| *seq > since))
        })
    };
    let mut recurring_without_instances = false;
    let mut items: Vec<Listed> = Vec::new();
    for event in calendar.events.values() {
        if event.get("recurringEventId").is_some() {
            // An exception: listed through its recurring event, or on its own without singleEvents.
            if !single {
                items.push(listed(
                    event,
                    &zone,
                    vec![event["id"].as_str().unwrap_or_default().to_owned()],
                ));
            }
            continue;
        }
        if event.get("recurrence").is_some_and(|r| !r.is_null()) {
            if single {
                items.extend(instances(calendar, event));
                continue;
            }
            recurring_without_instances = true;
        }
        items.push(listed(
            event,
            &zone,
            vec![event["id"].as_str().unwrap_or_default().to_owned()],
        ));
    }
    items.retain(|item| {
        let cancelled = item.event["status"] == "cancelled";
        changed(&item.sources)
            && (since.is_some() || !cancelled || flag("showDeleted"))
            && time_min
                .is_none_or(|min| item.end > min || (item.end == item.start && item.start >= min))
            && time_max.is_none_or(|max| item.start < max)
            && updated_min.is_none_or(|min| {
                item.event["updated"]
                    .as_str()
                    .and_then(|u| u.parse::<Timestamp>().ok())
                    .is_some_and(|updated| updated >= min)
            })
    });
    let key = |item: &Listed| {
        let first = if by_start || since.is_none() {
            item.start.as_millisecond()
        } else {
            0
        };
        (
            first,
            item.event["id"].as_str().unwrap_or_default().to_owned(),
        )
    };
    items.sort_by_key(key);
    if let Some(page) = &page {
        items.retain(|item| key(item) > page.after);
    }
    let size = param("maxResults")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(250)
        .clamp(1, PAGE_SIZE);
    let more = items.len() > size;
    items.truncate(size);
    let summary = calendar.summary;
    let access_role = calendar.access_role;
    let updated = calendar
        .updated
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let next = match (more, items.last()) {
        (true, Some(last)) => (
            "nextPageToken",
            page_token(&PageToken {
                generation,
                since,
                snapshot,
                after: key(last),
            }),
        ),
        _ => (
            "nextSyncToken",
            sync_token(generation, calendar.id, snapshot),
        ),
    };
    if recurring_without_instances {
        data.violations.push(
            "calendar.events.list: a recurring event was listed without singleEvents=true"
                .to_owned(),
        );
    }
    drop(data);
    let items: Vec<Value> = items
        .into_iter()
        .map(|item| {
            if item.event["status"] == "cancelled" {
                cancelled_form(&item.event)
            } else {
                item.event
            }
        })
        .collect();
    for item in &items {
        let problems = shared.discovery.check_schema("Event", item);
        if !problems.is_empty() {
            shared.lock().violations.extend(problems);
        }
    }
    let mut list = json!({
        "kind": "calendar#events",
        "etag": format!("\"p3{snapshot}g\""),
        "summary": summary,
        "description": "",
        "updated": updated,
        "timeZone": param("timeZone").unwrap_or(&zone),
        "accessRole": access_role,
        "defaultReminders": [],
        "items": items,
    });
    list[next.0] = json!(next.1);
    checked(&shared, "Events", StatusCode::OK, list)
}

// ---- Push notifications -----------------------------------------------------------------------------------------

/// A stable, opaque id for a watched calendar's events.
fn resource_id(calendar: &str) -> String {
    let digest = Sha256::digest(format!("events of {calendar}").as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..15])
}

async fn watch_events(
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
        return calendar_not_found();
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
    let deliveries = data.lose_dropped(sync);
    drop(data);
    shared.post(deliveries);
    checked(&shared, "Channel", StatusCode::OK, answer)
}

async fn stop_channel(State(shared): State<Arc<Shared>>, Json(body): Json<Value>) -> Response {
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

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(
        [
            uuid::Uuid::new_v4().as_bytes().as_slice(),
            uuid::Uuid::new_v4().as_bytes(),
        ]
        .concat(),
    )
}
