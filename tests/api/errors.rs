use integration_tests::{
    assert_invalid_field, assert_problem, booking, spawn_app, spawn_app_with_service,
};
use serde_json::json;

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_client_errors() {
    let (app, id) = spawn_app_with_service().await;
    let raw =
        |body: &'static str| app.send_raw("POST", "/v1/appointments", "application/json", body);
    assert_problem(raw("{not json").await, 400, "malformed_json").await;
    assert_problem(raw("").await, 400, "malformed_json").await;
    assert_problem(raw(r#"{"service_id": 5}"#).await, 400, "invalid_body").await;

    let mut unknown_field = booking(&id, "2026-12-01T10:00:00-05:00");
    unknown_field["colour"] = json!("blue");
    let problem = assert_problem(
        app.post("/v1/appointments", &unknown_field).await,
        400,
        "invalid_body",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("colour"));

    let not_json = app
        .send_raw("POST", "/v1/appointments", "text/plain", "hello")
        .await;
    assert_problem(not_json, 415, "unsupported_media_type").await;

    let huge = app
        .post(
            "/v1/services",
            &json!({ "name": "x".repeat(70_000), "duration_minutes": 30 }),
        )
        .await;
    assert_problem(huge, 413, "payload_too_large").await;
}

#[tokio::test]
async fn bad_ids_and_times_are_client_errors() {
    let (app, id) = spawn_app_with_service().await;
    assert_problem(
        app.get("/v1/appointments/not-a-uuid").await,
        400,
        "invalid_path",
    )
    .await;
    assert_problem(app.get("/v1/services/123").await, 400, "invalid_path").await;
    for start in [
        "tomorrow",
        "2026-12-01T10:00:00",
        "2026-13-01T10:00:00Z",
        "1900-01-01T10:00:00Z",
    ] {
        assert_invalid_field(app.book(&id, start).await, "start").await;
    }
    let unknown_service = app
        .book(
            "0190a5c4-0000-7000-8000-000000000000",
            "2026-12-01T10:00:00-05:00",
        )
        .await;
    assert_problem(unknown_service, 404, "service_not_found").await;
    let missing = app
        .get("/v1/appointments/0190a5c4-0000-7000-8000-000000000000")
        .await;
    assert_problem(missing, 404, "appointment_not_found").await;
    assert_problem(
        app.get("/v1/appointments?limit=0").await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.get("/v1/appointments?cursor=garbage").await,
        422,
        "validation_failed",
    )
    .await;
    assert_problem(
        app.get("/v1/appointments?status=maybe").await,
        400,
        "invalid_query",
    )
    .await;
}

#[tokio::test]
async fn unknown_routes_and_methods_get_problems() {
    let app = spawn_app().await;
    assert_problem(app.get("/v1/nothing-here").await, 404, "route_not_found").await;
    let wrong_method = app.delete("/v1/services").await;
    assert_problem(wrong_method, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let app = spawn_app().await;
    let response = app.get("/v1/services").await;
    assert!(response.headers().contains_key("x-request-id"));
}
