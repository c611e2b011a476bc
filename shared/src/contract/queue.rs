//! What every `JobQueue` must do. Timings use whole seconds because SQS counts delays and visibility in seconds.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::domain::{AppointmentId, BusinessId};
use crate::ports::{Job, JobQueue, QueueSettings, ReceivedJob};

fn job(version: u64) -> Job {
    Job::SyncAppointment {
        business_id: BusinessId::generate(),
        appointment_id: AppointmentId::generate(),
        version,
    }
}

fn version_of(job: &Job) -> u64 {
    match job {
        Job::SyncAppointment { version, .. } => *version,
        Job::SyncCalendar { .. } | Job::SendEmail { .. } => 0,
    }
}

const SHORT_VISIBILITY: QueueSettings = QueueSettings {
    visibility_timeout: Duration::from_secs(1),
    max_receive_count: 3,
};
const LONG_VISIBILITY: QueueSettings = QueueSettings {
    visibility_timeout: Duration::from_secs(30),
    max_receive_count: 3,
};
const NO_WAIT: Duration = Duration::ZERO;
const WAIT: Duration = Duration::from_secs(5);
/// How long a contract waits for a job to become visible again before it fails.
const REDELIVERY_DEADLINE: Duration = Duration::from_secs(10);

/// Makes a fresh queue with the settings a contract needs, and a guard that keeps its resources alive: every
/// adapter's factory, seen the same way by each contract.
pub trait QueueFactory {
    type Guard;
    fn make(
        &self,
        settings: QueueSettings,
    ) -> impl Future<Output = (Arc<dyn JobQueue>, Self::Guard)>;
}

impl<F, Fut, G> QueueFactory for F
where
    F: Fn(QueueSettings) -> Fut,
    Fut: Future<Output = (Arc<dyn JobQueue>, G)>,
{
    type Guard = G;
    fn make(&self, settings: QueueSettings) -> impl Future<Output = (Arc<dyn JobQueue>, G)> {
        self(settings)
    }
}

/// The first jobs the main queue delivers after `since`, polling a second at a time until the deadline; empty if
/// none came.
async fn first_delivery(queue: &dyn JobQueue, since: Instant) -> Vec<ReceivedJob> {
    let mut received = Vec::new();
    while received.is_empty() && since.elapsed() < REDELIVERY_DEADLINE {
        received = queue.receive(10, Duration::from_secs(1)).await.unwrap();
    }
    received
}

/// Fails with `why` if the main queue hands out a job right now.
async fn assert_nothing_visible(queue: &dyn JobQueue, why: &str) {
    assert!(
        queue.receive(10, NO_WAIT).await.unwrap().is_empty(),
        "{why}"
    );
}

/// [`first_delivery`] from the dead-letter queue.
async fn first_dead_letters(queue: &dyn JobQueue, since: Instant) -> Vec<ReceivedJob> {
    let mut dead = Vec::new();
    while dead.is_empty() && since.elapsed() < REDELIVERY_DEADLINE {
        dead = queue
            .receive_dead_letters(10, Duration::from_secs(1))
            .await
            .unwrap();
    }
    dead
}

