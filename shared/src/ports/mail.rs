//! The mail port ([`Mailer`]): how a message the product writes (a verification link, a password reset, an
//! invitation) leaves it. Adapters: an outbox folder locally, SMTP for self-hosting, Amazon SES on AWS; one contract
//! suite (`crate::contract::mail`) runs on all three.
//!
//! Use cases never call a mailer while a page waits: they enqueue a [`super::Job::SendEmail`], and the worker sends
//! it with backoff, so a slow or throttled mail service never fails a page nor loses a link.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::SignInEmail;

/// One message to one person, in plain text and HTML (the same words; mail clients show the one they can).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub to: SignInEmail,
    /// Says what the message is and for which business: "Confirm your email for Harbour Dental".
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Without the bodies: they hold single-use links, and a job is logged by its `Debug` when it fails.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The service refused this message for good (a bad address, a sender it does not accept): sending it again
    /// would fail again.
    #[error("the mail service refused the message: {0}")]
    Rejected(String),
    /// The service could not be reached or asked to slow down: the message goes again later.
    #[error("the mail service is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Sends one message. An `Ok` means the service took it (delivery itself is the service's business).
#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    async fn send(&self, email: &Email) -> Result<(), MailError>;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_email_debugs_without_its_bodies_or_recipient() {
        let email = Email {
            to: SignInEmail::try_from("ana@clinic.test".to_owned()).unwrap(),
            subject: "Reset your password".to_owned(),
            text: "https://example.com/?token=secret-token".to_owned(),
            html: "<a href=\"https://example.com/?token=secret-token\">reset</a>".to_owned(),
        };
        let shown = format!("{:?}", super::super::Job::SendEmail { email });
        assert!(shown.contains("Reset your password"), "{shown}");
        assert!(
            !shown.contains("secret-token") && !shown.contains("ana@"),
            "{shown}"
        );
    }
}
