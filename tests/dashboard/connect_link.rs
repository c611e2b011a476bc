//! A "connect your calendar" link: the owner sends it from a member's page, the member follows it without an
//! account and connects their own calendar through the provider's consent, for them and nobody else; and the use
//! case's rules (a week's life, used up by the connection it makes, sends throttled per member).

use booking_core::app::connect_links::{
    MAX_CONNECT_LINKS_PER_MEMBER, finish_connect_with_link, open_connect_link, send_connect_link,
};
use booking_core::app::emails::Links;
use booking_core::app::{self, AppError, FutureAppointments};
use booking_core::domain::{Business, StaffId};
use booking_core::ports::Email;
use integration_tests::TestApp;
use integration_tests::emulators::google::{self, GoogleEmulator};
use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::json;

use crate::browser::Owner;
use crate::security::location_of;
use crate::support::{
    Visitor, capture_logs, csrf_of, location, sent, signed_in, spawn_app_with_google, token_in,
};
use crate::webdriver::browser_available;

const OWNER: &str = "owner@clinic.test";
const TOMS_ADDRESS: &str = "tom@mail.test";

async fn business(app: &TestApp) -> Business {
    let id = app.business_id.parse().unwrap();
    app.store.get_business(id).await.unwrap().unwrap()
}

/// Tom, added beside the business's first member: his id.
async fn tom(app: &TestApp) -> StaffId {
    let tom = app.post_json("/v1/staff", &json!({ "name": "Tom" })).await;
    tom["id"].as_str().unwrap().parse().unwrap()
}

fn links(app: &TestApp) -> Links {
    Links::new(&app.url(""))
}

/// The one message queued since the last look, and its link's token.
async fn the_link(app: &TestApp) -> (Email, String) {
    let mut emails = sent(app).await;
    assert_eq!(emails.len(), 1, "{emails:?}");
    let email = emails.remove(0);
    let token = token_in(&email, "/dashboard/connect-calendar");
    (email, token)
}

/// Presses "Connect Google Calendar" on the link's `page`, as Tom's browser does.
async fn press_connect(browser: &Visitor<'_>, page: &str, token: &str) -> reqwest::Response {
    let csrf = csrf_of(page);
    let fields = [
        ("csrf", csrf.as_str()),
        ("token", token),
        ("provider", "google"),
    ];
    browser.post("/dashboard/connect-calendar", &fields).await
}

/// The emulator's consent at `authorization`, granted: the path of our callback it sends the browser to.
async fn consent(app: &TestApp, authorization: &str) -> String {
    let consent = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(authorization)
        .send()
        .await
        .unwrap();
    assert_eq!(consent.status(), 302);
    let callback = location(&consent);
    callback.strip_prefix(&app.url("")).unwrap().to_owned()
}

