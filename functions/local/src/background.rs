//! What SQS's Lambda event sources and EventBridge do on AWS, done by loops in the local process: the sync worker,
//! the dead-letter handler and the scheduled sweep. The work itself is booking-core's, shared with the Lambdas:
//! each job is settled by `app::run_delivered_job`, and each tick runs `app::run_scheduled_work`.

use std::time::Duration;

use booking_core::app::{self, App, JobEnd};
use booking_core::ports::ReceivedJob;
use futures::StreamExt;

const SWEEP_EVERY: Duration = Duration::from_secs(60);
const DEAD_LETTER_WAIT: Duration = Duration::from_secs(20);
const JOB_WAIT: Duration = Duration::from_secs(20);
/// Jobs worked on at once, as a Lambda batch would be.
const SYNC_CONCURRENCY: usize = 10;
/// After an unexpected error (the store failed), the job comes back after this long.
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(10);

/// Starts the sync worker, the scheduled sweep and the dead-letter handler; they run until the process ends.
pub fn spawn(app: &App) {
    tokio::spawn(sync_forever(app.clone()));
    tokio::spawn(sweep_forever(app.clone()));
    tokio::spawn(handle_dead_letters_forever(app.clone()));
}

async fn sync_forever(app: App) {
    loop {
        let received = match app.queue.receive(SYNC_CONCURRENCY, JOB_WAIT).await {
            Ok(received) => received,
            Err(error) => {
                tracing::warn!(%error, "receiving sync jobs failed");
                tokio::time::sleep(JOB_WAIT).await;
                continue;
            }
        };
        futures::stream::iter(received)
            .for_each_concurrent(SYNC_CONCURRENCY, |received| sync_one(&app, received))
            .await;
    }
}

async fn sync_one(app: &App, received: ReceivedJob) {
    let settled = match app::run_delivered_job(app, &received).await {
        JobEnd::Done => app.queue.ack(&received.receipt).await,
        JobEnd::Postponed => Ok(()),
        JobEnd::Failed => {
            app.queue
                .retry_later(&received.receipt, RETRY_AFTER_ERROR)
                .await
        }
    };
    if let Err(error) = settled {
        // The visibility timeout brings the job back; jobs are state-based, so running it twice is harmless.
        tracing::warn!(%error, "sync job not settled with the queue");
    }
}

async fn sweep_forever(app: App) {
    let mut ticks = tokio::time::interval(SWEEP_EVERY);
    loop {
        ticks.tick().await;
        if let Err(error) = app::run_scheduled_work(&app).await {
            tracing::warn!(%error, "scheduled work failed; retrying at the next tick");
        }
        // DynamoDB's TTL removes expired holds on AWS; the embedded store has none, so this loop stands in for it.
        if let Err(error) = app::remove_expired_holds(&app).await {
            tracing::warn!(%error, "removing expired holds failed; retrying at the next tick");
        }
    }
}

async fn handle_dead_letters_forever(app: App) {
    loop {
        let received = match app.queue.receive_dead_letters(10, DEAD_LETTER_WAIT).await {
            Ok(received) => received,
            Err(error) => {
                tracing::warn!(%error, "reading dead letters failed");
                tokio::time::sleep(DEAD_LETTER_WAIT).await;
                continue;
            }
        };
        for dead in received {
            match app::give_up_sync(&app, &dead.job).await {
                Ok(()) => {
                    if let Err(error) = app.queue.ack_dead_letter(&dead.receipt).await {
                        tracing::warn!(%error, "dead letter handled but not deleted; it will be handled again");
                    }
                }
                Err(error) => tracing::warn!(%error, "dead letter not handled; it will be retried"),
            }
        }
    }
}
