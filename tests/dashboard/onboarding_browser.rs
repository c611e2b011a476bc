//! A new owner's first hour in headless Chromium, mail going through a real SMTP server the test runs: sign up, read
//! the confirmation from the server, follow it, sign in and out, forget the password, reset it from the email, sign
//! in with the new one. Every new page is screenshotted at laptop and phone width and checked with axe-core.

use booking_core::adapters::SmtpMailer;
use booking_core::app::{self, App, JobEnd};
use booking_core::contract::mail::{Delivered, SmtpServer, link_in, messages_to};
use integration_tests::{TestApp, spawn_app};
use secrecy::SecretString;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

use crate::browser::Owner;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_owner_signs_up_confirms_by_email_and_resets_a_forgotten_password_in_a_real_browser()
{
    if !browser_available() {
        return;
    }
    let Some(smtp) = SmtpServer::start().await else {
        return;
    };
    let app = spawn_app().await;
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
