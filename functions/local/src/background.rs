//! What EventBridge and the dead-letter queue's event source do on AWS, done by loops in the local process.

use std::time::Duration;

use shared::app::{self, App};

const SWEEP_EVERY: Duration = Duration::from_secs(60);
const DEAD_LETTER_WAIT: Duration = Duration::from_secs(20);

/// Starts the scheduled sweep and the dead-letter handler; they run until the process ends.
pub fn spawn(app: &App) {
    tokio::spawn(sweep_forever(app.clone()));
    tokio::spawn(handle_dead_letters_forever(app.clone()));
}

async fn sweep_forever(app: App) {
    let mut ticks = tokio::time::interval(SWEEP_EVERY);
    loop {
        ticks.tick().await;
        if let Err(error) = app::requeue_stale_pending(&app).await {
            tracing::warn!(%error, "stale-pending sweep failed; retrying at the next tick");
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
