//! `booking-admin`: the operator's commands over whole businesses. By default it works on a deployed stack through
//! the same adapters and environment as the Lambda functions (`TABLE_NAME`, `SYNC_QUEUE_URL`,
//! `SYNC_DEAD_LETTER_QUEUE_URL`, `SECRET_PREFIX`, the calendar providers' settings, `PUBLIC_BASE_URL`, the region
//! and `AWS_ENDPOINT_URL*` overrides); with `--data-dir` on the local server's embedded store instead (while the
//! server is stopped: the store file has one process at a time). Every answer is JSON on stdout; logs go to stderr.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use booking_aws::config::AwsAdapters;
use booking_core::adapters::{EmbeddedStore, FileSecretStore, InProcessQueue};
use booking_core::app::{App, operator};
use booking_core::cli::{CreateBusinessArgs, log_to_stderr, print_json};
use booking_core::domain::{Business, BusinessId};
use booking_core::local::{self, LocalAdapters};
use booking_core::ports::{QueueSettings, SystemClock};
use booking_core::settings::Settings;
use clap::{Parser, Subcommand};

/// Where the local server's links point unless `PUBLIC_BASE_URL` says otherwise: its default address.
const LOCAL_BASE_URL: &str = "http://127.0.0.1:3000";

#[derive(Parser)]
#[command(about = "Create, list, disable, enable, export and delete businesses")]
struct Cli {
    /// Work on the embedded store in this folder (the local server's `--data-dir`) instead of the AWS stack the
    /// environment names.
    #[arg(long, global = true, env = "DATA_DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates a business; prints its id, its API key (shown this once) and the owner's set-password link.
    CreateBusiness(CreateBusinessArgs),
    /// Prints every business, one JSON object a line.
    ListBusinesses,
    /// Prints a new single-use set-password link for the business's owner (a forgotten password, a lost invitation).
    OwnerLink { business_id: BusinessId },
    /// Refuses the business's API keys and sign-ins and stops following its calendar.
    Disable { business_id: BusinessId },
    /// Undoes `disable`: keys and sign-ins work again and the calendar is followed again.
    Enable { business_id: BusinessId },
    /// Prints every record of the business as one JSON document.
    Export { business_id: BusinessId },
    /// Deletes the business and every record of it, its calendar tokens and busy time; safe to run again.
    Delete { business_id: BusinessId },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    log_to_stderr();
    let (app, public_base_url) = match &cli.data_dir {
        Some(data_dir) => {
            let settings = Settings::from_env();
            let public_base_url = settings
                .public_base_url
                .clone()
                .unwrap_or_else(|| LOCAL_BASE_URL.to_owned());
            (
                local_app(&settings, data_dir, &public_base_url)?,
                public_base_url,
            )
        }
        None => {
            let adapters = AwsAdapters::from_env()
                .await
                .context("reading the stack's settings from the environment")?;
            let public_base_url = adapters
                .settings
                .require_public_base_url()
                .context("the links would point nowhere")?
                .to_owned();
            (adapters.app(), public_base_url)
        }
    };
    // Machine-readable output on stdout, one JSON value a line, so scripts can read it without parsing logs.
    for answer in run(&app, cli.command, &public_base_url).await? {
        print_json(&answer)?;
    }
    Ok(())
}

/// The local server's adapters over its data folder, assembled as the local server assembles them.
fn local_app(settings: &Settings, data_dir: &Path, public_base_url: &str) -> anyhow::Result<App> {
    let store = EmbeddedStore::open(&data_dir.join("store.redb"))
        .context("opening the store (is the local server running on it?)")?;
    let secrets =
        FileSecretStore::open(&data_dir.join("secrets")).context("opening the secret store")?;
    let adapters = LocalAdapters {
        store: Arc::new(store),
        queue: Arc::new(InProcessQueue::new(QueueSettings::default())),
        clock: Arc::new(SystemClock),
        secrets: Some(Arc::new(secrets)),
    };
    local::build_app(settings, adapters, public_base_url).context("configuring calendar providers")
}

/// What the command answers, one JSON value for each line it prints.
async fn run(
    app: &App,
    command: Command,
    public_base_url: &str,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let answer = match command {
        Command::CreateBusiness(args) => args.create(app, public_base_url).await?,
        Command::ListBusinesses => {
            let businesses = operator::list_businesses(app).await?;
            return Ok(businesses.iter().map(summary).collect());
        }
        Command::OwnerLink { business_id } => {
            let link = operator::owner_link(app, business_id).await?;
            serde_json::json!({
                "business_id": business_id,
                "owner_email": link.email.as_ref(),
                "set_password_url": link.url(public_base_url),
                "expires_at": link.expires_at,
            })
        }
        Command::Disable { business_id } => {
            summary(&operator::disable_business(app, business_id).await?)
        }
        Command::Enable { business_id } => {
            summary(&operator::enable_business(app, business_id).await?)
        }
        Command::Export { business_id } => {
            serde_json::to_value(operator::export_business(app, business_id).await?)?
        }
        Command::Delete { business_id } => {
            serde_json::to_value(operator::delete_business(app, business_id).await?)?
        }
    };
    Ok(vec![answer])
}

fn summary(business: &Business) -> serde_json::Value {
    serde_json::json!({
        "business_id": business.id,
        "name": business.name.as_ref(),
        "time_zone": business.time_zone.name(),
        "created_at": business.created_at,
        "disabled_at": business.disabled_at,
    })
}
