//! `/mcp` and browsers: MCP's Streamable HTTP transport requires a server to validate `Origin` and answer 403 to an
//! invalid one (DNS rebinding). Allowed: no `Origin` (Vapi, Retell and every server-side client), the server's own
//! public origin, and loopback origins while the server itself is public only on loopback.

use std::sync::Arc;

use booking_core::adapters::FileSecretStore;
use booking_core::app::Integrations;
use integration_tests::{TestApp, spawn_app, spawn_app_with};
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};

/// A server whose public URL is `public` (`None`: the URL it listens on, a loopback one).
async fn served_at(public: Option<&'static str>) -> TestApp {
    spawn_app_with(move |app, base_url, data_dir| {
        let secrets = Arc::new(FileSecretStore::open(&data_dir.join("secrets")).unwrap());
        let public = public.map_or(base_url, str::to_owned);
        app.with_integrations(Integrations::new(
            secrets,
            SecretString::from("test state key".to_owned()),
            public,
        ))
    })
    .await
}

/// The status and body of `method /mcp` listing the tools with the business's key, from `origin` if given.
async fn mcp_from(app: &TestApp, method: Method, origin: Option<&str>) -> (u16, Value) {
    let mut request = app
        .client
        .request(method, app.url("/mcp"))
        .bearer_auth(&app.api_key)
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }));
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.text().await.unwrap();
    if status == 403 {
        assert_eq!(content_type, "application/problem+json", "{body}");
    }
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

#[tokio::test]
async fn a_foreign_origin_is_refused_with_403_on_every_method_and_none_is_served() {
    let app = served_at(None).await;
    for method in [Method::POST, Method::GET, Method::DELETE] {
        let (status, problem) =
            mcp_from(&app, method.clone(), Some("https://attacker.example")).await;
        assert_eq!(status, 403, "{method}: {problem}");
        assert_eq!(problem["code"], "origin_not_allowed", "{method}");
    }
    // A rebinding page reaches us under its own name: its origin is still not ours.
    let rebound = format!("http://attacker.example:{}", app.address.port());
    assert_eq!(mcp_from(&app, Method::POST, Some(&rebound)).await.0, 403);
    assert_eq!(mcp_from(&app, Method::POST, Some("null")).await.0, 403);

    let (status, listed) = mcp_from(&app, Method::POST, None).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["result"]["tools"].as_array().unwrap().len(), 8);
}

#[tokio::test]
async fn a_forbidden_origin_learns_nothing_about_the_key() {
    let app = served_at(None).await;
    let response = app
        .client
        .post(app.url("/mcp"))
        .header("origin", "https://attacker.example")
        .header("accept", "application/json, text/event-stream")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        403,
        "refused before the key is looked at"
    );
}

#[tokio::test]
async fn on_loopback_the_own_and_loopback_origins_are_served() {
    let app = served_at(None).await;
    for origin in [
        app.url(""),
        "http://localhost:6274".to_owned(),
        "http://127.0.0.1:6274".to_owned(),
    ] {
        let (status, body) = mcp_from(&app, Method::POST, Some(&origin)).await;
        assert_eq!(status, 200, "{origin}: {body}");
    }
}

#[tokio::test]
async fn on_a_public_address_only_its_own_origin_is_served() {
    let app = served_at(Some("https://agents.clinic.example")).await;
    let (status, body) = mcp_from(&app, Method::POST, Some("https://agents.clinic.example")).await;
    assert_eq!(status, 200, "{body}");
    for refused in [
        "http://agents.clinic.example",
        "https://agents.clinic.example:8443",
        "http://localhost:6274",
        "https://attacker.example",
    ] {
        assert_eq!(
            mcp_from(&app, Method::POST, Some(refused)).await.0,
            403,
            "{refused}"
        );
    }
}

#[tokio::test]
async fn a_server_that_knows_no_public_origin_serves_only_requests_without_one() {
    let app = spawn_app().await;
    assert_eq!(mcp_from(&app, Method::POST, None).await.0, 200);
    assert_eq!(
        mcp_from(&app, Method::POST, Some(&app.url(""))).await.0,
        403
    );
}
