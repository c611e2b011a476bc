//! What an outsider's probe of the dashboard found, each as a test: no invitation or link that takes over an account,
//! a `next` that cannot break sign-in, forms read strictly, the throttle's sliding window, and refusals that are
//! pages with the security headers. Roles and their permissions on every route are `route_table.rs`.

use booking_core::app;
use booking_core::domain::{BusinessId, ConnectionId};
use booking_core::ports::{ConnectionHealth, LinkPurpose, PasswordLink, SignInEmail};
use integration_tests::emulators::google::GoogleEmulator;
use integration_tests::{TestApp, spawn_app};
use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, Response, StatusCode};
use secrecy::ExposeSecret;

use crate::support::{
    PASSWORD, Visitor, api_keys, business_with_key, csrf_of, location, signed_in, signed_in_staff,
    spawn_app_with_google,
};

pub(crate) const OWNER: &str = "owner@clinic.test";
pub(crate) const STAFF: &str = "staff@clinic.test";
pub(crate) const NOT_ALLOWED: &str = "Only the owner can do this";
pub(crate) const FORM_EXPIRED: &str = "This form has expired";

/// What the business has, for the routes' ids and to see that nothing changed.
#[derive(Debug, PartialEq)]
pub(crate) struct Snapshot {
    keys: usize,
    staff: usize,
    services: Vec<String>,
    appointment: String,
    connected: bool,
    /// The staff members customers are booked with, as REST lists them (versions included).
    members: serde_json::Value,
    assignment: String,
}

