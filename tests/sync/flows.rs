//! The life of an appointment on the business's calendar: booked, moved, edited, cancelled; redelivered jobs;
//! appointments booked before a calendar was chosen; retries; tokens that expire or are revoked.

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::harness::{Backend, Emulated, SyncHarness, redeliver};

const TEN: &str = "2026-12-01T10:00:00-05:00";
const ELEVEN: &str = "2026-12-01T11:00:00-05:00";
const TWO_PM: &str = "2026-12-02T14:00:00-05:00";

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

async fn assert_synced<E: Emulated>(harness: &SyncHarness<E>, id: &str) -> Value {
    let appointment = harness.appointment(id).await;
    assert_eq!(appointment["sync"]["status"], "synced", "{appointment}");
    assert_eq!(appointment["sync"]["error"], Value::Null);
    appointment
}

pub async fn booking_creates_one_event_with_the_right_details<E: Emulated>(backend: Backend) {
    let harness = SyncHarness::<E>::connected(backend).await;
    let id = harness.book(TEN).await;
    assert_eq!(harness.appointment(&id).await["sync"]["status"], "pending");
    harness.run_jobs().await;

    let appointment = assert_synced(&harness, &id).await;
    let events = harness.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(event.appointment_id, id);
    assert_eq!(event.title, "Ana Silva – Consultation");
    assert_eq!(event.start, at(TEN));
    assert_eq!(event.end, at("2026-12-01T10:30:00-05:00"));
    assert_eq!(event.time_zone, "America/New_York");
    for detail in [
        "+14155550123",
        "ana@example.com",
        "first visit",
        "phone agent",
    ] {
        assert!(
            event.description.contains(detail),
            "{detail} missing: {}",
            event.description
        );
    }
    assert!(appointment["sync"]["external_event_id"].is_string());
    harness.assert_no_violations();
}

pub async fn rescheduling_moves_the_same_event_and_edits_update_it<E: Emulated>(backend: Backend) {
    let harness = SyncHarness::<E>::connected(backend).await;
    let id = harness.book(TEN).await;
    harness.run_jobs().await;
    let first = assert_synced(&harness, &id).await;

    let path = format!("/v1/appointments/{id}");
    assert_eq!(
        harness
            .app
            .patch(&path, &json!({ "start": TWO_PM }))
            .await
            .status(),
        200
    );
    harness.run_jobs().await;
    let moved = assert_synced(&harness, &id).await;
    assert_eq!(
        moved["sync"]["external_event_id"], first["sync"]["external_event_id"],
        "the event is moved, not replaced"
    );
    let events = harness.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].start, at(TWO_PM));
    assert_eq!(events[0].end, at("2026-12-02T14:30:00-05:00"));

    let edit = json!({ "notes": "bring the referral letter" });
    assert_eq!(harness.app.patch(&path, &edit).await.status(), 200);
    harness.run_jobs().await;
    assert_synced(&harness, &id).await;
    let events = harness.events();
    assert_eq!(events.len(), 1);
    assert!(events[0].description.contains("bring the referral letter"));
    assert!(!events[0].description.contains("first visit"));
    harness.assert_no_violations();
}

pub async fn cancelling_removes_the_event<E: Emulated>(backend: Backend) {
    let harness = SyncHarness::<E>::connected(backend).await;
    let kept = harness.book(TEN).await;
    let cancelled = harness.book(ELEVEN).await;
    harness.run_jobs().await;
    assert_eq!(harness.events().len(), 2);

    let response = harness
        .app
        .post(&format!("/v1/appointments/{cancelled}/cancel"), &json!({}))
        .await;
    assert_eq!(response.status(), 200);
    harness.run_jobs().await;
    assert_synced(&harness, &cancelled).await;
    let events = harness.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].appointment_id, kept);
    harness.assert_no_violations();
}

pub async fn duplicate_and_stale_jobs_change_nothing<E: Emulated>(backend: Backend) {
    let harness = SyncHarness::<E>::connected(backend).await;
    let id = harness.book(TEN).await;
    let booked = harness.appointment(&id).await;
    harness.run_jobs().await;
    let path = format!("/v1/appointments/{id}");
    harness.app.patch(&path, &json!({ "start": ELEVEN })).await;
    let moved = harness.appointment(&id).await;
    // The old version's job arrives late, the new one twice.
    redeliver(&harness.app, &booked).await;
    redeliver(&harness.app, &moved).await;
    harness.run_jobs().await;
    redeliver(&harness.app, &booked).await;
    redeliver(&harness.app, &moved).await;
    harness.run_jobs().await;

    assert_synced(&harness, &id).await;
    let events = harness.events();
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].start, at(ELEVEN));
    harness.assert_no_violations();
}

