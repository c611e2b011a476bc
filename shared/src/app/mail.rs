//! Outgoing mail as a job: a use case queues a message ([`queue_email`]) and answers at once; the worker sends it
//! ([`send_queued_email`]), retrying with backoff while the mail service is unavailable.

use std::time::Duration;

use super::context::App;
use super::error::AppError;
use super::sync_core::{SyncOutcome, backoff};
use crate::ports::{Email, Job, MailError};

/// Queues `email` for the worker; the caller's page can say a message is on its way.
pub async fn queue_email<S: ?Sized>(app: &App<S>, email: Email) -> Result<(), AppError> {
    app.queue
        .enqueue(&Job::SendEmail { email }, Duration::ZERO)
        .await
        .map_err(|error| AppError::Internal(Box::new(error)))
}

/// Sends a queued message; `attempt` is the queue's delivery count. A refusal for good is logged and dropped (sending
/// it again cannot help); an unavailable service brings the job back after a backoff.
pub async fn send_queued_email<S: ?Sized>(
    app: &App<S>,
    email: &Email,
    attempt: u32,
) -> Result<SyncOutcome, AppError> {
    let mailer = app
        .mailer
        .as_ref()
        .ok_or_else(|| AppError::Internal("no mailer is configured for queued email".into()))?;
    match mailer.send(email).await {
        Ok(()) => {
            tracing::info!(subject = %email.subject, "email sent");
            Ok(SyncOutcome::Done)
        }
        Err(MailError::Rejected(reason)) => {
            tracing::error!(subject = %email.subject, %reason, "the mail service refused an email for good");
            Ok(SyncOutcome::Done)
        }
        Err(error @ MailError::Unavailable(_)) => {
            let delay = backoff(attempt, None);
            tracing::warn!(%error, attempt, retry_in_s = delay.as_secs(), "email not sent yet");
            Ok(SyncOutcome::RetryAfter(delay))
        }
    }
}
