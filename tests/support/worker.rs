//! The sync worker as the tests run it: without its waits, so that a test sees what each job did at once.

use std::time::Duration;

use booking_core::app::{self, SyncOutcome};
use booking_core::ports::{Job, ReceivedJob};

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

/// Runs queued jobs and dead letters until none is left, as the workers would without their waits. A job `intercept`
/// answers true for is taken off the queue instead of run (a test collecting what would have been sent).
pub async fn run_until_idle(app: &TestApp, mut intercept: impl FnMut(&Job) -> bool) {
    loop {
        let received = app.queue.receive(10, Duration::ZERO).await.unwrap();
        let dead = app
            .queue
            .receive_dead_letters(10, Duration::ZERO)
            .await
            .unwrap();
        if received.is_empty() && dead.is_empty() {
            return;
        }
        for job in &received {
            if intercept(&job.job) {
                app.queue.ack(&job.receipt).await.unwrap();
            } else {
                settle(app, job).await;
            }
        }
        give_up_on(app, dead).await;
    }
}
