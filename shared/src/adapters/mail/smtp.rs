//! SMTP, for anyone self-hosting: any mail service or relay that speaks it. The connection is described by one URL,
//! as lettre reads it: `smtp://user:password@host:587?tls=required` (STARTTLS), `smtps://…:465` (TLS from the start),
//! or `smtp://localhost:25` without TLS for a relay on the same machine.

use async_trait::async_trait;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use super::{Sender, mime_message};
use crate::domain::ValidationError;
use crate::ports::{Email, MailError, Mailer};

pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Sender,
}

impl SmtpMailer {
    /// `url` may hold the password, so it is secret; a URL that does not parse is refused here, at start-up.
    pub fn new(url: &SecretString, from: Sender) -> Result<Self, ValidationError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
            .map_err(|_| {
                ValidationError::new(
                    "SMTP_URL",
                    "must be a URL such as smtp://user:password@mail.example.com:587?tls=required",
                )
            })?
            .build();
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let message = mime_message(email, &self.from)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            // A 5xx answer: the server will refuse this message however often it is sent.
            Err(error) if error.is_permanent() => Err(MailError::Rejected(error.to_string())),
            Err(error) => Err(MailError::Unavailable(Box::new(error))),
        }
    }
}
