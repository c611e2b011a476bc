//! Test support: a real server on a free loopback port over a fresh embedded store, with a clock the test controls.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Once};

use booking_core::adapters::{EmbeddedStore, InProcessQueue};
use booking_core::app::{self, App};
use booking_core::dashboard::DashboardSettings;
use booking_core::domain::{ConnectionId, StaffId};
use booking_core::local::{self, LocalAdapters};
use booking_core::ports::{
    CalendarConnection, Clock, ConnectionHealth, JobQueue, ManualClock, ProviderKind,
    QueueSettings, Store,
};
use booking_core::providers::ProviderEndpoints;
use booking_core::settings::Settings;
use jiff::Timestamp;
use reqwest::{Client, Response};
use serde_json::{Value, json};
use tempfile::TempDir;

#[path = "../emulators/mod.rs"]
pub mod emulators;
pub mod worker;

static TRACING: Once = Once::new();

/// Logs only when `TEST_LOG` is set, so a failing test can be rerun with the server's view.
fn init_tracing() {
    TRACING.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            tracing_subscriber::fmt()
                .with_env_filter("info")
                .with_test_writer()
                .init();
        }
    });
}

/// Monday 2026-11-30 08:00 in New York: the default "now" of every test.
pub const DEFAULT_NOW: &str = "2026-11-30T08:00:00-05:00";
pub const ZONE: &str = "America/New_York";

pub struct TestApp {
    pub address: SocketAddr,
    pub client: Client,
    pub api_key: String,
    pub business_id: String,
    pub clock: ManualClock,
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn JobQueue>,
    pub app: App,
    _data: TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|app, _, _| app).await
}

/// A test server whose business offers the default weekday service (see `weekday_service`), with that service's id.
pub async fn spawn_app_with_service() -> (TestApp, String) {
    spawn_app_with_custom_service(json!({})).await
}

/// A test server whose business offers the default weekday service with `settings` in place of its defaults (fields
/// as the REST API takes them), with that service's id.
pub async fn spawn_app_with_custom_service(settings: Value) -> (TestApp, String) {
    let app = spawn_app().await;
    let service = app.create_service(settings).await;
    (app, service)
}

/// A test server whose app `configure` completes, given the app, the server's base URL and its data directory (e.g. to add
/// calendar integrations, whose OAuth redirect URI is that URL).
pub async fn spawn_app_with(
    configure: impl FnOnce(App, String, &std::path::Path) -> App,
) -> TestApp {
    let data = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(EmbeddedStore::open(&data.path().join("store.redb")).unwrap());
    let queue = Arc::new(InProcessQueue::new(QueueSettings::default()));
    spawn_app_on(store, queue, data, configure).await
}

/// A test server on the local adapters whose calendar integration has one provider, at `endpoints` (an emulator),
/// its tokens kept in the scratch directory: configured as the local server configures it from its environment.
pub async fn spawn_app_with_provider(
    kind: booking_core::ports::ProviderKind,
    endpoints: booking_core::providers::ProviderEndpoints,
    client_id: &'static str,
    client_secret: &'static str,
) -> TestApp {
    use booking_core::providers::ProviderCredentials;
    use booking_core::settings::ProviderSettings;
    use secrecy::SecretString;
    let data = tempfile::tempdir().unwrap();
    let settings = Settings {
        providers: vec![ProviderSettings {
            kind,
            credentials: ProviderCredentials {
                client_id: client_id.to_owned(),
                client_secret: SecretString::from(client_secret.to_owned()),
            },
            endpoints,
        }],
        public_base_url: None,
        oauth_state_key: Some(SecretString::from("test state key".to_owned())),
    };
    let store = Arc::new(EmbeddedStore::open(&data.path().join("store.redb")).unwrap());
    let secrets = Arc::new(
        booking_core::adapters::FileSecretStore::open(&data.path().join("secrets")).unwrap(),
    );
    let queue = Arc::new(InProcessQueue::new(QueueSettings::default()));
    spawn_built_app(settings, store, queue, Some(secrets), data, |app, _, _| app).await
}

/// Where our Google Calendar client finds the Google emulator.
pub fn google_endpoints(google: &emulators::google::GoogleEmulator) -> ProviderEndpoints {
    let revoke_url = Some(google.revoke_url());
    let (api_base, authorize_url) = (google.api_base(), google.authorize_url());
    ProviderEndpoints {
        api_base,
        authorize_url,
        token_url: google.token_url(),
        revoke_url,
    }
}

/// Where our Microsoft Graph client finds the Graph emulator (Microsoft offers applications no revocation).
pub fn graph_endpoints(graph: &emulators::microsoft::GraphEmulator) -> ProviderEndpoints {
    ProviderEndpoints {
        api_base: graph.api_base(),
        authorize_url: graph.authorize_url(),
        token_url: graph.token_url(),
        revoke_url: None,
    }
}

