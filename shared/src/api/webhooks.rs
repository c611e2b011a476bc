//! `/v1/webhooks`: push notifications from Google and Microsoft Graph. They carry no API key; each is checked against
//! the channel we opened and its secret (constant-time) before anything happens, and then only enqueues a sync, so
//! the providers get their answer in milliseconds.

use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::{self, App, PushEvent, PushNotification};
use crate::ports::ProviderKind;
use crate::ports::WebhooksApiStore;

use super::extract::{ApiBytes, ApiQuery};
use super::problem::ApiError;
use super::responses::WebhookErrors;

/// Graph batches notifications; a few hundred fit in this, far more than a small business's calendar produces.
const MAX_NOTIFICATION_BYTES: usize = 1024 * 1024;

/// The state of these routes: the app with only the store roles they use.
type WebhooksApp = App<dyn WebhooksApiStore>;

pub fn routes() -> OpenApiRouter<WebhooksApp> {
    OpenApiRouter::new()
        .routes(routes!(google_notification))
        .routes(routes!(microsoft_notification))
        .layer(DefaultBodyLimit::max(MAX_NOTIFICATION_BYTES))
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Google sends an empty body; everything is in the `X-Goog-*` headers.
#[utoipa::path(post, path = "/v1/webhooks/google", tag = "webhooks", security(()),
    params(
        ("X-Goog-Channel-ID" = String, Header, description = "The channel the notification is for"),
        ("X-Goog-Channel-Token" = Option<String>, Header, description = "The secret given when the channel was opened"),
        ("X-Goog-Resource-ID" = Option<String>, Header, description = "The watched resource"),
        ("X-Goog-Resource-State" = String, Header, description = "sync, exists or not_exists"),
    ),
    responses((status = 200, description = "Accepted; a sync is queued when the calendar changed"), WebhookErrors))]
#[tracing::instrument(skip_all)]
async fn google_notification(
    State(app): State<WebhooksApp>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let (Some(channel_id), Some(resource_state)) = (
        header_text(&headers, "x-goog-channel-id"),
        header_text(&headers, "x-goog-resource-state"),
    ) else {
        return Err(ApiError::InvalidHeader {
            field: "X-Goog-Channel-ID",
            message: "a Google notification names its channel and resource state".to_owned(),
        });
    };
    let notification = PushNotification {
        channel_id,
        secret: header_text(&headers, "x-goog-channel-token"),
        resource_id: header_text(&headers, "x-goog-resource-id"),
        // `sync` when the channel opens, then `exists` (or `not_exists`) on changes.
        event: match resource_state.as_str() {
            "sync" => PushEvent::Opened,
            _ => PushEvent::Changed,
        },
    };
    app::accept_notifications(&app, ProviderKind::Google, &[notification]).await?;
    Ok(StatusCode::OK)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct GraphQuery {
    /// Sent once when a subscription is created: echo it to prove the endpoint is ours.
    pub validation_token: Option<String>,
}

/// Graph's notification collection; only what we act on is read.
#[derive(Deserialize, ToSchema)]
pub struct GraphNotificationCollection {
    pub value: Vec<GraphNotificationItem>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GraphNotificationItem {
    pub subscription_id: String,
    pub client_state: Option<String>,
    /// Present on lifecycle notifications: reauthorizationRequired, subscriptionRemoved or missed.
    pub lifecycle_event: Option<String>,
}

/// Change and lifecycle notifications, and the validation handshake when a subscription is created.
#[utoipa::path(post, path = "/v1/webhooks/microsoft", tag = "webhooks", security(()), params(GraphQuery),
    request_body(content = Option<GraphNotificationCollection>, description = "Absent in the validation handshake"),
    responses(
        (status = 200, description = "Validation handshake: the token, as text/plain", content_type = "text/plain", body = String),
        (status = 202, description = "Accepted; a sync is queued"),
        WebhookErrors))]
#[tracing::instrument(skip_all)]
async fn microsoft_notification(
    State(app): State<WebhooksApp>,
    ApiQuery(query): ApiQuery<GraphQuery>,
    ApiBytes(body): ApiBytes,
) -> Result<Response, ApiError> {
    if let Some(token) = query.validation_token {
        if !body.is_empty() {
            return Err(ApiError::InvalidBody(
                "a validation handshake carries no body".to_owned(),
            ));
        }
        let mut response = token.into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response.headers_mut().insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        return Ok(response);
    }
    let collection: GraphNotificationCollection =
        serde_json::from_slice(&body).map_err(|error| ApiError::InvalidBody(error.to_string()))?;
    let notifications: Vec<PushNotification> = collection
        .value
        .into_iter()
        .map(|item| PushNotification {
            channel_id: item.subscription_id,
            secret: item.client_state,
            resource_id: None,
            // `missed` and plain change notifications alike mean: read the calendar.
            event: match item.lifecycle_event.as_deref() {
                Some("reauthorizationRequired") => PushEvent::RenewNow,
                Some("subscriptionRemoved") => PushEvent::Removed,
                _ => PushEvent::Changed,
            },
        })
        .collect();
    app::accept_notifications(&app, ProviderKind::Microsoft, &notifications).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
