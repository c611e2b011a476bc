//! What Lambda's SQS event sources and EventBridge Scheduler do for the functions, done by loops in this process:
//! the sync worker, the dead-letter handler and the scheduled work. The work is the functions' own: records go
//! through the same handlers (`handle_sync_batch`, `handle_dead_letters`, which settle jobs with
//! `app::run_delivered_job` and `app::give_up_sync`), and each tick runs `app::run_scheduled_work`.
//!
//! Several instances may run at once: SQS hands each message to one of them (jobs are safe to run twice anyway), and
//! a lease per tick in the store lets one instance run the scheduled work.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use booking_aws::lambda::{handle_dead_letters, handle_sync_batch};
use booking_aws::sqs_job_queue::{SqsJobQueue, SyncQueue};
use booking_core::app::{self, App};
use booking_core::ports::{JobQueue, Receipt};
use futures::StreamExt;
use jiff::Timestamp;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// SQS's longest long poll.
const RECEIVE_WAIT: Duration = Duration::from_secs(20);
/// Jobs worked on at once, as one Lambda batch.
const SYNC_CONCURRENCY: usize = 10;
/// A running job's message is kept hidden this long from each renewal, which comes every [`RENEW_EVERY`]: well
/// inside the queue's own visibility timeout, and short enough that the job of an instance that died comes back
/// within a minute.
const HIDDEN_FOR: Duration = Duration::from_secs(60);
const RENEW_EVERY: Duration = Duration::from_secs(20);
/// After SQS failed to answer, before asking again.
const PAUSE_AFTER_ERROR: Duration = Duration::from_secs(5);
/// The lease that lets one instance run each tick's scheduled work.
const SCHEDULE_LEASE: &str = "scheduled-work";
/// Ticks start this long after their boundary, so a timer that fires a little early never runs a tick twice.
const TICK_MARGIN: Duration = Duration::from_millis(50);

/// Starts the sync worker, the dead-letter handler and the scheduled work; each finishes what it has in hand and
/// ends once `stopping` turns true.
pub fn spawn(
    app: &App,
    queue: Arc<SqsJobQueue>,
    schedule_every: Duration,
    stopping: &watch::Receiver<bool>,
) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    tasks.spawn(work_sync_jobs(app.clone(), queue.clone(), stopping.clone()));
    tasks.spawn(handle_dead_letters_until_stopped(
        app.clone(),
        queue,
        stopping.clone(),
    ));
    tasks.spawn(run_scheduled_work_each_tick(
        app.clone(),
        schedule_every,
        stopping.clone(),
    ));
    tasks
}

/// Resolves once the process is stopping.
pub async fn stopped(mut stopping: watch::Receiver<bool>) {
    // An error means the sender is gone, which only happens when the process is ending anyway.
    let _ = stopping.wait_for(|stopping| *stopping).await;
}

/// Receives records from `queue`, or `None` once the process is stopping. A long poll cut short by stopping may
/// have taken messages SQS then hides for their visibility timeout; they come back after it.
async fn receive(
    queue: &SqsJobQueue,
    which: SyncQueue,
    max: usize,
    stopping: &watch::Receiver<bool>,
) -> Option<Vec<SqsMessage>> {
    loop {
        let received = tokio::select! {
            biased;
            () = stopped(stopping.clone()) => return None,
            received = queue.receive_records(which, max, RECEIVE_WAIT) => received,
        };
        match received {
            Ok(records) => return Some(records),
            Err(error) => {
                tracing::warn!(%error, queue = ?which, "receiving from SQS failed");
                tokio::select! {
                    () = stopped(stopping.clone()) => return None,
                    () = tokio::time::sleep(PAUSE_AFTER_ERROR) => {}
                }
            }
        }
    }
}

