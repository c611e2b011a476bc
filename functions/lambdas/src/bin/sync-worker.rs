//! The sync-worker function: each SQS job makes the business's calendar match one appointment, or sends one queued
//! email through SES.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use booking_aws::config::AwsAdapters;
use booking_aws::lambda::{handle_sync_batch, init_tracing};
use booking_core::{app::App, ports::SyncWorkerStore};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let adapters = AwsAdapters::from_env().await?;
    adapters.require_mailer()?;
    let app: App<dyn SyncWorkerStore> = adapters.app();
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let app = app.clone();
        async move { Ok::<SqsBatchResponse, Error>(handle_sync_batch(&app, event.payload).await) }
    }))
    .await
}
