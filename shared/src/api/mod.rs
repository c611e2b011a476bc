//! The HTTP API: one router per area, each a thin layer over `crate::app`. A Lambda function serves one area; the
//! local server serves them all. The OpenAPI 3.1 document is generated from the handlers' annotations; the deployed
//! API serves the copy published in `shared/openapi.json`, which a test keeps equal to the generated one, so that no
//! function links the handlers of areas it does not serve just to describe them.

mod agents;
pub(crate) use agents::{MCP_PATH, openai_tool, retell_tool, vapi_tool};
mod appointments;
mod availability;
pub mod dto;
mod extract;
mod holds;
mod integrations;
pub mod problem;
mod responses;
mod services;
mod staff;
mod staff_integrations;
mod webhooks;

use std::time::Duration;

use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, Response, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::app::{App, AppError};
use crate::ports::{
    AgentApiStore, AppointmentsApiStore, AvailabilityApiStore, IntegrationsApiStore,
    ProviderRegistry, ServicesApiStore, WebhooksApiStore,
};
use problem::ApiError;

/// Request bodies are small JSON documents; anything larger is a mistake or an attack.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// A group of routes deployed together (one Lambda function each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    Services,
    Availability,
    Appointments,
    Integrations,
    Webhooks,
    /// The voice agent's tools: MCP, Vapi, Retell.
    Agents,
}

impl Area {
    pub const ALL: [Area; 6] = [
        Area::Services,
        Area::Availability,
        Area::Appointments,
        Area::Integrations,
        Area::Webhooks,
        Area::Agents,
    ];

    /// The area's part of the OpenAPI document.
    fn document(self, registry: &ProviderRegistry) -> utoipa::openapi::OpenApi {
        match self {
            Area::Services => services::routes().into_openapi(),
            Area::Availability => availability::routes().into_openapi(),
            Area::Appointments => appointments::routes().into_openapi(),
            Area::Integrations => integrations::routes().into_openapi(),
            Area::Webhooks => webhooks::routes(registry).into_openapi(),
            Area::Agents => agents::routes().into_openapi(),
        }
    }

    /// The paths the area serves, as its OpenAPI part writes them (`/v1/staff/{staff_id}`): what the template's API
    /// routes must send to its function.
    pub fn paths(self, registry: &ProviderRegistry) -> Vec<String> {
        self.document(registry).paths.paths.into_keys().collect()
    }

    /// The area's routes over its own view of the one store `app` holds.
    fn routes(self, app: &App) -> Router {
        match self {
            Area::Services => with_app(services::routes(), app.view()),
            Area::Availability => with_app(availability::routes(), app.view()),
            Area::Appointments => with_app(appointments::routes(), app.view()),
            Area::Integrations => with_app(integrations::routes(), app.view()),
            Area::Webhooks => with_app(webhooks::routes(&app.registry), app.view()),
            Area::Agents => agent_routes(app.view()),
        }
    }
}

/// Routes given their state: the app with the store view their handlers take.
fn with_app<S: ?Sized + Send + Sync + 'static>(
    routes: OpenApiRouter<App<S>>,
    app: App<S>,
) -> Router {
    routes.split_for_parts().0.with_state(app)
}

fn agent_routes(app: App<dyn AgentApiStore>) -> Router {
    let (routes, _) = agents::routes().split_for_parts();
    routes
        .merge(agents::mcp_routes(app.clone()))
        .with_state(app)
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("API key")
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Booking and calendar sync API", description = "Availability, booking and calendar sync for small businesses."),
    modifiers(&BearerAuth),
    security(("api_key" = [])),
    tags(
        (name = "services", description = "What a business offers, with hours and booking rules"),
        (name = "availability", description = "Free slots and single-time checks"),
        (name = "appointments", description = "Booking, rescheduling, cancelling, calendar sync retries"),
        (name = "holds", description = "Keeping a time while the caller decides"),
        (name = "staff", description = "The people or resources services are booked with"),
        (name = "settings", description = "The business's own settings: phone country, hold length"),
        (name = "integrations", description = "Connecting the business's calendar at a provider"),
        (name = "webhooks", description = "Push notifications from the calendar providers"),
    )
)]
struct ApiDoc;

