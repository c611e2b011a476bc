//! A Lambda Runtime API on loopback: the function binaries run as they do on AWS (polling `invocation/next`,
//! posting the response), and a test invokes them with event JSON as AWS sends it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

type Outcome = Result<Value, Value>;

#[derive(Clone)]
struct Shared {
    events: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Value)>>>,
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>>,
    init_error: Arc<Mutex<Option<Value>>>,
    /// When the function first asked for an event: the end of its init phase, as Lambda counts it.
    first_poll: Arc<OnceLock<Instant>>,
}

pub struct RuntimeApi {
    pub address: SocketAddr,
    events: mpsc::UnboundedSender<(String, Value)>,
    shared: Shared,
}

async fn next(State(shared): State<Shared>) -> impl IntoResponse {
    let _ = shared.first_poll.set(Instant::now());
    let Some((request_id, event)) = shared.events.lock().await.recv().await else {
        return (StatusCode::GONE, HeaderMap::new(), Vec::new());
    };
    let deadline = jiff::Timestamp::now().as_millisecond() + 30_000;
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", request_id);
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:under-test".to_owned(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1".to_owned(),
    );
    (
        StatusCode::OK,
        headers,
        serde_json::to_vec(&event).unwrap_or_default(),
    )
}

fn settle(shared: &Shared, request_id: &str, outcome: Outcome) {
    if let Some(waiter) = shared.waiting.lock().unwrap().remove(request_id) {
        let _ = waiter.send(outcome);
    }
}

fn json(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn response(
    State(shared): State<Shared>,
    Path(request_id): Path<String>,
    body: Bytes,
) -> StatusCode {
    settle(&shared, &request_id, Ok(json(&body)));
    StatusCode::ACCEPTED
}

async fn error(
    State(shared): State<Shared>,
    Path(request_id): Path<String>,
    body: Bytes,
) -> StatusCode {
    settle(&shared, &request_id, Err(json(&body)));
    StatusCode::ACCEPTED
}

async fn init_error(State(shared): State<Shared>, body: Bytes) -> StatusCode {
    *shared.init_error.lock().unwrap() = Some(json(&body));
    StatusCode::ACCEPTED
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let (events, receiver) = mpsc::unbounded_channel();
        let shared = Shared {
            events: Arc::new(tokio::sync::Mutex::new(receiver)),
            waiting: Arc::default(),
            init_error: Arc::default(),
            first_poll: Arc::default(),
        };
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        RuntimeApi {
            address,
            events,
            shared,
        }
    }

    /// Waits until the function first polls for an event, and says when that was.
    pub async fn first_poll(&self) -> Instant {
        let waiting_since = Instant::now();
        loop {
            if let Some(at) = self.shared.first_poll.get() {
                return *at;
            }
            assert!(
                waiting_since.elapsed() < Duration::from_secs(30),
                "the function did not start within 30 s (init error: {:?})",
                self.shared.init_error.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }

    /// Sends one event to the function and waits for what it answers: `Ok` for a response, `Err` for an error
    /// report.
    pub async fn invoke(&self, event: Value) -> Outcome {
        let request_id = uuid::Uuid::new_v4().to_string();
        let (sender, receiver) = oneshot::channel();
        self.shared
            .waiting
            .lock()
            .unwrap()
            .insert(request_id.clone(), sender);
        self.events.send((request_id, event)).unwrap();
        match tokio::time::timeout(Duration::from_secs(30), receiver).await {
            Ok(Ok(outcome)) => outcome,
            _ => panic!(
                "the function did not answer within 30 s (init error: {:?})",
                self.shared.init_error.lock().unwrap()
            ),
        }
    }
}
