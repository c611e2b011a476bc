//! What the operator's two command-line programs share (`booking-admin` on a deployed stack or a data folder, and
//! `local-server`'s own `create-business`): the same arguments for creating a business, logs on stderr so that
//! stdout carries only the JSON answers, and how one answer is printed.

use std::io::{IsTerminal, Write};

use tracing_subscriber::EnvFilter;

use crate::app::{App, AppError, operator};

/// `create-business`: the same arguments in every program that offers it.
#[derive(Debug, clap::Args)]
pub struct CreateBusinessArgs {
    #[arg(long)]
    pub name: String,
    /// IANA time zone, e.g. Europe/Berlin.
    #[arg(long)]
    pub time_zone: String,
    /// The owner, who gets a single-use link to set a password for the dashboard.
    #[arg(long)]
    pub owner_email: Option<String>,
}

impl CreateBusinessArgs {
    /// Creates the business the arguments describe; the answer is what the command prints: its id, its API key
    /// (shown this once) and the owner's set-password link under `public_base_url`.
    pub async fn create(
        self,
        app: &App,
        public_base_url: &str,
    ) -> Result<serde_json::Value, AppError> {
        let created = operator::create_business_with_owner(
            app,
            self.name,
            self.time_zone,
            self.owner_email.as_deref(),
        )
        .await?;
        Ok(created.to_json(public_base_url))
    }
}

/// Logs to stderr at the level `RUST_LOG` names (info when unset), in colour only for a person at a terminal: in a
/// log file colour codes are noise around every field.
pub fn log_to_stderr() {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

/// Prints one answer as a line of JSON on stdout.
pub fn print_json(value: &serde_json::Value) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    serde_json::to_writer(&mut stdout, value)?;
    writeln!(stdout)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::CreateBusinessArgs;

    /// A program offering `create-business`'s arguments, as `booking-admin` and `local-server` do.
    #[derive(Parser)]
    struct Program {
        #[command(flatten)]
        create: CreateBusinessArgs,
    }

    #[test]
    fn create_business_takes_a_name_a_zone_and_an_optional_owner() {
        let with_owner = Program::try_parse_from([
            "program",
            "--name",
            "Downtown Dental",
            "--time-zone",
            "Europe/Berlin",
            "--owner-email",
            "owner@dental.test",
        ])
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(with_owner.create.name, "Downtown Dental");
        assert_eq!(with_owner.create.time_zone, "Europe/Berlin");
        assert_eq!(
            with_owner.create.owner_email.as_deref(),
            Some("owner@dental.test")
        );
        let without_zone = Program::try_parse_from(["program", "--name", "Downtown Dental"]);
        assert!(without_zone.is_err(), "a business needs its time zone");
    }
}
