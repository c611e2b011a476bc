//! Connecting a staff member's calendar account at a provider: the OAuth authorization code flow with PKCE, the
//! choice of the calendar appointments are written to, the connection's health, and disconnecting. The
//! business-level use cases here act on the business's first member, as before staff members existed.
//!
//! The `state` of an authorization is `nonce.mac`: the nonce names a stored attempt (business, provider, PKCE
//! verifier, expiry) that the callback consumes once; the MAC (HMAC-SHA256 under the server's state key, over the
//! nonce, business, provider and expiry) lets a forged or altered state be refused before any lookup.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use jiff::SignedDuration;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use super::calendar_sync::{pin_event_homes, queue_upcoming, requeue_members_failed};
use super::calendar_tokens;
use super::context::App;
use super::error::{AppError, ConnectFailure, Missing};
use super::inbound_sync::{follow_calendars, resume_watching, stop_watching};
use super::providers::Integrations;
use super::staff::get_staff_member;
use super::staff_calendars::{first_member_connection, first_members};
use crate::domain::{Business, BusinessId, ConnectionId, StaffId};
use crate::ports::{AppointmentStore, BusyTimeStore, CatalogStore, ConnectionStore, LeaseStore};
use crate::ports::{
    CalendarConnection, CalendarSummary, CalendarWatch, ConnectionHealth, OAuthAttempt, OAuthError,
    ProviderError, ProviderKind, ProviderSetup, StoreError,
};

/// How long a business has to finish authorizing at the provider.
const ATTEMPT_LIFETIME: SignedDuration = SignedDuration::from_mins(10);

/// The OAuth `state` of an attempt: signed with the server's state key, checked on the way back.
impl Integrations {
    fn mac(&self, attempt: &OAuthAttempt) -> Result<Hmac<Sha256>, AppError> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.state_key.expose_secret().as_bytes())
            .map_err(|error| AppError::Internal(Box::new(error)))?;
        mac.update(
            format!(
                "{}|{}|{}|{}",
                attempt.nonce,
                attempt.business_id,
                attempt.provider,
                attempt.expires_at.as_second()
            )
            .as_bytes(),
        );
        Ok(mac)
    }

    fn sign(&self, attempt: &OAuthAttempt) -> Result<String, AppError> {
        let tag = self.mac(attempt)?.finalize().into_bytes();
        Ok(format!("{}.{}", attempt.nonce, URL_SAFE_NO_PAD.encode(tag)))
    }

    /// Constant-time check of the state's MAC against the attempt it names.
    fn verify(&self, attempt: &OAuthAttempt, tag: &str) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
            return false;
        };
        self.mac(attempt)
            .is_ok_and(|mac| mac.verify_slice(&tag).is_ok())
    }
}

/// `provider_not_found` for a name this build knows nothing of: neither registered nor configured.
fn known<S: ?Sized>(app: &App<S>, provider: ProviderKind) -> Result<(), AppError> {
    let configured = app
        .integrations
        .as_deref()
        .is_some_and(|integrations| integrations.provider(provider).is_ok());
    if configured || app.registry.get(provider).is_some() {
        Ok(())
    } else {
        Err(AppError::NotFound(Missing::Provider))
    }
}

pub(super) fn integrations<S: ?Sized>(
    app: &App<S>,
    provider: ProviderKind,
) -> Result<&Integrations, AppError> {
    known(app, provider)?;
    app.integrations
        .as_deref()
        .ok_or(AppError::ProviderNotConfigured(provider))
}

