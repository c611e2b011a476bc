//! Each agent tool's latency through `/mcp`, as an agent platform sees it: rmcp's Streamable HTTP client over
//! loopback to a server on the embedded store, or on DynamoDB Local with `--store dynamodb`. Every call is a fresh
//! stateless HTTP request (no session), so this is also what one Lambda invocation costs after its cold start. The
//! last figure is a one-day `find_available_times` for anyone once the business has ten members.
//!
//! cargo run --release -p integration-tests --bin agent-latency -- [--store embedded|dynamodb] [--calls 200]

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use integration_tests::{TestApp, mcp_client, spawn_app, spawn_app_on_aws};
use rmcp::model::CallToolRequestParams;
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Store {
    Embedded,
    Dynamodb,
}

#[derive(Parser)]
struct Options {
    #[arg(long, value_enum, default_value = "embedded")]
    store: Store,
    /// Calls per tool.
    #[arg(long, default_value_t = 200)]
    calls: usize,
}

type Client = rmcp::service::RunningService<rmcp::RoleClient, rmcp::model::ClientConfig>;

async fn timed(client: &Client, tool: &'static str, arguments: Value) -> (Duration, Value) {
    let Value::Object(arguments) = arguments else {
        panic!("arguments must be an object")
    };
    let started = Instant::now();
    let result = client
        .call_tool(CallToolRequestParams::new(tool).with_arguments(arguments))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_ne!(result.is_error, Some(true), "{tool}: {:?}", result.content);
    (elapsed, result.structured_content.unwrap_or_default())
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted
        .get(index)
        .map_or(f64::NAN, |duration| duration.as_secs_f64() * 1000.0)
}

fn report(store: Store, tool: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    println!(
        "{}",
        json!({
            "store": format!("{store:?}").to_lowercase(),
            "tool": tool,
            "calls": samples.len(),
            "p50_ms": percentile(&samples, 0.50),
            "p90_ms": percentile(&samples, 0.90),
            "p99_ms": percentile(&samples, 0.99),
            "max_ms": percentile(&samples, 1.0),
        })
    );
}

/// Bookable starts on the hour and half hour (30-minute service, so they never overlap), from the business's
/// weekdays over the horizon.
async fn free_starts(app: &TestApp, service_id: &str, wanted: usize) -> Vec<String> {
    let mut starts = Vec::new();
    for week in 0..9 {
        let from = jiff::civil::date(2026, 12, 1)
            .checked_add(jiff::Span::new().weeks(week))
            .unwrap();
        let to = from.checked_add(jiff::Span::new().days(6)).unwrap();
        let body: Value = app
            .get(&format!(
                "/v1/availability?service_id={service_id}&from={from}&to={to}"
            ))
            .await
            .json()
            .await
            .unwrap();
        for slot in body["slots"].as_array().unwrap() {
            let start = slot["start"].as_str().unwrap();
            if start[14..16] == *"00" || start[14..16] == *"30" {
                starts.push(start.to_owned());
            }
        }
    }
    assert!(starts.len() >= wanted, "only {} free starts", starts.len());
    starts.truncate(wanted);
    starts
}

