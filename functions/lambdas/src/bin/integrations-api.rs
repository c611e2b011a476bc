//! The integrations-api function: connecting calendars (OAuth), choosing one, health, disconnecting.

use booking_aws::config::{AwsAdapters, required};
use booking_core::api;
use booking_core::app::App;
use booking_core::ports::IntegrationsApiStore;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    booking_aws::lambda::init_tracing();
    // Every instance must verify the states the others signed.
    required("OAUTH_STATE_KEY")?;
    let app: App<dyn IntegrationsApiStore> = AwsAdapters::from_env().await?.app();
    lambda_http::run(api::integrations_api(app)).await
}
