//! The owner's own front doors over HTTP: sign-up and its emailed confirmation, the forgotten password, and
//! invitations by email. What each sends is read from the queue's `SendEmail` jobs (the worker's input), so the tests
//! see exactly the message a mailer would get; the browser journey reads them back from a real SMTP server instead.

use booking_core::app::accounts;
use booking_core::dashboard::{self, DashboardSettings, SignUpPolicy};
use booking_core::ports::{Email, Job};
use integration_tests::spawn_app;
use jiff::SignedDuration;
use reqwest::StatusCode;

use crate::support::{PASSWORD, Visitor, account, capture_logs, sent, signed_in, token_in};

const OWNER: &str = "owner@clinic.test";
const NEW_OWNER: &str = "new-owner@salon.test";
const NEW_PASSWORD: &str = "a fresh and long password";

async fn sign_up(visitor: &Visitor<'_>, email: &str, password: &str) -> reqwest::Response {
    visitor
        .submit(
            "/dashboard/sign-up",
            "/dashboard/sign-up",
            &[
                ("business_name", "Harbour Salon"),
                ("time_zone", "Europe/Lisbon"),
                ("email", email),
                ("password", password),
            ],
        )
        .await
}

async fn verify(visitor: &Visitor<'_>, token: &str) -> reqwest::Response {
    visitor
        .submit(
            &format!("/dashboard/verify-email?token={token}"),
            "/dashboard/verify-email",
            &[("token", token)],
        )
        .await
}

fn location(response: &reqwest::Response) -> &str {
    response.headers()["location"].to_str().unwrap()
}

#[tokio::test]
async fn a_business_signs_up_and_its_owner_signs_in_once_the_emailed_link_confirms_the_address() {
    let app = spawn_app().await;
    let visitor = Visitor::new(&app);
    let page = visitor.page("/dashboard/sign-up").await;
    assert!(page.contains("Europe/Lisbon") && page.contains("data-default=\"UTC\""));
    let signed_up = sign_up(&visitor, NEW_OWNER, PASSWORD).await;
    assert_eq!(signed_up.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&signed_up),
        "/dashboard/check-email?notice=signed_up"
    );

    let emails = sent(&app).await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to.as_ref(), NEW_OWNER);
    assert_eq!(emails[0].subject, "Confirm your email for Harbour Salon");
    assert!(emails[0].html.contains(&format!(
        "http://{}/dashboard/verify-email?token=",
        app.address
    )));
    let token = token_in(&emails[0], "/dashboard/verify-email");

    // The right password before confirming: told to check the email, with a way to have the link sent again.
    let early = visitor.sign_in(NEW_OWNER, PASSWORD).await;
    assert_eq!(early.status(), StatusCode::FORBIDDEN);
    assert!(early.text().await.unwrap().contains("Send the link again"));
    // A wrong one learns nothing more than anywhere else.
    let wrong = visitor.sign_in(NEW_OWNER, "not the password at all").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    // Opening the link changes nothing (mail scanners open links); its button confirms.
    visitor
        .page(&format!("/dashboard/verify-email?token={token}"))
        .await;
    let confirmed = verify(&visitor, &token).await;
    assert_eq!(
        location(&confirmed),
        "/dashboard/sign-in?notice=email_verified"
    );
    assert_eq!(
        verify(&visitor, &token).await.status(),
        StatusCode::BAD_REQUEST,
        "single use"
    );

    let signed_in = visitor.sign_in(NEW_OWNER, PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let services = visitor.page("/dashboard/services").await;
    assert!(
        services.contains("Harbour Salon"),
        "the owner runs the new business"
    );
    let member = account(&app, NEW_OWNER).await.unwrap();
    assert_ne!(member.business_id.to_string(), app.business_id);
    assert!(member.password_hash.unwrap().starts_with("$argon2id$"));
}

