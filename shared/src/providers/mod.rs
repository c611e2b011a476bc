//! Calendar provider clients over HTTP. Base URLs come from configuration so that tests and demos can point them at
//! the provider emulators.

mod api;
pub mod google;
pub mod microsoft;
pub mod oauth;

use std::time::Duration;

use secrecy::SecretString;

use crate::ports::{ProviderKind, ProviderProfile, ProviderRegistry, ProviderSetup};
use oauth::OAuthSettings;

/// Declares what every provider module exports alike: its [`ProviderKind`] constant, its webhook path, its
/// [`ProviderProfile`], its `setup` (the module's `oauth_settings` and its calendar client over the shared HTTP client)
/// and the [`ProviderModule`] that [`REGISTERED`] lists. What differs between providers is only the values given here.
macro_rules! provider_module {
    (
        $(#[$kind_doc:meta])*
        kind: $kind:ident = $name:literal,
        display_name: $display_name:literal,
        vendor: $vendor:literal,
        webhook: $webhook_path:literal read by $read:path, documented by $doc:ty,
        calendar: $calendar:ident,
    ) => {
        /// How the composition root finds and builds this provider.
        pub const MODULE: $crate::providers::ProviderModule = $crate::providers::ProviderModule {
            profile: PROFILE,
            default_endpoints,
            setup,
        };

        /// Where this provider's notifications arrive (see `api::webhooks`).
        pub const WEBHOOK_PATH: &str = $webhook_path;

        /// This provider as the rest of the system sees it.
        pub const PROFILE: $crate::ports::ProviderProfile = $crate::ports::ProviderProfile {
            kind: $crate::ports::ProviderKind::$kind,
            display_name: $display_name,
            vendor: $vendor,
            webhook: $crate::ports::ProviderWebhook {
                path: WEBHOOK_PATH,
                read: $read,
                openapi: <$doc as utoipa::OpenApi>::openapi,
            },
        };

        impl $crate::ports::ProviderKind {
            $(#[$kind_doc])*
            pub const $kind: $crate::ports::ProviderKind =
                $crate::ports::ProviderKind::from_static($name);
        }

        /// The provider's OAuth flow and calendar client over the process's shared HTTP client.
        pub fn setup(
            credentials: $crate::providers::ProviderCredentials,
            endpoints: &$crate::providers::ProviderEndpoints,
            http: reqwest::Client,
        ) -> $crate::ports::ProviderSetup {
            $crate::ports::ProviderSetup {
                profile: PROFILE,
                oauth: std::sync::Arc::new($crate::providers::oauth::OAuthClient::new(
                    oauth_settings(credentials, endpoints),
                    http.clone(),
                )),
                calendar: std::sync::Arc::new($calendar::new(http, endpoints.api_base.clone())),
            }
        }
    };
}
use provider_module;

/// Every provider this build can connect to. Adding one is its module (client, OAuth settings, profile with its
/// display name and webhook) and a line here; nothing outside `providers` names a provider.
pub const REGISTERED: &[ProviderModule] = &[google::MODULE, microsoft::MODULE];

/// The registered providers' profiles, for the app the composition root builds.
pub fn registry() -> ProviderRegistry {
    ProviderRegistry::new(REGISTERED.iter().map(|module| module.profile))
}

/// A provider module: what the composition root needs to configure it, and what the rest of the system knows of it.
#[derive(Clone, Copy)]
pub struct ProviderModule {
    /// Its name, display name and webhook.
    pub profile: ProviderProfile,
    /// The real provider's endpoints, each overridable from the environment (`crate::settings`).
    pub default_endpoints: fn() -> ProviderEndpoints,
    /// The provider's OAuth flow and calendar client over one shared HTTP client.
    pub setup: fn(ProviderCredentials, &ProviderEndpoints, reqwest::Client) -> ProviderSetup,
}

/// Where the provider endpoints are; the defaults are the real providers, each overridable for tests and demos.
#[derive(Clone, Debug)]
pub struct ProviderEndpoints {
    pub api_base: String,
    pub authorize_url: String,
    pub token_url: String,
    pub revoke_url: Option<String>,
}

/// Our OAuth client registration at one provider.
#[derive(Clone, Debug)]
pub struct ProviderCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

impl ProviderCredentials {
    /// The OAuth settings of a provider that asks for `scopes` and these extra authorization parameters.
    fn settings(
        self,
        endpoints: &ProviderEndpoints,
        scopes: &[&str],
        extra_authorize_params: &[(&str, &str)],
    ) -> OAuthSettings {
        OAuthSettings {
            client_id: self.client_id,
            client_secret: self.client_secret,
            authorize_url: endpoints.authorize_url.clone(),
            token_url: endpoints.token_url.clone(),
            revoke_url: endpoints.revoke_url.clone(),
            scopes: scopes.iter().map(|scope| (*scope).to_owned()).collect(),
            extra_authorize_params: extra_authorize_params
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        }
    }
}

/// The HTTP client could not be built (no TLS backend, for one); the process cannot talk to any provider.
#[derive(Debug, thiserror::Error)]
#[error("the HTTP client for calendar providers cannot be built")]
pub struct HttpClientError(#[source] reqwest::Error);

/// The HTTP client provider calls share: a call that hangs longer than `timeout` counts as a transient failure.
/// Failing to build it is an error at start-up, never a client without the timeouts.
pub fn http_client(timeout: Duration) -> Result<reqwest::Client, HttpClientError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .build()
        .map_err(HttpClientError)
}

/// The registered module of `kind`.
pub fn module(kind: ProviderKind) -> Option<&'static ProviderModule> {
    REGISTERED.iter().find(|module| module.profile.kind == kind)
}

/// A provider built from its client credentials and endpoints.
pub fn provider_setup(
    kind: ProviderKind,
    client_id: String,
    client_secret: SecretString,
    endpoints: &ProviderEndpoints,
    timeout: Duration,
) -> Result<ProviderSetup, ProviderConfigError> {
    let module = module(kind).ok_or(ProviderConfigError::NotRegistered(kind))?;
    let credentials = ProviderCredentials {
        client_id,
        client_secret,
    };
    Ok((module.setup)(
        credentials,
        endpoints,
        http_client(timeout)?,
    ))
}

#[derive(Debug, thiserror::Error)]
pub enum ProviderConfigError {
    #[error("no {0} provider module is registered in this build")]
    NotRegistered(ProviderKind),
    #[error(transparent)]
    HttpClient(#[from] HttpClientError),
}

/// How long one provider call may take before it counts as a transient failure.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// Percent-encodes one path segment (calendar ids are often e-mail addresses).
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(byte).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A `Retry-After` given in seconds (the form both providers use).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
        .map(Duration::from_secs)
}
