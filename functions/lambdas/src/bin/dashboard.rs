//! The dashboard function: the business owner's pages under /dashboard (sign-in, integrations, appointments,
//! booking, services, API keys).

use booking_aws::config::AwsAdapters;
use booking_core::app::App;
use booking_core::dashboard::{self, DashboardSettings};
use booking_core::ports::DashboardStore;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    booking_aws::lambda::init_tracing();
    let adapters = AwsAdapters::from_env().await?;
    // Connect starts an authorization whose state the integrations function verifies at the callback.
    adapters.settings.require_state_key()?;
    // Forms are accepted only from this origin, and cookies are `Secure` when it is https.
    let settings = DashboardSettings::new(adapters.settings.require_public_base_url()?)
        .with_sign_up(adapters.sign_up);
    let app: App<dyn DashboardStore> = adapters.app();
    lambda_http::run(dashboard::router(app, settings)).await
}