#[tokio::test]
async fn the_owner_sends_tom_a_link_and_following_it_connects_toms_own_calendar_once() {
    let emulator = GoogleEmulator::start().await;
    let app = spawn_app_with_google(&emulator).await;
    let tom = tom(&app).await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    let (logs, _guard) = capture_logs();

    // The owner sends it from Tom's page; a mistyped address is refused beside the field, what was typed kept.
    let page = format!("/dashboard/staff/{tom}");
    let action = format!("{page}/connect-link");
    let form = owner.page(&page).await;
    assert!(form.contains("Send a connect-your-calendar link"), "{form}");
    let refused = owner
        .submit(&page, &action, &[("connect_email", "tom at mail")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = refused.text().await.unwrap();
    assert!(
        refused.contains("Their email address must be an email address"),
        "{refused}"
    );
    assert!(refused.contains("value=\"tom at mail\""), "{refused}");
    assert!(sent(&app).await.is_empty());
    let sending = owner
        .submit(&page, &action, &[("connect_email", "Tom@Mail.test")])
        .await;
    assert_eq!(location(&sending), format!("{page}?notice=link_sent"));
    assert!(owner.page(&location(&sending)).await.contains("Link sent."));

    let (email, token) = the_link(&app).await;
    let name = business(&app).await.name.as_ref().to_owned();
    assert_eq!(email.to.as_ref(), TOMS_ADDRESS);
    assert_eq!(email.subject, format!("Connect your calendar for {name}"));
    assert!(
        email.text.contains(&format!("{name} asks you, Tom,")),
        "{}",
        email.text
    );

    // Tom, signed in nowhere, follows it: his name and the business, and a button per provider.
    let tom_browser = Visitor::new(&app);
    let landing = format!("/dashboard/connect-calendar?token={token}");
    let page_text = tom_browser.page(&landing).await;
    assert!(
        page_text.contains(&format!("Connect your calendar for Tom at {name}")),
        "{page_text}"
    );
    assert!(page_text.contains("Connect Google Calendar"), "{page_text}");
    // Looking again changes nothing: the link is still there.
    let page_text = tom_browser.page(&landing).await;
    let started = press_connect(&tom_browser, &page_text, &token).await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let authorization = location(&started);
    assert!(
        authorization.starts_with(&emulator.authorize_url()),
        "{authorization}"
    );

    // The provider's consent, then its redirect to our callback in Tom's browser, which lands on his own page.
    let callback = consent(&app, &authorization).await;
    let back = tom_browser.get(&callback).await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&back), "/dashboard/connect-calendar/done");
    let done = tom_browser.page("/dashboard/connect-calendar/done").await;
    assert!(
        done.contains(&format!("Connected: {}", google::ACCOUNT)),
        "{done}"
    );
    assert!(
        done.contains(&format!(
            "Your appointments at {name} will be checked against this calendar"
        )),
        "{done}"
    );

    // The connection is Tom's, not the first member's.
    let connections = app
        .store
        .calendar_connections(business(&app).await.id)
        .await
        .unwrap();
    assert_eq!(connections.len(), 1, "{connections:?}");
    assert_eq!(connections[0].staff_id, tom);
    assert_ne!(tom, StaffId::first_of(business(&app).await.id));

    // Used up: a second use is refused, with nothing said of why.
    let again = Visitor::new(&app).get(&landing).await;
    assert_eq!(again.status(), StatusCode::GONE);
    let again = again.text().await.unwrap();
    assert!(again.contains("This link no longer works"), "{again}");
    let replay = press_connect(&tom_browser, &page_text, &token).await;
    assert_eq!(replay.status(), StatusCode::GONE);

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("connect-your-calendar link sent"), "{logs}");
    assert!(
        !logs.to_lowercase().contains(TOMS_ADDRESS),
        "the address was logged"
    );
    assert!(!logs.contains(&token), "the token was logged");
}

