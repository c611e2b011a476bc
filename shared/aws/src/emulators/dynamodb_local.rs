//! DynamoDB Local from the `amplify-dynamodb-simulator` package's `emulator/` folder, run with java.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use std::process::Child;
use tokio::sync::OnceCell;

use super::{
    EmulatorError, free_port, missing_unless_ci, sdk_config, spawn_tied_to_this_process, tools_dir,
    wait_for_port,
};
use crate::dynamo_store::{DynamoStore, create_table};

/// Holds the endpoint, not a client: an SDK client keeps connections on the runtime that made them, and every
/// test has its own runtime.
pub struct DynamoDbLocal {
    endpoint: String,
    _process: Child,
}

static SHARED: OnceCell<Option<DynamoDbLocal>> = OnceCell::const_new();
static TABLES: AtomicU32 = AtomicU32::new(0);

/// The emulator's folder: `DYNAMODB_LOCAL_DIR`, else where the install script unpacks it.
fn emulator_dir() -> PathBuf {
    std::env::var_os("DYNAMODB_LOCAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| tools_dir().join("dynamodb-local/package/emulator"))
}

impl DynamoDbLocal {
    /// The test binary's DynamoDB Local, started on first use; `None` when it is not installed and not in CI.
    pub async fn shared() -> Result<Option<&'static DynamoDbLocal>, EmulatorError> {
        SHARED
            .get_or_try_init(Self::start)
            .await
            .map(Option::as_ref)
    }

    async fn start() -> Result<Option<DynamoDbLocal>, EmulatorError> {
        let dir = emulator_dir();
        let jar = dir.join("DynamoDBLocal.jar");
        if !jar.is_file() {
            return missing_unless_ci(format!("DynamoDB Local ({})", jar.display()));
        }
        let port = free_port()?;
        let process = spawn_tied_to_this_process(
            "DynamoDB Local",
            "java",
            &[
                format!(
                    "-Djava.library.path={}",
                    dir.join("DynamoDBLocal_lib").display()
                ),
                "-jar".to_owned(),
                jar.display().to_string(),
                "-inMemory".to_owned(),
                "-sharedDb".to_owned(),
                "-port".to_owned(),
                port.to_string(),
            ],
        )?;
        wait_for_port("DynamoDB Local", port).await?;
        Ok(Some(DynamoDbLocal {
            endpoint: format!("http://127.0.0.1:{port}"),
            _process: process,
        }))
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A client for the calling test's runtime.
    pub async fn client(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&sdk_config(&self.endpoint).await)
    }

    /// A store on a new, empty table of its own.
    pub async fn fresh_store(&self) -> Result<(DynamoStore, String), EmulatorError> {
        let table = format!(
            "bookings-{}-{}",
            std::process::id(),
            TABLES.fetch_add(1, Ordering::Relaxed)
        );
        let client = self.client().await;
        create_table(&client, &table)
            .await
            .map_err(|error| EmulatorError::DidNotStart {
                what: "DynamoDB table",
                detail: format!("{error:?}"),
            })?;
        Ok((DynamoStore::new(client, table.clone()), table))
    }
}