/// Starts connecting an account for `staff_id` (an active member of the business): the URL to send their browser
/// to. `from_dashboard` sends the browser back to the dashboard when the provider is done.
#[tracing::instrument(skip_all, fields(business_id = %business.id, %staff_id, %provider, from_dashboard))]
pub async fn start_connect<S: ConnectionStore + CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    staff_id: StaffId,
    provider: ProviderKind,
    from_dashboard: bool,
) -> Result<String, AppError> {
    let integrations = integrations(app, provider)?;
    let setup = integrations.provider(provider)?;
    // Nothing is ever assigned to an inactive member, so a calendar of theirs would be written and read for nobody.
    if !get_staff_member(app, business, staff_id).await?.active {
        return Err(AppError::StaffInactive);
    }
    let mut nonce = [0_u8; 32];
    rand::rng().fill_bytes(&mut nonce);
    let mut attempt = OAuthAttempt {
        nonce: URL_SAFE_NO_PAD.encode(nonce),
        business_id: business.id,
        staff_id,
        provider,
        pkce_verifier: String::new(),
        from_dashboard,
        expires_at: app
            .clock
            .now()
            .checked_add(ATTEMPT_LIFETIME)
            .map_err(|error| AppError::Internal(Box::new(error)))?,
    };
    let state = integrations.sign(&attempt)?;
    let (url, verifier) = setup
        .oauth
        .authorization_url(&integrations.redirect_uri(provider), &state)
        .map_err(|error| AppError::Internal(Box::new(error)))?;
    attempt.pkce_verifier = verifier.expose_secret().to_owned();
    app.store.put_oauth_attempt(&attempt).await?;
    Ok(url)
}

