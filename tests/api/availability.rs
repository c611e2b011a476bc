use integration_tests::{
    assert_problem, spawn_app, spawn_app_with_custom_service, spawn_app_with_service, strings_at,
};
use serde_json::{Value, json};

fn starts(body: &Value) -> Vec<String> {
    strings_at(&body["slots"], "start")
}

#[tokio::test]
async fn slots_follow_hours_and_are_shown_in_the_business_zone() {
    let (app, id) = spawn_app_with_service().await;
    let response = app
        .get(&format!(
            "/v1/availability?service_id={id}&from=2026-12-01&to=2026-12-01"
        ))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["time_zone"], "America/New_York");
    let starts = starts(&body);
    // 09:00 to 16:30 every 15 minutes for a 30-minute service.
    assert_eq!(starts.len(), 31);
    assert_eq!(
        starts.first().map(String::as_str),
        Some("2026-12-01T09:00:00-05:00")
    );
    assert_eq!(
        starts.last().map(String::as_str),
        Some("2026-12-01T16:30:00-05:00")
    );
    assert_eq!(body["slots"][0]["end"], "2026-12-01T09:30:00-05:00");
    assert_eq!(body["clipped"], false);
}

#[tokio::test]
async fn booked_and_buffered_time_is_not_offered_and_cancelling_frees_it() {
    let (app, id) = spawn_app_with_custom_service(json!({ "buffer_after_minutes": 15 })).await;
    let booked = app.book(&id, "2026-12-01T10:00:00-05:00").await;
    assert_eq!(booked.status(), 201);
    let appointment: Value = booked.json().await.unwrap();

    let url = format!("/v1/availability?service_id={id}&from=2026-12-01&to=2026-12-01");
    let after_booking = starts(&app.get_json(&url).await);
    // Occupied [10:00, 10:45): slots whose [start − 0, start + 45) touches it are gone.
    for taken in ["09:30", "09:45", "10:00", "10:15", "10:30"] {
        assert!(
            !after_booking.contains(&format!("2026-12-01T{taken}:00-05:00")),
            "{taken} still offered"
        );
    }
    assert!(after_booking.contains(&"2026-12-01T09:15:00-05:00".to_owned()));
    assert!(after_booking.contains(&"2026-12-01T10:45:00-05:00".to_owned()));

    let cancelled = app
        .post(
            &format!(
                "/v1/appointments/{}/cancel",
                appointment["id"].as_str().unwrap()
            ),
            &json!({}),
        )
        .await;
    assert_eq!(cancelled.status(), 200);
    let after_cancel = starts(&app.get_json(&url).await);
    assert!(
        after_cancel.contains(&"2026-12-01T10:00:00-05:00".to_owned()),
        "cancelling frees the time at once"
    );
}

#[tokio::test]
async fn external_busy_time_blocks_slots() {
    let (app, id) = spawn_app_with_service().await;
    let business_id = app.business_id.parse().unwrap();
    let busy = booking_core::domain::Interval::new(
        "2026-12-01T12:00:00-05:00".parse().unwrap(),
        "2026-12-01T13:00:00-05:00".parse().unwrap(),
    )
    .unwrap();
    app.store
        .put_busy_event(&booking_core::ports::BusyEvent {
            business_id,
            staff_id: booking_core::domain::StaffId::first_of(business_id),
            calendar_key: "primary".into(),
            event_id: "lunch".into(),
            intervals: vec![busy],
        })
        .await
        .unwrap();
    let body = app
        .get_json(&format!(
            "/v1/availability?service_id={id}&from=2026-12-01&to=2026-12-01"
        ))
        .await;
    let starts = starts(&body);
    assert!(!starts.contains(&"2026-12-01T12:00:00-05:00".to_owned()));
    assert!(!starts.contains(&"2026-12-01T11:45:00-05:00".to_owned()));
    assert!(starts.contains(&"2026-12-01T11:30:00-05:00".to_owned()));
    assert!(starts.contains(&"2026-12-01T13:00:00-05:00".to_owned()));

    let check = app
        .post(
            "/v1/availability/check",
            &json!({ "service_id": id, "start": "2026-12-01T12:15:00-05:00" }),
        )
        .await;
    let check: Value = check.json().await.unwrap();
    assert_eq!(check["available"], false);
    assert_eq!(check["reason"], "calendar_busy");
}

