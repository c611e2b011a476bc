//! Fault injection shared by the provider emulators: a test adds rules, and each request that matches a rule with
//! uses left suffers its fault, before the emulator applies the request or after (the write happened, the answer is
//! lost).

use std::sync::Mutex;
use std::time::Duration;

/// What goes wrong. Each emulator renders these in its provider's own error format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A 500 Internal Server Error.
    ServerError,
    /// A 503 Service Unavailable.
    Unavailable,
    /// A 429 with `Retry-After: seconds`.
    TooManyRequests {
        retry_after_secs: u64,
    },
    /// Google's 403 with reason `rateLimitExceeded` (Graph has none; its emulator answers 429).
    RateLimitForbidden,
    /// A 401: the access token is not accepted.
    Unauthorized,
    /// The token endpoint answers 400 `invalid_grant`: the refresh token was revoked or expired.
    InvalidGrant,
    NotFound,
    Gone,
    /// The connection is closed without an answer.
    ConnectionReset,
    /// The answer comes after this long (longer than the client waits).
    Delay(Duration),
}

/// Whether the fault hits before the request takes effect or after (a lost response).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    Before,
    After,
}

/// Which requests a rule applies to.
#[derive(Clone, Debug, Default)]
pub struct Matcher {
    /// `GET`, `POST`, …; any when `None`.
    pub method: Option<&'static str>,
    /// A substring of the path; any when `None`.
    pub path_contains: Option<String>,
}

impl Matcher {
    pub fn any() -> Self {
        Self::default()
    }

    pub fn method(method: &'static str) -> Self {
        Self {
            method: Some(method),
            path_contains: None,
        }
    }

    pub fn path(mut self, fragment: impl Into<String>) -> Self {
        self.path_contains = Some(fragment.into());
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method.is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self
                .path_contains
                .as_deref()
                .is_none_or(|fragment| path.contains(fragment))
    }
}

#[derive(Clone, Debug)]
pub struct FaultRule {
    pub matcher: Matcher,
    pub when: When,
    pub fault: Fault,
    /// How many matching requests suffer it.
    pub times: u32,
}

/// The rules of one emulator. The first matching rule with uses left wins, and uses one up.
#[derive(Default)]
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
}

impl Faults {
    pub fn add(&self, rule: FaultRule) {
        self.rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(rule);
    }

    pub fn clear(&self) {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The fault this request suffers at `when`, if any.
    pub fn take(&self, method: &str, path: &str, when: When) -> Option<Fault> {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let rule = rules.iter_mut().find(|rule| {
            rule.when == when && rule.times > 0 && rule.matcher.matches(method, path)
        })?;
        rule.times -= 1;
        Some(rule.fault.clone())
    }

    /// Rules with uses left: a test that expects every fault to have fired checks this is empty.
    pub fn unused(&self) -> Vec<FaultRule> {
        self.rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|rule| rule.times > 0)
            .cloned()
            .collect()
    }
}

/// Ends the current request's connection without an answer. `resume_unwind` skips the panic hook, so nothing is
/// printed; hyper drops the connection of a handler that unwinds.
pub fn reset_connection() -> ! {
    std::panic::resume_unwind(Box::new("emulated connection reset"))
}
