use integration_tests::{assert_problem, spawn_app};
use serde_json::{Value, json};

#[tokio::test]
async fn a_created_service_can_be_read_listed_updated_and_deactivated() {
    let app = spawn_app().await;
    let id = app
        .create_service(json!({
            "buffer_after_minutes": 10,
            "max_per_day": 4,
            "minimum_notice_minutes": 120,
            "date_overrides": [{ "date": "2026-12-24", "hours": [] }]
        }))
        .await;

    let read = app.get_json(&format!("/v1/services/{id}")).await;
    assert_eq!(read["name"], "Consultation");
    assert_eq!(read["slot_interval_minutes"], 15, "default slot interval");
    assert_eq!(read["booking_horizon_days"], 60, "default horizon");
    assert_eq!(
        read["weekly_hours"]["monday"],
        json!([{ "start": "09:00", "end": "17:00" }])
    );
    assert_eq!(
        read["date_overrides"],
        json!([{ "date": "2026-12-24", "hours": [] }])
    );
    assert_eq!(read["active"], true);
    assert_eq!(read["version"], 1);

    let listed = app.get_json("/v1/services").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    let updated = app
        .patch(
            &format!("/v1/services/{id}"),
            &json!({ "duration_minutes": 45, "max_per_day": null }),
        )
        .await;
    assert_eq!(updated.status(), 200);
    let updated: Value = updated.json().await.unwrap();
    assert_eq!(updated["duration_minutes"], 45);
    assert_eq!(updated["max_per_day"], Value::Null);
    assert_eq!(
        updated["buffer_after_minutes"], 10,
        "untouched fields keep their value"
    );
    assert_eq!(updated["version"], 2);

    let deactivated = app
        .post(&format!("/v1/services/{id}/deactivate"), &json!({}))
        .await;
    assert_eq!(deactivated.status(), 200);
    let deactivated: Value = deactivated.json().await.unwrap();
    assert_eq!(deactivated["active"], false);

    let availability = app
        .get(&format!(
            "/v1/availability?service_id={id}&from=2026-12-01&to=2026-12-01"
        ))
        .await;
    assert_problem(availability, 422, "service_inactive").await;
    let booking = app.book(&id, "2026-12-01T10:00:00-05:00").await;
    assert_problem(booking, 422, "service_inactive").await;
}

#[tokio::test]
async fn invalid_service_settings_are_refused_with_the_field() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({ "name": "X", "duration_minutes": 0 }),
            "duration_minutes",
        ),
        (json!({ "name": "", "duration_minutes": 30 }), "name"),
        (
            json!({ "name": "X", "duration_minutes": 30, "max_per_day": 0 }),
            "max_per_day",
        ),
        (
            json!({ "name": "X", "duration_minutes": 30, "booking_horizon_days": 5000 }),
            "booking_horizon_days",
        ),
        (
            json!({ "name": "X", "duration_minutes": 30, "weekly_hours": { "monday": [{ "start": "10:00", "end": "09:00" }] } }),
            "hours",
        ),
        (
            json!({ "name": "X", "duration_minutes": 30, "weekly_hours": { "monday": [
                { "start": "09:00", "end": "12:00" }, { "start": "11:00", "end": "13:00" } ] } }),
            "hours",
        ),
        (
            json!({ "name": "X", "duration_minutes": 30, "date_overrides": [{ "date": "2026-02-30" }] }),
            "date_overrides",
        ),
    ];
    for (body, field) in cases {
        let response = app.post("/v1/services", &body).await;
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(problem["field"], field, "for {body}");
    }
    let listed = app.get_json("/v1/services").await;
    assert_eq!(listed["items"], json!([]), "nothing was stored");
}

#[tokio::test]
async fn unknown_services_are_not_found() {
    let app = spawn_app().await;
    let response = app
        .get("/v1/services/0190a5c4-0000-7000-8000-000000000000")
        .await;
    assert_problem(response, 404, "service_not_found").await;
}
