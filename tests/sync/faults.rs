//! Faults at every step: whatever the provider does (errors, rate limits, resets, timeouts, lost responses), once the
//! retries have run the calendar holds exactly one event per live appointment, at its current time, and nothing
//! else; and every appointment says `synced`.

use std::collections::BTreeMap;
use std::time::Duration;

use integration_tests::emulators::faults::{Fault, FaultRule, Matcher, When};
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::harness::{Backend, Emulated, Random, SyncHarness, redeliver, run_some_jobs, sync_seed};

const FAULTS: [Fault; 7] = [
    Fault::ServerError,
    Fault::Unavailable,
    Fault::TooManyRequests {
        retry_after_secs: 1,
    },
    Fault::RateLimitForbidden,
    Fault::Unauthorized,
    Fault::ConnectionReset,
    // Longer than the harness's 500 ms client timeout.
    Fault::Delay(Duration::from_millis(900)),
];

#[derive(Clone, Copy, Debug)]
enum Step {
    Book,
    Reschedule,
    Cancel,
}

/// What the calendar must hold: appointment id → (start, end) of every live appointment.
async fn expected<E: Emulated>(
    harness: &SyncHarness<E>,
    ids: &[String],
) -> BTreeMap<String, (Timestamp, Timestamp)> {
    let mut live = BTreeMap::new();
    for id in ids {
        let appointment = harness.appointment(id).await;
        assert_eq!(appointment["sync"]["status"], "synced", "{appointment}");
        if appointment["status"] == "booked" {
            let time = |field: &str| appointment[field].as_str().unwrap().parse().unwrap();
            live.insert(id.clone(), (time("start"), time("end")));
        }
    }
    live
}

fn held<E: Emulated>(harness: &SyncHarness<E>) -> BTreeMap<String, (Timestamp, Timestamp)> {
    let events = harness.events();
    let held: BTreeMap<_, _> = events
        .iter()
        .map(|event| (event.appointment_id.clone(), (event.start, event.end)))
        .collect();
    assert_eq!(held.len(), events.len(), "duplicate events: {events:#?}");
    held
}

async fn one_fault_at_one_step<E: Emulated>(
    backend: Backend,
    fault: Fault,
    when: When,
    step: Step,
) {
    let harness = SyncHarness::<E>::connected(backend).await;
    let id = match step {
        Step::Book => None,
        Step::Reschedule | Step::Cancel => {
            let id = harness.book("2026-12-01T10:00:00-05:00").await;
            harness.run_jobs().await;
            Some(id)
        }
    };
    harness.emulator.faults().add(FaultRule {
        matcher: Matcher::any().path("events"),
        when,
        fault: fault.clone(),
        times: 2,
    });
    let id = match (step, id) {
        (Step::Book, _) => harness.book("2026-12-01T10:00:00-05:00").await,
        (Step::Reschedule, Some(id)) => {
            let path = format!("/v1/appointments/{id}");
            let body = json!({ "start": "2026-12-01T13:00:00-05:00" });
            assert_eq!(harness.app.patch(&path, &body).await.status(), 200);
            id
        }
        (Step::Cancel, Some(id)) => {
            let path = format!("/v1/appointments/{id}/cancel");
            assert_eq!(harness.app.post(&path, &json!({})).await.status(), 200);
            id
        }
        (_, None) => unreachable!(),
    };
    harness.run_jobs().await;
    let context = format!("{fault:?} {when:?} {step:?}");
    assert!(
        harness.emulator.faults().unused().is_empty(),
        "{context}: the fault never fired"
    );
    assert_eq!(held(&harness), expected(&harness, &[id]).await, "{context}");
    harness.assert_no_violations();
}

pub async fn every_fault_at_every_step_ends_with_exactly_the_right_events<E: Emulated>(
    backend: Backend,
) {
    for fault in FAULTS {
        for when in [When::Before, When::After] {
            for step in [Step::Book, Step::Reschedule, Step::Cancel] {
                one_fault_at_one_step::<E>(backend, fault.clone(), when, step).await;
            }
        }
    }
}

pub async fn random_changes_faults_and_redeliveries_converge<E: Emulated>(backend: Backend) {
    let seed = sync_seed(0x5eed_cafe_u64);
    let mut random = Random::new(seed);
    let harness = SyncHarness::<E>::connected(backend).await;
    let slot = |index: usize| {
        let day = 1 + index / 8;
        let hour = 9 + index % 8;
        format!("2026-12-{day:02}T{hour:02}:00:00-05:00")
    };
    let mut ids: Vec<String> = Vec::new();
    let mut versions: Vec<Value> = Vec::new();
    for _ in 0..80 {
        match random.below(10) {
            0..=2 => {
                let response = harness
                    .app
                    .book(&harness.service_id, &slot(random.below(24)))
                    .await;
                if response.status() == 201 {
                    let body: Value = response.json().await.unwrap();
                    ids.push(body["id"].as_str().unwrap().to_owned());
                    versions.push(body);
                }
            }
            3 | 4 if !ids.is_empty() => {
                let id = &ids[random.below(ids.len())];
                let body = json!({ "start": slot(random.below(24)) });
                let response = harness
                    .app
                    .patch(&format!("/v1/appointments/{id}"), &body)
                    .await;
                if response.status() == 200 {
                    versions.push(response.json().await.unwrap());
                }
            }
            5 if !ids.is_empty() => {
                let id = &ids[random.below(ids.len())];
                let response = harness
                    .app
                    .post(&format!("/v1/appointments/{id}/cancel"), &json!({}))
                    .await;
                versions.push(response.json().await.unwrap());
            }
            6 if !versions.is_empty() => {
                redeliver(&harness.app, &versions[random.below(versions.len())]).await;
            }
            7 => {
                let fault = FAULTS[random.below(FAULTS.len())].clone();
                let fault = match fault {
                    // Keep the run short: the timeout fault costs real time.
                    Fault::Delay(_) if random.below(3) > 0 => Fault::ServerError,
                    other => other,
                };
                let rule = random.fault_rule(Matcher::any().path("events"), fault, 3);
                harness.emulator.faults().add(rule);
            }
            _ => {
                run_some_jobs(&harness.app, 1 + random.below(6)).await;
            }
        }
    }
    assert!(
        ids.len() >= 5,
        "seed {seed} booked too little to mean anything"
    );
    // Heal: no more faults, every job to its end, and what the queue gave up on retried as a user would.
    harness.emulator.faults().clear();
    harness.run_jobs().await;
    let retried = harness
        .app
        .post_json("/v1/appointments/sync/retry", &json!({}))
        .await;
    harness.run_jobs().await;
    let context = format!("seed {seed}, retried after the queue gave up: {retried}");
    assert_eq!(held(&harness), expected(&harness, &ids).await, "{context}");
    harness.assert_no_violations();
}

for_providers!(
    local: [every_fault_at_every_step_ends_with_exactly_the_right_events,],
    aws: [random_changes_faults_and_redeliveries_converge,],
);
