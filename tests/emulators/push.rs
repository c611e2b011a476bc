//! Background delivery of push notifications (Google's channel messages, Graph's change and lifecycle
//! notifications): posted one after another in the order they were made, each answer recorded, and a test may have
//! the next few lost.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::http::header;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long Graph's validation handshake waits for the receiver's answer (10 s, documented), and so any notification
/// whose provider documents no shorter wait.
pub const RECEIVER_TIMEOUT: Duration = Duration::from_secs(10);

/// One notification to post.
pub struct Delivery {
    /// The channel or subscription it is sent on.
    pub sent_on: String,
    /// What it says: Google's resource state, Graph's change type or lifecycle event.
    pub label: String,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    /// A JSON body, or none (an empty body, as Google posts).
    pub body: Option<Value>,
    /// How long the provider waits for the answer; a later one counts as none.
    pub answer_within: Duration,
}

/// `(channel or subscription id, label, HTTP status our receiver answered, 0 for none)`.
pub type Answered = (String, String, u16);

#[derive(Default)]
struct Record {
    /// How many of the next notifications are silently lost.
    to_lose: usize,
    answered: Vec<Answered>,
}

/// The queue of notifications and what became of them.
pub struct Postman {
    outbox: mpsc::UnboundedSender<Delivery>,
    record: Arc<Mutex<Record>>,
    http: reqwest::Client,
}

impl Postman {
    /// The postman and its background task (to be stopped with the emulator).
    pub fn start() -> (Self, JoinHandle<()>) {
        let http = reqwest::Client::builder()
            .timeout(RECEIVER_TIMEOUT)
            .build()
            .unwrap();
        let (outbox, inbox) = mpsc::unbounded_channel();
        let record = Arc::new(Mutex::new(Record::default()));
        let task = tokio::spawn(deliver(http.clone(), record.clone(), inbox));
        let postman = Self {
            outbox,
            record,
            http,
        };
        (postman, task)
    }

    fn lock(&self) -> MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A client that waits for a receiver as long as notifications do.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The next `n` notifications are lost: never sent, not recorded.
    pub fn lose_next(&self, n: usize) {
        self.lock().to_lose += n;
    }

    /// `deliveries` less those to be lost.
    pub fn keep(&self, mut deliveries: Vec<Delivery>) -> Vec<Delivery> {
        let mut record = self.lock();
        let lost = record.to_lose.min(deliveries.len());
        record.to_lose -= lost;
        deliveries.drain(..lost);
        deliveries
    }

    /// Queues deliveries as they are (`keep` first takes out those to be lost).
    pub fn send(&self, deliveries: Vec<Delivery>) {
        for delivery in deliveries {
            // The receiving task ends only with the emulator.
            let _ = self.outbox.send(delivery);
        }
    }

    /// Notifications posted so far, in order.
    pub fn answered(&self) -> Vec<Answered> {
        self.lock().answered.clone()
    }
}

async fn deliver(
    http: reqwest::Client,
    record: Arc<Mutex<Record>>,
    mut inbox: mpsc::UnboundedReceiver<Delivery>,
) {
    while let Some(delivery) = inbox.recv().await {
        let mut request = http.post(&delivery.url).timeout(delivery.answer_within);
        request = match &delivery.body {
            Some(body) => request.json(body),
            None => request.header(header::CONTENT_LENGTH, "0"),
        };
        for (name, value) in &delivery.headers {
            request = request.header(*name, value);
        }
        let status = match request.send().await {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        };
        record
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .answered
            .push((delivery.sent_on, delivery.label, status));
    }
}
