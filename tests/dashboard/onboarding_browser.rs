//! A new owner's first hour in headless Chromium, mail going through a real SMTP server the test runs: sign up, read
//! the confirmation from the server, follow it, sign in; the first-run checklist, hours and a first service, Google
//! connected (its emulator), the voice agent page, a key for the agent, the Vapi bodies it shows checked against
//! Vapi's published schema, `find_available_times` tried in the console; sign out, forget the password, reset it
//! from the email, sign in with the new one. Every new page is screenshotted at laptop and phone width and checked
//! with axe-core.

use booking_core::adapters::SmtpMailer;
use booking_core::app::{self, App, JobEnd};
use booking_core::contract::mail::{Delivered, SmtpServer, link_in, messages_to};
use integration_tests::TestApp;
use integration_tests::emulators::google::{self, GoogleEmulator};
use secrecy::SecretString;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

use crate::browser::Owner;
use crate::platform_schemas::{VAPI_FUNCTION_TOOL, errors, validator};
use crate::support::spawn_app_with_google;
use crate::webdriver::browser_available;

const EMAIL: &str = "maria@harbour-salon.test";
const FIRST_PASSWORD: &str = "sea salt and rosemary";
const SECOND_PASSWORD: &str = "lighthouse at low tide";

/// Sends every queued message through `worker`'s mailer, as the local server's worker loop does.
async fn deliver_mail(app: &TestApp, worker: &App) {
    loop {
        let received = app.queue.receive(10, Duration::ZERO).await.unwrap();
        if received.is_empty() {
            return;
        }
        for job in received {
            match app::run_delivered_job(worker, &job).await {
                JobEnd::Done => app.queue.ack(&job.receipt).await.unwrap(),
                JobEnd::Postponed | JobEnd::Failed => panic!("a queued email was not sent"),
            }
        }
    }
}

