//! The webhooks-api function: push notifications from Google and Microsoft Graph, checked and turned into sync jobs.

use shared::api::{self, Area};
use shared_aws::config::AwsAdapters;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared_aws::lambda::init_tracing();
    let adapters = AwsAdapters::from_env().await?;
    lambda_http::run(api::router(adapters.app(), &[Area::Webhooks])).await
}
