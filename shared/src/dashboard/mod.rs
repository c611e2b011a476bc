//! The business owner's dashboard under `/dashboard`: server-rendered HTML (maud, checked at compile time) over the
//! same use cases as the API. Every page works without JavaScript: links, forms, and POST-redirect-GET. A session
//! cookie authenticates; each route declares who may use it and one gate checks it ([`permissions`]); every form
//! carries the session's CSRF token, the `Origin` is checked, and its body is read strictly. Every answer, refusals
//! included, is a page of the dashboard with its security headers.
//!
//! Served by the local server next to the API and, on AWS, by the `dashboard` Lambda function.

mod appointments;
mod assets;
mod auth;
mod book;
mod calendar;
mod checklist;
mod connect_link;
pub use connect_link::link_holder_location;
mod format;
mod hours;
mod integrations;
mod member_integrations;
pub use integrations::{calendar_picker_location, connect_failed_location};
mod keys;
mod layout;
mod onboarding;
pub mod permissions;
mod services;
mod settings;
mod staff;
mod voice_agent;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::middleware::{from_fn_with_state, map_response};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::app::emails::Links;
use crate::app::{App, AppError};
use crate::ports::{DashboardStore, StoreView};

/// Set on every page, whatever its handler set; the Content-Security-Policy beside them is [`content_security_policy`].
/// (`no-referrer` would also make browsers send `Origin: null` with our own forms.)
const SECURITY_HEADERS: [(header::HeaderName, &str); 3] = [
    (header::REFERRER_POLICY, "same-origin"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
];

/// Forms are small; a body past this is a mistake or an attack.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// What the dashboard needs beyond the app: where it is reachable, which decides the cookie's `Secure` flag, the
/// `Origin` every form must come from and the links in its emails; and whether anyone may sign a business up.
#[derive(Clone, Debug)]
pub struct DashboardSettings {
    /// Scheme, host and port, without a trailing slash: `https://bookings.example.com`.
    pub public_origin: String,
    /// `PUBLIC_BASE_URL` without a trailing slash: where the voice agent's endpoints are reached.
    pub public_base_url: String,
    /// The links emails carry, on `PUBLIC_BASE_URL`.
    pub links: Links,
    pub sign_up: SignUpPolicy,
}

/// Whether `/dashboard/sign-up` creates businesses (`SIGNUP=open|closed`); when closed, only an operator does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SignUpPolicy {
    #[default]
    Open,
    Closed,
}

impl std::str::FromStr for SignUpPolicy {
    type Err = crate::domain::ValidationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(Self::Open),
            "closed" => Ok(Self::Closed),
            _ => Err(crate::domain::ValidationError::new(
                "SIGNUP",
                "must be open or closed",
            )),
        }
    }
}

impl DashboardSettings {
    pub fn new(public_base_url: &str) -> Self {
        let trimmed = public_base_url.trim_end_matches('/');
        // An origin is scheme://host[:port]; a base URL with a path keeps only that part.
        let origin = match trimmed.find("://") {
            Some(scheme_end) => match trimmed[scheme_end + 3..].find('/') {
                Some(path) => trimmed[..scheme_end + 3 + path].to_owned(),
                None => trimmed.to_owned(),
            },
            None => trimmed.to_owned(),
        };
        Self {
            public_origin: origin,
            public_base_url: trimmed.to_owned(),
            links: Links::new(trimmed),
            sign_up: SignUpPolicy::default(),
        }
    }

    pub fn with_sign_up(mut self, policy: SignUpPolicy) -> Self {
        self.sign_up = policy;
        self
    }

    /// Browsers keep `Secure` cookies from https pages, and from loopback addresses, which they trust as secure.
    pub fn secure(&self) -> bool {
        let host = self
            .public_origin
            .strip_prefix("http://")
            .map(|rest| rest.rsplit_once(':').map_or(rest, |(host, _)| host));
        self.public_origin.starts_with("https://")
            || matches!(host, Some("127.0.0.1" | "localhost" | "[::1]"))
    }

