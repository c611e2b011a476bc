//! Inbound freshness: how long after a change in the business's calendar `POST /v1/availability/check` reflects it,
//! end to end through the provider emulator's push notification, our webhook, the queue, the worker's incremental
//! sync and the busy-time cache, on the local server's adapters (embedded store, in-process queue, a worker loop
//! waiting on the queue as the local server's does). Each round adds an event over a free slot and waits until the
//! slot is busy, then deletes it and waits until it is free again. Prints percentiles as JSON, per provider.
//!
//! With `--members 5`, a third run on Google: five members who each connect (one shared account, as a salon's often
//! is) and check two calendars, so ten calendars are followed, each by its own channel; each change lands in the
//! team calendar all five check, and the time measured is until the availability of one member (a different one
//! each round) shows it.
//!
//! `cargo run --release -p integration-tests --bin inbound-freshness -- --changes 200 --members 5`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use booking_core::app::{self, SyncOutcome};
use booking_core::ports::ProviderKind;
use booking_core::providers::ProviderEndpoints;
use clap::Parser;
use futures::StreamExt;
use integration_tests::emulators::google::{self, GoogleEmulator};
use integration_tests::emulators::microsoft::{self, GraphEmulator};
use integration_tests::{TestApp, spawn_app_with_provider};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
    /// Changes per provider (each one add and one delete).
    #[arg(long, default_value_t = 200)]
    changes: usize,
    /// Members for the run with several members' calendars (0: none).
    #[arg(long, default_value_t = 5)]
    members: usize,
}

const ZONE: &str = "America/New_York";

/// A calendar the benchmark can change, whichever provider.
trait Calendar: Send + Sync {
    fn add(&self, start: Timestamp, end: Timestamp) -> String;
    fn delete(&self, id: &str);
}

struct Google {
    emulator: GoogleEmulator,
}

impl Calendar for Google {
    fn add(&self, start: Timestamp, end: Timestamp) -> String {
        let time =
            |instant: Timestamp| json!({ "dateTime": instant.to_string(), "timeZone": ZONE });
        self.emulator.add_event(
            google::TEAM_CALENDAR,
            json!({ "summary": "Busy", "start": time(start), "end": time(end) }),
        )
    }

    fn delete(&self, id: &str) {
        self.emulator.delete_event(google::TEAM_CALENDAR, id);
    }
}

struct Graph {
    emulator: GraphEmulator,
    calendar: String,
}

