//! The local server's resident memory after a heavy day: a release build of the server (the binary given) connects
//! its demo business to the Google emulator's calendar holding `--events` busy events, syncs them all, then serves
//! `GET /v1/availability` to `--concurrency` clients for `--seconds`. Prints one JSON line: the server's resident
//! memory (VmRSS) and its peak (VmHWM) from /proc after the sync and again after the load, in KiB.
//!
//! `scripts/bench-all.sh` runs it (`local_memory`); by hand:
//! `cargo build --release -p local-server && cargo run --release -p integration-tests --bin local-server-memory --
//! --server target/release/local-server`

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use integration_tests::emulators::google::{self, GoogleEmulator};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt;

#[derive(Parser)]
struct Args {
    /// The local server's binary (a release build).
    #[arg(long)]
    server: std::path::PathBuf,
    /// Busy events in the calendar, spread evenly over the next 60 days.
    #[arg(long, default_value_t = 3_000)]
    events: usize,
    #[arg(long, default_value_t = 50)]
    concurrency: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

/// The days the events and the availability windows cover.
const DAYS: i64 = 60;

/// A free port for the server: its webhook address must be known before it starts, so port 0 will not do.
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// `VmRSS` and `VmHWM` of the process, in KiB.
fn memory(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|line| line.starts_with(name))
            .with_context(|| format!("{name} in /proc/{pid}/status"))?;
        line.split_whitespace()
            .nth(1)
            .context("a figure")?
            .parse()
            .context("a number of KiB")
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

struct Server {
    url: String,
    key: String,
    client: reqwest::Client,
}

impl Server {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(&self.key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("{path}: {status} {body}");
        }
        Ok(body)
    }

    /// Connects the Google calendar as a business does: our connect URL, the emulator's consent (granted at once),
    /// its redirect to our callback; then chooses the team calendar.
    async fn connect(&self) -> anyhow::Result<()> {
        let connect = self
            .call(
                reqwest::Method::GET,
                "/v1/integrations/google/connect",
                None,
            )
            .await?;
        let authorization = connect["authorization_url"]
            .as_str()
            .context("authorization_url")?;
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let consent = browser.get(authorization).send().await?;
        let callback = consent
            .headers()
            .get("location")
            .context("the consent's redirect")?
            .to_str()?
            .to_owned();
        browser.get(&callback).send().await?.error_for_status()?;
        self.call(
            reqwest::Method::PUT,
            "/v1/integrations/google/calendar",
            Some(json!({ "calendar_id": google::TEAM_CALENDAR })),
        )
        .await?;
        Ok(())
    }

    async fn available(&self, service: &str, start: Timestamp) -> anyhow::Result<bool> {
        let check = self
            .call(
                reqwest::Method::POST,
                "/v1/availability/check",
                Some(json!({ "service_id": service, "start": start.to_string() })),
            )
            .await?;
        check["available"].as_bool().context("available")
    }
}

/// The `index`th event's start: `per_day` a day from tomorrow at midnight UTC, 20 minutes apart (each lasts 10, so
/// the slots between stay free).
fn event_start(first: Timestamp, index: usize, per_day: usize) -> Timestamp {
    let day = (index / per_day) as i64;
    let slot = (index % per_day) as i64;
    first + SignedDuration::from_hours(24 * day) + SignedDuration::from_mins(20 * slot)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let emulator = GoogleEmulator::start().await;
    let per_day = args.events.div_ceil(DAYS as usize).max(1);
    // Tomorrow at midnight UTC.
    let first = Timestamp::from_second((Timestamp::now().as_second() / 86_400 + 1) * 86_400)?;
    let time = |instant: Timestamp| json!({ "dateTime": instant.to_string(), "timeZone": "UTC" });
    for index in 0..args.events {
        let start = event_start(first, index, per_day);
        emulator.add_event(
            google::TEAM_CALENDAR,
            json!({ "summary": format!("Busy {index}"), "start": time(start),
                    "end": time(start + SignedDuration::from_mins(10)) }),
        );
    }

    let data = tempfile::tempdir()?;
    let listen = format!("127.0.0.1:{}", free_port()?);
    let mut child = tokio::process::Command::new(&args.server)
        .args([
            "--data-dir",
            &data.path().display().to_string(),
            "--listen",
            &listen,
        ])
        .env("GOOGLE_CLIENT_ID", google::CLIENT_ID)
        .env("GOOGLE_CLIENT_SECRET", google::CLIENT_SECRET)
        .env("GOOGLE_API_BASE", emulator.api_base())
        .env("GOOGLE_AUTHORIZE_URL", emulator.authorize_url())
        .env("GOOGLE_TOKEN_URL", emulator.token_url())
        .env("GOOGLE_REVOKE_URL", emulator.revoke_url())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .context("starting the local server")?;
    let pid = child.id().context("the server's pid")?;
    let stdout = child.stdout.take().context("the server's stdout")?;
    let first_line = tokio::io::BufReader::new(stdout)
        .lines()
        .next_line()
        .await?
        .context("the server's JSON line")?;
    let started: Value = serde_json::from_str(&first_line)?;
    let server = Server {
        url: started["url"].as_str().context("url")?.to_owned(),
        key: started["demo_api_key"]
            .as_str()
            .context("demo_api_key")?
            .to_owned(),
        client: reqwest::Client::new(),
    };
    let service = server
        .call(
            reqwest::Method::POST,
            "/v1/services",
            Some(json!({
                "name": "Memory", "duration_minutes": 10, "slot_interval_minutes": 10,
                "booking_horizon_days": DAYS + 30, "minimum_notice_minutes": 0,
                "weekly_hours": integration_tests::every_day("00:00", "23:59"),
            })),
        )
        .await?["id"]
        .as_str()
        .context("service id")?
        .to_owned();

    let began = Instant::now();
    server.connect().await?;
    // Synced once the first and the last event block their time.
    let last = event_start(first, args.events - 1, per_day);
    for start in [first, last] {
        while server.available(&service, start).await? {
            if began.elapsed() > Duration::from_secs(600) {
                bail!("the calendar was not synced within 10 minutes");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let sync_seconds = began.elapsed().as_secs_f64();
    let (synced_rss, synced_hwm) = memory(pid)?;

    // Availability under load: one-day windows over the synced days, each client on its own day in turn.
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let clients = (0..args.concurrency).map(|client| {
        let server = &server;
        let service = &service;
        async move {
            let mut answered = 0_u64;
            let mut day = client as i64;
            while Instant::now() < deadline {
                let date = (first + SignedDuration::from_hours(24 * (day % DAYS)))
                    .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                    .date();
                server
                    .call(
                        reqwest::Method::GET,
                        &format!("/v1/availability?service_id={service}&from={date}&to={date}"),
                        None,
                    )
                    .await?;
                answered += 1;
                day += 1;
            }
            anyhow::Ok(answered)
        }
    });
    let answered: u64 = futures::future::try_join_all(clients)
        .await?
        .into_iter()
        .sum();
    let (rss, hwm) = memory(pid)?;
    let report = json!({
        "events": args.events,
        "sync_seconds": sync_seconds,
        "synced_rss_kib": synced_rss,
        "synced_hwm_kib": synced_hwm,
        "requests": answered,
        "requests_per_second": answered as f64 / args.seconds as f64,
        "rss_kib": rss,
        "hwm_kib": hwm,
    });
    println!("{report}");
    child.kill().await?;
    Ok(())
}
