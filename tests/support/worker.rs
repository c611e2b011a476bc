//! The sync worker as the tests run it: without its waits, so that a test sees what each job did at once.

use std::time::Duration;

use booking_core::app::{self, SyncOutcome};
use booking_core::ports::ReceivedJob;

use crate::TestApp;

/// Runs one received job as the worker would: acknowledged once done, otherwise visible again at once (the attempt
/// still counts, so the queue dead-letters it as SQS would).
pub async fn settle(app: &TestApp, received: &ReceivedJob) {
    match app::run_sync_job(&app.app, &received.job, received.attempt).await {
        Ok(SyncOutcome::Done) => app.queue.ack(&received.receipt).await.unwrap(),
        Ok(SyncOutcome::RetryAfter(_)) | Err(_) => app
            .queue
            .retry_later(&received.receipt, Duration::ZERO)
            .await
            .unwrap(),
    }
}

/// Gives up on each dead letter as the dead-letter handler would, and removes it.
pub async fn give_up_on(app: &TestApp, dead_letters: Vec<ReceivedJob>) {
    for letter in dead_letters {
        app::give_up_sync(&app.app, &letter.job).await.unwrap();
        app.queue.ack_dead_letter(&letter.receipt).await.unwrap();
    }
}
