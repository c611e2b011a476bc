//! What every request passes through (counting, faults, authentication) and the error formats of Graph and of the
//! identity platform.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Shared;
use super::render::utc_now;
use crate::emulators::faults::{Fault, reset_connection};
use crate::emulators::server::{bearer, faulted, with_retry_after};

/// The emulator's routes with the gate in front, and an unknown endpoint or method answered as Graph does.
pub(super) fn guarded(routes: Router<Arc<Shared>>, shared: &Arc<Shared>) -> Router {
    routes
        .fallback(unknown_endpoint)
        .method_not_allowed_fallback(unknown_endpoint)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared.clone())
}

/// Counts, injects faults and authenticates every request; the handler only runs for requests that get past.
async fn gate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let identity = path.starts_with("/common/");
    shared.core.ledger.count(label(&method, &path).to_owned());
    let admitted = admit(&shared, identity, request, next);
    faulted(
        &shared.core.faults,
        method.as_str(),
        &path,
        |fault| render_fault(fault, identity),
        admitted,
    )
    .await
}

/// Runs the handler of a request that gets past authentication (Graph requests; the identity endpoints have none).
async fn admit(shared: &Shared, identity: bool, request: Request, next: Next) -> Response {
    if !identity {
        let known =
            bearer(request.headers()).is_some_and(|token| shared.core.grants.accepts(token));
        if !known {
            return render_fault(Fault::Unauthorized, false);
        }
    }
    next.run(request).await
}

/// What requests are counted by: `calendars.list`, `events.list`, `events.create`, `events.get`, `events.update`,
/// `events.delete`, `calendarView.delta`, `subscriptions.create`, `subscriptions.list`, `subscriptions.get`,
/// `subscriptions.update`, `subscriptions.delete`, `authorize` or `token`.
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
    let throttled = || {
        graph_error(
            StatusCode::TOO_MANY_REQUESTS,
            "ApplicationThrottled",
            "Application is over its MailboxConcurrency limit.",
        )
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
        (Fault::Unavailable, true) => with_retry_after(
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
        (Fault::Unavailable, false) => with_retry_after(
            2,
            graph_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceNotAvailable",
                "The service is temporarily unavailable.",
            ),
        ),
        (Fault::TooManyRequests { retry_after_secs }, _) => {
            with_retry_after(retry_after_secs, throttled())
        }
        // Graph never answers 403 for throttling; the nearest it has is a 429.
        (Fault::RateLimitForbidden, _) => with_retry_after(1, throttled()),
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

pub(super) fn graph_error(status: StatusCode, code: &str, message: &str) -> Response {
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

pub(super) fn not_found() -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "ErrorItemNotFound",
        "The specified object was not found in the store.",
    )
}

/// The identity platform's error body, with its `AADSTS` code.
pub(super) fn identity_error(
    status: StatusCode,
    error: &str,
    code: u32,
    description: &str,
) -> Response {
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

pub(super) fn no_store() -> [(header::HeaderName, &'static str); 2] {
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
