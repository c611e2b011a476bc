//! What a careless or hostile client finds at the edge: lenient times, control characters, replays that differ,
//! refusals that are not problem documents, and the Bearer scheme's case.

use integration_tests::{
    appointment_path, assert_invalid_field, assert_problem, booking, spawn_app,
    spawn_app_with_service,
};
use serde_json::{Value, json};

/// Instants a lenient parser would read, most of them as a different time than the caller meant.
const LENIENT_INSTANTS: [&str; 9] = [
    "2026-12-01T10:00:00+25:00",
    "2026-12-01T10:00Z",
    "2026-12-01T10:00:00+0500",
    "20261201T100000Z",
    "2026-12-01T10Z",
    "2026-12-01T10:00:00+05",
    "2026-12-01T10:00:00-05:00[Europe/Berlin]",
    "2026-12-01T10:00:00",
    "2026-12-01 10:00:00Z",
];

async fn assert_field_refused(response: reqwest::Response, field: &str, form: &str) {
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["field"], field, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains(form),
        "the refusal shows the accepted form: {problem}"
    );
}

#[tokio::test]
async fn lenient_instants_are_refused_everywhere_naming_the_field() {
    let (app, service) = spawn_app_with_service().await;
    let booked = app.booked(&service, "2026-12-01T11:00:00-05:00").await;
    let appointment = booked["id"].as_str().unwrap();
    for instant in LENIENT_INSTANTS {
        let form = "YYYY-MM-DDTHH:MM:SS";
        assert_field_refused(app.book(&service, instant).await, "start", form).await;
        let check = app
            .post(
                "/v1/availability/check",
                &json!({ "service_id": service, "start": instant }),
            )
            .await;
        assert_field_refused(check, "start", form).await;
        let moved = app
            .patch(
                &format!("/v1/appointments/{appointment}"),
                &json!({ "start": instant }),
            )
            .await;
        assert_field_refused(moved, "start", form).await;
        let encoded = instant.replace('+', "%2B").replace(' ', "%20");
        let window = app
            .get(&format!(
                "/v1/availability?service_id={service}&from={encoded}"
            ))
            .await;
        assert_field_refused(window, "from", form).await;
        let listed = app.get(&format!("/v1/appointments?to={encoded}")).await;
        assert_field_refused(listed, "to", form).await;
    }
    assert_eq!(app.appointment_count().await, 1, "nothing was booked");
    let unchanged = app
        .get_json(&format!("/v1/appointments/{appointment}"))
        .await;
    assert_eq!(unchanged["start"], "2026-12-01T11:00:00-05:00");
}

#[tokio::test]
async fn local_dates_are_exactly_yyyy_mm_dd() {
    let (app, service) = spawn_app_with_service().await;
    for date in ["2026-12-1", "20261201", "2026-02-30", "12/01/2026"] {
        let window = app
            .get(&format!("/v1/availability?service_id={service}&to={date}"))
            .await;
        assert_field_refused(window, "to", "YYYY-MM-DD").await;
        let created = app
            .post(
                "/v1/services",
                &json!({
                    "name": "Closed days", "duration_minutes": 30,
                    "date_overrides": [{ "date": date, "hours": [] }]
                }),
            )
            .await;
        assert_field_refused(created, "date_overrides", "YYYY-MM-DD").await;
    }
    let open = app
        .get(&format!(
            "/v1/availability?service_id={service}&from=2026-12-01&to=2026-12-01"
        ))
        .await;
    assert_eq!(open.status(), 200);
}

#[tokio::test]
async fn control_and_bidi_characters_are_refused_in_every_free_text_field() {
    let (app, service) = spawn_app_with_service().await;
    let start = "2026-12-01T10:00:00-05:00";
    for character in [
        "\u{0}",
        "\u{7}",
        "\u{1b}[31m",
        "\u{7f}",
        "\u{202e}",
        "\u{202a}",
        "\u{2066}",
        "\u{2069}",
    ] {
        let mut body = booking(&service, start);
        body["customer"]["name"] = json!(format!("Ana{character} Silva"));
        assert_invalid_field(app.post("/v1/appointments", &body).await, "customer.name").await;

        let mut body = booking(&service, start);
        body["notes"] = json!(format!("bring{character} x-rays"));
        assert_invalid_field(app.post("/v1/appointments", &body).await, "notes").await;

        let renamed = app
            .post(
                "/v1/services",
                &json!({ "name": format!("Cut{character}"), "duration_minutes": 30 }),
            )
            .await;
        assert_invalid_field(renamed, "name").await;
    }
    assert_eq!(app.appointment_count().await, 0, "nothing was stored");

    let mut body = booking(&service, start);
    body["customer"]["name"] = json!("Ana Silva\nDROP");
    let problem = assert_problem(
        app.post("/v1/appointments", &body).await,
        422,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["field"], "customer.name", "a name is one line");

    let mut body = booking(&service, start);
    body["notes"] = json!("first visit\r\n\tbring x-rays");
    let booked = app.post("/v1/appointments", &body).await;
    assert_eq!(booked.status(), 201, "notes keep line breaks and tabs");
    let booked: Value = booked.json().await.unwrap();
    assert_eq!(booked["notes"], "first visit\r\n\tbring x-rays");
    let id = booked["id"].as_str().unwrap();
    let edited = app
        .patch(
            &format!("/v1/appointments/{id}"),
            &json!({ "notes": "late\u{1b}" }),
        )
        .await;
    let problem = assert_problem(edited, 422, "validation_failed").await;
    assert_eq!(problem["field"], "notes", "edits pass the same rule");
}

