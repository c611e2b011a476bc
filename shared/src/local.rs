//! The local server's assembly: the app over the given adapters and the one router serving every area. The local
//! server's `main` and the integration tests both build through here, so the tests run the wiring the product runs.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;

use crate::api::{self, Area};
use crate::app::{App, Integrations};
use crate::dashboard::{self, DashboardSettings};
use crate::ports::{Clock, JobQueue, SecretStore, Store};
use crate::providers::{self, ProviderConfigError};
use crate::settings::Settings;

/// The adapters one local process works with.
pub struct LocalAdapters {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    pub clock: Arc<dyn Clock>,
    /// Where calendar tokens are kept; without it the app has no calendar integration at all (connecting is
    /// refused and sync jobs fail visibly), which is what a server that never connects a calendar needs.
    pub secrets: Option<Arc<dyn SecretStore>>,
}

/// Where browsers and providers reach a server listening on `listen`: `PUBLIC_BASE_URL` when set (a tunnel, a
/// proxy), else the listening address itself.
pub fn public_base_url(settings: &Settings, listen: SocketAddr) -> String {
    settings
        .public_base_url
        .clone()
        .unwrap_or_else(|| format!("http://{listen}"))
}

/// The app over `adapters`: every registered provider known, the configured ones connectable. A state only has to
/// outlive one authorization and one process does both ends of it, so without `OAUTH_STATE_KEY` a key per process
/// run is enough.
pub fn build_app(
    settings: &Settings,
    adapters: LocalAdapters,
    public_base_url: &str,
) -> Result<App, ProviderConfigError> {
    let app = App::new(adapters.store, adapters.queue, adapters.clock)
        .with_registry(providers::registry());
    Ok(match adapters.secrets {
        Some(secrets) => app.with_integrations(
            Integrations::new(secrets, settings.state_key_or_random(), public_base_url)
                .with_providers(settings.provider_setups()?),
        ),
        None => app,
    })
}

/// Every area's routes (the API, the agents' tools, the webhooks) and the dashboard, on one router.
pub fn router(app: App, dashboard: DashboardSettings) -> Router {
    api::router(app.clone(), &Area::ALL).merge(dashboard::router(app, dashboard))
}
