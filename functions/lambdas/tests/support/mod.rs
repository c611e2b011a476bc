//! A deployment of the functions on loopback: DynamoDB Local for the table, moto for the queues, secrets and SES, and
//! a Lambda Runtime API per function process.

#![allow(dead_code)]

pub mod dashboard;
pub mod mail;
pub mod queue;
pub mod runtime_api;
pub mod seed;
pub mod server;

use std::process::Stdio;
use std::sync::{Arc, Mutex};

use booking_aws::dynamo_store::DynamoStore;
use booking_aws::emulators::sdk_config;
use booking_core::app;
use booking_core::ports::SystemClock;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use runtime_api::RuntimeApi;

pub struct Deployment {
    pub dynamodb_endpoint: String,
    pub moto_endpoint: String,
    pub table: String,
    pub store: DynamoStore,
    pub queue_url: String,
    pub dead_letter_queue_url: String,
    pub business_id: String,
    pub api_key: String,
}

/// `None` (after saying why) when an emulator is not installed and this is not CI.
pub async fn deploy() -> Option<Deployment> {
    let aws = integration_tests::fresh_aws().await?;
    let created = app::create_business(
        &aws.store,
        &SystemClock,
        "Harbour Physio".to_owned(),
        "America/New_York".to_owned(),
    )
    .await
    .unwrap();
    mail::verify_sender(aws.moto.endpoint()).await;
    Some(Deployment {
        dynamodb_endpoint: aws.dynamodb.endpoint().to_owned(),
        moto_endpoint: aws.moto.endpoint().to_owned(),
        table: aws.table,
        store: aws.store,
        queue_url: aws.sync_queue_url,
        dead_letter_queue_url: aws.sync_dead_letter_queue_url,
        business_id: created.business.id.to_string(),
        api_key: created.api_key.expose().to_owned(),
    })
}

/// A 30-minute consultation open every day of the week from `start` to `end` ("HH:MM"), as the services API takes it.
pub fn open_every_day(start: &str, end: &str) -> String {
    json!({
        "name": "Consultation",
        "duration_minutes": 30,
        "weekly_hours": integration_tests::every_day(start, end),
    })
    .to_string()
}

/// Creates a service through the services function, as the business's dashboard would; returns its id.
pub async fn create_service(deployment: &Deployment, service: &str) -> String {
    let services = Function::start(env!("CARGO_BIN_EXE_services-api"), deployment).await;
    let (route, key) = ("ANY /v1/services", Some(deployment.api_key.as_str()));
    let (status, _, body) = services
        .http("POST", route, "/v1/services", key, Some(service))
        .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// One function process, as Lambda runs it: the binary, its environment, a Runtime API to poll.
pub struct Function {
    /// Just before the process was spawned.
    pub spawned_at: std::time::Instant,
    runtime: RuntimeApi,
    process: Child,
    output: Arc<Mutex<Vec<String>>>,
}

impl Function {
    pub async fn start(binary: &str, deployment: &Deployment) -> Function {
        Self::start_with(binary, deployment, &[]).await
    }

    /// Starts the function with `extra` variables added to the deployment's environment.
    pub async fn start_with(
        binary: &str,
        deployment: &Deployment,
        extra: &[(String, String)],
    ) -> Function {
        let runtime = RuntimeApi::start().await;
        let spawned_at = std::time::Instant::now();
        let mut environment = deployment_environment(deployment);
        environment.extend([
            ("AWS_LAMBDA_RUNTIME_API", runtime.address.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", "under-test".to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_owned()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                "/aws/lambda/under-test".to_owned(),
            ),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/11/24/[$LATEST]0123456789abcdef".to_owned(),
            ),
            ("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true".to_owned()),
        ]);
        let extra = extra
            .iter()
            .map(|(name, value)| (name.as_str(), value.clone()));
        let (process, output) = spawn_collecting(binary, &[], environment.into_iter().chain(extra));
        Function {
            spawned_at,
            runtime,
            process,
            output,
        }
    }

    /// How long the process took from spawn to its first `invocation/next` request.
    pub async fn init_duration(&self) -> std::time::Duration {
        self.runtime.first_poll().await - self.spawned_at
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.process.id()
    }

    /// The process's peak resident memory so far (`VmHWM`, in KiB), where the system reports it (Linux).
    pub fn peak_resident_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }

    pub async fn invoke(&self, event: Value) -> Result<Value, Value> {
        self.runtime.invoke(event).await
    }

    /// Invokes the function with an API Gateway request for `method target` (a path and its query) on `route`, with
    /// `api_key` as the Bearer token; answers `(status, headers, body)` as `http_response` reads them.
    pub async fn http(
        &self,
        method: &str,
        route: &str,
        target: &str,
        api_key: Option<&str>,
        body: Option<&str>,
    ) -> (u16, Value, Value) {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let event = http_event(method, route, path, query, api_key, body);
        http_response(&self.invoke(event).await.unwrap())
    }

    /// Every line the function wrote so far, stdout and stderr.
    pub async fn output(&self) -> Vec<String> {
        // Lines travel through a pipe and a reader task; give them a moment.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        self.output.lock().unwrap().clone()
    }
}

