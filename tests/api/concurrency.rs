use integration_tests::{
    appointment_path, assert_status_counts, spawn_app, spawn_app_with_service, statuses_of,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_callers_for_one_slot_get_exactly_one_booking() {
    let (app, id) = spawn_app_with_service().await;
    let requests = (0..50).map(|_| app.book(&id, "2026-12-01T10:00:00-05:00"));
    assert_status_counts(&statuses_of(requests).await, &[(201, 1), (409, 49)]);
    assert_eq!(app.appointment_count().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_bookings_never_exceed_the_daily_limit() {
    let app = spawn_app().await;
    let id = app.create_service(json!({ "max_per_day": 3 })).await;
    let starts: Vec<String> = (0..16)
        .map(|i| format!("2026-12-01T{:02}:{:02}:00-05:00", 9 + i / 2, (i % 2) * 30))
        .collect();
    let requests = starts.iter().map(|start| app.book(&id, start));
    assert_status_counts(&statuses_of(requests).await, &[(201, 3), (409, 13)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reschedules_into_one_slot_move_only_one() {
    let (app, id) = spawn_app_with_service().await;
    let mut urls = Vec::new();
    for hour in [9, 10, 11, 12, 13] {
        let body = app
            .booked(&id, &format!("2026-12-01T{hour:02}:00:00-05:00"))
            .await;
        urls.push(appointment_path(&body));
    }
    let target = json!({ "start": "2026-12-01T15:00:00-05:00" });
    let moves = urls.iter().map(|url| app.patch(url, &target));
    assert_status_counts(&statuses_of(moves).await, &[(200, 1), (409, 4)]);
}
