//! The provider's push notifications: each is checked against the channel we opened and its secret (in constant
//! time); authentic ones enqueue a sync, and lifecycle ones mark the channel for the sync to renew or reopen.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use subtle::ConstantTimeEq;

use super::channel::secret_hash;
use super::enqueue;
use crate::app::context::App;
use crate::app::error::AppError;
use crate::domain::{BusinessId, WatchId};
use crate::ports::ConnectionStore;
use crate::ports::{
    CalendarWatch, ProviderKind, PushChannel, PushEvent, PushNotification, StoreError,
};

/// Constant-time: a notification's secret must not be guessable a byte at a time from our response times.
fn secret_matches(presented: &str, stored_hash: &str) -> bool {
    let presented = secret_hash(presented);
    !stored_hash.is_empty() && bool::from(presented.as_bytes().ct_eq(stored_hash.as_bytes()))
}

/// The businesses a notification may be for. We put the business's id in front of the channel id where we choose
/// it (`{business}_{random}`), else in front of the secret the provider echoes (`{business}.{random}`); either
/// reading is only a lookup key, since [`is_authentic`] then checks the secret against the stored hash.
fn addressed_businesses(notification: &PushNotification) -> Vec<BusinessId> {
    let from_channel = notification.channel_id.split_once('_');
    let from_secret = notification
        .secret
        .as_deref()
        .and_then(|secret| secret.split_once('.'));
    let mut businesses: Vec<BusinessId> = [from_channel, from_secret]
        .into_iter()
        .flatten()
        .filter_map(|(business, _)| business.parse().ok())
        .collect();
    businesses.dedup();
    businesses
}

/// Whether the notification comes from the watch's live channel, or from the one being opened (whose id, where
/// the provider chooses it, is not known until it answers: its secret alone identifies it).
fn is_authentic(watch: &CalendarWatch, notification: &PushNotification) -> bool {
    let secret = notification.secret.as_deref().unwrap_or_default();
    let live = watch.channel.as_ref().is_some_and(|channel| {
        let same_resource = match (&channel.resource_id, &notification.resource_id) {
            (Some(ours), Some(theirs)) => ours == theirs,
            _ => true,
        };
        channel.id == notification.channel_id
            && same_resource
            && secret_matches(secret, &watch.secret_hash)
    });
    let opening = watch.opening.as_ref().is_some_and(|opening| {
        opening
            .id
            .as_deref()
            .is_none_or(|id| id == notification.channel_id)
            && secret_matches(secret, &opening.secret_hash)
    });
    live || opening
}

/// Checks each notification from `provider` against the channel we opened and its secret; acts on the authentic
/// ones (a sync for changes, a renewal when the provider asks for one, a new channel when it removed ours).
/// Refused when none is authentic; anything that does not match a live channel and its secret changes nothing.
#[tracing::instrument(skip_all, fields(%provider, count = notifications.len()))]
pub async fn accept_notifications<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    provider: ProviderKind,
    notifications: &[PushNotification],
) -> Result<(), AppError> {
    let mut authentic_seen = false;
    let mut to_sync = HashSet::new();
    // A batch usually names one channel many times: read each business's watches once.
    let mut watches: HashMap<BusinessId, Vec<CalendarWatch>> = HashMap::new();
    for notification in notifications {
        let mut addressed = None;
        for business_id in addressed_businesses(notification) {
            let followed = match watches.entry(business_id) {
                Entry::Occupied(read) => read.into_mut(),
                Entry::Vacant(unread) => {
                    let mut followed = app.store.calendar_watches(business_id).await?;
                    followed.retain(|watch| watch.provider == provider);
                    unread.insert(followed)
                }
            };
            addressed = followed
                .iter()
                .find(|watch| is_authentic(watch, notification))
                .map(|watch| (business_id, watch.id));
            if addressed.is_some() {
                break;
            }
        }
        let Some((business_id, watch_id)) = addressed else {
            continue;
        };
        authentic_seen = true;
        match notification.event {
            PushEvent::Opened => continue,
            PushEvent::Changed => {}
            PushEvent::RenewNow => {
                mark_channel(app, business_id, watch_id, ChannelMark::RenewNow).await?;
            }
            PushEvent::Removed => {
                mark_channel(app, business_id, watch_id, ChannelMark::Gone).await?
            }
        }
        to_sync.insert((business_id, watch_id));
    }
    if !authentic_seen && !notifications.is_empty() {
        return Err(AppError::WebhookRejected);
    }
    for (business_id, watch_id) in to_sync {
        enqueue(app, business_id, watch_id, true).await?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum ChannelMark {
    /// The provider wants the subscription renewed (reauthorized) now.
    RenewNow,
    /// The provider removed the subscription: the next sync opens a new one.
    Gone,
}

/// Records what a lifecycle notification said about the channel, so the sync it enqueues acts on it.
async fn mark_channel<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
    watch_id: WatchId,
    mark: ChannelMark,
) -> Result<(), AppError> {
    for _ in 0..5 {
        let Some(watch) = app.store.get_calendar_watch(business_id, watch_id).await? else {
            return Ok(());
        };
        let channel = match mark {
            ChannelMark::RenewNow => watch.channel.clone().map(|channel| PushChannel {
                expires_at: app.clock.now(),
                ..channel
            }),
            ChannelMark::Gone => None,
        };
        let marked = CalendarWatch {
            channel,
            version: watch.version + 1,
            ..watch.clone()
        };
        match app
            .store
            .put_calendar_watch(&marked, Some(watch.version))
            .await
        {
            Ok(()) | Err(StoreError::NotFound) => return Ok(()),
            Err(StoreError::VersionMismatch) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    // A sync keeps winning the race; the sync we enqueue renews an expiring channel anyway.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::inbound_sync::channel::random_secret;

    #[test]
    fn a_secret_matches_only_itself_and_never_an_empty_hash() {
        let secret = random_secret();
        let hash = secret_hash(&secret);
        assert!(secret_matches(&secret, &hash));
        assert!(!secret_matches(&random_secret(), &hash));
        assert!(!secret_matches("", ""));
        assert!(!secret_matches(&secret, ""));
    }
}
