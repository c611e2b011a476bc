//! What both sync directions share: the queue's verdict on a job, the lease that keeps jobs of one subject from
//! interleaving, backoff, the one reading of what a failed attempt means, and the jobs themselves.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use rand::Rng;

use secrecy::SecretString;

use super::calendar_tokens::{TokenError, access_token};
use super::context::App;
use super::error::AppError;
use super::lease::while_holding;
use super::providers::Integrations;
use crate::domain::{Appointment, BusinessId, SyncFailureCode, WatchId};
use crate::ports::{ConnectionRef, ConnectionStore, LeaseStore};
use crate::ports::{Job, ProviderError, ProviderKind, ProviderSetup, StoreError};

const FIRST_BACKOFF: Duration = Duration::from_secs(2);
/// SQS cannot delay a message longer than 15 minutes.
const MAX_BACKOFF: Duration = Duration::from_secs(15 * 60);
/// How many records one scheduled sweep takes up; the next sweep takes the rest.
pub const SWEEP_BATCH: u32 = 200;

/// What the queue should do with a job after the worker ran it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Acknowledge it: the calendar matches, the job is obsolete, or the failure is recorded for good.
    Done,
    /// Deliver it again after this long.
    RetryAfter(Duration),
}

/// The job that makes the calendar match the appointment's current version.
pub fn appointment_job(appointment: &Appointment) -> Job {
    Job::SyncAppointment {
        business_id: appointment.business_id,
        appointment_id: appointment.id,
        version: appointment.version,
    }
}

/// The job that brings the business's busy-time cache up to date; `requested_at` when a notification asked.
pub fn calendar_job(
    business_id: BusinessId,
    watch_id: WatchId,
    requested_at: Option<Timestamp>,
) -> Job {
    Job::SyncCalendar {
        business_id,
        watch_id: Some(watch_id),
        requested_at,
    }
}

/// Runs `work` while holding the named lease, so jobs of one subject never interleave; when someone else holds it,
/// the job comes back after about `busy_retry`.
pub async fn with_lease<S: LeaseStore + ?Sized>(
    app: &App<S>,
    name: &str,
    lifetime: SignedDuration,
    busy_retry: Duration,
    work: impl Future<Output = Result<SyncOutcome, AppError>>,
) -> Result<SyncOutcome, AppError> {
    match while_holding(app, name, lifetime, work).await? {
        Some(outcome) => outcome,
        None => Ok(SyncOutcome::RetryAfter(jittered(busy_retry))),
    }
}

/// Runs `call` with a usable access token for the connection; when the provider refuses a token that
/// looked fresh (revoked early, clock skew), refreshes it once and runs `call` again. The token is handed over
/// owned, so the call's future borrows nothing from the closure and stays `Send` for the HTTP handlers.
pub async fn with_fresh_token<S, T, F, Fut>(
    app: &App<S>,
    integrations: &Integrations,
    setup: &ProviderSetup,
    connection: ConnectionRef,
    call: F,
) -> Result<T, SyncError>
where
    S: ConnectionStore + LeaseStore + ?Sized,
    F: Fn(SecretString) -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let token = access_token(app, integrations, setup, connection, false).await?;
    match call(token).await {
        Err(ProviderError::Unauthorized) => {
            let token = access_token(app, integrations, setup, connection, true).await?;
            Ok(call(token).await?)
        }
        other => Ok(other?),
    }
}

/// Exponential backoff with jitter, never shorter than the provider's `Retry-After`.
pub fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let exponential = FIRST_BACKOFF
        .saturating_mul(1_u32 << attempt.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    jittered(exponential)
        .max(retry_after.unwrap_or_default())
        .min(MAX_BACKOFF)
}

/// Somewhere between half and all of `delay`, so retries of many jobs spread out.
pub fn jittered(delay: Duration) -> Duration {
    let half = delay / 2;
    half + delay.mul_f64(rand::rng().random_range(0.0..0.5))
}

