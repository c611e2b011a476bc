//! The Microsoft identity platform's OAuth 2.0 endpoints: authorization with PKCE (errors after the redirect URI is
//! trusted go back to the app), and the token endpoint, whose refresh grants rotate the refresh token.

use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde_json::json;

use super::gate::{identity_error, no_store};
use super::{CLIENT_ID, CLIENT_SECRET, Shared};
use crate::emulators::oauth::{
    BasicCredentials, Client, CodeGrant, Parameters, Refreshed, pkce_verified,
};

const TOKEN_LIFETIME_SECS: u64 = 3599;
const CLIENT: Client = Client {
    id: CLIENT_ID,
    secret: CLIENT_SECRET,
    basic: BasicCredentials::FormEncoded,
};
/// Scopes of Graph's resource; the bare form (`Calendars.ReadWrite`) means the same.
const GRAPH_SCOPE_PREFIX: &str = "https://graph.microsoft.com/";

pub(super) const AUTHORIZE_PATH: &str = "/common/oauth2/v2.0/authorize";
pub(super) const TOKEN_PATH: &str = "/common/oauth2/v2.0/token";

pub(super) async fn authorize(
    State(shared): State<Arc<Shared>>,
    Query(params): Query<Parameters>,
) -> Response {
    // Errors before the redirect URI is trusted are shown to the user, not sent back to the app.
    if params.given("client_id") != Some(CLIENT_ID) {
        shared.violation(format!(
            "authorize: unknown client_id {:?}",
            params.given("client_id")
        ));
        return identity_error(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            "Application with the given identifier was not found in the directory.",
        );
    }
    let Some(redirect_uri) = params.given("redirect_uri") else {
        shared.violation("authorize: no redirect_uri".to_owned());
        return missing_parameter("redirect_uri");
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
    let scope = params.given("scope").unwrap_or_default();
    let problem = if params.given("response_type") != Some("code") {
        Some(("unsupported_response_type", "response_type must be 'code'"))
    } else if !has_scope(scope, "offline_access") || !has_scope(scope, "Calendars.ReadWrite") {
        Some((
            "invalid_scope",
            "scope must include offline_access and Calendars.ReadWrite",
        ))
    } else if params.given("state").is_none() {
        Some(("invalid_request", "state is missing"))
    } else if params.given("code_challenge").is_none()
        || params.given("code_challenge_method") != Some("S256")
    {
        Some((
            "invalid_request",
            "PKCE with code_challenge_method=S256 is required",
        ))
    } else if params
        .given("response_mode")
        .is_some_and(|mode| mode != "query")
    {
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
                let code = shared.core.grants.grant_code(CodeGrant {
                    redirect_uri: redirect_uri.to_owned(),
                    code_challenge: params
                        .given("code_challenge")
                        .unwrap_or_default()
                        .to_owned(),
                    scope: scope.to_owned(),
                });
                pairs.append_pair("code", &code);
            }
        }
        if let Some(state) = params.given("state") {
            pairs.append_pair("state", state);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

/// The identity platform's answer to a request without a parameter it requires.
fn missing_parameter(name: &str) -> Response {
    identity_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{name}'."),
    )
}

/// Whether a space-separated scope list grants `wanted`, bare or as a Graph resource URI.
fn has_scope(scope: &str, wanted: &str) -> bool {
    scope.split(' ').any(|granted| {
        let granted = granted.strip_prefix(GRAPH_SCOPE_PREFIX).unwrap_or(granted);
        granted.eq_ignore_ascii_case(wanted)
    })
}

pub(super) async fn token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    form: Result<Form<Parameters>, FormRejection>,
) -> Response {
    let Ok(Form(params)) = form else {
        shared.violation("token: the body is not application/x-www-form-urlencoded".to_owned());
        return missing_parameter("grant_type");
    };
    if !CLIENT.authenticated(&headers, &params) {
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
    match params.given("grant_type") {
        Some("authorization_code") => {
            let grant = params
                .given("code")
                .and_then(|code| shared.core.grants.redeem(code));
            let Some(grant) = grant else {
                return invalid_grant(
                    "The provided value for the 'code' parameter is not valid. The code has expired or was already redeemed.",
                );
            };
            if params.given("redirect_uri") != Some(grant.redirect_uri.as_str()) {
                shared
                    .violation("token: redirect_uri differs from the authorize request".to_owned());
                return invalid_grant(
                    "The redirect_uri does not match the one the code was issued to.",
                );
            }
            let verified = pkce_verified(params.given("code_verifier"), &grant.code_challenge);
            if !verified {
                shared.violation("token: code_verifier does not match code_challenge".to_owned());
                return invalid_grant(
                    "The code_verifier does not match the code_challenge supplied in the authorization request.",
                );
            }
            let (access, refresh) = shared.core.grants.issue(&grant.scope);
            token_response(&grant.scope, &access, &refresh)
        }
        Some("refresh_token") => {
            let refreshed = params
                .given("refresh_token")
                .and_then(|token| shared.core.grants.refresh(token));
            // A refresh token is used up by its grant, and a new one comes back.
            let Some(Refreshed {
                access,
                refresh: Some(refresh),
                scope,
            }) = refreshed
            else {
                return invalid_grant(
                    "The provided value for the 'refresh_token' parameter is not valid. It was revoked, expired or already used.",
                );
            };
            token_response(&scope, &access, &refresh)
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

fn token_response(scope: &str, access: &str, refresh: &str) -> Response {
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
