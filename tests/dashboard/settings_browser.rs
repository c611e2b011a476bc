//! The settings page in headless Chromium: reached from the navigation, shown with a refused form and after saving,
//! screenshotted at laptop and phone width into `target/dashboard-screenshots/settings/` and checked with axe-core
//! (no serious or critical violation).

use serde_json::json;

use crate::browser::Owner;
use crate::webdriver::browser_available;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_settings_page_reads_well_and_passes_axe_at_laptop_and_phone_width() {
    if !browser_available() {
        return;
    }
    let app = integration_tests::spawn_app().await;
    let mut owner = Owner::start(&app, "settings").await;
    owner.set_password_and_sign_in().await;

    owner
        .browser
        .click("nav a[href='/dashboard/settings']")
        .await;
    owner.expect_text("Your business").await;
    let current = owner
        .browser
        .script(
            "return document.querySelector('#time_zone').value;",
            json!([]),
        )
        .await;
    assert_eq!(
        current, "America/New_York",
        "the business's zone, not the browser's"
    );
    owner.look("settings").await;
    owner.look_on_phone("settings").await;

    owner.browser.type_into("#hold_minutes", "99").await;
    owner
        .browser
        .click("form[action='/dashboard/settings/business'] button[type=submit]")
        .await;
    owner.expect_text("There is a problem").await;
    owner.look("settings-errors").await;
    owner.look_on_phone("settings-errors").await;

    owner
        .browser
        .type_into("#business_name", "Harbour Clinic")
        .await;
    owner.browser.type_into("#hold_minutes", "7").await;
    owner
        .browser
        .click("form[action='/dashboard/settings/business'] button[type=submit]")
        .await;
    owner.expect_text("Settings saved.").await;
    owner.expect_text("Harbour Clinic").await;
    owner.look("settings-saved").await;
    owner.look_on_phone("settings-saved").await;

    owner.assert_accessible();
}