/// Why a sync attempt, in either direction, did not reach its goal.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The connection's provider is not configured on this server (its credentials were removed).
    #[error("{0} calendars are not configured on this server")]
    NotConfigured(ProviderKind),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl SyncError {
    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(error))
    }
}

/// What a failed sync attempt means, whichever direction it went: the one classification both directions use.
#[derive(Debug)]
pub enum Failure {
    /// Our own storage failed: the job fails and the queue delivers it again.
    Ours(AppError),
    /// The provider's credentials were removed from this server.
    NotConfigured,
    /// The grant is gone; the connection is already marked `reauth_required`.
    ReauthRequired(String),
    /// The provider asked us to slow down.
    RateLimited { retry_in: Duration },
    /// An outage, a timeout or a refused token: it may pass. `provider_says`: the provider's own words, when it
    /// gave any.
    Unavailable {
        provider_says: Option<String>,
        retry_in: Duration,
    },
    /// The selected calendar is gone or no longer shared with the account.
    CalendarNotFound,
    /// The provider refused the request (`Rejected`, or a cursor on a call that carries none): retrying will not
    /// help.
    Refused(ProviderError),
}

impl Failure {
    /// `attempt` is the queue's delivery count, for backoff.
    pub fn of(error: SyncError, attempt: u32) -> Self {
        match error {
            SyncError::Store(error) => Self::Ours(error.into()),
            SyncError::Internal(error) | SyncError::Token(TokenError::Internal(error)) => {
                Self::Ours(AppError::Internal(error))
            }
            SyncError::Token(TokenError::Store(error)) => Self::Ours(error.into()),
            SyncError::NotConfigured(_) => Self::NotConfigured,
            SyncError::Token(TokenError::ReauthRequired(reason)) => Self::ReauthRequired(reason),
            SyncError::Token(TokenError::Transient(_)) => Self::Unavailable {
                provider_says: None,
                retry_in: backoff(attempt, None),
            },
            SyncError::Provider(ProviderError::RateLimited { retry_after }) => Self::RateLimited {
                retry_in: backoff(attempt, retry_after),
            },
            SyncError::Provider(
                error @ (ProviderError::Transient(_) | ProviderError::Unauthorized),
            ) => Self::Unavailable {
                provider_says: match error {
                    ProviderError::Transient(trouble) => trouble.provider_says,
                    _ => None,
                },
                retry_in: backoff(attempt, None),
            },
            SyncError::Provider(ProviderError::CalendarNotFound) => Self::CalendarNotFound,
            SyncError::Provider(
                error @ (ProviderError::Rejected(_) | ProviderError::CursorExpired),
            ) => Self::Refused(error),
        }
    }

    /// When to try again, if trying again may help.
    pub fn retry_in(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_in } | Self::Unavailable { retry_in, .. } => Some(*retry_in),
            _ => None,
        }
    }

    /// The stable code an appointment's sync state shows.
    pub fn code(&self) -> SyncFailureCode {
        match self {
            Self::Ours(_) => SyncFailureCode::InternalError,
            Self::NotConfigured => SyncFailureCode::ProviderNotConfigured,
            Self::ReauthRequired(_) => SyncFailureCode::ReauthRequired,
            Self::RateLimited { .. } => SyncFailureCode::RateLimited,
            Self::Unavailable { .. } => SyncFailureCode::ProviderUnavailable,
            Self::CalendarNotFound => SyncFailureCode::CalendarNotFound,
            Self::Refused(_) => SyncFailureCode::ProviderError,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        for attempt in 1..=20 {
            let delay = backoff(attempt, None);
            let ceiling = FIRST_BACKOFF
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(MAX_BACKOFF);
            assert!(
                delay <= ceiling && delay >= ceiling / 2,
                "{attempt}: {delay:?}"
            );
        }
        assert_eq!(
            backoff(1, Some(Duration::from_secs(120))),
            Duration::from_secs(120)
        );
        assert_eq!(backoff(1, Some(Duration::from_secs(86_400))), MAX_BACKOFF);
    }
}