/// The link to `path` in the newest message to [`EMAIL`] the SMTP server received.
async fn link_from_mailbox(server: &SmtpServer, path: &str) -> String {
    for _ in 0..50 {
        let messages = messages_to(&server.delivered().messages().await, EMAIL);
        if let Some(link) = messages
            .iter()
            .rev()
            .filter_map(|message| link_in(message, "http://"))
            .find(|link| link.contains(path))
        {
            return link;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no message with a link to {path} arrived");
}

/// The page needs no sideways scrolling on a phone: every long URL, key and block wraps.
async fn fits_a_phone(owner: &Owner<'_>) {
    owner.browser.set_size(390, 844).await;
    // What reaches past the screen's right edge, the innermost, by tag, id and class.
    let overflowing = owner
        .browser
        .script(
            "const width = document.documentElement.clientWidth;
             return Array.from(document.querySelectorAll('body *'))
               .filter(e => e.getBoundingClientRect().right > width + 1)
               .filter(e => !Array.from(e.children).some(c => c.getBoundingClientRect().right > width + 1))
               .map(e => e.tagName + '#' + e.id + '.' + e.className);",
            json!([]),
        )
        .await;
    owner.browser.set_size(1280, 900).await;
    assert_eq!(overflowing, json!([]), "wider than a phone");
}

/// From the first-run checklist to a tool tried in the console, as the new owner does it.
async fn connect_the_voice_agent(owner: &mut Owner<'_>, app: &TestApp) {
    owner
        .expect_text("Get your voice agent answering calls")
        .await;
    owner.expect_text("0 of 4 done").await;
    owner.look("home-checklist").await;
    owner.look_on_phone("home-checklist").await;
    owner
        .browser
        .click("main .checklist a[href='/dashboard/services/new']")
        .await;
    owner.create_service().await;
    owner
        .connect(
            booking_core::ports::ProviderKind::GOOGLE,
            google::TEAM_CALENDAR,
        )
        .await;
    owner.open("/dashboard/appointments").await;
    owner.expect_text("2 of 4 done").await;

    owner
        .browser
        .click("main .checklist a[href='/dashboard/voice-agent']")
        .await;
    owner.expect_text("A key for the voice agent").await;
    owner.look("voice-agent").await;
    owner.look_on_phone("voice-agent").await;
    fits_a_phone(owner).await;
    owner
        .browser
        .click("form[action='/dashboard/voice-agent/key'] button")
        .await;
    owner.expect_text("shown only this once").await;
    owner.look("voice-agent-key").await;
    owner.look_on_phone("voice-agent-key").await;
    let shown = owner
        .browser
        .script(
            "return [document.getElementById('new-key').textContent,
                     document.getElementById('vapi-tools').textContent,
                     getComputedStyle(document.getElementById('vapi-tools')).userSelect,
                     document.querySelector('button.copy[data-copy=\"vapi-tools\"]').hidden];",
            json!([]),
        )
        .await;
    let key = shown[0].as_str().unwrap();
    let bodies: serde_json::Value = serde_json::from_str(shown[1].as_str().unwrap()).unwrap();
    let vapi = validator(VAPI_FUNCTION_TOOL);
    for body in bodies.as_array().unwrap() {
        let errors = errors(&vapi, body);
        assert!(
            errors.is_empty(),
            "{}: {errors:#?}",
            body["function"]["name"]
        );
        assert_eq!(
            body["server"]["headers"]["Authorization"],
            format!("Bearer {key}")
        );
        assert_eq!(body["server"]["url"], app.url("/v1/agents/vapi"));
    }
    assert_eq!(shown[2], "all", "a click selects the whole block");
    assert_eq!(shown[3], false, "the script shows the copy button");

    owner
        .browser
        .script(
            "document.getElementById('tool').value = 'find_available_times'; return true;",
            json!([]),
        )
        .await;
    owner
        .browser
        .click("form[action='/dashboard/voice-agent#try'] button")
        .await;
    owner.expect_text("Run find_available_times").await;
    owner
        .browser
        .script(
            "document.getElementById('arg-service_id').selectedIndex = 1; return true;",
            json!([]),
        )
        .await;
    owner.browser.type_into("#arg-limit", "3").await;
    owner.browser.click("#console button[type=submit]").await;
    owner.expect_text("The agent would say").await;
    owner.expect_text("The answer's JSON").await;
    owner.look("voice-agent-console").await;
    owner.look_on_phone("voice-agent-console").await;
    fits_a_phone(owner).await;

    owner.open("/dashboard/appointments").await;
    owner.expect_text("No appointments match").await;
    let page = owner.browser.text().await;
    assert!(
        !page.contains("Get your voice agent answering calls"),
        "every step done, the checklist is gone: {page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_owner_signs_up_connects_the_voice_agent_and_resets_the_password_in_a_browser() {
    if !browser_available() {
        return;
    }
    let Some(smtp) = SmtpServer::start().await else {
        return;
    };
    let emulator = GoogleEmulator::start().await;
    let app = spawn_app_with_google(&emulator).await;
    let sender = "Bookings <no-reply@bookings.test>".parse().unwrap();
    let worker = app.app.clone().with_mailer(Arc::new(
        SmtpMailer::new(&SecretString::from(smtp.url()), sender).unwrap(),
    ));
    let mut owner = Owner::start(&app, "onboarding").await;

    owner.open("/dashboard/sign-in").await;
    owner.browser.click("a[href='/dashboard/sign-up']").await;
    owner.expect_text("Sign up your business").await;
    let zones = owner
        .browser
        .script(
            "return [document.querySelector('#time_zone').value, Intl.DateTimeFormat().resolvedOptions().timeZone];",
            json!([]),
        )
        .await;
    assert_eq!(zones[0], zones[1], "the browser's own zone is preselected");
    owner.look("sign-up").await;
    owner.look_on_phone("sign-up").await;
    owner
        .browser
        .type_into("#business_name", "Harbour Salon")
        .await;
    owner.browser.type_into("#time_zone", "Europe/Lisbon").await;
    owner.browser.type_into("#email", EMAIL).await;
    owner.browser.type_into("#password", "password1234").await;
    owner.browser.click("main form button[type=submit]").await;
    owner
        .expect_text("one of the passwords people choose most")
        .await;
    owner.look("sign-up-errors").await;
    owner.look_on_phone("sign-up-errors").await;
    owner.browser.type_into("#password", FIRST_PASSWORD).await;
    owner.browser.click("main form button[type=submit]").await;
    owner.expect_text("Check your email").await;
    owner.look("check-email").await;
    owner.look_on_phone("check-email").await;

    deliver_mail(&app, &worker).await;
    let confirm = link_from_mailbox(&smtp, "/dashboard/verify-email").await;
    assert!(confirm.starts_with(&app.url("/dashboard/verify-email?token=")));
    owner.browser.open(&confirm).await;
    owner.expect_text("Confirm your email").await;
    owner.look("verify-email").await;
    owner.look_on_phone("verify-email").await;
    owner.browser.click("main form button[type=submit]").await;
    owner.expect_text("Your email is confirmed").await;
    owner.browser.type_into("#email", EMAIL).await;
    owner.browser.type_into("#password", FIRST_PASSWORD).await;
    owner.browser.click("main button[type=submit]").await;
    owner.expect_text("No appointments match").await;
    owner.expect_text("Harbour Salon").await;
    connect_the_voice_agent(&mut owner, &app).await;
    owner.browser.click("form.signout button").await;
    owner.expect_text("You are signed out").await;
    // Days later, as a person would: a link issued at the very instant the password was set is void.
    app.clock.advance(jiff::SignedDuration::from_hours(50));

    owner
        .browser
        .click("a[href='/dashboard/forgot-password']")
        .await;
    owner.expect_text("Forgot your password?").await;
    owner.look("forgot-password").await;
    owner.look_on_phone("forgot-password").await;
    owner.browser.type_into("#email", EMAIL).await;
    owner.browser.click("main form button[type=submit]").await;
    owner.expect_text("is on its way").await;
    owner.look("forgot-password-sent").await;
    owner.look_on_phone("forgot-password-sent").await;

    deliver_mail(&app, &worker).await;
    let reset = link_from_mailbox(&smtp, "/dashboard/reset-password").await;
    owner.browser.open(&reset).await;
    owner.expect_text("Choose a new password").await;
    owner.look("reset-password").await;
    owner.look_on_phone("reset-password").await;
    owner.browser.type_into("#password", SECOND_PASSWORD).await;
    owner.browser.type_into("#confirm", SECOND_PASSWORD).await;
    owner.browser.click("main form button[type=submit]").await;
    owner.expect_text("Your new password is set").await;
    owner.browser.type_into("#email", EMAIL).await;
    owner.browser.type_into("#password", SECOND_PASSWORD).await;
    owner.browser.click("main button[type=submit]").await;
    owner.expect_text("No appointments match").await;

    // What arrived is multipart text and HTML, from the configured sender, as every adapter sends it.
    let received = messages_to(&smtp.delivered().messages().await, EMAIL);
    assert_eq!(received.len(), 2);
    assert!(
        received
            .iter()
            .all(|message| message.contains("multipart/alternative")
                && message.contains("no-reply@bookings.test"))
    );
    owner.assert_accessible();
    owner.report_screenshots();
}
