//! The scheduled safety net: whatever the notifications did, every calendar is synced often enough, its full
//! sync moves the window forward daily, and its channel is renewed in time.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::{FULL_SYNC_EVERY, RENEW_BEFORE, SAFETY_NET_AFTER};
use crate::app::context::App;
use crate::app::error::AppError;
use crate::app::sync_core::calendar_job;
use crate::ports::{ConnectionStore, Job};

/// Watches read per page by the scheduled walk.
const WATCH_PAGE: u32 = 100;

/// The scheduled safety net: enqueues a sync for every calendar not synced for [`SAFETY_NET_AFTER`], whose full
/// sync is due, or whose push channel is missing or expires within [`RENEW_BEFORE`]. Returns how many it enqueued.
#[tracing::instrument(skip_all)]
pub async fn sync_stale_calendars<S: ConnectionStore + ?Sized>(
    app: &App<S>,
) -> Result<usize, AppError> {
    let now = app.clock.now();
    let older_than = |at: Option<Timestamp>, period: SignedDuration| {
        at.is_none_or(|at| now.duration_since(at) >= period)
    };
    let mut enqueued = 0;
    let mut after = None;
    loop {
        let page = app.store.calendar_watches(after, WATCH_PAGE).await?;
        let Some(last) = page.last() else {
            return Ok(enqueued);
        };
        after = Some(last.business_id);
        let jobs: Vec<Job> = page
            .iter()
            .filter(|watch| {
                older_than(watch.synced_at, SAFETY_NET_AFTER)
                    || older_than(watch.full_sync_at, FULL_SYNC_EVERY)
                    || watch.channel.as_ref().is_none_or(|channel| {
                        channel.expires_at.duration_since(now) <= RENEW_BEFORE
                    })
            })
            .map(|watch| calendar_job(watch.business_id, None))
            .collect();
        app.queue
            .enqueue_many(&jobs, Duration::ZERO)
            .await
            .map_err(|error| AppError::Internal(Box::new(error)))?;
        enqueued += jobs.len();
    }
}
