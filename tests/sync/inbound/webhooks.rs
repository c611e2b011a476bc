//! The webhook in front of inbound sync: only notifications for a live channel (Google) or subscription (Graph)
//! with the secret given when it was opened start a sync; Graph's validation handshake and lifecycle events.

use integration_tests::emulators::google::GoogleEmulator;
use integration_tests::emulators::microsoft::GraphEmulator;
use serde_json::{Value, json};

use super::{add_busy_on_tuesday, assert_offered_on, synced_busy_on_tuesday, watching};
use crate::harness::{Backend, Emulated, SyncHarness};

async fn post_google(harness: &SyncHarness<GoogleEmulator>, headers: &[(&str, &str)]) -> u16 {
    let mut request = harness
        .app
        .client
        .post(harness.app.url("/v1/webhooks/google"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn google_notifications_must_match_a_live_channel_and_its_token() {
    let (harness, _) = watching::<GoogleEmulator>(Backend::Local).await;
    let channel = harness.emulator.channels()[0].clone();
    let id = channel["id"].as_str().unwrap();
    let token = channel["token"].as_str().unwrap();
    let resource = channel["resourceId"].as_str().unwrap();
    let foreign = format!(
        "{}_0123456789",
        booking_core::domain::BusinessId::generate()
    );
    let refused: [Vec<(&str, &str)>; 6] = [
        vec![
            ("X-Goog-Channel-ID", foreign.as_str()),
            ("X-Goog-Channel-Token", token),
            ("X-Goog-Resource-State", "exists"),
        ],
        vec![
            ("X-Goog-Channel-ID", "not-ours"),
            ("X-Goog-Channel-Token", token),
            ("X-Goog-Resource-State", "exists"),
        ],
        vec![
            ("X-Goog-Channel-ID", id),
            ("X-Goog-Channel-Token", "guessed"),
            ("X-Goog-Resource-State", "exists"),
        ],
        vec![
            ("X-Goog-Channel-ID", id),
            ("X-Goog-Resource-State", "exists"),
        ],
        vec![
            ("X-Goog-Channel-ID", id),
            ("X-Goog-Channel-Token", token),
            ("X-Goog-Resource-ID", "another"),
            ("X-Goog-Resource-State", "exists"),
        ],
        vec![
            ("X-Goog-Channel-ID", id),
            ("X-Goog-Channel-Token", &token[1..]),
            ("X-Goog-Resource-State", "exists"),
        ],
    ];
    for headers in &refused {
        assert_eq!(post_google(&harness, headers).await, 403, "{headers:?}");
    }
    assert_eq!(
        post_google(&harness, &[("X-Goog-Resource-State", "exists")]).await,
        400
    );
    assert_eq!(
        harness.run_jobs().await,
        0,
        "refused notifications queue nothing"
    );

    let genuine = [
        ("X-Goog-Channel-ID", id),
        ("X-Goog-Channel-Token", token),
        ("X-Goog-Resource-ID", resource),
    ];
    let mut sync = genuine.to_vec();
    sync.push(("X-Goog-Resource-State", "sync"));
    assert_eq!(post_google(&harness, &sync).await, 200);
    assert_eq!(
        harness.run_jobs().await,
        0,
        "the opening `sync` message needs no sync"
    );

    // A replayed genuine notification only runs one more harmless sync.
    synced_busy_on_tuesday(&harness, "10:00", "11:00").await;
    let mut exists = genuine.to_vec();
    exists.push(("X-Goog-Resource-State", "exists"));
    assert_eq!(post_google(&harness, &exists).await, 200);
    assert_eq!(harness.run_jobs().await, 1);
    assert_offered_on(&harness, "2026-12-01", "11:00", "10:00").await;
    harness.assert_no_violations();
}

async fn post_graph(harness: &SyncHarness<GraphEmulator>, body: &Value) -> u16 {
    harness
        .app
        .client
        .post(harness.app.url("/v1/webhooks/microsoft"))
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn notification(subscription: &str, client_state: Option<&str>) -> Value {
    json!({ "value": [{
        "subscriptionId": subscription,
        "clientState": client_state,
        "changeType": "created",
        "resource": "Users/x/Events/y",
        "tenantId": integration_tests::emulators::microsoft::TENANT_ID,
    }] })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn graph_notifications_must_match_a_subscription_and_its_client_state() {
    let (harness, _) = watching::<GraphEmulator>(Backend::Local).await;
    let subscription = harness.emulator.channels()[0].clone();
    let id = subscription["id"].as_str().unwrap();
    let state = subscription["clientState"].as_str().unwrap();

    let handshake =
        harness
            .app
            .client
            .post(harness.app.url(
                "/v1/webhooks/microsoft?validationToken=Validation%3A+Testing+client+application",
            ))
            .send()
            .await
            .unwrap();
    assert_eq!(handshake.status(), 200);
    assert!(
        handshake.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(
        handshake.text().await.unwrap(),
        "Validation: Testing client application"
    );

    let (business, secret) = state.split_once('.').unwrap();
    let other_business = format!("{}.{secret}", booking_core::domain::BusinessId::generate());
    let forged_secret = format!("{business}.{}", "0".repeat(secret.len()));
    for body in [
        notification(id, Some(&forged_secret)),
        notification(id, Some(&other_business)),
        notification(id, None),
        notification("another-subscription", Some(state)),
    ] {
        assert_eq!(post_graph(&harness, &body).await, 403, "{body}");
    }
    assert_eq!(post_graph(&harness, &json!({ "value": "nope" })).await, 400);
    assert_eq!(
        harness.run_jobs().await,
        0,
        "refused notifications queue nothing"
    );
    assert_eq!(
        post_graph(&harness, &notification(id, Some(state))).await,
        202
    );
    assert_eq!(
        harness.run_jobs().await,
        1,
        "a replay only runs one more sync"
    );

    // Graph batches: a thousand notifications (well over the API's usual body limit) queue one sync.
    let item = notification(id, Some(state))["value"][0].clone();
    let batch = json!({ "value": vec![item; 1000] });
    assert!(batch.to_string().len() > 128 * 1024);
    assert_eq!(post_graph(&harness, &batch).await, 202);
    assert_eq!(harness.run_jobs().await, 1);
    harness.assert_no_violations();
}

async fn await_lifecycle(harness: &SyncHarness<GraphEmulator>, event: &str) {
    for _ in 0..500 {
        if harness
            .emulator
            .notifications()
            .iter()
            .any(|(_, label, status)| label == event && *status != 0)
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!(
        "no {event} delivered: {:?}",
        harness.emulator.notifications()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn graph_lifecycle_notifications_renew_recreate_and_resync() {
    let (harness, _) = watching::<GraphEmulator>(Backend::Local).await;
    let first = harness.emulator.channels()[0].clone();
    let id = first["id"].as_str().unwrap().to_owned();

    // An hour later Graph asks for reauthorization: the subscription is renewed from now.
    harness
        .app
        .clock
        .advance(jiff::SignedDuration::from_hours(1));
    harness.emulator.set_now(harness.app.clock_now());
    harness
        .emulator
        .send_lifecycle(&id, "reauthorizationRequired");
    await_lifecycle(&harness, "reauthorizationRequired").await;
    harness.run_jobs().await;
    let renewed = harness.emulator.channels();
    assert_eq!(renewed.len(), 1);
    assert_eq!(renewed[0]["id"], first["id"]);
    assert!(
        renewed[0]["expirationDateTime"].as_str() > first["expirationDateTime"].as_str(),
        "{} after {}",
        renewed[0]["expirationDateTime"],
        first["expirationDateTime"]
    );

    // Missed notifications: the delta query catches up on what they would have said.
    harness.emulator.drop_notifications(1);
    add_busy_on_tuesday(&harness, "10:00", "11:00");
    harness.emulator.send_lifecycle(&id, "missed");
    await_lifecycle(&harness, "missed").await;
    harness.run_jobs().await;
    assert_offered_on(&harness, "2026-12-01", "11:00", "10:00").await;

    // Graph removes the subscription: a new one takes its place and is heard.
    harness.emulator.remove_subscription(&id);
    await_lifecycle(&harness, "subscriptionRemoved").await;
    harness.run_jobs().await;
    let replaced = harness.emulator.channels();
    assert_eq!(replaced.len(), 1);
    assert_ne!(replaced[0]["id"].as_str(), Some(id.as_str()));
    synced_busy_on_tuesday(&harness, "14:00", "15:00").await;
    assert_offered_on(&harness, "2026-12-01", "15:00", "14:00").await;
    harness.assert_no_violations();
}
