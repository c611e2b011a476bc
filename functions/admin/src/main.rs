//! `booking-admin`: the operator's commands over whole businesses. By default it works on a deployed stack through
//! the same adapters and environment as the Lambda functions (`TABLE_NAME`, `SYNC_QUEUE_URL`,
//! `SYNC_DEAD_LETTER_QUEUE_URL`, `SECRET_PREFIX`, the calendar providers' settings, `PUBLIC_BASE_URL`, the region
//! and `AWS_ENDPOINT_URL*` overrides); with `--data-dir` on the local server's embedded store instead (while the
//! server is stopped: the store file has one process at a time). Every answer is JSON on stdout; logs go to stderr.
//!
//! `create-business --send` emails the owner's link instead of printing it: through SES from `MAIL_FROM` on AWS,
//! and locally as the local server does, by SMTP when `SMTP_URL` is set, else into the data folder's outbox.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use booking_aws::config::AwsAdapters;
use booking_core::adapters::{
    EmbeddedStore, FileSecretStore, InProcessQueue, OutboxMailer, Sender, SmtpMailer,
};
use booking_core::app::emails::Links;
use booking_core::app::{App, operator};
use booking_core::cli::{CreateBusinessArgs, log_to_stderr, print_json};
use booking_core::domain::{Business, BusinessId};
use booking_core::local::{self, LocalAdapters};
use booking_core::ports::{Mailer, QueueSettings, SystemClock};
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
    /// With `--data-dir`: sends email by SMTP (smtp://user:password@host:587?tls=required); without it, each
    /// message is written to DATA_DIR/outbox as an .eml file whose path is printed.
    #[arg(long, global = true, env = "SMTP_URL", hide_env_values = true)]
    smtp_url: Option<secrecy::SecretString>,
    /// With `--data-dir`: who emails come from (on AWS, `MAIL_FROM` is the SES identity).
    #[arg(
        long,
        global = true,
        env = "MAIL_FROM",
        default_value = "Bookings <no-reply@bookings.localhost>"
    )]
    mail_from: Sender,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates a business; prints its id, its API key (shown this once) and the owner's set-password link, or with
    /// `--send` emails the link to the owner and prints only that it was sent.
    CreateBusiness {
        #[command(flatten)]
        business: CreateBusinessArgs,
        /// Email the owner their link instead of printing it.
        #[arg(long, requires = "owner_email")]
        send: bool,
    },
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
            let mailer = local_mailer(&cli, data_dir)?;
            (
                local_app(&settings, data_dir, &public_base_url)?.with_mailer(mailer),
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

/// The local server's mailer for a data folder: SMTP when `SMTP_URL` is set; else the outbox folder, each message's
/// path printed on stdout (the path only: the link stays in the file).
fn local_mailer(cli: &Cli, data_dir: &Path) -> anyhow::Result<Arc<dyn Mailer>> {
    if let Some(url) = &cli.smtp_url {
        return Ok(Arc::new(SmtpMailer::new(url, cli.mail_from.clone())?));
    }
    let announce = |path: &Path| {
        let printed = serde_json::json!({ "email_written": path.display().to_string() });
        if let Err(error) = print_json(&printed) {
            tracing::warn!(%error, "the path of an email written to the outbox was not printed");
        }
    };
    Ok(Arc::new(OutboxMailer::new(
        data_dir.join("outbox"),
        cli.mail_from.clone(),
        Box::new(announce),
    )))
}

/// `create-business --send`: the id and the API key are printed at once (the key is shown only here, so a failed
/// send must not lose it), then the owner's link is emailed; the link itself is never printed.
async fn create_and_send_owner_link(
    app: &App,
    business: CreateBusinessArgs,
    public_base_url: &str,
) -> anyhow::Result<Vec<serde_json::Value>> {
    if app.mailer.is_none() {
        anyhow::bail!("--send needs a mailer: set MAIL_FROM to the stack's SES identity");
    }
    let created = operator::create_business_with_owner(
        app,
        business.name,
        business.time_zone,
        business.owner_email.as_deref(),
    )
    .await?;
    let mut printed = created.to_json(public_base_url);
    if let Some(fields) = printed.as_object_mut() {
        fields.remove("set_password_url");
    }
    print_json(&printed)?;
    let Some(link) = &created.owner_link else {
        anyhow::bail!("the business exists but has no owner to send a link to");
    };
    operator::email_owner_link(
        app,
        &created.credentials.business,
        link,
        &Links::new(public_base_url),
    )
    .await
    .context("the business exists; send its owner a link with `owner-link`")?;
    Ok(vec![
        serde_json::json!({ "owner_link_sent_to": link.email.as_ref() }),
    ])
}

/// What the command answers, one JSON value for each line it prints.
async fn run(
    app: &App,
    command: Command,
    public_base_url: &str,
) -> anyhow::Result<Vec<serde_json::Value>> {
    let answer = match command {
        Command::CreateBusiness {
            business,
            send: true,
        } => return create_and_send_owner_link(app, business, public_base_url).await,
        Command::CreateBusiness {
            business,
            send: false,
        } => business.create(app, public_base_url).await?,
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
