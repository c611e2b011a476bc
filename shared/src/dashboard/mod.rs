//! The business owner's dashboard under `/dashboard`: server-rendered HTML (maud, checked at compile time) over the
//! same use cases as the API. Every page works without JavaScript: links, forms, and POST-redirect-GET. A session
//! cookie authenticates; every form carries the session's CSRF token and the `Origin` is checked.
//!
//! Served by the local server next to the API and, on AWS, by the `dashboard` Lambda function.

mod appointments;
mod assets;
mod auth;
mod book;
mod format;
mod integrations;
mod keys;
mod layout;
mod services;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::app::{App, AppError};
use crate::ports::{DashboardStore, StoreView};

/// Set on every page, whatever its handler set. (`no-referrer` would also make browsers send `Origin: null` with our
/// own forms.)
const SECURITY_HEADERS: [(header::HeaderName, &str); 4] = [
    (header::REFERRER_POLICY, "same-origin"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self' https: http:; frame-ancestors 'none'; base-uri 'none'",
    ),
];

/// Forms are small; a body past this is a mistake or an attack.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// What the dashboard needs beyond the app: where it is reachable, which decides the cookie's `Secure` flag and the
/// `Origin` every form must come from.
#[derive(Clone, Debug)]
pub struct DashboardSettings {
    /// Scheme, host and port, without a trailing slash: `https://bookings.example.com`.
    pub public_origin: String,
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
        }
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

/// The dashboard's routes, all under `/dashboard`, ready to merge with the API's router. `app` is the dashboard
/// function's own (`App<dyn DashboardStore>`) or the whole store's, seen as the dashboard's view.
pub fn router<S>(app: App<S>, settings: DashboardSettings) -> Router
where
    S: StoreView<dyn DashboardStore> + ?Sized,
{
    let state = Dashboard {
        app: app.view(),
        settings: Arc::new(settings),
    };
    let pages = Router::new()
        .route("/", get(home))
        .merge(auth::routes())
        .merge(integrations::routes())
        .merge(appointments::routes())
        .merge(book::routes())
        .merge(services::routes())
        .merge(keys::routes())
        .merge(assets::routes())
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
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
        .with_state(state);
    let pages = SECURITY_HEADERS
        .into_iter()
        .fold(pages, |pages, (name, value)| {
            pages.layer(SetResponseHeaderLayer::overriding(
                name,
                HeaderValue::from_static(value),
            ))
        });
    Router::new()
        .nest("/dashboard", pages)
        .route("/dashboard/", get(home))
}