/// What the provider's redirect brought back.
pub struct CallbackParameters {
    pub code: Option<String>,
    pub state: Option<String>,
    /// Set when the business declined or the provider refused (`access_denied`, …).
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The account just connected and its calendars, to choose one from.
pub struct ConnectedAccount {
    pub business_id: BusinessId,
    /// The member whose account it is.
    pub staff_id: StaffId,
    /// The connection made (or made again).
    pub connection_id: ConnectionId,
    pub provider: ProviderKind,
    pub account: String,
    pub calendars: Vec<CalendarSummary>,
    /// The calendar kept from an earlier connection of the same account, if still there.
    pub selected_calendar_id: Option<String>,
    /// Failed appointments queued again because the connection works again.
    pub requeued: usize,
    /// The connection was started from the dashboard.
    pub from_dashboard: bool,
}

/// Finishes connecting: checks the state, exchanges the code, stores the tokens and records the connection.
#[tracing::instrument(skip_all, fields(%provider))]
pub async fn finish_connect<
    S: AppointmentStore + ConnectionStore + BusyTimeStore + LeaseStore + ?Sized,
>(
    app: &App<S>,
    provider: ProviderKind,
    callback: CallbackParameters,
) -> Result<ConnectedAccount, AppError> {
    let integrations = integrations(app, provider)?;
    let setup = integrations.provider(provider)?;
    let state = callback
        .state
        .as_deref()
        .ok_or(AppError::OAuthStateInvalid)?;
    let (nonce, tag) = state.split_once('.').ok_or(AppError::OAuthStateInvalid)?;
    let attempt = app
        .store
        .take_oauth_attempt(nonce, app.clock.now())
        .await?
        .filter(|attempt| attempt.provider == provider && integrations.verify(attempt, tag))
        .ok_or(AppError::OAuthStateInvalid)?;
    let from_dashboard = attempt.from_dashboard;
    match complete_connect(app, integrations, setup, provider, attempt, callback).await {
        // The dashboard's browser goes back to its page, which says what happened in words.
        Err(error) if from_dashboard => Err(AppError::DashboardConnectFailed {
            provider,
            why: ConnectFailure::of(&error),
        }),
        outcome => outcome,
    }
}

/// The part of [`finish_connect`] after the attempt was found: the provider's answer, the tokens, the connection.
async fn complete_connect<
    S: AppointmentStore + ConnectionStore + BusyTimeStore + LeaseStore + ?Sized,
>(
    app: &App<S>,
    integrations: &Integrations,
    setup: &ProviderSetup,
    provider: ProviderKind,
    attempt: OAuthAttempt,
    callback: CallbackParameters,
) -> Result<ConnectedAccount, AppError> {
    if let Some(error) = callback.error {
        let description = callback.error_description.unwrap_or_default();
        return Err(AppError::OAuthDenied(
            format!("{error} {description}").trim().to_owned(),
        ));
    }
    let code = callback
        .code
        .ok_or_else(|| AppError::OAuthDenied("the provider sent no authorization code".into()))?;
    let grant = setup
        .oauth
        .exchange_code(
            &integrations.redirect_uri(provider),
            &code,
            &SecretString::from(attempt.pkce_verifier.clone()),
            app.clock.now(),
        )
        .await
        .map_err(|error| match error {
            OAuthError::Transient(reason) => AppError::ProviderUnavailable(reason),
            OAuthError::InvalidGrant(reason) | OAuthError::Rejected(reason) => {
                AppError::OAuthDenied(reason)
            }
        })?;
    let calendars = setup
        .calendar
        .list_calendars(&grant.access_token)
        .await
        .map_err(provider_unavailable)?;
    let account = calendars
        .iter()
        .find(|calendar| calendar.primary)
        .and_then(|calendar| calendar.owner.clone())
        .unwrap_or_else(|| "unknown account".to_owned());

    let business_id = attempt.business_id;
    let member = attempt.staff_id;
    // Connecting the same account again keeps its connection (id, calendar choices, last sync); another account is
    // a connection of its own beside the member's others.
    let connections = app.store.calendar_connections(business_id).await?;
    let previous = connections
        .iter()
        .find(|c| c.staff_id == member && c.provider == provider && c.account == account)
        .cloned();
    let listed = |id: &String| calendars.iter().any(|calendar| &calendar.id == id);
    let kept_calendar = previous
        .as_ref()
        .and_then(|p| p.calendar_id.clone())
        .filter(listed);
    let connection = CalendarConnection {
        id: previous.as_ref().map_or_else(
            || new_connection_id(&connections, business_id, member),
            |p| p.id,
        ),
        business_id,
        staff_id: member,
        provider,
        account: account.clone(),
        calendar_id: kept_calendar.clone(),
        checked_calendars: previous
            .as_ref()
            .map(|p| {
                p.checked_calendars
                    .iter()
                    .filter(|id| listed(id))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default(),
        connected_at: app.clock.now(),
        health: ConnectionHealth::Connected,
        last_synced_at: previous.as_ref().and_then(|p| p.last_synced_at),
    };
    calendar_tokens::store_grant(integrations, connection.reference(), &grant, None).await?;
    app.store.put_calendar_connection(&connection).await?;
    // Calendars gone from the account stop blocking; the ones kept catch up on what changed meanwhile at once.
    resume_watching(app, integrations, &connection).await?;
    // The member's appointments that failed while the grant was broken can go through now.
    let requeued = match &kept_calendar {
        Some(_) => requeue_members_failed(app, business_id, member)
            .await?
            .len(),
        None => 0,
    };
    tracing::info!(%business_id, %provider, requeued, "calendar connected");
    Ok(ConnectedAccount {
        business_id,
        staff_id: member,
        connection_id: connection.id,
        provider,
        account,
        calendars,
        selected_calendar_id: kept_calendar,
        requeued,
        from_dashboard: attempt.from_dashboard,
    })
}

fn provider_unavailable(error: ProviderError) -> AppError {
    AppError::ProviderUnavailable(error.to_string())
}

/// A new connection's id, beside the business's `connections`. The first member's first connection takes the first
/// connection's id, so a store and secrets written by this release still read as the release before members wrote
/// them; any further one (theirs or another member's) gets an id of its own.
fn new_connection_id(
    connections: &[CalendarConnection],
    business_id: BusinessId,
    member: StaffId,
) -> ConnectionId {
    let first = ConnectionId::of_first_connection(business_id);
    if member == StaffId::first_of(business_id) && connections.iter().all(|c| c.id != first) {
        first
    } else {
        ConnectionId::generate()
    }
}

/// The first member's connection to `provider`, or `calendar_not_connected`.
async fn connection_to<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
    provider: ProviderKind,
) -> Result<CalendarConnection, AppError> {
    known(app, provider)?;
    first_member_connection(app.store.as_ref(), business_id)
        .await?
        .filter(|connection| connection.provider == provider)
        .ok_or(AppError::CalendarNotConnected)
}

/// The connected account's calendars, fresh from the provider.
#[tracing::instrument(skip_all, fields(business_id = %business.id, %provider))]
pub async fn list_calendars<S: ConnectionStore + LeaseStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    provider: ProviderKind,
) -> Result<Vec<CalendarSummary>, AppError> {
    integrations(app, provider)?.provider(provider)?;
    let connection = connection_to(app, business.id, provider).await?;
    calendars_of(app, &connection).await
}

/// The calendars of `connection`'s account, fresh from the provider.
pub(super) async fn calendars_of<S: ConnectionStore + LeaseStore + ?Sized>(
    app: &App<S>,
    connection: &CalendarConnection,
) -> Result<Vec<CalendarSummary>, AppError> {
    let integrations = integrations(app, connection.provider)?;
    let setup = integrations.provider(connection.provider)?;
    // One call with the stored token: a refusal here is shown to the business rather than retried.
    let token =
        calendar_tokens::access_token(app, integrations, setup, connection.reference(), false)
            .await?;
    setup
        .calendar
        .list_calendars(&token)
        .await
        .map_err(provider_unavailable)
}

/// Chooses the calendar appointments are synced to, queues every upcoming appointment for it (moving the events
/// already written to the calendar chosen before) and starts reading its busy time.
#[tracing::instrument(skip_all, fields(business_id = %business.id, %provider))]
pub async fn select_calendar<
    S: AppointmentStore + ConnectionStore + BusyTimeStore + LeaseStore + ?Sized,
>(
    app: &App<S>,
    business: &Business,
    provider: ProviderKind,
    calendar_id: &str,
) -> Result<(CalendarConnection, usize), AppError> {
    let connection = connection_to(app, business.id, provider).await?;
    if connection.calendar_id.as_deref() == Some(calendar_id) {
        return Ok((connection, 0));
    }
    let calendars = list_calendars(app, business, provider).await?;
    let calendar = calendars
        .iter()
        .find(|calendar| calendar.id == calendar_id)
        .ok_or_else(|| AppError::CalendarNotFound(calendar_id.to_owned()))?;
    if !calendar.writable {
        return Err(AppError::CalendarNotWritable(calendar_id.to_owned()));
    }
    pin_event_homes(app, &connection).await?;
    let selected = CalendarConnection {
        calendar_id: Some(calendar_id.to_owned()),
        ..connection
    };
    app.store.put_calendar_connection(&selected).await?;
    // The calendar left behind blocks no more time unless it is checked too: its channel closes and its busy time
    // is forgotten.
    follow_calendars(app, integrations(app, provider)?, &selected).await?;
    let queued = queue_upcoming(app, business.id, selected.staff_id).await?;
    Ok((selected, queued))
}

/// The business's connection, if any, with how its calendar's busy time is followed once one is selected.
pub async fn get_connection<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    business: &Business,
) -> Result<Option<(CalendarConnection, Option<CalendarWatch>)>, AppError> {
    let (connections, watches) = tokio::try_join!(
        app.store.calendar_connections(business.id),
        app.store.calendar_watches(business.id)
    )?;
    Ok(first_members(connections, business.id).map(|connection| {
        let watch = stalest_checked_watch(&connection, &watches);
        (connection, watch)
    }))
}