pub(crate) async fn snapshot(app: &TestApp, appointment: &str) -> Snapshot {
    let business_id: BusinessId = app.business_id.parse().unwrap();
    let business = app.store.get_business(business_id).await.unwrap().unwrap();
    let services = app.get_json("/v1/services").await;
    let detail = app
        .get_json(&format!("/v1/appointments/{appointment}"))
        .await;
    Snapshot {
        keys: api_keys(app).await.len(),
        staff: app::accounts::list_accounts(&app.app, &business)
            .await
            .unwrap()
            .len(),
        services: services["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|service| service["name"].as_str().unwrap().to_owned())
            .collect(),
        appointment: format!("{} {}", detail["status"], detail["start"]),
        connected: !app
            .store
            .calendar_connections(business_id)
            .await
            .unwrap()
            .is_empty(),
        members: app.get_json("/v1/staff").await,
        assignment: format!(
            "{:?}",
            app.store
                .get_business_settings(business_id)
                .await
                .unwrap()
                .assignment
        ),
    }
}

pub(crate) async fn text(response: Response) -> (StatusCode, String) {
    (response.status(), response.text().await.unwrap())
}

pub(crate) fn location_of(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn staff_cannot_take_over_the_owners_account_and_invitations_never_reach_an_existing_one() {
    let app = spawn_app().await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    let staff = signed_in_staff(&app, &app.business_id, STAFF).await;

    // The probe: signed in as staff, invite the owner's email.
    let token = csrf_of(&staff.page("/dashboard/appointments").await);
    let (status, body) = text(
        staff
            .post(
                "/dashboard/team/invite",
                &[("csrf", &token), ("email", OWNER)],
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains(NOT_ALLOWED) && !body.contains("set-password?token="));

    // The owner inviting an existing account (the owner, staff, another business's owner) is answered like any
    // invitation, with a link that sets no password.
    let other_key = app.other_business_key().await;
    let other_business = business_with_key(&app, &other_key).await;
    signed_in(&app, &other_business.id.to_string(), "owner@other.test").await;
    let invite = |email: &'static str| {
        let owner = &owner;
        async move {
            let response = owner
                .submit(
                    "/dashboard/api-keys",
                    "/dashboard/team/invite",
                    &[("email", email)],
                )
                .await;
            let (status, body) = text(response).await;
            assert_eq!(status, StatusCode::OK, "{email}: {body}");
            let marker = "id=\"invite-link\" type=\"text\" readonly value=\"";
            let start = body.find(marker).unwrap() + marker.len();
            let url = body[start..].split('"').next().unwrap().to_owned();
            let notice_start = body.find("<div class=\"notice strong\"").unwrap();
            let notice_end = notice_start + body[notice_start..].find("</div>").unwrap();
            let notice = body[notice_start..notice_end].replace(&url, "LINK");
            (url, notice)
        }
    };
    let (_, new_shape) = invite("new@clinic.test").await;
    for existing in [OWNER, STAFF, "owner@other.test"] {
        let (url, shape) = invite(existing).await;
        assert_eq!(
            shape.replace(existing, "EMAIL"),
            new_shape.replace("new@clinic.test", "EMAIL"),
            "{existing}: answered exactly like a new invitation"
        );
        assert!(!shape.contains("another business"));
        let token = url.split("token=").nth(1).unwrap();
        let stranger = Visitor::new(&app);
        let set = stranger
            .submit(
                &format!("/dashboard/set-password?token={token}"),
                "/dashboard/set-password",
                &[
                    ("token", token),
                    ("password", "the attacker's password"),
                    ("confirm", "the attacker's password"),
                ],
            )
            .await;
        assert_eq!(set.status(), StatusCode::BAD_REQUEST, "{existing}");
        assert_eq!(
            stranger
                .sign_in(existing, "the attacker's password")
                .await
                .status(),
            StatusCode::UNAUTHORIZED,
            "{existing}"
        );
    }
    // Everyone still signs in with their own password, and the owner's session lives on.
    for email in [OWNER, STAFF, "owner@other.test"] {
        assert_eq!(
            Visitor::new(&app).sign_in(email, PASSWORD).await.status(),
            StatusCode::SEE_OTHER,
            "{email}"
        );
    }
    assert_eq!(
        owner.get("/dashboard/api-keys").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_invitation_renewed_before_the_password_was_chosen_cannot_reset_it_afterwards() {
    let app = spawn_app().await;
    let business_id: BusinessId = app.business_id.parse().unwrap();
    let first = app::accounts::invite_staff(&app.app, business_id, STAFF)
        .await
        .unwrap();
    let renewed = app::accounts::invite_staff(&app.app, business_id, STAFF)
        .await
        .unwrap();
    let set = |token: String, password: &'static str| {
        let app = &app;
        async move {
            Visitor::new(app)
                .submit(
                    &format!("/dashboard/set-password?token={token}"),
                    "/dashboard/set-password",
                    &[
                        ("token", &token),
                        ("password", password),
                        ("confirm", password),
                    ],
                )
                .await
                .status()
        }
    };
    assert_eq!(
        set(first.token.expose_secret().to_owned(), PASSWORD).await,
        StatusCode::SEE_OTHER
    );
    app.clock.advance(SignedDuration::from_mins(5));
    assert_eq!(
        set(
            renewed.token.expose_secret().to_owned(),
            "someone else's password"
        )
        .await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        Visitor::new(&app).sign_in(STAFF, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn setting_a_password_through_a_link_ends_every_session_of_the_account() {
    let app = spawn_app().await;
    let business_id: BusinessId = app.business_id.parse().unwrap();
    let laptop = signed_in(&app, &app.business_id, OWNER).await;
    let phone = Visitor::new(&app);
    assert_eq!(
        phone.sign_in(OWNER, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    app.clock.advance(SignedDuration::from_mins(10));
    // A link for the owner, as a forgot-password flow would issue one.
    let token = "a reset token of the owner's";
    app.store
        .put_password_link(&PasswordLink {
            token_hash: app::accounts::token_hash(token),
            email: SignInEmail::try_from(OWNER.to_owned()).unwrap(),
            business_id,
            purpose: LinkPurpose::SetPassword,
            issued_at: app.clock_now(),
            expires_at: app.clock_now() + SignedDuration::from_hours(1),
            new_email: None,
        })
        .await
        .unwrap();
    let reset = Visitor::new(&app)
        .submit(
            &format!("/dashboard/set-password?token={token}"),
            "/dashboard/set-password",
            &[
                ("token", token),
                ("password", "a brand new password"),
                ("confirm", "a brand new password"),
            ],
        )
        .await;
    assert_eq!(reset.status(), StatusCode::SEE_OTHER);
    for session in [&laptop, &phone] {
        let refused = session.get("/dashboard/appointments").await;
        assert_eq!(refused.status(), StatusCode::SEE_OTHER);
        assert!(location(&refused).starts_with("/dashboard/sign-in"));
    }
    let again = Visitor::new(&app);
    assert_eq!(
        again.sign_in(OWNER, "a brand new password").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        again.get("/dashboard/appointments").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_next_that_is_not_a_plain_dashboard_path_sends_home_and_never_breaks_sign_in() {
    let app = spawn_app().await;
    signed_in(&app, &app.business_id, OWNER).await;
    for next in [
        "/dashboard\r\nSet-Cookie: stolen=1",
        "/dashboard\nSet-Cookie: stolen=1",
        "/dashboard\r",
        "/dashboard\0",
        "/dashboard\u{7f}",
        "/dashboard/\u{1b}[31m",
        "/dashboard/ appointments",
        "/dashboard/é",
        "//evil.example/dashboard",
        "/dashboard//evil.example",
        "/dashboard\\@evil.example",
        "https://evil.example/dashboard",
        "/dashboard/../v1/services",
        "/dashboard/%2E%2e/v1/services",
        "/dashboardly",
        "",
    ] {
        let visitor = Visitor::new(&app);
        let token = csrf_of(&visitor.page("/dashboard/sign-in").await);
        let response = visitor
            .post(
                "/dashboard/sign-in",
                &[
                    ("csrf", &token),
                    ("next", next),
                    ("email", OWNER),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(location(&response), "/dashboard/appointments", "{next:?}");
        assert_eq!(response.headers().get_all("set-cookie").iter().count(), 1);
        assert!(visitor.session_cookie().is_some(), "{next:?}");
    }
    // A plain path of our own pages is kept.
    let visitor = Visitor::new(&app);
    let token = csrf_of(&visitor.page("/dashboard/sign-in").await);
    let kept = visitor
        .post(
            "/dashboard/sign-in",
            &[
                ("csrf", &token),
                ("next", "/dashboard/appointments?sync=failed"),
                ("email", OWNER),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&kept), "/dashboard/appointments?sync=failed");
}

#[tokio::test]
async fn forms_that_are_not_forms_or_not_text_are_refused_as_pages_and_change_nothing() {
    let app = spawn_app().await;
    let service = app.create_service(serde_json::json!({})).await;
    let booked = app.booked(&service, "2026-12-01T10:00:00-05:00").await;
    let appointment = booked["id"].as_str().unwrap().to_owned();
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    let token = csrf_of(&owner.page("/dashboard/appointments").await);
    let before = snapshot(&app, &appointment).await;
    let appointments_before = app
        .get_json("/v1/appointments?from=2026-12-01&to=2026-12-02")
        .await["items"]
        .as_array()
        .unwrap()
        .len();

    let key = |name: &str| format!("csrf={token}&name={name}").into_bytes();
    let service_form = |name: &str| {
        format!(
            "csrf={token}&name={name}&duration=30&slot_interval=30&buffer_before=0&buffer_after=0&max_per_day=&min_notice=0&horizon=30&active=on"
        )
        .into_bytes()
    };
    let booking = |notes: &str| {
        format!(
            "csrf={token}&service={service}&date=2026-12-01&start=2026-12-01T11%3A00%3A00-05%3A00&name=Ana&phone=%2B14155550123&notes={notes}"
        )
        .into_bytes()
    };
    let mut raw_key = key("Agent");
    raw_key.push(0xFF);
    let cases: Vec<(&str, &str, Vec<u8>)> = vec![
        ("/dashboard/api-keys", "raw byte FF", raw_key),
        ("/dashboard/api-keys", "%FF", key("Agent%FF")),
        ("/dashboard/api-keys", "overlong %C0%AF", key("%C0%AFetc")),
        ("/dashboard/api-keys", "lone continuation", key("%80")),
        ("/dashboard/services", "%FF", service_form("Cut%FF")),
        ("/dashboard/services", "overlong", service_form("%C0%AF")),
        ("/dashboard/book", "%FF", booking("call%FFback")),
        ("/dashboard/book", "overlong", booking("%E0%80%AF")),
    ];
    for (path, what, body) in cases {
        let response = owner
            .send_raw(
                Method::POST,
                path,
                Some("application/x-www-form-urlencoded"),
                body,
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path} {what}");
        assert_dashboard_page(&response, &format!("{path} {what}"));
        assert!(text(response).await.1.contains("could not be read"));
    }
    for content_type in [
        Some("text/plain"),
        Some("application/json"),
        Some("application/xml"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        for (path, body) in [
            ("/dashboard/api-keys", key("Agent")),
            ("/dashboard/services", service_form("Cut")),
            ("/dashboard/book", booking("fine")),
        ] {
            let response = owner.send_raw(Method::POST, path, content_type, body).await;
            let label = format!("{path} as {content_type:?}");
            assert_eq!(
                response.status(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{label}"
            );
            assert_dashboard_page(&response, &label);
        }
    }
    assert_eq!(snapshot(&app, &appointment).await, before);
    let appointments_after = app
        .get_json("/v1/appointments?from=2026-12-01&to=2026-12-02")
        .await["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(appointments_after, appointments_before);

    // The same forms, sent as forms with text, do what they say.
    let created = owner
        .send_raw(
            Method::POST,
            "/dashboard/api-keys",
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            key("Agent%20%C3%A9"),
        )
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    assert!(text(created).await.1.contains("Agent é"));
}

fn assert_dashboard_page(response: &Response, label: &str) {
    let headers = response.headers();
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{label}: {:?}",
        headers["content-type"]
    );
    for header in [
        "content-security-policy",
        "x-frame-options",
        "x-content-type-options",
        "referrer-policy",
    ] {
        assert!(headers.contains_key(header), "{label}: {header}");
    }
}

#[tokio::test]
async fn each_failed_sign_in_counts_for_fifteen_minutes_from_when_it_happened() {
    let app = spawn_app().await;
    signed_in(&app, &app.business_id, OWNER).await;
    // One second before a quarter hour, where a fixed window would end.
    let now = app.clock_now().as_second();
    let quarter = 15 * 60;
    let boundary = Timestamp::from_second((now / quarter + 2) * quarter).unwrap();
    app.clock.set(boundary - SignedDuration::from_secs(1));
    let visitor = Visitor::new(&app);
    for _ in 0..5 {
        assert_eq!(
            visitor.sign_in(OWNER, "not the password").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    app.clock.set(boundary);
    let throttled = visitor.sign_in(OWNER, PASSWORD).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(throttled.headers()["retry-after"], "899");
    assert!(text(throttled).await.1.contains("try again in 15 minutes"));
    let aged_out = boundary - SignedDuration::from_secs(1) + SignedDuration::from_mins(15);
    app.clock.set(aged_out - SignedDuration::from_nanos(1));
    assert_eq!(
        visitor.sign_in(OWNER, PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.set(aged_out);
    assert_eq!(
        visitor.sign_in(OWNER, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn forms_go_only_to_ourselves_and_the_configured_providers_authorization_pages() {
    use integration_tests::emulators::google::GoogleEmulator;
    let plain = spawn_app().await;
    let policy = Visitor::new(&plain)
        .get("/dashboard/sign-in")
        .await
        .headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.contains("form-action 'self';"), "{policy}");

    let emulator = GoogleEmulator::start().await;
    let app = spawn_app_with_google(&emulator).await;
    let policy =
        Visitor::new(&app).get("/dashboard/sign-in").await.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
    let authorization = reqwest::Url::parse(&emulator.authorize_url()).unwrap();
    let origin = authorization.origin().ascii_serialization();
    assert!(
        policy.contains(&format!("form-action 'self' {origin};")),
        "{policy}"
    );
    assert!(
        !policy
            .split([' ', ';'])
            .any(|source| source == "https:" || source == "http:"),
        "{policy}"
    );
}

#[tokio::test]
async fn the_routers_own_refusals_are_dashboard_pages_with_the_security_headers() {
    let app = spawn_app().await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;

    let home = Visitor::new(&app).get("/dashboard/").await;
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    for header in [
        "content-security-policy",
        "x-frame-options",
        "x-content-type-options",
        "referrer-policy",
        "cache-control",
    ] {
        assert!(
            home.headers().contains_key(header),
            "GET /dashboard/: {header}"
        );
    }

    let wrong_method = owner
        .send_raw(Method::DELETE, "/dashboard/appointments", None, Vec::new())
        .await;
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(wrong_method.headers().contains_key("allow"));
    assert_dashboard_page(&wrong_method, "DELETE /dashboard/appointments");
    let posted_to_a_page = owner
        .post("/dashboard/appointments", &[("csrf", "x")])
        .await;
    assert_eq!(posted_to_a_page.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_dashboard_page(&posted_to_a_page, "POST /dashboard/appointments");

    for path in [
        "/dashboard/appointments/not-an-id",
        "/dashboard/services/not-an-id",
        "/dashboard/integrations/not-a-provider/calendar",
    ] {
        let malformed = owner.get(path).await;
        assert!(
            malformed.status() == StatusCode::BAD_REQUEST
                || malformed.status() == StatusCode::NOT_FOUND,
            "{path}: {}",
            malformed.status()
        );
        assert_dashboard_page(&malformed, path);
        let body = text(malformed).await.1;
        assert!(body.contains("<h1>"), "{path}: {body}");
    }
}

/// The dashboard links on a page's main part and banner (the navigation is checked by the route table test).
fn dashboard_links(page: &str) -> Vec<String> {
    let main = page.find("<main").map_or(page, |start| &page[start..]);
    main.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|href| href.starts_with("/dashboard"))
        .map(|href| href.replace("&amp;", "&"))
        .collect()
}

#[tokio::test]
async fn staff_are_never_offered_a_link_to_a_page_that_refuses_them() {
    let emulator = GoogleEmulator::start().await;
    let app = spawn_app_with_google(&emulator).await;
    let service = app.create_service(serde_json::json!({})).await;
    let booked = app.booked(&service, "2026-12-01T10:00:00-05:00").await;
    let appointment = booked["id"].as_str().unwrap().to_owned();
    // The calendar needs reconnecting: the banner and the appointment page offer the fix to whoever may apply it.
    app.connect_calendar("google").await;
    let lost = ConnectionHealth::ReauthRequired {
        reason: "Google says the access was revoked or has expired".to_owned(),
    };
    app.store
        .update_connection_health(
            app.business_id.parse().unwrap(),
            ConnectionId::of_first_connection(app.business_id.parse().unwrap()),
            &lost,
            None,
        )
        .await
        .unwrap();
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    let staff = signed_in_staff(&app, &app.business_id, STAFF).await;
    let pages = [
        "/dashboard/appointments".to_owned(),
        format!("/dashboard/appointments/{appointment}"),
        "/dashboard/book".to_owned(),
    ];

    let owners_page = owner.page(&pages[0]).await;
    assert!(
        owners_page.contains("/dashboard/integrations#google"),
        "the owner is offered the fix: {owners_page}"
    );
    for path in &pages {
        let page = staff.page(path).await;
        for link in dashboard_links(&page) {
            let target = link.split('#').next().unwrap_or(&link);
            let status = staff.get(target).await.status();
            assert_ne!(
                status,
                StatusCode::FORBIDDEN,
                "{path} links staff to {link}"
            );
        }
    }
    let banner = staff.page(&pages[0]).await;
    assert!(
        banner.contains("Ask the business&#39;s owner to reconnect it.")
            || banner.contains("Ask the business's owner to reconnect it."),
        "{banner}"
    );
}
