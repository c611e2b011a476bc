//! Each person's own calendars, end to end against both provider emulators at once: Maria (the first member) on
//! Google with two calendars checked, one of them written; Tom on Outlook. Busy time is per member, appointments land
//! in their member's written calendar, reassigning one moves its event between providers exactly once while both
//! fail and lose answers, and Tom's revoked grant is Tom's alone.

use std::time::Duration;

use integration_tests::TestApp;
use integration_tests::emulators::faults::{Fault, FaultRule, Matcher, When};
use integration_tests::emulators::google::{self, GoogleEmulator};
use integration_tests::emulators::microsoft::GraphEmulator;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::harness::{Backend, Emulated, Kind, Reachable, free_times, run_jobs, spawn_reaching};

fn on_tuesday(time: &str) -> Timestamp {
    format!("2026-12-01T{time}:00-05:00").parse().unwrap()
}

struct Salon {
    app: TestApp,
    google: GoogleEmulator,
    graph: GraphEmulator,
    service: String,
    maria: String,
    tom: String,
    /// The calendar Maria's appointments are written to, and the one she only checks.
    marias_written: String,
    marias_checked: String,
    /// Tom's Outlook calendar, written and checked.
    toms: String,
}

/// The member's connection as `GET /v1/staff/{id}/integrations` lists it (they have one).
async fn connection_of(app: &TestApp, member: &str) -> Value {
    let listed = app
        .get_json(&format!("/v1/staff/{member}/integrations"))
        .await;
    let connections = listed["connections"].as_array().unwrap();
    assert_eq!(connections.len(), 1, "{listed}");
    connections[0].clone()
}

