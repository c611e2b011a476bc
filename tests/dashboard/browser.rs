//! The owner's journeys in a real headless Chromium over WebDriver, against the provider emulators on the local
//! adapters. Every page is screenshotted into `target/dashboard-screenshots/<journey>/` (or `$SCREENSHOT_DIR`) and
//! checked with axe-core: no serious or critical violation is allowed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use booking_core::adapters::{EmbeddedStore, FileSecretStore, InProcessQueue};
use booking_core::app::{self, App, Integrations};
use booking_core::ports::{ProviderKind, QueueSettings};
use booking_core::providers::{ProviderEndpoints, provider_setup};
use integration_tests::emulators::faults::{Fault, FaultRule, Matcher, When};
use integration_tests::emulators::google::{self, GoogleEmulator};
use integration_tests::emulators::microsoft::{self, GraphEmulator};
use integration_tests::{TestApp, spawn_app_on, worker};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use crate::support::PASSWORD;
use crate::webdriver::{Browser, browser_available};

const LAPTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (390, 844);
const OWNER: &str = "owner@clinic.test";

fn screenshot_dir(journey: &str) -> PathBuf {
    let root = std::env::var_os("SCREENSHOT_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/dashboard-screenshots"),
        PathBuf::from,
    );
    root.join(journey)
}

/// axe-core's script from its npm package, installed by scripts/install-test-tools.sh.
fn axe_source() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../.tools/npm/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|error| {
        panic!(
            "{}: {error} (scripts/install-test-tools.sh installs axe-core)",
            path.display()
        )
    })
}

/// A server whose integrations point at one emulator, like the sync harness's, plus the owner's invitation.
async fn server(
    kind: ProviderKind,
    endpoints: ProviderEndpoints,
    credentials: (&'static str, &'static str),
) -> TestApp {
    let data = tempfile::tempdir().unwrap();
    let secrets = Arc::new(FileSecretStore::open(&data.path().join("secrets")).unwrap());
    let store = Arc::new(EmbeddedStore::open(&data.path().join("store.redb")).unwrap());
    let queue = Arc::new(InProcessQueue::new(QueueSettings::default()));
    spawn_app_on(store, queue, data, move |app: App, base_url, _| {
        app.with_integrations(
            Integrations::new(
                secrets,
                SecretString::from("test state key".to_owned()),
                base_url,
            )
            .with_provider(
                provider_setup(
                    kind,
                    credentials.0.to_owned(),
                    SecretString::from(credentials.1.to_owned()),
                    &endpoints,
                    Duration::from_millis(500),
                )
                .unwrap(),
            ),
        )
    })
    .await
}

/// Runs queued sync jobs (and dead letters) until none is left, as the worker would without its waits.
async fn run_jobs(app: &TestApp) {
    worker::run_until_idle(app, |_| false).await;
}

/// A browser on the dashboard of `app`, checking each page it is shown (the onboarding journey walks one too).
pub(crate) struct Owner<'a> {
    app: &'a TestApp,
    pub(crate) browser: Browser,
    axe: String,
    pages: usize,
    violations: Vec<String>,
}

impl<'a> Owner<'a> {
    pub(crate) async fn start(app: &'a TestApp, journey: &str) -> Self {
        let browser = Browser::start(&screenshot_dir(journey), LAPTOP.0, LAPTOP.1).await;
        Self {
            app,
            browser,
            axe: axe_source(),
            pages: 0,
            violations: Vec::new(),
        }
    }

    pub(crate) async fn open(&self, path: &str) {
        self.browser.open(&self.app.url(path)).await;
    }

    /// axe-core found nothing on any page the owner looked at.
    pub(crate) fn assert_accessible(&self) {
        assert!(
            self.violations.is_empty(),
            "axe-core: {:#?}",
            self.violations
        );
    }

    /// Says where the screenshots are, for a person to look at.
    pub(crate) fn report_screenshots(&self) {
        eprintln!(
            "screenshots of {} pages in {}",
            self.pages,
            self.browser.screenshots.display()
        );
    }

