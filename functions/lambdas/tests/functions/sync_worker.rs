//! The sync worker and the dead-letter handler, fed SQS batches: a failing record goes back with a backoff, a
//! record that can never succeed is marked failed, and only retryable records are reported.

use std::collections::HashMap;

use booking_aws::config::AwsAdapters;
use booking_aws::emulators::sdk_config;
use booking_core::domain::{AppointmentId, BookingSource, BusinessId, SyncStatus};
use booking_core::ports::{ConnectionStore, ProviderKind};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::support::queue::delivered_job;
use crate::support::seed::{
    aws_settings, book_ana, on_the_hour, pending_appointment, put_corrupt_appointment,
    stored_appointment, sync_job_body, test_app,
};
use crate::support::{Function, deploy, sqs_event};
use crate::{DEAD_LETTERS, SYNC_WORKER, create_service};

#[tokio::test]
async fn dead_letter_handler_marks_failed_and_reports_only_the_broken_record() {
    let Some(deployment) = deploy().await else {
        return;
    };
    let (business_id, appointment_id, version) =
        pending_appointment(&deployment, SignedDuration::ZERO, 30).await;

    // An appointment item that cannot be read: handling its job fails, and only its record is retried.
    let corrupt_id = AppointmentId::generate();
    put_corrupt_appointment(&deployment, business_id, corrupt_id).await;

    let (event, message_ids) = sqs_event(&[
        sync_job_body(business_id, appointment_id, version),
        "not a job".to_owned(),
        sync_job_body(business_id, corrupt_id, 1),
    ]);
    let handler = Function::start(DEAD_LETTERS, &deployment).await;
    let response = handler.invoke(event).await.unwrap();
    assert_eq!(
        response,
        json!({ "batchItemFailures": [{ "itemIdentifier": message_ids[2] }] }),
        "only the record that can succeed later is reported"
    );

    let stored = stored_appointment(&deployment, business_id, appointment_id).await;
    assert_eq!(stored.sync.status, SyncStatus::Failed);
    let error = stored.sync.error.unwrap();
    assert_eq!(error.code.as_str(), "sync_gave_up");
    let metric = handler
        .output()
        .await
        .into_iter()
        .filter_map(|line| serde_json::from_str::<Value>(&line).ok())
        .find(|line| line.get("SyncOutcome").is_some());
    assert_eq!(
        metric.map(|line| line["outcome"].clone()),
        Some(json!("gave_up"))
    );
}

