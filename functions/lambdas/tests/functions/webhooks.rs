//! The webhooks function: a provider's handshake, a forged notification and a genuine one.

use booking_core::domain::{BusinessId, ConnectionId, StaffId, WatchId};
use booking_core::ports::{ConnectionStore, Job, ProviderKind};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::WEBHOOKS;
use crate::support::queue::{drain, drain_jobs};
use crate::support::{self, Function, deploy, http_event, http_response};

#[tokio::test]
async fn webhooks_function_answers_the_handshake_refuses_forgeries_and_queues_genuine_notifications()
 {
    use booking_core::ports::{CalendarWatch, PushChannel};
    use sha2::Digest;

    let Some(deployment) = deploy().await else {
        return;
    };
    let business_id: BusinessId = deployment.business_id.parse().unwrap();
    let client_state = format!("{business_id}.a-secret-only-graph-and-we-know");
    let now = Timestamp::now();
    let connection_id = ConnectionId::of_first_connection(business_id);
    let watch = CalendarWatch {
        id: WatchId::of(connection_id, "team-calendar"),
        business_id,
        connection_id,
        staff_id: StaffId::first_of(business_id),
        provider: ProviderKind::MICROSOFT,
        calendar_id: "team-calendar".into(),
        cursor: Some("https://graph.example.test/delta".into()),
        time_zone: None,
        channel: Some(PushChannel {
            id: "subscription-1".into(),
            resource_id: None,
            expires_at: now + SignedDuration::from_hours(72),
        }),
        secret_hash: hex::encode(sha2::Sha256::digest(client_state.as_bytes())),
        opening: None,
        full_sync_at: Some(now),
        synced_at: Some(now),
        sync_started_at: Some(now),
        version: 1,
    };
    deployment
        .store
        .put_calendar_watch(&watch, None)
        .await
        .unwrap();
    let sqs = support::sqs_client(&deployment).await;
    drain(&sqs, &deployment.queue_url).await;
    let webhooks = Function::start(WEBHOOKS, &deployment).await;
    let notify = |body: &Value| {
        http_event(
            "POST",
            "POST /v1/webhooks/{proxy+}",
            "/v1/webhooks/microsoft",
            "",
            None,
            Some(&body.to_string()),
        )
    };
    let notification = |state: &str| {
        json!({ "value": [{
            "subscriptionId": "subscription-1",
            "clientState": state,
            "changeType": "updated",
            "resource": "Users/u/Events/e",
        }] })
    };

    let handshake = webhooks
        .invoke(http_event(
            "POST",
            "POST /v1/webhooks/{proxy+}",
            "/v1/webhooks/microsoft",
            "validationToken=token-from-graph",
            None,
            None,
        ))
        .await
        .unwrap();
    assert_eq!(handshake["statusCode"], 200, "{handshake}");
    assert_eq!(handshake["body"], "token-from-graph");
    assert!(
        handshake["headers"]["content-type"]
            .as_str()
            .unwrap()
            .starts_with("text/plain")
    );

    let forged = webhooks
        .invoke(notify(&notification(&format!("{business_id}.guessed"))))
        .await
        .unwrap();
    let (status, _, problem) = http_response(&forged);
    assert_eq!(
        (status, &problem["code"]),
        (403, &json!("webhook_rejected"))
    );
    assert!(
        drain(&sqs, &deployment.queue_url).await.is_empty(),
        "a forgery queues nothing"
    );

    let genuine = webhooks
        .invoke(notify(&notification(&client_state)))
        .await
        .unwrap();
    assert_eq!(genuine["statusCode"], 202, "{genuine}");
    let queued: Vec<Job> = drain_jobs(&sqs, &deployment.queue_url).await;
    assert!(
        matches!(
            queued.as_slice(),
            [Job::SyncCalendar { business_id: queued_for, watch_id: Some(queued_watch), requested_at: Some(_) }]
                if *queued_for == business_id && *queued_watch == watch.id
        ),
        "{queued:?}"
    );
    let logs = webhooks.output().await;
    assert!(
        logs.iter()
            .all(|line| !line.contains("a-secret-only-graph-and-we-know")),
        "a client state was logged"
    );
}