/// A test server over the given store and queue (e.g. DynamoDB Local and moto's SQS); `data` is its scratch
/// directory, kept as long as the server.
pub async fn spawn_app_on(
    store: Arc<dyn Store>,
    queue: Arc<dyn JobQueue>,
    data: TempDir,
    configure: impl FnOnce(App, String, &std::path::Path) -> App,
) -> TestApp {
    // Settings of an empty environment and no token store: calendar integration is what `configure` adds, with
    // its emulators.
    spawn_built_app(Settings::default(), store, queue, None, data, configure).await
}

/// A test server assembled as the local server assembles itself, from `settings` over the given adapters, its app
/// then completed by `configure`.
async fn spawn_built_app(
    settings: Settings,
    store: Arc<dyn Store>,
    queue: Arc<dyn JobQueue>,
    secrets: Option<Arc<dyn booking_core::ports::SecretStore>>,
    data: TempDir,
    configure: impl FnOnce(App, String, &std::path::Path) -> App,
) -> TestApp {
    init_tracing();
    let clock = ManualClock::new(DEFAULT_NOW.parse::<Timestamp>().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let base_url = local::public_base_url(&settings, address);
    let adapters = LocalAdapters {
        store: store.clone(),
        queue: queue.clone(),
        clock: Arc::new(clock.clone()) as Arc<dyn Clock>,
        secrets,
    };
    let app = local::build_app(&settings, adapters, &base_url).unwrap();
    let created = app::create_business(store.as_ref(), &clock, "Test Clinic".into(), ZONE.into())
        .await
        .unwrap();
    let app = configure(app, base_url.clone(), data.path());
    let router = local::router(app.clone(), DashboardSettings::new(&base_url));
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    TestApp {
        address,
        client: Client::new(),
        api_key: created.api_key.expose().to_owned(),
        business_id: created.business.id.to_string(),
        clock,
        store,
        queue,
        app,
        _data: data,
    }
}

impl TestApp {
    pub fn clock_now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// A second business on the same server, with its own key.
    pub async fn other_business_key(&self) -> String {
        let created = app::create_business(
            self.store.as_ref(),
            &self.clock,
            "Other".into(),
            "Europe/Berlin".into(),
        )
        .await
        .unwrap();
        created.api_key.expose().to_owned()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.get_as(&self.api_key, path).await
    }

    pub async fn get_as(&self, key: &str, path: &str) -> Response {
        self.send_as(key, reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.post_as(&self.api_key, path, body).await
    }

    pub async fn post_as(&self, key: &str, path: &str, body: &Value) -> Response {
        self.send_as(key, reqwest::Method::POST, path, Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Response {
        self.patch_as(&self.api_key, path, body).await
    }

    pub async fn patch_as(&self, key: &str, path: &str, body: &Value) -> Response {
        self.send_as(key, reqwest::Method::PATCH, path, Some(body))
            .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.send_as(&self.api_key, reqwest::Method::PUT, path, Some(body))
            .await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.delete_as(&self.api_key, path).await
    }

    pub async fn delete_as(&self, key: &str, path: &str) -> Response {
        self.send_as(key, reqwest::Method::DELETE, path, None).await
    }

    /// A request with `key` as its Bearer token and, when given, `body` as JSON.
    pub async fn send_as(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Response {
        let request = self.client.request(method, self.url(path)).bearer_auth(key);
        let request = match body {
            Some(body) => request.json(body),
            None => request,
        };
        request.send().await.unwrap()
    }

    /// A POST as the business carrying an `Idempotency-Key`, as an agent platform retries a tool call.
    pub async fn post_idempotent(
        &self,
        idempotency_key: &str,
        path: &str,
        body: Value,
    ) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.api_key)
            .header("Idempotency-Key", idempotency_key)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// A request as the business, to complete before sending.
    pub fn request(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        self.anonymous(method, path).bearer_auth(&self.api_key)
    }

    /// A request without a key, to complete before sending.
    pub fn anonymous(&self, method: &str, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method.parse().unwrap(), self.url(path))
    }

    /// A request as the business whose body is sent as it is, under `content_type`.
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.request(method, path)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// The JSON body of a GET, whatever its status (the caller checks what it expects).
    pub async fn get_json(&self, path: &str) -> Value {
        self.get(path).await.json().await.unwrap()
    }

    pub async fn get_json_as(&self, key: &str, path: &str) -> Value {
        self.get_as(key, path).await.json().await.unwrap()
    }

    /// The JSON body of a POST, whatever its status.
    pub async fn post_json(&self, path: &str, body: &Value) -> Value {
        self.post(path, body).await.json().await.unwrap()
    }

    /// The JSON body of a PATCH, whatever its status.
    pub async fn patch_json(&self, path: &str, body: &Value) -> Value {
        self.patch(path, body).await.json().await.unwrap()
    }

    /// How many appointments the business's list shows.
    pub async fn appointment_count(&self) -> usize {
        self.get_json("/v1/appointments").await["items"]
            .as_array()
            .unwrap()
            .len()
    }

    /// A healthy connection of this business's calendar, connected now, as a test stores it.
    pub fn calendar_connection(
        &self,
        provider: ProviderKind,
        account: &str,
        calendar_id: &str,
    ) -> CalendarConnection {
        CalendarConnection {
            id: ConnectionId::of_first_connection(self.business_id.parse().unwrap()),
            business_id: self.business_id.parse().unwrap(),
            staff_id: StaffId::first_of(self.business_id.parse().unwrap()),
            checked_calendars: Vec::new(),
            provider,
            account: account.to_owned(),
            calendar_id: Some(calendar_id.to_owned()),
            connected_at: self.clock_now(),
            health: ConnectionHealth::Connected,
            last_synced_at: None,
        }
    }

    /// Stores a calendar connection directly, as if the business had connected it: its changes are then pending
    /// and queued.
    pub async fn store_calendar_connection(&self, connection: CalendarConnection) {
        self.store
            .put_calendar_connection(&connection)
            .await
            .unwrap();
    }

    /// Creates a service (Mon–Fri 09:00–17:00 unless `overrides` say otherwise) and returns its id.
    pub async fn create_service(&self, overrides: Value) -> String {
        let mut body = weekday_service();
        if let (Some(body), Some(extra)) = (body.as_object_mut(), overrides.as_object()) {
            for (key, value) in extra {
                body.insert(key.clone(), value.clone());
            }
        }
        let response = self.post("/v1/services", &body).await;
        assert_eq!(
            response.status(),
            201,
            "service creation failed: {}",
            response.text().await.unwrap()
        );
        response.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Connects a calendar the way a business does: our connect URL, the provider's consent page (granted at once
    /// by the emulator), its redirect to our callback. Returns the callback's answer.
    pub async fn connect_calendar(&self, provider: &str) -> Value {
        let response = self
            .get(&format!("/v1/integrations/{provider}/connect"))
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        self.follow_consent(body["authorization_url"].as_str().unwrap())
            .await
    }

    /// Follows an authorization URL as a browser does: the provider's consent page (granted at once by the
    /// emulator), its redirect to our callback. Returns the callback's answer.
    pub async fn follow_consent(&self, authorization_url: &str) -> Value {
        let browser = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let consent = browser.get(authorization_url).send().await.unwrap();
        assert_eq!(consent.status(), 302, "{}", consent.text().await.unwrap());
        let callback = consent.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            callback.starts_with(&self.url("/v1/integrations/")),
            "{callback}"
        );
        let landed = browser.get(&callback).send().await.unwrap();
        let status = landed.status();
        let body: Value = landed.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn select_calendar(&self, provider: &str, calendar_id: &str) -> Value {
        let response = self
            .put(
                &format!("/v1/integrations/{provider}/calendar"),
                &json!({ "calendar_id": calendar_id }),
            )
            .await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn book(&self, service_id: &str, start: &str) -> Response {
        self.post("/v1/appointments", &booking(service_id, start))
            .await
    }

    /// Books `start` and returns the appointment, failing unless it was booked.
    pub async fn booked(&self, service_id: &str, start: &str) -> Value {
        let response = self.book(service_id, start).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 201, "booking {start} failed: {body}");
        body
    }
}

pub fn weekday_service() -> Value {
    let day = json!([{ "start": "09:00", "end": "17:00" }]);
    json!({
        "name": "Consultation",
        "duration_minutes": 30,
        "weekly_hours": {
            "monday": day, "tuesday": day, "wednesday": day, "thursday": day, "friday": day
        }
    })
}

/// Weekly hours open every day of the week from `start` to `end` ("HH:MM"), as the services API takes them.
pub fn every_day(start: &str, end: &str) -> Value {
    let day = json!([{ "start": start, "end": end }]);
    json!({
        "monday": day, "tuesday": day, "wednesday": day, "thursday": day, "friday": day,
        "saturday": day, "sunday": day
    })
}

pub fn booking(service_id: &str, start: &str) -> Value {
    json!({
        "service_id": service_id,
        "start": start,
        "customer": { "name": "Ana Silva", "phone": "+14155550123", "email": "ana@example.com" },
        "notes": "first visit",
        "source": "ai"
    })
}

/// Sends a request whose answer is JSON and reads it, whatever the status.
pub async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// The path of an appointment the API returned.
pub fn appointment_path(appointment: &Value) -> String {
    format!("/v1/appointments/{}", appointment["id"].as_str().unwrap())
}

/// The statuses of responses to requests sent at once.
pub async fn statuses_of<F: std::future::Future<Output = Response>>(
    requests: impl IntoIterator<Item = F>,
) -> Vec<u16> {
    futures::future::join_all(requests)
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect()
}

/// Checks how many of `statuses` are each of the `expected` statuses, e.g. one 201 and the rest 409.
pub fn assert_status_counts(statuses: &[u16], expected: &[(u16, usize)]) {
    for (status, count) in expected {
        assert_eq!(
            statuses.iter().filter(|seen| *seen == status).count(),
            *count,
            "{count} times {status} in {statuses:?}"
        );
    }
}

/// Reads a problem response, checking its media type and its `code`.
pub async fn assert_problem(response: Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/problem+json"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "unexpected problem: {body}");
    assert_eq!(body["status"], status);
    assert!(body["type"].as_str().unwrap().ends_with(code));
    body
}

/// Reads a `validation_failed` problem, checking it names `field`.
pub async fn assert_invalid_field(response: Response, field: &str) -> Value {
    let problem = assert_problem(response, 422, "validation_failed").await;
    assert_eq!(problem["field"], field, "{problem}");
    problem
}

/// The `field` of every item of a JSON list, e.g. the starts of the slots.
pub fn strings_at(items: &Value, field: &str) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap().to_owned())
        .collect()
}

/// A fresh table on DynamoDB Local and fresh sync queues on moto's SQS, the emulators of the AWS services.
pub struct FreshAws {
    pub dynamodb: &'static booking_aws::emulators::dynamodb_local::DynamoDbLocal,
    pub moto: &'static booking_aws::emulators::moto::Moto,
    pub store: booking_aws::dynamo_store::DynamoStore,
    pub table: String,
    pub sync_queue_url: String,
    pub sync_dead_letter_queue_url: String,
}

/// `None` (after saying why) when DynamoDB Local or moto is not installed and this is not CI.
pub async fn fresh_aws() -> Option<FreshAws> {
    use booking_aws::emulators::dynamodb_local::DynamoDbLocal;
    use booking_aws::emulators::moto::Moto;

    let (dynamodb, moto) = match (DynamoDbLocal::shared().await, Moto::shared().await) {
        (Ok(Some(dynamodb)), Ok(Some(moto))) => (dynamodb, moto),
        (Err(error), _) | (_, Err(error)) => panic!("{error}"),
        _ => {
            eprintln!(
                "skipped: DynamoDB Local or moto is not installed (scripts/install-test-tools.sh)"
            );
            return None;
        }
    };
    let (store, table) = dynamodb.fresh_store().await.unwrap();
    let (sync_queue_url, sync_dead_letter_queue_url) = moto
        .create_sync_queues(QueueSettings::default())
        .await
        .unwrap();
    Some(FreshAws {
        dynamodb,
        moto,
        store,
        table,
        sync_queue_url,
        sync_dead_letter_queue_url,
    })
}

/// A test server over DynamoDB Local (a fresh table) and moto's SQS, the AWS adapters the Lambda functions use;
/// `None` (after saying why) when the emulators are not installed and this is not CI.
pub async fn spawn_app_on_aws() -> Option<TestApp> {
    use booking_aws::config::{AwsAdapters, AwsSettings};
    use booking_aws::emulators::sdk_config;

    let aws = fresh_aws().await?;
    let settings = AwsSettings {
        table_name: aws.table,
        sync_queue_url: aws.sync_queue_url,
        sync_dead_letter_queue_url: aws.sync_dead_letter_queue_url,
        secret_prefix: "booking/calendar".to_owned(),
    };
    let queue = AwsAdapters::new(&sdk_config(aws.moto.endpoint()).await, &settings).queue;
    Some(
        spawn_app_on(
            Arc::new(aws.store),
            queue,
            tempfile::tempdir().unwrap(),
            |app, _, _| app,
        )
        .await,
    )
}

/// An MCP client of the server's `/mcp`, as an agent platform runs one: rmcp's Streamable HTTP client with the
/// business's key, at the newest protocol version (2026-07-28, no `initialize`).
pub async fn mcp_client(
    base_url: &str,
    api_key: &str,
) -> rmcp::service::RunningService<rmcp::RoleClient, rmcp::model::ClientConfig> {
    use rmcp::model::{ClientConfig, ProtocolVersion};
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    use rmcp::{ClientLifecycleMode, ClientServiceExt};

    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(format!("{base_url}/mcp"))
            .auth_header(api_key.to_owned()),
    );
    ClientConfig::default()
        .serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::LATEST],
            },
        )
        .await
        .unwrap()
}