#[tokio::test]
async fn sync_worker_writes_the_event_and_gives_a_failing_job_back_with_backoff() {
    use booking_core::app::integrations::{self, CallbackParameters};
    use integration_tests::emulators::faults::{Fault, FaultRule, Matcher, When};
    use integration_tests::emulators::google::{self, GoogleEmulator};

    let Some(deployment) = deploy().await else {
        return;
    };
    let google = GoogleEmulator::start().await;
    let endpoints = integration_tests::google_endpoints(&google);
    let environment = [
        ("GOOGLE_CLIENT_ID", google::CLIENT_ID.to_owned()),
        ("GOOGLE_CLIENT_SECRET", google::CLIENT_SECRET.to_owned()),
        ("GOOGLE_API_BASE", endpoints.api_base.clone()),
        ("GOOGLE_TOKEN_URL", endpoints.token_url.clone()),
        ("PUBLIC_BASE_URL", "https://api.example.test".to_owned()),
    ]
    .map(|(name, value)| (name.to_owned(), value));

    // Connect in the test's process through the same table and Secrets Manager the function uses.
    let moto = sdk_config(&deployment.moto_endpoint).await;
    let secrets = AwsAdapters::new(&moto, &aws_settings(&deployment)).secrets;
    let app = test_app(&deployment, Timestamp::now())
        .await
        .with_integrations(
            booking_core::app::Integrations::new(
                secrets,
                secrecy::SecretString::from("state key of this test".to_owned()),
                "https://api.example.test",
            )
            .with_provider(
                booking_core::providers::provider_setup(
                    ProviderKind::GOOGLE,
                    google::CLIENT_ID.to_owned(),
                    secrecy::SecretString::from(google::CLIENT_SECRET.to_owned()),
                    &endpoints,
                    std::time::Duration::from_secs(5),
                )
                .unwrap(),
            ),
        );
    let business_id: BusinessId = deployment.business_id.parse().unwrap();
    let business = app.store.get_business(business_id).await.unwrap().unwrap();
    let first_member = booking_core::domain::StaffId::first_of(business_id);
    let authorization =
        integrations::start_connect(&app, &business, first_member, ProviderKind::GOOGLE, false)
            .await
            .unwrap();
    let consent = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&authorization)
        .send()
        .await
        .unwrap();
    let redirect = reqwest::Url::parse(consent.headers()["location"].to_str().unwrap()).unwrap();
    let parameters: HashMap<String, String> = redirect.query_pairs().into_owned().collect();
    integrations::finish_connect(
        &app,
        ProviderKind::GOOGLE,
        CallbackParameters {
            code: parameters.get("code").cloned(),
            state: parameters.get("state").cloned(),
            error: None,
            error_description: None,
        },
    )
    .await
    .unwrap();
    integrations::select_calendar(&app, &business, ProviderKind::GOOGLE, google::TEAM_CALENDAR)
        .await
        .unwrap();

    // Choosing the calendar queued its first busy-time sync: the worker reads the calendar and opens a channel.
    let worker = Function::start_with(SYNC_WORKER, &deployment, &environment).await;
    let calendar_job = delivered_job(&deployment).await;
    let body = calendar_job["Records"][0]["body"].as_str().unwrap();
    assert!(body.contains("sync_calendar"), "{body}");
    let response = worker.invoke(calendar_job).await.unwrap();
    assert_eq!(response, json!({ "batchItemFailures": [] }));
    assert_eq!(google.channels().len(), 1, "a push channel is open");
    let watch = deployment
        .store
        .get_calendar_watch(business_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        watch.cursor.is_some() && watch.synced_at.is_some(),
        "{watch:?}"
    );

    let service_id = create_service(&deployment).await;
    let start = on_the_hour(Timestamp::now(), 30);
    let appointment = book_ana(&app, &business, &service_id, start, BookingSource::Ai).await;
    let event = delivered_job(&deployment).await;
    let message_id = event["Records"][0]["messageId"].clone();

    // First delivery: Google is down; the record is reported failed and the appointment says why.
    google.faults().add(FaultRule {
        matcher: Matcher::any().path("events"),
        when: When::Before,
        fault: Fault::Unavailable,
        times: 1,
    });
    let response = worker.invoke(event.clone()).await.unwrap();
    assert_eq!(
        response,
        json!({ "batchItemFailures": [{ "itemIdentifier": message_id }] })
    );
    let pending = stored_appointment(&deployment, business_id, appointment.id).await;
    assert_eq!(pending.sync.status, SyncStatus::Pending);
    assert_eq!(
        pending.sync.error.unwrap().code.as_str(),
        "provider_unavailable"
    );
    assert!(
        !worker
            .output()
            .await
            .iter()
            .any(|line| line.contains("backoff not applied")),
        "the backoff went to SQS as the message's visibility timeout"
    );

    // Redelivered: the event is written and the appointment is synced.
    let response = worker.invoke(event).await.unwrap();
    assert_eq!(response, json!({ "batchItemFailures": [] }));
    let synced = stored_appointment(&deployment, business_id, appointment.id).await;
    assert_eq!(synced.sync.status, SyncStatus::Synced);
    let events = google.events(google::TEAM_CALENDAR);
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["start"]["dateTime"]
            .as_str()
            .map(|t| t.parse::<Timestamp>().unwrap()),
        Some(start)
    );
    assert!(google.violations().is_empty(), "{:#?}", google.violations());
}
