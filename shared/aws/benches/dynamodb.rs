//! What availability and booking cost on DynamoDB: requests per call (counted by an SDK interceptor) and latency
//! percentiles, through the same axum router the Lambda functions run, against DynamoDB Local on this machine.
//!
//! Seeds one business with a service open six days a week, 300 appointments and 500 busy events over 60 days; then
//! runs the holds-and-callers scenario (hold + book from the hold, a phone lookup among 10,000 appointments) that
//! the embedded-store bench runs too; and last, what a one-day answer costs as a second business's future fills up
//! with busy events and appointments (the embedded store's `window_cost` bench asks the same).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../../benches/support/holds_and_callers.rs"]
mod holds_and_callers;
#[path = "../../benches/support/window_cost.rs"]
mod window_cost;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use booking_aws::dynamo_store::{DynamoStore, create_table};
use booking_aws::emulators::dynamodb_local::DynamoDbLocal;
use booking_aws::emulators::sdk_config;
use booking_core::adapters::InProcessQueue;
use booking_core::api::{self, Area};
use booking_core::app::{self, App};
use booking_core::domain::{BusinessId, Interval};
use booking_core::ports::{BusyEvent, ManualClock, QueueSettings, Store};
use http_body_util::BodyExt;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tower::ServiceExt;

#[derive(Debug, Clone)]
struct CountRequests(Arc<AtomicU64>);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

struct Bench {
    router: axum::Router,
    key: String,
    requests: Arc<AtomicU64>,
}

impl Bench {
    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.key))
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |body| Body::from(body.to_string())))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
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

fn report(name: &str, mut latencies: Vec<Duration>, requests: u64) {
    latencies.sort();
    println!(
        "{name:<28} calls {:>4}  DynamoDB requests/call {:>5.2}  p50 {:>6.2} ms  p90 {:>6.2} ms  p99 {:>6.2} ms",
        latencies.len(),
        requests as f64 / latencies.len() as f64,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.9),
        percentile(&latencies, 0.99),
    );
}

