//! Extractors whose rejections are problem responses, and the API-key authentication of every route.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::app::App;
use crate::domain::{ApiKeyHash, Business};
use crate::ports::ApiKeyStore;

use super::problem::ApiError;

/// A JSON body; unknown fields, wrong types and malformed JSON are 400s with the reason.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Json(value) = Json::<T>::from_request(request, state).await?;
        Ok(Self(value))
    }
}

/// A raw body within the route's size limit; an oversized or unreadable body is a problem response, not the
/// framework's plain-text one.
pub struct ApiBytes(pub Bytes);

impl<S> FromRequest<S> for ApiBytes
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(request, state)
            .await
            .map(Self)
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::UnreadableBody(rejection.body_text())
                }
            })
    }
}

pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(value) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(value) = Path::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// The token of an `Authorization: Bearer <token>` header. The scheme is case-insensitive (RFC 9110 §11.1), so
/// `bearer` and `BEARER` work too, and one or more spaces may separate it from the token.
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The business whose API key authorised the request. Every handler takes one and scopes every read and write by
/// its id, so one business's key can never reach another's data.
pub struct Tenant(pub Business);

impl<S: ApiKeyStore + ?Sized> FromRequestParts<App<S>> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App<S>) -> Result<Self, Self::Rejection> {
        let presented = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(bearer_token)
            .ok_or(ApiError::Unauthorized)?;
        // Read on every request, not cached: a key revoked on the dashboard must stop working at once, on every
        // instance.
        let business = app
            .store
            .business_by_api_key(&ApiKeyHash::of(presented))
            .await
            .map_err(crate::app::AppError::from)?
            // A disabled business's keys are refused like unknown ones; its copy in the key's record says so.
            .filter(|business| !business.is_disabled())
            .ok_or(ApiError::Unauthorized)?;
        tracing::Span::current().record("business_id", tracing::field::display(business.id));
        Ok(Self(business))
    }
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for header in [
            "Bearer bk_1",
            "bearer bk_1",
            "BEARER bk_1",
            "bEaReR   bk_1 ",
        ] {
            assert_eq!(bearer_token(header), Some("bk_1"), "{header}");
        }
        for header in [
            "Bearer",
            "Bearer ",
            "Basic bk_1",
            "Bearerbk_1",
            "Token bk_1",
            "",
        ] {
            assert_eq!(bearer_token(header), None, "{header}");
        }
    }
}
