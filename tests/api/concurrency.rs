use integration_tests::spawn_app;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_callers_for_one_slot_get_exactly_one_booking() {
    let app = spawn_app().await;
    let id = app.create_service(json!({})).await;
    let requests = (0..50).map(|_| app.book(&id, "2026-12-01T10:00:00-05:00"));
    let statuses: Vec<u16> = futures::future::join_all(requests)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        49,
        "{statuses:?}"
    );
    let listed: Value = app.get("/v1/appointments").await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bookings_never_exceed_the_daily_limit() {
    let app = spawn_app().await;
    let id = app.create_service(json!({ "max_per_day": 3 })).await;
    let starts: Vec<String> = (0..16)
        .map(|i| format!("2026-12-01T{:02}:{:02}:00-05:00", 9 + i / 2, (i % 2) * 30))
        .collect();
    let requests = starts.iter().map(|start| app.book(&id, start));
    let statuses: Vec<u16> = futures::future::join_all(requests)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        13,
        "{statuses:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reschedules_into_one_slot_move_only_one() {
    let app = spawn_app().await;
    let id = app.create_service(json!({})).await;
    let mut urls = Vec::new();
    for hour in [9, 10, 11, 12, 13] {
        let body: Value = app
            .book(&id, &format!("2026-12-01T{hour:02}:00:00-05:00"))
            .await
            .json()
            .await
            .unwrap();
        urls.push(format!("/v1/appointments/{}", body["id"].as_str().unwrap()));
    }
    let target = json!({ "start": "2026-12-01T15:00:00-05:00" });
    let moves = urls.iter().map(|url| app.patch(url, &target));
    let statuses: Vec<u16> = futures::future::join_all(moves)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        4,
        "{statuses:?}"
    );
}
