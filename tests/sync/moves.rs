//! Where an appointment's event lives: in one calendar, moved exactly once (out of the old calendar, into the new)
//! when the calendar it belongs in changes: another calendar chosen, the appointment given to a member without a
//! calendar and back. The providers fail on both sides (503s, answers lost after the change was made), jobs are
//! delivered again, and a state stored by the previous release (an event id, no calendar) moves all the same.

use booking_core::domain::SyncState;
use integration_tests::emulators::faults::{Fault, FaultRule, Matcher, When};
use serde_json::{Value, json};

use crate::harness::{Backend, Emulated, SyncHarness, redeliver, run_some_jobs};

/// Three appointments on Tuesday 1 December, New York time.
const TUESDAY: [&str; 3] = [
    "2026-12-01T09:00:00-05:00",
    "2026-12-01T11:00:00-05:00",
    "2026-12-01T14:00:00-05:00",
];

/// The appointment of each event in `calendar`, sorted: an appointment with two events shows twice.
fn appointments_in<E: Emulated>(harness: &SyncHarness<E>, calendar: &str) -> Vec<String> {
    let mut ids: Vec<String> = harness
        .emulator
        .raw_events(calendar)
        .iter()
        .map(|raw| harness.emulator.parse(raw).appointment_id)
        .collect();
    ids.sort();
    ids
}

/// Chooses a writable calendar of the connected account other than the one the harness chose; returns its id and
/// the answer to the choice.
async fn choose_another_calendar<E: Emulated>(harness: &SyncHarness<E>) -> (String, Value) {
    let listed = harness
        .app
        .get_json(&format!("/v1/integrations/{}/calendars", E::KIND))
        .await;
    let chosen = harness.emulator.sync_calendar();
    let other = listed["calendars"]
        .as_array()
        .unwrap()
        .iter()
        .find(|calendar| calendar["writable"] == true && calendar["id"] != chosen.as_str())
        .and_then(|calendar| calendar["id"].as_str())
        .unwrap_or_else(|| panic!("no other writable calendar: {listed}"))
        .to_owned();
    let answer = harness
        .app
        .select_calendar(&E::KIND.to_string(), &other)
        .await;
    (other, answer)
}

/// `faults` on the requests of `method` to events, each once.
fn add_faults<E: Emulated>(
    harness: &SyncHarness<E>,
    method: &'static str,
    faults: &[(When, Fault)],
) {
    for (when, fault) in faults {
        harness.emulator.faults().add(FaultRule {
            matcher: Matcher::method(method).path("events"),
            when: *when,
            fault: fault.clone(),
            times: 1,
        });
    }
}

/// A 503 before the change is made, and after it is made twice (a 503, a reset connection): the answer is lost.
fn refused_and_lost() -> [(When, Fault); 3] {
    [
        (When::Before, Fault::Unavailable),
        (When::After, Fault::Unavailable),
        (When::After, Fault::ConnectionReset),
    ]
}

fn assert_every_fault_fired<E: Emulated>(harness: &SyncHarness<E>) {
    let unused = harness.emulator.faults().unused();
    assert!(unused.is_empty(), "faults never fired: {unused:?}");
}

async fn assert_sync_status<E: Emulated>(harness: &SyncHarness<E>, ids: &[String], status: &str) {
    for id in ids {
        let appointment = harness.appointment(id).await;
        assert_eq!(appointment["sync"]["status"], status, "{appointment}");
    }
}

/// Each appointment has exactly one event in `calendar`, says so, and the provider saw nothing out of its spec.
async fn assert_synced_into<E: Emulated>(harness: &SyncHarness<E>, calendar: &str, ids: &[String]) {
    assert_eq!(appointments_in(harness, calendar), ids);
    assert_sync_status(harness, ids, "synced").await;
    harness.assert_no_violations();
}

async fn booked_and_synced<E: Emulated>(harness: &SyncHarness<E>, starts: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for start in starts {
        ids.push(harness.book(start).await);
    }
    harness.run_jobs().await;
    ids.sort();
    assert_eq!(
        appointments_in(harness, &harness.emulator.sync_calendar()),
        ids
    );
    ids
}