    /// `__Host-` cookies are bound to this exact origin with `Secure` and `Path=/`; a plain-http address that is
    /// not loopback cannot hold them, so there the cookie goes without the prefix.
    pub fn cookie_name(&self, name: &str) -> String {
        if self.secure() {
            format!("__Host-{name}")
        } else {
            name.to_owned()
        }
    }
}

#[derive(Clone)]
pub(crate) struct Dashboard {
    pub app: App<dyn DashboardStore>,
    pub settings: Arc<DashboardSettings>,
}

/// A page or action that could not be done, shown as a page in the dashboard's style.
#[derive(Debug)]
pub(crate) enum PageError {
    NotFound,
    /// A form without the session's token or from another origin: nothing was changed.
    Forbidden,
    /// The signed-in person's role does not have the route's permission: nothing was done.
    NotAllowed,
    /// A POST whose body is not a form (`Content-Type` other than `application/x-www-form-urlencoded`).
    UnsupportedForm,
    /// A form whose text is not UTF-8 (raw, or once percent-decoded).
    MalformedForm,
    App(AppError),
}

impl From<AppError> for PageError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::NotFound(_) => Self::NotFound,
            other => Self::App(other),
        }
    }
}

impl From<crate::ports::StoreError> for PageError {
    fn from(error: crate::ports::StoreError) -> Self {
        Self::from(AppError::from(error))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> axum::response::Response {
        let (status, title, message) = match &self {
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here. It may have been removed, or the link is wrong.".to_owned(),
            ),
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "Nothing was changed. Go back, reload the page and try again.".to_owned(),
            ),
            Self::NotAllowed => (
                StatusCode::FORBIDDEN,
                "Only the owner can do this",
                "Nothing was changed. Ask the business's owner if it needs doing.".to_owned(),
            ),
            Self::UnsupportedForm => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "This was not sent as a form",
                "Nothing was changed. Use the form on the dashboard's page.".to_owned(),
            ),
            Self::MalformedForm => (
                StatusCode::BAD_REQUEST,
                "This form could not be read",
                "It held characters that are not valid text. Nothing was changed.".to_owned(),
            ),
            Self::App(AppError::Internal(source)) => {
                tracing::error!(error = %source, "dashboard request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Nothing was changed. Try again in a moment.".to_owned(),
                )
            }
            Self::App(other) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "That did not work",
                other.to_string(),
            ),
        };
        (status, layout::bare_page(title, &message)).into_response()
    }
}

pub(crate) type PageResult = Result<axum::response::Response, PageError>;

/// After a successful POST: back to a page with GET, so a reload repeats nothing.
pub(crate) fn see_other(location: &str) -> axum::response::Response {
    Redirect::to(location).into_response()
}

async fn not_found() -> PageError {
    PageError::NotFound
}

async fn home() -> Redirect {
    Redirect::to("/dashboard/appointments")
}

fn request_span(request: &Request<Body>) -> tracing::Span {
    // The path only: query strings carry password-link tokens and customer searches.
    tracing::info_span!(
        "dashboard",
        method = %request.method(),
        path = %request.uri().path(),
        business_id = tracing::field::Empty,
    )
}

fn log_response(response: &Response<Body>, latency: std::time::Duration, _: &tracing::Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = latency.as_secs_f64() * 1000.0,
        "response"
    );
}

fn panic_page(_: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    PageError::App(AppError::Internal("dashboard handler panicked".into())).into_response()
}

/// What the router itself refuses (a method the path does not answer, an id that does not parse, a malformed query)
/// shown as a page of the dashboard rather than the router's plain text; pages the handlers made pass unchanged.
async fn as_page(response: Response<Body>) -> Response<Body> {
    let status = response.status();
    let is_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if is_page || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (title, message) = match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "Not available this way",
            "This address cannot be used like that. Follow the dashboard's own links and buttons.",
        ),
        StatusCode::BAD_REQUEST => (
            "This address is not right",
            "Part of it could not be read. Check the link, or go back to the dashboard.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ("This was too large", "Nothing was changed."),
        _ if status.is_server_error() => (
            "Something went wrong",
            "Nothing was changed. Try again in a moment.",
        ),
        _ => ("That did not work", "Nothing was changed."),
    };
    let mut page = (status, layout::bare_page(title, message)).into_response();
    // 405 names the methods the path does answer.
    if let Some(allow) = response.headers().get(header::ALLOW) {
        page.headers_mut().insert(header::ALLOW, allow.clone());
    }
    page
}

