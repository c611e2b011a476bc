//! What the inbound-sync tests drive the emulators with: a bearer-token HTTP client, and webhook receivers (tiny
//! axum servers that record what they get and answer Graph's validation handshake).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// One request a receiver got.
#[derive(Clone, Debug)]
pub(super) struct Seen {
    pub(super) headers: HeaderMap,
    pub(super) query: HashMap<String, String>,
    pub(super) body: Bytes,
}

impl Seen {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub(super) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A webhook endpoint: records every request; answers Graph's validation requests by echoing the token (when
/// `echo`) and anything else with 202.
pub(super) struct Receiver {
    pub(super) url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[derive(Clone)]
struct ReceiverState {
    seen: Arc<Mutex<Vec<Seen>>>,
    echo: bool,
}

async fn receive(
    State(state): State<ReceiverState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = query.get("validationToken").cloned();
    state.seen.lock().unwrap().push(Seen {
        headers,
        query,
        body,
    });
    match token {
        Some(token) if state.echo => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            token,
        )
            .into_response(),
        Some(_) => (StatusCode::OK, "ok").into_response(),
        None => StatusCode::ACCEPTED.into_response(),
    }
}

pub(super) async fn receiver(echo: bool) -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let router = Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(ReceiverState {
            seen: seen.clone(),
            echo,
        });
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    Receiver { url, seen, server }
}

impl Receiver {
    pub(super) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits (briefly) until `count` requests have arrived.
    pub(super) async fn wait_for(&self, count: usize) -> Vec<Seen> {
        eventually(|| self.seen().len() >= count).await;
        self.seen()
    }
}

/// Polls `condition` every few milliseconds for up to five seconds.
pub(super) async fn eventually(condition: impl Fn() -> bool) {
    for _ in 0..250 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting");
}

/// Long enough for a delivery that should not happen to have happened.
pub(super) async fn quiet() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// A client of one emulator's API, signed in with a bearer token.
pub(super) struct Api {
    http: reqwest::Client,
    pub(super) base: String,
    pub(super) token: String,
}

impl Api {
    pub(super) fn new(base: String, token: String) -> Self {
        Self {
            http: reqwest::Client::new(),
            base,
            token,
        }
    }

    pub(super) async fn get(&self, path_or_url: &str, query: &[(&str, &str)]) -> (u16, Value) {
        self.send(self.http.get(self.url(path_or_url)).query(query))
            .await
    }

    pub(super) async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(self.url(path)).json(&body)).await
    }

    pub(super) async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.patch(self.url(path)).json(&body)).await
    }

    pub(super) async fn delete(&self, path: &str) -> (u16, Value) {
        self.send(self.http.delete(self.url(path))).await
    }

    fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.bearer_auth(&self.token).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

pub(super) fn ids(items: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}
