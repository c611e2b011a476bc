//! Microsoft Graph v1.0 (calendars and events of one mailbox) and the Microsoft identity platform's OAuth 2.0
//! endpoints, served on a loopback port. It behaves like Graph where our clients depend on it: opaque ids chosen by
//! the server, extended properties returned only when expanded, `$filter` on a single-value extended property,
//! `transactionId` making a repeated create answer the existing event, real deletion, read-only calendars, rotating
//! refresh tokens and PKCE. Every request body and every event or calendar it answers with is checked against Graph's
//! published types, and anything malformed is recorded as a violation for the test to assert on.
//!
//! Inbound sync works as with Graph: `calendarView/delta` answers the events of a window (occurrences and exceptions
//! of series expanded, never series masters), pages by `@odata.nextLink` and ends with an `@odata.deltaLink` that
//! later returns only what changed (`@removed` for what was deleted, cancelled or moved out of the window), 410
//! `syncStateNotFound` once invalidated. `subscriptions` validate their endpoints first (the `validationToken`
//! handshake), then change notifications and lifecycle notifications are posted to them by a background task. Tests
//! act as the user through `add_event`, `update_event` and `delete_event`, which count as changes like API writes do.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Helpers fail with the finished error response; its size is of no concern in a test server.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::faults::{Fault, Faults, When, reset_connection};
use super::spec::GraphTypes;

pub const CLIENT_ID: &str = "0c7e3a51-94f2-4b8e-a6d3-5f21c9e8b470";
pub const CLIENT_SECRET: &str = "emu~Q8r.client-secret";
/// The one account: every calendar belongs to it.
pub const ACCOUNT: &str = "owner@contoso.example";
const ACCOUNT_NAME: &str = "Contoso Owner";
const USER_ID: &str = "6b1f8c2e-3d4a-4e5b-9c7d-8e9f0a1b2c3d";
const TOKEN_LIFETIME_SECS: u64 = 3599;
/// Graph pages collections at sizes of its choosing; paging calendars by two makes clients follow
/// `@odata.nextLink`.
const CALENDAR_PAGE_SIZE: usize = 2;
const GRAPH_SCOPE_PREFIX: &str = "https://graph.microsoft.com/";
/// The directory the account belongs to, as change notifications name it.
pub const TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/// Delta pages hold this many events unless `Prefer: odata.maxpagesize=N` asks otherwise.
const DELTA_PAGE_SIZE: usize = 3;
/// Occurrences expanded from one series at most (an endless series stops here).
const MAX_OCCURRENCES: usize = 1000;
/// Graph's longest subscription to Outlook events: 10,080 minutes (under seven days).
const MAX_SUBSCRIPTION_MINUTES: i64 = 10_080;
/// How long the validation handshake and each notification wait for the receiver's answer.
const RECEIVER_TIMEOUT: Duration = Duration::from_secs(10);
/// Properties Graph sets itself; a request that sends them is wrong.
const READ_ONLY_EVENT_PROPERTIES: &[&str] = &[
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "iCalUId",
    "webLink",
    "bodyPreview",
    "organizer",
    "isOrganizer",
    "hasAttachments",
    "responseStatus",
    "seriesMasterId",
    "type",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "calendar",
];

pub struct GraphEmulator {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
    postman: tokio::task::JoinHandle<()>,
}

struct Shared {
    faults: Faults,
    types: GraphTypes,
    /// `http://127.0.0.1:PORT/`
    origin: String,
    /// Notifications waiting for the background task that posts them, in order.
    outbox: mpsc::UnboundedSender<Delivery>,
    /// For the validation handshake.
    http: reqwest::Client,
    data: Mutex<Data>,
}

/// A notification to post: `label` is the change type or the lifecycle event.
struct Delivery {
    subscription_id: String,
    label: String,
    url: String,
    body: Value,
}

#[derive(Clone)]
struct Subscription {
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

/// What a delta token stands for: the window, the change number it was issued at and the events the client has.
#[derive(Clone)]
struct DeltaState {
    calendar: usize,
    start: Timestamp,
    end: Timestamp,
    seq: u64,
    known: HashSet<String>,
}

/// A delta answer being paged: its items (stored form, or `@removed` entries) and the state its deltaLink gives.
struct DeltaPages {
    items: Vec<Value>,
    offset: usize,
    then: DeltaState,
}

struct Data {
    /// How far the emulator's clock is ahead of the real one, so that expiries agree with a test's manual clock.
    skew: SignedDuration,
    calendars: Vec<Calendar>,
    /// `transactionId` → the id of the event its create made.
    transactions: HashMap<String, String>,
    codes: HashMap<String, CodeGrant>,
    access_tokens: HashSet<String>,
    /// Refresh token → the scope it grants.
    refresh_tokens: HashMap<String, String>,
    violations: Vec<String>,
    requests: HashMap<String, usize>,
    token_refreshes: usize,
    search_lag: bool,
    sequence: u64,
    /// The last change number handed out, across calendars.
    change_seq: u64,
    /// `$deltatoken` → state; invalidating empties it.
    delta_states: HashMap<String, DeltaState>,
    /// `$skiptoken` → the rest of a delta answer.
    delta_pages: HashMap<String, DeltaPages>,
    subscriptions: Vec<Subscription>,
    drop_notifications: usize,
    /// `(subscription id, change type or lifecycle event, HTTP status our receiver answered, 0 for none)`.
    notifications: Vec<(String, String, u16)>,
}

struct Calendar {
    id: String,
    name: &'static str,
    is_default: bool,
    can_edit: bool,
    change_key: String,
    events: Vec<Value>,
    /// Event id → the change number of its last change.
    changes: HashMap<String, u64>,
}

struct CodeGrant {
    redirect_uri: String,
    code_challenge: String,
    scope: String,
}

impl GraphEmulator {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let calendar = |name, is_default, can_edit| Calendar {
            id: format!(
                "AAMkAGI2{}AAA=",
                URL_SAFE_NO_PAD.encode(format!("calendar:{name}"))
            ),
            name,
            is_default,
            can_edit,
            change_key: random_key(),
            events: Vec::new(),
            changes: HashMap::new(),
        };
        let (outbox, inbox) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            faults: Faults::default(),
            types: GraphTypes::load(),
            origin: format!("http://{address}/"),
            outbox,
            http: reqwest::Client::builder()
                .timeout(RECEIVER_TIMEOUT)
                .build()
                .unwrap(),
            data: Mutex::new(Data {
                skew: SignedDuration::ZERO,
                calendars: vec![
                    calendar("Calendar", true, true),
                    calendar("Team", false, true),
                    calendar("Birthdays", false, false),
                ],
                transactions: HashMap::new(),
                codes: HashMap::new(),
                access_tokens: HashSet::new(),
                refresh_tokens: HashMap::new(),
                violations: Vec::new(),
                requests: HashMap::new(),
                token_refreshes: 0,
                search_lag: false,
                sequence: 0,
                change_seq: 0,
                delta_states: HashMap::new(),
                delta_pages: HashMap::new(),
                subscriptions: Vec::new(),
                drop_notifications: 0,
                notifications: Vec::new(),
            }),
        });
        let postman = tokio::spawn(deliver(shared.clone(), inbox));
        let router = Router::new()
            .route("/common/oauth2/v2.0/authorize", get(authorize))
            .route("/common/oauth2/v2.0/token", axum::routing::post(token))
            .route("/v1.0/me/calendars", get(list_calendars))
            .route(
                "/v1.0/me/calendars/{calendar}/events",
                get(list_events).post(create_event),
            )
            .route(
                "/v1.0/me/calendars/{calendar}/events/{event}",
                get(get_calendar_event)
                    .patch(patch_calendar_event)
                    .delete(delete_calendar_event),
            )
            .route(
                "/v1.0/me/events/{event}",
                get(get_event).patch(patch_event).delete(delete_event),
            )
            .route(
                "/v1.0/me/calendars/{calendar}/calendarView/delta",
                get(calendar_view_delta),
            )
            .route(
                "/v1.0/subscriptions",
                get(list_subscriptions).post(create_subscription),
            )
            .route(
                "/v1.0/subscriptions/{subscription}",
                get(get_subscription)
                    .patch(renew_subscription)
                    .delete(delete_subscription),
            )
            .fallback(unknown_endpoint)
            .method_not_allowed_fallback(unknown_endpoint)
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

    /// `http://127.0.0.1:PORT/v1.0/`, the counterpart of `https://graph.microsoft.com/v1.0/`.
    pub fn api_base(&self) -> String {
        format!("http://{}/v1.0/", self.address)
    }

    pub fn authorize_url(&self) -> String {
        format!("http://{}/common/oauth2/v2.0/authorize", self.address)
    }

    pub fn token_url(&self) -> String {
        format!("http://{}/common/oauth2/v2.0/token", self.address)
    }

    pub fn faults(&self) -> &Faults {
        &self.shared.faults
    }

    /// The id of the calendar with this display name (`Calendar`, `Team` or `Birthdays`).
    pub fn calendar_id(&self, name: &str) -> String {
        let data = self.shared.lock();
        let calendar = data.calendars.iter().find(|c| c.name == name);
        calendar
            .unwrap_or_else(|| panic!("no calendar {name}"))
            .id
            .clone()
    }

    /// The calendar's events as stored: times in the zone they were written in, extended properties included.
    pub fn events(&self, calendar_id: &str) -> Vec<Value> {
        let data = self.shared.lock();
        let calendar = data.calendars.iter().find(|c| c.id == calendar_id);
        calendar.map(|c| c.events.clone()).unwrap_or_default()
    }

    /// Everything malformed the emulator was sent or would have answered with.
    pub fn violations(&self) -> Vec<String> {
        self.shared.lock().violations.clone()
    }

    /// Requests that arrived with this label: `calendars.list`, `events.list`, `events.create`, `events.get`,
    /// `events.update`, `events.delete`, `calendarView.delta`, `subscriptions.create`, `subscriptions.list`,
    /// `subscriptions.get`, `subscriptions.update`, `subscriptions.delete`, `authorize` or `token`.
    pub fn request_count(&self, label: &str) -> usize {
        self.shared.lock().requests.get(label).copied().unwrap_or(0)
    }

    /// Refresh-token grants answered with new tokens.
    pub fn token_refresh_count(&self) -> usize {
        self.shared.lock().token_refreshes
    }

    /// The user withdraws consent: every refresh token stops working. Access tokens stay valid until they expire, as
    /// with Microsoft's self-contained tokens.
    pub fn revoke_grants(&self) {
        self.shared.lock().refresh_tokens.clear();
    }

    pub fn expire_access_tokens(&self) {
        self.shared.lock().access_tokens.clear();
    }

    /// Tokens as if the account had just been connected: `(access, refresh)`.
    pub fn issue_tokens(&self) -> (String, String) {
        let mut data = self.shared.lock();
        data.issue("offline_access Calendars.ReadWrite")
    }

    /// While on, `$filter` lookups by extended property find nothing, as when Exchange has not indexed a new item
    /// yet; only `transactionId` then stands between a retried create and a duplicate.
    pub fn set_search_lag(&self, lagging: bool) {
        self.shared.lock().search_lag = lagging;
    }
}

