//! What availability and booking cost on DynamoDB: requests per call (counted by an SDK interceptor) and latency
//! percentiles, through the same axum router the Lambda functions run, against DynamoDB Local on this machine.
//!
//! First asks a 1-day availability for anyone of a business with 1 member and of one with 10 (the same requests).
//! Then seeds one business with a service open six days a week, 300 appointments and 500 busy events over 60 days;
//! then runs the holds-and-callers scenario (hold + book from the hold, a phone lookup among 10,000 appointments) that
//! the embedded-store bench runs too; and last, what a one-day answer costs as a second business's future fills up
//! with busy events and appointments (the embedded store's `window_cost` bench asks the same).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../../benches/support/holds_and_callers.rs"]
mod holds_and_callers;
#[path = "../../benches/support/seed.rs"]
mod seed;
#[path = "../../benches/support/window_cost.rs"]
mod window_cost;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use axum::http::StatusCode;
use booking_aws::dynamo_store::{DynamoStore, create_table};
use booking_aws::emulators::dynamodb_local::DynamoDbLocal;
use booking_aws::emulators::sdk_config;
use booking_core as booking;
use booking_core::domain::{BusinessId, Interval, StaffId, StaffMember, StaffName, StaffSettings};
use booking_core::ports::{BusyEvent, Store};
use holds_and_callers::{Client, report};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

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
    let mut requests_for_anyone = Vec::new();
    for members in [1_usize, 10] {
        let name = if members == 1 {
            "find_available_times 1 day, anyone, 1 member".to_owned()
        } else {
            format!("find_available_times 1 day, anyone across {members} members")
        };
        requests_for_anyone.push(anyone_for_one_day(&store, now, members, &name, &requests).await);
    }
    // One ledger Query and one busy Query read every member's: the members add no request.
    assert_eq!(
        requests_for_anyone[0], requests_for_anyone[1],
        "requests for anyone of 1 member, then of 10"
    );

    let (bench, business) = Client::for_new_business(store.clone(), now).await;
    let day = json!([{ "start": "08:00", "end": "12:00" }, { "start": "13:00", "end": "19:00" }]);
    let service_id = bench
        .create_service(
            json!({ "monday": day, "tuesday": day, "wednesday": day, "thursday": day,
                                "friday": day, "saturday": day }),
        )
        .await;

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
        let (status, _) = bench.post("/v1/appointments", body).await;
        booking_latencies.push(began.elapsed());
        assert_eq!(status, StatusCode::CREATED);
    }
    report(
        "booking (POST)",
        booking_latencies,
        Some(requests.load(Ordering::Relaxed)),
    );

    let business_id: BusinessId = business.id;
    for index in 0..500_i64 {
        let start = now + SignedDuration::from_mins(index * 60 * 24 * 60 / 500 + 7);
        store
            .put_busy_event(&BusyEvent {
                business_id,
                staff_id: booking_core::domain::StaffId::first_of(business_id),
                calendar_key: "primary".to_owned(),
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
        Some(requests.load(Ordering::Relaxed)),
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
        report(name, latencies, Some(requests.load(Ordering::Relaxed)));
    }

    for days in [1_i64, 7, 60] {
        let uri = format!(
            "/v1/availability?service_id={service_id}&from={}&to={}",
            now + SignedDuration::from_hours(24),
            now + SignedDuration::from_hours(24 * (1 + days)),
        );
        time_availability(
            &bench,
            &uri,
            &format!("availability {days:>2}-day window"),
            &requests,
        )
        .await;
    }
    let counter = requests.clone();
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
        report(&name, latencies, Some(requests.load(Ordering::Relaxed)));
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

/// A 1-day availability for anyone (the agent's `find_available_times` without a member) of a new business with
/// `members` members, each booked four times that day: every member's ledgers are read by the same one Query, so the
/// requests per call do not grow with the members. Answers the requests of the timed calls.
async fn anyone_for_one_day(
    store: &Arc<dyn Store>,
    now: Timestamp,
    members: usize,
    name: &str,
    requests: &AtomicU64,
) -> u64 {
    let (bench, business) = Client::for_new_business(store.clone(), now).await;
    let day = json!([{ "start": "08:00", "end": "19:00" }]);
    let service_id = bench
        .create_service(
            json!({ "monday": day, "tuesday": day, "wednesday": day, "thursday": day,
                                "friday": day, "saturday": day, "sunday": day }),
        )
        .await;
    for index in 1..members {
        let member = StaffMember {
            id: StaffId::generate(),
            business_id: business.id,
            settings: StaffSettings::first_member(
                StaffName::try_from(format!("Member {index}")).unwrap(),
            ),
            active: true,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        store.create_staff_member(&member).await.unwrap();
    }
    let from = now + SignedDuration::from_hours(24);
    let to = from + SignedDuration::from_hours(24);
    let uri = format!("/v1/availability?service_id={service_id}&from={from}&to={to}");
    let (_, free) = bench.call("GET", &uri, None).await;
    let starts: Vec<String> = free["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|slot| slot["start"].as_str().unwrap().to_owned())
        .collect();
    // Four bookings per member, each of "anyone" at a time someone is still free: the use case assigns the member.
    // An hour apart, so that one member's bookings (30 minutes and a 5-minute buffer) never overlap.
    for start in starts.iter().step_by(4).take(4) {
        for _ in 0..members {
            let body = json!({ "service_id": service_id, "start": start, "customer": { "name": "Bench" }, "source": "api" });
            let (status, booked) = bench.post("/v1/appointments", body).await;
            assert_eq!(status, StatusCode::CREATED, "{booked}");
        }
    }
    time_availability(&bench, &uri, name, requests).await
}

/// 300 calls of the availability `uri` after one to warm up, reported as `name` with their requests, which it
/// answers.
async fn time_availability(bench: &Client, uri: &str, name: &str, requests: &AtomicU64) -> u64 {
    bench.call("GET", uri, None).await;
    requests.store(0, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for _ in 0..300 {
        let began = Instant::now();
        let (status, _) = bench.call("GET", uri, None).await;
        latencies.push(began.elapsed());
        assert_eq!(status, StatusCode::OK);
    }
    let sent = requests.load(Ordering::Relaxed);
    report(name, latencies, Some(sent));
    sent
}
