//! The Integrations page with two members in headless Chromium: Maria (the first member) connects as before, Tom
//! connects his own account from his part of the page and ticks his calendars; screenshotted at laptop and phone
//! width into `target/dashboard-screenshots/member-integrations/` and checked with axe-core (no serious or critical
//! violation).

use booking_core::domain::StaffId;
use booking_core::ports::{ConnectionHealth, ProviderKind};
use integration_tests::emulators::google::{self, GoogleEmulator};
use serde_json::json;

use crate::browser::Owner;
use crate::support::spawn_app_with_google;
use crate::webdriver::browser_available;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_connects_and_ticks_their_own_calendars_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let emulator = GoogleEmulator::start().await;
    let app = spawn_app_with_google(&emulator).await;
    emulator.set_now(app.clock_now());
    let business = app.business_id.parse().unwrap();
    let maria = StaffId::first_of(business);
    let renamed = app
        .patch(&format!("/v1/staff/{maria}"), &json!({ "name": "Maria" }))
        .await;
    assert_eq!(renamed.status(), 200);
    let tom: StaffId = app.post_json("/v1/staff", &json!({ "name": "Tom" })).await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut owner = Owner::start(&app, "member-integrations").await;
    owner.set_password_and_sign_in().await;
    owner
        .connect(ProviderKind::GOOGLE, google::TEAM_CALENDAR)
        .await;

    let toms_part = format!("#staff-{tom}");
    owner
        .browser
        .click(&format!("{toms_part} > .actions form button"))
        .await;
    owner.expect_text("Choose the calendars below").await;
    owner
        .browser
        .click(&format!(
            "{toms_part} input[name=written][value=\"{}\"]",
            google::ACCOUNT
        ))
        .await;
    owner
        .browser
        .click(&format!(
            "{toms_part} input[name=checked][value=\"{}\"]",
            google::HOLIDAYS_CALENDAR
        ))
        .await;
    owner
        .browser
        .click(&format!(
            "{toms_part} form.calendar-choice button[type=submit]"
        ))
        .await;
    owner.expect_text("Calendars saved").await;
    owner.look("integrations-members").await;
    owner.look_on_phone("integrations-members").await;

    let connections = app.store.calendar_connections(business).await.unwrap();
    let of = |staff_id| {
        connections
            .iter()
            .find(|connection| connection.staff_id == staff_id)
            .unwrap()
    };
    assert_eq!(of(tom).calendar_id.as_deref(), Some(google::ACCOUNT));
    assert_eq!(of(tom).checked_calendars, [google::HOLIDAYS_CALENDAR]);
    assert_eq!(
        of(maria).calendar_id.as_deref(),
        Some(google::TEAM_CALENDAR)
    );

    let lost = ConnectionHealth::ReauthRequired {
        reason: "Google says the access was revoked or has expired".to_owned(),
    };
    app.store
        .update_connection_health(business, of(tom).id, &lost, None)
        .await
        .unwrap();
    owner.open("/dashboard/integrations").await;
    owner
        .expect_text("Tom's Google Calendar needs reconnecting")
        .await;
    owner.look("integrations-member-reconnect").await;

    owner.assert_accessible();
    owner.report_screenshots();
}