impl Drop for GraphEmulator {
    fn drop(&mut self) {
        self.server.abort();
        self.postman.abort();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn violation(&self, text: String) {
        self.lock().violations.push(text);
    }

    fn graph_base(&self) -> String {
        format!("{}v1.0/", self.origin)
    }

    /// Records what Graph's types say is wrong with `value`, prefixed with where it was seen.
    fn check(&self, type_name: &str, at: &str, value: &Value) {
        let problems = self.types.check(type_name, value);
        if !problems.is_empty() {
            let mut data = self.lock();
            data.violations
                .extend(problems.into_iter().map(|p| format!("{at}: {p}")));
        }
    }

    /// A 400 for a request Graph would refuse as malformed; also a violation, since our client sent it.
    fn bad_request(&self, code: &str, message: String) -> Response {
        self.violation(format!("{code}: {message}"));
        graph_error(StatusCode::BAD_REQUEST, code, &message)
    }
}

impl Data {
    fn issue(&mut self, scope: &str) -> (String, String) {
        let access = format!("EwA{}", random_token());
        let refresh = format!("M.C5{}", random_token());
        self.access_tokens.insert(access.clone());
        self.refresh_tokens
            .insert(refresh.clone(), scope.to_owned());
        (access, refresh)
    }

    fn calendar_index(&self, id: &str) -> Result<usize, Response> {
        if !well_formed_id(id) {
            return Err(graph_error(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidIdMalformed",
                "Id is malformed.",
            ));
        }
        self.calendars
            .iter()
            .position(|c| c.id == id)
            .ok_or_else(not_found)
    }

    /// Where an event is: in the given calendar, or in any when addressed as `me/events/{id}`.
    fn locate(&self, calendar: Option<&str>, event_id: &str) -> Result<(usize, usize), Response> {
        let calendars: Vec<usize> = match calendar {
            Some(id) => vec![self.calendar_index(id)?],
            None => (0..self.calendars.len()).collect(),
        };
        if !well_formed_id(event_id) {
            return Err(graph_error(
                StatusCode::BAD_REQUEST,
                "ErrorInvalidIdMalformed",
                "Id is malformed.",
            ));
        }
        calendars
            .into_iter()
            .find_map(|c| {
                let events = &self.calendars[c].events;
                events
                    .iter()
                    .position(|e| e["id"] == event_id)
                    .map(|e| (c, e))
            })
            .ok_or_else(not_found)
    }
}

/// Counts, injects faults and authenticates every request; the handler only runs for requests that get past.
async fn gate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let identity = path.starts_with("/common/");
    *shared
        .lock()
        .requests
        .entry(label(&method, &path).to_owned())
        .or_default() += 1;
    match shared.faults.take(method.as_str(), &path, When::Before) {
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(fault) => return render_fault(fault, identity),
        None => {}
    }
    if !identity {
        let bearer = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        let known = bearer.is_some_and(|token| shared.lock().access_tokens.contains(token));
        if !known {
            return render_fault(Fault::Unauthorized, false);
        }
    }
    let response = next.run(request).await;
    match shared.faults.take(method.as_str(), &path, When::After) {
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            response
        }
        Some(fault) => render_fault(fault, identity),
        None => response,
    }
}

fn label(method: &Method, path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        (_, ["common", "oauth2", "v2.0", "authorize"]) => "authorize",
        (_, ["common", "oauth2", "v2.0", "token"]) => "token",
        ("GET", ["v1.0", "me", "calendars"]) => "calendars.list",
        ("GET", ["v1.0", "me", "calendars", _, "calendarView", "delta"]) => "calendarView.delta",
        ("POST", ["v1.0", "subscriptions"]) => "subscriptions.create",
        ("GET", ["v1.0", "subscriptions"]) => "subscriptions.list",
        (method, ["v1.0", "subscriptions", _]) => match method {
            "GET" => "subscriptions.get",
            "PATCH" => "subscriptions.update",
            "DELETE" => "subscriptions.delete",
            _ => "unknown",
        },
        ("GET", ["v1.0", "me", "calendars", _, "events"]) => "events.list",
        ("POST", ["v1.0", "me", "calendars", _, "events"]) => "events.create",
        (method, ["v1.0", "me", "calendars", _, "events", _] | ["v1.0", "me", "events", _]) => {
            match method {
                "GET" => "events.get",
                "PATCH" => "events.update",
                "DELETE" => "events.delete",
                _ => "unknown",
            }
        }
        _ => "unknown",
    }
}

fn render_fault(fault: Fault, identity: bool) -> Response {
    let retry_after = |seconds: u64, response: Response| {
        let mut response = response;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        response
    };
    match (fault, identity) {
        (Fault::ConnectionReset, _) => reset_connection(),
        (Fault::InvalidGrant, _) => identity_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            70000,
            "The provided value for the 'refresh_token' parameter is not valid.",
        ),
        (Fault::ServerError, true) => identity_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            50000,
            "There was an error issuing a token.",
        ),
        (Fault::Unavailable, true) => retry_after(
            2,
            identity_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                90033,
                "A transient error has occurred. Please try again.",
            ),
        ),
        (Fault::Unauthorized, true) => identity_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided.",
        ),
        (Fault::ServerError, false) => graph_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UnknownError",
            "An internal server error occurred.",
        ),
        (Fault::Unavailable, false) => retry_after(
            2,
            graph_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceNotAvailable",
                "The service is temporarily unavailable.",
            ),
        ),
        (Fault::TooManyRequests { retry_after_secs }, _) => retry_after(
            retry_after_secs,
            graph_error(
                StatusCode::TOO_MANY_REQUESTS,
                "ApplicationThrottled",
                "Application is over its MailboxConcurrency limit.",
            ),
        ),
        // Graph never answers 403 for throttling; the nearest it has is a 429.
        (Fault::RateLimitForbidden, _) => retry_after(
            1,
            graph_error(
                StatusCode::TOO_MANY_REQUESTS,
                "ApplicationThrottled",
                "Application is over its MailboxConcurrency limit.",
            ),
        ),
        (Fault::Unauthorized, false) => {
            let mut response = graph_error(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token has expired or is not yet valid.",
            );
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"\", error=\"invalid_token\""),
            );
            response
        }
        (Fault::NotFound, _) => not_found(),
        (Fault::Gone, _) => graph_error(
            StatusCode::GONE,
            "SyncStateNotFound",
            "The sync state generation is not found.",
        ),
        (Fault::Delay(_), _) => unreachable!("delays are waited out, not rendered"),
    }
}

fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": utc_now().strftime("%Y-%m-%dT%H:%M:%S").to_string(),
                "request-id": uuid::Uuid::new_v4().to_string(),
                "client-request-id": uuid::Uuid::new_v4().to_string(),
            }
        }
    });
    (status, Json(body)).into_response()
}

fn not_found() -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

/// The identity platform's error body, with its `AADSTS` code.
fn identity_error(status: StatusCode, error: &str, code: u32, description: &str) -> Response {
    let trace = uuid::Uuid::new_v4();
    let correlation = uuid::Uuid::new_v4();
    let timestamp = utc_now().strftime("%Y-%m-%d %H:%M:%SZ").to_string();
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {description} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace.to_string(),
        "correlation_id": correlation.to_string(),
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    (status, no_store(), Json(body)).into_response()
}

