//! The dashboard function: the business owner's pages under /dashboard (sign-in, integrations, appointments,
//! booking, services, API keys).

use booking_aws::config::{AwsAdapters, required};
use booking_core::app::App;
use booking_core::dashboard::{self, DashboardSettings};
use booking_core::ports::DashboardStore;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    booking_aws::lambda::init_tracing();
    // Connect starts an authorization whose state the integrations function verifies at the callback.
    required("OAUTH_STATE_KEY")?;
    // Forms are accepted only from this origin, and cookies are `Secure` when it is https.
    let public_base_url = required("PUBLIC_BASE_URL")?;
    let app: App<dyn DashboardStore> = AwsAdapters::from_env().await?.app();
    lambda_http::run(dashboard::router(
        app,
        DashboardSettings::new(&public_base_url),
    ))
    .await
}
