//! Calendar provider clients over HTTP. Base URLs come from configuration so that tests and demos can point them at
//! the provider emulators.

pub mod google;
pub mod microsoft;
pub mod oauth;

/// The HTTP client provider calls share: a call that hangs longer than `timeout` counts as a transient failure.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .unwrap_or_default()
}

use std::time::Duration;

/// Percent-encodes one path segment (calendar ids are often e-mail addresses).
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A `Retry-After` given in seconds (the form both providers use).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}
