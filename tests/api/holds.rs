use booking_core::ports::BusyEvent;
use integration_tests::{
    TestApp, assert_invalid_field, assert_problem, assert_status_counts, booking, spawn_app,
    spawn_app_with_custom_service, spawn_app_with_service, statuses_of, strings_at,
};
use jiff::SignedDuration;
use serde_json::{Value, json};

const TEN: &str = "2026-12-01T10:00:00-05:00";

async fn hold(app: &TestApp, service: &str, start: &str) -> reqwest::Response {
    app.post(
        "/v1/holds",
        &json!({ "service_id": service, "start": start }),
    )
    .await
}

async fn held(app: &TestApp, service: &str, start: &str) -> Value {
    let response = hold(app, service, start).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

fn from_hold(hold_id: &str) -> Value {
    json!({
        "hold_id": hold_id,
        "customer": { "name": "Ana Silva", "phone": "+14155550123" },
        "source": "ai"
    })
}

#[tokio::test]
async fn a_hold_keeps_the_time_from_everyone_else_for_five_minutes() {
    let (app, service) = spawn_app_with_custom_service(json!({ "buffer_after_minutes": 15 })).await;
    let response = hold(&app, &service, TEN).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    let id = body["id"].as_str().unwrap();
    assert_eq!(location, format!("/v1/holds/{id}"));
    assert_eq!(
        body["slot"],
        json!({ "start": TEN, "end": "2026-12-01T10:30:00-05:00" })
    );
    assert_eq!(body["expires_at"], "2026-11-30T08:05:00-05:00");
    assert_eq!(body["active"], true);
    assert_eq!(body["service_id"], service.as_str());
    assert_eq!(app.get_json(&location).await, body);

    // A booking, a check, the availability list and another hold all see it, buffer included.
    let refused = assert_problem(app.book(&service, TEN).await, 409, "slot_unavailable").await;
    assert_eq!(refused["reason"], "taken");
    assert!(!refused["alternatives"].as_array().unwrap().is_empty());
    let refused = assert_problem(
        hold(&app, &service, "2026-12-01T10:30:00-05:00").await,
        409,
        "slot_unavailable",
    )
    .await;
    assert_eq!(refused["reason"], "taken");
    let check = app
        .post_json(
            "/v1/availability/check",
            &json!({ "service_id": service, "start": TEN }),
        )
        .await;
    assert_eq!(check["available"], false);
    assert_eq!(check["reason"], "taken");
    let day = app
        .get_json(&format!(
            "/v1/availability?service_id={service}&from=2026-12-01&to=2026-12-01"
        ))
        .await;
    let starts = strings_at(&day["slots"], "start");
    assert!(
        !starts
            .iter()
            .any(|start| start == TEN || start == "2026-12-01T10:30:00-05:00")
    );
    assert!(
        starts
            .iter()
            .any(|start| start == "2026-12-01T10:45:00-05:00"),
        "{starts:?}"
    );
}

#[tokio::test]
async fn a_hold_is_booked_exactly_once_and_becomes_the_appointment() {
    let (app, service) = spawn_app_with_service().await;
    let hold = held(&app, &service, TEN).await;
    let hold_id = hold["id"].as_str().unwrap();
    let response = app.post("/v1/appointments", &from_hold(hold_id)).await;
    assert_eq!(response.status(), 201);
    let appointment: Value = response.json().await.unwrap();
    assert_eq!(
        appointment["id"], hold_id,
        "the appointment keeps the hold's id"
    );
    assert_eq!(appointment["start"], TEN);
    assert_eq!(appointment["service_id"], service.as_str());
    assert_eq!(appointment["customer"]["phone"], "+14155550123");
    assert_eq!(appointment["status"], "booked");

    let again = app.post("/v1/appointments", &from_hold(hold_id)).await;
    assert_problem(again, 409, "hold_already_converted").await;
    assert_problem(
        app.get(&format!("/v1/holds/{hold_id}")).await,
        404,
        "hold_not_found",
    )
    .await;
    assert_problem(
        app.delete(&format!("/v1/holds/{hold_id}")).await,
        404,
        "hold_not_found",
    )
    .await;
    // Still taken, now by the appointment.
    assert_problem(app.book(&service, TEN).await, 409, "slot_unavailable").await;
}

#[tokio::test]
async fn booking_a_hold_with_an_idempotency_key_replays_on_retry() {
    let (app, service) = spawn_app_with_service().await;
    let hold = held(&app, &service, TEN).await;
    let body = from_hold(hold["id"].as_str().unwrap());
    let send = || app.post_idempotent("call-7-tool-3", "/v1/appointments", body.clone());
    let first = send().await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let retry = send().await;
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
}

#[tokio::test]
async fn releasing_a_hold_frees_the_time_at_once() {
    let app = spawn_app().await;
    let service = app.create_service(json!({ "max_per_day": 1 })).await;
    let hold = held(&app, &service, TEN).await;
    let path = format!("/v1/holds/{}", hold["id"].as_str().unwrap());
    let released = app.delete(&path).await;
    assert_eq!(released.status(), 204);
    assert_problem(app.delete(&path).await, 404, "hold_not_found").await;
    app.booked(&service, TEN).await;
    let converting = app
        .post("/v1/appointments", &from_hold(hold["id"].as_str().unwrap()))
        .await;
    assert_problem(converting, 404, "hold_not_found").await;
}

#[tokio::test]
async fn an_expired_hold_blocks_nothing_and_cannot_be_booked() {
    let app = spawn_app().await;
    let service = app.create_service(json!({ "max_per_day": 1 })).await;
    let hold = held(&app, &service, TEN).await;
    let hold_id = hold["id"].as_str().unwrap();
    // The day's only place is held...
    let refused = assert_problem(
        app.book(&service, "2026-12-01T14:00:00-05:00").await,
        409,
        "slot_unavailable",
    )
    .await;
    assert_eq!(refused["reason"], "daily_limit");
    // ...until the hold expires; no cleanup has run.
    app.clock.advance(SignedDuration::from_mins(5));
    let read = app.get_json(&format!("/v1/holds/{hold_id}")).await;
    assert_eq!(read["active"], false);
    let converting = app.post("/v1/appointments", &from_hold(hold_id)).await;
    assert_problem(converting, 409, "hold_expired").await;
    app.booked(&service, TEN).await;
}

#[tokio::test]
async fn the_held_time_is_refused_when_the_calendar_became_busy_meanwhile() {
    let (app, service) = spawn_app_with_service().await;
    let hold = held(&app, &service, TEN).await;
    app.store
        .put_busy_event(&BusyEvent {
            business_id: app.business_id.parse().unwrap(),
            staff_id: booking_core::domain::StaffId::first_of(app.business_id.parse().unwrap()),
            calendar_key: "primary".into(),
            event_id: "dentist".into(),
            intervals: vec![
                booking_core::domain::Interval::new(
                    "2026-12-01T15:15:00Z".parse().unwrap(),
                    "2026-12-01T15:45:00Z".parse().unwrap(),
                )
                .unwrap(),
            ],
        })
        .await
        .unwrap();
    let converting = app
        .post("/v1/appointments", &from_hold(hold["id"].as_str().unwrap()))
        .await;
    let problem = assert_problem(converting, 409, "slot_unavailable").await;
    assert_eq!(problem["reason"], "calendar_busy");
    assert!(problem["alternatives"].is_array());
}

#[tokio::test]
async fn the_held_time_is_kept_even_if_the_rules_changed_since() {
    let (app, service) = spawn_app_with_service().await;
    let hold = held(&app, &service, TEN).await;
    let closed = app
        .patch(
            &format!("/v1/services/{service}"),
            &json!({ "weekly_hours": {}, "max_per_day": 1 }),
        )
        .await;
    assert_eq!(closed.status(), 200);
    let response = app
        .post("/v1/appointments", &from_hold(hold["id"].as_str().unwrap()))
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
}

#[tokio::test]
async fn the_hold_length_is_a_business_setting_of_1_to_15_minutes() {
    let (app, service) = spawn_app_with_service().await;
    let defaults = app.get_json("/v1/settings").await;
    assert_eq!(defaults["hold_minutes"], 5);
    let changed = app
        .patch("/v1/settings", &json!({ "hold_minutes": 15 }))
        .await;
    assert_eq!(changed.status(), 200);
    assert_eq!(changed.json::<Value>().await.unwrap()["hold_minutes"], 15);
    let hold = held(&app, &service, TEN).await;
    assert_eq!(hold["expires_at"], "2026-11-30T08:15:00-05:00");
    for minutes in [0, 16] {
        let refused = app
            .patch("/v1/settings", &json!({ "hold_minutes": minutes }))
            .await;
        assert_invalid_field(refused, "hold_minutes").await;
    }
    let array = app.patch("/v1/settings", &json!([null, null])).await;
    assert_problem(array, 400, "invalid_body").await;
    let reset = app
        .patch_json("/v1/settings", &json!({ "hold_minutes": null }))
        .await;
    assert_eq!(reset["hold_minutes"], 5);
}

#[tokio::test]
async fn hold_requests_are_refused_like_bookings() {
    let (app, service) = spawn_app_with_service().await;
    let outside = assert_problem(
        hold(&app, &service, "2026-12-01T18:00:00-05:00").await,
        409,
        "slot_unavailable",
    )
    .await;
    assert_eq!(outside["reason"], "outside_hours");
    assert!(!outside["alternatives"].as_array().unwrap().is_empty());
    let unknown = hold(&app, "0190f5a2-0000-7000-8000-000000000000", TEN).await;
    assert_problem(unknown, 404, "service_not_found").await;
    let bad_start = hold(&app, &service, "tomorrow at ten").await;
    assert_invalid_field(bad_start, "start").await;
    let path = app.get("/v1/holds/not-a-uuid").await;
    assert_problem(path, 400, "invalid_path").await;

    // A booking names a hold or a slot, not both, and not neither.
    let hold = held(&app, &service, TEN).await;
    let mut both = booking(&service, TEN);
    both["hold_id"] = hold["id"].clone();
    assert_invalid_field(app.post("/v1/appointments", &both).await, "hold_id").await;
    let neither = json!({ "customer": { "name": "Ana" } });
    assert_invalid_field(app.post("/v1/appointments", &neither).await, "service_id").await;
}

#[tokio::test]
async fn another_business_can_neither_see_nor_book_nor_release_a_hold() {
    let (app, service) = spawn_app_with_service().await;
    let hold = held(&app, &service, TEN).await;
    let other = app.other_business_key().await;
    let path = format!("/v1/holds/{}", hold["id"].as_str().unwrap());
    assert_problem(app.get_as(&other, &path).await, 404, "hold_not_found").await;
    let converting = app
        .post_as(
            &other,
            "/v1/appointments",
            &from_hold(hold["id"].as_str().unwrap()),
        )
        .await;
    assert_problem(converting, 404, "hold_not_found").await;
    let releasing = app.delete_as(&other, &path).await;
    assert_problem(releasing, 404, "hold_not_found").await;
    assert_eq!(app.get(&path).await.status(), 200);
}

#[tokio::test]
async fn twenty_callers_holding_one_time_at_once_get_one_hold() {
    let (app, service) = spawn_app_with_service().await;
    let attempts = (0..20).map(|_| hold(&app, &service, TEN));
    assert_status_counts(&statuses_of(attempts).await, &[(201, 1), (409, 19)]);
}

#[tokio::test]
async fn a_hold_never_reaches_the_calendar_but_its_appointment_does() {
    use booking_core::ports::{Job, ProviderKind};
    use std::time::Duration;

    let app = spawn_app().await;
    app.store_calendar_connection(app.calendar_connection(
        ProviderKind::GOOGLE,
        "owner@example.com",
        "primary",
    ))
    .await;
    let service = app.create_service(json!({})).await;
    let hold = held(&app, &service, TEN).await;
    assert!(
        app.queue
            .receive(10, Duration::ZERO)
            .await
            .unwrap()
            .is_empty(),
        "a hold queued a calendar sync"
    );
    let booked = app
        .post_json("/v1/appointments", &from_hold(hold["id"].as_str().unwrap()))
        .await;
    assert_eq!(booked["sync"]["status"], "pending");
    let jobs: Vec<Job> = app
        .queue
        .receive(10, Duration::ZERO)
        .await
        .unwrap()
        .into_iter()
        .map(|received| received.job)
        .collect();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert!(matches!(
        &jobs[0],
        Job::SyncAppointment { appointment_id, .. } if appointment_id.to_string() == booked["id"]
    ));
}
