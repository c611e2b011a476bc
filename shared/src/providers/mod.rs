//! Calendar provider clients over HTTP. Base URLs come from configuration so that tests and demos can point them at
//! the provider emulators.

pub mod google;

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
