//! The webhooks-api function: push notifications from the registered providers, checked and turned into sync jobs.

use booking_aws::config::AwsAdapters;
use booking_core::api::{self, Area};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    booking_aws::lambda::init_tracing();
    let adapters = AwsAdapters::from_env().await?;
    lambda_http::run(api::router(adapters.app(), &[Area::Webhooks])).await
}
