//! The holds-and-callers scenario, run on any `Store` through the same axum router the servers run: hold a time
//! and book it from the hold (as a phone agent does), then find one caller's appointments by phone among 10,000
//! appointments of the business. Shared by the embedded-store bench (`shared/benches/holds.rs`) and the DynamoDB
//! Local bench (`shared/aws/benches/dynamodb.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::seed;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use booking_core::adapters::InProcessQueue;
use booking_core::api::{self, Area};
use booking_core::app::{self, App};
use booking_core::domain::{
    Appointment, BookingSource, Business, Interval, PhoneNumber, ServiceId,
};
use booking_core::ports::{ManualClock, QueueSettings, Store};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const APPOINTMENTS_FOR_LOOKUP: usize = 10_000;
const CALLERS: usize = 2_000;

/// The router the servers run, over one store, called as the bench business.
pub struct Client {
    router: axum::Router,
    key: String,
}

impl Client {
    /// A router over `store` with a clock stopped at `now`, and a new business whose key the client calls with.
    pub async fn for_new_business(store: Arc<dyn Store>, now: Timestamp) -> (Self, Business) {
        let app = App::new(
            store.clone(),
            Arc::new(InProcessQueue::new(QueueSettings::default())),
            Arc::new(ManualClock::new(now)),
        );
        let created = app::create_business(
            store.as_ref(),
            app.clock.as_ref(),
            "Bench".to_owned(),
            "America/New_York".to_owned(),
        )
        .await
        .unwrap();
        let client = Self {
            router: api::router(app, &Area::ALL),
            key: created.api_key.expose().to_owned(),
        };
        (client, created.business)
    }

    pub async fn post(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", uri, Some(body)).await
    }

    /// Creates the bench's 30-minute service, open `weekly_hours`; returns its id.
    pub async fn create_service(&self, weekly_hours: Value) -> String {
        let (status, service) = self
            .post(
                "/v1/services",
                json!({
                    "name": "Bench", "duration_minutes": 30, "buffer_after_minutes": 5,
                    "booking_horizon_days": 90, "weekly_hours": weekly_hours
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{service}");
        service["id"].as_str().unwrap().to_owned()
    }

    pub async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.key))
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |body| Body::from(body.to_string())))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// One line per measured operation; `requests` is the store's request count when the store counts them.
pub fn report(name: &str, mut latencies: Vec<Duration>, requests: Option<u64>) {
    latencies.sort();
    let per_call = requests.map_or_else(
        || "      -".to_owned(),
        |requests| format!("{:>7.2}", requests as f64 / latencies.len() as f64),
    );
    println!(
        "{name:<34} calls {:>5}  requests/call {per_call}  p50 {:>6.2} ms  p90 {:>6.2} ms  p99 {:>6.2} ms",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 0.99),
    );
}

fn phone_of(caller: usize) -> PhoneNumber {
    PhoneNumber::try_from(format!("+1415555{:04}", caller % 10_000)).unwrap()
}

/// `requests` answers the store's request count so far (`None` when the store has no requests to count).
pub async fn run(store: Arc<dyn Store>, requests: impl Fn() -> Option<u64>) {
    let now: Timestamp = "2026-11-30T13:00:00Z".parse().unwrap();
    let (client, business) = Client::for_new_business(store.clone(), now).await;
    let day = json!([{ "start": "08:00", "end": "20:00" }]);
    let service_id = client
        .create_service(
            json!({ "monday": day, "tuesday": day, "wednesday": day, "thursday": day,
                                "friday": day, "saturday": day, "sunday": day }),
        )
        .await;

    // Hold + book from the hold, on successive free times of the next days, as a phone agent would.
    let mut holds = Vec::new();
    let mut conversions = Vec::new();
    let mut together = Vec::new();
    let (mut hold_requests, mut convert_requests) = (0, 0);
    for n in 0..200_i64 {
        // From 08:00 local on the next days, every 45 minutes (the slot grid is 15 minutes): fifteen a day.
        let start = now
            + SignedDuration::from_hours(24 + (n / 15) * 24)
            + SignedDuration::from_mins((n % 15) * 45);
        let before = requests();
        let began = Instant::now();
        let (status, hold) = client
            .post(
                "/v1/holds",
                json!({ "service_id": service_id, "start": start.to_string() }),
            )
            .await;
        let held = began.elapsed();
        assert_eq!(status, StatusCode::CREATED, "{hold}");
        let between = requests();
        let converting = Instant::now();
        let (status, booked) = client
            .post(
                "/v1/appointments",
                json!({
                    "hold_id": hold["id"],
                    "customer": { "name": "Caller", "phone": "+12125550100" },
                    "source": "ai"
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{booked}");
        conversions.push(converting.elapsed());
        holds.push(held);
        together.push(began.elapsed());
        if let (Some(before), Some(between), Some(after)) = (before, between, requests()) {
            hold_requests += between - before;
            convert_requests += after - between;
        }
    }
    let counted = requests().is_some();
    report(
        "hold (POST /v1/holds)",
        holds,
        counted.then_some(hold_requests),
    );
    report(
        "book from hold (POST hold_id)",
        conversions,
        counted.then_some(convert_requests),
    );
    report(
        "hold + book together",
        together,
        counted.then_some(hold_requests + convert_requests),
    );

    // 10,000 appointments of 2,000 callers (5 each), 15 minutes each, back to back from 60 days out.
    let business_id = business.id;
    let service_id: ServiceId = service_id.parse().unwrap();
    let seeded = Instant::now();
    let base = now + SignedDuration::from_hours(60 * 24);
    let tasks: Vec<_> = (0..16)
        .map(|worker| {
            let store = store.clone();
            tokio::spawn(async move {
                for index in (worker..APPOINTMENTS_FOR_LOOKUP).step_by(16) {
                    let start = base + SignedDuration::from_mins(15 * index as i64);
                    let time = Interval::new(start, start + SignedDuration::from_mins(15)).unwrap();
                    let appointment = Appointment {
                        source: BookingSource::Ai,
                        ..seed::booked_appointment(
                            business_id,
                            service_id,
                            time,
                            jiff::tz::TimeZone::get("America/New_York").unwrap(),
                            "Caller",
                            Some(phone_of(index % CALLERS)),
                            now,
                        )
                    };
                    seed::store_appointment(store.as_ref(), &appointment)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    println!(
        "(seeded {APPOINTMENTS_FOR_LOOKUP} appointments of {CALLERS} callers in {:.1} s)",
        seeded.elapsed().as_secs_f64()
    );
    let mut lookups = Vec::new();
    let before = requests();
    for caller in 0..300 {
        let phone = phone_of(caller * 7 % CALLERS);
        let uri = format!(
            "/v1/appointments?phone={}",
            phone.as_ref().replace('+', "%2B")
        );
        let began = Instant::now();
        let (status, page) = client.call("GET", &uri, None).await;
        lookups.push(began.elapsed());
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["items"].as_array().unwrap().len(), 5, "{page}");
    }
    report(
        "phone lookup, 10,000 appointments",
        lookups,
        before.zip(requests()).map(|(before, after)| after - before),
    );
}