/// Adds a member, Tom, who has no calendar; returns his id.
async fn add_tom<E: Emulated>(harness: &SyncHarness<E>) -> String {
    let tom = harness
        .app
        .post_json("/v1/staff", &json!({ "name": "Tom" }))
        .await;
    tom["id"].as_str().unwrap().to_owned()
}

/// Gives the appointment to `member`, as a reschedule naming them does.
async fn give_to<E: Emulated>(harness: &SyncHarness<E>, id: &str, member: &str) {
    let path = format!("/v1/appointments/{id}");
    let given = harness
        .app
        .patch(&path, &json!({ "staff_id": member }))
        .await;
    assert_eq!(given.status(), 200, "{}", given.text().await.unwrap());
}

/// A connected business with one appointment, its event in the calendar the harness chose.
async fn one_appointment_synced<E: Emulated>(backend: Backend) -> (SyncHarness<E>, Vec<String>) {
    let harness = SyncHarness::<E>::connected(backend).await;
    let ids = booked_and_synced(&harness, &TUESDAY[..1]).await;
    (harness, ids)
}

pub async fn choosing_another_calendar_moves_every_upcoming_event_exactly_once<E: Emulated>(
    backend: Backend,
) {
    let harness = SyncHarness::<E>::connected(backend).await;
    let ids = booked_and_synced(&harness, &TUESDAY).await;
    add_faults(&harness, "DELETE", &refused_and_lost());
    add_faults(&harness, "POST", &refused_and_lost());

    let (other, chosen) = choose_another_calendar(&harness).await;
    assert_eq!(chosen["queued"], 3, "{chosen}");
    harness.run_jobs().await;

    assert_every_fault_fired(&harness);
    assert_eq!(
        appointments_in(&harness, &harness.emulator.sync_calendar()),
        Vec::<String>::new(),
        "events left behind in the calendar chosen before"
    );
    assert_eq!(appointments_in(&harness, &other), ids);
    assert_sync_status(&harness, &ids, "synced").await;
    // Choosing it again changes nothing and moves nothing.
    let again = harness
        .app
        .select_calendar(&E::KIND.to_string(), &other)
        .await;
    assert_eq!(again["queued"], 0, "{again}");
    harness.assert_no_violations();
}

pub async fn the_calendar_left_behind_no_longer_blocks_time<E: Emulated>(backend: Backend) {
    let harness = SyncHarness::<E>::connected(backend).await;
    // Tuesday 10:00 to 11:00 in New York, busy in the calendar chosen first.
    let busy_start = "2026-12-01T15:00:00Z".parse().unwrap();
    let busy_end = "2026-12-01T16:00:00Z".parse().unwrap();
    harness.add_busy_and_sync(busy_start, busy_end).await;
    let ten = "10:00".to_owned();
    assert!(!harness.free_times("2026-12-01").await.contains(&ten));

    choose_another_calendar(&harness).await;
    harness.run_jobs().await;
    assert!(harness.free_times("2026-12-01").await.contains(&ten));
    harness.assert_no_violations();
}

pub async fn giving_an_appointment_to_a_member_without_a_calendar_removes_its_event_and_back_creates_it<
    E: Emulated,