/// Every member's connections, the first member's first (the one [`get_connection`] answers leading), then by
/// member and by when they were connected; each with the watch of its checked calendars read longest ago
/// (`None` until each has been read).
pub async fn list_connections<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    business: &Business,
) -> Result<Vec<(CalendarConnection, Option<CalendarWatch>)>, AppError> {
    let (mut connections, watches) = tokio::try_join!(
        app.store.calendar_connections(business.id),
        app.store.calendar_watches(business.id)
    )?;
    let leading = first_members(connections.clone(), business.id).map(|c| c.id);
    connections.sort_by_key(|c| (Some(c.id) != leading, c.staff_id, c.connected_at));
    Ok(connections
        .into_iter()
        .map(|connection| {
            let watch = stalest_checked_watch(&connection, &watches);
            (connection, watch)
        })
        .collect())
}

/// Among `watches`, the one whose busy time is oldest of those following the calendars the connection checks: how
/// fresh the member's busy time from this connection is. `None` while a checked calendar is not followed or not
/// read yet, or when none is checked.
fn stalest_checked_watch(
    connection: &CalendarConnection,
    watches: &[CalendarWatch],
) -> Option<CalendarWatch> {
    let mut stalest: Option<&CalendarWatch> = None;
    for calendar_id in connection.calendars_checked() {
        let watch = watches
            .iter()
            .find(|watch| watch.follows(connection.id, calendar_id))?;
        let synced_at = watch.synced_at?;
        if stalest.is_none_or(|stalest| stalest.synced_at.is_some_and(|at| synced_at < at)) {
            stalest = Some(watch);
        }
    }
    stalest.cloned()
}

