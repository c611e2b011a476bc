//! What the owner reads when a calendar connection or an appointment's sync is in trouble, worded in this one
//! place: the provider by the names the owner knows it by (the registry's "Google Calendar", and "Google" for who
//! runs it), one plain sentence per cause, and the provider's own words quoted once, never wrapped in ours.
//!
//! The sentences are stored as they are written here (on the connection's health and the appointment's sync
//! state), so the dashboard, the API and the logs all show the same words.

use std::time::Duration;

use super::error::ConnectFailure;
use super::sync_core::Failure;
use crate::domain::SyncFailureCode;
use crate::ports::{ProviderError, ProviderKind, ProviderRegistry};

/// A provider as the owner knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderNames {
    /// "Google Calendar".
    pub calendar: String,
    /// "Google".
    pub vendor: String,
}

impl ProviderNames {
    pub fn of(registry: &ProviderRegistry, kind: ProviderKind) -> Self {
        Self {
            calendar: registry.display_name(kind),
            vendor: registry.vendor(kind),
        }
    }
}

/// Why a connection's grant can no longer be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LostAccess {
    /// We hold no grant for the connection.
    NoGrant,
    /// The provider gave no refresh token when the calendar was connected.
    NoLastingAccess,
    /// The provider no longer accepts the grant (`invalid_grant`), in its words.
    RevokedOrExpired { provider_says: String },
    /// The provider refused to refresh the grant for another reason, in its words.
    RefreshRefused { provider_says: String },
}

/// Why the connection needs reconnecting, as stored on its health: "Google says the access was revoked or has
/// expired ('Token has been expired or revoked.')". [`needs_reconnecting`] puts the provider's name in front.
pub fn lost_access(names: &ProviderNames, why: &LostAccess) -> String {
    let vendor = &names.vendor;
    match why {
        LostAccess::NoGrant => "we hold no access to it".to_owned(),
        LostAccess::NoLastingAccess => {
            format!("{vendor} gave no lasting access when it was connected")
        }
        LostAccess::RevokedOrExpired { provider_says } => format!(
            "{vendor} says the access was revoked or has expired ({})",
            quoted(provider_says)
        ),
        LostAccess::RefreshRefused { provider_says } => format!(
            "{vendor} refused to renew the access ({})",
            quoted(provider_says)
        ),
    }
}

/// "Google Calendar needs reconnecting: {reason}", for the banner, the integrations page and a failed sync.
pub fn needs_reconnecting(calendar: &str, reason: &str) -> String {
    format!("{calendar} needs reconnecting: {reason}")
}

/// What went wrong, as a clause without a full stop, for any of the sentences below. `account` is the connected
/// account, which the owner knows the calendar's sharing by.
fn trouble(names: &ProviderNames, failure: &Failure, account: &str) -> String {
    let calendar = &names.calendar;
    let says = |words: &str| format!("{} says {}", names.vendor, quoted(words));
    match failure {
        Failure::Ours(_) => "something went wrong on our side".to_owned(),
        Failure::NotConfigured => format!("{calendar} is not set up on this server"),
        Failure::ReauthRequired(reason) => needs_reconnecting(calendar, reason),
        Failure::RateLimited { .. } => format!("{calendar} asked us to slow down"),
        Failure::Unavailable { provider_says, .. } => match provider_says {
            Some(words) => format!("{calendar} could not be reached just now: {}", says(words)),
            None => format!("{calendar} could not be reached just now"),
        },
        Failure::CalendarNotFound => format!(
            "the calendar chosen in {calendar} no longer exists or is no longer shared with {account}"
        ),
        Failure::Refused(ProviderError::Rejected(trouble)) => match &trouble.provider_says {
            Some(words) => format!("{calendar} refused the request: {}", says(words)),
            None => format!("{calendar} refused the request"),
        },
        Failure::Refused(_) => format!("{calendar} refused the request"),
    }
}

/// Why an appointment did not reach the calendar, as its sync state shows it. Whether it is tried again and what
/// the owner can do are said apart (its status, and the advice for its code), so the sentence still holds when
/// it is quoted as the last attempt of a sync given up on.
pub fn appointment_not_written(names: &ProviderNames, failure: &Failure, account: &str) -> String {
    format!("{}.", sentence(&trouble(names, failure, account)))
}

