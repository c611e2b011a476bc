//! DynamoDB Local from the `amplify-dynamodb-simulator` package's `emulator/` folder, run with java.

use std::sync::atomic::{AtomicU32, Ordering};

use tokio::sync::OnceCell;

use super::{
    EmulatorError, LoopbackServer, missing_unless_ci, sdk_config, shared_instance, tool_path,
};
use crate::dynamo_store::{DynamoStore, create_table};

pub struct DynamoDbLocal {
    server: LoopbackServer,
}

static SHARED: OnceCell<Option<DynamoDbLocal>> = OnceCell::const_new();
static TABLES: AtomicU32 = AtomicU32::new(0);

impl DynamoDbLocal {
    /// The test binary's DynamoDB Local, started on first use; `None` when it is not installed and not in CI.
    pub async fn shared() -> Result<Option<&'static DynamoDbLocal>, EmulatorError> {
        shared_instance(&SHARED, Self::start).await
    }

    async fn start() -> Result<Option<DynamoDbLocal>, EmulatorError> {
        // `DYNAMODB_LOCAL_DIR`, else where the install script unpacks it.
        let dir = tool_path("DYNAMODB_LOCAL_DIR", "dynamodb-local/package/emulator");
        let jar = dir.join("DynamoDBLocal.jar");
        if !jar.is_file() {
            return missing_unless_ci(format!("DynamoDB Local ({})", jar.display()));
        }
        let library_path = format!(
            "-Djava.library.path={}",
            dir.join("DynamoDBLocal_lib").display()
        );
        let jar = jar.display().to_string();
        let args = [
            library_path.as_str(),
            "-jar",
            jar.as_str(),
            "-inMemory",
            "-sharedDb",
        ];
        let server = LoopbackServer::start("DynamoDB Local", "java", &args, "-port").await?;
        Ok(Some(DynamoDbLocal { server }))
    }

    pub fn endpoint(&self) -> &str {
        self.server.endpoint()
    }

    /// A client for the calling test's runtime.
    pub async fn client(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&sdk_config(self.endpoint()).await)
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
