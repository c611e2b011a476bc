//! `JobQueue` in memory with SQS's semantics, for the local server: delays, visibility timeouts, receive counts and
//! a dead-letter queue after `max_receive_count` receives. Jobs do not survive a restart; the scheduled sweep
//! re-enqueues whatever is still pending.

use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Mutex, Notify};
use tokio::time::Instant;
use uuid::Uuid;

use crate::ports::{Job, JobQueue, QueueError, QueueSettings, Receipt, ReceivedJob};

const MAX_BATCH: usize = 10;
const RECEIPT_PREFIX: &str = "local-";

struct Message {
    job: Job,
    visible_at: Instant,
    receive_count: u32,
    receipt: Option<Receipt>,
}

#[derive(Default)]
struct Queues {
    main: VecDeque<Message>,
    dead: VecDeque<Message>,
}

pub struct InProcessQueue {
    settings: QueueSettings,
    queues: Mutex<Queues>,
    arrived: Notify,
}

fn new_receipt() -> Receipt {
    Receipt(format!("{RECEIPT_PREFIX}{}", Uuid::new_v4()))
}

/// Takes up to `max` visible messages from `queue`, marking them received. Messages already received
/// `dead_letter_after` times are moved to `dead` instead, as SQS's redrive does on the next receive.
fn take_visible(
    queue: &mut VecDeque<Message>,
    mut dead: Option<&mut VecDeque<Message>>,
    settings: QueueSettings,
    max: usize,
    now: Instant,
) -> Vec<ReceivedJob> {
    let mut received = Vec::new();
    let mut index = 0;
    while index < queue.len() && received.len() < max {
        let Some(message) = queue.get_mut(index) else {
            break;
        };
        if message.visible_at > now {
            index += 1;
            continue;
        }
        if let Some(dead) = dead.as_deref_mut() {
            if message.receive_count >= settings.max_receive_count {
                if let Some(mut expired) = queue.remove(index) {
                    expired.receipt = None;
                    expired.visible_at = now;
                    dead.push_back(expired);
                }
                continue;
            }
        }
        message.receive_count += 1;
        message.visible_at = now + settings.visibility_timeout;
        let receipt = new_receipt();
        message.receipt = Some(receipt.clone());
        received.push(ReceivedJob {
            job: message.job.clone(),
            receipt,
            attempt: message.receive_count,
        });
        index += 1;
    }
    received
}

fn next_visible(queue: &VecDeque<Message>) -> Option<Instant> {
    queue.iter().map(|message| message.visible_at).min()
}

impl InProcessQueue {
    pub fn new(settings: QueueSettings) -> Self {
        Self {
            settings,
            queues: Mutex::new(Queues::default()),
            arrived: Notify::new(),
        }
    }

    async fn receive_from(
        &self,
        dead_letters: bool,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<ReceivedJob>, QueueError> {
        let max = max.clamp(1, MAX_BATCH);
        let deadline = Instant::now() + wait;
        loop {
            let notified = self.arrived.notified();
            let wake_at = {
                let mut queues = self.queues.lock().await;
                let now = Instant::now();
                let Queues { main, dead } = &mut *queues;
                let received = if dead_letters {
                    take_visible(dead, None, self.settings, max, now)
                } else {
                    take_visible(main, Some(dead), self.settings, max, now)
                };
                if !received.is_empty() || now >= deadline {
                    return Ok(received);
                }
                let source = if dead_letters {
                    &queues.dead
                } else {
                    &queues.main
                };
                next_visible(source).map_or(deadline, |at| at.min(deadline))
            };
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep_until(wake_at) => {}
            }
        }
    }

    async fn delete(&self, dead_letters: bool, receipt: &Receipt) -> Result<(), QueueError> {
        if !receipt.0.starts_with(RECEIPT_PREFIX) {
            return Err(QueueError::UnknownReceipt);
        }
        let mut queues = self.queues.lock().await;
        let queue = if dead_letters {
            &mut queues.dead
        } else {
            &mut queues.main
        };
        // A stale receipt (the job was redelivered or already deleted) is accepted and changes nothing, as in SQS.
        queue.retain(|message| message.receipt.as_ref() != Some(receipt));
        Ok(())
    }
}

#[async_trait]
impl JobQueue for InProcessQueue {
    async fn enqueue(&self, job: &Job, delay: Duration) -> Result<(), QueueError> {
        let message = Message {
            job: job.clone(),
            visible_at: Instant::now() + delay,
            receive_count: 0,
            receipt: None,
        };
        self.queues.lock().await.main.push_back(message);
        self.arrived.notify_waiters();
        Ok(())
    }

    async fn receive(&self, max: usize, wait: Duration) -> Result<Vec<ReceivedJob>, QueueError> {
        self.receive_from(false, max, wait).await
    }

    async fn ack(&self, receipt: &Receipt) -> Result<(), QueueError> {
        self.delete(false, receipt).await
    }

    async fn retry_later(&self, receipt: &Receipt, delay: Duration) -> Result<(), QueueError> {
        let mut queues = self.queues.lock().await;
        let message = queues
            .main
            .iter_mut()
            .find(|message| message.receipt.as_ref() == Some(receipt))
            .ok_or(QueueError::UnknownReceipt)?;
        message.visible_at = Instant::now() + delay;
        drop(queues);
        self.arrived.notify_waiters();
        Ok(())
    }

    async fn receive_dead_letters(
        &self,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<ReceivedJob>, QueueError> {
        self.receive_from(true, max, wait).await
    }

    async fn ack_dead_letter(&self, receipt: &Receipt) -> Result<(), QueueError> {
        self.delete(true, receipt).await
    }
}