/// Why an appointment's sync was given up on: the last failure's own sentence, after saying so.
pub fn appointment_given_up(last_failure: Option<&str>) -> String {
    const GAVE_UP: &str = "Sending it to the calendar stopped after repeated attempts.";
    match last_failure {
        Some(last) => format!("{GAVE_UP} The last attempt: {last}"),
        None => GAVE_UP.to_owned(),
    }
}

/// What the owner can do about an appointment that failed to sync, for each code it can fail with.
pub fn what_to_do(code: SyncFailureCode) -> &'static str {
    match code {
        SyncFailureCode::ReauthRequired => {
            "The calendar no longer accepts our access (it was revoked, expired or the password changed). Reconnect the calendar; every failed appointment is then sent again."
        }
        SyncFailureCode::CalendarNotFound => {
            "The chosen calendar is gone or no longer shared with the connected account. Disconnect and connect again to choose another."
        }
        SyncFailureCode::RateLimited | SyncFailureCode::ProviderUnavailable => {
            "The calendar provider was busy or unreachable. We retry by itself; you can also retry now."
        }
        SyncFailureCode::ProviderNotConfigured => {
            "This server has no credentials for the calendar provider. Ask whoever runs it to configure them."
        }
        SyncFailureCode::SyncGaveUp => {
            "We tried many times without success. Check the integration is connected, then retry."
        }
        SyncFailureCode::ProviderError | SyncFailureCode::InternalError => {
            "The calendar refused the change. Check the integration is connected, then retry."
        }
    }
}

/// Why connecting a calendar from the dashboard did not finish, as its integrations page says it.
pub fn connect_not_finished(calendar: &str, why: ConnectFailure) -> String {
    match why {
        ConnectFailure::Denied => format!(
            "Connecting {calendar} did not finish: access was not granted. Nothing changed; connect again and allow access to your calendar."
        ),
        ConnectFailure::Unavailable => format!(
            "Connecting {calendar} did not finish: the provider could not be reached. Nothing changed; try again in a moment."
        ),
        ConnectFailure::Failed => {
            format!("Connecting {calendar} did not finish. Nothing changed; try again.")
        }
    }
}

/// Why the calendar's own events could not be read, as the connection's health shows it.
pub fn busy_times_not_read(names: &ProviderNames, failure: &Failure, account: &str) -> String {
    format!(
        "Busy times could not be read: {}.",
        trouble(names, failure, account)
    )
}

/// Busy times are read, but the provider would not tell us of changes; the safety net reads them meanwhile.
pub fn notifications_not_set_up(
    names: &ProviderNames,
    failure: &Failure,
    account: &str,
    safety_net_every: Duration,
) -> String {
    format!(
        "Busy times are read, but change notifications could not be set up: {}. Changes are picked up every {} \
         minutes until they are.",
        trouble(names, failure, account),
        safety_net_every.as_secs() / 60
    )
}

/// The provider's own words, in single quotes, once: quotes it already wrapped them in are not doubled.
fn quoted(words: &str) -> String {
    let words = words.trim();
    let bare = ['\'', '"']
        .iter()
        .find_map(|quote| {
            words
                .strip_prefix(*quote)
                .and_then(|inner| inner.strip_suffix(*quote))
        })
        .unwrap_or(words);
    format!("'{bare}'")
}

