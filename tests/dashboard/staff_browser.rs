//! The Staff list and a member's page in headless Chromium: reached from the navigation, screenshotted at laptop and
//! phone width into `target/dashboard-screenshots/staff/` and checked with axe-core (no serious or critical
//! violation).

use serde_json::json;

use crate::browser::Owner;
use crate::webdriver::browser_available;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_staff_pages_read_well_and_pass_axe_at_laptop_and_phone_width() {
    if !browser_available() {
        return;
    }
    let app = integration_tests::spawn_app().await;
    let service = app.create_service(json!({})).await;
    app.create_service(json!({ "name": "Cleaning" })).await;
    let maria = app
        .post_json(
            "/v1/staff",
            &json!({
                "name": "Maria",
                "service_ids": [service],
                "weekly_hours": {
                    "monday": [{ "start": "09:00", "end": "13:00" }],
                    "wednesday": [{ "start": "09:00", "end": "13:00" }, { "start": "14:00", "end": "18:00" }]
                },
                "date_overrides": [
                    { "date": "2026-12-24", "hours": [] },
                    { "date": "2026-12-25", "hours": [] },
                    { "date": "2026-12-31", "hours": [{ "start": "09:00", "end": "12:00" }] }
                ],
                "max_per_day": 6
            }),
        )
        .await;
    let maria = maria["id"].as_str().unwrap().to_owned();
    let mut owner = Owner::start(&app, "staff").await;
    owner.set_password_and_sign_in().await;

    owner.browser.click("nav a[href='/dashboard/staff']").await;
    owner.expect_text("When the caller does not mind who").await;
    owner.look("staff").await;
    owner.look_on_phone("staff").await;

    owner
        .browser
        .click(&format!("a[href='/dashboard/staff/{maria}']"))
        .await;
    owner.expect_text("Time off and special hours").await;
    owner.look("staff-member").await;
    owner.look_on_phone("staff-member").await;

    owner.assert_accessible();
    owner.report_screenshots();
}
