//! The webhooks-api function: push notifications from the registered providers, checked and turned into sync jobs.

use booking_aws::config::AwsAdapters;
use booking_core::api;
use booking_core::app::App;
use booking_core::ports::WebhooksApiStore;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    booking_aws::lambda::init_tracing();
    let app: App<dyn WebhooksApiStore> = AwsAdapters::from_env().await?.app();
    lambda_http::run(api::webhooks_api(app)).await
}