fn no_store() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CACHE_CONTROL, "no-store, no-cache"),
        (header::PRAGMA, "no-cache"),
    ]
}

async fn unknown_endpoint(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: axum::http::Uri,
) -> Response {
    shared.bad_request(
        "BadRequest",
        format!(
            "Resource not found for the segment: {method} {}",
            uri.path()
        ),
    )
}

// ---- OAuth 2.0 -------------------------------------------------------------------------------------------------

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
    // Errors before the redirect URI is trusted are shown to the user, not sent back to the app.
    if param("client_id") != Some(CLIENT_ID) {
        shared.violation(format!(
            "authorize: unknown client_id {:?}",
            param("client_id")
        ));
        return identity_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            "Application with the given identifier was not found in the directory.",
        );
    }
    let Some(redirect_uri) = param("redirect_uri") else {
        shared.violation("authorize: no redirect_uri".to_owned());
        return identity_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'redirect_uri'.",
        );
    };
    let Ok(mut target) = reqwest::Url::parse(redirect_uri) else {
        shared.violation(format!(
            "authorize: redirect_uri {redirect_uri:?} is not a URL"
        ));
        return identity_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50011,
            "The redirect URI specified in the request does not match the redirect URIs configured for the application.",
        );
    };
    let scope = param("scope").unwrap_or_default();
    let problem = if param("response_type") != Some("code") {
        Some(("unsupported_response_type", "response_type must be 'code'"))
    } else if !has_scope(scope, "offline_access") || !has_scope(scope, "Calendars.ReadWrite") {
        Some((
            "invalid_scope",
            "scope must include offline_access and Calendars.ReadWrite",
        ))
    } else if param("state").is_none() {
        Some(("invalid_request", "state is missing"))
    } else if param("code_challenge").is_none() || param("code_challenge_method") != Some("S256") {
        Some((
            "invalid_request",
            "PKCE with code_challenge_method=S256 is required",
        ))
    } else if param("response_mode").is_some_and(|mode| mode != "query") {
        Some(("invalid_request", "only response_mode=query is supported"))
    } else {
        None
    };
    {
        let mut pairs = target.query_pairs_mut();
        match problem {
            Some((error, description)) => {
                shared.violation(format!("authorize: {error}: {description}"));
                pairs
                    .append_pair("error", error)
                    .append_pair("error_description", description);
            }
            None => {
                let code = format!("M.C5_{}", random_token());
                shared.lock().codes.insert(
                    code.clone(),
                    CodeGrant {
                        redirect_uri: redirect_uri.to_owned(),
                        code_challenge: param("code_challenge").unwrap_or_default().to_owned(),
                        scope: scope.to_owned(),
                    },
                );
                pairs.append_pair("code", &code);
            }
        }
        if let Some(state) = param("state") {
            pairs.append_pair("state", state);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

/// Whether a space-separated scope list grants `wanted`, bare or as a Graph resource URI.
fn has_scope(scope: &str, wanted: &str) -> bool {
    scope.split(' ').any(|granted| {
        let granted = granted.strip_prefix(GRAPH_SCOPE_PREFIX).unwrap_or(granted);
        granted.eq_ignore_ascii_case(wanted)
    })
}

async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        shared.violation("token: the body is not application/x-www-form-urlencoded".to_owned());
        return identity_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        );
    };
    let param = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    if !client_authenticated(&headers, &form) {
        shared.violation("token: client authentication failed".to_owned());
        return identity_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided.",
        );
    }
    let invalid_grant = |description: &str| {
        identity_error(StatusCode::BAD_REQUEST, "invalid_grant", 70000, description)
    };
    match param("grant_type") {
        Some("authorization_code") => {
            let grant = param("code").and_then(|code| shared.lock().codes.remove(code));
            let Some(grant) = grant else {
                return invalid_grant(
                    "The provided value for the 'code' parameter is not valid. The code has expired or was already redeemed.",
                );
            };
            if param("redirect_uri") != Some(grant.redirect_uri.as_str()) {
                shared
                    .violation("token: redirect_uri differs from the authorize request".to_owned());
                return invalid_grant(
                    "The redirect_uri does not match the one the code was issued to.",
                );
            }
            let verified = param("code_verifier").is_some_and(|verifier| {
                URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == grant.code_challenge
            });
            if !verified {
                shared.violation("token: code_verifier does not match code_challenge".to_owned());
                return invalid_grant(
                    "The code_verifier does not match the code_challenge supplied in the authorization request.",
                );
            }
            let tokens = shared.lock().issue(&grant.scope);
            token_response(&grant.scope, tokens)
        }
        Some("refresh_token") => {
            let mut data = shared.lock();
            let scope = param("refresh_token").and_then(|token| data.refresh_tokens.remove(token));
            let Some(scope) = scope else {
                return invalid_grant(
                    "The provided value for the 'refresh_token' parameter is not valid. It was revoked, expired or already used.",
                );
            };
            data.token_refreshes += 1;
            let tokens = data.issue(&scope);
            token_response(&scope, tokens)
        }
        other => {
            shared.violation(format!("token: grant_type {other:?}"));
            identity_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                "The app requested an unsupported grant type.",
            )
        }
    }
}

/// The client secret, by HTTP Basic (`client_id:client_secret`, each form-encoded) or in the form.
fn client_authenticated(headers: &HeaderMap, form: &HashMap<String, String>) -> bool {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| STANDARD.decode(encoded.trim()).ok())
        .and_then(|decoded| String::from_utf8(decoded).ok());
    if let Some(basic) = basic {
        let decode = |text: &str| {
            reqwest::Url::parse(&format!("http://x/?v={text}"))
                .ok()
                .and_then(|url| url.query_pairs().next().map(|(_, v)| v.into_owned()))
        };
        let (id, secret) = basic.split_once(':').unwrap_or((&basic, ""));
        return decode(id).as_deref() == Some(CLIENT_ID)
            && decode(secret).as_deref() == Some(CLIENT_SECRET);
    }
    form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET)
}

fn token_response(scope: &str, (access, refresh): (String, String)) -> Response {
    // Microsoft names the granted resource scopes in full and leaves out the OpenID ones.
    let granted: Vec<String> = scope
        .split(' ')
        .filter(|s| {
            !s.is_empty() && !matches!(*s, "offline_access" | "openid" | "profile" | "email")
        })
        .map(|s| {
            if s.starts_with(GRAPH_SCOPE_PREFIX) {
                s.to_owned()
            } else {
                format!("{GRAPH_SCOPE_PREFIX}{s}")
            }
        })
        .collect();
    let body = json!({
        "token_type": "Bearer",
        "scope": granted.join(" "),
        "expires_in": TOKEN_LIFETIME_SECS,
        "ext_expires_in": TOKEN_LIFETIME_SECS,
        "access_token": access,
        "refresh_token": refresh,
    });
    (StatusCode::OK, no_store(), Json(body)).into_response()
}

// ---- Graph -----------------------------------------------------------------------------------------------------

/// OData system query options; any other `$` option is refused, as Graph does.
struct Options {
    filter: Option<String>,
    select: Option<Vec<String>>,
    expand: Option<String>,
    top: Option<usize>,
    skip: usize,
}

fn options(
    shared: &Shared,
    query: &[(String, String)],
    allowed: &[&str],
) -> Result<Options, Response> {
    let mut options = Options {
        filter: None,
        select: None,
        expand: None,
        top: None,
        skip: 0,
    };
    for (name, value) in query {
        let bare = name.strip_prefix('$').unwrap_or(name);
        if !name.starts_with('$') {
            continue;
        }
        if !allowed.contains(&bare) {
            return Err(shared.bad_request(
                "BadRequest",
                format!("Query option '{name}' is not allowed here."),
            ));
        }
        let number = || {
            value.parse::<usize>().map_err(|_| {
                shared.bad_request("BadRequest", format!("Invalid value '{value}' for {name}."))
            })
        };
        match bare {
            "filter" => options.filter = Some(value.clone()),
            "expand" => options.expand = Some(value.clone()),
            "top" => options.top = Some(number()?),
            "skip" => options.skip = number()?,
            "select" => {
                let names: Vec<String> = value.split(',').map(|s| s.trim().to_owned()).collect();
                for name in &names {
                    let probe = shared.types.check("Event", &json!({ name: null }));
                    if probe.iter().any(|p| p.contains("no such property")) {
                        return Err(shared.bad_request(
                            "RequestBroker--ParseUri",
                            format!("Could not find a property named '{name}' on type 'microsoft.graph.event'."),
                        ));
                    }
                }
                options.select = Some(names);
            }
            _ => {}
        }
    }
    Ok(options)
}

/// The `outlook.timezone` preference: the zone event times are answered in (UTC without one).
fn preferred_zone(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|preference| {
            let zone = preference.trim().strip_prefix("outlook.timezone=")?;
            Some(zone.trim_matches('"').to_owned())
        })
        .filter(|zone| zone_of(zone).is_some())
}

fn zone_of(name: &str) -> Option<TimeZone> {
    TimeZone::get(name).ok()
}

