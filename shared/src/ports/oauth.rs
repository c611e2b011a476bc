//! One calendar provider's OAuth 2.0 authorization server ([`OAuthFlow`]): the consent URL, the code exchange, the
//! token refresh and the revocation on disconnect.

use async_trait::async_trait;
use jiff::Timestamp;
use secrecy::SecretString;

/// Tokens as issued or refreshed.
#[derive(Debug)]
pub struct TokenGrant {
    pub access_token: SecretString,
    /// Absent when a refresh does not rotate the refresh token (Google); Microsoft sends a new one every time.
    pub refresh_token: Option<SecretString>,
    pub expires_at: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The authorization code or refresh token is no longer accepted: the business must connect again.
    #[error("the provider no longer accepts the grant: {0}")]
    InvalidGrant(String),
    /// Network trouble or a provider outage; the same request may succeed later.
    #[error("the provider's token endpoint is unavailable: {0}")]
    Transient(String),
    /// Our client is misconfigured or the provider refused for another reason.
    #[error("the provider refused the token request: {0}")]
    Rejected(String),
}

/// One provider's OAuth 2.0 authorization server, as the connect flow and the token refresh use it.
#[async_trait]
pub trait OAuthFlow: Send + Sync + 'static {
    /// The URL to send the business's browser to, and the PKCE verifier to keep until the callback.
    fn authorization_url(
        &self,
        redirect_uri: &str,
        state: &str,
    ) -> Result<(String, SecretString), OAuthError>;

    /// Trades the callback's authorization code for tokens.
    async fn exchange_code(
        &self,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: &SecretString,
        now: Timestamp,
    ) -> Result<TokenGrant, OAuthError>;

    async fn refresh(
        &self,
        refresh_token: &SecretString,
        now: Timestamp,
    ) -> Result<TokenGrant, OAuthError>;

    /// Revokes the grant where the provider allows it; `Ok` where it does not.
    async fn revoke(&self, refresh_token: &SecretString) -> Result<(), OAuthError>;
}
