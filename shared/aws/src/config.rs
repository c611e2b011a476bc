//! What a Lambda instance reads from its environment, once: booking-core's [`Settings`] and, on top, the names of
//! its AWS resources and who may sign up and who mail comes from; and the adapters it builds from them.

use std::sync::Arc;
use std::time::Duration;

use booking_core::adapters::Sender;
use booking_core::app::{App, Integrations};
use booking_core::dashboard::SignUpPolicy;
use booking_core::domain::ValidationError;
use booking_core::ports::{ProviderSetup, Store, StoreView, SystemClock};
use booking_core::providers::{self, ProviderConfigError};
use booking_core::settings::{MissingSetting, Settings, optional, process_environment, required};

use crate::dynamo_store::DynamoStore;
use crate::secrets_manager_store::SecretsManagerSecretStore;
use crate::ses_mailer::SesMailer;
use crate::sqs_job_queue::SqsJobQueue;

/// Tokens are read on every sync; a short cache saves a Secrets Manager call per job without keeping a rotated
/// token around for long.
const SECRET_CACHE_TTL: Duration = Duration::from_secs(60);

/// Why a function cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Missing(#[from] MissingSetting),
    #[error(transparent)]
    Providers(#[from] ProviderConfigError),
    #[error(transparent)]
    Invalid(#[from] ValidationError),
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

impl AwsSettings {
    /// The resource names `lookup` gives (see [`Settings::from_lookup`]); each one is required.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, MissingSetting> {
        Ok(Self {
            table_name: required(&lookup, "TABLE_NAME")?,
            sync_queue_url: required(&lookup, "SYNC_QUEUE_URL")?,
            sync_dead_letter_queue_url: required(&lookup, "SYNC_DEAD_LETTER_QUEUE_URL")?,
            secret_prefix: required(&lookup, "SECRET_PREFIX")?,
        })
    }
}

/// Sign-up and the email it sends, as a deployed stack has them.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// `MAIL_FROM`: the SES-verified identity mail is sent from. Only the sync worker sends (every other function
    /// only queues), so only it must have one.
    pub from: Option<Sender>,
    /// `SIGNUP`: open or closed. Unlike the local server, a deployed stack is reachable by anyone, so it takes
    /// sign-ups only when its operator asks for them.
    pub sign_up: SignUpPolicy,
}

impl MailSettings {
    /// The mail settings `lookup` gives; a value set but malformed is an error rather than a silent default.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ValidationError> {
        Ok(Self {
            from: optional(&lookup, "MAIL_FROM")
                .map(|from| from.parse())
                .transpose()?,
            sign_up: optional(&lookup, "SIGNUP")
                .map(|policy| policy.parse())
                .transpose()?
                .unwrap_or(SignUpPolicy::Closed),
        })
    }
}

/// The adapters of one process, built once and shared by every invocation.
#[derive(Clone)]
pub struct AwsAdapters {
    pub store: Arc<DynamoStore>,
    pub queue: Arc<SqsJobQueue>,
    pub secrets: Arc<SecretsManagerSecretStore>,
    /// The calendar providers configured in [`Self::settings`].
    pub providers: Vec<ProviderSetup>,
    /// What the process read from its environment besides its AWS resources.
    pub settings: Settings,
    /// SES sending from `MAIL_FROM`, when it is set; the app sends queued email with it.
    pub mailer: Option<Arc<SesMailer>>,
    /// `SIGNUP`, for the dashboard.
    pub sign_up: SignUpPolicy,
}

impl AwsAdapters {
    /// The adapters of the settings in this process's environment, read once here.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let aws = AwsSettings::from_lookup(process_environment)?;
        let settings = Settings::from_env();
        let mail = MailSettings::from_lookup(process_environment)?;
        let providers = settings.provider_setups()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self {
            providers,
            settings,
            mailer: mail
                .from
                .map(|from| Arc::new(SesMailer::new(aws_sdk_sesv2::Client::new(&sdk), from))),
            sign_up: mail.sign_up,
            ..Self::new(&sdk, &aws)
        })
    }

    /// The mailer, for a function that sends the queued email: without one every message would go round the queue
    /// until it is dropped as a dead letter, so such a function refuses to start instead.
    pub fn require_mailer(&self) -> Result<&Arc<SesMailer>, MissingSetting> {
        self.mailer.as_ref().ok_or(MissingSetting("MAIL_FROM"))
    }

    /// The adapters without calendar providers, public URL, state key or mailer, and with sign-up closed.
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
            settings: Settings::default(),
            mailer: None,
            sign_up: SignUpPolicy::Closed,
        }
    }

    /// The app with the configured calendar providers, holding the function's view `V` of the store (so a
    /// function's type names the roles its IAM policy allows); browsers come back to `PUBLIC_BASE_URL`.
    /// `OAUTH_STATE_KEY` must be shared by every instance that starts or finishes a connection; functions that do
    /// neither get a throwaway key.
    pub fn app<V: ?Sized>(&self) -> App<V>
    where
        dyn Store: StoreView<V>,
    {
        let app = App::new(
            self.store.clone(),
            self.queue.clone(),
            Arc::new(SystemClock),
        )
        .with_registry(providers::registry())
        .with_integrations(
            Integrations::new(
                self.secrets.clone(),
                self.settings.state_key_or_random(),
                self.settings.public_base_url.clone().unwrap_or_default(),
            )
            .with_providers(self.providers.iter().cloned()),
        );
        match &self.mailer {
            Some(mailer) => app.with_mailer(mailer.clone()),
            None => app,
        }
        .view()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_resource_name_is_required_and_the_first_missing_one_is_named() {
        let environment = |name: &str| match name {
            "TABLE_NAME" => Some("bookings".to_owned()),
            "SYNC_QUEUE_URL" => Some("http://queue".to_owned()),
            "SYNC_DEAD_LETTER_QUEUE_URL" => Some(String::new()),
            _ => None,
        };
        let missing = AwsSettings::from_lookup(environment).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "environment variable SYNC_DEAD_LETTER_QUEUE_URL is not set"
        );
        let complete = AwsSettings::from_lookup(|name: &str| match name {
            "SECRET_PREFIX" => Some("booking/calendar".to_owned()),
            other => environment(other)
                .filter(|value| !value.is_empty())
                .or(Some("x".to_owned())),
        })
        .unwrap();
        assert_eq!(complete.table_name, "bookings");
        assert_eq!(complete.secret_prefix, "booking/calendar");
    }

    #[test]
    fn a_deployed_stack_sends_no_mail_and_takes_no_sign_ups_unless_told_to() {
        let unset = MailSettings::from_lookup(|_: &str| Some(String::new())).unwrap();
        assert!(unset.from.is_none());
        assert_eq!(unset.sign_up, SignUpPolicy::Closed);

        let set = MailSettings::from_lookup(|name: &str| match name {
            "MAIL_FROM" => Some("Bookings <no-reply@clinic.test>".to_owned()),
            "SIGNUP" => Some("open".to_owned()),
            _ => None,
        })
        .unwrap();
        assert_eq!(set.from.unwrap().address(), "no-reply@clinic.test");
        assert_eq!(set.sign_up, SignUpPolicy::Open);

        for (name, value) in [("MAIL_FROM", "not an address"), ("SIGNUP", "maybe")] {
            let invalid =
                MailSettings::from_lookup(|asked: &str| (asked == name).then(|| value.to_owned()))
                    .unwrap_err();
            assert_eq!(invalid.field, name);
        }
    }
}