async fn list_calendars(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let options = match options(&shared, &query, &["top", "skip"]) {
        Ok(options) => options,
        Err(response) => return response,
    };
    let page_size = options
        .top
        .unwrap_or(CALENDAR_PAGE_SIZE)
        .clamp(1, CALENDAR_PAGE_SIZE);
    let (page, more): (Vec<Value>, bool) = {
        let data = shared.lock();
        let all: Vec<Value> = data.calendars.iter().map(calendar_json).collect();
        let page = all
            .iter()
            .skip(options.skip)
            .take(page_size)
            .cloned()
            .collect();
        (page, all.len() > options.skip + page_size)
    };
    for calendar in &page {
        shared.check("Calendar", "calendars.list answer", calendar);
    }
    let mut body = json!({
        "@odata.context": format!("{}$metadata#users('{USER_ID}')/calendars", shared.graph_base()),
        "value": page,
    });
    if more {
        body["@odata.nextLink"] = json!(format!(
            "{}me/calendars?%24top={page_size}&%24skip={}",
            shared.graph_base(),
            options.skip + page_size
        ));
    }
    Json(body).into_response()
}

fn calendar_json(calendar: &Calendar) -> Value {
    json!({
        "id": calendar.id,
        "name": calendar.name,
        "color": "auto",
        "hexColor": "",
        "isDefaultCalendar": calendar.is_default,
        "changeKey": calendar.change_key,
        "canShare": calendar.can_edit,
        "canViewPrivateItems": true,
        "canEdit": calendar.can_edit,
        "isRemovable": !calendar.is_default && calendar.can_edit,
        "isTallyingResponses": calendar.can_edit,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "owner": { "name": ACCOUNT_NAME, "address": ACCOUNT },
    })
}

async fn list_events(
    State(shared): State<Arc<Shared>>,
    Path(calendar_id): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let options = match options(&shared, &query, &["filter", "select", "expand", "top"]) {
        Ok(options) => options,
        Err(response) => return response,
    };
    let wanted = match options
        .filter
        .as_deref()
        .map(parse_property_filter)
        .transpose()
    {
        Ok(wanted) => wanted,
        Err(problem) => {
            return shared.bad_request("BadRequest", format!("Invalid filter clause: {problem}"));
        }
    };
    let expand = match expansion(&shared, options.expand.as_deref()) {
        Ok(expand) => expand,
        Err(response) => return response,
    };
    let zone = preferred_zone(&headers);
    let events: Vec<Value> = {
        let data = shared.lock();
        let index = match data.calendar_index(&calendar_id) {
            Ok(index) => index,
            Err(response) => return response,
        };
        data.calendars[index]
            .events
            .iter()
            .filter(|event| match &wanted {
                None => true,
                Some(_) if data.search_lag => false,
                Some((id, value)) => property(event, id).is_some_and(|v| v == value),
            })
            .take(options.top.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    };
    let value: Vec<Value> = events
        .iter()
        .map(|event| render_event(event, &options.select, expand.as_deref(), zone.as_deref()))
        .collect();
    for event in &value {
        shared.check("Event", "events.list answer", event);
    }
    let mut response = Json(json!({
        "@odata.context": format!(
            "{}$metadata#users('{USER_ID}')/calendars('{calendar_id}')/events",
            shared.graph_base()
        ),
        "value": value,
    }))
    .into_response();
    applied(&mut response, zone.as_deref());
    response
}

/// The `$expand` Graph requires to return an extended property: `singleValueExtendedProperties($filter=id eq '…')`.
fn expansion(shared: &Shared, expand: Option<&str>) -> Result<Option<String>, Response> {
    let Some(expand) = expand else {
        return Ok(None);
    };
    let tokens = tokenize(expand).map_err(|p| shared.bad_request("BadRequest", p))?;
    match tokens.as_slice() {
        [
            Token::Word(property),
            Token::Punct('('),
            Token::Word(filter),
            Token::Punct('='),
            Token::Word(id),
            Token::Word(eq),
            Token::Text(wanted),
            Token::Punct(')'),
        ] if property.eq_ignore_ascii_case("singleValueExtendedProperties")
            && filter == "$filter"
            && id == "id"
            && eq == "eq" =>
        {
            Ok(Some(wanted.clone()))
        }
        _ => Err(shared.bad_request(
            "BadRequest",
            format!("Parsing OData Select and Expand failed: unsupported $expand {expand:?}"),
        )),
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Punct(char),
}

/// OData tokens: words (names, paths, operators), single-quoted strings (with `''` for a quote) and punctuation.
fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            ' ' => {
                chars.next();
            }
            '(' | ')' | ':' | '=' | ',' => {
                tokens.push(Token::Punct(c));
                chars.next();
            }
            '\'' => {
                chars.next();
                let mut literal = String::new();
                loop {
                    match chars.next() {
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            literal.push('\'');
                        }
                        Some('\'') => break,
                        Some(c) => literal.push(c),
                        None => return Err(format!("unterminated string in {text:?}")),
                    }
                }
                tokens.push(Token::Text(literal));
            }
            c if c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '$' | '.') => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if !(c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '$' | '.')) {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
            other => return Err(format!("unexpected {other:?} in {text:?}")),
        }
    }
    Ok(tokens)
}

/// The one `$filter` Graph documents for finding items by a single-value extended property:
/// `singleValueExtendedProperties/Any(ep: ep/id eq '{id}' and ep/value eq '{value}')`. Returns `(id, value)`.
fn parse_property_filter(filter: &str) -> Result<(String, String), String> {
    let tokens = tokenize(filter)?;
    match tokens.as_slice() {
        [
            Token::Word(collection),
            Token::Punct('('),
            Token::Word(variable),
            Token::Punct(':'),
            Token::Word(id_path),
            Token::Word(eq1),
            Token::Text(id),
            Token::Word(and),
            Token::Word(value_path),
            Token::Word(eq2),
            Token::Text(value),
            Token::Punct(')'),
        ] if collection.eq_ignore_ascii_case("singleValueExtendedProperties/any")
            && *id_path == format!("{variable}/id")
            && *value_path == format!("{variable}/value")
            && eq1 == "eq"
            && eq2 == "eq"
            && and == "and" =>
        {
            Ok((id.clone(), value.clone()))
        }
        _ => Err(format!("unsupported $filter {filter:?}")),
    }
}

/// The value of an event's extended property; Graph compares property ids case-insensitively.
fn property<'a>(event: &'a Value, id: &str) -> Option<&'a str> {
    event["singleValueExtendedProperties"]
        .as_array()?
        .iter()
        .find(|p| {
            p["id"]
                .as_str()
                .is_some_and(|pid| pid.eq_ignore_ascii_case(id))
        })?["value"]
        .as_str()
}

/// An event as Graph answers it: times in the preferred zone (UTC by default), extended properties only when
/// expanded, only the selected properties when `$select` is given.
fn render_event(
    stored: &Value,
    select: &Option<Vec<String>>,
    expand: Option<&str>,
    zone: Option<&str>,
) -> Value {
    let mut event = stored.clone();
    let Some(fields) = event.as_object_mut() else {
        return event;
    };
    let expanded: Vec<Value> = expand
        .and_then(|id| {
            property(stored, id).map(|value| {
                let declared = stored["singleValueExtendedProperties"]
                    .as_array()
                    .and_then(|all| {
                        all.iter()
                            .find(|p| p["id"].as_str().is_some_and(|pid| pid.eq_ignore_ascii_case(id)))
                    });
                vec![json!({ "id": declared.map_or(json!(id), |p| p["id"].clone()), "value": value })]
            })
        })
        .unwrap_or_default();
    fields.remove("singleValueExtendedProperties");
    fields.remove("multiValueExtendedProperties");
    let zone = zone.unwrap_or("UTC");
    for edge in ["start", "end"] {
        if let Some(converted) = fields.get(edge).and_then(|time| in_zone(time, zone)) {
            fields.insert(edge.to_owned(), converted);
        }
    }
    if let Some(select) = select {
        fields.retain(|name, _| name == "id" || select.contains(name));
    }
    let change_key = stored["changeKey"].as_str().unwrap_or_default();
    fields.insert(
        "@odata.etag".to_owned(),
        json!(format!("W/\"{change_key}\"")),
    );
    if expand.is_some() {
        fields.insert(
            "singleValueExtendedProperties".to_owned(),
            Value::Array(expanded),
        );
    }
    event
}

/// A stored `dateTimeTimeZone` moved to another zone.
fn in_zone(time: &Value, zone: &str) -> Option<Value> {
    let wall: DateTime = time["dateTime"].as_str()?.parse().ok()?;
    let from = zone_of(time["timeZone"].as_str()?)?;
    let instant = from.to_ambiguous_timestamp(wall).compatible().ok()?;
    let to = zone_of(zone)?;
    Some(json!({
        "dateTime": graph_date_time(instant.to_zoned_datetime(to).datetime()),
        "timeZone": zone,
    }))
}

fn graph_date_time(wall: DateTime) -> String {
    wall.strftime("%Y-%m-%dT%H:%M:%S%.7f").to_string()
}

fn applied(response: &mut Response, zone: Option<&str>) {
    if let Some(value) =
        zone.and_then(|z| HeaderValue::from_str(&format!("outlook.timezone=\"{z}\"")).ok())
    {
        response.headers_mut().insert("preference-applied", value);
    }
}

