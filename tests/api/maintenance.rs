use std::time::Duration;

use booking_core::app;
use booking_core::domain::{AppointmentId, SyncFailure, SyncFailureCode, SyncState, SyncStatus};
use booking_core::ports::{Job, ProviderKind};
use integration_tests::{appointment_path, spawn_app};
use jiff::SignedDuration;
use serde_json::json;

/// Connects a calendar, then books a service on Tuesday December 1 at 10:00: the booking's sync is pending.
async fn booked_with_a_calendar(app: &integration_tests::TestApp) -> serde_json::Value {
    app.store_calendar_connection(app.calendar_connection(
        ProviderKind::MICROSOFT,
        "front-desk@example.com",
        "calendar-1",
    ))
    .await;
    let service = app.create_service(json!({})).await;
    app.booked(&service, "2026-12-01T10:00:00-05:00").await
}

/// Takes the booking's sync job off the queue for good, as if it had been lost on the way.
async fn lose_the_queued_job(app: &integration_tests::TestApp) {
    let lost = app
        .queue
        .receive(10, Duration::from_millis(100))
        .await
        .unwrap();
    app.queue.ack(&lost[0].receipt).await.unwrap();
}

#[tokio::test]
async fn a_pending_change_whose_job_was_lost_is_enqueued_again() {
    let app = spawn_app().await;
    let booked = booked_with_a_calendar(&app).await;
    lose_the_queued_job(&app).await;

    assert_eq!(
        app::requeue_stale_pending(&app.app).await.unwrap(),
        0,
        "too recent to be stale"
    );
    app.clock.advance(SignedDuration::from_mins(6));
    assert_eq!(app::requeue_stale_pending(&app.app).await.unwrap(), 1);
    let again = app
        .queue
        .receive(10, Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    let Job::SyncAppointment {
        appointment_id,
        version,
        ..
    } = &again[0].job
    else {
        panic!("an appointment job, not {:?}", again[0].job);
    };
    assert_eq!(appointment_id.to_string(), booked["id"].as_str().unwrap());
    assert_eq!(*version, 1);
}

/// Both runtimes run this one list on their schedule: a lost change is enqueued again, and the phone index's
/// back-fill finds nothing to add (a booking indexes its own phone). A delivered job is then settled the same way for
/// both.
#[tokio::test]
async fn the_scheduled_work_requeues_a_lost_change_and_the_requeued_job_is_settled_as_done() {
    let app = spawn_app().await;
    booked_with_a_calendar(&app).await;
    lose_the_queued_job(&app).await;
    app.clock.advance(SignedDuration::from_mins(6));

    let report = app::run_scheduled_work(&app.app).await.unwrap();
    assert_eq!(report.requeued_stale_pending, 1);
    assert_eq!(report.phone_numbers_indexed, 0);

    let again = app
        .queue
        .receive(10, Duration::from_millis(100))
        .await
        .unwrap();
    // This server has no calendar integrations configured: the job ends, visibly failed, and is not retried.
    assert_eq!(
        app::run_delivered_job(&app.app, &again[0]).await,
        app::JobEnd::Done
    );
}

#[tokio::test]
async fn an_exhausted_job_marks_the_appointment_failed_with_the_last_error() {
    let app = spawn_app().await;
    let booked = booked_with_a_calendar(&app).await;
    let business_id = app.business_id.parse().unwrap();
    let appointment_id: AppointmentId = booked["id"].as_str().unwrap().parse().unwrap();
    let last_attempt = SyncState {
        status: SyncStatus::Pending,
        error: Some(SyncFailure {
            code: SyncFailureCode::RateLimited,
            message: "Google answered 429".into(),
            retryable: false,
        }),
        updated_at: app.clock_now(),
        external_event_id: None,
        automatic_retries: 0,
        event_home: None,
    };
    app.store
        .update_sync_state(business_id, appointment_id, 1, &last_attempt)
        .await
        .unwrap();

    // Gives up the job of `version` and reads the appointment after.
    let give_up = |version| {
        let app = &app;
        async move {
            let job = Job::SyncAppointment {
                business_id,
                appointment_id,
                version,
            };
            app::give_up_sync(&app.app, &job).await.unwrap();
            app.get_json(&format!("/v1/appointments/{appointment_id}"))
                .await
        }
    };
    let unchanged = give_up(0).await;
    assert_eq!(
        unchanged["sync"]["status"], "pending",
        "an older version's job changes nothing"
    );

    let failed = give_up(1).await;
    assert_eq!(failed["sync"]["status"], "failed");
    assert_eq!(failed["sync"]["error"]["code"], "sync_gave_up");
    let message = failed["sync"]["error"]["message"].as_str().unwrap();
    assert!(message.contains("Google answered 429"), "{message}");
    let listed = app.get_json("/v1/appointments?sync_status=failed").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_job_for_a_provider_this_server_lacks_fails_visibly_at_once() {
    use booking_core::app::{Integrations, SyncOutcome};
    let app = integration_tests::spawn_app_with(|app, base_url, data_dir| {
        let secrets = std::sync::Arc::new(
            booking_core::adapters::FileSecretStore::open(&data_dir.join("secrets")).unwrap(),
        );
        app.with_integrations(Integrations::new(
            secrets,
            secrecy::SecretString::from("key".to_owned()),
            base_url,
        ))
    })
    .await;
    let booked = booked_with_a_calendar(&app).await;
    let job = app
        .queue
        .receive(1, std::time::Duration::ZERO)
        .await
        .unwrap()
        .remove(0);
    let outcome = booking_core::app::run_sync_job(&app.app, &job.job, job.attempt)
        .await
        .unwrap();
    assert_eq!(outcome, SyncOutcome::Done, "retrying cannot help");
    let appointment = app.get_json(&appointment_path(&booked)).await;
    assert_eq!(appointment["sync"]["status"], "failed");
    assert_eq!(
        appointment["sync"]["error"]["code"],
        "provider_not_configured"
    );
}
