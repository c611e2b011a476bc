//! Each function binary, end to end: started as Lambda starts it, fed event JSON as AWS sends it (API Gateway HTTP
//! API v2, SQS, EventBridge Scheduler), against DynamoDB Local and moto. One module per concern: the HTTP APIs, the
//! sync worker and its dead letters, the scheduler, the webhooks and the dashboard.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// The support module is shared with the other test binaries of this package, which sit one folder up.
#[path = "../support/mod.rs"]
mod support;

mod api;
mod dashboard;
mod scheduler;
mod sync_worker;
mod webhooks;

use support::{Deployment, Function, deploy};

const SERVICES: &str = env!("CARGO_BIN_EXE_services-api");
const AVAILABILITY: &str = env!("CARGO_BIN_EXE_availability-api");
const APPOINTMENTS: &str = env!("CARGO_BIN_EXE_appointments-api");
const DEAD_LETTERS: &str = env!("CARGO_BIN_EXE_dead-letter-handler");
const SCHEDULER: &str = env!("CARGO_BIN_EXE_scheduler");
const WEBHOOKS: &str = env!("CARGO_BIN_EXE_webhooks-api");
const DASHBOARD: &str = env!("CARGO_BIN_EXE_dashboard");
const AGENT: &str = env!("CARGO_BIN_EXE_agent-api");
const SYNC_WORKER: &str = env!("CARGO_BIN_EXE_sync-worker");

fn open_every_day() -> String {
    support::open_every_day("00:00", "24:00")
}

async fn create_service(deployment: &Deployment) -> String {
    support::create_service(deployment, &open_every_day()).await
}

/// A deployment with a service open around the clock (its id) and the function `binary` started on it; `None` when
/// the emulators are missing (see [`deploy`]).
async fn deployed_with_service(binary: &str) -> Option<(Deployment, String, Function)> {
    let deployment = deploy().await?;
    let service_id = create_service(&deployment).await;
    let function = Function::start(binary, &deployment).await;
    Some((deployment, service_id, function))
}
