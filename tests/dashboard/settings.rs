//! The settings page over HTTP: the owner changes the business's settings through the same command the REST API
//! uses; anyone signed in changes their own email (only through the single-use link sent to the new address, with
//! nothing told about an address already in use) and password (the current one required, other devices signed out).

use booking_core::app;
use booking_core::domain::BusinessId;
use booking_core::ports::SignInEmail;
use integration_tests::{TestApp, spawn_app};
use jiff::SignedDuration;
use reqwest::StatusCode;

use crate::support::{
    PASSWORD, Visitor, account, business_with_key, capture_logs, csrf_of, location, sent,
    signed_in, signed_in_staff, token_in,
};

const OWNER: &str = "owner@clinic.test";
const STAFF: &str = "staff@clinic.test";
const NEW_EMAIL: &str = "new-owner@clinic.test";
const NEW_PASSWORD: &str = "a different long password";

fn email(text: &str) -> SignInEmail {
    SignInEmail::try_from(text.to_owned()).unwrap()
}

async fn business(app: &TestApp) -> booking_core::domain::Business {
    let id: BusinessId = app.business_id.parse().unwrap();
    app.store.get_business(id).await.unwrap().unwrap()
}

async fn save_business(visitor: &Visitor<'_>, fields: &[(&str, &str)]) -> reqwest::Response {
    visitor
        .submit(
            "/dashboard/settings",
            "/dashboard/settings/business",
            fields,
        )
        .await
}

async fn ask_email_change(visitor: &Visitor<'_>, new: &str, password: &str) -> reqwest::Response {
    visitor
        .submit(
            "/dashboard/settings",
            "/dashboard/settings/email",
            &[("new_email", new), ("current_password", password)],
        )
        .await
}

async fn change_password(
    visitor: &Visitor<'_>,
    current: &str,
    new: &str,
    confirm: &str,
) -> reqwest::Response {
    visitor
        .submit(
            "/dashboard/settings",
            "/dashboard/settings/password",
            &[
                ("current_password", current),
                ("new_password", new),
                ("confirm", confirm),
            ],
        )
        .await
}

async fn confirm(visitor: &Visitor<'_>, token: &str) -> reqwest::Response {
    visitor
        .submit(
            &format!("/dashboard/confirm-email?token={token}"),
            "/dashboard/confirm-email",
            &[("token", token)],
        )
        .await
}

#[tokio::test]
async fn the_owner_changes_the_business_settings_and_the_api_and_keys_follow() {
    let app = spawn_app().await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    let page = owner.page("/dashboard/settings").await;
    assert!(page.contains("action=\"/dashboard/settings/business\""));
    assert!(
        page.contains("value=\"America/New_York\""),
        "the zone shown"
    );
    assert!(
        page.contains("id=\"time-zones\""),
        "the searchable zone list"
    );
    assert!(page.contains("name=\"owner_alerts\"") && page.contains("checked"));

    // Every problem at once, what was typed kept, nothing changed.
    let refused = save_business(
        &owner,
        &[
            ("business_name", "Harbour Clinic"),
            ("time_zone", "Mars/Olympus"),
            ("country", "ZZ"),
            ("hold_minutes", "99"),
        ],
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = refused.text().await.unwrap();
    for problem in ["The time zone", "The country", "The hold length"] {
        assert!(body.contains(problem), "{problem}: {body}");
    }
    assert!(body.contains("value=\"Harbour Clinic\""), "typed name kept");
    assert_ne!(business(&app).await.name.as_ref(), "Harbour Clinic");

    let saved = save_business(
        &owner,
        &[
            ("business_name", "Harbour Clinic"),
            ("time_zone", "Europe/Lisbon"),
            ("country", "pt"),
            ("hold_minutes", "7"),
        ],
    )
    .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), "/dashboard/settings?notice=saved");
    let page = owner.page("/dashboard/settings?notice=saved").await;
    assert!(page.contains("Settings saved."));
    assert!(page.contains("Harbour Clinic") && page.contains("Times in Europe/Lisbon"));
    assert!(!page.contains("checked"), "owner alerts turned off");

    let stored = business(&app).await;
    assert_eq!(stored.name.as_ref(), "Harbour Clinic");
    assert_eq!(stored.time_zone.name(), "Europe/Lisbon");
    let settings = app::get_business_settings(&app.app, &stored).await.unwrap();
    assert_eq!(settings.country.map(String::from).as_deref(), Some("PT"));
    assert_eq!(settings.hold_minutes().get(), 7);
    assert!(!settings.owner_alerts());
    // The API key authenticates as the renamed business, and the REST API reads the same settings.
    assert_eq!(business_with_key(&app, &app.api_key).await, stored);
    let rest = app.get_json("/v1/settings").await;
    assert_eq!(rest["hold_minutes"], 7);
    assert_eq!(rest["country"], "PT");
    assert_eq!(rest["time_zone"], "Europe/Lisbon");

    // Empty fields return to the defaults; ticking the box turns alerts back on.
    save_business(
        &owner,
        &[
            ("business_name", "Harbour Clinic"),
            ("time_zone", "Europe/Lisbon"),
            ("country", ""),
            ("hold_minutes", ""),
            ("owner_alerts", "on"),
        ],
    )
    .await;
    let settings = app::get_business_settings(&app.app, &business(&app).await)
        .await
        .unwrap();
    assert_eq!(settings.country, None);
    assert_eq!(settings.hold_minutes, None);
    assert!(settings.owner_alerts());
}

