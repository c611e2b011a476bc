//! The calendar providers this process can connect to, with the secret store that keeps their tokens and the key
//! that signs OAuth states. The composition root (the local server, a Lambda's configuration) builds each
//! provider from `crate::providers` and registers it here at start-up; the use cases see only the ports.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use secrecy::SecretString;

use super::error::AppError;
use crate::ports::{ProviderKind, ProviderSetup, SecretStore};

/// Everything calendar integration needs beyond the core ports. Absent providers are refused with
/// `provider_not_configured`.
pub struct Integrations {
    pub secrets: Arc<dyn SecretStore>,
    /// At most one per kind.
    providers: Vec<ProviderSetup>,
    pub(super) state_key: SecretString,
    /// Our API's public URL; providers send browsers back to `{public_base_url}/v1/integrations/{provider}/callback`.
    public_base_url: String,
}

impl Integrations {
    pub fn new(
        secrets: Arc<dyn SecretStore>,
        state_key: SecretString,
        public_base_url: impl Into<String>,
    ) -> Self {
        Self {
            secrets,
            providers: Vec::new(),
            state_key,
            public_base_url: public_base_url.into().trim_end_matches('/').to_owned(),
        }
    }

    /// Registers a provider; a second one of the same kind replaces the first.
    pub fn with_provider(mut self, setup: ProviderSetup) -> Self {
        self.providers.retain(|known| known.kind() != setup.kind());
        self.providers.push(setup);
        self
    }

    pub fn with_providers(self, setups: impl IntoIterator<Item = ProviderSetup>) -> Self {
        setups.into_iter().fold(self, Self::with_provider)
    }

    pub fn provider(&self, kind: ProviderKind) -> Result<&ProviderSetup, AppError> {
        self.providers
            .iter()
            .find(|setup| setup.kind() == kind)
            .ok_or(AppError::ProviderNotConfigured(kind))
    }

    /// Where the provider sends push notifications for inbound sync.
    pub fn webhook_url(&self, setup: &ProviderSetup) -> String {
        format!("{}{}", self.public_base_url, setup.profile.webhook.path)
    }

    /// Our API's public URL as configured, without a trailing slash; empty when none was.
    pub fn public_base_url(&self) -> &str {
        &self.public_base_url
    }

    pub fn redirect_uri(&self, kind: ProviderKind) -> String {
        format!("{}/v1/integrations/{kind}/callback", self.public_base_url)
    }
}

/// A random state key for a single process (the local server); Lambda functions share one from configuration.
pub fn random_state_key() -> SecretString {
    let mut key = [0_u8; 32];
    rand::rng().fill_bytes(&mut key);
    SecretString::from(URL_SAFE_NO_PAD.encode(key))
}