pub async fn appointments_booked_before_a_calendar_is_chosen_go_to_it<E: Emulated>(
    backend: Backend,
) {
    let harness = SyncHarness::<E>::unconnected(backend).await;
    let early = harness.book(TEN).await;
    assert_eq!(
        harness.appointment(&early).await["sync"]["status"],
        "not_connected"
    );
    harness.connect().await;
    let between = harness.book(ELEVEN).await;
    let selected = harness.select_calendar().await;
    assert_eq!(selected["queued"], 2, "{selected}");
    harness.run_jobs().await;
    assert_synced(&harness, &early).await;
    assert_synced(&harness, &between).await;
    assert_eq!(harness.events().len(), 2);

    let connections = harness.app.get_json("/v1/integrations").await;
    let connection = &connections["connections"][0];
    assert_eq!(connection["provider"], E::KIND.to_string());
    assert_eq!(connection["calendar_id"], harness.emulator.sync_calendar());
    assert_eq!(connection["health"]["state"], "connected");
    assert!(connection["last_synced_at"].is_string(), "{connection}");
    harness.assert_no_violations();
}

pub async fn a_revoked_grant_asks_for_reauthorization_and_reconnecting_recovers<E: Emulated>(
    backend: Backend,
) {
    let harness = SyncHarness::<E>::connected(backend).await;
    harness.emulator.revoke_grants();
    harness.emulator.expire_access_tokens();
    let first = harness.book(TEN).await;
    let second = harness.book(ELEVEN).await;
    harness.run_jobs().await;

    for id in [&first, &second] {
        let appointment = harness.appointment(id).await;
        assert_eq!(appointment["sync"]["status"], "failed", "{appointment}");
        assert_eq!(appointment["sync"]["error"]["code"], "reauth_required");
        let message = appointment["sync"]["error"]["message"].as_str().unwrap();
        let (calendar, vendor) = match E::KIND.as_str() {
            "google" => ("Google Calendar", "Google"),
            _ => ("Outlook Calendar", "Microsoft"),
        };
        // The provider as the owner knows it, its own words quoted once, no parentheses inside parentheses.
        assert!(
            message.starts_with(&format!(
                "{calendar} needs reconnecting: {vendor} says the access was revoked or has expired ('"
            )),
            "{message}"
        );
        assert!(message.ends_with("')."), "{message}");
        assert_eq!(message.matches('(').count(), 1, "{message}");
    }
    let connections = harness.app.get_json("/v1/integrations").await;
    assert_eq!(
        connections["connections"][0]["health"]["state"],
        "reauth_required"
    );
    assert!(harness.events().is_empty());

    let reconnected = harness.connect().await;
    assert_eq!(
        reconnected["selected_calendar_id"],
        harness.emulator.sync_calendar()
    );
    assert_eq!(reconnected["requeued"], 2, "{reconnected}");
    harness.run_jobs().await;
    assert_synced(&harness, &first).await;
    assert_synced(&harness, &second).await;
    assert_eq!(harness.events().len(), 2);
    let connections = harness.app.get_json("/v1/integrations").await;
    assert_eq!(
        connections["connections"][0]["health"]["state"],
        "connected"
    );
    harness.assert_no_violations();
}

pub async fn expired_tokens_are_refreshed_once_for_many_jobs<E: Emulated>(backend: Backend) {
    let harness = SyncHarness::<E>::connected(backend).await;
    let refreshes_before = harness.emulator.token_refresh_count();
    // Two hours on, the stored access token has expired: every job needs a fresh one at the same moment.
    harness.app.clock.set(
        harness
            .app
            .clock_now()
            .checked_add(jiff::SignedDuration::from_hours(2))
            .unwrap(),
    );
    harness.emulator.expire_access_tokens();
    let mut ids = Vec::new();
    for hour in 9..17 {
        ids.push(
            harness
                .book(&format!("2026-12-03T{hour:02}:00:00-05:00"))
                .await,
        );
    }
    harness.run_jobs().await;
    for id in &ids {
        assert_synced(&harness, id).await;
    }
    assert_eq!(harness.emulator.token_refresh_count() - refreshes_before, 1);
    assert_eq!(harness.events().len(), ids.len());
    harness.assert_no_violations();
}

pub async fn retrying_one_or_all_requeues_what_failed<E: Emulated>(backend: Backend) {
    use integration_tests::emulators::faults::{Fault, FaultRule, Matcher, When};
    let harness = SyncHarness::<E>::connected(backend).await;
    // A refusal that is not transient fails at once: the first two writes.
    harness.emulator.faults().add(FaultRule {
        matcher: Matcher::any().path("events"),
        when: When::Before,
        fault: Fault::NotFound,
        times: 2,
    });
    let first = harness.book(TEN).await;
    harness.run_jobs().await;
    let second = harness.book(ELEVEN).await;
    harness.run_jobs().await;
    for id in [&first, &second] {
        let appointment = harness.appointment(id).await;
        assert_eq!(appointment["sync"]["status"], "failed", "{appointment}");
        assert_eq!(appointment["sync"]["error"]["code"], "calendar_not_found");
    }
    let listed = harness
        .app
        .get_json("/v1/appointments?sync_status=failed")
        .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);

    let one = harness
        .app
        .post_json(&format!("/v1/appointments/{first}/sync/retry"), &json!({}))
        .await;
    assert_eq!(one["queued"], 1, "{one}");
    assert_eq!(
        harness.appointment(&first).await["sync"]["status"],
        "pending"
    );
    harness.run_jobs().await;
    assert_synced(&harness, &first).await;

    let all = harness
        .app
        .post("/v1/appointments/sync/retry", &json!({}))
        .await;
    assert_eq!(all.status(), 202);
    let all: Value = all.json().await.unwrap();
    assert_eq!(all["appointment_ids"], json!([second]));
    harness.run_jobs().await;
    assert_synced(&harness, &second).await;
    assert_eq!(harness.events().len(), 2);
    assert!(harness.emulator.faults().unused().is_empty());
    harness.assert_no_violations();
}

