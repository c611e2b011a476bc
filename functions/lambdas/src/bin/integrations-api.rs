//! The integrations-api function: connecting calendars (OAuth), choosing one, health, disconnecting.

use booking_aws::config::{AwsAdapters, required};
use booking_core::api::{self, Area};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    booking_aws::lambda::init_tracing();
    // Every instance must verify the states the others signed.
    required("OAUTH_STATE_KEY")?;
    let adapters = AwsAdapters::from_env().await?;
    lambda_http::run(api::router(adapters.app(), &[Area::Integrations])).await
}
