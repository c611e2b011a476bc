//! Where calendar tokens are kept ([`SecretStore`]): Secrets Manager on AWS, a private folder locally.

use std::fmt;

use async_trait::async_trait;
use secrecy::SecretString;

/// The name of a secret, e.g. one per calendar connection. Limited to characters every secret backend accepts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretName(String);

impl SecretName {
    pub fn new(name: impl Into<String>) -> Result<Self, SecretError> {
        let name = name.into();
        let allowed = |c: char| {
            c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '+' | '=' | '.' | '@' | '-')
        };
        if name.is_empty() || name.len() > 256 || !name.chars().all(allowed) {
            return Err(SecretError::InvalidName(name));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("invalid secret name {0:?}")]
    InvalidName(String),
    #[error("secret backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where OAuth tokens live. Values never leave a `SecretString` except to be sent to their provider.
#[async_trait]
pub trait SecretStore: Send + Sync + 'static {
    /// Creates or replaces the secret.
    async fn put(&self, name: &SecretName, value: &SecretString) -> Result<(), SecretError>;
    async fn get(&self, name: &SecretName) -> Result<Option<SecretString>, SecretError>;
    /// Deleting a secret that does not exist succeeds.
    async fn delete(&self, name: &SecretName) -> Result<(), SecretError>;
}
