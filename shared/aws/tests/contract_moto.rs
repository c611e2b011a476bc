//! The queue, secret store and mailer contracts, unchanged, against moto's SQS, Secrets Manager and SES (v2).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use booking_aws::emulators::moto::{self, Moto};
use booking_aws::emulators::sdk_config;
use booking_aws::secrets_manager_store::SecretsManagerSecretStore;
use booking_aws::sqs_job_queue::SqsJobQueue;
use booking_core::ports::{JobQueue, QueueSettings, SecretStore};

mod support;

async fn moto_running() -> bool {
    support::installed(Moto::shared().await, "moto")
}

async fn sqs_queue(settings: QueueSettings) -> (Arc<dyn JobQueue>, ()) {
    let moto = Moto::shared().await.unwrap().unwrap();
    let (queue_url, dead_letter_url) = moto.create_sync_queues(settings).await.unwrap();
    let client = aws_sdk_sqs::Client::new(&sdk_config(moto.endpoint()).await);
    (
        Arc::new(SqsJobQueue::new(client, queue_url, dead_letter_url)),
        (),
    )
}

async fn secrets_manager() -> (Arc<dyn SecretStore>, ()) {
    let moto = Moto::shared().await.unwrap().unwrap();
    let client = aws_sdk_secretsmanager::Client::new(&sdk_config(moto.endpoint()).await);
    let prefix = format!("{}/", Moto::unique_name("calendar"));
    (
        Arc::new(SecretsManagerSecretStore::new(
            client,
            prefix,
            Duration::from_secs(60),
        )),
        (),
    )
}

mod sqs_job_queue {
    booking_core::queue_contract_tests!(super::sqs_queue, available = super::moto_running);
}

mod secrets_manager {
    booking_core::secret_store_contract_tests!(
        super::secrets_manager,
        available = super::moto_running
    );
}

/// What moto's SES received.
struct SesSent {
    endpoint: String,
}

#[async_trait::async_trait]
impl booking_core::contract::mail::Delivered for SesSent {
    async fn messages(&self) -> Vec<String> {
        moto::ses_messages(&self.endpoint).await.unwrap()
    }
}

async fn ses_mailer() -> (Arc<dyn booking_core::ports::Mailer>, SesSent) {
    let moto = Moto::shared().await.unwrap().unwrap();
    let client = aws_sdk_sesv2::Client::new(&sdk_config(moto.endpoint()).await);
    moto::verify_ses_sender(moto.endpoint(), "no-reply@clinic.test")
        .await
        .unwrap();
    let from = "Bookings <no-reply@clinic.test>".parse().unwrap();
    (
        Arc::new(booking_aws::ses_mailer::SesMailer::new(client, from)),
        SesSent {
            endpoint: moto.endpoint().to_owned(),
        },
    )
}

mod ses_mailer {
    booking_core::mailer_contract_tests!(super::ses_mailer, available = super::moto_running);
}
