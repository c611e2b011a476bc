//! Leases in the store, so that one holder at a time does a subject's work: the sync jobs of one appointment or one
//! calendar, the refresh of one connection's token.

use jiff::{SignedDuration, Timestamp};

use super::context::App;
use crate::ports::{LeaseStore, StoreError};

/// Runs `work` while holding the lease `name` (for at most `lifetime`, should the holder vanish) and then releases
/// it; `None`, without running `work`, when someone else holds it. What the holder does then is the caller's choice:
/// a job comes back later, a token refresh waits for the winner's token.
pub(super) async fn while_holding<S: LeaseStore + ?Sized, T>(
    app: &App<S>,
    name: &str,
    lifetime: SignedDuration,
    work: impl Future<Output = T>,
) -> Result<Option<T>, StoreError> {
    let holder = uuid::Uuid::new_v4().to_string();
    let now = app.clock.now();
    // Lifetimes are minutes; only a clock at the end of time overflows, and then the lease is held until released.
    let until = now.checked_add(lifetime).unwrap_or(Timestamp::MAX);
    if !app
        .store
        .try_acquire_lease(name, &holder, until, now)
        .await?
    {
        return Ok(None);
    }
    let done = work.await;
    if let Err(error) = app.store.release_lease(name, &holder).await {
        // The lease ends by itself; the next holder merely waits for it.
        tracing::warn!(lease = name, %error, "lease not released; it ends by itself");
    }
    Ok(Some(done))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::*;
    use crate::adapters::{EmbeddedStore, InProcessQueue};
    use crate::ports::{ManualClock, QueueSettings};

    fn app() -> App {
        let path = std::env::temp_dir().join(format!("lease-test-{}.redb", uuid::Uuid::new_v4()));
        App::new(
            Arc::new(EmbeddedStore::open(&path).unwrap()),
            Arc::new(InProcessQueue::new(QueueSettings::default())),
            Arc::new(ManualClock::new(Timestamp::UNIX_EPOCH)),
        )
    }

    #[tokio::test]
    async fn the_work_runs_only_while_nobody_else_holds_the_lease_and_frees_it_after() {
        let app = app();
        let minute = SignedDuration::from_mins(1);
        let nested = while_holding(&app, "subject", minute, async {
            while_holding(&app, "subject", minute, async { "ran twice" }).await
        })
        .await
        .unwrap();
        assert!(matches!(nested, Some(Ok(None))), "{nested:?}");
        let other_subject = while_holding(&app, "subject", minute, async {
            while_holding(&app, "another subject", minute, async { "ran" }).await
        })
        .await
        .unwrap();
        assert!(matches!(other_subject, Some(Ok(Some("ran")))));
        let after = while_holding(&app, "subject", minute, async { "ran again" })
            .await
            .unwrap();
        assert_eq!(after, Some("ran again"));
    }
}