/// The policy of every page: nothing but our own stylesheet, scripts (which only enhance) and images, forms only to ourselves and to the
/// authorization pages of the providers configured here, where the connect form's answer sends the browser.
fn content_security_policy<S: ?Sized>(app: &App<S>) -> HeaderValue {
    let mut form_targets = vec!["'self'".to_owned()];
    form_targets.extend(authorization_origins(app));
    let policy = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action {}; frame-ancestors 'none'; base-uri 'none'",
        form_targets.join(" ")
    );
    HeaderValue::from_str(&policy).unwrap_or_else(|_| {
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
    })
}

/// The origins the connect flow redirects browsers to: each configured provider's authorization URL as its own OAuth
/// flow builds it (so a test's emulator is allowed as the real provider is), without a path. Sorted, once each.
fn authorization_origins<S: ?Sized>(app: &App<S>) -> Vec<String> {
    let Some(integrations) = &app.integrations else {
        return Vec::new();
    };
    let origins: std::collections::BTreeSet<String> = app
        .registry
        .iter()
        .filter_map(|profile| integrations.provider(profile.kind).ok())
        .filter_map(|setup| {
            let (url, _) = setup
                .oauth
                .authorization_url(&integrations.redirect_uri(setup.kind()), "policy")
                .ok()?;
            let origin = reqwest::Url::parse(&url).ok()?.origin();
            origin
                .is_tuple()
                .then(|| origin.ascii_serialization())
                // A header value holds no line break or control character; an origin never should.
                .filter(|origin| origin.bytes().all(|byte| byte.is_ascii_graphic()))
        })
        .collect();
    origins.into_iter().collect()
}

/// The dashboard's routes, all under `/dashboard`, ready to merge with the API's router. `app` is the dashboard
/// function's own (`App<dyn DashboardStore>`) or the whole store's, seen as the dashboard's view.
pub fn router<S>(app: App<S>, settings: DashboardSettings) -> Router
where
    S: StoreView<dyn DashboardStore> + ?Sized,
{
    let policy = content_security_policy(&app);
    let state = Dashboard {
        app: app.view(),
        settings: Arc::new(settings),
    };
    let pages = Router::new()
        .route("/", get(home))
        .merge(auth::routes())
        .merge(onboarding::routes())
        .merge(connect_link::routes())
        .merge(integrations::routes())
        .merge(appointments::routes())
        .merge(calendar::routes())
        .merge(book::routes())
        .merge(services::routes())
        .merge(staff::routes())
        .merge(keys::routes())
        .merge(voice_agent::routes())
        .merge(settings::routes())
        .merge(assets::routes())
        // Every route above, and none of the fallbacks (404, 405), passes the permission gate first.
        .route_layer(from_fn_with_state(state.clone(), permissions::gate))
        .fallback(not_found);
    let dashboard = Router::new()
        .nest("/dashboard", pages)
        .route(
            "/dashboard/",
            get(home).route_layer(from_fn_with_state(state.clone(), permissions::gate)),
        )
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .layer(map_response(as_page))
        .layer(CatchPanicLayer::custom(panic_page))
        // Pages hold customer data and tokens: never cached, and (the security headers below) never framed, never
        // leaked through a Referer to another site.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_response(log_response),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            policy,
        ))
        .with_state(state);
    SECURITY_HEADERS
        .into_iter()
        .fold(dashboard, |dashboard, (name, value)| {
            dashboard.layer(SetResponseHeaderLayer::overriding(
                name,
                HeaderValue::from_static(value),
            ))
        })
}
