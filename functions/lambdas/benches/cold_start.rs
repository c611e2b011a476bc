//! Cold start of every function, as Lambda sees it: a release build of the binary is spawned against a loopback
//! Runtime API with the environment AWS gives it, and we time
//! - init: from spawn to its first `invocation/next` request (Lambda's "Init Duration");
//! - first invocation: its first event, answered on fresh connections to DynamoDB Local and moto;
//! - second invocation: the same event again, warm;
//! - peak resident memory of the process after both (`VmHWM`), which the template's memory settings follow from.
//!
//! The deployed zips' sizes come from the arm64 build itself: `scripts/lambda-zips.sh`.
//!
//! cargo bench -p lambda-functions --bench cold_start
//! (`COLD_STARTS=N` sets the starts per function, 7 by default.) Prints a Markdown table.
//!
//! Lambda gives a function CPU in proportion to its memory setting: one vCPU at 1,769 MB, as a CFS bandwidth quota.
//! `LAMBDA_MEMORY_MB=256` runs every function under that share of one core (a cgroup-v1 `cpu` quota over a 20 ms
//! period, the period Lambda's throttling is seen to follow), which is how the template's memory settings are chosen:
//! the smallest setting at which the latency targets still hold and memory has four times the measured peak.
//! It needs a writable `/sys/fs/cgroup/cpu` (root), and fails rather than measure at full speed without it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use booking_core::domain::{AppointmentId, BusinessId};
use booking_core::ports::Job;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use support::{Deployment, Function, deploy, http_event, mcp_event, sqs_event};

struct Case {
    function: &'static str,
    binary: &'static str,
    what: &'static str,
    event: Value,
    /// What the function needs beyond the deployment's environment (the template sets these too).
    environment: &'static [(&'static str, &'static str)],
}

/// The sign-in and OAuth functions refuse to start without a state key and their public origin.
const OAUTH_ENVIRONMENT: &[(&str, &str)] = &[
    (
        "OAUTH_STATE_KEY",
        "an-oauth-state-key-of-at-least-32-characters",
    ),
    ("PUBLIC_BASE_URL", "https://bookings.example.test"),
];

fn get(deployment: &Deployment, route: &str, path: &str, query: &str) -> Value {
    http_event("GET", route, path, query, Some(&deployment.api_key), None)
}

fn sync_job(deployment: &Deployment) -> Value {
    let business_id: BusinessId = deployment.business_id.parse().unwrap();
    let job = Job::SyncAppointment {
        business_id,
        appointment_id: AppointmentId::generate(),
        version: 1,
    };
    sqs_event(&[serde_json::to_string(&job).unwrap()]).0
}

fn cases(deployment: &Deployment, service_id: &str) -> Vec<Case> {
    let from = Timestamp::now() + SignedDuration::from_hours(24);
    let to = from + SignedDuration::from_hours(24);
    let booking = json!({
        "service_id": service_id,
        // Far enough ahead that each start's booking is a new one; a repeat is refused as taken, still a full write
        // attempt with the same reads.
        "start": (from + SignedDuration::from_hours(6))
            .round(jiff::TimestampRound::new().smallest(jiff::Unit::Hour))
            .unwrap()
            .to_string(),
        "customer": { "name": "Ana Silva" },
        "source": "api"
    })
    .to_string();
    vec![
        Case {
            function: "services-api",
            binary: env!("CARGO_BIN_EXE_services-api"),
            what: "GET /v1/services",
            event: get(deployment, "ANY /v1/services", "/v1/services", ""),
            environment: &[],
        },
        Case {
            function: "availability-api",
            binary: env!("CARGO_BIN_EXE_availability-api"),
            what: "GET /v1/availability, one day",
            event: get(
                deployment,
                "ANY /v1/availability",
                "/v1/availability",
                &format!("service_id={service_id}&from={from}&to={to}"),
            ),
            environment: &[],
        },
        Case {
            function: "appointments-api",
            binary: env!("CARGO_BIN_EXE_appointments-api"),
            what: "POST /v1/appointments",
            event: http_event(
                "POST",
                "ANY /v1/appointments",
                "/v1/appointments",
                "",
                Some(&deployment.api_key),
                Some(&booking),
            ),
            environment: &[],
        },
        Case {
            function: "integrations-api",
            binary: env!("CARGO_BIN_EXE_integrations-api"),
            what: "GET /v1/integrations",
            event: get(deployment, "ANY /v1/integrations", "/v1/integrations", ""),
            environment: OAUTH_ENVIRONMENT,
        },
        Case {
            function: "webhooks-api",
            binary: env!("CARGO_BIN_EXE_webhooks-api"),
            what: "POST /v1/webhooks/google, unknown channel",
            event: {
                let mut event = http_event(
                    "POST",
                    "ANY /v1/webhooks/{proxy+}",
                    "/v1/webhooks/google",
                    "",
                    None,
                    None,
                );
                event["headers"]["x-goog-channel-id"] = json!("no-such-channel");
                event["headers"]["x-goog-channel-token"] = json!("not-the-secret");
                event["headers"]["x-goog-resource-state"] = json!("exists");
                event
            },
            environment: &[],
        },
        Case {
            function: "dashboard",
            binary: env!("CARGO_BIN_EXE_dashboard"),
            what: "GET /dashboard/sign-in",
            event: http_event(
                "GET",
                "ANY /dashboard/{proxy+}",
                "/dashboard/sign-in",
                "",
                None,
                None,
            ),
            environment: OAUTH_ENVIRONMENT,
        },
        Case {
            function: "agent-api",
            binary: env!("CARGO_BIN_EXE_agent-api"),
            what: "MCP tools/call get_business_context",
            event: mcp_event(
                deployment,
                1,
                "tools/call",
                json!({ "name": "get_business_context", "arguments": {} }),
            ),
            environment: &[],
        },
        Case {
            function: "sync-worker",
            binary: env!("CARGO_BIN_EXE_sync-worker"),
            what: "one SQS record (appointment gone)",
            event: sync_job(deployment),
            environment: &[],
        },
        Case {
            function: "dead-letter-handler",
            binary: env!("CARGO_BIN_EXE_dead-letter-handler"),
            what: "one SQS record (appointment gone)",
            event: sync_job(deployment),
            environment: &[],
        },
        Case {
            function: "scheduler",
            binary: env!("CARGO_BIN_EXE_scheduler"),
            what: "the schedule's event",
            event: serde_json::from_str(include_str!("../tests/events/scheduled-event.json"))
                .unwrap(),
            environment: &[],
        },
    ]
}

