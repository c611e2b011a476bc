use integration_tests::{
    TestApp, appointment_path, assert_invalid_field, assert_problem, spawn_app_with_service,
    strings_at,
};
use jiff::SignedDuration;
use serde_json::{Value, json};

async fn book_for(app: &TestApp, key: &str, service: &str, start: &str, phone: &str) -> Value {
    let response = app
        .post_as(
            key,
            "/v1/appointments",
            &json!({
                "service_id": service,
                "start": start,
                "customer": { "name": "Caller", "phone": phone }
            }),
        )
        .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

/// Books for a caller whose number is written as `written` and checks it was stored as `stored`.
async fn assert_stored_as(app: &TestApp, service: &str, written: &str, stored: &str) -> Value {
    let booked = book_for(
        app,
        &app.api_key,
        service,
        "2026-12-01T10:00:00-05:00",
        written,
    )
    .await;
    assert_eq!(booked["customer"]["phone"], stored, "{written}");
    booked
}

fn query(phone: &str) -> String {
    url_escape(phone)
}

fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn list(app: &TestApp, key: &str, params: &str) -> Value {
    let response = app.get_as(key, &format!("/v1/appointments?{params}")).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

fn starts(page: &Value) -> Vec<String> {
    strings_at(&page["items"], "start")
}

#[tokio::test]
async fn national_numbers_are_stored_in_e164_using_the_business_country() {
    let (app, service) = spawn_app_with_service().await;
    let key = app.api_key.clone();
    let booked = assert_stored_as(&app, &service, "(415) 555-0123", "+14155550123").await;
    // The number is found however the caller's platform writes it.
    for written in [
        "+14155550123",
        "+1 415-555-0123",
        "415.555.0123",
        "tel:+1-415-555-0123",
    ] {
        let page = list(&app, &key, &format!("phone={}", query(written))).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 1, "{written}");
        assert_eq!(page["items"][0]["id"], booked["id"]);
    }
    // An edit's new number is normalized the same way.
    let edited = app
        .patch(
            &appointment_path(&booked),
            &json!({ "customer": { "name": "Caller", "phone": "212 555 0188" } }),
        )
        .await;
    assert_eq!(edited.status(), 200);
    assert_eq!(
        edited.json::<Value>().await.unwrap()["customer"]["phone"],
        "+12125550188"
    );
    assert!(starts(&list(&app, &key, "phone=%2B14155550123").await).is_empty());
}

#[tokio::test]
async fn invalid_numbers_are_refused_naming_the_field() {
    let (app, service) = spawn_app_with_service().await;
    for phone in ["555-0123", "+1 415 555 01", "call me", "+999 123 4567"] {
        let response = app
            .post(
                "/v1/appointments",
                &json!({
                    "service_id": service,
                    "start": "2026-12-01T10:00:00-05:00",
                    "customer": { "name": "Caller", "phone": phone }
                }),
            )
            .await;
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(problem["field"], "customer.phone", "{phone}");
        let listing = app
            .get(&format!("/v1/appointments?phone={}", query(phone)))
            .await;
        let problem = assert_problem(listing, 422, "validation_failed").await;
        assert_eq!(problem["field"], "phone", "{phone}");
    }
}

#[tokio::test]
async fn the_country_can_be_chosen_and_defaults_from_the_time_zone() {
    let (app, service) = spawn_app_with_service().await;
    let settings = app.get_json("/v1/settings").await;
    assert_eq!(settings["country"], "US");
    assert_eq!(settings["country_source"], "time_zone");
    let changed = app
        .patch_json("/v1/settings", &json!({ "country": "gb" }))
        .await;
    assert_eq!(changed["country"], "GB");
    assert_eq!(changed["country_source"], "chosen");
    assert_stored_as(&app, &service, "020 7946 0018", "+442079460018").await;
    let refused = app.patch("/v1/settings", &json!({ "country": "XX" })).await;
    assert_invalid_field(refused, "country").await;
    let reset = app
        .patch_json("/v1/settings", &json!({ "country": null }))
        .await;
    assert_eq!(reset["country"], "US");
}

#[tokio::test]
async fn a_callers_appointments_come_upcoming_first_then_past_with_cancelled_ones() {
    let (app, service) = spawn_app_with_service().await;
    let key = app.api_key.clone();
    let caller = "+14155550123";
    let mut ids = Vec::new();
    for start in [
        "2026-12-01T10:00:00-05:00",
        "2026-12-02T10:00:00-05:00",
        "2026-12-03T10:00:00-05:00",
        "2026-12-04T10:00:00-05:00",
        "2026-12-07T10:00:00-05:00",
    ] {
        ids.push(book_for(&app, &key, &service, start, caller).await["id"].clone());
    }
    book_for(
        &app,
        &key,
        &service,
        "2026-12-01T11:00:00-05:00",
        "+14155550124",
    )
    .await;
    let other = app.other_business_key().await;
    let other_service = {
        let response = app
            .post_as(
                &other,
                "/v1/services",
                &integration_tests::weekday_service(),
            )
            .await;
        response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    book_for(
        &app,
        &other,
        &other_service,
        "2026-12-01T10:00:00+01:00",
        caller,
    )
    .await;
    let cancelled = app
        .post(
            &format!("/v1/appointments/{}/cancel", ids[1].as_str().unwrap()),
            &json!({}),
        )
        .await;
    assert_eq!(cancelled.status(), 200);

    // Two days on: Dec 1 and 2 are past, Dec 3, 4 and 7 upcoming.
    app.clock.advance(SignedDuration::from_hours(72));
    let mut seen = Vec::new();
    let mut params = "phone=%2B14155550123&limit=2".to_owned();
    loop {
        let page = list(&app, &key, &params).await;
        for item in page["items"].as_array().unwrap() {
            seen.push((
                item["start"].as_str().unwrap().to_owned(),
                item["status"].as_str().unwrap().to_owned(),
            ));
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                params = format!("phone=%2B14155550123&limit=2&cursor={}", url_escape(cursor))
            }
            None => break,
        }
    }
    let expected: Vec<(String, String)> = [
        ("2026-12-03T10:00:00-05:00", "booked"),
        ("2026-12-04T10:00:00-05:00", "booked"),
        ("2026-12-07T10:00:00-05:00", "booked"),
        ("2026-12-02T10:00:00-05:00", "cancelled"),
        ("2026-12-01T10:00:00-05:00", "booked"),
    ]
    .iter()
    .map(|(start, status)| ((*start).to_owned(), (*status).to_owned()))
    .collect();
    assert_eq!(seen, expected);

    // The other filters narrow it.
    let booked_only = list(&app, &key, "phone=%2B14155550123&status=booked").await;
    assert_eq!(starts(&booked_only).len(), 4);
    let window = list(
        &app,
        &key,
        "phone=%2B14155550123&from=2026-12-02&to=2026-12-03",
    )
    .await;
    assert_eq!(
        starts(&window),
        vec!["2026-12-03T10:00:00-05:00", "2026-12-02T10:00:00-05:00"]
    );
    // The other business finds only its own appointment with that number.
    let theirs = list(&app, &other, "phone=%2B14155550123").await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
    let bad_cursor = app
        .get("/v1/appointments?phone=%2B14155550123&cursor=x.1.2")
        .await;
    assert_problem(bad_cursor, 422, "validation_failed").await;
}
