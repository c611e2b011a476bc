use integration_tests::{assert_problem, booking, spawn_app, spawn_app_with_service};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn every_route_requires_a_valid_key() {
    let app = spawn_app().await;
    let id = "0190a5c4-0000-7000-8000-000000000000";
    let routes = [
        ("GET", "/v1/services".to_owned()),
        ("POST", "/v1/services".to_owned()),
        ("GET", format!("/v1/services/{id}")),
        ("PATCH", format!("/v1/services/{id}")),
        ("POST", format!("/v1/services/{id}/deactivate")),
        ("GET", format!("/v1/availability?service_id={id}")),
        ("POST", "/v1/availability/check".to_owned()),
        ("GET", "/v1/appointments".to_owned()),
        ("POST", "/v1/appointments".to_owned()),
        ("GET", format!("/v1/appointments/{id}")),
        ("PATCH", format!("/v1/appointments/{id}")),
        ("POST", format!("/v1/appointments/{id}/cancel")),
        ("POST", "/v1/holds".to_owned()),
        ("GET", format!("/v1/holds/{id}")),
        ("DELETE", format!("/v1/holds/{id}")),
        ("GET", "/v1/staff".to_owned()),
        ("POST", "/v1/staff".to_owned()),
        ("GET", format!("/v1/staff/{id}")),
        ("PATCH", format!("/v1/staff/{id}")),
        ("POST", format!("/v1/staff/{id}/deactivate")),
        ("GET", "/v1/settings".to_owned()),
        ("PATCH", "/v1/settings".to_owned()),
        ("POST", format!("/v1/appointments/{id}/sync/retry")),
        ("POST", "/v1/appointments/sync/retry".to_owned()),
        ("GET", "/v1/integrations".to_owned()),
        ("GET", "/v1/integrations/google/connect".to_owned()),
        ("GET", "/v1/integrations/microsoft/calendars".to_owned()),
        ("PUT", "/v1/integrations/google/calendar".to_owned()),
        ("DELETE", "/v1/integrations/microsoft".to_owned()),
    ];
    for (method, path) in &routes {
        for key in [None, Some("bk_not-a-real-key"), Some("")] {
            let mut request = app.anonymous(method, path).json(&json!({}));
            if let Some(key) = key {
                request = request.bearer_auth(key);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response
                    .headers()
                    .get("www-authenticate")
                    .map(|v| v.to_str().unwrap()),
                Some("Bearer")
            );
            assert_problem(response, 401, "unauthorized").await;
        }
    }
}

#[tokio::test]
async fn one_business_can_never_see_or_change_anothers_data() {
    let (app, service) = spawn_app_with_service().await;
    let booked = app.booked(&service, "2026-12-01T10:00:00-05:00").await;
    let appointment = booked["id"].as_str().unwrap().to_owned();
    let intruder = app.other_business_key().await;

    let reads = [
        format!("/v1/services/{service}"),
        format!("/v1/appointments/{appointment}"),
        format!("/v1/availability?service_id={service}&from=2026-12-01&to=2026-12-01"),
    ];
    for path in &reads {
        let response = app.get_as(&intruder, path).await;
        assert_eq!(response.status(), 404, "{path}");
    }
    let services = app.get_json_as(&intruder, "/v1/services").await;
    assert_eq!(services["items"], json!([]));
    let appointments = app.get_json_as(&intruder, "/v1/appointments").await;
    assert_eq!(appointments["items"], json!([]));

    let (patch, post) = (Method::PATCH, Method::POST);
    let writes = [
        (
            &patch,
            format!("/v1/services/{service}"),
            json!({ "name": "Hijacked" }),
        ),
        (
            &post,
            format!("/v1/services/{service}/deactivate"),
            json!({}),
        ),
        (
            &patch,
            format!("/v1/appointments/{appointment}"),
            json!({ "notes": "x" }),
        ),
        (
            &post,
            format!("/v1/appointments/{appointment}/cancel"),
            json!({}),
        ),
        (
            &post,
            "/v1/appointments".to_owned(),
            booking(&service, "2026-12-01T11:00:00-05:00"),
        ),
        (
            &post,
            "/v1/availability/check".to_owned(),
            json!({ "service_id": service, "start": "2026-12-01T11:00:00-05:00" }),
        ),
    ];
    for (method, path, body) in &writes {
        let response = app
            .send_as(&intruder, (*method).clone(), path, Some(body))
            .await;
        assert_eq!(response.status(), 404, "{method} {path}");
    }

    let service_now = app.get_json(&format!("/v1/services/{service}")).await;
    assert_eq!(service_now["name"], "Consultation");
    assert_eq!(service_now["active"], true);
    let appointment_now = app
        .get_json(&format!("/v1/appointments/{appointment}"))
        .await;
    assert_eq!(appointment_now, booked);
}
