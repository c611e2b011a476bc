//! What a Lambda instance reads from its environment, once, and the adapters it builds from it.

use std::sync::Arc;
use std::time::Duration;

use booking_core::app::{App, Integrations, random_state_key};
use booking_core::ports::{ProviderSetup, SystemClock};
use booking_core::providers::{self, ProviderConfigError};

use crate::dynamo_store::DynamoStore;
use crate::secrets_manager_store::SecretsManagerSecretStore;
use crate::sqs_job_queue::SqsJobQueue;

/// Tokens are read on every sync; a short cache saves a Secrets Manager call per job without keeping a rotated
/// token around for long.
const SECRET_CACHE_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
#[error("environment variable {0} is not set")]
pub struct MissingSetting(&'static str);

/// Why a function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Missing(#[from] MissingSetting),
    #[error(transparent)]
    Providers(#[from] ProviderConfigError),
}

/// Names of the resources the SAM template creates. Endpoints are not here: the SDK reads `AWS_ENDPOINT_URL` (and
/// per-service overrides) itself, which is how tests point functions at DynamoDB Local and moto.
#[derive(Clone, Debug)]
pub struct AwsSettings {
    pub table_name: String,
    pub sync_queue_url: String,
    pub sync_dead_letter_queue_url: String,
    /// Secrets are named `<prefix>/<name>`; the IAM policies grant exactly that prefix.
    pub secret_prefix: String,
}

pub fn required(name: &'static str) -> Result<String, MissingSetting> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .ok_or(MissingSetting(name))
}

impl AwsSettings {
    pub fn from_env() -> Result<Self, MissingSetting> {
        Ok(Self {
            table_name: required("TABLE_NAME")?,
            sync_queue_url: required("SYNC_QUEUE_URL")?,
            sync_dead_letter_queue_url: required("SYNC_DEAD_LETTER_QUEUE_URL")?,
            secret_prefix: required("SECRET_PREFIX")?,
        })
    }
}

/// The adapters of one process, built once and shared by every invocation.
#[derive(Clone)]
pub struct AwsAdapters {
    pub store: Arc<DynamoStore>,
    pub queue: Arc<SqsJobQueue>,
    pub secrets: Arc<SecretsManagerSecretStore>,
    /// The calendar providers configured in the environment (see [`providers::from_env`]).
    pub providers: Vec<ProviderSetup>,
}

impl AwsAdapters {
    pub async fn from_env() -> Result<Self, ConfigError> {
        let settings = AwsSettings::from_env()?;
        let providers = providers::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self {
            providers,
            ..Self::new(&sdk, &settings)
        })
    }

    /// The adapters without calendar providers.
    pub fn new(sdk: &aws_config::SdkConfig, settings: &AwsSettings) -> Self {
        Self {
            store: Arc::new(DynamoStore::new(
                aws_sdk_dynamodb::Client::new(sdk),
                settings.table_name.clone(),
            )),
            queue: Arc::new(SqsJobQueue::new(
                aws_sdk_sqs::Client::new(sdk),
                settings.sync_queue_url.clone(),
                settings.sync_dead_letter_queue_url.clone(),
            )),
            secrets: Arc::new(SecretsManagerSecretStore::new(
                aws_sdk_secretsmanager::Client::new(sdk),
                format!("{}/", settings.secret_prefix.trim_end_matches('/')),
                SECRET_CACHE_TTL,
            )),
            providers: Vec::new(),
        }
    }

    /// The app with the configured calendar providers; browsers come back to `PUBLIC_BASE_URL`.
    /// `OAUTH_STATE_KEY` must be shared by every instance that starts or finishes a connection; functions that do
    /// neither get a throwaway key.
    pub fn app(&self) -> App {
        let state_key = std::env::var("OAUTH_STATE_KEY")
            .ok()
            .filter(|key| !key.is_empty())
            .map_or_else(random_state_key, secrecy::SecretString::from);
        App::new(
            self.store.clone(),
            self.queue.clone(),
            Arc::new(SystemClock),
        )
        .with_registry(providers::registry())
        .with_integrations(
            Integrations::new(
                self.secrets.clone(),
                state_key,
                std::env::var("PUBLIC_BASE_URL").unwrap_or_default(),
            )
            .with_providers(self.providers.iter().cloned()),
        )
    }
}
