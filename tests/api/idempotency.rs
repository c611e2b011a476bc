use integration_tests::{assert_problem, booking, spawn_app_with_service};
use serde_json::Value;

#[tokio::test]
async fn the_same_key_and_body_get_the_same_response_and_one_booking() {
    let (app, id) = spawn_app_with_service().await;
    let body = booking(&id, "2026-12-01T10:00:00-05:00");
    let send = || app.post_idempotent("call-42", "/v1/appointments", body.clone());

    let first = send().await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let second = send().await;
    assert_eq!(second.status(), 201);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let second: Value = second.json().await.unwrap();
    assert_eq!(first, second);

    assert_eq!(app.appointment_count().await, 1);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused() {
    let (app, id) = spawn_app_with_service().await;
    let post =
        |start: &str| app.post_idempotent("call-43", "/v1/appointments", booking(&id, start));
    assert_eq!(post("2026-12-01T10:00:00-05:00").await.status(), 201);
    let other = post("2026-12-01T11:00:00-05:00").await;
    assert_problem(other, 422, "idempotency_key_reused").await;
}

#[tokio::test]
async fn concurrent_retries_with_one_key_book_once() {
    let (app, id) = spawn_app_with_service().await;
    let body = booking(&id, "2026-12-01T10:00:00-05:00");
    let requests =
        (0..10).map(|_| app.post_idempotent("retry-storm", "/v1/appointments", body.clone()));
    let responses = futures::future::join_all(requests).await;
    let mut ids = std::collections::BTreeSet::new();
    for response in responses {
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        ids.insert(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "every retry saw the one booking");
}

#[tokio::test]
async fn a_refused_booking_does_not_burn_its_key() {
    let (app, id) = spawn_app_with_service().await;
    let post =
        |start: &str| app.post_idempotent("first-try", "/v1/appointments", booking(&id, start));
    let refused = post("2026-12-01T08:00:00-05:00").await;
    assert_problem(refused, 409, "slot_unavailable").await;
    assert_eq!(post("2026-12-01T09:00:00-05:00").await.status(), 201);
}
