//! Owner alerts: when the calendar must be connected again or an appointment cannot be written to it for good, the
//! business's owners get one email (at most one a day for the connection) linking to the page that fixes it;
//! recovery sends nothing, and an owner who turned alerts off gets nothing.

use booking_core::app::{SAFETY_NET_AFTER, accounts, sync_stale_calendars};
use booking_core::ports::{Email, Job};
use integration_tests::emulators::faults::{Fault, FaultRule, Matcher, When};
use integration_tests::emulators::google::GoogleEmulator;
use integration_tests::{TestApp, worker};
use jiff::SignedDuration;
use serde_json::Value;

use crate::harness::{Backend, SyncHarness};

const OWNER: &str = "owner@clinic.test";
const TEN: &str = "2026-12-01T10:00:00-05:00";
const ELEVEN: &str = "2026-12-01T11:00:00-05:00";

/// A business with its Google calendar connected and watched, and an owner (invited, so their address is known).
async fn with_owner(backend: Backend) -> SyncHarness<GoogleEmulator> {
    let harness = SyncHarness::<GoogleEmulator>::connected(backend).await;
    accounts::invite_owner(
        &harness.app.app,
        harness.app.business_id.parse().unwrap(),
        OWNER,
    )
    .await
    .unwrap();
    run_jobs_collecting_mail(&harness.app).await;
    harness
}

/// Runs every queued job and dead letter as the workers do, except that messages are collected instead of sent:
/// what the owners would receive, oldest first.
async fn run_jobs_collecting_mail(app: &TestApp) -> Vec<Email> {
    let mut mail = Vec::new();
    worker::run_until_idle(app, |job| match job {
        Job::SendEmail { email } => {
            mail.push(email.clone());
            true
        }
        _ => false,
    })
    .await;
    mail
}

/// The scheduler's run after its period: the calendar's safety-net sync is due and queued, then every job runs.
async fn scheduled_sync(harness: &SyncHarness<GoogleEmulator>) -> Vec<Email> {
    harness.app.clock.advance(SAFETY_NET_AFTER);
    assert_eq!(
        sync_stale_calendars(&harness.app.app).await.unwrap(),
        1,
        "the calendar's sync is due"
    );
    run_jobs_collecting_mail(&harness.app).await
}

fn assert_alert(email: &Email, subject: &str, link: &str) {
    assert_eq!(email.to.as_ref(), OWNER);
    assert!(email.subject.contains(subject), "{}", email.subject);
    assert!(email.subject.contains("Test Clinic"), "{}", email.subject);
    for body in [&email.text, &email.html] {
        assert!(body.contains(link), "no {link} in {body}");
    }
}

async fn revoke_and_sync(harness: &SyncHarness<GoogleEmulator>) -> Vec<Email> {
    harness.emulator.revoke_grants();
    harness.emulator.expire_access_tokens();
    scheduled_sync(harness).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revoked_grant_emails_the_owner_once_a_day_and_reconnecting_sends_nothing() {
    a_revoked_grant_emails_the_owner_once_a_day(Backend::Local).await;
}

/// The same on DynamoDB Local and moto's SQS: the day's lease is the DynamoDB adapter's conditional write.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_aws_a_revoked_grant_emails_the_owner_once_a_day() {
    if Backend::aws_available().await {
        a_revoked_grant_emails_the_owner_once_a_day(Backend::Aws).await;
    }
}

