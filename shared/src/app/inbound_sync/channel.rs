//! Push channels: opened when there is none, renewed before they expire, closed as a courtesy when replaced. A
//! new channel's id and secret are announced in the store before the provider is asked.

use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::{RENEW_BEFORE, RENEWAL_SPREAD, spread};
use crate::app::context::App;
use crate::app::providers::Integrations;
use crate::app::sync_core::{SyncError, with_fresh_token};
use crate::ports::{
    CalendarWatch, ConnectionRef, OpeningChannel, ProviderSetup, PushChannel, PushRequest,
};
use crate::ports::{ConnectionStore, LeaseStore};

/// A fresh random secret: 64 hex digits, safe in a header, a channel id and a client state.
pub(super) fn random_secret() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub(super) fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Opens a push channel if there is none, renews it if it expires soon; updates `watch` with the result. A new
/// channel is announced in the store (its id and secret) before the provider is asked, so the notifications it
/// sends before answering are accepted; `watch.version` is then the announced one.
pub(super) async fn keep_channel_open<S: ConnectionStore + LeaseStore + ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    setup: &ProviderSetup,
    watch: &mut CalendarWatch,
) -> Result<(), SyncError> {
    let now = app.clock.now();
    let push = setup.calendar.push_settings();
    let expires_at = now
        .checked_add(push.channel_lifetime - spread(watch.id, RENEWAL_SPREAD))
        .map_err(SyncError::internal)?;
    let current = watch.channel.clone();
    if let Some(channel) = &current {
        if channel.expires_at.duration_since(now) > RENEW_BEFORE {
            return Ok(());
        }
        let renewed = with_fresh_token(
            app,
            integrations,
            setup,
            watch.connection(),
            |token| async move {
                setup
                    .calendar
                    .renew_push_channel(&token, channel, expires_at)
                    .await
            },
        )
        .await?;
        if let Some(renewed) = renewed {
            watch.channel = Some(renewed);
            return Ok(());
        }
    }
    let address = integrations.webhook_url(setup);
    let (channel_id, secret) = if push.we_name_channels {
        (
            format!("{}_{}", watch.business_id, &random_secret()[..20]),
            random_secret(),
        )
    } else {
        // The provider names the channel; the business rides in the secret instead.
        (
            String::new(),
            format!("{}.{}", watch.business_id, random_secret()),
        )
    };
    let secret = SecretString::from(secret);
    let opening = OpeningChannel {
        id: push.we_name_channels.then(|| channel_id.clone()),
        secret_hash: secret_hash(secret.expose_secret()),
    };
    let announced = CalendarWatch {
        opening: Some(opening.clone()),
        version: watch.version + 1,
        ..watch.clone()
    };
    app.store
        .put_calendar_watch(&announced, Some(watch.version))
        .await?;
    *watch = announced;
    let request = PushRequest {
        channel_id: &channel_id,
        address: &address,
        secret: &secret,
        expires_at,
    };
    let calendar_id = watch.calendar_id.as_str();
    let request = &request;
    let opened = with_fresh_token(
        app,
        integrations,
        setup,
        watch.connection(),
        |token| async move {
            setup
                .calendar
                .open_push_channel(&token, calendar_id, request)
                .await
        },
    )
    .await?;
    watch.channel = Some(opened);
    watch.secret_hash = opening.secret_hash;
    watch.opening = None;
    if let Some(old) = current {
        // The new channel is open; the old one would only send duplicates until it expires.
        close_channel(app, integrations, setup, watch.connection(), &old, "old ").await;
    }
    Ok(())
}

/// A channel this run opened but could not record would only send notifications we reject: close it.
pub(super) async fn close_unrecorded_channel<S: ConnectionStore + LeaseStore + ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    setup: &ProviderSetup,
    before: &CalendarWatch,
    after: &CalendarWatch,
) {
    let Some(opened) = after.channel.as_ref().filter(|channel| {
        before
            .channel
            .as_ref()
            .is_none_or(|old| old.id != channel.id)
    }) else {
        return;
    };
    close_channel(
        app,
        integrations,
        setup,
        after.connection(),
        opened,
        "unrecorded ",
    )
    .await;
}

/// Closes a push channel as a courtesy: one left open expires by itself, so a failure is only logged. `which`
/// names the channel in the log line ("old ", "unrecorded ").
pub(super) async fn close_channel<S: ConnectionStore + LeaseStore + ?Sized>(
    app: &App<S>,
    integrations: &Integrations,
    setup: &ProviderSetup,
    connection: ConnectionRef,
    channel: &PushChannel,
    which: &str,
) {
    let closed = with_fresh_token(app, integrations, setup, connection, |token| async move {
        setup.calendar.close_push_channel(&token, channel).await
    })
    .await;
    if let Err(error) = closed {
        let business_id = connection.business_id;
        tracing::warn!(%business_id, provider = %setup.kind(), %error, "{which}push channel not closed; it expires by itself");
    }
}