/// Insists on an answer that is not a server error, so a function failing fast is not mistaken for a fast start.
/// Only the status is read: the dashboard answers with HTML.
fn assert_answered(case: &Case, outcome: Result<Value, Value>) {
    let answer = outcome.unwrap_or_else(|error| panic!("{}: {error}", case.function));
    if let Some(status) = answer.get("statusCode").and_then(Value::as_u64) {
        assert!(
            status < 500,
            "{}: {status} {}",
            case.function,
            answer["body"]
        );
    }
}

fn milliseconds(durations: &mut [Duration]) -> (f64, f64) {
    durations.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (
        ms(durations[durations.len() / 2]),
        ms(durations[durations.len() - 1]),
    )
}

/// Lambda's CPU share for `memory_mb`, as a cgroup every started function is moved into.
struct CpuShare {
    procs: std::path::PathBuf,
}

impl CpuShare {
    const PERIOD_MICROSECONDS: u64 = 20_000;
    const ONE_VCPU_MB: u64 = 1_769;

    fn of(memory_mb: u64) -> Self {
        let group =
            std::path::PathBuf::from(format!("/sys/fs/cgroup/cpu/cold-start-{memory_mb}mb"));
        std::fs::create_dir_all(&group).unwrap_or_else(|error| {
            panic!("LAMBDA_MEMORY_MB needs the cgroup-v1 cpu controller: {error}")
        });
        std::fs::write(
            group.join("cpu.cfs_period_us"),
            Self::PERIOD_MICROSECONDS.to_string(),
        )
        .unwrap();
        let quota = Self::PERIOD_MICROSECONDS * memory_mb / Self::ONE_VCPU_MB;
        std::fs::write(group.join("cpu.cfs_quota_us"), quota.to_string()).unwrap();
        Self {
            procs: group.join("cgroup.procs"),
        }
    }

    /// Moves a just-spawned function (all its threads) under the quota; threads it starts later inherit it.
    fn confine(&self, function: &Function) {
        std::fs::write(&self.procs, function.pid().unwrap().to_string()).unwrap();
    }
}

#[tokio::main]
async fn main() {
    let starts: usize = std::env::var("COLD_STARTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(7);
    let cpu_share = std::env::var("LAMBDA_MEMORY_MB").ok().map(|mb| {
        CpuShare::of(
            mb.parse()
                .expect("LAMBDA_MEMORY_MB is a number of megabytes"),
        )
    });
    let deployment = deploy()
        .await
        .expect("DynamoDB Local and moto are needed: scripts/install-test-tools.sh");
    let service = support::open_every_day("08:00", "18:00");
    let service_id = support::create_service(&deployment, &service).await;

    match std::env::var("LAMBDA_MEMORY_MB") {
        Ok(mb) => println!("CPU: the share of a {mb} MB Lambda function\n"),
        Err(_) => println!("CPU: a whole core, as much as the machine gives\n"),
    }
    println!(
        "| function | first event | init p50 / max (ms) | first invocation p50 / max (ms) | warm invocation p50 (ms) | peak memory max (MiB) |"
    );
    println!("|---|---|---|---|---|---|");
    for case in cases(&deployment, &service_id) {
        let (mut inits, mut firsts, mut warms) = (Vec::new(), Vec::new(), Vec::new());
        let mut peak_kib = 0;
        for _ in 0..starts {
            let environment: Vec<(String, String)> = case
                .environment
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect();
            let function = Function::start_with(case.binary, &deployment, &environment).await;
            if let Some(share) = &cpu_share {
                share.confine(&function);
            }
            inits.push(function.init_duration().await);
            let began = Instant::now();
            assert_answered(&case, function.invoke(case.event.clone()).await);
            firsts.push(began.elapsed());
            let began = Instant::now();
            assert_answered(&case, function.invoke(case.event.clone()).await);
            warms.push(began.elapsed());
            peak_kib = peak_kib.max(function.peak_resident_kib().unwrap_or(0));
        }
        let (init, init_max) = milliseconds(&mut inits);
        let (first, first_max) = milliseconds(&mut firsts);
        let (warm, _) = milliseconds(&mut warms);
        println!(
            "| `{}` | {} | {init:.1} / {init_max:.1} | {first:.1} / {first_max:.1} | {warm:.1} | {:.1} |",
            case.function,
            case.what,
            peak_kib as f64 / 1024.0,
        );
    }
}