/// What every process of the deployment is started with, and nothing else (plus `PATH`): credentials and
/// endpoints for the emulators, the resource names, logs at `info`.
pub fn deployment_environment(deployment: &Deployment) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        (
            "AWS_ENDPOINT_URL_DYNAMODB",
            deployment.dynamodb_endpoint.clone(),
        ),
        ("AWS_ENDPOINT_URL_SQS", deployment.moto_endpoint.clone()),
        (
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            deployment.moto_endpoint.clone(),
        ),
        ("AWS_ENDPOINT_URL_SESV2", deployment.moto_endpoint.clone()),
        // The template gives it to the sync worker only; the other functions ignore it.
        ("MAIL_FROM", mail::MAIL_FROM.to_owned()),
        ("TABLE_NAME", deployment.table.clone()),
        ("SYNC_QUEUE_URL", deployment.queue_url.clone()),
        (
            "SYNC_DEAD_LETTER_QUEUE_URL",
            deployment.dead_letter_queue_url.clone(),
        ),
        ("SECRET_PREFIX", "booking/calendar".to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ]
}

/// Spawns `binary` with `arguments` and only `environment` (and `PATH`), killed when dropped, collecting every line
/// it writes to stdout and stderr.
pub fn spawn_collecting<'a>(
    binary: &str,
    arguments: &[&str],
    environment: impl IntoIterator<Item = (&'a str, String)>,
) -> (Child, Arc<Mutex<Vec<String>>>) {
    let mut process = Command::new(binary)
        .args(arguments)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(environment)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let output = Arc::new(Mutex::new(Vec::new()));
    for stream in [
        Box::new(process.stdout.take().unwrap()) as Box<dyn tokio::io::AsyncRead + Unpin + Send>,
        Box::new(process.stderr.take().unwrap()),
    ] {
        let output = output.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                output.lock().unwrap().push(line);
            }
        });
    }
    (process, output)
}

/// An API Gateway HTTP API (payload 2.0) request event, as AWS sends it, for `method path?query`.
pub fn http_event(
    method: &str,
    route: &str,
    path: &str,
    query: &str,
    api_key: Option<&str>,
    body: Option<&str>,
) -> Value {
    let mut event: Value =
        serde_json::from_str(include_str!("../events/apigw-v2-http-request.json")).unwrap();
    event["routeKey"] = json!(route);
    event["requestContext"]["routeKey"] = json!(route);
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["path"] = json!(path);
    event["requestContext"]["http"]["method"] = json!(method);
    event["rawQueryString"] = json!(query);
    if !query.is_empty() {
        let parameters: serde_json::Map<String, Value> = query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .map(|(name, value)| (name.to_owned(), json!(value)))
            .collect();
        event["queryStringParameters"] = Value::Object(parameters);
    }
    if let Some(proxy) = route
        .contains("{proxy+}")
        .then(|| path.splitn(4, '/').nth(3))
        .flatten()
    {
        event["pathParameters"] = json!({ "proxy": proxy });
    }
    if let Some(key) = api_key {
        event["headers"]["authorization"] = json!(format!("Bearer {key}"));
    }
    if let Some(body) = body {
        event["headers"]["content-type"] = json!("application/json");
        event["headers"]["content-length"] = json!(body.len().to_string());
        event["body"] = json!(body);
    }
    event
}

/// An MCP request (stateless Streamable HTTP, as a voice platform sends it) inside an HTTP API event.
pub fn mcp_event(deployment: &Deployment, id: u64, method: &str, params: Value) -> Value {
    let mut params = params;
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": { "name": "lambda-test", "version": "1.0" },
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let body =
        json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }).to_string();
    let mut event = http_event(
        "POST",
        "ANY /mcp",
        "/mcp",
        "",
        Some(&deployment.api_key),
        Some(&body),
    );
    event["headers"]["accept"] = json!("application/json, text/event-stream");
    event["headers"]["mcp-protocol-version"] = json!("2026-07-28");
    event["headers"]["mcp-method"] = json!(method);
    if let Some(name) = params.get("name") {
        event["headers"]["mcp-name"] = name.clone();
    }
    event
}

/// The status and JSON body of an HTTP API response event.
pub fn http_response(response: &Value) -> (u16, Value, Value) {
    let status = response["statusCode"].as_u64().unwrap() as u16;
    let body = response["body"].as_str().unwrap_or("");
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap()
    };
    (status, response["headers"].clone(), body)
}

/// An SQS event whose records carry `bodies`, each with a message id of its own.
pub fn sqs_event(bodies: &[String]) -> (Value, Vec<String>) {
    let template: Value = serde_json::from_str(include_str!("../events/sqs-event.json")).unwrap();
    let mut ids = Vec::new();
    let records: Vec<Value> = bodies
        .iter()
        .map(|body| {
            let mut record = template["Records"][0].clone();
            let id = uuid::Uuid::new_v4().to_string();
            record["messageId"] = json!(id);
            record["body"] = json!(body);
            ids.push(id);
            record
        })
        .collect();
    (json!({ "Records": records }), ids)
}

pub async fn sqs_client(deployment: &Deployment) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&sdk_config(&deployment.moto_endpoint).await)
}

pub async fn dynamodb_client(deployment: &Deployment) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config(&deployment.dynamodb_endpoint).await)
}
