//! The dead-letter-handler function: the sync queue's dead letters mark their appointments' sync `failed`.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use booking_aws::config::AwsAdapters;
use booking_aws::lambda::{handle_dead_letters, init_tracing};
use booking_core::{app::App, ports::DeadLetterStore};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_tracing();
    let app: App<dyn DeadLetterStore> = AwsAdapters::from_env().await?.app();
    lambda_runtime::run(service_fn(|event: LambdaEvent<SqsEvent>| {
        let app = app.clone();
        async move { Ok::<SqsBatchResponse, Error>(handle_dead_letters(&app, event.payload).await) }
    }))
    .await
}