pub async fn jobs_are_received_and_acknowledged(make: impl QueueFactory) {
    let (queue, _guard) = make.make(LONG_VISIBILITY).await;
    queue.enqueue(&job(1), Duration::ZERO).await.unwrap();
    let received = queue.receive(10, WAIT).await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(version_of(&received[0].job), 1);
    assert_eq!(received[0].attempt, 1);
    queue.ack(&received[0].receipt).await.unwrap();
    assert!(
        queue
            .receive(10, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn a_delayed_job_stays_invisible_until_its_delay_passes(make: impl QueueFactory) {
    let (queue, _guard) = make.make(LONG_VISIBILITY).await;
    let enqueued_at = Instant::now();
    queue
        .enqueue(&job(1), Duration::from_secs(2))
        .await
        .unwrap();
    assert_nothing_visible(queue.as_ref(), "visible before its delay").await;
    let received = first_delivery(queue.as_ref(), enqueued_at).await;
    assert_eq!(received.len(), 1);
    assert!(
        enqueued_at.elapsed() >= Duration::from_millis(1900),
        "received after {:?}",
        enqueued_at.elapsed()
    );
}

pub async fn an_unacknowledged_job_is_redelivered_with_its_attempt_counted(
    make: impl QueueFactory,
) {
    let (queue, _guard) = make.make(SHORT_VISIBILITY).await;
    queue.enqueue(&job(7), Duration::ZERO).await.unwrap();
    let first = queue.receive(10, WAIT).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_nothing_visible(queue.as_ref(), "invisible while being worked on").await;
    let started = Instant::now();
    let second = first_delivery(queue.as_ref(), started).await;
    assert_eq!(second.len(), 1, "redelivered after the visibility timeout");
    assert_eq!(version_of(&second[0].job), 7);
    assert_eq!(second[0].attempt, 2);
    queue.ack(&second[0].receipt).await.unwrap();
}

pub async fn retry_later_redelivers_after_the_delay(make: impl QueueFactory) {
    let (queue, _guard) = make.make(LONG_VISIBILITY).await;
    queue.enqueue(&job(1), Duration::ZERO).await.unwrap();
    let first = queue.receive(10, WAIT).await.unwrap();
    assert_eq!(first.len(), 1);
    let postponed_at = Instant::now();
    queue
        .retry_later(&first[0].receipt, Duration::from_secs(2))
        .await
        .unwrap();
    assert_nothing_visible(queue.as_ref(), "visible before the retry delay").await;
    let again = first_delivery(queue.as_ref(), postponed_at).await;
    assert_eq!(again.len(), 1);
    assert!(postponed_at.elapsed() >= Duration::from_millis(1900));
    assert_eq!(again[0].attempt, 2);
}

pub async fn a_job_received_too_often_moves_to_the_dead_letter_queue(make: impl QueueFactory) {
    let settings = QueueSettings {
        visibility_timeout: Duration::from_secs(30),
        max_receive_count: 2,
    };
    let (queue, _guard) = make.make(settings).await;
    queue.enqueue(&job(9), Duration::ZERO).await.unwrap();
    for attempt in 1..=2 {
        let received = queue.receive(10, WAIT).await.unwrap();
        assert_eq!(received.len(), 1, "delivery {attempt}");
        assert_eq!(received[0].attempt, attempt);
        queue
            .retry_later(&received[0].receipt, Duration::ZERO)
            .await
            .unwrap();
    }
    assert!(
        queue
            .receive(10, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty(),
        "gone from the main queue"
    );
    let started = Instant::now();
    let dead = first_dead_letters(queue.as_ref(), started).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(version_of(&dead[0].job), 9);
    queue.ack_dead_letter(&dead[0].receipt).await.unwrap();
}

pub async fn a_receive_returns_at_most_ten_jobs(make: impl QueueFactory) {
    let (queue, _guard) = make.make(LONG_VISIBILITY).await;
    for version in 0..12 {
        queue.enqueue(&job(version), Duration::ZERO).await.unwrap();
    }
    let mut seen = BTreeSet::new();
    let started = Instant::now();
    while seen.len() < 12 && started.elapsed() < Duration::from_secs(15) {
        let batch = queue.receive(25, Duration::from_secs(1)).await.unwrap();
        assert!(batch.len() <= 10, "a batch of {}", batch.len());
        for received in batch {
            seen.insert(version_of(&received.job));
            queue.ack(&received.receipt).await.unwrap();
        }
    }
    assert_eq!(seen, (0..12).collect());
}

pub async fn acknowledging_twice_is_harmless(make: impl QueueFactory) {
    let (queue, _guard) = make.make(LONG_VISIBILITY).await;
    queue.enqueue(&job(1), Duration::ZERO).await.unwrap();
    let received = queue.receive(10, WAIT).await.unwrap();
    queue.ack(&received[0].receipt).await.unwrap();
    queue.ack(&received[0].receipt).await.unwrap();
}

pub async fn many_jobs_are_enqueued_at_once(make: impl QueueFactory) {
    let (queue, _guard) = make.make(LONG_VISIBILITY).await;
    let jobs: Vec<Job> = (1..=23).map(job).collect();
    queue.enqueue_many(&jobs, Duration::ZERO).await.unwrap();
    let mut versions = BTreeSet::new();
    let started = Instant::now();
    while versions.len() < jobs.len() && started.elapsed() < Duration::from_secs(20) {
        for received in queue.receive(10, Duration::from_secs(1)).await.unwrap() {
            versions.insert(version_of(&received.job));
            queue.ack(&received.receipt).await.unwrap();
        }
    }
    assert_eq!(versions, (1..=23).collect::<BTreeSet<u64>>());
}
