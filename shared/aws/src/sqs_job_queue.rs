//! `JobQueue` on SQS: the sync queue and its dead-letter queue. The redrive policy (`maxReceiveCount`) lives on the
//! queue (SAM template), so SQS itself moves an exhausted job to the dead-letter queue. Every job is sent with the
//! business as its message group, which makes the standard queue an SQS fair queue: one business's backlog does not
//! delay another's jobs.

mod polling;

pub use polling::SyncQueue;

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, SendMessageBatchRequestEntry};
use booking_core::ports::{Job, JobQueue, QueueError, Receipt, ReceivedJob};

/// SQS's limits: 10 messages a receive or batch, 20 s of long polling, 15 min of delay or visibility change.
const MAX_BATCH: usize = 10;
const MAX_WAIT: Duration = Duration::from_secs(20);
const MAX_DELAY: Duration = Duration::from_secs(900);

#[derive(Clone, Debug)]
pub struct SqsJobQueue {
    client: Client,
    queue_url: String,
    dead_letter_queue_url: String,
}

fn backend(error: impl std::error::Error + Send + Sync + 'static) -> QueueError {
    QueueError::Backend(Box::new(error))
}

fn seconds(duration: Duration, cap: Duration) -> i32 {
    // Rounded up, so a delay is never shorter than asked for.
    duration.min(cap).as_millis().div_ceil(1000) as i32
}

fn encode(job: &Job) -> Result<String, QueueError> {
    serde_json::to_string(job).map_err(QueueError::Codec)
}

impl SqsJobQueue {
    pub fn new(client: Client, queue_url: String, dead_letter_queue_url: String) -> Self {
        Self {
            client,
            queue_url,
            dead_letter_queue_url,
        }
    }

    /// SendMessageBatch, ten to a request; fails if any entry was refused.
    async fn send_batches(&self, jobs: &[Job], delay: Duration) -> Result<(), QueueError> {
        for chunk in jobs.chunks(MAX_BATCH) {
            let mut request = self.client.send_message_batch().queue_url(&self.queue_url);
            for (index, job) in chunk.iter().enumerate() {
                request = request.entries(
                    SendMessageBatchRequestEntry::builder()
                        .id(index.to_string())
                        .message_body(encode(job)?)
                        // A standard queue with message groups is an SQS fair queue: a business whose backlog
                        // grows (a reconnect with thousands of appointments, a flood of webhooks) is served
                        // after the others' jobs, not before them.
                        .message_group_id(job.group().to_string())
                        .delay_seconds(seconds(delay, MAX_DELAY))
                        .build()
                        .map_err(backend)?,
                );
            }
            let output = request.send().await.map_err(backend)?;
            if let Some(failed) = output.failed.first() {
                return Err(QueueError::Backend(
                    format!(
                        "SQS refused {} of {} jobs: {} ({})",
                        output.failed.len(),
                        chunk.len(),
                        failed.message.as_deref().unwrap_or("no message"),
                        failed.code
                    )
                    .into(),
                ));
            }
        }
        Ok(())
    }

    /// Long-polls `queue_url` for up to `max` messages, with their delivery count.
    async fn receive_messages(
        &self,
        queue_url: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Message>, QueueError> {
        let output = self
            .client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(max.clamp(1, MAX_BATCH) as i32)
            .wait_time_seconds(seconds(wait, MAX_WAIT))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(backend)?;
        Ok(output.messages.unwrap_or_default())
    }

    async fn receive_from(
        &self,
        queue_url: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<ReceivedJob>, QueueError> {
        let mut received = Vec::new();
        for message in self.receive_messages(queue_url, max, wait).await? {
            let (Some(body), Some(receipt)) = (message.body, message.receipt_handle) else {
                continue;
            };
            let attempt = message
                .attributes
                .as_ref()
                .and_then(|attributes| {
                    attributes.get(&MessageSystemAttributeName::ApproximateReceiveCount)
                })
                .and_then(|count| count.parse().ok())
                .unwrap_or(1);
            received.push(ReceivedJob {
                job: serde_json::from_str(&body).map_err(QueueError::Codec)?,
                receipt: Receipt(receipt),
                attempt,
            });
        }
        Ok(received)
    }

    async fn delete_from(&self, queue_url: &str, receipt: &Receipt) -> Result<(), QueueError> {
        match self
            .client
            .delete_message()
            .queue_url(queue_url)
            .receipt_handle(&receipt.0)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            // Deleting twice is fine: SQS answers the second with an invalid receipt only for malformed handles.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_receipt_handle_is_invalid()) =>
            {
                Err(QueueError::UnknownReceipt)
            }
            Err(error) => Err(backend(error)),
        }
    }
}

#[async_trait]
impl JobQueue for SqsJobQueue {
    async fn enqueue(&self, job: &Job, delay: Duration) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(encode(job)?)
            .message_group_id(job.group().to_string())
            .delay_seconds(seconds(delay, MAX_DELAY))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn enqueue_many(&self, jobs: &[Job], delay: Duration) -> Result<(), QueueError> {
        self.send_batches(jobs, delay).await
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<ReceivedJob>, QueueError> {
        self.receive_from(&self.queue_url, max, wait).await
    }

    async fn ack(&self, receipt: &Receipt) -> Result<(), QueueError> {
        self.delete_from(&self.queue_url, receipt).await
    }

    async fn retry_later(&self, receipt: &Receipt, delay: Duration) -> Result<(), QueueError> {
        match self
            .client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(&receipt.0)
            .visibility_timeout(seconds(delay, MAX_DELAY))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error)
                if error.as_service_error().is_some_and(|error| {
                    error.is_receipt_handle_is_invalid() || error.is_message_not_inflight()
                }) =>
            {
                Err(QueueError::UnknownReceipt)
            }
            Err(error) => Err(backend(error)),
        }
    }

    async fn receive_dead_letters(
        &self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<ReceivedJob>, QueueError> {
        self.receive_from(&self.dead_letter_queue_url, max, wait)
            .await
    }

    async fn ack_dead_letter(&self, receipt: &Receipt) -> Result<(), QueueError> {
        self.delete_from(&self.dead_letter_queue_url, receipt).await
    }
}
