//! The services-api function: the services routes, under API Gateway's HTTP API.

use booking_aws::config::AwsAdapters;
use booking_core::api;
use booking_core::app::App;
use booking_core::ports::ServicesApiStore;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    booking_aws::lambda::init_tracing();
    let app: App<dyn ServicesApiStore> = AwsAdapters::from_env().await?.app();
    lambda_http::run(api::services_api(app)).await
}