    /// Screenshots the whole page and runs axe-core on it.
    pub(crate) async fn look(&mut self, name: &str) {
        self.pages += 1;
        let name = format!("{:02}-{name}", self.pages);
        self.browser.fit_to_page(LAPTOP.0).await;
        self.browser.screenshot(&name).await;
        self.browser.set_size(LAPTOP.0, LAPTOP.1).await;
        self.browser
            .script(&format!("{};return true;", self.axe), json!([]))
            .await;
        let found = self
            .browser
            .async_script(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then(r => done(r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                   .catch(e => done(['axe failed: ' + e]));",
                json!([]),
            )
            .await;
        for violation in found.as_array().into_iter().flatten() {
            self.violations.push(format!(
                "{name}: {}",
                violation.as_str().unwrap_or_default()
            ));
        }
    }

    /// The same page as a phone shows it.
    pub(crate) async fn look_on_phone(&mut self, name: &str) {
        self.browser.set_size(PHONE.0, PHONE.1).await;
        self.browser
            .screenshot(&format!("{:02}-{name}-phone", self.pages))
            .await;
        self.browser.set_size(LAPTOP.0, LAPTOP.1).await;
    }

    async fn text(&self) -> String {
        self.browser.text().await
    }

    /// How many elements match `css` on the page.
    async fn count(&self, css: &str) -> u64 {
        self.text().await;
        self.browser
            .script(
                "return document.querySelectorAll(arguments[0]).length;",
                json!([css]),
            )
            .await
            .as_u64()
            .unwrap()
    }

    pub(crate) async fn expect_text(&self, wanted: &str) {
        if let Err(text) = self.browser.wait_for_text(wanted).await {
            panic!(
                "expected {wanted:?} on {}:\n{text}",
                self.browser.current_url().await
            );
        }
    }

    pub(crate) async fn set_password_and_sign_in(&mut self) {
        let business_id = self.app.business_id.parse().unwrap();
        let link = app::accounts::invite_owner(&self.app.app, business_id, OWNER)
            .await
            .unwrap();
        self.open(&format!(
            "/dashboard/set-password?token={}",
            link.token.expose_secret()
        ))
        .await;
        self.look("set-password").await;
        self.browser.type_into("#password", PASSWORD).await;
        self.browser.type_into("#confirm", PASSWORD).await;
        self.browser.click("button[type=submit]").await;
        self.expect_text("Your password is set").await;
        self.look("sign-in").await;
        self.browser.type_into("#email", OWNER).await;
        self.browser.type_into("#password", PASSWORD).await;
        self.browser.click("main button[type=submit]").await;
        self.expect_text("No appointments match").await;
        self.look("appointments-empty").await;
    }

    pub(crate) async fn connect(&mut self, kind: ProviderKind, calendar_id: &str) {
        self.open("/dashboard/integrations").await;
        self.look("integrations").await;
        self.browser.click(&format!("#{kind} form button")).await;
        // The emulator grants consent at once and sends the browser back through our callback to the picker.
        self.expect_text("Choose the calendar").await;
        self.look("calendar-picker").await;
        self.browser
            .click(&format!("input[value=\"{calendar_id}\"]"))
            .await;
        self.browser.click("main form button[type=submit]").await;
        self.expect_text("Calendar chosen").await;
        run_jobs(self.app).await;
        self.open("/dashboard/integrations").await;
        self.expect_text("Connected").await;
        self.look("integrations-connected").await;
    }

    pub(crate) async fn create_service(&mut self) -> String {
        self.open("/dashboard/services/new").await;
        self.look("service-new").await;
        self.browser.type_into("#name", "Consultation").await;
        self.browser.type_into("#duration", "half an hour").await;
        self.browser.type_into("#saturday", "10:00-09:00").await;
        self.browser.click("main form button.primary").await;
        self.expect_text("There is a problem").await;
        self.expect_text("Duration: enter a whole number of minutes")
            .await;
        self.expect_text("Saturday: each range must end after it starts")
            .await;
        let kept = self
            .browser
            .script("return document.querySelector('#name').value;", json!([]))
            .await;
        assert_eq!(kept, "Consultation", "what was typed is kept");
        self.look("service-errors").await;
        self.browser.type_into("#duration", "30").await;
        self.browser
            .type_into("#saturday", "10:00-12:00, 13:00-15:00")
            .await;
        self.browser.type_into("#buffer_after", "10").await;
        self.browser
            .type_into(
                "#date_overrides",
                "2026-12-24 closed\n2026-12-31 09:00-13:00",
            )
            .await;
        self.browser.click("main form button.primary").await;
        self.expect_text("The next seven days").await;
        self.look("service-week").await;
        let url = self.browser.current_url().await;
        url.rsplit('/')
            .next()
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .to_owned()
    }

    /// Books the first free time of 2026-12-01 for `customer`; returns the appointment's page.
    async fn book(&mut self, service: &str, customer: &str, look: bool) -> String {
        self.open(&format!(
            "/dashboard/book?service={service}&date=2026-12-01"
        ))
        .await;
        if look {
            self.look("book").await;
        }
        self.browser.type_into("#name", customer).await;
        self.browser.type_into("#phone", "+1 415 555 0123").await;
        self.browser.click("main form.stack button.primary").await;
        self.expect_text("Booked.").await;
        let url = self.browser.current_url().await;
        url.split('?').next().unwrap().to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_owner_walks_the_whole_google_journey_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let emulator = GoogleEmulator::start().await;
    let endpoints = integration_tests::google_endpoints(&emulator);
    let app = server(
        ProviderKind::GOOGLE,
        endpoints,
        (google::CLIENT_ID, google::CLIENT_SECRET),
    )
    .await;
    emulator.set_now(app.clock_now());
    let mut owner = Owner::start(&app, "google").await;

    owner.set_password_and_sign_in().await;
    owner
        .connect(ProviderKind::GOOGLE, google::TEAM_CALENDAR)
        .await;
    let service = owner.create_service().await;

    // Book manually: Pending at once, Synced once the worker ran.
    let appointment = owner.book(&service, "Ana Silva", true).await;
    owner.expect_text("Pending").await;
    owner.look("appointment-pending").await;
    run_jobs(&app).await;
    owner.browser.open(&appointment).await;
    owner.expect_text("Synced").await;
    owner.look("appointment-synced").await;
    assert_eq!(emulator.events(google::TEAM_CALENDAR).len(), 1);

    // The provider refuses the next write: the appointment shows Failed with the reason. Only the write: the
    // busy-time sync that our own writes trigger reads the same events collection and must not take the fault.
    emulator.faults().add(FaultRule {
        matcher: Matcher::method("PATCH").path("events"),
        when: When::Before,
        fault: Fault::NotFound,
        times: 1,
    });
    owner.browser.click("#slot-1").await;
    owner
        .browser
        .click("#reschedule-title ~ form.stack button.primary")
        .await;
    owner.expect_text("Rescheduled.").await;
    run_jobs(&app).await;
    owner.browser.open(&appointment).await;
    owner.expect_text("Failed").await;
    owner.expect_text("What happened:").await;
    owner.expect_text("What you can do:").await;
    owner.look("appointment-failed").await;
    owner.look_on_phone("appointment-failed").await;

    // Retry Sync: queued, then Synced.
    owner.browser.click("#sync-title ~ form button").await;
    owner.expect_text("Queued to sync again").await;
    run_jobs(&app).await;
    owner.browser.open(&appointment).await;
    owner.expect_text("Synced").await;

    // The owner revokes our access at Google: the next sync needs a new grant, and every page says so.
    emulator.revoke_grants();
    emulator.expire_access_tokens();
    owner.book(&service, "Bo Chen", false).await;
    run_jobs(&app).await;
    owner.open("/dashboard/appointments?from=2026-12-01").await;
    owner
        .expect_text("Google Calendar needs reconnecting")
        .await;
    owner.expect_text("failed to reach your calendar").await;
    owner.look("banner-reconnect").await;
    owner.look_on_phone("banner-reconnect").await;
    owner.browser.open(&owner.browser.current_url().await).await;
    owner.browser.click(".banner.bad a").await;
    owner.expect_text("Reconnect needed").await;
    owner.look("integrations-reconnect").await;

    // Reconnecting keeps the calendar and sends the failed appointment again.
    owner.browser.click("#google form button.primary").await;
    owner.expect_text("Choose the calendar").await;
    run_jobs(&app).await;
    owner.open("/dashboard/appointments?from=2026-12-01").await;
    assert!(!owner.text().await.contains("needs reconnecting"));
    assert_eq!(owner.count("td .badge.bad").await, 0, "no failed sync left");
    assert_eq!(owner.count("td .badge.ok").await, 2);

    // Two more failures, then "Retry all failed (2)" queues both. Only the two inserts fail, not the busy-time
    // reads they trigger.
    emulator.faults().add(FaultRule {
        matcher: Matcher::method("POST").path("events"),
        when: When::Before,
        fault: Fault::NotFound,
        times: 2,
    });
    owner.book(&service, "Cy Dorsey", false).await;
    owner.book(&service, "Di Evans", false).await;
    run_jobs(&app).await;
    owner.open("/dashboard/appointments?from=2026-12-01").await;
    owner.expect_text("Retry all failed (2)").await;
    owner.look("appointments-failed").await;
    owner.look_on_phone("appointments-failed").await;
    owner
        .browser
        .click("form[action=\"/dashboard/appointments/retry-failed\"] button")
        .await;
    owner
        .expect_text("2 appointments were queued to sync again.")
        .await;
    run_jobs(&app).await;
    owner.open("/dashboard/appointments?from=2026-12-01").await;
    assert_eq!(owner.count("td .badge.bad").await, 0, "no failed sync left");
    assert_eq!(owner.count("td .badge.ok").await, 4);
    owner.look("appointments-synced").await;
    assert_eq!(emulator.events(google::TEAM_CALENDAR).len(), 4);

    // Disconnect, after a confirmation that says what it does.
    owner.open("/dashboard/integrations").await;
    owner.browser.click("#google a.danger").await;
    owner.expect_text("keeps the events already written").await;
    owner.look("disconnect-confirm").await;
    owner.browser.click("main form button.danger").await;
    owner.expect_text("Disconnected.").await;
    owner.expect_text("Connect Google Calendar").await;
    owner.look("integrations-disconnected").await;

    // The remaining pages, for the record.
    owner.open("/dashboard/api-keys").await;
    owner.look("api-keys").await;
    owner.open("/dashboard/services").await;
    owner.look("services").await;

    assert!(
        emulator.violations().is_empty(),
        "{:?}",
        emulator.violations()
    );
    owner.assert_accessible();
    owner.report_screenshots();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_owner_connects_outlook_books_and_disconnects_in_a_real_browser() {
    if !browser_available() {
        return;
    }
    let emulator = GraphEmulator::start().await;
    let endpoints = integration_tests::graph_endpoints(&emulator);
    let app = server(
        ProviderKind::MICROSOFT,
        endpoints,
        (microsoft::CLIENT_ID, microsoft::CLIENT_SECRET),
    )
    .await;
    emulator.set_now(app.clock_now());
    let calendar = emulator.calendar_id("Team");
    let mut owner = Owner::start(&app, "outlook").await;
    owner.set_password_and_sign_in().await;
    owner.connect(ProviderKind::MICROSOFT, &calendar).await;
    let service = owner.create_service().await;
    let appointment = owner.book(&service, "Ana Silva", true).await;
    owner.expect_text("Pending").await;
    run_jobs(&app).await;
    owner.browser.open(&appointment).await;
    owner.expect_text("Synced").await;
    owner.look("appointment-synced").await;
    assert_eq!(emulator.events(&calendar).len(), 1);
    let events: Vec<Value> = emulator.events(&calendar);
    assert!(events[0].to_string().contains("Ana Silva"));
    owner
        .open("/dashboard/integrations/microsoft/disconnect")
        .await;
    owner.browser.click("main form button.danger").await;
    owner.expect_text("Connect Outlook Calendar").await;
    owner.look("integrations-disconnected").await;
    assert!(
        emulator.violations().is_empty(),
        "{:?}",
        emulator.violations()
    );
    owner.assert_accessible();
}