#[tokio::test]
async fn an_idempotent_replay_repeats_status_body_and_headers() {
    let (app, service) = spawn_app_with_service().await;
    let body = booking(&service, "2026-12-01T10:00:00-05:00");
    let send = || app.post_idempotent("call-7", "/v1/appointments", body.clone());
    let first = send().await;
    let replay = send().await;
    assert_eq!(first.status(), 201);
    assert_eq!(replay.status(), first.status());
    for header in ["location", "content-type"] {
        assert!(first.headers().contains_key(header), "{header}");
        assert_eq!(
            replay.headers().get(header),
            first.headers().get(header),
            "{header}"
        );
    }
    assert!(!first.headers().contains_key("idempotent-replayed"));
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let location = first.headers()["location"].to_str().unwrap().to_owned();
    let first: Value = first.json().await.unwrap();
    assert_eq!(location, appointment_path(&first));
    assert_eq!(replay.json::<Value>().await.unwrap(), first);
}

async fn assert_is_problem(response: reqwest::Response, what: &str) -> u16 {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    if status < 400 {
        return status;
    }
    assert_eq!(
        content_type.as_deref(),
        Some("application/problem+json"),
        "{what}: {status} {body}"
    );
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert!(
        problem["code"]
            .as_str()
            .is_some_and(|code| !code.is_empty()),
        "{what}: {problem}"
    );
    assert_eq!(problem["status"], status, "{what}");
    status
}

/// Every operation the document lists, as (method, path with its parameters filled in, takes a body).
fn operations(
    document: &Value,
    service: &str,
    appointment: &str,
    staff: &str,
) -> Vec<(String, String, bool)> {
    let mut operations = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        let path = path
            .replace("{service_id}", service)
            .replace("{appointment_id}", appointment)
            .replace("{staff_id}", staff)
            .replace("{provider}", "google")
            .replace(
                "{connection_id}",
                &booking_core::domain::ConnectionId::generate().to_string(),
            );
        for (method, operation) in item.as_object().unwrap() {
            operations.push((
                method.to_uppercase(),
                path.clone(),
                operation.get("requestBody").is_some(),
            ));
        }
    }
    operations
}

#[tokio::test]
async fn every_refusal_on_every_route_is_a_problem_document() {
    let (app, service) = spawn_app_with_service().await;
    let booked = app.booked(&service, "2026-12-01T11:00:00-05:00").await;
    let appointment = booked["id"].as_str().unwrap().to_owned();
    let staff = booked["staff"]["id"].as_str().unwrap().to_owned();
    let document = app.get_json("/openapi.json").await;
    let operations = operations(&document, &service, &appointment, &staff);
    assert!(operations.len() >= 15, "{operations:?}");

    for (method, path, takes_body) in &operations {
        let what = format!("{method} {path}");
        if *takes_body {
            let oversized = app
                .send_raw(
                    method,
                    path,
                    "application/json",
                    vec![b' '; 2 * 1024 * 1024],
                )
                .await;
            assert_eq!(
                assert_is_problem(oversized, &format!("{what} oversized")).await,
                413,
                "{what}"
            );
            let garbled = app
                .send_raw(
                    method,
                    path,
                    "application/json",
                    vec![0xff, 0xfe, b'{', 0x00, 0x9f],
                )
                .await;
            let status = assert_is_problem(garbled, &format!("{what} garbled")).await;
            assert!(status >= 400, "{what} accepted a garbled body");
            let wrong_type = app.send_raw(method, path, "text/csv", "a,b\n1,2").await;
            assert_is_problem(wrong_type, &format!("{what} text/csv")).await;
        }
        let unauthenticated = app.anonymous(method, path).send().await.unwrap();
        assert_is_problem(unauthenticated, &format!("{what} without a key")).await;
        let wrong_method = app.request("TRACE", path).send().await.unwrap();
        assert_eq!(
            assert_is_problem(wrong_method, &format!("TRACE {path}")).await,
            405
        );
    }
    for path in ["/v1/nothing", "/v1/appointments/x/y/z", "/", "/v1/webhooks"] {
        assert_eq!(assert_is_problem(app.get(path).await, path).await, 404);
    }
}

#[tokio::test]
async fn oversized_and_garbled_webhook_bodies_are_problem_documents() {
    let app = spawn_app().await;
    let post = |path: &str, body: Vec<u8>| {
        app.anonymous("POST", path)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let huge = post("/v1/webhooks/microsoft", vec![b' '; 2 * 1024 * 1024])
        .await
        .unwrap();
    assert_problem(huge, 413, "payload_too_large").await;
    let garbled = post("/v1/webhooks/microsoft", vec![0xff, 0x00, 0x9f])
        .await
        .unwrap();
    assert_problem(garbled, 400, "invalid_body").await;
    let google = post("/v1/webhooks/google", vec![0xff; 2 * 1024 * 1024])
        .await
        .unwrap();
    assert_is_problem(google, "google webhook oversized").await;
    let google = post("/v1/webhooks/google", vec![0xff, 0x00]).await.unwrap();
    assert_problem(google, 400, "invalid_header").await;
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = spawn_app().await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response = app
            .anonymous("GET", "/v1/services")
            .header("authorization", format!("{scheme} {}", app.api_key))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{scheme}");
    }
    for header in [format!("Basic {}", app.api_key), app.api_key.clone()] {
        let response = app
            .anonymous("GET", "/v1/services")
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_problem(response, 401, "unauthorized").await;
    }
}