/// Disconnects: stops the push channel and forgets the calendar's busy time, revokes the grant where the provider
/// allows it, deletes the tokens and the connection. Events already written stay in the calendar (they are the
/// business's record of its appointments).
#[tracing::instrument(skip_all, fields(business_id = %business.id, %provider))]
pub async fn disconnect<S: ConnectionStore + BusyTimeStore + LeaseStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    provider: ProviderKind,
) -> Result<(), AppError> {
    integrations(app, provider)?;
    let connection = connection_to(app, business.id, provider).await?;
    disconnect_connection(app, &connection).await
}

/// Disconnects one connection, whoever's it is (see [`disconnect`]).
pub(super) async fn disconnect_connection<
    S: ConnectionStore + BusyTimeStore + LeaseStore + ?Sized,
>(
    app: &App<S>,
    connection: &CalendarConnection,
) -> Result<(), AppError> {
    let integrations = integrations(app, connection.provider)?;
    let business_id = connection.business_id;
    stop_watching(app, integrations, business_id, |watch| {
        watch.connection_id == connection.id
    })
    .await?;
    // Members sharing one account (a salon's) each hold a connection to it, and revoking the grant would end their
    // access too: then only our copy of this connection's tokens goes.
    let shared = app
        .store
        .calendar_connections(business_id)
        .await?
        .iter()
        .any(|other| {
            other.id != connection.id
                && other.provider == connection.provider
                && other.account == connection.account
        });
    forget_grant(integrations, connection, !shared).await?;
    match app
        .store
        .delete_calendar_connection(business_id, connection.id)
        .await
    {
        Ok(()) | Err(StoreError::NotFound) => Ok(()),
        Err(error) => Err(error.into()),
    }
}

/// Deletes our copy of the connection's tokens, revoking the grant at the provider first when `revoke`.
async fn forget_grant(
    integrations: &Integrations,
    connection: &CalendarConnection,
    revoke: bool,
) -> Result<(), AppError> {
    let (business_id, provider) = (connection.business_id, connection.provider);
    if let (true, Ok(setup)) = (revoke, integrations.provider(provider)) {
        if let Some(refresh_token) =
            calendar_tokens::stored_refresh_token(integrations, connection.reference()).await?
        {
            // Revocation is a courtesy: deleting our copy is what disconnects.
            if let Err(error) = setup.oauth.revoke(&refresh_token).await {
                tracing::warn!(%business_id, %provider, %error, "revoking the grant failed");
            }
        }
    }
    integrations
        .secrets
        .delete(&calendar_tokens::secret_name(connection.reference())?)
        .await
        .map_err(|error| AppError::Internal(Box::new(error)))
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::adapters::FileSecretStore;
    use jiff::Timestamp;

    fn integrations(key: &str) -> Integrations {
        let dir = std::env::temp_dir().join(format!("state-test-{}", uuid::Uuid::new_v4()));
        Integrations::new(
            Arc::new(FileSecretStore::open(&dir).expect("secret store")),
            SecretString::from(key.to_owned()),
            "http://localhost",
        )
    }

    fn attempt() -> OAuthAttempt {
        OAuthAttempt {
            nonce: "nonce".into(),
            business_id: BusinessId::generate(),
            staff_id: StaffId::generate(),
            provider: ProviderKind::GOOGLE,
            pkce_verifier: "verifier".into(),
            expires_at: Timestamp::UNIX_EPOCH,
            from_dashboard: false,
        }
    }

    #[test]
    fn a_state_verifies_only_for_its_own_attempt_and_key() {
        let signer = integrations("key one");
        let attempt = attempt();
        let state = signer.sign(&attempt).expect("signed");
        let (nonce, tag) = state.split_once('.').expect("two parts");
        assert_eq!(nonce, attempt.nonce);
        assert!(signer.verify(&attempt, tag));
        assert!(!integrations("key two").verify(&attempt, tag));
        let other_business = OAuthAttempt {
            business_id: BusinessId::generate(),
            ..attempt.clone()
        };
        assert!(!signer.verify(&other_business, tag));
        let other_provider = OAuthAttempt {
            provider: ProviderKind::MICROSOFT,
            ..attempt.clone()
        };
        assert!(!signer.verify(&other_provider, tag));
        assert!(!signer.verify(&attempt, "not base64!"));
        assert!(!signer.verify(&attempt, &tag[1..]));
    }
}
