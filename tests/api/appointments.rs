use integration_tests::{appointment_path, assert_problem, booking, spawn_app_with_service};
use serde_json::{Value, json};

#[tokio::test]
async fn booking_returns_the_appointment_in_the_business_zone() {
    let (app, id) = spawn_app_with_service().await;
    let response = app.book(&id, "2026-12-01T15:00:00Z").await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(location, appointment_path(&body));
    assert_eq!(body["start"], "2026-12-01T10:00:00-05:00");
    assert_eq!(body["end"], "2026-12-01T10:30:00-05:00");
    assert_eq!(body["time_zone"], "America/New_York");
    assert_eq!(
        body["customer"],
        json!({ "name": "Ana Silva", "phone": "+14155550123", "email": "ana@example.com" })
    );
    assert_eq!(body["notes"], "first visit");
    assert_eq!(body["source"], "ai");
    assert_eq!(body["status"], "booked");
    assert_eq!(body["version"], 1);
    assert_eq!(
        body["sync"]["status"], "not_connected",
        "no calendar is connected"
    );
    assert_eq!(body["sync"]["error"], Value::Null);

    let read = app.get_json(&location).await;
    assert_eq!(read, body);
}

#[tokio::test]
async fn a_taken_time_is_refused_with_alternatives() {
    let (app, id) = spawn_app_with_service().await;
    app.booked(&id, "2026-12-01T10:00:00-05:00").await;
    let second = app.book(&id, "2026-12-01T10:15:00-05:00").await;
    let problem = assert_problem(second, 409, "slot_unavailable").await;
    assert_eq!(problem["reason"], "taken");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("2026-12-01T10:15:00-05:00")
    );
    assert!(!problem["alternatives"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_different_service_cannot_take_overlapping_time() {
    let (app, consultation) = spawn_app_with_service().await;
    let cleaning = app
        .create_service(json!({ "name": "Cleaning", "duration_minutes": 60 }))
        .await;
    app.booked(&consultation, "2026-12-01T10:00:00-05:00").await;
    let overlapping = app.book(&cleaning, "2026-12-01T09:45:00-05:00").await;
    assert_problem(overlapping, 409, "slot_unavailable").await;
}

#[tokio::test]
async fn rescheduling_moves_the_appointment_and_rechecks_the_rules() {
    let (app, id) = spawn_app_with_service().await;
    let first = app.booked(&id, "2026-12-01T10:00:00-05:00").await;
    let second = app.booked(&id, "2026-12-01T11:00:00-05:00").await;
    let first_url = appointment_path(&first);

    let into_taken = app
        .patch(&first_url, &json!({ "start": "2026-12-01T11:15:00-05:00" }))
        .await;
    assert_eq!(
        assert_problem(into_taken, 409, "slot_unavailable").await["reason"],
        "taken"
    );

    let overlapping_itself = app
        .patch(&first_url, &json!({ "start": "2026-12-01T10:15:00-05:00" }))
        .await;
    assert_eq!(
        overlapping_itself.status(),
        200,
        "an appointment never conflicts with itself"
    );

    let moved = app
        .patch(
            &first_url,
            &json!({ "start": "2026-12-02T14:00:00-05:00", "notes": null }),
        )
        .await;
    assert_eq!(moved.status(), 200);
    let moved: Value = moved.json().await.unwrap();
    assert_eq!(moved["start"], "2026-12-02T14:00:00-05:00");
    assert_eq!(moved["notes"], Value::Null);
    assert_eq!(moved["version"], 3);
    assert_eq!(moved["id"], first["id"]);

    let freed = app.book(&id, "2026-12-01T10:00:00-05:00").await;
    assert_eq!(freed.status(), 201, "the old time is free again");
    let unchanged = app.get_json(&appointment_path(&second)).await;
    assert_eq!(unchanged["version"], 1);
}

#[tokio::test]
async fn editing_customer_details_keeps_the_time_and_bumps_the_version() {
    let (app, id) = spawn_app_with_service().await;
    let booked = app.booked(&id, "2026-12-01T10:00:00-05:00").await;
    let url = appointment_path(&booked);
    let edited = app
        .patch(
            &url,
            &json!({ "customer": { "name": "Ana S. Silva" }, "notes": "bring x-rays" }),
        )
        .await;
    assert_eq!(edited.status(), 200);
    let edited: Value = edited.json().await.unwrap();
    assert_eq!(
        edited["customer"],
        json!({ "name": "Ana S. Silva", "phone": null, "email": null })
    );
    assert_eq!(edited["notes"], "bring x-rays");
    assert_eq!(edited["start"], booked["start"]);
    assert_eq!(edited["version"], 2);

    let stale = app
        .patch(&url, &json!({ "notes": "late", "expected_version": 1 }))
        .await;
    assert_problem(stale, 409, "version_conflict").await;
    let same = app.patch(&url, &json!({ "notes": "bring x-rays" })).await;
    let same: Value = same.json().await.unwrap();
    assert_eq!(
        same["version"], 2,
        "a change that changes nothing is not a new version"
    );
}

#[tokio::test]
async fn cancelling_is_final_and_idempotent() {
    let (app, id) = spawn_app_with_service().await;
    let booked = app.booked(&id, "2026-12-01T10:00:00-05:00").await;
    let url = appointment_path(&booked);
    let cancelled = app.post_json(&format!("{url}/cancel"), &json!({})).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["version"], 2);
    let again = app.post_json(&format!("{url}/cancel"), &json!({})).await;
    assert_eq!(again["version"], 2);
    let reschedule = app
        .patch(&url, &json!({ "start": "2026-12-01T11:00:00-05:00" }))
        .await;
    assert_problem(reschedule, 409, "appointment_cancelled").await;
}

#[tokio::test]
async fn listing_filters_and_paginates_in_start_order() {
    let (app, id) = spawn_app_with_service().await;
    let mut ids = Vec::new();
    for hour in 9..16 {
        let response = app
            .book(&id, &format!("2026-12-01T{hour:02}:00:00-05:00"))
            .await;
        let body: Value = response.json().await.unwrap();
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    let cancelled = &ids[3];
    app.post(&format!("/v1/appointments/{cancelled}/cancel"), &json!({}))
        .await;

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url =
            "/v1/appointments?from=2026-12-01&to=2026-12-01&status=booked&limit=2".to_owned();
        if let Some(cursor) = &cursor {
            url.push_str(&format!("&cursor={cursor}"));
        }
        let page = app.get_json(&url).await;
        for item in page["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = ids.iter().filter(|id| *id != cancelled).cloned().collect();
    assert_eq!(seen, expected);

    let not_connected = app
        .get_json("/v1/appointments?sync_status=not_connected")
        .await;
    assert_eq!(not_connected["items"].as_array().unwrap().len(), 7);
    let pending = app.get_json("/v1/appointments?sync_status=pending").await;
    assert_eq!(pending["items"], json!([]));
    let other_day = app.get_json("/v1/appointments?from=2026-12-02").await;
    assert_eq!(other_day["items"], json!([]));
}

#[tokio::test]
async fn with_a_calendar_connected_changes_are_pending_and_enqueued() {
    use booking_core::ports::{Job, ProviderKind};
    let (app, id) = spawn_app_with_service().await;
    app.store_calendar_connection(app.calendar_connection(
        ProviderKind::GOOGLE,
        "clinic@example.com",
        "primary",
    ))
    .await;
    let booked = app.booked(&id, "2026-12-01T10:00:00-05:00").await;
    assert_eq!(booked["sync"]["status"], "pending");
    let url = appointment_path(&booked);
    let moved = app
        .patch_json(&url, &json!({ "start": "2026-12-01T11:00:00-05:00" }))
        .await;
    assert_eq!(moved["sync"]["status"], "pending");
    let cancelled = app.post_json(&format!("{url}/cancel"), &json!({})).await;
    assert_eq!(cancelled["sync"]["status"], "pending");

    let received = app
        .queue
        .receive(10, std::time::Duration::from_millis(100))
        .await
        .unwrap();
    let versions: Vec<u64> = received
        .iter()
        .map(|received| match &received.job {
            Job::SyncAppointment {
                appointment_id,
                version,
                ..
            } => {
                assert_eq!(appointment_id.to_string(), booked["id"].as_str().unwrap());
                *version
            }
            other => panic!("an appointment job, not {other:?}"),
        })
        .collect();
    assert_eq!(versions, vec![1, 2, 3], "one job per version, in order");
}

#[tokio::test]
async fn invalid_customer_details_are_refused_and_nothing_is_booked() {
    let (app, id) = spawn_app_with_service().await;
    let cases = [
        (json!({ "name": "" }), "customer.name"),
        (
            json!({ "name": "Ana", "phone": "555-0123" }),
            "customer.phone",
        ),
        (
            json!({ "name": "Ana", "email": "not-an-email" }),
            "customer.email",
        ),
    ];
    for (customer, field) in cases {
        let mut body = booking(&id, "2026-12-01T10:00:00-05:00");
        body["customer"] = customer;
        let problem = assert_problem(
            app.post("/v1/appointments", &body).await,
            422,
            "validation_failed",
        )
        .await;
        assert_eq!(problem["field"], field);
    }
    let listed = app.get_json("/v1/appointments").await;
    assert_eq!(listed["items"], json!([]));
}
