//! Google Calendar API v3 (calendar list and events of one account) and Google's OAuth 2.0 endpoints, served on a
//! loopback port. It behaves like Google where our clients depend on it: client-chosen base32hex event ids, 409 for an
//! id already used (even by a deleted event), deleted events kept as `cancelled` and revived by a patch, 410 for
//! deleting one twice, read-only calendars, PKCE, offline access. Every request is checked against the discovery
//! document (method, parameters, body schema) and every event it answers with against the `Event` schema; anything
//! malformed is recorded as a violation for the test to assert on.

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Helpers fail with the finished error response; its size is of no concern in a test server.
#![allow(clippy::result_large_err)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

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

pub struct GoogleEmulator {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

struct Shared {
    faults: Faults,
    discovery: GoogleDiscovery,
    data: Mutex<Data>,
}

struct Calendar {
    id: &'static str,
    summary: &'static str,
    access_role: &'static str,
    primary: bool,
    /// By id; deleted events stay, `cancelled`, as Google keeps them.
    events: HashMap<String, Value>,
}

struct CodeGrant {
    redirect_uri: String,
    code_challenge: String,
}

struct Data {
    calendars: Vec<Calendar>,
    codes: HashMap<String, CodeGrant>,
    access_tokens: HashSet<String>,
    refresh_tokens: HashSet<String>,
    violations: Vec<String>,
    requests: HashMap<String, usize>,
    token_refreshes: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn violation(&self, problem: String) {
        self.lock().violations.push(problem);
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
        let id = if id == "primary" { ACCOUNT } else { id };
        self.calendars.iter_mut().find(|calendar| calendar.id == id)
    }
}

impl GoogleEmulator {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let calendar = |id, summary, access_role, primary| Calendar {
            id,
            summary,
            access_role,
            primary,
            events: HashMap::new(),
        };
        let shared = Arc::new(Shared {
            faults: Faults::default(),
            discovery: GoogleDiscovery::load(),
            data: Mutex::new(Data {
                calendars: vec![
                    calendar(ACCOUNT, ACCOUNT, "owner", true),
                    calendar(TEAM_CALENDAR, "Team", "writer", false),
                    calendar(HOLIDAYS_CALENDAR, "Holidays", "reader", false),
                ],
                codes: HashMap::new(),
                access_tokens: HashSet::new(),
                refresh_tokens: HashSet::new(),
                violations: Vec::new(),
                requests: HashMap::new(),
                token_refreshes: 0,
            }),
        });
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
                "/calendar/v3/calendars/{calendar}/events/{event}",
                get(get_event)
                    .patch(patch_event)
                    .put(update_event)
                    .delete(delete_event),
            )
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
}

impl Drop for GoogleEmulator {
    fn drop(&mut self) {
        self.server.abort();
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
                "timeZone": "America/New_York",
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

async fn insert_event(
    State(shared): State<Arc<Shared>>,
    Path(calendar_id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut data = shared.lock();
    let Some(calendar) = data.calendar(&calendar_id) else {
        return calendar_not_found();
    };
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
        None => URL_SAFE_NO_PAD
            .encode(uuid::Uuid::new_v4().as_bytes())
            .to_lowercase()
            .chars()
            .filter(|c| matches!(c, '0'..='9' | 'a'..='v'))
            .collect(),
    };
    if calendar.events.contains_key(&id) {
        return google_error(
            StatusCode::CONFLICT,
            "duplicate",
            "The requested identifier already exists.",
        );
    }
    let event = stamped(fields, calendar.id, &id, 0);
    calendar.events.insert(id, event.clone());
    drop(data);
    checked(&shared, "Event", StatusCode::OK, event)
}

async fn get_event(
    State(shared): State<Arc<Shared>>,
    Path((calendar_id, event_id)): Path<(String, String)>,
) -> Response {
    let mut data = shared.lock();
    let Some(calendar) = data.calendar(&calendar_id) else {
        return calendar_not_found();
    };
    let Some(event) = calendar.events.get(&event_id).cloned() else {
        return google_error(StatusCode::NOT_FOUND, "notFound", "Not Found");
    };
    drop(data);
    checked(&shared, "Event", StatusCode::OK, event)
}

async fn change_event(
    shared: &Shared,
    calendar_id: &str,
    event_id: &str,
    body: &Value,
    replace: bool,
) -> Response {
    let mut data = shared.lock();
    let Some(calendar) = data.calendar(calendar_id) else {
        return calendar_not_found();
    };
    if let Err(refused) = writable(calendar) {
        return refused;
    }
    let calendar_name = calendar.id;
    let Some(current) = calendar.events.get(event_id).cloned() else {
        return google_error(StatusCode::NOT_FOUND, "notFound", "Not Found");
    };
    let Some(changes) = body.as_object() else {
        return google_error(StatusCode::BAD_REQUEST, "invalid", "Invalid body");
    };
    let mut fields = if replace {
        Map::new()
    } else {
        current.as_object().cloned().unwrap_or_default()
    };
    for (name, value) in changes {
        fields.insert(name.clone(), value.clone());
    }
    if let Some(created) = current.get("created") {
        fields.insert("created".into(), created.clone());
    }
    // A patch without a status leaves a cancelled event cancelled, as Google does.
    if !changes.contains_key("status") {
        if let Some(status) = current.get("status") {
            fields.insert("status".into(), status.clone());
        }
    }
    let sequence = current["sequence"].as_u64().unwrap_or(0) + 1;
    let event = stamped(fields, calendar_name, event_id, sequence);
    calendar.events.insert(event_id.to_owned(), event.clone());
    drop(data);
    checked(shared, "Event", StatusCode::OK, event)
}

async fn patch_event(
    State(shared): State<Arc<Shared>>,
    Path((calendar_id, event_id)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    change_event(&shared, &calendar_id, &event_id, &body, false).await
}

async fn update_event(
    State(shared): State<Arc<Shared>>,
    Path((calendar_id, event_id)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    change_event(&shared, &calendar_id, &event_id, &body, true).await
}

async fn delete_event(
    State(shared): State<Arc<Shared>>,
    Path((calendar_id, event_id)): Path<(String, String)>,
) -> Response {
    let mut data = shared.lock();
    let Some(calendar) = data.calendar(&calendar_id) else {
        return calendar_not_found();
    };
    if let Err(refused) = writable(calendar) {
        return refused;
    }
    let Some(event) = calendar.events.get_mut(&event_id) else {
        return google_error(StatusCode::NOT_FOUND, "notFound", "Not Found");
    };
    if event["status"] == "cancelled" {
        return google_error(StatusCode::GONE, "deleted", "Resource has been deleted");
    }
    event["status"] = json!("cancelled");
    StatusCode::NO_CONTENT.into_response()
}

async fn list_events(
    State(shared): State<Arc<Shared>>,
    Path(calendar_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut data = shared.lock();
    let Some(calendar) = data.calendar(&calendar_id) else {
        return calendar_not_found();
    };
    let show_deleted = query.get("showDeleted").is_some_and(|v| v == "true");
    let mut items: Vec<Value> = calendar
        .events
        .values()
        .filter(|event| show_deleted || event["status"] != "cancelled")
        .cloned()
        .collect();
    items.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let summary = calendar.summary;
    drop(data);
    let list = json!({
        "kind": "calendar#events",
        "etag": "\"p32g\"",
        "summary": summary,
        "timeZone": "America/New_York",
        "accessRole": "owner",
        "items": items,
    });
    checked(&shared, "Events", StatusCode::OK, list)
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
