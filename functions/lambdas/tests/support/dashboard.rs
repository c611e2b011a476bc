//! The dashboard function as a browser sees it: form posts with the cookies it holds and the `Origin` it sends, and
//! the status, cookies, redirect and HTML it gets back.

use serde_json::{Value, json};

use super::{Function, http_event};

/// The public origin the dashboard function is configured with, which its forms must come from.
pub const DASHBOARD_ORIGIN: &str = "https://bookings.example.test";

/// What a browser keeps of one dashboard response.
pub struct Page {
    pub status: u16,
    /// The cookies set, `name=value; attributes`.
    pub cookies: Vec<String>,
    pub location: String,
    pub html: String,
}

/// A browser's request to the dashboard function: a form body (urlencoded) when given, the cookies it holds, and the
/// `Origin` a browser sends with a form.
pub fn dashboard_event(method: &str, path: &str, cookies: &str, form: Option<&str>) -> Value {
    let route = if path == "/dashboard" {
        "ANY /dashboard"
    } else {
        "ANY /dashboard/{proxy+}"
    };
    let mut event = http_event(method, route, path, "", None, form);
    event["headers"]["accept"] = json!("text/html");
    if form.is_some() {
        event["headers"]["content-type"] = json!("application/x-www-form-urlencoded");
        event["headers"]["origin"] = json!(DASHBOARD_ORIGIN);
    }
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies.split("; ").collect::<Vec<_>>());
    }
    event
}

/// Status, the cookies set, the Location and the HTML of a dashboard response.
pub fn dashboard_response(response: &Value) -> Page {
    let status = response["statusCode"].as_u64().unwrap() as u16;
    let cookies = response["cookies"]
        .as_array()
        .map(|cookies| {
            cookies
                .iter()
                .map(|cookie| cookie.as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    let location = response["headers"]["location"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    let html = response["body"].as_str().unwrap_or("").to_owned();
    Page {
        status,
        cookies,
        location,
        html,
    }
}

/// One browser request to the dashboard function and what came back.
pub async fn browse(
    dashboard: &Function,
    method: &str,
    path: &str,
    cookies: &str,
    form: Option<&str>,
) -> Page {
    let response = dashboard
        .invoke(dashboard_event(method, path, cookies, form))
        .await
        .unwrap();
    dashboard_response(&response)
}

/// The `name=value` of the cookie `name` set in `set_cookie`, which must be `Secure`, `HttpOnly` and `SameSite=Lax`.
pub fn cookie_pair(set_cookie: &[String], name: &str) -> String {
    let cookie = set_cookie
        .iter()
        .find(|cookie| cookie.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie in {set_cookie:?}"));
    assert!(
        cookie.contains("; Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
    );
    cookie.split(';').next().unwrap().to_owned()
}

/// The attribute value that follows `marker` in `page`, up to its closing quote.
pub fn input_value(page: &str, marker: &str) -> String {
    let start = page.find(marker).unwrap() + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

/// The anti-forgery token of `page`'s form.
pub fn csrf_in(page: &str) -> String {
    input_value(page, "name=\"csrf\" value=\"")
}
