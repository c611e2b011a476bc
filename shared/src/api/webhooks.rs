//! `/v1/webhooks/…`: push notifications from the calendar providers, one route per registered provider at the path
//! its module declares. They carry no API key; the provider's module reads its own format, then each notification
//! is checked against the channel we opened and its secret (constant-time) before anything happens, and then only
//! enqueues a sync, so the providers get their answer in milliseconds.

use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use utoipa::IntoResponses;
use utoipa_axum::router::OpenApiRouter;

use crate::app::{self, App};
use crate::ports::{
    ProviderProfile, ProviderRegistry, WebhookCall, WebhookReading, WebhookRefusal,
};

use super::extract::ApiBytes;
use super::problem::ApiError;
use super::responses::WebhookErrors;

/// Graph batches notifications; a few hundred fit in this, far more than a small business's calendar produces.
const MAX_NOTIFICATION_BYTES: usize = 1024 * 1024;

pub fn routes(registry: &ProviderRegistry) -> OpenApiRouter<App> {
    registry
        .iter()
        .fold(OpenApiRouter::new(), |router, profile| {
            router.merge(provider_route(*profile))
        })
        .layer(DefaultBodyLimit::max(MAX_NOTIFICATION_BYTES))
}

/// The provider's webhook, documented by its module with the refusals every webhook shares.
fn provider_route(profile: ProviderProfile) -> OpenApiRouter<App> {
    let mut document = (profile.webhook.openapi)();
    let items = std::mem::take(&mut document.paths.paths);
    for (_, mut item) in items {
        for operation in operations(&mut item) {
            operation
                .responses
                .responses
                .extend(WebhookErrors::responses());
        }
        // Documented where it is mounted, whatever path the module's annotation names.
        document
            .paths
            .paths
            .insert(profile.webhook.path.to_owned(), item);
    }
    OpenApiRouter::with_openapi(document).route(
        profile.webhook.path,
        post(
            move |State(app): State<App>,
                  RawQuery(query): RawQuery,
                  headers: HeaderMap,
                  ApiBytes(body): ApiBytes| async move {
                let call = WebhookCall {
                    headers: &headers,
                    query: query.as_deref(),
                    body: &body,
                };
                notification(&app, profile, &call).await
            },
        ),
    )
}

fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
}

#[tracing::instrument(skip_all, fields(provider = %profile.kind))]
async fn notification(
    app: &App,
    profile: ProviderProfile,
    call: &WebhookCall<'_>,
) -> Result<Response, ApiError> {
    match (profile.webhook.read)(call).map_err(refused)? {
        WebhookReading::Handshake { token } => {
            let mut response = token.into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            response.headers_mut().insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            Ok(response)
        }
        WebhookReading::Notifications {
            notifications,
            status,
        } => {
            app::accept_notifications(app, profile.kind, &notifications).await?;
            Ok(status.into_response())
        }
    }
}

fn refused(refusal: WebhookRefusal) -> ApiError {
    match refusal {
        WebhookRefusal::Header { field, message } => ApiError::InvalidHeader { field, message },
        WebhookRefusal::Query(message) => ApiError::InvalidQuery(message),
        WebhookRefusal::Body(message) => ApiError::InvalidBody(message),
    }
}