#[tokio::main]
async fn main() {
    let emulator = DynamoDbLocal::shared()
        .await
        .unwrap()
        .expect("DynamoDB Local is not installed: run scripts/install-test-tools.sh");
    let requests = Arc::new(AtomicU64::new(0));
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk_config(emulator.endpoint()).await)
        .interceptor(CountRequests(requests.clone()))
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    create_table(&client, "bench").await.unwrap();
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(client, "bench"));
    let now: Timestamp = "2026-11-30T13:00:00Z".parse().unwrap();
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
    let bench = Bench {
        router: api::router(app, &Area::ALL),
        key: created.api_key.expose().to_owned(),
        requests: requests.clone(),
    };
    let day = json!([{ "start": "08:00", "end": "12:00" }, { "start": "13:00", "end": "19:00" }]);
    let (status, service) = bench
        .call(
            "POST",
            "/v1/services",
            Some(json!({
                "name": "Bench", "duration_minutes": 30, "buffer_after_minutes": 5, "booking_horizon_days": 90,
                "weekly_hours": { "monday": day, "tuesday": day, "wednesday": day, "thursday": day,
                                  "friday": day, "saturday": day }
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{service}");
    let service_id = service["id"].as_str().unwrap().to_owned();

    // Seed: 300 appointments on free slots over 60 days, and 500 one-hour busy events.
    let (_, slots) = bench
        .call(
            "GET",
            &format!(
                "/v1/availability?service_id={service_id}&from={now}&to={}",
                now + SignedDuration::from_hours(60 * 24)
            ),
            None,
        )
        .await;
    let slots: Vec<String> = slots["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|slot| slot["start"].as_str().unwrap().to_owned())
        .collect();
    let step = slots.len() / 600;
    let mut booking_latencies = Vec::new();
    requests.store(0, Ordering::Relaxed);
    for start in slots.iter().step_by(step.max(1) * 2).take(300) {
        let body = json!({ "service_id": service_id, "start": start, "customer": { "name": "Bench" }, "source": "api" });
        let began = Instant::now();
        let (status, _) = bench.call("POST", "/v1/appointments", Some(body)).await;
        booking_latencies.push(began.elapsed());
        assert_eq!(status, StatusCode::CREATED);
    }
    report(
        "booking (POST)",
        booking_latencies,
        requests.load(Ordering::Relaxed),
    );

    let business_id: BusinessId = created.business.id;
    for index in 0..500_i64 {
        let start = now + SignedDuration::from_mins(index * 60 * 24 * 60 / 500 + 7);
        store
            .put_busy_event(&BusyEvent {
                business_id,
                calendar_id: "primary".to_owned(),
                event_id: format!("event-{index}"),
                intervals: vec![
                    Interval::new(start, start + SignedDuration::from_hours(1)).unwrap(),
                ],
            })
            .await
            .unwrap();
    }

    // The floor: one consistent GetItem, what DynamoDB Local itself costs per round trip on this machine.
    requests.store(0, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for _ in 0..300 {
        let began = Instant::now();
        store.get_business(business_id).await.unwrap();
        latencies.push(began.elapsed());
    }
    report(
        "one GetItem (floor)",
        latencies,
        requests.load(Ordering::Relaxed),
    );
    let sixty_days = Interval::new(now, now + SignedDuration::from_hours(24 * 60)).unwrap();
    for (name, busy) in [
        ("ledger query, 60 days", false),
        ("busy query, 60 days", true),
    ] {
        requests.store(0, Ordering::Relaxed);
        let mut latencies = Vec::new();
        for _ in 0..100 {
            let began = Instant::now();
            if busy {
                store
                    .busy_intervals_overlapping(business_id, sixty_days)
                    .await
                    .unwrap();
            } else {
                store
                    .live_occupancies(business_id, sixty_days, now)
                    .await
                    .unwrap();
            }
            latencies.push(began.elapsed());
        }
        report(name, latencies, requests.load(Ordering::Relaxed));
    }

    for days in [1_i64, 7, 60] {
        let uri = format!(
            "/v1/availability?service_id={service_id}&from={}&to={}",
            now + SignedDuration::from_hours(24),
            now + SignedDuration::from_hours(24 * (1 + days)),
        );
        bench.call("GET", &uri, None).await;
        requests.store(0, Ordering::Relaxed);
        let mut latencies = Vec::new();
        for _ in 0..300 {
            let began = Instant::now();
            let (status, _) = bench.call("GET", &uri, None).await;
            latencies.push(began.elapsed());
            assert_eq!(status, StatusCode::OK);
        }
        report(
            &format!("availability {days:>2}-day window"),
            latencies,
            requests.load(Ordering::Relaxed),
        );
    }
    let counter = bench.requests.clone();
    holds_and_callers::run(store.clone(), move || Some(counter.load(Ordering::Relaxed))).await;

    let mut fixture = window_cost::Fixture::new(store).await;
    let ask_tomorrow = async |name: String, fixture: &window_cost::Fixture| {
        requests.store(0, Ordering::Relaxed);
        let mut latencies = Vec::new();
        for _ in 0..200 {
            let began = Instant::now();
            fixture.tomorrow().await;
            latencies.push(began.elapsed());
        }
        report(&name, latencies, requests.load(Ordering::Relaxed));
    };
    for busy in window_cost::BUSY_EVENTS {
        fixture.grow_busy_events(busy).await;
        ask_tomorrow(format!("1-day, {busy} future busy events"), &fixture).await;
    }
    for appointments in window_cost::APPOINTMENTS {
        fixture.grow_appointments(appointments).await;
        ask_tomorrow(
            format!("1-day, and {appointments} future appointments"),
            &fixture,
        )
        .await;
    }
}
