//! The scheduler function, invoked with an EventBridge Scheduler event.

use booking_core::domain::AppointmentId;
use booking_core::ports::Job;
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::SCHEDULER;
use crate::support::queue::{drain, drain_jobs};
use crate::support::seed::pending_appointment;
use crate::support::{self, Function, deploy};

#[tokio::test]
async fn scheduler_requeues_syncs_left_pending() {
    let Some(deployment) = deploy().await else {
        return;
    };
    let (_, stale_id, _) =
        pending_appointment(&deployment, SignedDuration::from_mins(10), 30).await;
    let (_, fresh_id, _) = pending_appointment(&deployment, SignedDuration::ZERO, 40).await;
    // Drain the jobs the bookings enqueued themselves, so that what follows is the scheduler's doing.
    let sqs = support::sqs_client(&deployment).await;
    drain(&sqs, &deployment.queue_url).await;

    let scheduler = Function::start(SCHEDULER, &deployment).await;
    let event: Value =
        serde_json::from_str(include_str!("../events/scheduled-event.json")).unwrap();
    let report = scheduler.invoke(event).await.unwrap();
    assert_eq!(
        report,
        json!({
            "requeued_stale_pending": 1,
            "retried_failed": 0,
            "calendars_queued": 0,
            "phone_numbers_indexed": 0,
            "scheduled_work_indexed": 0,
            "first_staff_members_stored": 0
        })
    );

    let requeued: Vec<Job> = drain_jobs(&sqs, &deployment.queue_url).await;
    let ids: Vec<AppointmentId> = requeued
        .iter()
        .filter_map(|job| match job {
            Job::SyncAppointment { appointment_id, .. } => Some(*appointment_id),
            Job::SyncCalendar { .. } | Job::SendEmail { .. } => None,
        })
        .collect();
    assert_eq!(ids, vec![stale_id], "only the stale one, not {fresh_id}");
}
