//! Microsoft Graph v1.0 (calendars and events of one mailbox) and the Microsoft identity platform's OAuth 2.0
//! endpoints, served on a loopback port. It behaves like Graph where our clients depend on it: opaque ids chosen by
//! the server, extended properties returned only when expanded, `$filter` on a single-value extended property,
//! `transactionId` making a repeated create answer the existing event, real deletion, read-only calendars, rotating
//! refresh tokens and PKCE. Every request body and every event or calendar it answers with is checked against Graph's
//! published types, and anything malformed is recorded as a violation for the test to assert on.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Helpers fail with the finished error response; its size is of no concern in a test server.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

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
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

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
}

struct Shared {
    faults: Faults,
    types: GraphTypes,
    /// `http://127.0.0.1:PORT/`
    origin: String,
    data: Mutex<Data>,
}

struct Data {
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
}

struct Calendar {
    id: String,
    name: &'static str,
    is_default: bool,
    can_edit: bool,
    change_key: String,
    events: Vec<Value>,
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
        };
        let shared = Arc::new(Shared {
            faults: Faults::default(),
            types: GraphTypes::load(),
            origin: format!("http://{address}/"),
            data: Mutex::new(Data {
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
            }),
        });
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
    /// `events.update`, `events.delete`, `authorize` or `token`.
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
    let event = {
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
            Some((c, e)) => data.calendars[c].events[e].clone(),
            None => {
                data.sequence += 1;
                let event = new_event(fields, data.sequence, calendar);
                let id = event["id"].as_str().unwrap_or_default().to_owned();
                if let Some(transaction) = event["transactionId"].as_str() {
                    data.transactions.insert(transaction.to_owned(), id);
                }
                data.calendars[calendar].events.push(event.clone());
                event
            }
        }
    };
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
    let (updated, calendar_id) = {
        let mut data = shared.lock();
        let (c, e) = match data
            .locate(calendar, event_id)
            .and_then(|(c, e)| editable(&data, c).map(|()| (c, e)))
        {
            Ok(found) => found,
            Err(response) => return response,
        };
        let event = &mut data.calendars[c].events[e];
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
        (event.clone(), data.calendars[c].id.clone())
    };
    respond_with_event(
        shared,
        StatusCode::OK,
        &updated,
        &calendar_id,
        &None,
        zone.as_deref(),
    )
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
        .locate(calendar, event_id)
        .and_then(|(c, e)| editable(&data, c).map(|()| (c, e)))
    {
        Ok(found) => found,
        Err(response) => return response,
    };
    let removed = data.calendars[c].events.remove(e);
    data.transactions
        .retain(|_, id| removed["id"] != id.as_str());
    StatusCode::NO_CONTENT.into_response()
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