fn event_of(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

async fn work_sync_jobs(app: App, queue: Arc<SqsJobQueue>, stopping: watch::Receiver<bool>) {
    while let Some(records) = receive(&queue, SyncQueue::Jobs, SYNC_CONCURRENCY, &stopping).await {
        futures::stream::iter(records)
            .for_each_concurrent(SYNC_CONCURRENCY, |record| {
                run_sync_record(&app, &queue, record)
            })
            .await;
    }
}

/// Runs one job as the sync-worker function would, keeping its message hidden meanwhile, and deletes it when done.
/// A job to retry already gave its message its backoff; a failed one is left to come back when its visibility
/// ends, and to go to the dead-letter queue once SQS's redrive policy says so.
async fn run_sync_record(app: &App, queue: &SqsJobQueue, record: SqsMessage) {
    let receipt = Receipt(record.receipt_handle.clone().unwrap_or_default());
    let settled = tokio::select! {
        biased;
        response = handle_sync_batch(app, event_of(vec![record])) => response,
        never = keep_hidden(queue, &receipt) => match never {},
    };
    if settled.batch_item_failures.is_empty()
        && let Err(error) = queue.ack(&receipt).await
    {
        // The message comes back and the job runs again, which jobs are made to survive.
        tracing::warn!(%error, "sync job done but its message not deleted");
    }
}

/// Renews the message's visibility until dropped. A renewal still in flight when the job ends can land after the
/// job's own backoff and replace it; the job then merely comes back after [`HIDDEN_FOR`] instead.
async fn keep_hidden(queue: &SqsJobQueue, receipt: &Receipt) -> Infallible {
    let mut renewals =
        tokio::time::interval_at(tokio::time::Instant::now() + RENEW_EVERY, RENEW_EVERY);
    loop {
        renewals.tick().await;
        if let Err(error) = queue.extend_visibility(receipt, HIDDEN_FOR).await {
            tracing::warn!(%error, "could not keep a running job's message hidden");
        }
    }
}

/// Each batch of dead letters goes through the dead-letter function's handler; the records it does not report as
/// failed are deleted, as Lambda's event source deletes them.
async fn handle_dead_letters_until_stopped(
    app: App,
    queue: Arc<SqsJobQueue>,
    stopping: watch::Receiver<bool>,
) {
    while let Some(records) = receive(&queue, SyncQueue::DeadLetters, 10, &stopping).await {
        let receipts: Vec<(String, Receipt)> = records
            .iter()
            .filter_map(|record| {
                Some((
                    record.message_id.clone()?,
                    Receipt(record.receipt_handle.clone()?),
                ))
            })
            .collect();
        let response = handle_dead_letters(&app, event_of(records)).await;
        let again: HashSet<&str> = response
            .batch_item_failures
            .iter()
            .map(|failure| failure.item_identifier.as_str())
            .collect();
        for (message_id, receipt) in &receipts {
            if again.contains(message_id.as_str()) {
                continue;
            }
            if let Err(error) = queue.ack_dead_letter(receipt).await {
                tracing::warn!(%error, "dead letter handled but not deleted; it will be handled again");
            }
        }
    }
}

/// Ticks fall on multiples of `every` since the Unix epoch, the same instants on every instance; the instance that
/// takes the lease for a tick (held until the next tick begins, never released early) runs the work.
async fn run_scheduled_work_each_tick(app: App, every: Duration, stopping: watch::Receiver<bool>) {
    let holder = uuid::Uuid::new_v4().to_string();
    let every_seconds = i64::try_from(every.as_secs()).unwrap_or(i64::MAX).max(1);
    let mut last_tick = None;
    loop {
        let now = app.clock.now();
        let tick = now.as_second().div_euclid(every_seconds);
        if last_tick != Some(tick) {
            last_tick = Some(tick);
            run_tick(&app, &holder, tick, every_seconds, now).await;
        }
        let next_start = Timestamp::from_second((tick + 1).saturating_mul(every_seconds))
            .unwrap_or(Timestamp::MAX);
        let wait =
            Duration::try_from(next_start.duration_since(app.clock.now())).unwrap_or_default();
        tokio::select! {
            () = stopped(stopping.clone()) => return,
            () = tokio::time::sleep(wait + TICK_MARGIN) => {}
        }
    }
}

async fn run_tick(app: &App, holder: &str, tick: i64, every_seconds: i64, now: Timestamp) {
    let tick_end =
        Timestamp::from_second((tick + 1).saturating_mul(every_seconds)).unwrap_or(Timestamp::MAX);
    match app
        .store
        .try_acquire_lease(SCHEDULE_LEASE, holder, tick_end, now)
        .await
    {
        Ok(true) => match app::run_scheduled_work(app).await {
            Ok(report) => tracing::info!(tick, ?report, "scheduled work ran"),
            Err(error) => {
                tracing::warn!(tick, %error, "scheduled work failed; the next tick runs it again")
            }
        },
        Ok(false) => tracing::debug!(tick, "another instance runs this tick's scheduled work"),
        Err(error) => {
            tracing::warn!(tick, %error, "scheduled work lease not taken; skipping the tick")
        }
    }
}