/// Chooses the member's written and checked calendars through the API.
async fn choose(app: &TestApp, member: &str, written: &str, checked: &[&str]) -> Value {
    let connection = connection_of(app, member).await;
    let path = format!(
        "/v1/staff/{member}/integrations/{}/calendars",
        connection["id"].as_str().unwrap()
    );
    let response = app
        .put(&path, &json!({ "written": written, "checked": checked }))
        .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// Connects Tom's Outlook account through his own connect route.
async fn connect_tom(app: &TestApp, tom: &str) -> Value {
    let started = app
        .post(
            &format!("/v1/staff/{tom}/integrations/microsoft/connect"),
            &json!({}),
        )
        .await;
    let status = started.status();
    let started: Value = started.json().await.unwrap();
    assert_eq!(status, 200, "{started}");
    app.follow_consent(started["authorization_url"].as_str().unwrap())
        .await
}

async fn salon(backend: Backend) -> Salon {
    let google = GoogleEmulator::start().await;
    let graph = GraphEmulator::start().await;
    let app = spawn_reaching(
        backend,
        vec![
            Reachable {
                kind: <GoogleEmulator as Emulated>::KIND,
                credentials: Emulated::credentials(&google),
                endpoints: Emulated::endpoints(&google),
            },
            Reachable {
                kind: <GraphEmulator as Emulated>::KIND,
                credentials: Emulated::credentials(&graph),
                endpoints: Emulated::endpoints(&graph),
            },
        ],
    )
    .await;
    Emulated::set_now(&google, app.clock_now());
    Emulated::set_now(&graph, app.clock_now());
    let service = app.create_service(json!({})).await;
    let maria = app.get_json("/v1/staff").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let tom = app.post_json("/v1/staff", &json!({ "name": "Tom" })).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Maria connects as the business always has, then checks her personal calendar beside the team one.
    app.connect_calendar("google").await;
    let (marias_written, marias_checked) =
        (google::TEAM_CALENDAR.to_owned(), google::ACCOUNT.to_owned());
    app.select_calendar("google", &marias_written).await;
    choose(&app, &maria, &marias_written, &[&marias_checked]).await;
    // Tom connects his own Outlook account and writes to its main calendar.
    let toms = graph.calendar_id("Calendar");
    connect_tom(&app, &tom).await;
    choose(&app, &tom, &toms, &[]).await;
    run_jobs(&app).await;
    Salon {
        app,
        google,
        graph,
        service,
        maria,
        tom,
        marias_written,
        marias_checked,
        toms,
    }
}

impl Salon {
    /// Runs `change` in a calendar and the sync its notification asks for.
    async fn change_and_sync(&self, notifications: impl Fn() -> usize, change: impl FnOnce()) {
        let before = notifications();
        change();
        for _ in 0..500 {
            if notifications() > before {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(notifications() > before, "no notification");
        run_jobs(&self.app).await;
    }

    /// The Tuesday times offered with `member` (`None`: anyone), as "HH:MM".
    async fn tuesday(&self, member: Option<&str>) -> Vec<String> {
        free_times(&self.app, &self.service, "2026-12-01", member).await
    }

    /// Books `member` at a Tuesday time; returns the appointment's id.
    async fn book(&self, member: &str, time: &str) -> String {
        let mut body = integration_tests::booking(&self.service, &on_tuesday(time).to_string());
        body["staff_id"] = json!(member);
        let booked = self.app.post_json("/v1/appointments", &body).await;
        booked["id"]
            .as_str()
            .unwrap_or_else(|| panic!("{booked}"))
            .to_owned()
    }

    /// The appointments whose events are in Maria's written calendar and in Tom's, each sorted.
    fn events(&self) -> (Vec<String>, Vec<String>) {
        let ids = |raw: Vec<Value>, parse: &dyn Fn(&Value) -> String| {
            // The members' own events carry no appointment.
            let mut ids: Vec<String> = raw.iter().map(parse).filter(|id| !id.is_empty()).collect();
            ids.sort();
            ids
        };
        (
            ids(
                Emulated::raw_events(&self.google, &self.marias_written),
                &|raw| Emulated::parse(&self.google, raw).appointment_id,
            ),
            ids(Emulated::raw_events(&self.graph, &self.toms), &|raw| {
                Emulated::parse(&self.graph, raw).appointment_id
            }),
        )
    }

    async fn health_of(&self, member: &str) -> String {
        connection_of(&self.app, member).await["health"]["state"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn sync_status(&self, appointment: &str) -> String {
        let appointment = self
            .app
            .get_json(&format!("/v1/appointments/{appointment}"))
            .await;
        appointment["sync"]["status"]
            .as_str()
            .unwrap_or_else(|| panic!("{appointment}"))
            .to_owned()
    }

    fn assert_no_violations(&self) {
        for violations in [
            Emulated::violations(&self.google),
            Emulated::violations(&self.graph),
        ] {
            assert!(violations.is_empty(), "spec violations: {violations:#?}");
        }
    }
}

/// A 503 before the change is made, and after it is made twice (a 503, a reset connection): the answer is lost.
fn refused_and_lost(method: &'static str) -> Vec<FaultRule> {
    [
        (When::Before, Fault::Unavailable),
        (When::After, Fault::Unavailable),
        (When::After, Fault::ConnectionReset),
    ]
    .into_iter()
    .map(|(when, fault)| FaultRule {
        matcher: Matcher::method(method).path("events"),
        when,
        fault,
        times: 1,
    })
    .collect()
}

pub async fn each_member_has_their_own_calendars_both_ways(backend: Backend) {
    let salon = salon(backend).await;
    let (maria, tom) = (salon.maria.as_str(), salon.tom.as_str());
    // One channel per checked calendar: Maria's two at Google, Tom's one at Graph.
    assert_eq!(Emulated::channels(&salon.google).len(), 2);
    assert_eq!(Emulated::channels(&salon.graph).len(), 1);

    // An event in Maria's second calendar blocks Maria only; the caller who does not mind still gets Tom then.
    salon
        .change_and_sync(
            || Emulated::notifications(&salon.google).len(),
            || {
                Emulated::add_timed(
                    &salon.google,
                    &salon.marias_checked,
                    on_tuesday("10:00"),
                    on_tuesday("11:00"),
                    Kind::Busy,
                );
            },
        )
        .await;
    let ten = "10:00".to_owned();
    assert!(!salon.tuesday(Some(maria)).await.contains(&ten));
    assert!(salon.tuesday(Some(tom)).await.contains(&ten));
    assert!(salon.tuesday(None).await.contains(&ten));
    // And an event in Tom's calendar blocks Tom only.
    salon
        .change_and_sync(
            || Emulated::notifications(&salon.graph).len(),
            || {
                Emulated::add_timed(
                    &salon.graph,
                    &salon.toms,
                    on_tuesday("15:00"),
                    on_tuesday("16:00"),
                    Kind::Busy,
                );
            },
        )
        .await;
    let three = "15:00".to_owned();
    assert!(!salon.tuesday(Some(tom)).await.contains(&three));
    assert!(salon.tuesday(Some(maria)).await.contains(&three));

    // Bookings land in their member's written calendar, and nowhere else.
    let marias = salon.book(maria, "09:00").await;
    let toms = salon.book(tom, "12:00").await;
    run_jobs(&salon.app).await;
    assert_eq!(salon.events(), (vec![marias.clone()], vec![toms.clone()]));
    // Maria's checked calendar holds only her own event.
    assert_eq!(
        Emulated::raw_events(&salon.google, &salon.marias_checked).len(),
        1
    );

    // Given to Tom while both providers refuse and lose answers: out of Google once, into Outlook once.
    for rule in refused_and_lost("DELETE") {
        Emulated::faults(&salon.google).add(rule);
    }
    // Refused, then made with its answer lost: the retry finds the event rather than making a second one.
    for rule in refused_and_lost("POST").into_iter().step_by(2) {
        Emulated::faults(&salon.graph).add(rule);
    }
    let given = salon
        .app
        .patch(
            &format!("/v1/appointments/{marias}"),
            &json!({ "staff_id": tom }),
        )
        .await;
    assert_eq!(given.status(), 200, "{}", given.text().await.unwrap());
    run_jobs(&salon.app).await;
    for faults in [
        Emulated::faults(&salon.google),
        Emulated::faults(&salon.graph),
    ] {
        assert!(faults.unused().is_empty(), "{:?}", faults.unused());
    }
    let mut both = vec![marias.clone(), toms.clone()];
    both.sort();
    assert_eq!(salon.events(), (vec![], both));

    // Tom's grant is revoked: only his connection needs reconnecting, only his appointment fails, and reconnecting
    // queues only his again.
    Emulated::revoke_grants(&salon.graph);
    Emulated::expire_access_tokens(&salon.graph);
    let toms_next = salon.book(tom, "13:00").await;
    let marias_next = salon.book(maria, "14:00").await;
    run_jobs(&salon.app).await;
    assert_eq!(salon.health_of(tom).await, "reauth_required");
    assert_eq!(salon.health_of(maria).await, "connected");
    assert_eq!(salon.sync_status(&toms_next).await, "failed");
    assert_eq!(salon.sync_status(&marias_next).await, "synced");
    let reconnected = connect_tom(&salon.app, tom).await;
    assert_eq!(reconnected["requeued"], 1, "{reconnected}");
    run_jobs(&salon.app).await;
    assert_eq!(salon.sync_status(&toms_next).await, "synced");
    assert_eq!(salon.health_of(tom).await, "connected");

    // Maria connects an Outlook account too: a connection beside her Google one, which keeps its choice and watches.
    salon.app.connect_calendar("microsoft").await;
    let marias: Value = salon
        .app
        .get_json(&format!("/v1/staff/{maria}/integrations"))
        .await;
    let mut providers: Vec<&str> = marias["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|connection| connection["provider"].as_str().unwrap())
        .collect();
    providers.sort_unstable();
    assert_eq!(providers, ["google", "microsoft"], "{marias}");
    let google_connection = marias["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|connection| connection["provider"] == "google")
        .unwrap();
    assert_eq!(
        google_connection["calendar_id"],
        salon.marias_written.as_str()
    );
    assert_eq!(Emulated::channels(&salon.google).len(), 2);
    salon.assert_no_violations();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_member_has_their_own_calendars_both_ways_locally() {
    each_member_has_their_own_calendars_both_ways(Backend::Local).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_member_has_their_own_calendars_both_ways_on_aws() {
    if Backend::aws_available().await {
        each_member_has_their_own_calendars_both_ways(Backend::Aws).await;
    }
}
