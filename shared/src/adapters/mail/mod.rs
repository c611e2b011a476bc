//! The mail adapters ([`crate::ports::Mailer`]) that need no AWS: an outbox folder (the local server's default) and
//! SMTP. The message format they share, which the SES adapter in `booking-aws` hands over raw too, is built once
//! here ([`mime_message`]), so every adapter sends the same bytes.

mod outbox;
mod smtp;

use std::str::FromStr;

use lettre::Message;
use lettre::message::{Mailbox, MultiPart};

pub use outbox::OutboxMailer;
pub use smtp::SmtpMailer;

use crate::domain::ValidationError;
use crate::ports::{Email, MailError};

/// Who messages come from: `Bookings <no-reply@example.com>` or a bare address.
#[derive(Clone, Debug)]
pub struct Sender(Mailbox);

impl FromStr for Sender {
    type Err = ValidationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.parse::<Mailbox>().map(Self).map_err(|_| {
            ValidationError::new(
                "MAIL_FROM",
                "must be an address such as Bookings <no-reply@example.com>",
            )
        })
    }
}

impl Sender {
    /// The address alone, as SES names the identity it sends from.
    pub fn address(&self) -> String {
        self.0.email.to_string()
    }
}

/// The message as RFC 5322 text: multipart/alternative, plain text first and HTML second, UTF-8 throughout.
pub fn mime_message(email: &Email, from: &Sender) -> Result<Message, MailError> {
    let to = email
        .to
        .as_ref()
        .parse::<Mailbox>()
        .map_err(|error| MailError::Rejected(error.to_string()))?;
    Message::builder()
        .from(from.0.clone())
        .to(to)
        .subject(email.subject.as_str())
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|error| MailError::Rejected(error.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_message_carries_both_bodies_and_a_sender_is_checked() {
        let email = Email {
            to: crate::ports::SignInEmail::try_from("ana@clinic.test".to_owned()).unwrap(),
            subject: "Confirm your email for Harbour Dental".to_owned(),
            text: "Open this link".to_owned(),
            html: "<p>Open this link</p>".to_owned(),
        };
        let from: Sender = "Bookings <no-reply@clinic.test>".parse().unwrap();
        let text = String::from_utf8(mime_message(&email, &from).unwrap().formatted()).unwrap();
        assert!(text.contains("multipart/alternative"), "{text}");
        assert!(
            text.contains("text/plain") && text.contains("text/html"),
            "{text}"
        );
        assert!(text.contains("To: ana@clinic.test"), "{text}");
        assert!("not an address".parse::<Sender>().is_err());
    }
}