#[tokio::main]
async fn main() {
    let options = Options::parse();
    let app = match options.store {
        Store::Embedded => spawn_app().await,
        Store::Dynamodb => spawn_app_on_aws()
            .await
            .expect("DynamoDB Local and moto are needed (scripts/install-test-tools.sh)"),
    };
    let service_id = app.create_service(json!({})).await;
    let calls = options.calls;
    let starts = free_starts(&app, &service_id, calls * 2).await;
    let (booking_starts, moved_starts) = starts.split_at(calls);
    let client = mcp_client(&app.url(""), &app.api_key).await;

    // Warm the connection pool, the tenant cache and the store's caches.
    for _ in 0..20 {
        timed(&client, "get_business_context", json!({})).await;
    }

    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        samples.push(timed(&client, "get_business_context", json!({})).await.0);
    }
    report(options.store, "get_business_context", samples);

    let days = [
        "2026-12-01",
        "2026-12-02",
        "2026-12-03",
        "2026-12-04",
        "2026-12-07",
    ];
    let mut samples = Vec::with_capacity(calls);
    for index in 0..calls {
        let arguments = json!({ "service_id": service_id, "date": days[index % days.len()] });
        samples.push(timed(&client, "find_available_times", arguments).await.0);
    }
    report(options.store, "find_available_times (one day)", samples);

    let mut samples = Vec::with_capacity(calls);
    for start in booking_starts {
        let arguments = json!({ "service_id": service_id, "start": start });
        samples.push(timed(&client, "check_time", arguments).await.0);
    }
    report(options.store, "check_time", samples);

    let mut samples = Vec::with_capacity(calls);
    let mut appointments = Vec::with_capacity(calls);
    for (index, start) in booking_starts.iter().enumerate() {
        let arguments = json!({
            "service_id": service_id, "start": start, "customer_name": format!("Caller {index}"),
            "customer_phone": format!("+1415555{:04}", index % 10_000),
            "idempotency_key": format!("latency-{index}"),
        });
        let (elapsed, answer) = timed(&client, "book_appointment", arguments).await;
        assert_eq!(answer["booked"], true, "{answer}");
        appointments.push(answer["appointment"]["appointment_id"].clone());
        samples.push(elapsed);
    }
    report(options.store, "book_appointment", samples);

    let mut samples = Vec::with_capacity(calls);
    for (id, start) in appointments.iter().zip(moved_starts) {
        let arguments = json!({ "appointment_id": id, "start": start });
        let (elapsed, answer) = timed(&client, "reschedule_appointment", arguments).await;
        assert_eq!(answer["rescheduled"], true, "{answer}");
        samples.push(elapsed);
    }
    report(options.store, "reschedule_appointment", samples);

    let mut samples = Vec::with_capacity(calls);
    for id in &appointments {
        let (elapsed, answer) = timed(
            &client,
            "cancel_appointment",
            json!({ "appointment_id": id }),
        )
        .await;
        assert_eq!(answer["newly_cancelled"], true, "{answer}");
        samples.push(elapsed);
    }
    report(options.store, "cancel_appointment", samples);

    // The cancelled times are free again: each is held, then booked from its hold, as a caller who hesitates.
    let (mut holds, mut held_bookings, mut pairs) = (Vec::new(), Vec::new(), Vec::new());
    for (index, start) in booking_starts.iter().enumerate() {
        let arguments = json!({ "service_id": service_id, "start": start });
        let (held_in, held) = timed(&client, "hold_time", arguments).await;
        assert_eq!(held["held"], true, "{held}");
        let arguments = json!({
            "hold_id": held["hold_id"], "customer_name": format!("Caller {index}"),
            "customer_phone": format!("+1415556{:04}", index % 10_000),
        });
        let (booked_in, booked) = timed(&client, "book_appointment", arguments).await;
        assert_eq!(booked["booked"], true, "{booked}");
        holds.push(held_in);
        held_bookings.push(booked_in);
        pairs.push(held_in + booked_in);
    }
    report(options.store, "hold_time", holds);
    report(
        options.store,
        "book_appointment (from a hold)",
        held_bookings,
    );
    report(options.store, "hold_time + book_appointment", pairs);

    let mut samples = Vec::with_capacity(calls);
    for index in 0..calls {
        let arguments = json!({ "phone": format!("+1415556{:04}", index % 10_000) });
        let (elapsed, found) = timed(&client, "find_caller_appointments", arguments).await;
        assert_eq!(
            found["appointments"].as_array().map(Vec::len),
            Some(1),
            "{found}"
        );
        samples.push(elapsed);
    }
    report(options.store, "find_caller_appointments", samples);

    // "Anyone" across ten members: the first and nine more, each free whenever the service is open, so every time
    // is offered with all of them and the answer's cost per member shows.
    for index in 1..10 {
        app.post_json("/v1/staff", &json!({ "name": format!("Member {index}") }))
            .await;
    }
    let mut samples = Vec::with_capacity(calls);
    for index in 0..calls {
        let arguments = json!({ "service_id": service_id, "date": days[index % days.len()] });
        let (elapsed, found) = timed(&client, "find_available_times", arguments).await;
        if index == 0 {
            // The first member may have one of the appointments booked above at that time; nobody else has any.
            let offered = found["days"][0]["times"][0]["staff"]
                .as_array()
                .map(Vec::len);
            assert!(offered.is_some_and(|members| members >= 9), "{found}");
        }
        samples.push(elapsed);
    }
    report(
        options.store,
        "find_available_times (one day, anyone of 10 members)",
        samples,
    );
}