impl Calendar for Graph {
    fn add(&self, start: Timestamp, end: Timestamp) -> String {
        let time = |instant: Timestamp| {
            let wall = instant.to_zoned_datetime(TimeZone::UTC).datetime();
            json!({ "dateTime": wall.strftime("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": "UTC" })
        };
        self.emulator.add_event(
            &self.calendar,
            json!({ "subject": "Busy", "start": time(start), "end": time(end) }),
        )
    }

    fn delete(&self, id: &str) {
        self.emulator.delete_event(&self.calendar, id);
    }
}

/// The local server's worker: waits on the queue and runs every job as it arrives.
async fn work_forever(app: booking_core::app::App) {
    loop {
        let received = app.queue.receive(10, Duration::from_secs(1)).await.unwrap();
        futures::stream::iter(received)
            .for_each_concurrent(10, |received| {
                let app = &app;
                async move {
                    match app::run_sync_job(app, &received.job, received.attempt).await {
                        Ok(SyncOutcome::Done) => app.queue.ack(&received.receipt).await.unwrap(),
                        Ok(SyncOutcome::RetryAfter(delay)) => app
                            .queue
                            .retry_later(&received.receipt, delay)
                            .await
                            .unwrap(),
                        Err(error) => panic!("sync job failed: {error}"),
                    }
                }
            })
            .await;
    }
}

async fn available(app: &TestApp, service: &str, start: Timestamp, member: Option<&str>) -> bool {
    let check: Value = app
        .post(
            "/v1/availability/check",
            &json!({ "service_id": service, "start": start.to_string(), "staff_id": member }),
        )
        .await
        .json()
        .await
        .unwrap();
    check["available"].as_bool().unwrap()
}

/// How long until the slot's availability becomes `wanted`.
async fn until(
    app: &TestApp,
    service: &str,
    (start, member): (Timestamp, Option<&str>),
    wanted: bool,
    since: Instant,
) -> Duration {
    loop {
        if available(app, service, start, member).await == wanted {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(30),
            "no change after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A server reaching the provider, with a service bookable every ten minutes of every day.
async fn server(
    kind: ProviderKind,
    endpoints: ProviderEndpoints,
    credentials: (&'static str, &'static str),
    set_now: &impl Fn(Timestamp),
) -> (TestApp, String) {
    let app = spawn_app_with_provider(kind, endpoints, credentials.0, credentials.1).await;
    set_now(app.clock_now());
    let service = app
        .create_service(json!({
            "duration_minutes": 10,
            "slot_interval_minutes": 10,
            "booking_horizon_days": 60,
            "weekly_hours": integration_tests::every_day("00:00", "23:50"),
        }))
        .await;
    (app, service)
}

/// The first member connects and writes to `calendar_id`; changes are measured on the business's availability.
async fn measure(
    kind: ProviderKind,
    endpoints: ProviderEndpoints,
    credentials: (&'static str, &'static str),
    calendar_id: String,
    calendar: &dyn Calendar,
    set_now: impl Fn(Timestamp),
    args: &Args,
) -> Value {
    let (app, service) = server(kind, endpoints, credentials, &set_now).await;
    let provider = kind.to_string();
    app.connect_calendar(&provider).await;
    app.select_calendar(&provider, &calendar_id).await;
    let mut result = rounds(&app, &service, calendar, &[None], args.changes).await;
    result["provider"] = json!(provider);
    result
}

/// `members` members each connect the Google account and check two calendars, the team calendar (written) and the
/// account's own; changes land in the team calendar and are measured on one member's availability at a time.
async fn measure_members(google: &Google, members: usize, args: &Args) -> Value {
    let (app, service) = server(
        ProviderKind::GOOGLE,
        integration_tests::google_endpoints(&google.emulator),
        (google::CLIENT_ID, google::CLIENT_SECRET),
        &|now| google.emulator.set_now(now),
    )
    .await;
    let mut ids = vec![
        app.get_json("/v1/staff").await["items"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    ];
    for index in 1..members {
        let added = app
            .post_json("/v1/staff", &json!({ "name": format!("Member {index}") }))
            .await;
        ids.push(added["id"].as_str().unwrap().to_owned());
    }
    for member in &ids {
        let started: Value = app
            .post(
                &format!("/v1/staff/{member}/integrations/google/connect"),
                &json!({}),
            )
            .await
            .json()
            .await
            .unwrap();
        app.follow_consent(started["authorization_url"].as_str().unwrap())
            .await;
        let listed = app
            .get_json(&format!("/v1/staff/{member}/integrations"))
            .await;
        let connection = listed["connections"][0]["id"].as_str().unwrap().to_owned();
        let chosen = app
            .put(
                &format!("/v1/staff/{member}/integrations/{connection}/calendars"),
                &json!({ "written": google::TEAM_CALENDAR, "checked": [google::ACCOUNT] }),
            )
            .await;
        assert_eq!(chosen.status(), 200, "{}", chosen.text().await.unwrap());
    }
    let members: Vec<Option<&str>> = ids.iter().map(|id| Some(id.as_str())).collect();
    let mut result = rounds(&app, &service, google, &members, args.changes).await;
    result["provider"] = json!("google");
    result["members"] = json!(ids.len());
    result["checked_calendars"] = json!(ids.len() * 2);
    result["channels"] = json!(google.emulator.channels().len());
    result
}

/// Adds an event over a free slot and waits until it is busy for the round's member, then deletes it and waits
/// until it is free again; `members` take turns (`None`: the business).
async fn rounds(
    app: &TestApp,
    service: &str,
    calendar: &dyn Calendar,
    members: &[Option<&str>],
    changes: usize,
) -> Value {
    let worker = tokio::spawn(work_forever(app.app.clone()));
    let first = "2026-12-01T09:00:00-05:00".parse::<Timestamp>().unwrap();
    // The first full syncs and the push channels are in place once every member sees the slot free.
    for member in members {
        until(app, service, (first, *member), true, Instant::now()).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut busy = Vec::with_capacity(changes);
    let mut freed = Vec::with_capacity(changes);
    for index in 0..changes {
        let member = members[index % members.len()];
        let start = first
            .checked_add(jiff::SignedDuration::from_mins(
                (index / 40) as i64 * 24 * 60 + (index % 40) as i64 * 10,
            ))
            .unwrap();
        let end = start
            .checked_add(jiff::SignedDuration::from_mins(10))
            .unwrap();
        let began = Instant::now();
        let id = calendar.add(start, end);
        busy.push(until(app, service, (start, member), false, began).await);
        let began = Instant::now();
        calendar.delete(&id);
        freed.push(until(app, service, (start, member), true, began).await);
    }
    worker.abort();
    let summary = |mut latencies: Vec<Duration>| {
        latencies.sort();
        let percentile = |p: f64| {
            let index =
                ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[index].as_secs_f64() * 1000.0
        };
        json!({ "p50_ms": percentile(0.50), "p99_ms": percentile(0.99), "max_ms": percentile(1.0) })
    };
    json!({
        "changes": changes,
        "added_to_busy": summary(busy),
        "deleted_to_free": summary(freed),
    })
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let google = Google {
        emulator: GoogleEmulator::start().await,
    };
    let endpoints = integration_tests::google_endpoints(&google.emulator);
    let result = measure(
        ProviderKind::GOOGLE,
        endpoints,
        (google::CLIENT_ID, google::CLIENT_SECRET),
        google::TEAM_CALENDAR.to_owned(),
        &google,
        |now| google.emulator.set_now(now),
        &args,
    )
    .await;
    println!("{result}");
    if args.members > 0 {
        let google = Google {
            emulator: GoogleEmulator::start().await,
        };
        println!("{}", measure_members(&google, args.members, &args).await);
    }

    let emulator = GraphEmulator::start().await;
    let graph = Graph {
        calendar: emulator.calendar_id("Team"),
        emulator,
    };
    let endpoints = integration_tests::graph_endpoints(&graph.emulator);
    let result = measure(
        ProviderKind::MICROSOFT,
        endpoints,
        (microsoft::CLIENT_ID, microsoft::CLIENT_SECRET),
        graph.calendar.clone(),
        &graph,
        |now| graph.emulator.set_now(now),
        &args,
    )
    .await;
    println!("{result}");
}
