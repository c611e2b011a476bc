//! Load generator for `GET /v1/availability` against a running server: seeds a service and appointments through
//! the API, then keeps `--concurrency` clients busy for `--seconds` and prints latency percentiles as JSON.
//! With `--seed-only` it seeds, prints the service id and stops, so a leaner client (wrk) can drive the load.
//!
//! `scripts/load-availability.sh` starts a release build of the local server and runs this against it.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};

#[derive(Parser)]
struct Args {
    /// Base URL of the server, e.g. http://127.0.0.1:3000
    #[arg(long)]
    url: String,
    /// API key of the business to use.
    #[arg(long)]
    key: String,
    #[arg(long, default_value_t = 50)]
    concurrency: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Length of each availability window asked for.
    #[arg(long, default_value_t = 7)]
    window_days: i64,
    /// Appointments booked before the run, spread over the horizon.
    #[arg(long, default_value_t = 300)]
    appointments: usize,
    /// Seed, print the service id on stdout and stop.
    #[arg(long)]
    seed_only: bool,
}

async fn seed(client: &reqwest::Client, args: &Args) -> anyhow::Result<String> {
    let day = json!([{ "start": "08:00", "end": "12:00" }, { "start": "13:00", "end": "19:00" }]);
    let service: Value = client
        .post(format!("{}/v1/services", args.url))
        .bearer_auth(&args.key)
        .json(&json!({
            "name": "Load test", "duration_minutes": 30, "buffer_after_minutes": 5, "booking_horizon_days": 90,
            "weekly_hours": { "monday": day, "tuesday": day, "wednesday": day, "thursday": day, "friday": day, "saturday": day }
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let service_id = service["id"].as_str().context("service id")?.to_owned();
    let first_day = jiff::Timestamp::now()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date()
        .tomorrow()?;
    let mut booked = 0;
    let mut attempt = 0_i64;
    while booked < args.appointments && attempt < (args.appointments as i64) * 4 {
        // A different day and hour each time, so bookings spread over the horizon and most succeed.
        let date = first_day.checked_add(jiff::Span::new().days(attempt % 80))?;
        let hour = 13 + (attempt / 80) % 6;
        let start = format!("{date}T{hour:02}:{:02}:00Z", ((attempt / 480) % 2) * 30);
        let response = client
            .post(format!("{}/v1/appointments", args.url))
            .bearer_auth(&args.key)
            .json(&json!({ "service_id": service_id, "start": start, "customer": { "name": "Load" } }))
            .send()
            .await?;
        if response.status().is_success() {
            booked += 1;
        }
        attempt += 1;
    }
    eprintln!("seeded {booked} appointments");
    Ok(service_id)
}

fn percentile(sorted: &[Duration], fraction: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()?;
    let service_id = seed(&client, &args).await?;
    if args.seed_only {
        use std::io::Write;
        writeln!(std::io::stdout().lock(), "{service_id}")?;
        return Ok(());
    }
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let workers = (0..args.concurrency).map(|worker| {
        let client = client.clone();
        let url = format!("{}/v1/availability", args.url);
        let key = args.key.clone();
        let service_id = service_id.clone();
        let window_days = args.window_days;
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0_u64;
            let today = jiff::Timestamp::now();
            let mut offset = worker as i64;
            while Instant::now() < deadline {
                let from =
                    today.checked_add(jiff::SignedDuration::from_hours(24 * (offset % 30)))?;
                let to = from.checked_add(jiff::SignedDuration::from_hours(24 * window_days))?;
                offset += 1;
                let started = Instant::now();
                let response = client
                    .get(&url)
                    .bearer_auth(&key)
                    .query(&[
                        ("service_id", service_id.as_str()),
                        ("from", &from.to_string()),
                        ("to", &to.to_string()),
                    ])
                    .send()
                    .await;
                match response {
                    Ok(response) if response.status().is_success() => {
                        let _ = response.bytes().await;
                        latencies.push(started.elapsed());
                    }
                    _ => errors += 1,
                }
            }
            Ok::<_, jiff::Error>((latencies, errors))
        })
    });
    let mut latencies = Vec::new();
    let mut errors = 0;
    for worker in futures::future::join_all(workers).await {
        let (worker_latencies, worker_errors) = worker??;
        latencies.extend(worker_latencies);
        errors += worker_errors;
    }
    if latencies.is_empty() {
        bail!("no successful request");
    }
    latencies.sort_unstable();
    let summary = json!({
        "requests": latencies.len(),
        "errors": errors,
        "requests_per_second": latencies.len() as f64 / args.seconds as f64,
        "p50_ms": percentile(&latencies, 0.50),
        "p90_ms": percentile(&latencies, 0.90),
        "p99_ms": percentile(&latencies, 0.99),
        "max_ms": percentile(&latencies, 1.0),
        "concurrency": args.concurrency,
        "window_days": args.window_days,
    });
    eprintln!("{summary}");
    Ok(())
}