/// The OpenAPI document of the whole API, whichever areas one process serves: a provider is one of the
/// registered ones, and each has its webhook.
pub fn openapi(registry: &ProviderRegistry) -> utoipa::openapi::OpenApi {
    let mut document = Area::ALL
        .iter()
        .fold(ApiDoc::openapi(), |mut document, area| {
            document.merge(area.document(registry));
            document
        });
    let registered = registry.iter().next().is_some();
    if let Some(components) = document.components.as_mut().filter(|_| registered) {
        let names = registry.iter().map(|profile| profile.kind.to_string());
        components.schemas.insert(
            "ProviderKind".to_owned(),
            utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::String)
                .enum_values(Some(names))
                .into(),
        );
    }
    document
}

async fn route_not_found() -> ApiError {
    ApiError::RouteNotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Whatever the framework or a layer answers on its own for a refused request (an extractor we do not wrap, a
/// limit enforced below the handlers) becomes a problem document too, so a client parses one error format on every
/// route. Refusals we write ourselves are problem documents already and pass unchanged, as would any deliberate
/// non-plain-text error body.
async fn problem_for_bare_refusals(response: Response<Body>) -> Response<Body> {
    let status = response.status();
    let is_plain = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_none_or(|content_type| content_type.starts_with("text/plain"));
    if (status.is_client_error() || status.is_server_error()) && is_plain {
        return ApiError::Refused(status).into_response();
    }
    response
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    ApiError::App(AppError::Internal("handler panicked".into())).into_response()
}

fn request_span(request: &Request<Body>) -> Span {
    // The path only: query strings may carry customer data.
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id,
        business_id = tracing::field::Empty,
    )
}

fn log_response(response: &Response<Body>, latency: Duration, _: &Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = latency.as_secs_f64() * 1000.0,
        "response"
    );
}

/// The routes of `areas`, each over its own view of the one store `app` holds, plus `/openapi.json` generated for
/// `app`'s registry: what a process that serves several areas (the local server, the tests) runs.
pub fn router(app: App, areas: &[Area]) -> Router {
    let routes = areas.iter().fold(Router::new(), |routes, area| {
        routes.merge(area.routes(&app))
    });
    let document = openapi(&app.registry);
    served(routes.route("/openapi.json", get(move || async move { Json(document) })))
}

/// The OpenAPI document the deployed API publishes: `openapi` for the registered providers, as JSON.
pub const PUBLISHED_OPENAPI: &str = include_str!("../../openapi.json");

/// The `services-api` function: services and settings.
pub fn services_api(app: App<dyn ServicesApiStore>) -> Router {
    served(with_app(services::routes(), app))
}

/// The `availability-api` function.
pub fn availability_api(app: App<dyn AvailabilityApiStore>) -> Router {
    served(with_app(availability::routes(), app))
}

/// The `appointments-api` function: appointments and holds, and `/openapi.json` (the published copy).
pub fn appointments_api(app: App<dyn AppointmentsApiStore>) -> Router {
    let published = get(|| async {
        (
            [(header::CONTENT_TYPE, "application/json")],
            PUBLISHED_OPENAPI,
        )
    });
    served(with_app(appointments::routes(), app).route("/openapi.json", published))
}

/// The `integrations-api` function.
pub fn integrations_api(app: App<dyn IntegrationsApiStore>) -> Router {
    served(with_app(integrations::routes(), app))
}

/// The `webhooks-api` function.
pub fn webhooks_api(app: App<dyn WebhooksApiStore>) -> Router {
    let routes = webhooks::routes(&app.registry);
    served(with_app(routes, app))
}

/// The `agent-api` function: MCP, Vapi and Retell.
pub fn agent_api(app: App<dyn AgentApiStore>) -> Router {
    served(agent_routes(app))
}

/// `routes` with request ids, tracing, body limits and problem responses for unknown routes and panics.
fn served(routes: Router) -> Router {
    routes
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(problem_for_bare_refusals))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(log_response),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