>(
    backend: Backend,
) {
    let (harness, ids) = one_appointment_synced::<E>(backend).await;
    let id = &ids[0];
    let first = harness.appointment(id).await["staff"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tom = add_tom(&harness).await;
    let team = harness.emulator.sync_calendar();

    add_faults(&harness, "DELETE", &refused_and_lost());
    give_to(&harness, id, &tom).await;
    harness.run_jobs().await;
    assert_every_fault_fired(&harness);
    assert_eq!(appointments_in(&harness, &team), Vec::<String>::new());
    assert_sync_status(&harness, &ids, "not_connected").await;

    // Refused, then made with its answer lost: the retry finds the event rather than making a second one.
    add_faults(
        &harness,
        "POST",
        &[
            (When::Before, Fault::Unavailable),
            (When::After, Fault::ConnectionReset),
        ],
    );
    give_to(&harness, id, &first).await;
    harness.run_jobs().await;
    assert_every_fault_fired(&harness);
    assert_synced_into(&harness, &team, &ids).await;
}

pub async fn deactivating_a_member_with_reassign_sends_their_appointments_events_to_the_new_member<
    E: Emulated,
>(
    backend: Backend,
) {
    let (harness, ids) = one_appointment_synced::<E>(backend).await;
    let tom = add_tom(&harness).await;
    let team = harness.emulator.sync_calendar();
    give_to(&harness, &ids[0], &tom).await;
    harness.run_jobs().await;
    assert_eq!(appointments_in(&harness, &team), Vec::<String>::new());

    // The first member is the only one left to take Tom's appointment, and the calendar is theirs.
    let deactivated = harness
        .app
        .post(
            &format!("/v1/staff/{tom}/deactivate"),
            &json!({ "future_appointments": "reassign" }),
        )
        .await;
    assert_eq!(
        deactivated.status(),
        200,
        "{}",
        deactivated.text().await.unwrap()
    );
    harness.run_jobs().await;
    assert_synced_into(&harness, &team, &ids).await;
}

pub async fn a_move_whose_create_fails_after_the_removal_was_recorded_ends_with_one_event<
    E: Emulated,
>(
    backend: Backend,
) {
    let (harness, ids) = one_appointment_synced::<E>(backend).await;
    let team = harness.emulator.sync_calendar();
    // The create after the removal is made but its answer lost, then refused: the job ends its first delivery
    // with the event out of the old calendar, perhaps in the new one, and the worker not knowing which.
    add_faults(
        &harness,
        "POST",
        &[
            (When::After, Fault::ConnectionReset),
            (When::Before, Fault::Unavailable),
            (When::Before, Fault::Unavailable),
        ],
    );
    let (other, _) = choose_another_calendar(&harness).await;
    run_some_jobs(&harness.app, 10).await;

    assert_eq!(appointments_in(&harness, &team), Vec::<String>::new());
    let business = harness.app.business_id.parse().unwrap();
    let stored = harness
        .app
        .store
        .get_appointment(business, ids[0].parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.sync.external_event_id, None, "{:?}", stored.sync);
    assert_eq!(
        stored.sync.event_home.map(|home| home.calendar_id),
        Some(other.clone()),
        "the state names the calendar the create went to"
    );

    // The queue delivers the job again, and once more (as SQS may).
    redeliver(&harness.app, &harness.appointment(&ids[0]).await).await;
    harness.run_jobs().await;
    assert_every_fault_fired(&harness);
    assert_eq!(appointments_in(&harness, &team), Vec::<String>::new());
    assert_synced_into(&harness, &other, &ids).await;
}

pub async fn an_event_stored_by_the_previous_release_moves_when_another_calendar_is_chosen<
    E: Emulated,
>(
    backend: Backend,
) {
    let harness = SyncHarness::<E>::connected(backend).await;
    let ids = booked_and_synced(&harness, &TUESDAY).await;
    // As the release before events named their calendar stored them: an event id and nothing else.
    let business = harness.app.business_id.parse().unwrap();
    for id in &ids {
        let id = id.parse().unwrap();
        let stored = harness
            .app
            .store
            .get_appointment(business, id)
            .await
            .unwrap()
            .unwrap();
        assert!(stored.sync.external_event_id.is_some());
        let previous_release = SyncState {
            event_home: None,
            ..stored.sync.clone()
        };
        let written = harness
            .app
            .store
            .update_sync_state(business, id, stored.version, &previous_release)
            .await
            .unwrap();
        assert!(written);
    }

    let (other, _) = choose_another_calendar(&harness).await;
    harness.run_jobs().await;

    assert_eq!(
        appointments_in(&harness, &harness.emulator.sync_calendar()),
        Vec::<String>::new()
    );
    assert_synced_into(&harness, &other, &ids).await;
}

for_providers!(
    local: [
        the_calendar_left_behind_no_longer_blocks_time,
        deactivating_a_member_with_reassign_sends_their_appointments_events_to_the_new_member,
        a_move_whose_create_fails_after_the_removal_was_recorded_ends_with_one_event,
        an_event_stored_by_the_previous_release_moves_when_another_calendar_is_chosen,
    ],
    aws: [
        choosing_another_calendar_moves_every_upcoming_event_exactly_once,
        giving_an_appointment_to_a_member_without_a_calendar_removes_its_event_and_back_creates_it,
    ],
);
