//! `Mailer` on Amazon SES (API v2): the message is built as MIME by booking-core, as every adapter builds it, and
//! handed to `SendEmail` raw, so SES sends exactly what the SMTP and outbox adapters would.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::SdkError;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
use booking_core::adapters::{Sender, mime_message};
use booking_core::ports::{Email, MailError, Mailer};

#[derive(Clone, Debug)]
pub struct SesMailer {
    client: Client,
    /// A verified SES identity; the sync worker's role (the one function that sends) may send from this one only.
    from: Sender,
}

impl SesMailer {
    pub fn new(client: Client, from: Sender) -> Self {
        Self { client, from }
    }
}

/// What SES's answer means for the message: refusals of this message (or of this sender) are for good; throttling,
/// a paused account and anything on the way are worth another try later.
fn mail_error(error: SdkError<SendEmailError>) -> MailError {
    let refused = error.as_service_error().is_some_and(|service| {
        matches!(
            service,
            SendEmailError::MessageRejected(_)
                | SendEmailError::MailFromDomainNotVerifiedException(_)
                | SendEmailError::BadRequestException(_)
                | SendEmailError::NotFoundException(_)
        )
    });
    if refused {
        MailError::Rejected(
            error
                .as_service_error()
                .map(|service| service.to_string())
                .unwrap_or_default(),
        )
    } else {
        MailError::Unavailable(Box::new(error))
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<(), MailError> {
        let raw = RawMessage::builder()
            .data(Blob::new(mime_message(email, &self.from)?.formatted()))
            .build()
            .map_err(|error| MailError::Rejected(error.to_string()))?;
        self.client
            .send_email()
            .from_email_address(self.from.address())
            .destination(
                Destination::builder()
                    .to_addresses(email.to.as_ref())
                    .build(),
            )
            .content(EmailContent::builder().raw(raw).build())
            .send()
            .await
            .map_err(mail_error)?;
        Ok(())
    }
}