/// A request body as an event: JSON, an object, of Graph's types, without read-only properties, with valid times
/// and extended property ids. `creating` also requires start and end.
fn event_body(
    shared: &Shared,
    at: &str,
    body: &Bytes,
    creating: bool,
) -> Result<Map<String, Value>, Response> {
    let parsed: Value = serde_json::from_slice(body).map_err(|error| {
        shared.bad_request("BadRequest", format!("{at}: the body is not JSON: {error}"))
    })?;
    let Value::Object(mut fields) = parsed else {
        return Err(shared.bad_request("BadRequest", format!("{at}: the body is not an object")));
    };
    fields.retain(|name, _| !name.starts_with("@odata."));
    // Graph refuses a body that names a property its type lacks or mistypes one (`RequestBodyRead`).
    let problems = shared.types.check("Event", &Value::Object(fields.clone()));
    if !problems.is_empty() {
        return Err(shared.bad_request(
            "RequestBodyRead",
            format!("{at} request: {}", problems.join("; ")),
        ));
    }
    if let Some(name) = READ_ONLY_EVENT_PROPERTIES
        .iter()
        .find(|name| fields.contains_key(**name))
    {
        return Err(shared.bad_request(
            "ErrorInvalidPropertyUpdateSentinel",
            format!("{at}: the property '{name}' is read-only."),
        ));
    }
    for edge in ["start", "end"] {
        match fields.get(edge) {
            None if creating => {
                return Err(shared.bad_request(
                    "ErrorInvalidRequest",
                    format!("{at}: Your request can't be completed. The event needs a {edge}."),
                ));
            }
            None => {}
            Some(time) => {
                let normalized = normalized_time(time).map_err(|problem| {
                    shared.bad_request(
                        "TimeZoneNotSupportedException",
                        format!("{at}.{edge}: {problem}"),
                    )
                })?;
                fields.insert(edge.to_owned(), normalized);
            }
        }
    }
    let instant = |edge: &str| {
        let time = fields.get(edge)?;
        let wall: DateTime = time["dateTime"].as_str()?.parse().ok()?;
        zone_of(time["timeZone"].as_str()?)?
            .to_ambiguous_timestamp(wall)
            .compatible()
            .ok()
    };
    if let (Some(start), Some(end)) = (instant("start"), instant("end")) {
        if end < start {
            return Err(shared.bad_request(
                "ErrorInvalidRequest",
                format!("{at}: The end of the event is before its start."),
            ));
        }
    }
    for extended in fields
        .get("singleValueExtendedProperties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = extended["id"].as_str().unwrap_or_default();
        if !valid_property_id(id) {
            return Err(shared.bad_request(
                "ErrorInvalidProperty",
                format!("{at}: extended property id {id:?} is not a valid MAPI property id."),
            ));
        }
    }
    Ok(fields)
}

/// A `dateTimeTimeZone` checked (offset-free local time, a zone Graph knows) and in Graph's seven-digit form.
fn normalized_time(time: &Value) -> Result<Value, String> {
    let text = time["dateTime"].as_str().ok_or("dateTime is missing")?;
    let zone = time["timeZone"].as_str().ok_or("timeZone is missing")?;
    if zone_of(zone).is_none() {
        return Err(format!(
            "A valid TimeZone value must be specified. The following TimeZone value is not supported: '{zone}'."
        ));
    }
    let wall: DateTime = text
        .parse()
        .map_err(|error| format!("dateTime {text:?} is not a local date-time: {error}"))?;
    Ok(json!({ "dateTime": graph_date_time(wall), "timeZone": zone }))
}

/// `{type} {GUID} Name {name}`, `{type} {GUID} Id 0x{hex}` or `{type} 0x{hex tag}`, as Graph requires.
fn valid_property_id(id: &str) -> bool {
    const TYPES: &[&str] = &[
        "Binary",
        "Boolean",
        "CLSID",
        "Currency",
        "Double",
        "Float",
        "Integer",
        "Long",
        "Object",
        "Short",
        "String",
        "SystemTime",
    ];
    let Some((kind, rest)) = id.split_once(' ') else {
        return false;
    };
    let hex = |text: &str| {
        text.strip_prefix("0x").is_some_and(|digits| {
            !digits.is_empty() && digits.chars().all(|c| c.is_ascii_hexdigit())
        })
    };
    if !TYPES.contains(&kind) {
        return false;
    }
    match rest.strip_prefix('{').and_then(|rest| rest.split_once('}')) {
        Some((guid, named)) => {
            uuid::Uuid::parse_str(guid).is_ok()
                && match named.trim_start().split_once(' ') {
                    Some(("Name", name)) => !name.trim().is_empty(),
                    Some(("Id", number)) => hex(number),
                    _ => false,
                }
        }
        None => hex(rest) && rest.len() == 6,
    }
}

fn editable(data: &Data, calendar: usize) -> Result<(), Response> {
    if data.calendars[calendar].can_edit {
        Ok(())
    } else {
        Err(graph_error(
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
        ))
    }
}