#[tokio::test]
async fn signing_up_with_an_email_that_has_an_account_looks_the_same_and_tells_only_that_address() {
    let app = spawn_app().await;
    let _owner = signed_in(&app, &app.business_id, OWNER).await;
    let visitor = Visitor::new(&app);
    let known = sign_up(&visitor, OWNER, "some other long password").await;
    let unknown = sign_up(&visitor, NEW_OWNER, "some other long password").await;
    assert_eq!(known.status(), unknown.status());
    assert_eq!(location(&known), location(&unknown));
    let emails = sent(&app).await;
    let to_owner: Vec<&Email> = emails
        .iter()
        .filter(|email| email.to.as_ref() == OWNER)
        .collect();
    assert_eq!(to_owner.len(), 1);
    assert_eq!(
        to_owner[0].subject,
        "You already have an account for bookings"
    );
    assert!(to_owner[0].text.contains("/dashboard/forgot-password"));
    // The account is untouched: same business, same password.
    let member = account(&app, OWNER).await.unwrap();
    assert_eq!(member.business_id.to_string(), app.business_id);
    assert_eq!(
        Visitor::new(&app).sign_in(OWNER, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn sign_up_refuses_short_and_common_passwords_and_keeps_what_was_typed() {
    let app = spawn_app().await;
    let visitor = Visitor::new(&app);
    for password in ["eleven char", "password1234"] {
        let refused = sign_up(&visitor, NEW_OWNER, password).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = refused.text().await.unwrap();
        assert!(page.contains("There is a problem") && page.contains("href=\"#password\""));
        assert!(page.contains("value=\"Harbour Salon\"") && page.contains(NEW_OWNER));
        assert!(
            !page.contains(password),
            "a refused password is not sent back"
        );
    }
    let unknown_zone = visitor
        .submit(
            "/dashboard/sign-up",
            "/dashboard/sign-up",
            &[
                ("business_name", "Harbour Salon"),
                ("time_zone", "Mars/Olympus_Mons"),
                ("email", NEW_OWNER),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(unknown_zone.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown_zone
            .text()
            .await
            .unwrap()
            .contains("href=\"#time_zone\"")
    );
    assert!(sent(&app).await.is_empty());
}

#[tokio::test]
async fn a_confirmation_link_expires_after_a_day_and_can_be_sent_again_a_few_times_an_hour() {
    let app = spawn_app().await;
    let visitor = Visitor::new(&app);
    sign_up(&visitor, NEW_OWNER, PASSWORD).await;
    let first = token_in(&sent(&app).await[0], "/dashboard/verify-email");
    app.clock
        .advance(SignedDuration::from_hours(24) + SignedDuration::from_secs(1));
    assert_eq!(
        verify(&visitor, &first).await.status(),
        StatusCode::BAD_REQUEST
    );

    let resend = |email: &'static str| {
        let visitor = &visitor;
        async move {
            visitor
                .submit(
                    "/dashboard/check-email",
                    "/dashboard/check-email",
                    &[("email", email)],
                )
                .await
        }
    };
    for _ in 0..3 {
        let again = resend(NEW_OWNER).await;
        assert_eq!(location(&again), "/dashboard/check-email?notice=resent");
    }
    assert_eq!(
        resend(NEW_OWNER).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // An address with no account waiting answers the same and gets nothing.
    assert_eq!(
        location(&resend("nobody@nowhere.test").await),
        "/dashboard/check-email?notice=resent"
    );
    let emails = sent(&app).await;
    assert_eq!(emails.len(), 3);
    assert!(emails.iter().all(|email| email.to.as_ref() == NEW_OWNER));
    let fresh = token_in(&emails[2], "/dashboard/verify-email");
    assert_eq!(
        verify(&visitor, &fresh).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_forgotten_password_is_reset_by_an_emailed_link_that_ends_every_other_session() {
    let app = spawn_app().await;
    let laptop = signed_in(&app, &app.business_id, OWNER).await;
    // A link issued at the very instant the password was set would be void (see `set_password_from_link`).
    app.clock.advance(SignedDuration::from_mins(5));
    let forgot = |email: &'static str| {
        let visitor = Visitor::new(&app);
        async move { visitor.forgot_password(email).await }
    };
    let known = forgot(OWNER).await;
    let unknown = forgot("nobody@nowhere.test").await;
    assert_eq!(
        (known.status(), location(&known)),
        (unknown.status(), location(&unknown))
    );
    assert_eq!(location(&known), "/dashboard/forgot-password?notice=sent");
    let emails = sent(&app).await;
    assert_eq!(emails.len(), 1, "nothing is sent to an unknown address");
    assert_eq!(emails[0].subject, "Choose a new password for Test Clinic");
    let token = token_in(&emails[0], "/dashboard/reset-password");

    let phone = Visitor::new(&app);
    let path = format!("/dashboard/reset-password?token={token}");
    let reset = |password: &'static str| {
        let (phone, path, token) = (&phone, &path, &token);
        async move {
            phone
                .submit(
                    path,
                    "/dashboard/reset-password",
                    &[
                        ("token", token),
                        ("password", password),
                        ("confirm", password),
                    ],
                )
                .await
        }
    };
    assert_eq!(
        reset("too short").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "a refused password keeps the link"
    );
    let done = reset(NEW_PASSWORD).await;
    assert_eq!(location(&done), "/dashboard/sign-in?notice=password_reset");
    assert_eq!(
        reset(NEW_PASSWORD).await.status(),
        StatusCode::BAD_REQUEST,
        "single use"
    );

    let ended = laptop.get("/dashboard/appointments").await;
    assert_eq!(
        ended.status(),
        StatusCode::SEE_OTHER,
        "the other session ended"
    );
    assert!(location(&ended).starts_with("/dashboard/sign-in"));
    phone
        .assert_password_is(OWNER, NEW_PASSWORD, PASSWORD)
        .await;
}

#[tokio::test]
async fn a_reset_link_expires_after_an_hour_and_works_only_on_its_own_page() {
    let app = spawn_app().await;
    let _owner = signed_in(&app, &app.business_id, OWNER).await;
    app.clock.advance(SignedDuration::from_mins(5));
    let visitor = Visitor::new(&app);
    let ask = || visitor.forgot_password(OWNER);
    ask().await;
    let expiring = token_in(&sent(&app).await[0], "/dashboard/reset-password");
    app.clock.advance(SignedDuration::from_mins(61));
    let late = visitor
        .choose_password("/dashboard/reset-password", &expiring, NEW_PASSWORD)
        .await;
    assert_eq!(late.status(), StatusCode::BAD_REQUEST);

    ask().await;
    let token = token_in(&sent(&app).await[0], "/dashboard/reset-password");
    // A reset link is no invitation and no confirmation: used elsewhere, it sets nothing (and is spent).
    let elsewhere = visitor
        .choose_password("/dashboard/set-password", &token, NEW_PASSWORD)
        .await;
    assert_eq!(elsewhere.status(), StatusCode::BAD_REQUEST);
    visitor
        .assert_password_is(OWNER, PASSWORD, NEW_PASSWORD)
        .await;
}

#[tokio::test]
async fn asking_for_reset_links_is_throttled_per_account_and_per_address() {
    let app = spawn_app().await;
    let visitor = Visitor::new(&app);
    let ask = |email: String| {
        let visitor = &visitor;
        async move { visitor.forgot_password(&email).await.status() }
    };
    for _ in 0..3 {
        assert_eq!(ask(OWNER.to_owned()).await, StatusCode::SEE_OTHER);
    }
    let refused = visitor.forgot_password(OWNER).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    // Seven more addresses from here reach the address's ten; the eleventh is refused whatever its address.
    for index in 0..7 {
        assert_eq!(
            ask(format!("person{index}@clinic.test")).await,
            StatusCode::SEE_OTHER
        );
    }
    assert_eq!(
        ask("one-more@clinic.test".to_owned()).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.clock.advance(SignedDuration::from_mins(61));
    assert_eq!(
        ask(OWNER.to_owned()).await,
        StatusCode::SEE_OTHER,
        "the window slides"
    );
}

#[tokio::test]
async fn the_new_front_doors_refuse_forms_without_the_page_token_or_from_another_site() {
    let app = spawn_app().await;
    let forms: [(&str, &[(&str, &str)]); 5] = [
        (
            "/dashboard/sign-up",
            &[
                ("business_name", "Evil"),
                ("time_zone", "UTC"),
                ("email", NEW_OWNER),
                ("password", PASSWORD),
            ],
        ),
        ("/dashboard/check-email", &[("email", NEW_OWNER)]),
        ("/dashboard/verify-email", &[("token", "anything")]),
        ("/dashboard/forgot-password", &[("email", OWNER)]),
        (
            "/dashboard/reset-password",
            &[
                ("token", "anything"),
                ("password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        ),
    ];
    for (path, fields) in forms {
        let no_token = Visitor::new(&app);
        let mut with_wrong = vec![("csrf", "made up")];
        with_wrong.extend_from_slice(fields);
        assert_eq!(
            no_token.post(path, &with_wrong).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
        let mut other_site = Visitor::new(&app);
        other_site.origin = Some("https://evil.example".to_owned());
        let response = other_site.submit(path, path, fields).await;
        assert_eq!(
            response.status(),
            StatusCode::FORBIDDEN,
            "{path} from another origin"
        );
    }
    assert!(sent(&app).await.is_empty());
    assert!(account(&app, NEW_OWNER).await.is_none());
}

#[tokio::test]
async fn with_sign_up_closed_the_page_says_so_and_creates_nothing() {
    let app = spawn_app().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let settings =
        DashboardSettings::new(&format!("http://{address}")).with_sign_up(SignUpPolicy::Closed);
    let router = dashboard::router(app.app.clone(), settings);
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    let client = reqwest::Client::new();
    let page = client
        .get(format!("http://{address}/dashboard/sign-up"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(page.text().await.unwrap().contains("Sign-up is closed"));
    let posted = client
        .post(format!("http://{address}/dashboard/sign-up"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", "__Host-form=0123456789012345678901234567890123456789")
        .body("csrf=0123456789012345678901234567890123456789&business_name=A&time_zone=UTC&email=a%40b.test&password=a+long+enough+password")
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::NOT_FOUND);
    assert!(sent(&app).await.is_empty());
}

#[tokio::test]
async fn inviting_staff_emails_the_link_that_is_also_shown_once() {
    let app = spawn_app().await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    let invited = owner
        .submit(
            "/dashboard/api-keys",
            "/dashboard/team/invite",
            &[("email", "ana@clinic.test")],
        )
        .await;
    let page = invited.text().await.unwrap();
    assert!(page.contains("We emailed this link to"), "{page}");
    let emails = sent(&app).await;
    assert_eq!(emails.len(), 1);
    assert_eq!(emails[0].to.as_ref(), "ana@clinic.test");
    assert_eq!(
        emails[0].subject,
        "You are invited to Test Clinic's bookings"
    );
    let token = token_in(&emails[0], "/dashboard/set-password");
    assert!(page.contains(&token), "the page shows the same link");
    // Inviting an address that has an account answers alike and emails nobody.
    owner
        .submit(
            "/dashboard/api-keys",
            "/dashboard/team/invite",
            &[("email", OWNER)],
        )
        .await;
    assert!(sent(&app).await.is_empty());
    let stand_in = accounts::invite_staff(&app.app, app.business_id.parse().unwrap(), OWNER)
        .await
        .unwrap();
    assert!(!stand_in.usable);
}

#[tokio::test]
async fn no_link_token_or_password_reaches_a_log_line() {
    let (captured, _guard) = capture_logs();

    let app = spawn_app().await;
    let outbox = tempfile::tempdir().unwrap();
    let sender = "Bookings <no-reply@bookings.test>".parse().unwrap();
    let worker = app.app.clone().with_mailer(std::sync::Arc::new(
        booking_core::adapters::OutboxMailer::new(
            outbox.path().to_owned(),
            sender,
            Box::new(|_| {}),
        ),
    ));
    let visitor = Visitor::new(&app);
    sign_up(&visitor, NEW_OWNER, PASSWORD).await;
    let mut secrets = vec![PASSWORD.to_owned(), NEW_PASSWORD.to_owned()];
    let emails = sent(&app).await;
    let token = token_in(&emails[0], "/dashboard/verify-email");
    verify(&visitor, &token).await;
    app.clock.advance(SignedDuration::from_mins(5));
    visitor.forgot_password(NEW_OWNER).await;
    let reset_emails = sent(&app).await;
    let reset_token = token_in(&reset_emails[0], "/dashboard/reset-password");
    visitor
        .choose_password("/dashboard/reset-password", &reset_token, NEW_PASSWORD)
        .await;
    visitor.sign_in(NEW_OWNER, NEW_PASSWORD).await;
    // The worker sends what was queued, logging what it does.
    for email in emails.into_iter().chain(reset_emails) {
        booking_core::app::run_sync_job(&worker, &Job::SendEmail { email }, 1)
            .await
            .unwrap();
    }
    secrets.extend([token, reset_token]);

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("business signed up") && logs.contains("email sent"),
        "{logs}"
    );
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "{secret} is in a log line");
    }
}

/// The median of a few timings, in milliseconds.
fn median_ms(mut timings: Vec<std::time::Duration>) -> f64 {
    timings.sort();
    timings[timings.len() / 2].as_secs_f64() * 1000.0
}

/// Whether two medians are the same within noise: neither more than twice the other, with a few milliseconds of
/// slack for a loaded machine. A page that skipped the password hash for a known address (about a tenth of the time)
/// or did the hash only for one kind fails this by far.
fn alike(known_ms: f64, unknown_ms: f64) -> bool {
    const SLACK_MS: f64 = 10.0;
    known_ms <= 2.0 * unknown_ms + SLACK_MS && unknown_ms <= 2.0 * known_ms + SLACK_MS
}

/// A known and an unknown address cost the same time on sign-up and on the forgotten-password page, so an answer's
/// timing tells no more than its content. The two kinds alternate, and the clock moves past the throttles' windows
/// between rounds.
#[tokio::test]
async fn a_known_and_an_unknown_email_take_the_same_time_on_sign_up_and_forgot_password() {
    const ROUNDS: usize = 9;
    // Logs go to a subscriber of this thread's own, as in the log test beside it: tracing caches whether anyone
    // listens at each log site, and a thread without one, first at a site, can leave that test's subscriber unheard.
    let (_logs, _guard) = capture_logs();
    let app = spawn_app().await;
    let _owner = signed_in(&app, &app.business_id, OWNER).await;
    let visitor = Visitor::new(&app);
    let (mut known_sign_ups, mut unknown_sign_ups) = (Vec::new(), Vec::new());
    let (mut known_resets, mut unknown_resets) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let new_address = format!("owner{round}@salon{round}.test");
        let forgot = |email: String| {
            let visitor = &visitor;
            async move { visitor.forgot_password(&email).await }
        };
        // Alternate which kind goes first, so a warm cache favours neither.
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for known in order {
            let email = if known { OWNER } else { new_address.as_str() };
            let started = std::time::Instant::now();
            let answer = sign_up(&visitor, email, "some other long password").await;
            let took = started.elapsed();
            assert!(
                location(&answer).starts_with("/dashboard/check-email"),
                "{email}"
            );
            if known {
                known_sign_ups.push(took);
            } else {
                unknown_sign_ups.push(took);
            }
            let nobody = format!("nobody{round}@nowhere.test");
            let started = std::time::Instant::now();
            let answer = forgot(if known { OWNER.to_owned() } else { nobody }).await;
            let took = started.elapsed();
            assert_eq!(location(&answer), "/dashboard/forgot-password?notice=sent");
            if known {
                known_resets.push(took);
            } else {
                unknown_resets.push(took);
            }
        }
        app.clock.advance(SignedDuration::from_mins(61));
    }
    let (known, unknown) = (median_ms(known_sign_ups), median_ms(unknown_sign_ups));
    assert!(
        alike(known, unknown),
        "sign-up: {known:.1} ms for a known address, {unknown:.1} ms for a new one"
    );
    let (known, unknown) = (median_ms(known_resets), median_ms(unknown_resets));
    assert!(
        alike(known, unknown),
        "forgot password: {known:.1} ms for a known address, {unknown:.1} ms for an unknown one"
    );
}
