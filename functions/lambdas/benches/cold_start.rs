//! Cold start of every function, as Lambda sees it: a release build of the binary is spawned against a loopback
//! Runtime API with the environment AWS gives it, and we time
//! - init: from spawn to its first `invocation/next` request (Lambda's "Init Duration");
//! - first invocation: its first event, answered on fresh connections to DynamoDB Local and moto;
//! - second invocation: the same event again, warm.
//!
//! cargo bench -p lambda-functions --bench cold_start
//! (`COLD_STARTS=N` sets the starts per function, 7 by default.) Prints a Markdown table.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use booking_core::domain::{AppointmentId, BusinessId};
use booking_core::ports::Job;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use support::{Deployment, Function, deploy, http_event, http_response, mcp_event, sqs_event};

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

#[tokio::main]
async fn main() {
    let starts: usize = std::env::var("COLD_STARTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(7);
    let deployment = deploy()
        .await
        .expect("DynamoDB Local and moto are needed: scripts/install-test-tools.sh");
    let service = support::open_every_day("08:00", "18:00");
    let service_id = support::create_service(&deployment, &service).await;

    println!(
        "| function | first event | init p50 / max (ms) | first invocation p50 / max (ms) | warm invocation p50 (ms) |"
    );
    println!("|---|---|---|---|---|");
    for case in cases(&deployment, &service_id) {
        let (mut inits, mut firsts, mut warms) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..starts {
            let environment: Vec<(String, String)> = case
                .environment
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect();
            let function = Function::start_with(case.binary, &deployment, &environment).await;
            inits.push(function.init_duration().await);
            let began = Instant::now();
            assert_answered(&case, function.invoke(case.event.clone()).await);
            firsts.push(began.elapsed());
            let began = Instant::now();
            assert_answered(&case, function.invoke(case.event.clone()).await);
            warms.push(began.elapsed());
        }
        let (init, init_max) = milliseconds(&mut inits);
        let (first, first_max) = milliseconds(&mut firsts);
        let (warm, _) = milliseconds(&mut warms);
        println!(
            "| `{}` | {} | {init:.1} / {init_max:.1} | {first:.1} / {first_max:.1} | {warm:.1} |",
            case.function, case.what
        );
    }
}