async fn a_revoked_grant_emails_the_owner_once_a_day(backend: Backend) {
    let harness = with_owner(backend).await;

    let mail = revoke_and_sync(&harness).await;
    assert_eq!(mail.len(), 1, "{mail:#?}");
    assert_alert(
        &mail[0],
        "connect your Google Calendar again",
        &harness.app.url("/dashboard/integrations"),
    );
    assert!(
        mail[0].text.contains("revoked or has expired"),
        "{}",
        mail[0].text
    );
    let connection = harness.connection().await;
    assert_eq!(connection["health"]["state"], "reauth_required");

    // The same day, an appointment fails for the same reason: the owner already knows.
    let appointment = harness.book(TEN).await;
    assert!(run_jobs_collecting_mail(&harness.app).await.is_empty());
    let failed = harness.appointment(&appointment).await;
    assert_eq!(failed["sync"]["error"]["code"], "reauth_required");

    // Recovery sends nothing.
    harness.connect().await;
    assert!(run_jobs_collecting_mail(&harness.app).await.is_empty());
    assert_eq!(
        harness.appointment(&appointment).await["sync"]["status"],
        "synced"
    );

    // Revoked again the same day: still nothing, at most one email a day.
    assert!(revoke_and_sync(&harness).await.is_empty());

    // A day after the first email, the second revocation (which came while that day's email was sent) is told.
    harness.app.clock.advance(SignedDuration::from_hours(24));
    harness.book(ELEVEN).await;
    let mail = run_jobs_collecting_mail(&harness.app).await;
    assert_eq!(mail.len(), 1, "{mail:#?}");
    assert_alert(
        &mail[0],
        "connect your Google Calendar again",
        &harness.app.url("/dashboard/integrations"),
    );

    // Left broken, the connection is not reported again: one email per incident.
    harness.app.clock.advance(SignedDuration::from_hours(24));
    assert!(scheduled_sync(&harness).await.is_empty());
    harness.assert_no_violations();
}

/// The owner's choice in Settings, as the page stores it.
async fn set_owner_alerts(harness: &SyncHarness<GoogleEmulator>, on: bool) {
    let store = &harness.app.store;
    let business_id = harness.app.business_id.parse().unwrap();
    let mut settings = store.get_business_settings(business_id).await.unwrap();
    settings.owner_alerts = Some(on);
    store
        .put_business_settings(business_id, &settings)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_owner_who_turned_alerts_off_gets_no_email_until_they_turn_them_on() {
    let harness = with_owner(Backend::Local).await;
    set_owner_alerts(&harness, false).await;
    assert!(revoke_and_sync(&harness).await.is_empty());
    let connection = harness.connection().await;
    assert_eq!(connection["health"]["state"], "reauth_required");

    // Turned on again, the next failure is told: the silence used up no day's email.
    set_owner_alerts(&harness, true).await;
    harness.book(TEN).await;
    let mail = run_jobs_collecting_mail(&harness.app).await;
    assert_eq!(mail.len(), 1, "{mail:#?}");
}

/// Books an appointment whose writes to the calendar meet `fault` `times` times, runs every job, and checks that the
/// owner got exactly one email about it, linking to its page; returns the appointment and the email.
async fn book_failing_to_write(
    harness: &SyncHarness<GoogleEmulator>,
    fault: Fault,
    times: u32,
) -> (Value, Email) {
    harness.emulator.faults().add(FaultRule {
        matcher: Matcher::method("POST").path("/events"),
        when: When::Before,
        fault,
        times,
    });
    let id = harness.book(TEN).await;
    let mut mail = run_jobs_collecting_mail(&harness.app).await;
    let appointment = harness.appointment(&id).await;
    assert_eq!(appointment["sync"]["status"], "failed", "{appointment}");
    assert_eq!(mail.len(), 1, "{mail:#?}");
    let page = harness.app.url(&format!("/dashboard/appointments/{id}"));
    assert_alert(&mail[0], "an appointment is not in your calendar", &page);
    (appointment, mail.remove(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_appointment_the_calendar_refuses_for_good_emails_the_owner_naming_it() {
    let harness = with_owner(Backend::Local).await;
    // The chosen calendar is gone when the appointment is written: no retry can help.
    let (appointment, email) = book_failing_to_write(&harness, Fault::NotFound, 1).await;
    assert_eq!(appointment["sync"]["error"]["code"], "calendar_not_found");
    // Named as the owner knows it: the customer and the business's local time.
    let customer = appointment["customer"]["name"].as_str().unwrap();
    assert!(
        email.text.contains(customer) && email.text.contains("Tuesday 1 December 2026 at 10:00"),
        "{}",
        email.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_appointment_whose_sync_the_queue_gave_up_on_emails_the_owner() {
    let harness = with_owner(Backend::Local).await;
    // The calendar is down for longer than the queue keeps trying: the dead-letter handler gives up and alerts.
    let (appointment, _) = book_failing_to_write(&harness, Fault::Unavailable, 100).await;
    assert_eq!(appointment["sync"]["error"]["code"], "sync_gave_up");
}
