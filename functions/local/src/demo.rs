//! The demo business a first start creates, so a new user can try the API at once.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use booking_core::app::accounts::{self, NewPasswordLink};
use booking_core::app::{self, App};
use booking_core::domain::BusinessId;
use booking_core::ports::SignInEmail;
use serde::{Deserialize, Serialize};

const DEMO_KEY_FILE: &str = "demo-business.json";

/// The demo business's id and key. Kept in clear in the data directory on purpose: it is a local, throwaway
/// business, and printing it on every start spares a new user from reading old logs. Real businesses' keys are
/// printed once and stored hashed only.
#[derive(Serialize, Deserialize)]
pub struct DemoKey {
    pub business_id: String,
    pub api_key: String,
}

pub async fn ensure_demo_business(app: &App, data_dir: &Path) -> anyhow::Result<DemoKey> {
    let path = data_dir.join(DEMO_KEY_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        return serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()));
    }
    let created = app::create_business(
        app.store.as_ref(),
        app.clock.as_ref(),
        "Demo Salon".into(),
        "America/New_York".into(),
    )
    .await?;
    let demo = DemoKey {
        business_id: created.business.id.to_string(),
        api_key: created.api_key.expose().to_owned(),
    };
    write_private(&path, &serde_json::to_vec_pretty(&demo)?)?;
    tracing::info!(business_id = %created.business.id, "created the demo business");
    Ok(demo)
}

/// The demo business's owner, invited on the first start. Until the owner has set a password, every start prints a
/// fresh single-use link (the older ones stay valid until they expire).
pub async fn ensure_demo_owner(
    app: &App,
    demo: &DemoKey,
    email: &str,
) -> anyhow::Result<Option<NewPasswordLink>> {
    let business_id: BusinessId = demo.business_id.parse()?;
    let email = SignInEmail::try_from(email.to_owned())?;
    match app.store.get_account(&email).await? {
        Some(member) if member.password_hash.is_some() || member.business_id != business_id => {
            Ok(None)
        }
        _ => Ok(Some(
            accounts::invite_owner(app, business_id, email.as_ref()).await?,
        )),
    }
}

fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents)?;
    Ok(())
}
