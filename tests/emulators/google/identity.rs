//! Google's OAuth 2.0 endpoints: authorization with PKCE and offline access, the token endpoint (a refresh keeps
//! the refresh token), revocation.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde_json::json;

use super::gate::oauth_error;
use super::{CLIENT_ID, CLIENT_SECRET, GoogleEmulator, Shared};
use crate::emulators::oauth::{BasicCredentials, Client, CodeGrant, Parameters, pkce_verified};
use crate::emulators::server::url_pairs;

pub(super) const EVENTS_SCOPE: &str = "https://www.googleapis.com/auth/calendar.events";
const TOKEN_LIFETIME_SECS: u64 = 3599;
const CLIENT: Client = Client {
    id: CLIENT_ID,
    secret: CLIENT_SECRET,
    basic: BasicCredentials::Plain,
};

pub(super) const AUTHORIZE_PATH: &str = "/o/oauth2/v2/auth";
pub(super) const TOKEN_PATH: &str = "/token";
pub(super) const REVOKE_PATH: &str = "/revoke";

impl GoogleEmulator {
    pub fn revoke_url(&self) -> String {
        self.running.url(REVOKE_PATH)
    }
}

pub(super) async fn authorize(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<Parameters>,
) -> Response {
    let scopes: Vec<&str> = params
        .given("scope")
        .unwrap_or_default()
        .split(' ')
        .collect();
    let problem = if params.given("client_id") != Some(CLIENT_ID) {
        Some("unknown client_id")
    } else if params.given("response_type") != Some("code") {
        Some("response_type must be code")
    } else if !scopes.contains(&EVENTS_SCOPE) {
        Some("the calendar.events scope is missing")
    } else if params.given("access_type") != Some("offline")
        || params.given("prompt") != Some("consent")
    {
        Some("without access_type=offline and prompt=consent no refresh token is issued")
    } else if params.given("code_challenge").is_none()
        || params.given("code_challenge_method") != Some("S256")
    {
        Some("PKCE with S256 is required")
    } else if params.given("state").is_none() {
        Some("state is missing")
    } else {
        None
    };
    let Some(mut target) = params
        .given("redirect_uri")
        .and_then(|uri| reqwest::Url::parse(uri).ok())
    else {
        shared.violation("authorize: redirect_uri missing or not a URL".to_owned());
        return (StatusCode::BAD_REQUEST, "Error 400: invalid_request").into_response();
    };
    if let Some(problem) = problem {
        shared.violation(format!("authorize: {problem}"));
        return (StatusCode::BAD_REQUEST, format!("Error 400: {problem}")).into_response();
    }
    let code = shared.core.grants.grant_code(CodeGrant {
        redirect_uri: target.to_string(),
        code_challenge: params
            .given("code_challenge")
            .unwrap_or_default()
            .to_owned(),
        scope: EVENTS_SCOPE.to_owned(),
    });
    target
        .query_pairs_mut()
        .append_pair("state", params.given("state").unwrap_or_default())
        .append_pair("code", &code)
        .append_pair("scope", &scopes.join(" "));
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

pub(super) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(params): Form<Parameters>,
) -> Response {
    if !CLIENT.authenticated(&headers, &params) {
        shared.violation("token: client authentication failed".to_owned());
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", "Unauthorized");
    }
    let invalid_grant = || oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Bad Request");
    match params.given("grant_type") {
        Some("authorization_code") => {
            let Some(grant) = params
                .given("code")
                .and_then(|code| shared.core.grants.redeem(code))
            else {
                return invalid_grant();
            };
            let verified = pkce_verified(params.given("code_verifier"), &grant.code_challenge);
            let redirect_matches = params.given("redirect_uri").is_some_and(|uri| {
                reqwest::Url::parse(uri).is_ok_and(|uri| uri.to_string() == grant.redirect_uri)
            });
            if !verified || !redirect_matches {
                shared.violation("token: PKCE verifier or redirect_uri does not match".to_owned());
                return invalid_grant();
            }
            let (access, refresh) = shared.core.grants.issue(EVENTS_SCOPE);
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
            let Some(refreshed) = params
                .given("refresh_token")
                .and_then(|token| shared.core.grants.refresh(token))
            else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Token has been expired or revoked.",
                );
            };
            // Google keeps the refresh token: none comes back.
            let body = json!({
                "access_token": refreshed.access,
                "expires_in": TOKEN_LIFETIME_SECS,
                "scope": EVENTS_SCOPE,
                "token_type": "Bearer",
            });
            (StatusCode::OK, Json(body)).into_response()
        }
        other => {
            shared.violation(format!("token: grant_type {other:?}"));
            oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "Invalid grant_type",
            )
        }
    }
}

pub(super) async fn revoke(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<Parameters>,
    body: Bytes,
) -> Response {
    let form: Parameters = url_pairs(&String::from_utf8_lossy(&body))
        .into_iter()
        .collect();
    let Some(token) = form.get("token").or_else(|| query.get("token")) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "Missing token");
    };
    // Revoking a grant ends all of it.
    if shared.core.grants.revoke(token) {
        StatusCode::OK.into_response()
    } else {
        oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "Token expired or revoked",
        )
    }
}
