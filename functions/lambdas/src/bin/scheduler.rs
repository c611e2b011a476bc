//! The scheduler function, run by EventBridge Scheduler every few minutes: re-enqueues syncs whose job went missing.

use booking_aws::config::AwsAdapters;
use booking_aws::lambda::{MaintenanceReport, init_tracing, run_maintenance};
use booking_core::{app::App, ports::SchedulerStore};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let app: App<dyn SchedulerStore> = AwsAdapters::from_env().await?.app();
    // The schedule's payload carries nothing the run needs.
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| {
        let app = app.clone();
        async move { Ok::<MaintenanceReport, Error>(run_maintenance(&app).await?) }
    }))
    .await
}
