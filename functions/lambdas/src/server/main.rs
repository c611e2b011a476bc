//! The booking-server: every router of the local server on one port, over the adapters the Lambda functions use
//! (DynamoDB, SQS, Secrets Manager) and configured from the same environment, with the functions' background work in
//! the same process (see `background`). For teams that deploy containers or VMs rather than Lambda functions, and
//! for clients and load tests that should meet the production adapters (on DynamoDB Local and moto).
//!
//! On SIGTERM (or Ctrl-C) it stops taking requests and messages, lets what is in flight finish for at most
//! [`SHUTDOWN_GRACE`], and exits.

mod background;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use booking_aws::config::{AwsAdapters, AwsSettings};
use booking_aws::dynamo_store::create_table;
use booking_aws::sqs_job_queue::SqsJobQueue;
use booking_core::app::App;
use booking_core::dashboard::DashboardSettings;
use booking_core::domain::BusinessId;
use booking_core::local;
use booking_core::settings::{optional, process_environment};
use clap::Parser;
use tokio::sync::watch;

/// In-flight requests and jobs get this long after SIGTERM; ECS and Kubernetes kill after 30 s by default.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

type Error = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(
    about = "Booking and calendar-sync API as one long-running process on DynamoDB, SQS and Secrets Manager"
)]
struct Cli {
    /// Address to listen on.
    #[arg(long, env = "LISTEN", default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// Creates the table if it does not exist yet. For DynamoDB Local only: on AWS the SAM template owns the table,
    /// so this refuses to run unless `AWS_ENDPOINT_URL_DYNAMODB` (or `AWS_ENDPOINT_URL`) points elsewhere.
    #[arg(long)]
    create_table: bool,
    /// Seconds between runs of the scheduled work (the scheduler function's `rate(5 minutes)`); one instance runs
    /// each tick.
    #[arg(long, env = "SCHEDULE_EVERY_SECONDS", default_value_t = 300)]
    schedule_every_seconds: u64,
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let cli = Cli::parse();
    booking_aws::lambda::init_tracing();
    if cli.create_table {
        create_table_on_dynamodb_local().await?;
    }
    let adapters = AwsAdapters::from_env().await?;
    // As for the dashboard and integrations functions: every instance verifies the OAuth states the others signed,
    // and forms are accepted only from the public origin.
    adapters.settings.require_state_key()?;
    let dashboard = DashboardSettings::new(adapters.settings.require_public_base_url()?)
        .with_sign_up(adapters.sign_up);
    let app: App = adapters.app();
    let (stop, stopping) = watch::channel(false);
    let background = background::spawn(
        &app,
        adapters.queue.clone(),
        Duration::from_secs(cli.schedule_every_seconds.max(1)),
        &stopping,
    );
    // The local server's one router, so both processes serve exactly the same routes.
    let router = local::router(app.clone(), dashboard).merge(health_router(app, adapters.queue));
    let listener = tokio::net::TcpListener::bind(cli.listen).await?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    // The peer address throttles failed dashboard sign-ins per address.
    let mut serving = tokio::spawn(
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(background::stopped(stopping))
        .into_future(),
    );
    tokio::select! {
        () = terminated() => {}
        // Serving ended without being asked to: the process has nothing left to do but say why.
        served = &mut serving => return Ok(served??),
    }
    tracing::info!("stopping: no new requests or messages; finishing what is in flight");
    // Nobody may be listening any more, which changes nothing about stopping.
    let _ = stop.send(true);
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
    let finished = tokio::time::timeout_at(deadline, async {
        let served = serving.await;
        background.join_all().await;
        served
    })
    .await;
    match finished {
        Ok(served) => served??,
        Err(_) => tracing::warn!(
            grace_seconds = SHUTDOWN_GRACE.as_secs(),
            "work still in flight at the end of the grace period was abandoned"
        ),
    }
    Ok(())
}

/// Creates the table unless it exists, refusing when the SDK would talk to AWS itself.
async fn create_table_on_dynamodb_local() -> Result<(), Error> {
    let local = ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"]
        .into_iter()
        .any(|name| optional(&process_environment, name).is_some());
    if !local {
        return Err("--create-table is for DynamoDB Local: set AWS_ENDPOINT_URL_DYNAMODB; on AWS the SAM template creates the table".into());
    }
    let table = AwsSettings::from_lookup(process_environment)?.table_name;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    if client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .is_ok()
    {
        return Ok(());
    }
    create_table(&client, &table).await?;
    tracing::info!(%table, "created the table");
    Ok(())
}

/// `GET /healthz`: 200 when the store and both queues answer, 503 (saying which failed) when not.
fn health_router(app: App, queue: std::sync::Arc<SqsJobQueue>) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .with_state((app, queue))
}

async fn health(
    State((app, queue)): State<(App, std::sync::Arc<SqsJobQueue>)>,
) -> (StatusCode, axum::Json<serde_json::Value>) {
    // Reading a business nobody has is one cheap key lookup.
    let store = app
        .store
        .get_business(BusinessId::generate())
        .await
        .map(drop);
    let queue = queue.check().await;
    let healthy = store.is_ok() && queue.is_ok();
    if let Err(error) = &store {
        tracing::warn!(%error, "health check: the store does not answer");
    }
    if let Err(error) = &queue {
        tracing::warn!(%error, "health check: the queue does not answer");
    }
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({ "store": store.is_ok(), "queue": queue.is_ok() });
    (status, axum::Json(body))
}

/// Resolves at SIGTERM (what ECS, Kubernetes and systemd send) or Ctrl-C.
async fn terminated() {
    let interrupted = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; stop with Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupted => {}
        () = term => {}
    }
}
