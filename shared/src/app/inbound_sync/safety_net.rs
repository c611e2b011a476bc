//! The scheduled safety net: whatever the notifications did, every calendar is synced often enough, its full
//! sync moves the window forward daily, and its channel is renewed in time.
//!
//! The store keeps each watch by when the walk is next to look at it, so a run reads only the due ones. The walk
//! alone sets that time: when it finds nothing to do it sets the moment something falls due (the safety-net
//! sync, the daily full sync, the channel's renewal), and when it enqueues a sync it looks again a safety-net
//! period later. Syncs never move it, so a webhook's sync writes its cursor and no index key.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use jiff::{SignedDuration, Timestamp};

use super::{FULL_SYNC_EVERY, FULL_SYNC_SPREAD, RENEW_BEFORE, SAFETY_NET_AFTER, spread};
use crate::app::context::App;
use crate::app::error::AppError;
use crate::app::sync_core::calendar_job;
use crate::ports::{CalendarWatch, ConnectionStore, Job};

/// Due watches read per page by the scheduled walk.
const WATCH_PAGE: u32 = 100;
/// How many check times the walk writes at once.
const WRITES_AT_ONCE: usize = 16;

/// When the watch next needs a sync: [`SAFETY_NET_AFTER`] after its last sync, [`FULL_SYNC_EVERY`] after its last
/// full sync (less the watch's place in [`FULL_SYNC_SPREAD`]), or [`RENEW_BEFORE`] its channel's expiry, whichever
/// comes first; at once for what never happened.
fn sync_due_at(watch: &CalendarWatch) -> Timestamp {
    let after = |at: Option<Timestamp>, period: SignedDuration| {
        at.map_or(Timestamp::MIN, |at| {
            at.saturating_add(period).unwrap_or(Timestamp::MAX)
        })
    };
    let renewal = watch.channel.as_ref().map_or(Timestamp::MIN, |channel| {
        channel
            .expires_at
            .saturating_sub(RENEW_BEFORE)
            .unwrap_or(Timestamp::MIN)
    });
    after(watch.synced_at, SAFETY_NET_AFTER)
        .min(after(
            watch.full_sync_at,
            FULL_SYNC_EVERY - spread(watch.id, FULL_SYNC_SPREAD),
        ))
        .min(renewal)
}

/// The scheduled safety net: enqueues a sync for every calendar not synced for [`SAFETY_NET_AFTER`], whose full
/// sync is due, or whose push channel is missing or expires within [`RENEW_BEFORE`]; reads only the watches
/// whose check is due. Returns how many syncs it enqueued.
#[tracing::instrument(skip_all)]
pub async fn sync_stale_calendars<S: ConnectionStore + ?Sized>(
    app: &App<S>,
) -> Result<usize, AppError> {
    let now = app.clock.now();
    let next_look = now
        .saturating_add(SAFETY_NET_AFTER)
        .unwrap_or(Timestamp::MAX);
    let mut enqueued = 0;
    let mut after = None;
    loop {
        let page = app
            .store
            .calendar_watches_due(now, after, WATCH_PAGE)
            .await?;
        let Some(last) = page.last() else {
            return Ok(enqueued);
        };
        after = Some(last.place());
        let mut jobs: Vec<Job> = Vec::new();
        let mut checks = Vec::with_capacity(page.len());
        for scheduled in &page {
            let watch = &scheduled.watch;
            let due_at = sync_due_at(watch);
            let check_at = if due_at <= now {
                jobs.push(calendar_job(watch.business_id, watch.id, None));
                next_look
            } else {
                due_at
            };
            checks.push((watch.business_id, watch.id, watch.version, check_at));
        }
        // Enqueued before the check times move: a failure here leaves the watches due for the next run.
        app.queue
            .enqueue_many(&jobs, Duration::ZERO)
            .await
            .map_err(|error| AppError::Internal(Box::new(error)))?;
        enqueued += jobs.len();
        // A watch changed since it was read keeps its check time, and the next run looks at it afresh.
        futures::stream::iter(checks)
            .map(|(business_id, watch_id, version, check_at)| {
                app.store
                    .schedule_calendar_watch_check(business_id, watch_id, version, check_at)
            })
            .buffer_unordered(WRITES_AT_ONCE)
            .try_collect::<Vec<bool>>()
            .await?;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::BusinessId;
    use crate::ports::{ProviderKind, PushChannel};

    fn at(minutes: i64) -> Timestamp {
        Timestamp::UNIX_EPOCH
            + SignedDuration::from_hours(24 * 400)
            + SignedDuration::from_mins(minutes)
    }

    #[test]
    fn a_watch_is_due_at_its_first_pending_reason() {
        let mut watch = CalendarWatch::new(
            BusinessId::generate(),
            ProviderKind::GOOGLE,
            "primary".into(),
        );
        assert_eq!(sync_due_at(&watch), Timestamp::MIN, "never synced: at once");
        watch.synced_at = Some(at(0));
        watch.full_sync_at = Some(at(0));
        watch.channel = Some(PushChannel {
            id: "channel".into(),
            resource_id: None,
            expires_at: at(0) + RENEW_BEFORE + SignedDuration::from_hours(1),
        });
        assert_eq!(sync_due_at(&watch), at(0) + SAFETY_NET_AFTER);
        watch.channel.as_mut().unwrap().expires_at =
            at(0) + RENEW_BEFORE + SignedDuration::from_mins(1);
        assert_eq!(sync_due_at(&watch), at(1), "the renewal comes first");
        watch.channel = None;
        assert_eq!(
            sync_due_at(&watch),
            Timestamp::MIN,
            "no channel: open one at once"
        );
    }
}
