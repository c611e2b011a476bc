//! The job queue port ([`JobQueue`]): the work the worker does (calendar sync, outgoing mail), and the SQS semantics both adapters keep
//! (at-least-once delivery, visibility timeouts, a dead-letter queue after too many receives).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::Email;
use crate::domain::{AppointmentId, BusinessId, WatchId};

/// Work for the sync worker. Jobs name state, not operations: the worker reads the appointment's current state and
/// makes the calendar match it, so a duplicate or reordered job is harmless.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Job {
    SyncAppointment {
        business_id: BusinessId,
        appointment_id: AppointmentId,
        version: u64,
    },
    /// Bring the busy-time cache of one followed calendar up to date.
    SyncCalendar {
        business_id: BusinessId,
        /// The watch of the calendar. `None` (a job queued by the release before each checked calendar had its own
        /// watch) stands for every watch of the business: the job queues one for each.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        watch_id: Option<WatchId>,
        /// When a push notification asked for it: a sync that started reading well after this has already seen the
        /// change, so the job is done. `None` (selection, the safety net) always syncs.
        #[serde(default)]
        requested_at: Option<Timestamp>,
    },
    /// Send one message through the mailer; retried with backoff while the mail service is unavailable, so the page
    /// that asked for it never waits on the service. The only job that carries its content: a message is not state
    /// the worker could read back.
    SendEmail { email: Email },
}

impl Job {
    /// Whose turn the job waits for: queues serve groups in turn by it (SQS fair queues take it as the message
    /// group), so one business's backlog does not delay the others'.
    pub fn group(&self) -> JobGroup {
        match self {
            Self::SyncAppointment { business_id, .. } | Self::SyncCalendar { business_id, .. } => {
                JobGroup::Business(*business_id)
            }
            Self::SendEmail { .. } => JobGroup::Mail,
        }
    }
}

/// A lane of fair queuing: each business's sync work, and the messages to send (light, and never worth delaying
/// behind a business's backlog).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobGroup {
    Business(BusinessId),
    Mail,
}

impl fmt::Display for JobGroup {
    /// The SQS message group id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Business(business_id) => business_id.fmt(f),
            Self::Mail => f.write_str("mail"),
        }
    }
}

/// How a queue redelivers: SQS's visibility timeout and its redrive policy's `maxReceiveCount`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueSettings {
    pub visibility_timeout: Duration,
    pub max_receive_count: u32,
}

impl Default for QueueSettings {
    /// As the SAM template configures the sync queue.
    fn default() -> Self {
        Self {
            visibility_timeout: Duration::from_secs(60),
            max_receive_count: 8,
        }
    }
}

/// Proof of receipt, needed to acknowledge or postpone a received job.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Receipt(pub String);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedJob {
    pub job: Job,
    pub receipt: Receipt,
    /// 1 on the first delivery, counting every delivery since (SQS's ApproximateReceiveCount).
    pub attempt: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("unknown or expired receipt")]
    UnknownReceipt,
    #[error("job could not be encoded or decoded")]
    Codec(#[source] serde_json::Error),
    #[error("queue backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A job queue with SQS semantics: at-least-once delivery, a delay before a job first becomes visible, a visibility
/// timeout after each receive, and a dead-letter queue that takes a job once it has been received
/// `max_receive_count` times without being acknowledged. Businesses are served fairly: one business's backlog does
/// not hold back the jobs of another (SQS fair queues; the in-process queue takes turns).
#[async_trait]
pub trait JobQueue: Send + Sync + 'static {
    /// Makes `job` receivable after `delay` (at most 15 minutes, as SQS allows).
    async fn enqueue(&self, job: &Job, delay: Duration) -> Result<(), QueueError>;

    /// Enqueues every job, as few requests as the backend allows (SQS: ten a batch). All of them, or an error.
    async fn enqueue_many(&self, jobs: &[Job], delay: Duration) -> Result<(), QueueError> {
        for job in jobs {
            self.enqueue(job, delay).await?;
        }
        Ok(())
    }

    /// Up to `max` visible jobs (at most 10), waiting up to `wait` for the first. Each received job stays invisible
    /// for the queue's visibility timeout unless acknowledged or postponed.
    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<ReceivedJob>, QueueError>;

    /// Removes a received job for good.
    async fn ack(&self, receipt: &Receipt) -> Result<(), QueueError>;

    /// Makes a received job visible again after `delay` (backoff for a retry); counts as a failed attempt.
    async fn retry_later(&self, receipt: &Receipt, delay: Duration) -> Result<(), QueueError>;

    /// Up to `max` jobs from the dead-letter queue, with the same visibility rules.
    async fn receive_dead_letters(
        &self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<ReceivedJob>, QueueError>;

    /// Removes a received dead letter for good.
    async fn ack_dead_letter(&self, receipt: &Receipt) -> Result<(), QueueError>;
}
