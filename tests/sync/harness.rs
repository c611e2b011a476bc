//! A server with calendar integrations pointed at a provider emulator, connected through the real OAuth flow, and a
//! worker loop that runs queued sync jobs the way the SQS consumer does (minus the waiting: a job to retry is made
//! visible again at once, so a test runs every attempt without sleeping through backoffs).

use std::sync::Arc;
use std::time::Duration;

use booking_aws::emulators::dynamodb_local::DynamoDbLocal;
use booking_aws::emulators::moto::Moto;
use booking_aws::emulators::sdk_config;
use booking_aws::secrets_manager_store::SecretsManagerSecretStore;
use booking_aws::sqs_job_queue::SqsJobQueue;
use booking_core::adapters::{EmbeddedStore, FileSecretStore, InProcessQueue};
use booking_core::app::{self, App, Integrations, SyncOutcome};
use booking_core::ports::{Job, ProviderKind, QueueSettings, SecretStore};
use booking_core::providers::{ProviderEndpoints, provider_setup};
use integration_tests::emulators::faults::Faults;
use integration_tests::{TestApp, spawn_app_on};
use jiff::Timestamp;
use jiff::civil::Date;
use secrecy::SecretString;
use serde_json::{Value, json};

/// Where the product's state lives in a test: the local adapters, or DynamoDB Local with moto's SQS and Secrets
/// Manager (the AWS adapters).
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Local,
    Aws,
}

impl Backend {
    /// Whether DynamoDB Local and moto can run; without them (and not in CI) AWS scenarios are skipped, in CI they fail.
    pub async fn aws_available() -> bool {
        match (DynamoDbLocal::shared().await, Moto::shared().await) {
            (Ok(Some(_)), Ok(Some(_))) => true,
            (Err(error), _) => panic!("{error}"),
            (_, Err(error)) => panic!("{error}"),
            _ => {
                eprintln!(
                    "skipped: DynamoDB Local or moto is not installed (scripts/install-test-tools.sh)"
                );
                false
            }
        }
    }
}

/// What the tests need from a provider emulator.
pub trait Emulated: Send + Sync + Sized + 'static {
    const KIND: ProviderKind;
    fn start() -> impl Future<Output = Self> + Send;
    fn endpoints(&self) -> ProviderEndpoints;
    fn credentials(&self) -> (&'static str, &'static str);
    fn faults(&self) -> &Faults;
    /// The calendar the business chooses to sync with.
    fn sync_calendar(&self) -> String;
    /// Live events of a calendar, in the provider's own JSON.
    fn raw_events(&self, calendar_id: &str) -> Vec<Value>;
    fn parse(&self, raw: &Value) -> SyncedEvent;
    fn violations(&self) -> Vec<String>;
    fn token_refresh_count(&self) -> usize;
    /// Revocation requests received (Microsoft offers none to applications: always 0).
    fn revocation_count(&self) -> usize;
    fn revoke_grants(&self);
    fn expire_access_tokens(&self);

    /// Aligns the emulator's clock with the app's, so the expiries it grants and checks agree with ours.
    fn set_now(&self, now: Timestamp);
    /// The business puts a timed event in its calendar (in New York time); returns its id.
    fn add_timed(&self, calendar_id: &str, start: Timestamp, end: Timestamp, kind: Kind) -> String;
    /// An all-day event from `first` to `end` (exclusive), marked busy or free.
    fn add_all_day(&self, calendar_id: &str, first: Date, end: Date, busy: bool) -> String;
    /// A daily series of `count` events at New York wall times; returns the instances' ids in order.
    fn add_daily_series(
        &self,
        calendar_id: &str,
        start: Timestamp,
        end: Timestamp,
        count: u32,
    ) -> Vec<String>;
    fn move_event(&self, calendar_id: &str, event_id: &str, start: Timestamp, end: Timestamp);
    fn delete_event(&self, calendar_id: &str, event_id: &str);
    /// Push notifications delivered: (channel or subscription, state or change, status our server answered).
    fn notifications(&self) -> Vec<(String, String, u16)>;
    fn drop_notifications(&self, count: usize);
    /// The provider forgets every sync cursor (Google's 410 for a sync token, Graph's for a delta link).
    fn invalidate_cursors(&self);
    /// Live push channels (Google) or subscriptions (Graph), in the provider's JSON.
    fn channels(&self) -> Vec<Value>;
    /// Requests for the calendar's changes (`events.list`, `calendarView/delta`), pages included.
    fn change_listings(&self) -> usize;
}

