//! `JobQueue` in memory with SQS's semantics, for the local server: delays, visibility timeouts, receive counts and
//! a dead-letter queue after `max_receive_count` receives. Jobs do not survive a restart; the scheduled sweep
//! re-enqueues whatever is still pending.
//!
//! Fair like an SQS fair queue: each business has its own lane, and a receive takes one visible job from each lane
//! in turn, so a business with thousands of jobs waiting does not delay another's one.

use std::collections::VecDeque;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Mutex, Notify};
use tokio::time::Instant;
use uuid::Uuid;

use crate::ports::{Job, JobGroup, JobQueue, QueueError, QueueSettings, Receipt, ReceivedJob};

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
    /// One lane per business with jobs, in the order their turns come; a lane that has just been served goes last.
    lanes: VecDeque<Lane>,
    dead: VecDeque<Message>,
}

struct Lane {
    group: JobGroup,
    messages: VecDeque<Message>,
}

impl Queues {
    fn lane_of(&mut self, group: JobGroup) -> &mut VecDeque<Message> {
        let index = match self.lanes.iter().position(|lane| lane.group == group) {
            Some(index) => index,
            None => {
                self.lanes.push_back(Lane {
                    group,
                    messages: VecDeque::new(),
                });
                self.lanes.len() - 1
            }
        };
        &mut self.lanes[index].messages
    }

    /// Up to `max` visible jobs, one lane at a time in turn: a round takes one job from each lane that has a
    /// visible one, and rounds repeat until `max` is reached or a round finds nothing.
    fn take_in_turn(
        &mut self,
        settings: QueueSettings,
        max: usize,
        now: Instant,
    ) -> Vec<ReceivedJob> {
        let mut received = Vec::new();
        loop {
            let mut took = false;
            for _ in 0..self.lanes.len() {
                if received.len() >= max {
                    return received;
                }
                let Some(mut lane) = self.lanes.pop_front() else {
                    break;
                };
                let job = take_visible(&mut lane.messages, Some(&mut self.dead), settings, 1, now);
                took |= !job.is_empty();
                received.extend(job);
                if !lane.messages.is_empty() {
                    self.lanes.push_back(lane);
                }
            }
            if !took {
                return received;
            }
        }
    }

    fn next_visible_main(&self) -> Option<Instant> {
        self.lanes
            .iter()
            .filter_map(|lane| next_visible(&lane.messages))
            .min()
    }

    fn main_messages_mut(&mut self) -> impl Iterator<Item = &mut Message> {
        self.lanes
            .iter_mut()
            .flat_map(|lane| lane.messages.iter_mut())
    }
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
                let received = if dead_letters {
                    take_visible(&mut queues.dead, None, self.settings, max, now)
                } else {
                    queues.take_in_turn(self.settings, max, now)
                };
                if !received.is_empty() || now >= deadline {
                    return Ok(received);
                }
                let next = if dead_letters {
                    next_visible(&queues.dead)
                } else {
                    queues.next_visible_main()
                };
                next.map_or(deadline, |at| at.min(deadline))
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
        let is_other = |message: &Message| message.receipt.as_ref() != Some(receipt);
        // A stale receipt (the job was redelivered or already deleted) is accepted and changes nothing, as in SQS.
        if dead_letters {
            queues.dead.retain(is_other);
        } else {
            for lane in &mut queues.lanes {
                lane.messages.retain(is_other);
            }
            queues.lanes.retain(|lane| !lane.messages.is_empty());
        }
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
        self.queues
            .lock()
            .await
            .lane_of(job.group())
            .push_back(message);
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
            .main_messages_mut()
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::domain::{AppointmentId, BusinessId};

    /// How long the simulated worker takes to sync one job (a calendar round trip).
    const SYNC_TIME: Duration = Duration::from_millis(100);

    fn appointment_job(business_id: BusinessId) -> Job {
        Job::SyncAppointment {
            business_id,
            appointment_id: AppointmentId::generate(),
            version: 1,
        }
    }

    /// One business enqueues `backlog` jobs, another then books one appointment: how long until a worker that syncs
    /// one job at a time, ten received at once, has synced the second business's appointment.
    async fn time_until_the_second_business_is_synced(backlog: usize) -> Duration {
        let queue = InProcessQueue::new(QueueSettings::default());
        let busy = BusinessId::generate();
        let jobs: Vec<Job> = (0..backlog).map(|_| appointment_job(busy)).collect();
        queue.enqueue_many(&jobs, Duration::ZERO).await.unwrap();
        let booked = appointment_job(BusinessId::generate());
        queue.enqueue(&booked, Duration::ZERO).await.unwrap();
        let started = Instant::now();
        loop {
            let batch = queue.receive(MAX_BATCH, Duration::ZERO).await.unwrap();
            assert!(!batch.is_empty(), "the booked job was never received");
            for received in batch {
                tokio::time::sleep(SYNC_TIME).await;
                queue.ack(&received.receipt).await.unwrap();
                if received.job == booked {
                    return started.elapsed();
                }
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_backlog_of_one_business_does_not_delay_another() {
        let behind_5000 = time_until_the_second_business_is_synced(5_000).await;
        let behind_50 = time_until_the_second_business_is_synced(50).await;
        // Served on the first round of turns: after at most one job of the busy business.
        assert!(behind_5000 <= SYNC_TIME * 2, "{behind_5000:?}");
        assert_eq!(
            behind_5000, behind_50,
            "the bound does not grow with the backlog"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn turns_go_round_every_business_with_jobs() {
        let queue = InProcessQueue::new(QueueSettings::default());
        let businesses: Vec<BusinessId> = (0..3).map(|_| BusinessId::generate()).collect();
        for business in &businesses {
            let jobs: Vec<Job> = (0..4).map(|_| appointment_job(*business)).collect();
            queue.enqueue_many(&jobs, Duration::ZERO).await.unwrap();
        }
        let served: Vec<JobGroup> = queue
            .receive(6, Duration::ZERO)
            .await
            .unwrap()
            .iter()
            .map(|received| received.job.group())
            .collect();
        let one_round: Vec<JobGroup> = businesses.iter().copied().map(JobGroup::Business).collect();
        assert_eq!(served, [one_round.clone(), one_round].concat());
        // The next receive carries on where this one stopped.
        let next = queue.receive(1, Duration::ZERO).await.unwrap();
        assert_eq!(next[0].job.group(), JobGroup::Business(businesses[0]));
    }
}