#[tokio::test]
async fn staff_see_only_their_own_account_and_cannot_change_the_business() {
    let app = spawn_app().await;
    let staff = signed_in_staff(&app, &app.business_id, STAFF).await;
    let page = staff.page("/dashboard/settings").await;
    assert!(!page.contains("/dashboard/settings/business"));
    assert!(page.contains("action=\"/dashboard/settings/email\""));
    assert!(page.contains("action=\"/dashboard/settings/password\""));
    let token = csrf_of(&page);
    let refused = staff
        .post(
            "/dashboard/settings/business",
            &[
                ("csrf", token.as_str()),
                ("business_name", "Taken over"),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_ne!(business(&app).await.name.as_ref(), "Taken over");
}

#[tokio::test]
async fn a_new_password_needs_the_current_one_and_signs_out_every_other_device() {
    let app = spawn_app().await;
    let here = signed_in(&app, &app.business_id, OWNER).await;
    let elsewhere = Visitor::new(&app);
    assert_eq!(
        elsewhere.sign_in(OWNER, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    app.clock.advance(SignedDuration::from_mins(5));

    for (current, new, confirm, problem) in [
        (
            "not the password",
            NEW_PASSWORD,
            NEW_PASSWORD,
            "The current password is not right.",
        ),
        (
            PASSWORD,
            "password1234",
            "password1234",
            "The new password is one of the passwords people choose most",
        ),
        (
            PASSWORD,
            "short",
            "short",
            "The new password must be at least 12",
        ),
        (
            PASSWORD,
            NEW_PASSWORD,
            "another long password",
            "The two new passwords are not the same.",
        ),
    ] {
        let refused = change_password(&here, current, new, confirm).await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{problem}"
        );
        let body = refused.text().await.unwrap();
        assert!(body.contains(problem), "{problem}: {body}");
    }
    assert_eq!(
        elsewhere.get("/dashboard/settings").await.status(),
        StatusCode::OK,
        "refusals end nothing"
    );

    let changed = change_password(&here, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&changed),
        "/dashboard/settings?notice=password_changed"
    );
    let page = here
        .page("/dashboard/settings?notice=password_changed")
        .await;
    assert!(page.contains("Every other device is signed out"));
    let gone = elsewhere.get("/dashboard/settings").await;
    assert_eq!(gone.status(), StatusCode::SEE_OTHER);
    assert!(location(&gone).starts_with("/dashboard/sign-in"));

    let again = Visitor::new(&app);
    again
        .assert_password_is(OWNER, NEW_PASSWORD, PASSWORD)
        .await;
}

#[tokio::test]
async fn guessing_the_current_password_from_an_open_session_is_throttled() {
    let app = spawn_app().await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    for _ in 0..5 {
        let refused =
            change_password(&owner, "a wrong guess here", NEW_PASSWORD, NEW_PASSWORD).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let throttled = change_password(&owner, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(throttled.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        throttled
            .text()
            .await
            .unwrap()
            .contains("Too many attempts")
    );
    let stranger = Visitor::new(&app);
    assert_eq!(
        stranger.sign_in(OWNER, PASSWORD).await.status(),
        StatusCode::SEE_OTHER,
        "the password did not change"
    );
}

#[tokio::test]
async fn a_new_email_takes_effect_only_through_the_single_use_link_sent_to_it() {
    let app = spawn_app().await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    sent(&app).await;

    let wrong = ask_email_change(&owner, NEW_EMAIL, "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("The current password is not right.")
    );
    assert!(sent(&app).await.is_empty());

    let asked = ask_email_change(&owner, NEW_EMAIL, PASSWORD).await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    let went = location(&asked);
    assert!(
        went.starts_with("/dashboard/settings?notice=email_sent"),
        "{went}"
    );
    assert!(
        owner
            .page(&went)
            .await
            .contains("We sent a link to new-owner@clinic.test")
    );
    let emails = sent(&app).await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to, email(NEW_EMAIL));
    assert!(emails[0].subject.contains("Confirm your new email"));
    let token = token_in(&emails[0], "/dashboard/confirm-email");

    // Nothing changes until the link is used: the account, its sessions.
    assert!(account(&app, OWNER).await.is_some());
    assert_eq!(
        owner.get("/dashboard/settings").await.status(),
        StatusCode::OK
    );

    // Opening the link changes nothing; its form without the page's token is refused.
    let stranger = Visitor::new(&app);
    assert_eq!(
        stranger
            .get(&format!("/dashboard/confirm-email?token={token}"))
            .await
            .status(),
        StatusCode::OK
    );
    let forged = Visitor::new(&app)
        .post(
            "/dashboard/confirm-email",
            &[("csrf", "forged"), ("token", &token)],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(account(&app, OWNER).await.is_some());

    let confirmed = confirm(&stranger, &token).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&confirmed),
        "/dashboard/sign-in?notice=email_changed"
    );
    assert!(account(&app, OWNER).await.is_none());
    let moved = account(&app, NEW_EMAIL).await.unwrap();
    assert_eq!(moved.business_id.to_string(), app.business_id);
    // Every session of the account ended; the new address signs in with the same password, the old one no more.
    let ended = owner.get("/dashboard/settings").await;
    assert!(location(&ended).starts_with("/dashboard/sign-in"));
    assert_eq!(
        Visitor::new(&app).sign_in(OWNER, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        Visitor::new(&app)
            .sign_in(NEW_EMAIL, PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );

    // Single use.
    let again = confirm(&Visitor::new(&app), &token).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("invalid, expired or already used")
    );
}

#[tokio::test]
async fn an_email_change_link_expires_after_a_day() {
    let app = spawn_app().await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    ask_email_change(&owner, NEW_EMAIL, PASSWORD).await;
    let token = token_in(&sent(&app).await[0], "/dashboard/confirm-email");
    app.clock
        .advance(SignedDuration::from_hours(24) + SignedDuration::from_secs(1));
    let late = confirm(&Visitor::new(&app), &token).await;
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);
    assert!(account(&app, OWNER).await.is_some());
    assert!(account(&app, NEW_EMAIL).await.is_none());
}

#[tokio::test]
async fn an_address_already_in_use_is_answered_the_same_and_sent_nothing() {
    let app = spawn_app().await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    signed_in_staff(&app, &app.business_id, STAFF).await;
    sent(&app).await;

    let free = ask_email_change(&owner, NEW_EMAIL, PASSWORD).await;
    let taken = ask_email_change(&owner, STAFF, PASSWORD).await;
    assert_eq!(free.status(), taken.status());
    let free_page = owner
        .page(&location(&free))
        .await
        .replace(NEW_EMAIL, "ADDRESS");
    let taken_page = owner
        .page(&location(&taken))
        .await
        .replace(STAFF, "ADDRESS");
    let notice = |page: &str| {
        let start = page.find("class=\"notice\"").unwrap();
        page[start..start + 200].to_owned()
    };
    assert_eq!(notice(&free_page), notice(&taken_page), "the same answer");
    let emails = sent(&app).await;
    assert_eq!(emails.len(), 1, "only the free address got a link");
    assert_eq!(emails[0].to, email(NEW_EMAIL));
    let staff = account(&app, STAFF).await.unwrap();
    assert_eq!(staff.role, booking_core::ports::StaffRole::Staff);
}

#[tokio::test]
async fn no_password_or_link_token_of_the_settings_reaches_a_log_line() {
    let (captured, _guard) = capture_logs();
    let app = spawn_app().await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    sent(&app).await;
    app.clock.advance(SignedDuration::from_mins(1));
    change_password(&owner, "a wrong current one", NEW_PASSWORD, NEW_PASSWORD).await;
    change_password(&owner, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    ask_email_change(&owner, NEW_EMAIL, NEW_PASSWORD).await;
    let token = token_in(&sent(&app).await[0], "/dashboard/confirm-email");
    confirm(&Visitor::new(&app), &token).await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("password changed") && logs.contains("email changed"),
        "{logs}"
    );
    for secret in [
        PASSWORD,
        NEW_PASSWORD,
        "a wrong current one",
        token.as_str(),
    ] {
        assert!(!logs.contains(secret), "{secret} is in a log line");
    }
}
