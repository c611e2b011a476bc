//! The scheduler function, run by EventBridge Scheduler every few minutes: booking-core's scheduled work, the same
//! list the local server runs. Expired holds need no sweep here: DynamoDB's TTL removes them, and they block
//! nothing meanwhile.

use booking_aws::config::AwsAdapters;
use booking_aws::lambda::init_tracing;
use booking_core::app::{App, MaintenanceReport, run_scheduled_work};
use booking_core::ports::SchedulerStore;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let app: App<dyn SchedulerStore> = AwsAdapters::from_env().await?.app();
    // The schedule's payload carries nothing the run needs.
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| {
        let app = app.clone();
        async move { Ok::<MaintenanceReport, Error>(run_scheduled_work(&app).await?) }
    }))
    .await
}
