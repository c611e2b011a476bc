//! OAuth tokens of calendar connections: stored in the `SecretStore`, refreshed ahead of expiry, and refreshed once
//! even when many workers need a token at the same moment (a lease in the store decides who refreshes; the others
//! wait for the new token). Microsoft rotates refresh tokens, so the newest one is always stored.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::context::App;
use super::error::AppError;
use super::lease::while_holding;
use super::providers::Integrations;
use super::sync_wording::{LostAccess, ProviderNames, lost_access};
use crate::domain::ConnectionId;
use crate::ports::{
    ConnectionHealth, ConnectionRef, OAuthError, ProviderSetup, SecretName, StoreError, TokenGrant,
};
use crate::ports::{ConnectionStore, LeaseStore};

/// Refresh this long before the provider's expiry, so a token never expires in the middle of a call.
const REFRESH_AHEAD: SignedDuration = SignedDuration::from_mins(5);
/// Longer than a refresh takes; if the refreshing worker dies, another takes over after this.
const REFRESH_LEASE: SignedDuration = SignedDuration::from_secs(30);
/// How long a worker that lost the lease waits for the winner's token before giving the job back to the queue.
const WAIT_FOR_REFRESH: Duration = Duration::from_secs(5);
const POLL_REFRESH: Duration = Duration::from_millis(100);

/// What a calendar connection's secret holds.
#[derive(Serialize, Deserialize)]
struct StoredGrant {
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Timestamp,
}

/// Why no access token could be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The grant is revoked or expired; the connection is marked `reauth_required`.
    #[error("{0}")]
    ReauthRequired(String),
    #[error("{0}")]
    Transient(String),
    /// The store (the refresh lease, the connection's health) failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The secret store failed, or a stored grant cannot be read.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl TokenError {
    fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(error))
    }
}

/// Where a use case needs a token for the business (listing calendars), a token problem is the business's to fix.
impl From<TokenError> for AppError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::ReauthRequired(reason) => {
                AppError::OAuthDenied(format!("connect the calendar again: {reason}"))
            }
            TokenError::Transient(reason) => AppError::ProviderUnavailable(reason),
            TokenError::Store(error) => error.into(),
            TokenError::Internal(error) => AppError::Internal(error),
        }
    }
}

/// Where a connection's tokens are kept: the first connection's under its provider, where the release before
/// members kept the business's one grant (so it keeps working without connecting again), every other one's under
/// its id (a member may connect several accounts of one provider).
pub fn secret_name(connection: ConnectionRef) -> Result<SecretName, TokenError> {
    SecretName::new(format!("calendar/{}", filed_under(connection))).map_err(TokenError::internal)
}

/// What names the connection's grant, in its secret's name and its refresh lease's.
fn filed_under(connection: ConnectionRef) -> String {
    let ConnectionRef {
        business_id,
        id,
        provider,
    } = connection;
    if id == ConnectionId::of_first_connection(business_id) {
        format!("{business_id}/{provider}")
    } else {
        format!("{business_id}/{id}")
    }
}

/// Stores a grant; a refresh that did not rotate the refresh token keeps `previous_refresh_token`.
pub async fn store_grant(
    integrations: &Integrations,
    connection: ConnectionRef,
    grant: &TokenGrant,
    previous_refresh_token: Option<&str>,
) -> Result<(), TokenError> {
    let stored = StoredGrant {
        access_token: grant.access_token.expose_secret().to_owned(),
        refresh_token: grant
            .refresh_token
            .as_ref()
            .map(|token| token.expose_secret().to_owned())
            .or_else(|| previous_refresh_token.map(str::to_owned)),
        expires_at: grant.expires_at,
    };
    let value = serde_json::to_string(&stored).map_err(TokenError::internal)?;
    integrations
        .secrets
        .put(&secret_name(connection)?, &SecretString::from(value))
        .await
        .map_err(TokenError::internal)
}

async fn read_grant(
    integrations: &Integrations,
    connection: ConnectionRef,
) -> Result<Option<StoredGrant>, TokenError> {
    let Some(secret) = integrations
        .secrets
        .get(&secret_name(connection)?)
        .await
        .map_err(TokenError::internal)?
    else {
        return Ok(None);
    };
    serde_json::from_str(secret.expose_secret())
        .map(Some)
        .map_err(TokenError::internal)
}

