//! The stylesheet and the two small scripts (the sign-up page's time zone guess, the voice agent page's copy buttons), compiled into the binary and served
//! under URLs that name their content hash, so browsers may keep them for a year and still never see a stale one
//! after a deploy.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use super::{Dashboard, PageError};

/// The stylesheet as written, then the calendar grid's placement rules, which are too many to write by hand.
static STYLESHEET: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{}{}",
        include_str!("assets/style.css"),
        super::calendar::grid_rules()
    )
});

/// Preselects the browser's own time zone on the sign-up page; without it, the page's default stands.
const TIME_ZONE_SCRIPT: &str = include_str!("assets/time-zone.js");

/// Gives the voice agent page's blocks to paste their copy buttons; without it, a click selects a block whole.
const COPY_SCRIPT: &str = include_str!("assets/copy.js");

fn hashed_name(stem: &str, content: &str, extension: &str) -> String {
    let digest = hex::encode(Sha256::digest(content.as_bytes()));
    format!("{stem}.{}.{extension}", &digest[..12])
}

static STYLESHEET_NAME: LazyLock<String> =
    LazyLock::new(|| hashed_name("style", &STYLESHEET, "css"));
static TIME_ZONE_SCRIPT_NAME: LazyLock<String> =
    LazyLock::new(|| hashed_name("time-zone", TIME_ZONE_SCRIPT, "js"));
static COPY_SCRIPT_NAME: LazyLock<String> =
    LazyLock::new(|| hashed_name("copy", COPY_SCRIPT, "js"));

/// The stylesheet's URL, for the pages' `<link>`.
pub fn stylesheet_url() -> String {
    format!("/dashboard/assets/{}", *STYLESHEET_NAME)
}

/// The time zone script's URL, for the sign-up page's `<script>`.
pub fn time_zone_script_url() -> String {
    format!("/dashboard/assets/{}", *TIME_ZONE_SCRIPT_NAME)
}

/// The copy buttons' script's URL, for the voice agent page's `<script>`.
pub fn copy_script_url() -> String {
    format!("/dashboard/assets/{}", *COPY_SCRIPT_NAME)
}

pub fn routes() -> Router<Dashboard> {
    Router::new().route("/assets/{name}", get(asset))
}

async fn asset(Path(name): Path<String>) -> Result<Response, PageError> {
    let (content, content_type) = if name == *STYLESHEET_NAME {
        (STYLESHEET.as_str(), "text/css; charset=utf-8")
    } else if name == *TIME_ZONE_SCRIPT_NAME {
        (TIME_ZONE_SCRIPT, "text/javascript; charset=utf-8")
    } else if name == *COPY_SCRIPT_NAME {
        (COPY_SCRIPT, "text/javascript; charset=utf-8")
    } else {
        return Err(PageError::NotFound);
    };
    let mut response = content.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(response)
}