#[tokio::test]
async fn an_owner_connecting_from_the_integrations_page_still_lands_on_the_calendar_picker() {
    let emulator = GoogleEmulator::start().await;
    let app = spawn_app_with_google(&emulator).await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    let started = owner
        .submit(
            "/dashboard/integrations",
            "/dashboard/integrations/google/connect",
            &[],
        )
        .await;
    let callback = consent(&app, &location(&started)).await;
    let back = owner.get(&callback).await;
    assert_eq!(
        location_of(&back),
        "/dashboard/integrations/google/calendar"
    );
    // Without a link's cookie the done page is nothing.
    let done = owner.get("/dashboard/connect-calendar/done").await;
    assert_eq!(done.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_link_lives_a_week_is_used_up_only_by_a_connection_and_sends_are_throttled_per_member() {
    let emulator = GoogleEmulator::start().await;
    let app = spawn_app_with_google(&emulator).await;
    let tom = tom(&app).await;
    let business = business(&app).await;
    let first = StaffId::first_of(business.id);

    let sent_to = send_connect_link(&app.app, &business, tom, " Tom@Mail.test ", &links(&app))
        .await
        .unwrap();
    assert_eq!(sent_to.as_ref(), TOMS_ADDRESS);
    let (_, token) = the_link(&app).await;
    // Opening it, or coming back before any connection was made, leaves it usable.
    for _ in 0..2 {
        let opened = open_connect_link(&app.app, &token).await.unwrap();
        assert_eq!(opened.member.id, tom);
    }
    let early = finish_connect_with_link(&app.app, &token).await;
    assert!(
        matches!(early, Err(AppError::CalendarNotConnected)),
        "{early:?}"
    );
    // A connection made for another member does not use Tom's link up.
    app.connect_calendar("google").await;
    let other = finish_connect_with_link(&app.app, &token).await;
    assert!(
        matches!(other, Err(AppError::CalendarNotConnected)),
        "{other:?}"
    );
    assert!(open_connect_link(&app.app, &token).await.is_ok());

    // Six days later it still works; past seven it does not.
    app.clock.advance(SignedDuration::from_hours(6 * 24));
    assert!(open_connect_link(&app.app, &token).await.is_ok());
    app.clock.advance(SignedDuration::from_hours(24));
    let expired = open_connect_link(&app.app, &token).await;
    assert!(
        matches!(expired, Err(AppError::PasswordLinkInvalid)),
        "{expired:?}"
    );

    // Sends are counted per member: Tom's limit leaves the first member's untouched.
    for _ in 0..MAX_CONNECT_LINKS_PER_MEMBER {
        send_connect_link(&app.app, &business, tom, TOMS_ADDRESS, &links(&app))
            .await
            .unwrap();
    }
    let throttled = send_connect_link(&app.app, &business, tom, TOMS_ADDRESS, &links(&app)).await;
    assert!(
        matches!(throttled, Err(AppError::TooManyRequests { .. })),
        "{throttled:?}"
    );
    send_connect_link(&app.app, &business, first, "maria@mail.test", &links(&app))
        .await
        .unwrap();
    // A new link leaves the older ones usable: each works until it is used or expires.
    let tokens: Vec<String> = sent(&app)
        .await
        .iter()
        .filter(|email| email.to.as_ref() == TOMS_ADDRESS)
        .map(|email| token_in(email, "/dashboard/connect-calendar"))
        .collect();
    assert_eq!(tokens.len(), MAX_CONNECT_LINKS_PER_MEMBER);
    for token in &tokens {
        assert!(open_connect_link(&app.app, token).await.is_ok());
    }
    // A day later Tom may be sent links again.
    app.clock.advance(SignedDuration::from_hours(24));
    send_connect_link(&app.app, &business, tom, TOMS_ADDRESS, &links(&app))
        .await
        .unwrap();

    // An address an invitation would refuse is refused; a member who does not exist, or is inactive, gets none.
    let bad = send_connect_link(&app.app, &business, tom, "tom@mail", &links(&app)).await;
    assert!(matches!(bad, Err(AppError::Validation(_))), "{bad:?}");
    let nobody = send_connect_link(
        &app.app,
        &business,
        StaffId::generate(),
        TOMS_ADDRESS,
        &links(&app),
    )
    .await;
    assert!(matches!(nobody, Err(AppError::NotFound(_))), "{nobody:?}");
    app::deactivate_staff_member(&app.app, &business, tom, FutureAppointments::Refuse)
        .await
        .unwrap();
    let inactive = send_connect_link(&app.app, &business, tom, TOMS_ADDRESS, &links(&app)).await;
    assert!(
        matches!(inactive, Err(AppError::StaffInactive)),
        "{inactive:?}"
    );
    // A link sent before he was deactivated does not work while he is inactive.
    let before = open_connect_link(&app.app, &tokens[0]).await;
    assert!(
        matches!(before, Err(AppError::PasswordLinkInvalid)),
        "{before:?}"
    );
}

#[tokio::test]
async fn a_link_that_never_was_or_is_of_another_kind_shows_the_same_gone_page() {
    let emulator = GoogleEmulator::start().await;
    let app = spawn_app_with_google(&emulator).await;
    let visitor = Visitor::new(&app);
    let missing = visitor.get("/dashboard/connect-calendar").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let made_up = visitor
        .get("/dashboard/connect-calendar?token=not-a-real-token")
        .await;
    assert_eq!(made_up.status(), StatusCode::GONE);
    let made_up = made_up.text().await.unwrap();
    // An invitation's link is worth nothing here (and is used up, as at every link page).
    let invitation = booking_core::app::accounts::invite_staff(
        &app.app,
        app.business_id.parse().unwrap(),
        "ana@clinic.test",
    )
    .await
    .unwrap();
    let token = secrecy::ExposeSecret::expose_secret(&invitation.token).to_owned();
    let other_kind = visitor
        .get(&format!("/dashboard/connect-calendar?token={token}"))
        .await;
    assert_eq!(other_kind.status(), StatusCode::GONE);
    assert_eq!(other_kind.text().await.unwrap(), made_up);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_link_pages_read_well_and_pass_axe_in_a_browser() {
    if !browser_available() {
        return;
    }
    let emulator = GoogleEmulator::start().await;
    let app = spawn_app_with_google(&emulator).await;
    let tom = tom(&app).await;
    let mut owner = Owner::start(&app, "connect-link").await;
    owner.set_password_and_sign_in().await;
    owner.open(&format!("/dashboard/staff/{tom}")).await;
    owner.expect_text("Send a connect-your-calendar link").await;
    owner
        .browser
        .type_into("#connect_email", TOMS_ADDRESS)
        .await;
    owner
        .browser
        .click("form[action$='/connect-link'] button")
        .await;
    owner.expect_text("Link sent.").await;
    owner.look("staff-member-link-sent").await;
    owner.browser.click("form.signout button").await;
    owner.expect_text("You are signed out").await;

    // Tom, in a browser signed in nowhere.
    let (_, token) = the_link(&app).await;
    owner
        .open(&format!("/dashboard/connect-calendar?token={token}"))
        .await;
    owner.expect_text("Connect your calendar for Tom at").await;
    owner.look("connect-calendar").await;
    owner.look_on_phone("connect-calendar").await;
    owner.browser.click("main form button[type=submit]").await;
    owner.expect_text("Connected:").await;
    owner.look("connect-calendar-done").await;
    owner.look_on_phone("connect-calendar-done").await;
    owner
        .open(&format!("/dashboard/connect-calendar?token={token}"))
        .await;
    owner.expect_text("This link no longer works").await;
    owner.look("connect-calendar-gone").await;

    owner.assert_accessible();
    owner.report_screenshots();
}

#[tokio::test]
async fn a_declined_consent_says_so_on_the_link_holders_page_and_leaves_the_link_usable() {
    let emulator = GoogleEmulator::start().await;
    let app = spawn_app_with_google(&emulator).await;
    let tom = tom(&app).await;
    let business = business(&app).await;
    send_connect_link(&app.app, &business, tom, TOMS_ADDRESS, &links(&app))
        .await
        .unwrap();
    let (_, token) = the_link(&app).await;
    let browser = Visitor::new(&app);
    let landing = format!("/dashboard/connect-calendar?token={token}");
    let page = browser.page(&landing).await;
    let started = press_connect(&browser, &page, &token).await;
    // What the provider sends back when the person declines: the state, and an error instead of a code.
    let authorization = reqwest::Url::parse(&location(&started)).unwrap();
    let state = authorization
        .query_pairs()
        .find(|(name, _)| name == "state")
        .map(|(_, value)| value.into_owned())
        .unwrap();
    let declined =
        serde_urlencoded::to_string([("error", "access_denied"), ("state", &state)]).unwrap();
    let back = browser
        .get(&format!("/v1/integrations/google/callback?{declined}"))
        .await;
    assert_eq!(
        location(&back),
        "/dashboard/connect-calendar/done?why=denied"
    );
    let said = browser.page(&location(&back)).await;
    assert!(said.contains("access was not granted"), "{said}");
    assert!(said.contains(&landing), "{said}");
    assert!(
        app.store
            .calendar_connections(business.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(open_connect_link(&app.app, &token).await.is_ok());
}
