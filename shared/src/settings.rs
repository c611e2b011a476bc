//! What a process reads from its environment, read once at start-up into one typed value: the calendar providers'
//! registrations and endpoints, our public URL and the key that signs OAuth states. Both runtimes start from it;
//! the AWS functions add only the names of their AWS resources (`booking_aws::config`).
//!
//! Reading goes through a lookup function, so the rules (names, defaults, empty meaning unset) are tested without
//! touching the process's environment.

use secrecy::SecretString;

use crate::app::random_state_key;
use crate::ports::{ProviderKind, ProviderSetup};
use crate::providers::{
    self, PROVIDER_TIMEOUT, ProviderConfigError, ProviderCredentials, ProviderEndpoints,
};

/// A value the process cannot start without is not set (or set empty); it names the variable.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {0} is not set")]
pub struct MissingSetting(pub &'static str);

/// The process's environment as a lookup: the value of a variable, `None` when unset or not Unicode.
pub fn process_environment(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// The value of `name`, an empty one counting as unset (a deployment template writes empty strings for unset
/// parameters).
pub fn optional(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name).filter(|value| !value.is_empty())
}

/// The value of `name`, which must be set.
pub fn required(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<String, MissingSetting> {
    optional(lookup, name).ok_or(MissingSetting(name))
}

/// Everything either runtime reads from its environment beyond its own resources.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The providers with a client id, in registration order.
    pub providers: Vec<ProviderSettings>,
    /// `PUBLIC_BASE_URL`: where browsers and providers reach our API; each runtime has its own default.
    pub public_base_url: Option<String>,
    /// `OAUTH_STATE_KEY`: shared by every instance that starts or finishes a calendar connection.
    pub oauth_state_key: Option<SecretString>,
}

/// One provider's registration: per registered provider `GOOGLE_CLIENT_ID`, `GOOGLE_CLIENT_SECRET` (`MICROSOFT_…`
/// likewise), with optional endpoint overrides `GOOGLE_API_BASE`, `GOOGLE_AUTHORIZE_URL`, `GOOGLE_TOKEN_URL`,
/// `GOOGLE_REVOKE_URL`, `MICROSOFT_API_BASE`, … A provider without a client id is not configured.
#[derive(Clone, Debug)]
pub struct ProviderSettings {
    pub kind: ProviderKind,
    pub credentials: ProviderCredentials,
    pub endpoints: ProviderEndpoints,
}

impl Settings {
    /// The settings of this process's environment.
    pub fn from_env() -> Self {
        Self::from_lookup(process_environment)
    }

    /// The settings `lookup` gives.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| optional(&lookup, name);
        let providers = providers::REGISTERED
            .iter()
            .filter_map(|module| {
                let prefix = module.profile.kind.to_string().to_uppercase();
                let client_id = var(&format!("{prefix}_CLIENT_ID"))?;
                let defaults = (module.default_endpoints)();
                Some(ProviderSettings {
                    kind: module.profile.kind,
                    credentials: ProviderCredentials {
                        client_id,
                        client_secret: SecretString::from(
                            var(&format!("{prefix}_CLIENT_SECRET")).unwrap_or_default(),
                        ),
                    },
                    endpoints: ProviderEndpoints {
                        api_base: var(&format!("{prefix}_API_BASE")).unwrap_or(defaults.api_base),
                        authorize_url: var(&format!("{prefix}_AUTHORIZE_URL"))
                            .unwrap_or(defaults.authorize_url),
                        token_url: var(&format!("{prefix}_TOKEN_URL"))
                            .unwrap_or(defaults.token_url),
                        revoke_url: var(&format!("{prefix}_REVOKE_URL")).or(defaults.revoke_url),
                    },
                })
            })
            .collect();
        Self {
            providers,
            public_base_url: var("PUBLIC_BASE_URL"),
            oauth_state_key: var("OAUTH_STATE_KEY").map(SecretString::from),
        }
    }

    /// The configured key, or a random one for this process alone: enough where one process both starts and
    /// finishes every authorization (the local server), and for functions that do neither.
    pub fn state_key_or_random(&self) -> SecretString {
        self.oauth_state_key
            .clone()
            .unwrap_or_else(random_state_key)
    }

    /// For a function whose states other instances verify: the shared key must be configured.
    pub fn require_state_key(&self) -> Result<&SecretString, MissingSetting> {
        self.oauth_state_key
            .as_ref()
            .ok_or(MissingSetting("OAUTH_STATE_KEY"))
    }

    /// For a function that cannot guess its public URL (behind API Gateway).
    pub fn require_public_base_url(&self) -> Result<&str, MissingSetting> {
        self.public_base_url
            .as_deref()
            .ok_or(MissingSetting("PUBLIC_BASE_URL"))
    }

    /// The configured providers' clients, sharing one HTTP client.
    pub fn provider_setups(&self) -> Result<Vec<ProviderSetup>, ProviderConfigError> {
        let http = providers::http_client(PROVIDER_TIMEOUT)?;
        self.providers
            .iter()
            .map(|provider| {
                let module = providers::module(provider.kind)
                    .ok_or(ProviderConfigError::NotRegistered(provider.kind))?;
                Ok((module.setup)(
                    provider.credentials.clone(),
                    &provider.endpoints,
                    http.clone(),
                ))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let environment: HashMap<String, String> = pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        Settings::from_lookup(|name| environment.get(name).cloned())
    }

    #[test]
    fn an_empty_environment_configures_no_provider_and_no_url_or_key() {
        let read = settings(&[]);
        assert!(read.providers.is_empty());
        assert_eq!(read.public_base_url, None);
        assert!(read.oauth_state_key.is_none());
        assert!(read.provider_setups().unwrap().is_empty());
    }

    #[test]
    fn a_provider_is_configured_by_its_client_id_on_the_real_endpoints_unless_overridden() {
        let read = settings(&[
            ("GOOGLE_CLIENT_ID", "google-client"),
            ("GOOGLE_CLIENT_SECRET", "google-secret"),
            ("GOOGLE_API_BASE", "http://127.0.0.1:9000/calendar/v3"),
            (
                "MICROSOFT_CLIENT_SECRET",
                "a secret without an id configures nothing",
            ),
        ]);
        assert_eq!(read.providers.len(), 1);
        let google = &read.providers[0];
        assert_eq!(google.kind.to_string(), "google");
        assert_eq!(google.credentials.client_id, "google-client");
        assert_eq!(
            google.credentials.client_secret.expose_secret(),
            "google-secret"
        );
        assert_eq!(
            google.endpoints.api_base,
            "http://127.0.0.1:9000/calendar/v3"
        );
        let defaults = (providers::google::MODULE.default_endpoints)();
        assert_eq!(google.endpoints.token_url, defaults.token_url);
        assert_eq!(google.endpoints.revoke_url, defaults.revoke_url);
        assert_eq!(read.provider_setups().unwrap().len(), 1);
    }

    #[test]
    fn empty_values_count_as_unset() {
        let read = settings(&[
            ("GOOGLE_CLIENT_ID", ""),
            ("PUBLIC_BASE_URL", ""),
            ("OAUTH_STATE_KEY", ""),
        ]);
        assert!(read.providers.is_empty());
        assert_eq!(read.public_base_url, None);
        assert!(read.oauth_state_key.is_none());
    }

    #[test]
    fn a_required_value_names_its_variable_when_missing() {
        let read = settings(&[("PUBLIC_BASE_URL", "https://book.example")]);
        assert_eq!(
            read.require_public_base_url().unwrap(),
            "https://book.example"
        );
        assert_eq!(
            read.require_state_key().unwrap_err().to_string(),
            "environment variable OAUTH_STATE_KEY is not set"
        );
        let lookup = |_: &str| None;
        assert_eq!(
            required(&lookup, "TABLE_NAME").unwrap_err().to_string(),
            "environment variable TABLE_NAME is not set"
        );
    }

    #[test]
    fn the_configured_state_key_is_used_and_otherwise_each_process_draws_its_own() {
        let configured = settings(&[("OAUTH_STATE_KEY", "shared key")]);
        assert_eq!(
            configured.state_key_or_random().expose_secret(),
            "shared key"
        );
        let unset = settings(&[]);
        assert_ne!(
            unset.state_key_or_random().expose_secret(),
            unset.state_key_or_random().expose_secret()
        );
    }
}
