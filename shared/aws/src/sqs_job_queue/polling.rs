//! What a long-running process needs of SQS beyond the `JobQueue` port, to do the work Lambda's event source does
//! for the functions: receive messages as the records of a Lambda SQS event (so the functions' handlers take them
//! unchanged), keep a message hidden while its job runs, and tell whether the queue answers.

use std::time::Duration;

use aws_lambda_events::event::sqs::SqsMessage;
use aws_sdk_sqs::types::QueueAttributeName;
use booking_core::ports::{QueueError, Receipt};

use super::{MAX_DELAY, SqsJobQueue, backend, seconds};

/// Which of the two queues to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncQueue {
    Jobs,
    DeadLetters,
}

impl SqsJobQueue {
    fn url_of(&self, queue: SyncQueue) -> &str {
        match queue {
            SyncQueue::Jobs => &self.queue_url,
            SyncQueue::DeadLetters => &self.dead_letter_queue_url,
        }
    }

    /// Long-polls `queue` for up to `max` messages, each as the record Lambda's SQS event would carry, body
    /// unparsed: a body that is not a job is the handler's to drop, as it is in the functions.
    pub async fn receive_records(
        &self,
        queue: SyncQueue,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<SqsMessage>, QueueError> {
        Ok(self
            .receive_messages(self.url_of(queue), max, wait)
            .await?
            .into_iter()
            .map(|message| {
                let mut record = SqsMessage::default();
                record.attributes = message
                    .attributes
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(name, value)| (name.as_str().to_owned(), value))
                    .collect();
                record.message_id = message.message_id;
                record.receipt_handle = message.receipt_handle;
                record.body = message.body;
                record
            })
            .collect())
    }

    /// Keeps a received job hidden from other consumers for `hidden_for` from now, while it still runs.
    pub async fn extend_visibility(
        &self,
        receipt: &Receipt,
        hidden_for: Duration,
    ) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(&receipt.0)
            .visibility_timeout(seconds(hidden_for, MAX_DELAY))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Whether both queues answer: one cheap read of each one's attributes.
    pub async fn check(&self) -> Result<(), QueueError> {
        for queue in [SyncQueue::Jobs, SyncQueue::DeadLetters] {
            self.client
                .get_queue_attributes()
                .queue_url(self.url_of(queue))
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                .send()
                .await
                .map_err(backend)?;
        }
        Ok(())
    }
}