/// How an event the business made itself is marked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Busy,
    Tentative,
    Free,
    Declined,
}

/// An event as the business sees it in its calendar, whichever provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncedEvent {
    pub appointment_id: String,
    pub title: String,
    pub description: String,
    pub start: Timestamp,
    pub end: Timestamp,
    pub time_zone: String,
}

pub struct SyncHarness<E: Emulated> {
    pub app: TestApp,
    pub emulator: Arc<E>,
    pub service_id: String,
}

impl<E: Emulated> SyncHarness<E> {
    /// A business with one service, its calendar connected and chosen.
    pub async fn connected(backend: Backend) -> Self {
        let harness = Self::unconnected(backend).await;
        let connected = harness.connect().await;
        assert_eq!(
            connected["account"].as_str().map(str::is_empty),
            Some(false)
        );
        harness.select_calendar().await;
        // The calendar's first busy-time sync, so each test starts from a calendar being watched.
        harness.run_jobs().await;
        harness
    }

    pub async fn unconnected(backend: Backend) -> Self {
        let emulator = Arc::new(E::start().await);
        let for_app = emulator.clone();
        let configure = move |secrets: Arc<dyn SecretStore>| {
            move |app: App, base_url: String, _: &std::path::Path| {
                let (client_id, client_secret) = for_app.credentials();
                let integrations = Integrations::new(
                    secrets,
                    SecretString::from("test state key".to_owned()),
                    base_url,
                )
                .with_provider(
                    provider_setup(
                        E::KIND,
                        client_id.to_owned(),
                        SecretString::from(client_secret.to_owned()),
                        &for_app.endpoints(),
                        Duration::from_millis(500),
                    )
                    .unwrap(),
                );
                app.with_integrations(integrations)
            }
        };
        let app = match backend {
            Backend::Local => {
                let data = tempfile::tempdir().unwrap();
                let secrets =
                    Arc::new(FileSecretStore::open(&data.path().join("secrets")).unwrap());
                let store = Arc::new(EmbeddedStore::open(&data.path().join("store.redb")).unwrap());
                let queue = Arc::new(InProcessQueue::new(QueueSettings::default()));
                spawn_app_on(store, queue, data, configure(secrets)).await
            }
            Backend::Aws => {
                let dynamodb = DynamoDbLocal::shared().await.unwrap().unwrap();
                let moto = Moto::shared().await.unwrap().unwrap();
                let (store, _) = dynamodb.fresh_store().await.unwrap();
                let (queue_url, dead_letter_url) = moto
                    .create_sync_queues(QueueSettings::default())
                    .await
                    .unwrap();
                let sdk = sdk_config(moto.endpoint()).await;
                let queue =
                    SqsJobQueue::new(aws_sdk_sqs::Client::new(&sdk), queue_url, dead_letter_url);
                let secrets = SecretsManagerSecretStore::new(
                    aws_sdk_secretsmanager::Client::new(&sdk),
                    format!("{}/", Moto::unique_name("calendar")),
                    Duration::from_secs(60),
                );
                spawn_app_on(
                    Arc::new(store),
                    Arc::new(queue),
                    tempfile::tempdir().unwrap(),
                    configure(Arc::new(secrets)),
                )
                .await
            }
        };
        emulator.set_now(app.clock_now());
        let service_id = app.create_service(json!({})).await;
        Self {
            app,
            emulator,
            service_id,
        }
    }

    pub async fn connect(&self) -> Value {
        self.app.connect_calendar(&E::KIND.to_string()).await
    }

    pub async fn select_calendar(&self) -> Value {
        self.app
            .select_calendar(&E::KIND.to_string(), &self.emulator.sync_calendar())
            .await
    }

