//! moto's server, for SQS (with a real redrive to a dead-letter queue), Secrets Manager and SES.

use std::sync::atomic::{AtomicU32, Ordering};

use booking_core::ports::QueueSettings;
use tokio::sync::OnceCell;

use super::{
    EmulatorError, LoopbackServer, missing_unless_ci, sdk_config, shared_instance, tool_path,
};

pub struct Moto {
    server: LoopbackServer,
}

static SHARED: OnceCell<Option<Moto>> = OnceCell::const_new();
static NAMES: AtomicU32 = AtomicU32::new(0);

fn setup_failed(what: &'static str) -> impl Fn(String) -> EmulatorError {
    move |detail| EmulatorError::DidNotStart { what, detail }
}

impl Moto {
    /// The test binary's moto server, started on first use; `None` when it is not installed and not in CI.
    pub async fn shared() -> Result<Option<&'static Moto>, EmulatorError> {
        shared_instance(&SHARED, Self::start).await
    }

    async fn start() -> Result<Option<Moto>, EmulatorError> {
        // `MOTO_SERVER`, else the install script's virtualenv.
        let program = tool_path("MOTO_SERVER", "venv/bin/moto_server");
        if !program.is_file() {
            return missing_unless_ci(format!("moto ({})", program.display()));
        }
        let program = program.display().to_string();
        let server = LoopbackServer::start("moto", &program, &["-H", "127.0.0.1"], "-p").await?;
        Ok(Some(Moto { server }))
    }

    pub fn endpoint(&self) -> &str {
        self.server.endpoint()
    }

    /// A name no other test of this process uses.
    pub fn unique_name(prefix: &str) -> String {
        format!(
            "{prefix}-{}-{}",
            std::process::id(),
            NAMES.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// A new sync queue and its dead-letter queue, configured as the SAM template configures them (visibility
    /// timeout, redrive after `max_receive_count` receives). Returns their URLs.
    pub async fn create_sync_queues(
        &self,
        settings: QueueSettings,
    ) -> Result<(String, String), EmulatorError> {
        let client = aws_sdk_sqs::Client::new(&sdk_config(self.endpoint()).await);
        let failed = setup_failed("SQS queues");
        let name = Self::unique_name("sync");
        let dead = client
            .create_queue()
            .queue_name(format!("{name}-dead"))
            .send()
            .await
            .map_err(|error| failed(format!("{error:?}")))?;
        let dead_url = dead.queue_url.unwrap_or_default();
        let dead_arn = client
            .get_queue_attributes()
            .queue_url(&dead_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|error| failed(format!("{error:?}")))?
            .attributes
            .and_then(|attributes| {
                attributes
                    .get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .cloned()
            })
            .ok_or_else(|| failed("no ARN for the dead-letter queue".to_owned()))?;
        let redrive = serde_json::json!({
            "deadLetterTargetArn": dead_arn,
            "maxReceiveCount": settings.max_receive_count.to_string(),
        });
        let main = client
            .create_queue()
            .queue_name(name)
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                settings.visibility_timeout.as_secs().to_string(),
            )
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
                redrive.to_string(),
            )
            .send()
            .await
            .map_err(|error| failed(format!("{error:?}")))?;
        Ok((main.queue_url.unwrap_or_default(), dead_url))
    }
}

/// Verifies `address` as an SES sender in the moto at `endpoint`, as an operator verifies it in the console: SES
/// sends only from verified identities. moto is shared by a test binary's tests, so another test may have verified
/// it already.
pub async fn verify_ses_sender(endpoint: &str, address: &str) -> Result<(), EmulatorError> {
    let ses = aws_sdk_sesv2::Client::new(&sdk_config(endpoint).await);
    let created = ses
        .create_email_identity()
        .email_identity(address)
        .send()
        .await;
    match created {
        Err(error) if !is_already_exists(&error) => Err(EmulatorError::Failed {
            what: "verifying an SES sender",
            detail: format!("{error:?}"),
        }),
        _ => Ok(()),
    }
}

fn is_already_exists(
    error: &aws_sdk_sesv2::error::SdkError<
        aws_sdk_sesv2::operation::create_email_identity::CreateEmailIdentityError,
    >,
) -> bool {
    error
        .as_service_error()
        .is_some_and(|error| error.is_already_exists_exception())
}

/// Every raw message the moto at `endpoint` was given to send by SES so far, read from its model dump (every test's
/// messages: filter by recipient).
pub async fn ses_messages(endpoint: &str) -> Result<Vec<String>, EmulatorError> {
    let failed = |error: reqwest::Error| EmulatorError::Failed {
        what: "reading moto's SES messages",
        detail: error.to_string(),
    };
    let dump: serde_json::Value = reqwest::get(format!("{endpoint}/moto-api/data.json"))
        .await
        .map_err(failed)?
        .json()
        .await
        .map_err(failed)?;
    Ok(dump["ses"]["RawMessage"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|message| message["raw_data"].as_str().map(str::to_owned))
        .collect())
}
