use integration_tests::{assert_problem, booking, spawn_app};
use serde_json::{Value, json};

#[tokio::test]
async fn the_same_key_and_body_get_the_same_response_and_one_booking() {
    let app = spawn_app().await;
    let id = app.create_service(json!({})).await;
    let body = booking(&id, "2026-12-01T10:00:00-05:00");
    let send = || {
        app.client
            .post(app.url("/v1/appointments"))
            .bearer_auth(&app.api_key)
            .header("Idempotency-Key", "call-42")
            .json(&body)
            .send()
    };

    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let second = send().await.unwrap();
    assert_eq!(second.status(), 201);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    let second: Value = second.json().await.unwrap();
    assert_eq!(first, second);

    let listed: Value = app.get("/v1/appointments").await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused() {
    let app = spawn_app().await;
    let id = app.create_service(json!({})).await;
    let post = |start: &str| {
        app.client
            .post(app.url("/v1/appointments"))
            .bearer_auth(&app.api_key)
            .header("Idempotency-Key", "call-43")
            .json(&booking(&id, start))
            .send()
    };
    assert_eq!(
        post("2026-12-01T10:00:00-05:00").await.unwrap().status(),
        201
    );
    let other = post("2026-12-01T11:00:00-05:00").await.unwrap();
    assert_problem(other, 422, "idempotency_key_reused").await;
}

#[tokio::test]
async fn concurrent_retries_with_one_key_book_once() {
    let app = spawn_app().await;
    let id = app.create_service(json!({})).await;
    let body = booking(&id, "2026-12-01T10:00:00-05:00");
    let requests = (0..10).map(|_| {
        app.client
            .post(app.url("/v1/appointments"))
            .bearer_auth(&app.api_key)
            .header("Idempotency-Key", "retry-storm")
            .json(&body)
            .send()
    });
    let responses = futures::future::join_all(requests).await;
    let mut ids = std::collections::BTreeSet::new();
    for response in responses {
        let response = response.unwrap();
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        ids.insert(body["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "every retry saw the one booking");
}

#[tokio::test]
async fn a_refused_booking_does_not_burn_its_key() {
    let app = spawn_app().await;
    let id = app.create_service(json!({})).await;
    let post = |start: &str| {
        app.client
            .post(app.url("/v1/appointments"))
            .bearer_auth(&app.api_key)
            .header("Idempotency-Key", "first-try")
            .json(&booking(&id, start))
            .send()
    };
    let refused = post("2026-12-01T08:00:00-05:00").await.unwrap();
    assert_problem(refused, 409, "slot_unavailable").await;
    assert_eq!(
        post("2026-12-01T09:00:00-05:00").await.unwrap().status(),
        201
    );
}