/// The refresh token of a stored grant, for revocation on disconnect.
pub async fn stored_refresh_token(
    integrations: &Integrations,
    connection: ConnectionRef,
) -> Result<Option<SecretString>, TokenError> {
    Ok(read_grant(integrations, connection)
        .await?
        .and_then(|grant| grant.refresh_token)
        .map(SecretString::from))
}

/// A usable access token for the connection. With `force_refresh` the stored one is not trusted even if it looks
/// fresh (the provider just refused it).
#[tracing::instrument(
    skip_all,
    fields(business_id = %connection.business_id, connection_id = %connection.id, provider = %setup.kind(), force_refresh)
)]
pub async fn access_token<S: ConnectionStore + LeaseStore + ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    setup: &ProviderSetup,
    connection: ConnectionRef,
    force_refresh: bool,
) -> Result<SecretString, TokenError> {
    let refused_token = {
        let Some(grant) = read_grant(integrations, connection).await? else {
            return Err(reauth(app, connection, LostAccess::NoGrant).await);
        };
        if !force_refresh && is_fresh(&grant, app.clock.now()) {
            return Ok(SecretString::from(grant.access_token));
        }
        grant.access_token
    };
    let lease = format!("token-refresh/{}", filed_under(connection));
    let refreshing = refresh(app, integrations, setup, connection, &refused_token);
    match while_holding(app, &lease, REFRESH_LEASE, refreshing).await? {
        Some(refreshed) => refreshed,
        None => wait_for_refresh(app, integrations, connection, &refused_token).await,
    }
}

fn is_fresh(grant: &StoredGrant, now: Timestamp) -> bool {
    now.checked_add(REFRESH_AHEAD)
        .is_ok_and(|soon| grant.expires_at > soon)
}

async fn refresh<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    setup: &ProviderSetup,
    connection: ConnectionRef,
    refused_token: &str,
) -> Result<SecretString, TokenError> {
    // Someone may have refreshed between our read and our lease.
    let Some(grant) = read_grant(integrations, connection).await? else {
        return Err(reauth(app, connection, LostAccess::NoGrant).await);
    };
    if grant.access_token != refused_token && is_fresh(&grant, app.clock.now()) {
        return Ok(SecretString::from(grant.access_token));
    }
    let Some(refresh_token) = grant.refresh_token.as_deref() else {
        return Err(reauth(app, connection, LostAccess::NoLastingAccess).await);
    };
    match setup
        .oauth
        .refresh(
            &SecretString::from(refresh_token.to_owned()),
            app.clock.now(),
        )
        .await
    {
        Ok(fresh) => {
            store_grant(integrations, connection, &fresh, Some(refresh_token)).await?;
            tracing::info!("access token refreshed");
            Ok(fresh.access_token)
        }
        Err(OAuthError::InvalidGrant(provider_says)) => Err(reauth(
            app,
            connection,
            LostAccess::RevokedOrExpired { provider_says },
        )
        .await),
        Err(OAuthError::Transient(reason)) => Err(TokenError::Transient(format!(
            "refreshing the access token failed: {reason}"
        ))),
        Err(OAuthError::Rejected(provider_says)) => Err(reauth(
            app,
            connection,
            LostAccess::RefreshRefused { provider_says },
        )
        .await),
    }
}

async fn wait_for_refresh<S: ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    connection: ConnectionRef,
    refused_token: &str,
) -> Result<SecretString, TokenError> {
    let deadline = tokio::time::Instant::now() + WAIT_FOR_REFRESH;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(POLL_REFRESH).await;
        let grant = read_grant(integrations, connection).await?;
        if let Some(grant) = grant
            .filter(|grant| grant.access_token != refused_token && is_fresh(grant, app.clock.now()))
        {
            return Ok(SecretString::from(grant.access_token));
        }
    }
    Err(TokenError::Transient(
        "another worker is refreshing the access token".to_owned(),
    ))
}

/// Marks the connection `reauth_required` and says why.
async fn reauth<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    connection: ConnectionRef,
    why: LostAccess,
) -> TokenError {
    let reason = lost_access(&ProviderNames::of(&app.registry, connection.provider), &why);
    let health = ConnectionHealth::ReauthRequired {
        reason: reason.clone(),
    };
    if let Err(error) = app
        .store
        .update_connection_health(connection.business_id, connection.id, &health, None)
        .await
    {
        return error.into();
    }
    tracing::warn!(
        business_id = %connection.business_id,
        connection_id = %connection.id,
        provider = %connection.provider,
        "calendar connection needs to be authorized again"
    );
    TokenError::ReauthRequired(reason)
}
