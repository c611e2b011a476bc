//! The whole product in one process on the embedded store: every router, the in-process queue, local secrets.

mod background;
mod demo;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use booking_core::adapters::{
    EmbeddedStore, FileSecretStore, InProcessQueue, OutboxMailer, SmtpMailer,
};
use booking_core::app::{self, App};
use booking_core::cli::{CreateBusinessArgs, log_to_stderr, print_json};
use booking_core::dashboard::{DashboardSettings, SignUpPolicy};
use booking_core::local::{self, LocalAdapters};
use booking_core::ports::{Mailer, QueueSettings, SystemClock};
use booking_core::settings::Settings;
use clap::{Parser, Subcommand};

// Serving availability allocates many small strings; glibc's allocator spent a fifth of the CPU on them under load.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Booking and calendar-sync API on a local embedded store")]
struct Cli {
    /// Where the data lives; created if missing.
    #[arg(long, global = true, env = "DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on.
    #[arg(long, env = "LISTEN", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Who signs in to the demo business's dashboard (created on the first start).
    #[arg(long, env = "OWNER_EMAIL", default_value = "owner@demo.test")]
    owner_email: String,
    /// Whether anyone may sign a business up at /dashboard/sign-up: open or closed.
    #[arg(long, env = "SIGNUP", default_value = "open")]
    signup: SignUpPolicy,
    /// Sends email by SMTP (smtp://user:password@host:587?tls=required); without it, each message is written to
    /// DATA_DIR/outbox as an .eml file whose path is printed.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    smtp_url: Option<secrecy::SecretString>,
    /// Who emails come from.
    #[arg(
        long,
        env = "MAIL_FROM",
        default_value = "Bookings <no-reply@bookings.localhost>"
    )]
    mail_from: booking_core::adapters::Sender,
}

#[derive(Subcommand)]
enum Command {
    /// Creates a business and prints its id and new API key as one JSON object.
    CreateBusiness(CreateBusinessArgs),
}

/// Threads of tokio's blocking pool, where the embedded store writes (and password hashes run). redb takes one write
/// transaction at a time, so more threads only wait, and each keeps its own allocator heap: with tokio's default
/// (up to 512) a calendar sync writing 3,000 busy events 16 at a time grew the pool to 16 threads and the process
/// from 38 to 89 MiB resident; with 4 it peaked at 61 MiB, with 2 at 56 MiB (`local-server-memory`, README
/// "Performance").
const BLOCKING_THREADS: usize = 2;

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
        .context("starting the async runtime")?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    log_to_stderr();
    std::fs::create_dir_all(&cli.data_dir)
        .with_context(|| format!("creating {}", cli.data_dir.display()))?;
    let settings = Settings::from_env();
    let public_base_url = local::public_base_url(&settings, cli.listen);
    let adapters = LocalAdapters {
        store: Arc::new(
            EmbeddedStore::open(&cli.data_dir.join("store.redb")).context("opening the store")?,
        ),
        queue: Arc::new(InProcessQueue::new(QueueSettings::default())),
        clock: Arc::new(SystemClock),
        secrets: Some(Arc::new(
            FileSecretStore::open(&cli.data_dir.join("secrets"))
                .context("opening the secret store")?,
        )),
    };
    let app = local::build_app(&settings, adapters, &public_base_url)
        .context("configuring calendar providers")?
        .with_mailer(mailer(&cli)?);
    match cli.command {
        Some(Command::CreateBusiness(args)) => {
            // The same command as `booking-admin create-business`.
            Ok(print_json(&args.create(&app, &public_base_url).await?)?)
        }
        None => {
            serve(
                app,
                &cli.data_dir,
                cli.listen,
                DashboardSettings::new(&public_base_url).with_sign_up(cli.signup),
                &cli.owner_email,
            )
            .await
        }
    }
}

/// SMTP when `SMTP_URL` is set; else the outbox folder, each message's path printed on stdout as it is written
/// (the path only: the message's links stay in the file).
fn mailer(cli: &Cli) -> anyhow::Result<Arc<dyn Mailer>> {
    if let Some(url) = &cli.smtp_url {
        return Ok(Arc::new(SmtpMailer::new(url, cli.mail_from.clone())?));
    }
    let announce = |path: &std::path::Path| {
        let printed = serde_json::json!({ "email_written": path.display().to_string() });
        if let Err(error) = print_json(&printed) {
            tracing::warn!(%error, "the path of an email written to the outbox was not printed");
        }
    };
    Ok(Arc::new(OutboxMailer::new(
        cli.data_dir.join("outbox"),
        cli.mail_from.clone(),
        Box::new(announce),
    )))
}

async fn serve(
    app: App,
    data_dir: &std::path::Path,
    listen: SocketAddr,
    dashboard: DashboardSettings,
    owner_email: &str,
) -> anyhow::Result<()> {
    let public_base_url = dashboard.links.page("");
    let public_base_url = public_base_url.as_str();
    let demo_key = demo::ensure_demo_business(&app, data_dir).await?;
    let owner_link = demo::ensure_demo_owner(&app, &demo_key, owner_email).await?;
    // Appointments stored before the phone index existed become findable by phone; a no-op once done.
    let indexed = app::index_existing_phone_numbers(&app).await?;
    if indexed > 0 {
        tracing::info!(
            indexed,
            "indexed the phone numbers of existing appointments"
        );
    }
    background::spawn(&app);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let address = listener.local_addr()?;
    tracing::info!(url = %format!("http://{address}"), "listening");
    let mut printed = serde_json::json!({
        "url": format!("http://{address}"),
        "openapi": format!("http://{address}/openapi.json"),
        "dashboard": format!("{public_base_url}/dashboard"),
        "demo_business_id": demo_key.business_id,
        "demo_api_key": demo_key.api_key,
        "owner_email": owner_email,
    });
    if let Some(link) = owner_link {
        printed["set_password_url"] = link.url(public_base_url).into();
    }
    print_json(&printed)?;
    let router = local::router(app, dashboard);
    // The peer address throttles failed dashboard sign-ins per address.
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    Ok(())
}

async fn shutdown_signal() {
    if let Err(error) = tokio::signal::ctrl_c().await {
        tracing::warn!(%error, "cannot listen for Ctrl-C; stop the process another way");
        std::future::pending::<()>().await;
    }
}
