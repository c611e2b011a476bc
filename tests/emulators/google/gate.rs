//! What every request passes through (counting, faults, authentication, the discovery check) and Google's error
//! formats.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Shared;
use crate::emulators::faults::{Fault, reset_connection};
use crate::emulators::server::{bearer, faulted, url_pairs, with_retry_after};
use crate::emulators::spec::GoogleRequest;

/// The emulator's routes with the gate in front, and an unknown endpoint answered as a violation.
pub(super) fn guarded(routes: Router<Arc<Shared>>, shared: &Arc<Shared>) -> Router {
    routes
        .fallback(unknown_endpoint)
        .layer(middleware::from_fn_with_state(shared.clone(), gate))
        .with_state(shared.clone())
}

/// Faults, authentication, request counting and the discovery check of every API request.
async fn gate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let api_path = path.strip_prefix("/calendar/v3/").map(str::to_owned);
    // Requests are counted by discovery method id (`calendar.events.insert`, …), or by the OAuth endpoint's last
    // path segment (`token`, `auth`, `revoke`).
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
    shared.core.ledger.count(label);
    let oauth = api_path.is_none();
    let admitted = admit(&shared, &method, &path, api_path, request, next);
    faulted(
        &shared.core.faults,
        &method,
        &path,
        |fault| render_fault(fault, oauth),
        admitted,
    )
    .await
}

/// Runs the handler of a request that gets past authentication and the discovery check (API requests only).
async fn admit(
    shared: &Shared,
    method: &str,
    path: &str,
    api_path: Option<String>,
    request: Request,
    next: Next,
) -> Response {
    let request = match api_path {
        Some(api_path) => {
            if !bearer(request.headers()).is_some_and(|token| shared.core.grants.accepts(token)) {
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
                http_method: method,
                path: &api_path,
                query: &query,
                body: body_json.as_ref(),
            });
            if !problems.is_empty() {
                shared.core.ledger.violations_found(problems.clone());
                return google_error(StatusCode::BAD_REQUEST, "invalid", &problems.join("; "));
            }
            Request::from_parts(parts, Body::from(bytes))
        }
        None => request,
    };
    next.run(request).await
}

/// Google's JSON error format.
pub(super) fn google_error(status: StatusCode, reason: &str, message: &str) -> Response {
    let body = json!({
        "error": {
            "code": status.as_u16(),
            "message": message,
            "errors": [{ "domain": "global", "reason": reason, "message": message }],
        }
    });
    (status, Json(body)).into_response()
}

/// The OAuth endpoints' error format.
pub(super) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// Answers `value`, checked against the discovery document's schema.
pub(super) fn checked(shared: &Shared, schema: &str, status: StatusCode, value: Value) -> Response {
    shared
        .core
        .ledger
        .violations_found(shared.discovery.check_schema(schema, &value));
    (status, Json(value)).into_response()
}

pub(super) fn not_found() -> Response {
    google_error(StatusCode::NOT_FOUND, "notFound", "Not Found")
}

fn render_fault(fault: Fault, oauth: bool) -> Response {
    use StatusCode as S;
    let (status, reason, message) = match fault {
        Fault::ConnectionReset => reset_connection(),
        Fault::InvalidGrant => {
            return oauth_error(
                S::BAD_REQUEST,
                "invalid_grant",
                "Token has been expired or revoked.",
            );
        }
        Fault::ServerError if oauth => {
            return oauth_error(
                S::INTERNAL_SERVER_ERROR,
                "internal_failure",
                "Internal error",
            );
        }
        Fault::ServerError => (S::INTERNAL_SERVER_ERROR, "backendError", "Backend Error"),
        Fault::Unavailable => (
            S::SERVICE_UNAVAILABLE,
            "backendError",
            "The service is currently unavailable.",
        ),
        Fault::TooManyRequests { retry_after_secs } => {
            let throttled = google_error(
                S::TOO_MANY_REQUESTS,
                "rateLimitExceeded",
                "Rate Limit Exceeded",
            );
            return with_retry_after(retry_after_secs, throttled);
        }
        Fault::RateLimitForbidden => (S::FORBIDDEN, "rateLimitExceeded", "Rate Limit Exceeded"),
        Fault::Unauthorized => (
            S::UNAUTHORIZED,
            "authError",
            "Request had invalid authentication credentials.",
        ),
        Fault::NotFound => (S::NOT_FOUND, "notFound", "Not Found"),
        Fault::Gone => (S::GONE, "deleted", "Resource has been deleted"),
        Fault::Delay(_) => unreachable!("delays are served by waiting"),
    };
    google_error(status, reason, message)
}

async fn unknown_endpoint(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    shared.violation(format!(
        "no such endpoint: {} {}",
        request.method(),
        request.uri().path()
    ));
    not_found()
}
