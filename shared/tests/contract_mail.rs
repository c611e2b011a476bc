//! The mailer contract on the adapters that need no AWS: the outbox folder, and SMTP against a real SMTP server
//! (aiosmtpd) that the test starts and reads the messages back from.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use booking_core::adapters::{OutboxMailer, Sender, SmtpMailer};
use booking_core::contract::mail::{Delivered, FolderOfMessages, SmtpServer, decoded};
use booking_core::ports::Mailer;
use secrecy::SecretString;

fn sender() -> Sender {
    "Bookings <no-reply@clinic.test>".parse().unwrap()
}

/// The folder outlives the test through the guard the factory returns.
struct Outbox {
    delivered: FolderOfMessages,
    _folder: tempfile::TempDir,
}

#[async_trait::async_trait]
impl Delivered for Outbox {
    async fn messages(&self) -> Vec<String> {
        self.delivered.messages().await
    }
}

async fn outbox() -> (Arc<dyn Mailer>, Outbox) {
    let folder = tempfile::tempdir().unwrap();
    let outbox = folder.path().join("outbox");
    let mailer = OutboxMailer::new(outbox.clone(), sender(), Box::new(|_| {}));
    (
        Arc::new(mailer),
        Outbox {
            delivered: FolderOfMessages(outbox),
            _folder: folder,
        },
    )
}

/// The server runs as long as the guard lives.
struct Smtp(SmtpServer);

#[async_trait::async_trait]
impl Delivered for Smtp {
    async fn messages(&self) -> Vec<String> {
        self.0.delivered().messages().await
    }
}

async fn smtp() -> (Arc<dyn Mailer>, Smtp) {
    let server = SmtpServer::start().await.unwrap();
    let mailer = SmtpMailer::new(&SecretString::from(server.url()), sender()).unwrap();
    (Arc::new(mailer), Smtp(server))
}

async fn aiosmtpd_installed() -> bool {
    SmtpServer::start().await.is_some()
}

mod outbox_mailer {
    booking_core::mailer_contract_tests!(super::outbox);
}

mod smtp_mailer {
    booking_core::mailer_contract_tests!(super::smtp, available = super::aiosmtpd_installed);
}

#[tokio::test]
async fn the_outbox_announces_each_file_it_writes_once() {
    let folder = tempfile::tempdir().unwrap();
    let announced = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = announced.clone();
    let mailer = OutboxMailer::new(
        folder.path().join("outbox"),
        sender(),
        Box::new(move |path| seen.lock().unwrap().push(path.to_owned())),
    );
    let email = booking_core::ports::Email {
        to: "ana@clinic.test".to_owned().try_into().unwrap(),
        subject: "Reset your password for Harbour Dental".to_owned(),
        text: "https://bookings.example.com/dashboard/reset-password?token=secret".to_owned(),
        html: "<p>reset</p>".to_owned(),
    };
    mailer.send(&email).await.unwrap();
    let announced = announced.lock().unwrap().clone();
    assert_eq!(announced.len(), 1);
    assert_eq!(announced[0].extension().unwrap(), "eml");
    let written = std::fs::read_to_string(&announced[0]).unwrap();
    assert!(
        decoded(&written).contains("reset-password?token=secret"),
        "{written}"
    );
}