/// Capitalised, as the start of a sentence.
fn sentence(clause: &str) -> String {
    let mut chars = clause.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::AppError;
    use crate::ports::Trouble;

    fn google() -> ProviderNames {
        ProviderNames {
            calendar: "Google Calendar".to_owned(),
            vendor: "Google".to_owned(),
        }
    }

    const WORDS: &str = "Token has been expired or revoked.";

    /// One failure of each code, the provider's words in it wherever it can carry them.
    fn every_failure() -> Vec<Failure> {
        let retry_in = Duration::from_secs(2);
        let reason = lost_access(
            &google(),
            &LostAccess::RevokedOrExpired {
                provider_says: WORDS.to_owned(),
            },
        );
        vec![
            Failure::Ours(AppError::Internal("disk full".into())),
            Failure::NotConfigured,
            Failure::ReauthRequired(reason),
            Failure::RateLimited { retry_in },
            Failure::Unavailable {
                provider_says: Some(WORDS.to_owned()),
                retry_in,
            },
            Failure::CalendarNotFound,
            Failure::Refused(ProviderError::Rejected(Trouble::said(
                "Google answered 400 Bad Request",
                Some(WORDS),
            ))),
            Failure::Refused(ProviderError::CursorExpired),
        ]
    }

    #[test]
    fn the_example_reads_as_the_owner_knows_it() {
        let reason = lost_access(
            &google(),
            &LostAccess::RevokedOrExpired {
                provider_says: WORDS.to_owned(),
            },
        );
        assert_eq!(
            needs_reconnecting("Google Calendar", &reason),
            "Google Calendar needs reconnecting: Google says the access was revoked or has expired \
             ('Token has been expired or revoked.')"
        );
    }

    /// Every code, in every sentence it can appear in: the provider by its display name (never its record name),
    /// no parentheses inside parentheses, the provider's words quoted once, none of our log detail.
    #[test]
    fn every_failure_code_is_worded_for_the_owner() {
        let failures = every_failure();
        let mut codes: Vec<&str> = failures
            .iter()
            .map(|failure| failure.code().as_str())
            .collect();
        codes.dedup();
        assert_eq!(
            codes,
            [
                "internal_error",
                "provider_not_configured",
                "reauth_required",
                "rate_limited",
                "provider_unavailable",
                "calendar_not_found",
                "provider_error",
            ]
        );
        for failure in &failures {
            let code = failure.code();
            let written = appointment_not_written(&google(), failure, "owner@example.com");
            let sentences = [
                written.clone(),
                appointment_given_up(Some(&written)),
                busy_times_not_read(&google(), failure, "owner@example.com"),
                notifications_not_set_up(
                    &google(),
                    failure,
                    "owner@example.com",
                    Duration::from_secs(900),
                ),
            ];
            for text in sentences {
                assert!(!text.contains("google "), "{code}: {text}");
                assert!(!text.contains("Google answered"), "{code}: {text}");
                assert!(!text.contains("disk full"), "{code}: {text}");
                let mut depth = 0_i32;
                for character in text.chars() {
                    match character {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    assert!(
                        (0..=1).contains(&depth),
                        "{code}: nested parentheses in {text}"
                    );
                }
                assert!(text.matches(WORDS).count() <= 1, "{code}: {text}");
                if text.contains(WORDS) {
                    assert!(text.contains(&format!("'{WORDS}'")), "{code}: {text}");
                }
                assert!(text.ends_with('.'), "{code}: {text}");
                assert!(
                    text.chars().next().is_some_and(char::is_uppercase),
                    "{code}: {text}"
                );
            }
            let names_the_provider = !matches!(failure, Failure::Ours(_));
            assert_eq!(
                written.contains("Google Calendar"),
                names_the_provider,
                "{code}: {written}"
            );
        }
    }

    #[test]
    fn each_code_says_what_happened() {
        let written: Vec<String> = every_failure()
            .iter()
            .map(|failure| appointment_not_written(&google(), failure, "owner@example.com"))
            .collect();
        assert_eq!(
            written,
            [
                "Something went wrong on our side.",
                "Google Calendar is not set up on this server.",
                "Google Calendar needs reconnecting: Google says the access was revoked or has expired \
                 ('Token has been expired or revoked.').",
                "Google Calendar asked us to slow down.",
                "Google Calendar could not be reached just now: Google says 'Token has been expired or revoked.'.",
                "The calendar chosen in Google Calendar no longer exists or is no longer shared with \
                 owner@example.com.",
                "Google Calendar refused the request: Google says 'Token has been expired or revoked.'.",
                "Google Calendar refused the request.",
            ]
        );
        assert_eq!(
            appointment_given_up(Some(&written[3])),
            "Sending it to the calendar stopped after repeated attempts. The last attempt: Google Calendar \
             asked us to slow down."
        );
    }

    #[test]
    fn every_lost_access_names_who_said_what() {
        let names = google();
        assert_eq!(
            lost_access(&names, &LostAccess::NoGrant),
            "we hold no access to it"
        );
        assert_eq!(
            lost_access(&names, &LostAccess::NoLastingAccess),
            "Google gave no lasting access when it was connected"
        );
        assert_eq!(
            lost_access(
                &names,
                &LostAccess::RefreshRefused {
                    provider_says: "\"unauthorized_client: Unauthorized\"".to_owned()
                }
            ),
            "Google refused to renew the access ('unauthorized_client: Unauthorized')"
        );
    }
}