async fn create_event(
    State(shared): State<Arc<Shared>>,
    Path(calendar_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = match event_body(&shared, "events.create", &body, true) {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let zone = preferred_zone(&headers);
    let (event, deliveries) = {
        let mut data = shared.lock();
        let calendar = match data
            .calendar_index(&calendar_id)
            .and_then(|c| editable(&data, c).map(|()| c))
        {
            Ok(calendar) => calendar,
            Err(response) => return response,
        };
        let repeated = fields
            .get("transactionId")
            .and_then(Value::as_str)
            .and_then(|transaction| data.transactions.get(transaction))
            .and_then(|event_id| data.locate(None, event_id).ok());
        match repeated {
            Some((c, e)) => (data.calendars[c].events[e].clone(), Vec::new()),
            None => {
                data.sequence += 1;
                let event = new_event(fields, data.sequence, calendar);
                let id = event["id"].as_str().unwrap_or_default().to_owned();
                if let Some(transaction) = event["transactionId"].as_str() {
                    data.transactions.insert(transaction.to_owned(), id.clone());
                }
                data.calendars[calendar].events.push(event.clone());
                let deliveries = data.touch(calendar, &id, "created");
                (event, deliveries)
            }
        }
    };
    shared.post(deliveries);
    respond_with_event(
        &shared,
        StatusCode::CREATED,
        &event,
        &calendar_id,
        &Default::default(),
        zone.as_deref(),
    )
}

fn new_event(mut fields: Map<String, Value>, sequence: u64, calendar: usize) -> Value {
    let mut raw = vec![0x46_u8, calendar as u8];
    raw.extend_from_slice(&sequence.to_be_bytes());
    raw.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    let id = format!("AAMkAGI2{}", URL_SAFE.encode(&raw));
    let now = timestamp_now();
    let content = fields
        .get("body")
        .and_then(|body| body["content"].as_str())
        .unwrap_or_default();
    let preview: String = content.chars().take(255).collect();
    let defaults = json!({
        "id": id,
        "createdDateTime": now,
        "lastModifiedDateTime": now,
        "changeKey": random_key(),
        "categories": [],
        "transactionId": null,
        "originalStartTimeZone": fields.get("start").map_or(json!("UTC"), |t| t["timeZone"].clone()),
        "originalEndTimeZone": fields.get("end").map_or(json!("UTC"), |t| t["timeZone"].clone()),
        "iCalUId": format!("040000008200E00074C5B7101A82E00800000000{}", hex_upper(uuid::Uuid::new_v4().as_bytes())),
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": true,
        "hasAttachments": false,
        "subject": "",
        "bodyPreview": preview,
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": false,
        "isCancelled": false,
        "isOrganizer": true,
        "responseRequested": true,
        "seriesMasterId": null,
        "showAs": "busy",
        "type": "singleInstance",
        "webLink": format!(
            "https://outlook.office365.com/owa/?itemid={}&exvsurl=1&path=/calendar/item",
            id.replace('=', "%3D").replace('+', "%2B").replace('/', "%2F")
        ),
        "onlineMeetingUrl": null,
        "isOnlineMeeting": false,
        "onlineMeetingProvider": "unknown",
        "allowNewTimeProposals": true,
        "isDraft": false,
        "hideAttendees": false,
        "recurrence": null,
        "onlineMeeting": null,
        "responseStatus": { "response": "organizer", "time": "0001-01-01T00:00:00Z" },
        "body": { "contentType": "html", "content": "" },
        "location": { "displayName": "", "locationType": "default", "uniqueIdType": "unknown", "address": {}, "coordinates": {} },
        "locations": [],
        "attendees": [],
        "organizer": { "emailAddress": { "name": ACCOUNT_NAME, "address": ACCOUNT } },
    });
    let Value::Object(mut event) = defaults else {
        unreachable!("a JSON object literal")
    };
    event.append(&mut fields);
    if event.get("recurrence").is_some_and(Value::is_object) {
        event.insert("type".into(), json!("seriesMaster"));
    }
    Value::Object(event)
}

fn respond_with_event(
    shared: &Shared,
    status: StatusCode,
    stored: &Value,
    calendar_id: &str,
    select: &Option<Vec<String>>,
    zone: Option<&str>,
) -> Response {
    let mut event = render_event(stored, select, None, zone);
    event["@odata.context"] = json!(format!(
        "{}$metadata#users('{USER_ID}')/calendars('{calendar_id}')/events/$entity",
        shared.graph_base()
    ));
    shared.check("Event", "event answer", &event);
    let mut response = (status, Json(event)).into_response();
    applied(&mut response, zone);
    response
}

async fn get_calendar_event(
    State(shared): State<Arc<Shared>>,
    Path((calendar, event)): Path<(String, String)>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    read_event(&shared, Some(&calendar), &event, &query, &headers)
}

async fn get_event(
    State(shared): State<Arc<Shared>>,
    Path(event): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    read_event(&shared, None, &event, &query, &headers)
}

fn read_event(
    shared: &Shared,
    calendar: Option<&str>,
    event_id: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
) -> Response {
    let options = match options(shared, query, &["select", "expand"]) {
        Ok(options) => options,
        Err(response) => return response,
    };
    let expand = match expansion(shared, options.expand.as_deref()) {
        Ok(expand) => expand,
        Err(response) => return response,
    };
    let zone = preferred_zone(headers);
    let (stored, calendar_id) = {
        let data = shared.lock();
        match data.locate(calendar, event_id) {
            Ok((c, e)) => (
                data.calendars[c].events[e].clone(),
                data.calendars[c].id.clone(),
            ),
            Err(response) => return response,
        }
    };
    let mut event = render_event(&stored, &options.select, expand.as_deref(), zone.as_deref());
    event["@odata.context"] = json!(format!(
        "{}$metadata#users('{USER_ID}')/calendars('{calendar_id}')/events/$entity",
        shared.graph_base()
    ));
    shared.check("Event", "events.get answer", &event);
    let mut response = Json(event).into_response();
    applied(&mut response, zone.as_deref());
    response
}

async fn patch_calendar_event(
    State(shared): State<Arc<Shared>>,
    Path((calendar, event)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    update_event(&shared, Some(&calendar), &event, &headers, &body)
}

async fn patch_event(
    State(shared): State<Arc<Shared>>,
    Path(event): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    update_event(&shared, None, &event, &headers, &body)
}

fn update_event(
    shared: &Shared,
    calendar: Option<&str>,
    event_id: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let changes = match event_body(shared, "events.update", body, false) {
        Ok(changes) => changes,
        Err(response) => return response,
    };
    let zone = preferred_zone(headers);
    let (updated, calendar_id, deliveries) = {
        let mut data = shared.lock();
        let (c, e) = match data
            .materialize(calendar, event_id)
            .and_then(|(c, e)| editable(&data, c).map(|()| (c, e)))
        {
            Ok(found) => found,
            Err(response) => return response,
        };
        merge_event(&mut data.calendars[c].events[e], changes);
        let deliveries = data.touch(c, event_id, "updated");
        (
            data.calendars[c].events[e].clone(),
            data.calendars[c].id.clone(),
            deliveries,
        )
    };
    shared.post(deliveries);
    respond_with_event(
        shared,
        StatusCode::OK,
        &updated,
        &calendar_id,
        &None,
        zone.as_deref(),
    )
}

/// Graph's PATCH: the properties sent replace those stored, extended properties are merged by id.
fn merge_event(event: &mut Value, changes: Map<String, Value>) {
    for (name, value) in changes {
        match name.as_str() {
            // Graph adds or replaces the properties sent and keeps the others.
            "singleValueExtendedProperties" => {
                let mut merged = event[&name].as_array().cloned().unwrap_or_default();
                for property in value.as_array().into_iter().flatten() {
                    let id = property["id"].as_str().unwrap_or_default();
                    merged.retain(|p| {
                        !p["id"]
                            .as_str()
                            .is_some_and(|pid| pid.eq_ignore_ascii_case(id))
                    });
                    merged.push(property.clone());
                }
                event[&name] = Value::Array(merged);
            }
            "start" | "end" => {
                let original = if name == "start" {
                    "originalStartTimeZone"
                } else {
                    "originalEndTimeZone"
                };
                event[original] = value["timeZone"].clone();
                event[&name] = value;
            }
            _ => event[&name] = value,
        }
    }
    if let Some(content) = event["body"]["content"].as_str() {
        event["bodyPreview"] = json!(content.chars().take(255).collect::<String>());
    }
    event["lastModifiedDateTime"] = json!(timestamp_now());
    event["changeKey"] = json!(random_key());
}

async fn delete_calendar_event(
    State(shared): State<Arc<Shared>>,
    Path((calendar, event)): Path<(String, String)>,
) -> Response {
    remove_event(&shared, Some(&calendar), &event)
}

async fn delete_event(State(shared): State<Arc<Shared>>, Path(event): Path<String>) -> Response {
    remove_event(&shared, None, &event)
}

fn remove_event(shared: &Shared, calendar: Option<&str>, event_id: &str) -> Response {
    let mut data = shared.lock();
    let (c, e) = match data
        .materialize(calendar, event_id)
        .and_then(|(c, e)| editable(&data, c).map(|()| (c, e)))
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let deliveries = data.delete_at(c, e);
    drop(data);
    shared.post(deliveries);
    StatusCode::NO_CONTENT.into_response()
}

// ---- inbound sync: series, delta, subscriptions ----------------------------------------------------------------

impl GraphEmulator {
    /// The user creates an event in Outlook; returns its id. A series has `recurrence` (a `PatternedRecurrence`,
    /// daily or weekly, its range `numbered`, `endDate` or `noEnd`).
    pub fn add_event(&self, calendar_id: &str, event: Value) -> String {
        let mut fields = user_fields(&self.shared, "add_event", event);
        let mut data = self.shared.lock();
        let c = data
            .calendar_index(calendar_id)
            .unwrap_or_else(|_| panic!("a known calendar"));
        data.sequence += 1;
        fields.retain(|_, value| !value.is_null());
        let event = new_event(fields, data.sequence, c);
        let id = event["id"].as_str().unwrap_or_default().to_owned();
        data.calendars[c].events.push(event);
        let deliveries = data.touch(c, &id, "created");
        drop(data);
        self.shared.post(deliveries);
        id
    }

    /// The user edits an event: `patch` replaces the properties it names. On an occurrence of a series, that
    /// occurrence becomes an exception.
    pub fn update_event(&self, calendar_id: &str, event_id: &str, patch: Value) {
        let changes = user_fields(&self.shared, "update_event", patch);
        let mut data = self.shared.lock();
        let (c, e) = data
            .materialize(Some(calendar_id), event_id)
            .ok()
            .unwrap_or_else(|| panic!("update_event: no event {event_id}"));
        merge_event(&mut data.calendars[c].events[e], changes);
        let deliveries = data.touch(c, event_id, "updated");
        drop(data);
        self.shared.post(deliveries);
    }

    /// The user deletes an event (a series with its exceptions); on an occurrence, only that occurrence.
    pub fn delete_event(&self, calendar_id: &str, event_id: &str) {
        let mut data = self.shared.lock();
        let (c, e) = data
            .materialize(Some(calendar_id), event_id)
            .ok()
            .unwrap_or_else(|| panic!("delete_event: no event {event_id}"));
        let deliveries = data.delete_at(c, e);
        drop(data);
        self.shared.post(deliveries);
    }

    /// Every delta and skip token issued so far stops working: 410 `syncStateNotFound`.
    pub fn invalidate_delta_tokens(&self) {
        let mut data = self.shared.lock();
        data.delta_states.clear();
        data.delta_pages.clear();
    }

    /// The next `n` notifications (change or lifecycle) are lost: never sent, not recorded.
    pub fn drop_notifications(&self, n: usize) {
        self.shared.lock().drop_notifications += n;
    }

    /// Live (unexpired) subscriptions, as Graph answers them.
    pub fn subscriptions(&self) -> Vec<Value> {
        let data = self.shared.lock();
        data.subscriptions
            .iter()
            .filter(|s| s.live())
            .map(Subscription::json)
            .collect()
    }

    /// Notifications posted so far, in order: `(subscription id, change type or lifecycle event, HTTP status of the
    /// answer)`, the status 0 when none came (refused, reset, or more than ten seconds).
    pub fn notifications(&self) -> Vec<(String, String, u16)> {
        self.shared.lock().notifications.clone()
    }

    /// Sets the emulator's clock to `now` (it runs on from there), so that the expiries it grants and checks agree
    /// with the manual clock of the app under test.
    pub fn set_now(&self, now: Timestamp) {
        self.shared.lock().skew = now.duration_since(Timestamp::now());
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

/// An event or patch a test writes as the user: of Graph's types, times normalized.
fn user_fields(shared: &Shared, at: &str, value: Value) -> Map<String, Value> {
    let problems = shared.types.check("Event", &value);
    assert!(problems.is_empty(), "{at}: {problems:?}");
    let mut fields = value.as_object().cloned().expect("an event object");
    for edge in ["start", "end"] {
        if let Some(time) = fields.get(edge) {
            let normalized = normalized_time(time).unwrap_or_else(|p| panic!("{at}.{edge}: {p}"));
            fields.insert(edge.to_owned(), normalized);
        }
    }
    fields
}

fn lifecycle(subscription: &Subscription, event: &str) -> Option<Delivery> {
    Some(Delivery {
        subscription_id: subscription.id.clone(),
        label: event.to_owned(),
        url: subscription.lifecycle_url.clone()?,
        body: json!({
            "value": [{
                "subscriptionId": subscription.id,
                "subscriptionExpirationDateTime": graph_timestamp(subscription.expiration),
                "clientState": subscription.client_state,
                "tenantId": TENANT_ID,
                "lifecycleEvent": event,
            }]
        }),
    })
}

impl Shared {
    /// Queues notifications for the background task, less those to be lost, each checked against Graph's types.
    fn post(&self, deliveries: Vec<Delivery>) {
        let mut deliveries = deliveries;
        {
            let mut data = self.lock();
            let lost = data.drop_notifications.min(deliveries.len());
            data.drop_notifications -= lost;
            deliveries.drain(..lost);
        }
        for delivery in deliveries {
            self.check(
                "ChangeNotificationCollection",
                "notification",
                &delivery.body,
            );
            // The receiving task ends only with the emulator.
            let _ = self.outbox.send(delivery);
        }
    }
}

/// Posts notifications one after another, in the order they were made, and records the answers.
async fn deliver(shared: Arc<Shared>, mut inbox: mpsc::UnboundedReceiver<Delivery>) {
    while let Some(delivery) = inbox.recv().await {
        let status = match shared
            .http
            .post(&delivery.url)
            .json(&delivery.body)
            .send()
            .await
        {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        };
        shared
            .lock()
            .notifications
            .push((delivery.subscription_id, delivery.label, status));
    }
}

impl Data {
    /// Records a change to an event of calendar `c`; returns the notifications of the subscriptions watching it.
    fn touch(&mut self, c: usize, event_id: &str, change_type: &str) -> Vec<Delivery> {
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
                subscription_id: s.id.clone(),
                label: change_type.to_owned(),
                url: s.notification_url.clone(),
                body: json!({
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
                }),
            })
            .collect()
    }

    /// Like `locate`, but an occurrence of a series (which is not stored) is first stored as an exception. A
    /// cancelled occurrence is not found.
    fn materialize(
        &mut self,
        calendar: Option<&str>,
        event_id: &str,
    ) -> Result<(usize, usize), Response> {
        match self.locate(calendar, event_id) {
            Ok((c, e)) => {
                let event = &self.calendars[c].events[e];
                if event["type"] == "exception" && event["isCancelled"] == true {
                    return Err(not_found());
                }
                Ok((c, e))
            }
            Err(response) if response.status() != StatusCode::NOT_FOUND => Err(response),
            Err(missing) => {
                let Some((master_id, _)) = event_id.rsplit_once("_occ_") else {
                    return Err(missing);
                };
                let Ok((c, m)) = self.locate(calendar, master_id) else {
                    return Err(missing);
                };
                let occurrence = occurrences(&self.calendars[c].events[m])
                    .into_iter()
                    .find(|o| o.event["id"] == event_id);
                let Some(occurrence) = occurrence else {
                    return Err(missing);
                };
                let mut exception = occurrence.event;
                exception["type"] = json!("exception");
                self.calendars[c].events.push(exception);
                Ok((c, self.calendars[c].events.len() - 1))
            }
        }
    }

    /// Deletes the event at `(c, e)`: an exception stays, cancelled, so its occurrence does not come back; a series
    /// goes with its exceptions.
    fn delete_at(&mut self, c: usize, e: usize) -> Vec<Delivery> {
        let events = &mut self.calendars[c].events;
        let id = events[e]["id"].as_str().unwrap_or_default().to_owned();
        if events[e]["type"] == "exception" {
            events[e]["isCancelled"] = json!(true);
            events[e]["lastModifiedDateTime"] = json!(timestamp_now());
        } else {
            events.remove(e);
            events.retain(|event| event["seriesMasterId"] != id.as_str());
            self.transactions.retain(|_, event| *event != id);
        }
        self.touch(c, &id, "deleted")
    }
}

/// An occurrence of a series, as Graph would store it, with its times.
struct Occurrence {
    event: Value,
    start: Timestamp,
    end: Timestamp,
}

/// The instant a stored `dateTimeTimeZone` stands for.
fn stored_instant(time: &Value) -> Option<Timestamp> {
    let wall: DateTime = time["dateTime"].as_str()?.parse().ok()?;
    zone_of(time["timeZone"].as_str()?)?
        .to_ambiguous_timestamp(wall)
        .compatible()
        .ok()
}

fn graph_weekday(name: &str) -> Option<Weekday> {
    Some(match name {
        "sunday" => Weekday::Sunday,
        "monday" => Weekday::Monday,
        "tuesday" => Weekday::Tuesday,
        "wednesday" => Weekday::Wednesday,
        "thursday" => Weekday::Thursday,
        "friday" => Weekday::Friday,
        "saturday" => Weekday::Saturday,
        _ => return None,
    })
}

/// The occurrences of a series master (daily or weekly patterns; other patterns have none here).
fn occurrences(master: &Value) -> Vec<Occurrence> {
    let pattern = &master["recurrence"]["pattern"];
    let range = &master["recurrence"]["range"];
    let weekly = match pattern["type"].as_str() {
        Some("daily") => false,
        Some("weekly") => true,
        _ => return Vec::new(),
    };
    let master_id = master["id"].as_str().unwrap_or_default();
    let (Some(zone_name), Some(wall)) = (
        master["start"]["timeZone"].as_str(),
        master["start"]["dateTime"]
            .as_str()
            .and_then(|t| t.parse::<DateTime>().ok()),
    ) else {
        return Vec::new();
    };
    let (Some(zone), Some(first), Some(last)) = (
        zone_of(zone_name),
        stored_instant(&master["start"]),
        stored_instant(&master["end"]),
    ) else {
        return Vec::new();
    };
    let length = last.duration_since(first);
    let start_date = range["startDate"]
        .as_str()
        .and_then(|d| d.parse::<Date>().ok())
        .unwrap_or(wall.date());
    let end_date = match range["type"].as_str() {
        Some("endDate") => range["endDate"]
            .as_str()
            .and_then(|d| d.parse::<Date>().ok()),
        _ => None,
    };
    let limit = match range["type"].as_str() {
        Some("numbered") => range["numberOfOccurrences"]
            .as_u64()
            .map_or(MAX_OCCURRENCES, |n| n as usize)
            .min(MAX_OCCURRENCES),
        _ => MAX_OCCURRENCES,
    };
    let weekdays: Vec<Weekday> = pattern["daysOfWeek"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str().and_then(graph_weekday))
        .collect();
    let week_start = pattern["firstDayOfWeek"]
        .as_str()
        .and_then(graph_weekday)
        .unwrap_or(Weekday::Sunday);
    let dates = super::recurrence::recurring_dates(
        start_date,
        weekly,
        pattern["interval"].as_i64().unwrap_or(1),
        &weekdays,
        week_start,
        limit,
    );
    let end_zone = master["end"]["timeZone"].as_str().unwrap_or(zone_name);
    let mut found = Vec::new();
    for date in dates {
        if end_date.is_some_and(|end| date > end) {
            break;
        }
        let Ok(start) = zone
            .to_ambiguous_timestamp(date.to_datetime(wall.time()))
            .compatible()
        else {
            continue;
        };
        let end = start.checked_add(length).unwrap_or(start);
        let local = |instant: Timestamp, name: &str| {
            let wall = zone_of(name).map_or_else(
                || instant.to_zoned_datetime(TimeZone::UTC).datetime(),
                |tz| instant.to_zoned_datetime(tz).datetime(),
            );
            json!({ "dateTime": graph_date_time(wall), "timeZone": name })
        };
        let mut event = master.clone();
        event["id"] = json!(format!("{master_id}_occ_{}", date.strftime("%Y%m%d")));
        event["type"] = json!("occurrence");
        event["seriesMasterId"] = json!(master_id);
        event["recurrence"] = Value::Null;
        event["originalStart"] = json!(start.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
        event["start"] = local(start, zone_name);
        event["end"] = local(end, end_zone);
        found.push(Occurrence { event, start, end });
    }
    found
}

/// The calendar's events in a window as calendarView shows them, each with the change number it was last changed
/// at: single events, and occurrences and exceptions of series (never masters, never cancelled occurrences).
fn view(calendar: &Calendar, start: Timestamp, end: Timestamp) -> Vec<(Value, u64)> {
    let version = |id: &str| calendar.changes.get(id).copied().unwrap_or(0);
    let overlaps = |s: Timestamp, e: Timestamp| s < end && (e > start || (e == s && s >= start));
    let exceptions: HashMap<&str, &Value> = calendar
        .events
        .iter()
        .filter(|event| event["type"] == "exception")
        .filter_map(|event| Some((event["id"].as_str()?, event)))
        .collect();
    let mut items = Vec::new();
    for event in &calendar.events {
        let id = event["id"].as_str().unwrap_or_default();
        match event["type"].as_str() {
            Some("exception") => {}
            Some("seriesMaster") => {
                for occurrence in occurrences(event) {
                    let occurrence_id = occurrence.event["id"].as_str().unwrap_or_default();
                    let (shown, s, e, v) = match exceptions.get(occurrence_id) {
                        Some(exception) if exception["isCancelled"] == true => continue,
                        Some(exception) => {
                            let s = stored_instant(&exception["start"]).unwrap_or(occurrence.start);
                            let e = stored_instant(&exception["end"]).unwrap_or(s);
                            let v = version(id).max(version(occurrence_id));
                            ((*exception).clone(), s, e, v)
                        }
                        None => (
                            occurrence.event.clone(),
                            occurrence.start,
                            occurrence.end,
                            version(id),
                        ),
                    };
                    if overlaps(s, e) {
                        items.push((shown, v));
                    }
                }
            }
            _ => {
                if event["isCancelled"] == true {
                    continue;
                }
                let (Some(s), Some(e)) = (
                    stored_instant(&event["start"]),
                    stored_instant(&event["end"]),
                ) else {
                    continue;
                };
                if overlaps(s, e) {
                    items.push((event.clone(), version(id)));
                }
            }
        }
    }
    items
}

fn graph_timestamp(instant: Timestamp) -> String {
    instant.strftime("%Y-%m-%dT%H:%M:%S%.7fZ").to_string()
}

fn sync_state_gone() -> Response {
    graph_error(
        StatusCode::GONE,
        "syncStateNotFound",
        "The sync state generation is not found. Restart the synchronization without a delta token.",
    )
}

/// `startDateTime`/`endDateTime`: an ISO 8601 instant, UTC when it has no offset.
fn window_edge(text: &str) -> Option<Timestamp> {
    text.parse::<Timestamp>().ok().or_else(|| {
        text.parse::<DateTime>()
            .ok()?
            .to_zoned_datetime(TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp())
    })
}

/// `Prefer: odata.maxpagesize=N`.
fn max_page_size(headers: &HeaderMap) -> Option<usize> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|p| p.trim().strip_prefix("odata.maxpagesize=")?.parse().ok())
        .filter(|n| *n > 0)
}

async fn calendar_view_delta(
    State(shared): State<Arc<Shared>>,
    Path(calendar_id): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let param = |name: &str| {
        query
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if let Some((name, _)) = query.iter().find(|(n, _)| {
        n.starts_with('$')
            && !["$skiptoken", "$deltatoken", "$select"].contains(&n.to_ascii_lowercase().as_str())
    }) {
        return shared.bad_request(
            "BadRequest",
            format!("calendarView.delta: query option '{name}' is not supported."),
        );
    }
    let select: Option<Vec<String>> =
        param("$select").map(|s| s.split(',').map(|n| n.trim().to_owned()).collect());
    let zone = preferred_zone(&headers);
    let page_size = max_page_size(&headers);
    let mut data = shared.lock();
    let c = match data.calendar_index(&calendar_id) {
        Ok(c) => c,
        Err(response) => return response,
    };
    // Skip tokens stay valid after use, so a page can be fetched again after a failure.
    let pages = if let Some(token) = param("$skiptoken") {
        match data.delta_pages.get(token) {
            Some(pages) => DeltaPages {
                items: pages.items.clone(),
                offset: pages.offset,
                then: pages.then.clone(),
            },
            None => return sync_state_gone(),
        }
    } else {
        let state = if let Some(token) = param("$deltatoken") {
            match data.delta_states.get(token) {
                Some(state) => state.clone(),
                None => return sync_state_gone(),
            }
        } else {
            let (Some(start), Some(end)) = (
                param("startDateTime").and_then(window_edge),
                param("endDateTime").and_then(window_edge),
            ) else {
                drop(data);
                return shared.bad_request(
                    "ErrorInvalidParameter",
                    "calendarView.delta: This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.".to_owned(),
                );
            };
            DeltaState {
                calendar: c,
                start,
                end,
                seq: 0,
                known: HashSet::new(),
            }
        };
        let current = view(&data.calendars[state.calendar], state.start, state.end);
        let ids: HashSet<String> = current
            .iter()
            .filter_map(|(event, _)| event["id"].as_str().map(str::to_owned))
            .collect();
        let mut items: Vec<Value> = current
            .into_iter()
            .filter(|(event, version)| {
                *version > state.seq
                    || !event["id"]
                        .as_str()
                        .is_some_and(|id| state.known.contains(id))
            })
            .map(|(event, _)| event)
            .collect();
        let mut gone: Vec<&String> = state.known.difference(&ids).collect();
        gone.sort();
        items.extend(
            gone.into_iter()
                .map(|id| json!({ "@removed": { "reason": "deleted" }, "id": id })),
        );
        let then = DeltaState {
            seq: data.change_seq,
            known: ids,
            ..state
        };
        DeltaPages {
            items,
            offset: 0,
            then,
        }
    };
    let size = page_size.unwrap_or(DELTA_PAGE_SIZE).min(1000);
    let end = (pages.offset + size).min(pages.items.len());
    let page: Vec<Value> = pages.items[pages.offset..end].to_vec();
    let calendar = data.calendars[pages.then.calendar].id.clone();
    let link_base = format!(
        "{}me/calendars/{calendar}/calendarView/delta",
        shared.graph_base()
    );
    let link = if end < pages.items.len() {
        let token = random_token();
        data.delta_pages.insert(
            token.clone(),
            DeltaPages {
                items: pages.items,
                offset: end,
                then: pages.then,
            },
        );
        ("@odata.nextLink", format!("{link_base}?$skiptoken={token}"))
    } else {
        let token = random_token();
        data.delta_states.insert(token.clone(), pages.then);
        (
            "@odata.deltaLink",
            format!("{link_base}?$deltatoken={token}"),
        )
    };
    drop(data);
    let value: Vec<Value> = page
        .iter()
        .map(|item| {
            if item.get("@removed").is_some() {
                return item.clone();
            }
            let mut event = render_event(item, &select, None, zone.as_deref());
            event["@odata.type"] = json!("#microsoft.graph.event");
            shared.check("Event", "calendarView.delta answer", &event);
            event
        })
        .collect();
    let mut body = json!({
        "@odata.context": format!("{}$metadata#Collection(event)", shared.graph_base()),
        "value": value,
    });
    body[link.0] = json!(link.1);
    let mut response = Json(body).into_response();
    applied(&mut response, zone.as_deref());
    if let Some(size) = page_size {
        let applied = format!("odata.maxpagesize={size}");
        let value = match response.headers().get("preference-applied") {
            Some(zone) => format!("{}, {applied}", zone.to_str().unwrap_or_default()),
            None => applied,
        };
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert("preference-applied", value);
        }
    }
    response
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
        return Err(shared.bad_request(
            "InvalidRequest",
            format!(
                "Subscription expiration can only be {MAX_SUBSCRIPTION_MINUTES} minutes in the future."
            ),
        ));
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
        .http
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

async fn create_subscription(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
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

async fn list_subscriptions(State(shared): State<Arc<Shared>>) -> Response {
    let value: Vec<Value> = {
        let data = shared.lock();
        data.subscriptions
            .iter()
            .filter(|s| s.live())
            .map(Subscription::json)
            .collect()
    };
    Json(json!({
        "@odata.context": format!("{}$metadata#subscriptions", shared.graph_base()),
        "value": value,
    }))
    .into_response()
}

async fn get_subscription(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
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

async fn renew_subscription(
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

async fn delete_subscription(
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

// ---- ids and times ---------------------------------------------------------------------------------------------

/// Graph's REST ids: `AAMk…`, base64 with URL-safe characters.
fn well_formed_id(id: &str) -> bool {
    id.len() > 8
        && id.starts_with("AAMk")
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='))
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

fn random_key() -> String {
    STANDARD.encode(uuid::Uuid::new_v4().as_bytes())
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn utc_now() -> jiff::ZonedDateTime {
    Timestamp::now().to_zoned_datetime(TimeZone::UTC)
}

fn timestamp_now() -> String {
    utc_now().strftime("%Y-%m-%dT%H:%M:%S%.7fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_property_filter_parses_and_others_do_not() {
        let parsed = parse_property_filter(
            "singleValueExtendedProperties/Any(ep: ep/id eq 'String {8bafe699-bcdd-43b5-bbc2-04c9eec6ca65} Name x' and ep/value eq 'O''Brien')",
        );
        assert_eq!(
            parsed,
            Ok((
                "String {8bafe699-bcdd-43b5-bbc2-04c9eec6ca65} Name x".to_owned(),
                "O'Brien".to_owned()
            ))
        );
        for wrong in [
            "singleValueExtendedProperties/Any(ep: ep/id eq 'x' and ep/value eq 'y'",
            "singleValueExtendedProperties/Any(ep: ep/id eq 'x' or ep/value eq 'y')",
            "singleValueExtendedProperties/Any(ep: ep/id eq 'x' and other/value eq 'y')",
            "singleValueExtendedProperties/Any(ep: ep/id eq 'x' and ep/value eq 'y)",
            "subject eq 'x'",
        ] {
            assert!(parse_property_filter(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn property_ids_follow_graphs_forms() {
        assert!(valid_property_id(
            "String {8bafe699-bcdd-43b5-bbc2-04c9eec6ca65} Name bookingAppointmentId"
        ));
        assert!(valid_property_id(
            "Integer {8bafe699-bcdd-43b5-bbc2-04c9eec6ca65} Id 0x8233"
        ));
        assert!(valid_property_id("String 0x3001"));
        assert!(!valid_property_id(
            "Text {8bafe699-bcdd-43b5-bbc2-04c9eec6ca65} Name x"
        ));
        assert!(!valid_property_id("String {not-a-guid} Name x"));
        assert!(!valid_property_id("bookingAppointmentId"));
    }
}
