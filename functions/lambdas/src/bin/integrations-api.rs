//! The integrations-api function: connecting calendars (OAuth), choosing one, health, disconnecting.

use shared::api::{self, Area};
use shared_aws::config::{AwsAdapters, required};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared_aws::lambda::init_tracing();
    // Every instance must verify the states the others signed.
    required("OAUTH_STATE_KEY")?;
    let adapters = AwsAdapters::from_env().await?;
    lambda_http::run(api::router(adapters.app(), &[Area::Integrations])).await
}
