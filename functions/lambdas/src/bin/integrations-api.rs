//! The integrations-api function: connecting calendars (OAuth), choosing one, health, disconnecting.

use booking_aws::config::AwsAdapters;
use booking_core::api;
use booking_core::app::App;
use booking_core::ports::IntegrationsApiStore;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    booking_aws::lambda::init_tracing();
    let adapters = AwsAdapters::from_env().await?;
    // Every instance must verify the states the others signed.
    adapters.settings.require_state_key()?;
    let app: App<dyn IntegrationsApiStore> = adapters.app();
    lambda_http::run(api::integrations_api(app)).await
}