pub async fn disconnecting_revokes_forgets_and_stops_syncing<E: Emulated>(backend: Backend) {
    let harness = SyncHarness::<E>::connected(backend).await;
    let synced = harness.book(TEN).await;
    harness.run_jobs().await;
    assert_eq!(harness.disconnect().await, 204);
    let expected_revocations = usize::from(E::KIND == booking_core::ports::ProviderKind::GOOGLE);
    assert_eq!(harness.emulator.revocation_count(), expected_revocations);
    let connections = harness.app.get_json("/v1/integrations").await;
    assert_eq!(connections["connections"], json!([]));
    let retry = harness
        .app
        .post(&format!("/v1/appointments/{synced}/sync/retry"), &json!({}))
        .await;
    integration_tests::assert_problem(retry, 409, "calendar_not_connected").await;

    let later = harness.book(ELEVEN).await;
    assert_eq!(
        harness.appointment(&later).await["sync"]["status"],
        "not_connected"
    );
    harness.run_jobs().await;
    // The event written while connected stays: it is the business's record of the appointment.
    assert_eq!(harness.events().len(), 1);
    harness.assert_no_violations();
}

pub async fn forged_replayed_and_foreign_callbacks_are_refused<E: Emulated>(backend: Backend) {
    let harness = SyncHarness::<E>::unconnected(backend).await;
    let callback = |query: &str| {
        harness
            .app
            .url(&format!("/v1/integrations/{}/callback?{query}", E::KIND))
    };
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for query in ["code=x", "code=x&state=nonsense", "code=x&state=abc.def"] {
        let response = browser.get(callback(query)).send().await.unwrap();
        integration_tests::assert_problem(response, 400, "oauth_state_invalid").await;
    }
    // A genuine state whose signature was altered, and then the genuine one used twice.
    let start = harness
        .app
        .get_json(&format!("/v1/integrations/{}/connect", E::KIND))
        .await;
    let consent = browser
        .get(start["authorization_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let location = consent.headers()["location"].to_str().unwrap().to_owned();
    let url = reqwest::Url::parse(&location).unwrap();
    let pairs: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    let state = &pairs["state"];
    let tampered = format!("{}x", state);
    let response = browser
        .get(callback(&format!(
            "code={}&state={tampered}",
            pairs["code"]
        )))
        .send()
        .await
        .unwrap();
    integration_tests::assert_problem(response, 400, "oauth_state_invalid").await;
    // The tampered attempt used the nonce up: a state is single-use even when the first use fails.
    let response = browser.get(&location).send().await.unwrap();
    integration_tests::assert_problem(response, 400, "oauth_state_invalid").await;
    let connections = harness.app.get_json("/v1/integrations").await;
    assert_eq!(connections["connections"], json!([]));

    // A business that declines at the provider gets a readable refusal, and nothing is connected.
    let start = harness
        .app
        .get_json(&format!("/v1/integrations/{}/connect", E::KIND))
        .await;
    let url = reqwest::Url::parse(start["authorization_url"].as_str().unwrap()).unwrap();
    let pairs: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    let declined = format!(
        "error=access_denied&error_description=The+user+declined&state={}",
        pairs["state"]
    );
    let response = browser.get(callback(&declined)).send().await.unwrap();
    let problem = integration_tests::assert_problem(response, 400, "oauth_denied").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("declined"),
        "{problem}"
    );
}

for_providers!(
    local: [forged_replayed_and_foreign_callbacks_are_refused,],
    // Disconnecting touches the secret store and the connection item: run it on both backends.
    aws: [disconnecting_revokes_forgets_and_stops_syncing,
    booking_creates_one_event_with_the_right_details,
    rescheduling_moves_the_same_event_and_edits_update_it,
    cancelling_removes_the_event,
    duplicate_and_stale_jobs_change_nothing,
    appointments_booked_before_a_calendar_is_chosen_go_to_it,
    a_revoked_grant_asks_for_reauthorization_and_reconnecting_recovers,
    expired_tokens_are_refreshed_once_for_many_jobs,
    retrying_one_or_all_requeues_what_failed,],
);