    /// Books at a New York wall time on the default test day and returns the appointment's id.
    pub async fn book(&self, start: &str) -> String {
        let response = self.app.book(&self.service_id, start).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    pub async fn appointment(&self, id: &str) -> Value {
        self.app
            .get(&format!("/v1/appointments/{id}"))
            .await
            .json()
            .await
            .unwrap()
    }

    /// Runs sync jobs until none is left, dead letters included. Returns how many deliveries ran.
    pub async fn run_jobs(&self) -> usize {
        run_jobs(&self.app).await
    }

    pub fn events(&self) -> Vec<SyncedEvent> {
        let calendar = self.emulator.sync_calendar();
        let mut events: Vec<_> = self
            .emulator
            .raw_events(&calendar)
            .iter()
            .map(|raw| self.emulator.parse(raw))
            .collect();
        events.sort_by(|a, b| a.appointment_id.cmp(&b.appointment_id));
        events
    }

    /// Waits until the emulator has delivered at least `count` notifications, each answered.
    pub async fn await_notifications(&self, count: usize) {
        for _ in 0..500 {
            let delivered = self.emulator.notifications();
            if delivered.len() >= count && delivered.iter().all(|(_, _, status)| *status != 0) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "expected {count} notifications, got {:?}",
            self.emulator.notifications()
        );
    }

    /// Makes a change in the calendar and lets its notification run the sync it triggers.
    pub async fn change_and_sync(&self, change: impl FnOnce(&E)) {
        let before = self.emulator.notifications().len();
        change(&self.emulator);
        self.await_notifications(before + 1).await;
        self.run_jobs().await;
    }

    /// The business's calendar connection as `GET /v1/integrations` shows it.
    pub async fn connection(&self) -> Value {
        let integrations: Value = self.app.get("/v1/integrations").await.json().await.unwrap();
        integrations["connections"][0].clone()
    }

    /// Disconnects the calendar through the API; returns the status.
    pub async fn disconnect(&self) -> u16 {
        self.app
            .client
            .delete(self.app.url(&format!("/v1/integrations/{}", E::KIND)))
            .bearer_auth(&self.app.api_key)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// The busy time the store holds for the business within `[from, to)`, sorted.
    pub async fn cached_busy(&self, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        let business = self.app.business_id.parse().unwrap();
        let range = booking_core::domain::Interval::new(from, to).unwrap();
        let mut cached: Vec<_> = self
            .app
            .store
            .busy_intervals_overlapping(business, range)
            .await
            .unwrap()
            .iter()
            .map(|interval| (interval.start(), interval.end()))
            .collect();
        cached.sort();
        cached
    }

    /// Start times offered for the test service on `date` (New York), as `HH:MM`.
    pub async fn free_times(&self, date: &str) -> Vec<String> {
        let body: Value = self
            .app
            .get(&format!(
                "/v1/availability?service_id={}&from={date}&to={date}",
                self.service_id
            ))
            .await
            .json()
            .await
            .unwrap();
        body["slots"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|slot| slot["start"].as_str().unwrap()[11..16].to_owned())
            .collect()
    }

    pub fn assert_no_violations(&self) {
        let violations = self.emulator.violations();
        assert!(violations.is_empty(), "spec violations: {violations:#?}");
    }
}

/// Runs every queued sync job (and dead letter) until the queue is empty. Returns how many deliveries ran.
pub async fn run_jobs(app: &TestApp) -> usize {
    let mut deliveries = 0;
    loop {
        let ran = run_some_jobs(app, 10).await;
        if ran == 0 {
            return deliveries;
        }
        deliveries += ran;
    }
}

/// One round of the worker: up to `max` visible jobs (at most 10) and the dead letters. A job to retry is made
/// visible again at once; the attempt still counts, so the queue dead-letters it as SQS would.
pub async fn run_some_jobs(app: &TestApp, max: usize) -> usize {
    let received = app
        .queue
        .receive(max.min(10), Duration::ZERO)
        .await
        .unwrap();
    let dead = app
        .queue
        .receive_dead_letters(10, Duration::ZERO)
        .await
        .unwrap();
    let ran = received.len() + dead.len();
    let runs = received.into_iter().map(|received| async move {
        match app::run_sync_job(&app.app, &received.job, received.attempt).await {
            Ok(SyncOutcome::Done) => app.queue.ack(&received.receipt).await.unwrap(),
            Ok(SyncOutcome::RetryAfter(_)) | Err(_) => app
                .queue
                .retry_later(&received.receipt, Duration::ZERO)
                .await
                .unwrap(),
        }
    });
    futures::future::join_all(runs).await;
    for letter in dead {
        app::give_up_sync(&app.app, &letter.job).await.unwrap();
        app.queue.ack_dead_letter(&letter.receipt).await.unwrap();
    }
    ran
}

/// Delivers a job for the appointment's current version once more, as SQS may.
pub async fn redeliver(app: &TestApp, appointment: &Value) {
    let job = Job::SyncAppointment {
        business_id: app.business_id.parse().unwrap(),
        appointment_id: appointment["id"].as_str().unwrap().parse().unwrap(),
        version: appointment["version"].as_u64().unwrap(),
    };
    app.queue.enqueue(&job, Duration::ZERO).await.unwrap();
}