#[tokio::test]
async fn windows_beyond_the_horizon_are_clipped_and_say_so() {
    let (app, id) = spawn_app_with_custom_service(
        json!({ "booking_horizon_days": 7, "minimum_notice_minutes": 120 }),
    )
    .await;
    let body = app
        .get_json(&format!(
            "/v1/availability?service_id={id}&from=2026-11-30&to=2026-12-31"
        ))
        .await;
    assert_eq!(body["clipped"], true);
    assert_eq!(
        body["searched_from"], "2026-11-30T10:00:00-05:00",
        "now + 2 h of notice"
    );
    assert_eq!(
        body["searched_to"], "2026-12-07T08:00:00-05:00",
        "now + 7 days"
    );
    let starts = starts(&body);
    assert_eq!(
        starts.first().map(String::as_str),
        Some("2026-11-30T10:00:00-05:00")
    );
    assert!(
        starts
            .iter()
            .all(|start| start.as_str() <= "2026-12-07T08:00:00-05:00")
    );

    let past = app
        .get_json(&format!(
            "/v1/availability?service_id={id}&from=2026-01-01&to=2026-01-31"
        ))
        .await;
    assert_eq!(past["clipped"], true);
    assert_eq!(past["slots"], json!([]));
    assert_eq!(past["searched_from"], Value::Null);
}

#[tokio::test]
async fn a_check_names_each_reason_and_offers_alternatives() {
    let app = spawn_app().await;
    let id = app
        .create_service(
            json!({ "max_per_day": 1, "minimum_notice_minutes": 120, "booking_horizon_days": 30 }),
        )
        .await;
    app.booked(&id, "2026-12-02T10:00:00-05:00").await;
    let cases = [
        ("2026-12-01T10:00:00-05:00", None),
        ("2026-12-01T08:00:00-05:00", Some("outside_hours")),
        ("2026-12-01T10:07:00-05:00", Some("outside_hours")),
        ("2026-12-05T10:00:00-05:00", Some("outside_hours")),
        ("2026-11-30T09:00:00-05:00", Some("too_soon")),
        ("2027-02-01T10:00:00-05:00", Some("too_far")),
        ("2026-12-02T14:00:00-05:00", Some("daily_limit")),
    ];
    for (start, reason) in cases {
        let response = app
            .post(
                "/v1/availability/check",
                &json!({ "service_id": id, "start": start }),
            )
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["available"], reason.is_none(), "{start}: {body}");
        match reason {
            None => {
                assert_eq!(body["slot"]["start"], start);
                assert_eq!(body["alternatives"], json!([]));
            }
            Some(reason) => {
                assert_eq!(body["reason"], reason, "{start}");
                assert!(body["message"].as_str().is_some());
                assert!(
                    !body["alternatives"].as_array().unwrap().is_empty(),
                    "{start} has alternatives"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_check_of_a_taken_time_offers_the_nearest_free_ones() {
    let (app, id) = spawn_app_with_service().await;
    app.booked(&id, "2026-12-01T10:00:00-05:00").await;
    let body = app
        .post_json(
            "/v1/availability/check",
            &json!({ "service_id": id, "start": "2026-12-01T10:00:00-05:00" }),
        )
        .await;
    assert_eq!(body["reason"], "taken");
    let alternatives: Vec<&str> = body["alternatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|slot| slot["start"].as_str().unwrap())
        .collect();
    assert_eq!(alternatives.len(), 3);
    for expected in ["2026-12-01T09:30:00-05:00", "2026-12-01T10:30:00-05:00"] {
        assert!(
            alternatives.contains(&expected),
            "{expected} missing from {alternatives:?}"
        );
    }
}

#[tokio::test]
async fn absurd_and_reversed_windows_are_refused() {
    let (app, id) = spawn_app_with_service().await;
    let cases = [
        // Reversed.
        (
            format!("service_id={id}&from=2026-12-05&to=2026-12-01"),
            422,
            "validation_failed",
        ),
        (
            format!("service_id={id}&from=2026-12-01&to=2027-12-01"),
            400,
            "window_too_long",
        ),
        (
            format!("service_id={id}&from=yesterday"),
            422,
            "validation_failed",
        ),
        // No offset.
        (
            format!("service_id={id}&from=2026-12-01T09:00:00"),
            422,
            "validation_failed",
        ),
        (
            format!("service_id={id}&from=9999-01-01"),
            422,
            "validation_failed",
        ),
        // No service.
        ("from=2026-12-01".to_owned(), 400, "invalid_query"),
    ];
    for (query, status, code) in cases {
        let response = app.get(&format!("/v1/availability?{query}")).await;
        assert_eq!(response.status(), status, "{query}");
        assert_problem(response, status, code).await;
    }
}
