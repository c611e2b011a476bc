//! Sync throughput: appointments booked through the API, then their sync jobs run through the worker (ten at a time,
//! as a Lambda batch or the local server's worker loop) against a provider emulator. Prints jobs per second and the
//! per-job latency percentiles as JSON, per provider.
//!
//! `cargo run --release -p integration-tests --bin sync-throughput -- --appointments 1000`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use booking_core::app::{self, SyncOutcome};
use booking_core::ports::{Job, ProviderKind};
use booking_core::providers::ProviderEndpoints;
use clap::Parser;
use futures::StreamExt;
use integration_tests::emulators::google::{self, GoogleEmulator};
use integration_tests::emulators::microsoft::{self, GraphEmulator};
use integration_tests::spawn_app_with_provider;
use serde_json::json;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 1000)]
    appointments: usize,
    /// Jobs worked on at once.
    #[arg(long, default_value_t = 10)]
    concurrency: usize,
}

struct Target {
    kind: ProviderKind,
    endpoints: ProviderEndpoints,
    client_id: &'static str,
    client_secret: &'static str,
    calendar: String,
}

async fn measure(target: Target, args: &Args) -> serde_json::Value {
    let app = spawn_app_with_provider(
        target.kind,
        target.endpoints,
        target.client_id,
        target.client_secret,
    )
    .await;
    let provider = target.kind.to_string();
    app.connect_calendar(&provider).await;
    app.select_calendar(&provider, &target.calendar).await;
    let service = app
        .create_service(json!({
            "duration_minutes": 10,
            "slot_interval_minutes": 10,
            "booking_horizon_days": 365,
            "weekly_hours": integration_tests::every_day("00:00", "23:50"),
        }))
        .await;
    let first = "2026-12-01T00:00:00-05:00"
        .parse::<jiff::Timestamp>()
        .unwrap();
    for index in 0..args.appointments {
        let start = first
            // A hundred ten-minute slots a day, well inside the day's hours.
            .checked_add(jiff::SignedDuration::from_mins(
                (index / 100) as i64 * 24 * 60 + (index % 100) as i64 * 10,
            ))
            .unwrap()
            .to_zoned_datetime(jiff::tz::TimeZone::get("America/New_York").unwrap())
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string();
        let response = app.book(&service, &start).await;
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
    }

    let started = Instant::now();
    let clock_at_start = app.clock_now();
    let mut latencies = Vec::with_capacity(args.appointments);
    loop {
        // The app's clock follows real time here, as in production, so notification bursts coalesce as they would.
        app.clock.set(
            clock_at_start
                .checked_add(jiff::SignedDuration::try_from(started.elapsed()).unwrap())
                .unwrap(),
        );
        let received = app.queue.receive(10, Duration::ZERO).await.unwrap();
        if received.is_empty() {
            break;
        }
        let timed: Vec<Option<Duration>> = futures::stream::iter(received)
            .map(|received| {
                let app = &app;
                async move {
                    let began = Instant::now();
                    let outcome = app::run_sync_job(&app.app, &received.job, received.attempt)
                        .await
                        .unwrap();
                    match (&received.job, outcome) {
                        (Job::SyncAppointment { .. }, outcome) => {
                            assert_eq!(outcome, SyncOutcome::Done);
                            app.queue.ack(&received.receipt).await.unwrap();
                            Some(began.elapsed())
                        }
                        // Our own event writes notify the calendar's busy-time sync too; it is not what is measured.
                        (Job::SyncCalendar { .. } | Job::SendEmail { .. }, SyncOutcome::Done) => {
                            app.queue.ack(&received.receipt).await.unwrap();
                            None
                        }
                        (
                            Job::SyncCalendar { .. } | Job::SendEmail { .. },
                            SyncOutcome::RetryAfter(delay),
                        ) => {
                            app.queue
                                .retry_later(&received.receipt, delay)
                                .await
                                .unwrap();
                            None
                        }
                    }
                }
            })
            .buffer_unordered(args.concurrency)
            .collect()
            .await;
        latencies.extend(timed.into_iter().flatten());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[index].as_secs_f64() * 1000.0
    };
    json!({
        "provider": provider,
        "jobs": latencies.len(),
        "seconds": elapsed.as_secs_f64(),
        "jobs_per_second": latencies.len() as f64 / elapsed.as_secs_f64(),
        "job_p50_ms": percentile(0.50),
        "job_p99_ms": percentile(0.99),
    })
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let google = GoogleEmulator::start().await;
    let graph = GraphEmulator::start().await;
    let targets = [
        Target {
            kind: ProviderKind::GOOGLE,
            endpoints: integration_tests::google_endpoints(&google),
            client_id: google::CLIENT_ID,
            client_secret: google::CLIENT_SECRET,
            calendar: google::TEAM_CALENDAR.to_owned(),
        },
        Target {
            kind: ProviderKind::MICROSOFT,
            endpoints: integration_tests::graph_endpoints(&graph),
            client_id: microsoft::CLIENT_ID,
            client_secret: microsoft::CLIENT_SECRET,
            calendar: graph.calendar_id("Team"),
        },
    ];
    for target in targets {
        println!("{}", measure(target, &args).await);
    }
}
