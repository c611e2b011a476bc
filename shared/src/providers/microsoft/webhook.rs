//! Graph's change and lifecycle notifications, and the validation handshake when a subscription is created, read
//! into the provider-neutral notifications inbound sync authenticates.

use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::ports::{PushEvent, PushNotification, WebhookCall, WebhookReading, WebhookRefusal};

#[derive(OpenApi)]
#[openapi(paths(read_notifications))]
pub(super) struct WebhookDoc;

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
    operation_id = "microsoft_notification",
    request_body(content = Option<GraphNotificationCollection>, description = "Absent in the validation handshake"),
    responses(
        (status = 200, description = "Validation handshake: the token, as text/plain", content_type = "text/plain", body = String),
        (status = 202, description = "Accepted; a sync is queued")))]
pub(super) fn read_notifications(call: &WebhookCall<'_>) -> Result<WebhookReading, WebhookRefusal> {
    let query: GraphQuery = serde_urlencoded::from_str(call.query.unwrap_or_default())
        .map_err(|error| WebhookRefusal::Query(error.to_string()))?;
    if let Some(token) = query.validation_token {
        if !call.body.is_empty() {
            return Err(WebhookRefusal::Body(
                "a validation handshake carries no body".to_owned(),
            ));
        }
        return Ok(WebhookReading::Handshake { token });
    }
    let collection: GraphNotificationCollection = serde_json::from_slice(call.body)
        .map_err(|error| WebhookRefusal::Body(error.to_string()))?;
    let notifications = collection
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
    Ok(WebhookReading::Notifications {
        notifications,
        status: http::StatusCode::ACCEPTED,
    })
}
