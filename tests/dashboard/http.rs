//! Sign-in, sessions, CSRF, throttling and tenant isolation over plain HTTP, each able to fail on its own.

use booking_core::app;
use booking_core::domain::{AppointmentId, BusinessId, ServiceId};
use integration_tests::{TestApp, spawn_app};
use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    PASSWORD, Visitor, api_keys, business_with_key, csrf_of, location, signed_in,
    spawn_app_with_google,
};

/// A booked appointment of the test business next Tuesday at 10:00 New York; returns (service, appointment).
async fn booked(app: &TestApp, key: &str) -> (String, String) {
    let service = app
        .post_as(key, "/v1/services", &integration_tests::weekday_service())
        .await;
    assert_eq!(service.status(), 201);
    let service: Value = service.json().await.unwrap();
    let service_id = service["id"].as_str().unwrap().to_owned();
    let booking = app
        .post_as(
            key,
            "/v1/appointments",
            &integration_tests::booking(&service_id, "2026-12-01T10:00:00-05:00"),
        )
        .await;
    assert_eq!(booking.status(), 201, "{}", booking.text().await.unwrap());
    let booking: Value = booking.json().await.unwrap();
    (service_id, booking["id"].as_str().unwrap().to_owned())
}

async fn appointment_status(app: &TestApp, key: &str, id: &str) -> String {
    let body = app
        .get_json_as(key, &format!("/v1/appointments/{id}"))
        .await;
    body["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn without_a_session_every_page_and_form_redirects_to_sign_in() {
    let app = spawn_app().await;
    let (service, appointment) = booked(&app, &app.api_key).await;
    let visitor = Visitor::new(&app);
    for path in [
        "/dashboard/appointments".to_owned(),
        format!("/dashboard/appointments/{appointment}"),
        "/dashboard/book".to_owned(),
        "/dashboard/services".to_owned(),
        format!("/dashboard/services/{service}"),
        "/dashboard/integrations".to_owned(),
        "/dashboard/api-keys".to_owned(),
    ] {
        let response = visitor.get(&path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        let target = location(&response);
        assert!(target.starts_with("/dashboard/sign-in"), "{path}: {target}");
        assert!(target.contains("next=%2Fdashboard"), "{path}: {target}");
    }
    let cancel = visitor
        .post(
            &format!("/dashboard/appointments/{appointment}/cancel"),
            &[("csrf", "anything")],
        )
        .await;
    assert_eq!(cancel.status(), StatusCode::SEE_OTHER);
    assert!(location(&cancel).starts_with("/dashboard/sign-in"));
    assert_eq!(
        appointment_status(&app, &app.api_key, &appointment).await,
        "booked"
    );
}

#[tokio::test]
async fn a_form_without_the_sessions_token_or_from_another_origin_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let (_, appointment) = booked(&app, &app.api_key).await;
    let mut owner = signed_in(&app, &app.business_id, "owner@clinic.test").await;
    let cancel = format!("/dashboard/appointments/{appointment}/cancel");
    let token = csrf_of(&owner.page(&cancel).await);

    let missing = owner.post(&cancel, &[]).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);
    let wrong = owner.post(&cancel, &[("csrf", "not-the-token")]).await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    owner.origin = Some("https://evil.example".to_owned());
    let foreign = owner.post(&cancel, &[("csrf", &token)]).await;
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        appointment_status(&app, &app.api_key, &appointment).await,
        "booked"
    );
    let keys = api_keys(&app).await;
    let no_key = owner
        .post("/dashboard/api-keys", &[("csrf", "x"), ("name", "Agent")])
        .await;
    assert_eq!(no_key.status(), StatusCode::FORBIDDEN);

    owner.origin = Some(format!("http://{}", app.address));
    let right = owner.post(&cancel, &[("csrf", &token)]).await;
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        appointment_status(&app, &app.api_key, &appointment).await,
        "cancelled"
    );
    let keys_after = api_keys(&app).await;
    assert_eq!(keys.len(), keys_after.len());

    // Signing in is a form too: without the page's token it is refused before any password is checked.
    let stranger = Visitor::new(&app);
    let forged = stranger
        .post(
            "/dashboard/sign-in",
            &[
                ("csrf", "x"),
                ("email", "owner@clinic.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn another_businesss_ids_are_not_found_on_any_page_or_form() {
    let app = spawn_app().await;
    let other_key = app.other_business_key().await;
    let (other_service, other_appointment) = booked(&app, &other_key).await;
    let other_business = business_with_key(&app, &other_key).await;
    let other_key_id = app::accounts::list_api_keys(&app.app, &other_business)
        .await
        .unwrap()[0]
        .id
        .clone();
    let owner = signed_in(&app, &app.business_id, "owner@clinic.test").await;
    let token = csrf_of(&owner.page("/dashboard/appointments").await);

    for path in [
        format!("/dashboard/appointments/{other_appointment}"),
        format!("/dashboard/appointments/{other_appointment}/cancel"),
        format!("/dashboard/services/{other_service}"),
        format!("/dashboard/api-keys/{other_key_id}/revoke"),
        "/dashboard/integrations/google/disconnect".to_owned(),
    ] {
        assert_eq!(
            owner.get(&path).await.status(),
            StatusCode::NOT_FOUND,
            "GET {path}"
        );
    }
    for (path, fields) in [
        (
            format!("/dashboard/appointments/{other_appointment}/cancel"),
            vec![],
        ),
        (
            format!("/dashboard/appointments/{other_appointment}/retry"),
            vec![],
        ),
        (
            format!("/dashboard/appointments/{other_appointment}/reschedule"),
            vec![("start", "2026-12-01T11:00:00-05:00")],
        ),
        (
            format!("/dashboard/services/{other_service}"),
            vec![("name", "Taken over")],
        ),
        (format!("/dashboard/api-keys/{other_key_id}/revoke"), vec![]),
        (
            "/dashboard/book".to_owned(),
            vec![
                ("service", other_service.as_str()),
                ("start", "2026-12-01T11:00:00-05:00"),
                ("name", "Intruder"),
            ],
        ),
    ] {
        let mut all = vec![("csrf", token.as_str())];
        all.extend(fields);
        let response = owner.post(&path, &all).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "POST {path}");
    }
    // Nothing of the other business changed, and its key still works.
    assert_eq!(
        appointment_status(&app, &other_key, &other_appointment).await,
        "booked"
    );
    let service = app
        .get_json_as(&other_key, &format!("/v1/services/{other_service}"))
        .await;
    assert_eq!(service["name"], "Consultation");
    let listed = app
        .get_as(&other_key, "/v1/appointments?from=2026-12-01&to=2026-12-01")
        .await;
    assert_eq!(listed.status(), 200);
    let other_booking = app
        .store
        .get_appointment(
            other_business.id,
            other_appointment.parse::<AppointmentId>().unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other_booking.version, 1);
    assert!(
        app.store
            .get_service(
                other_business.id,
                other_service.parse::<ServiceId>().unwrap()
            )
            .await
            .unwrap()
            .is_some()
    );
    // And the owner's own list does not show it.
    let list = owner
        .page("/dashboard/appointments?from=2026-12-01&to=2026-12-01")
        .await;
    assert!(!list.contains(&other_appointment));
}

#[tokio::test]
async fn a_session_ends_when_it_expires_and_when_its_owner_signs_out() {
    let app = spawn_app().await;
    let owner = signed_in(&app, &app.business_id, "owner@clinic.test").await;
    assert_eq!(
        owner.get("/dashboard/appointments").await.status(),
        StatusCode::OK
    );
    app.clock
        .advance(SignedDuration::from_hours(12) + SignedDuration::from_mins(1));
    let expired = owner.get("/dashboard/appointments").await;
    assert_eq!(expired.status(), StatusCode::SEE_OTHER);
    assert!(location(&expired).starts_with("/dashboard/sign-in"));

    let again = Visitor::new(&app);
    assert_eq!(
        again.sign_in("owner@clinic.test", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let cookie = again.session_cookie().unwrap();
    let signed_out = again
        .submit("/dashboard/appointments", "/dashboard/sign-out", &[])
        .await;
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    assert_eq!(again.session_cookie(), None, "the cookie is cleared");
    // The old cookie, kept by someone, no longer works: the session is gone on the server.
    let thief = Visitor::new(&app);
    thief.set_session_cookie(&cookie);
    let refused = thief.get("/dashboard/appointments").await;
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    assert!(location(&refused).starts_with("/dashboard/sign-in"));
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_account_and_per_address() {
    let app = spawn_app().await;
    signed_in(&app, &app.business_id, "owner@clinic.test").await;
    let visitor = Visitor::new(&app);
    for _ in 0..5 {
        let wrong = visitor
            .sign_in("owner@clinic.test", "not the password")
            .await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused now, so guessing on gains nothing.
    let throttled = visitor.sign_in("owner@clinic.test", PASSWORD).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers().contains_key("retry-after"));
    assert!(
        throttled
            .text()
            .await
            .unwrap()
            .contains("Too many failed sign-ins")
    );
    app.clock.advance(SignedDuration::from_mins(16));
    assert_eq!(
        visitor
            .sign_in("owner@clinic.test", PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );

    // Per address: many accounts tried from one address.
    app.clock.advance(SignedDuration::from_mins(16));
    for attempt in 0..20 {
        let response = visitor
            .sign_in(&format!("guess{attempt}@clinic.test"), "whatever it is")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        visitor
            .sign_in("owner@clinic.test", PASSWORD)
            .await
            .status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_password_link_works_once_and_a_short_password_keeps_it_usable() {
    let app = spawn_app().await;
    let business_id: BusinessId = app.business_id.parse().unwrap();
    let link = app::accounts::invite_staff(&app.app, business_id, "new@clinic.test")
        .await
        .unwrap();
    let token = secrecy::ExposeSecret::expose_secret(&link.token).to_owned();
    let visitor = Visitor::new(&app);
    let short = visitor
        .choose_password("/dashboard/set-password", &token, "short")
        .await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let set = visitor
        .choose_password("/dashboard/set-password", &token, PASSWORD)
        .await;
    assert_eq!(set.status(), StatusCode::SEE_OTHER);
    let reused = visitor
        .choose_password("/dashboard/set-password", &token, "another long password")
        .await;
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        visitor.sign_in("new@clinic.test", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_key_made_on_the_dashboard_works_and_stops_the_moment_it_is_revoked() {
    let app = spawn_app().await;
    let owner = signed_in(&app, &app.business_id, "owner@clinic.test").await;
    let created = owner
        .submit(
            "/dashboard/api-keys",
            "/dashboard/api-keys",
            &[("name", "Phone agent")],
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let page = created.text().await.unwrap();
    let marker = "id=\"new-key\" type=\"text\" readonly value=\"";
    let start = page.find(marker).unwrap() + marker.len();
    let key = page[start..].split('"').next().unwrap().to_owned();
    assert!(key.starts_with("bk_"));
    assert_eq!(app.get_as(&key, "/v1/services").await.status(), 200);
    // Shown once: the list shows only its first characters.
    let listed = owner.page("/dashboard/api-keys").await;
    assert!(listed.contains("Phone agent") && !listed.contains(&key));

    let record = api_keys(&app)
        .await
        .into_iter()
        .find(|record| record.name == "Phone agent")
        .unwrap();
    let revoke = format!("/dashboard/api-keys/{}/revoke", record.id);
    let revoked = owner.submit(&revoke, &revoke, &[]).await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    let refused = app.get_as(&key, "/v1/services").await;
    integration_tests::assert_problem(refused, 401, "unauthorized").await;
    // The business's other key is untouched.
    assert_eq!(app.get("/v1/services").await.status(), 200);
}

#[tokio::test]
async fn the_stylesheet_is_served_under_its_content_hash_for_a_year() {
    let app = spawn_app().await;
    let page = Visitor::new(&app).page("/dashboard/sign-in").await;
    let start = page.find("/dashboard/assets/style.").unwrap();
    let href = page[start..].split('"').next().unwrap();
    let response = Visitor::new(&app).get(href).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        response.headers()["content-type"],
        "text/css; charset=utf-8"
    );
    let stale = Visitor::new(&app)
        .get("/dashboard/assets/style.000000000000.css")
        .await;
    assert_eq!(stale.status(), 404);
}

#[tokio::test]
async fn a_time_taken_meanwhile_is_refused_with_the_nearest_free_times_and_the_form_kept() {
    let app = spawn_app().await;
    let owner = signed_in(&app, &app.business_id, "owner@clinic.test").await;
    let service = app.create_service(serde_json::json!({})).await;
    let page = format!("/dashboard/book?service={service}&date=2026-12-01");
    let form = owner.page(&page).await;
    assert!(
        form.contains("value=\"2026-12-01T10:00:00-05:00\""),
        "10:00 is offered"
    );
    // Someone else (the phone agent) takes 10:00 while the owner types.
    app.booked(&service, "2026-12-01T10:00:00-05:00").await;
    let refused = owner
        .submit(
            &page,
            "/dashboard/book",
            &[
                ("service", &service),
                ("date", "2026-12-01"),
                ("start", "2026-12-01T10:00:00-05:00"),
                ("name", "Walk-in Customer"),
                ("phone", "+14155550199"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body = refused.text().await.unwrap();
    assert!(body.contains("That time was just taken"), "{body}");
    assert!(
        body.contains("Tue 1 Dec, 10:00 EST is not available"),
        "{body}"
    );
    assert!(
        body.contains("value=\"2026-12-01T09:30:00-05:00\"")
            && body.contains("value=\"2026-12-01T10:30:00-05:00\""),
        "the nearest times are offered"
    );
    assert!(
        body.contains("value=\"Walk-in Customer\"") && body.contains("value=\"+14155550199\""),
        "what was typed is kept"
    );
    let listed = app
        .get_json("/v1/appointments?from=2026-12-01&to=2026-12-01")
        .await;
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "nothing more was booked"
    );
}

#[tokio::test]
async fn declining_at_the_provider_brings_the_owner_back_to_integrations_with_the_reason() {
    use integration_tests::emulators::google::GoogleEmulator;
    let emulator = GoogleEmulator::start().await;
    let app = spawn_app_with_google(&emulator).await;
    let owner = signed_in(&app, &app.business_id, "owner@clinic.test").await;
    let started = owner
        .submit(
            "/dashboard/integrations",
            "/dashboard/integrations/google/connect",
            &[],
        )
        .await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let authorization = location(&started);
    assert!(
        authorization.starts_with(&emulator.authorize_url()),
        "{authorization}"
    );
    let state = authorization
        .split(['?', '&'])
        .find_map(|pair| pair.strip_prefix("state="))
        .unwrap()
        .to_owned();
    // The owner clicks "Cancel" at Google, which sends the browser back with an error instead of a code.
    let declined = owner
        .get(&format!(
            "/v1/integrations/google/callback?error=access_denied&state={state}"
        ))
        .await;
    assert_eq!(declined.status(), StatusCode::SEE_OTHER);
    let back = location(&declined);
    assert_eq!(back, "/dashboard/integrations?failed=google&why=denied");
    let page = owner.page(&back).await;
    assert!(page.contains("access was not granted"), "{page}");
    assert!(page.contains("Connect Google Calendar"));
    assert!(
        app.store
            .calendar_connections(app.business_id.parse().unwrap())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_appointment_can_be_moved_into_time_it_overlaps_itself() {
    let app = spawn_app().await;
    let owner = signed_in(&app, &app.business_id, "owner@clinic.test").await;
    let service = app
        .create_service(serde_json::json!({ "duration_minutes": 60 }))
        .await;
    let booked = app.booked(&service, "2026-12-01T10:00:00-05:00").await;
    let id = booked["id"].as_str().unwrap();
    let detail = format!("/dashboard/appointments/{id}");
    let page = owner.page(&detail).await;
    assert!(
        page.contains("value=\"2026-12-01T10:30:00-05:00\""),
        "half an hour later overlaps only itself, so it is offered"
    );
    assert!(
        !page.contains("value=\"2026-12-01T10:00:00-05:00\""),
        "where it already is is not"
    );
    let moved = owner
        .submit(
            &detail,
            &format!("{detail}/reschedule"),
            &[("start", "2026-12-01T10:30:00-05:00")],
        )
        .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    let after = app.get_json(&format!("/v1/appointments/{id}")).await;
    assert_eq!(after["start"], "2026-12-01T10:30:00-05:00");
}
