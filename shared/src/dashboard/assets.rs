//! The one stylesheet, compiled into the binary and served under a URL that names its content hash, so browsers
//! may keep it for a year and still never see a stale one after a deploy.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use super::{Dashboard, PageError};

const STYLESHEET: &str = include_str!("assets/style.css");

static STYLESHEET_NAME: LazyLock<String> = LazyLock::new(|| {
    let digest = hex::encode(Sha256::digest(STYLESHEET.as_bytes()));
    format!("style.{}.css", &digest[..12])
});

/// The stylesheet's URL, for the pages' `<link>`.
pub fn stylesheet_url() -> String {
    format!("/dashboard/assets/{}", *STYLESHEET_NAME)
}

pub fn routes() -> Router<Dashboard> {
    Router::new().route("/assets/{name}", get(asset))
}

async fn asset(Path(name): Path<String>) -> Result<Response, PageError> {
    if name != *STYLESHEET_NAME {
        return Err(PageError::NotFound);
    }
    let mut response = STYLESHEET.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(response)
}
