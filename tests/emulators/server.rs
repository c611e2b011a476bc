//! What every provider emulator does the same way around its own endpoints: it listens on a free loopback port,
//! passes each request through a gate (counted, faults injected before and after the handler), keeps a ledger of the
//! requests and of the violations it saw, issues OAuth grants, posts notifications, stops its tasks when it is
//! dropped, and offers tests the same methods to steer and inspect all of that (`core_api!`).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::faults::{Fault, Faults, When};
use super::oauth::{Grants, TokenStyle};
use super::push::Postman;

/// A bound loopback port, known before the router that will serve it is built (answers name their own address).
pub struct Loopback {
    listener: TcpListener,
    pub address: SocketAddr,
}

impl Loopback {
    pub async fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        Self { listener, address }
    }

    /// Serves `router` in the background; the server and `helpers` (background tasks of the emulator) stop when the
    /// returned guard is dropped.
    pub fn serve(self, router: Router, helpers: Vec<JoinHandle<()>>) -> Running {
        let listener = self.listener;
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        let mut tasks = helpers;
        tasks.push(server);
        Running {
            address: self.address,
            tasks,
        }
    }
}

/// A running emulator's address and tasks.
pub struct Running {
    address: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Runs `handle` (authentication, spec checks, the handler) between the faults that hit this request before it takes
/// effect and after (the write happened, the answer is lost). A delay is waited out; any other fault is answered
/// with `render`, in the provider's own error format.
pub async fn faulted(
    faults: &Faults,
    method: &str,
    path: &str,
    render: impl Fn(Fault) -> Response,
    handle: impl Future<Output = Response>,
) -> Response {
    match faults.take(method, path, When::Before) {
        Some(Fault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(fault) => return render(fault),
        None => {}
    }
    let response = handle.await;
    match faults.take(method, path, When::After) {
        Some(Fault::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            response
        }
        Some(fault) => render(fault),
        None => response,
    }
}

/// The access token of an `Authorization: Bearer …` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
}

/// `response` with `Retry-After: seconds`.
pub fn with_retry_after(seconds: u64, mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// The pairs of a URL query or a form body, decoded.
pub fn url_pairs(query: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{query}"))
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

/// What an emulator saw, for the test to assert on: requests by label and everything malformed it was sent or would
/// have answered with.
#[derive(Default)]
pub struct Ledger {
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    requests: HashMap<String, usize>,
    violations: Vec<String>,
}

impl Ledger {
    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn count(&self, label: String) {
        *self.lock().requests.entry(label).or_default() += 1;
    }

    pub fn requests(&self, label: &str) -> usize {
        self.lock().requests.get(label).copied().unwrap_or(0)
    }

    pub fn violation(&self, problem: String) {
        self.lock().violations.push(problem);
    }

    pub fn violations_found(&self, problems: impl IntoIterator<Item = String>) {
        self.lock().violations.extend(problems);
    }

    pub fn violations(&self) -> Vec<String> {
        self.lock().violations.clone()
    }
}

/// The parts every emulator has alike, shared by its handlers.
pub struct Core {
    pub faults: Faults,
    pub ledger: Ledger,
    pub grants: Grants,
    /// Notifications waiting for the background task that posts them, in order.
    pub postman: Postman,
}

impl Core {
    /// The core and the postman's background task (to be stopped with the emulator).
    pub fn start(tokens: TokenStyle) -> (Self, JoinHandle<()>) {
        let (postman, delivering) = Postman::start();
        let core = Self {
            faults: Faults::default(),
            ledger: Ledger::default(),
            grants: Grants::new(tokens),
            postman,
        };
        (core, delivering)
    }
}

/// The test-facing methods every emulator has alike, served by its `Core` (`self.shared.core`) and its running server
/// (`self.running`, whose OAuth endpoints are at the paths given). They are generated as inherent methods because
/// tests call them by path (`GraphEmulator::faults(self)`).
macro_rules! core_api {
    ($emulator:ty, $authorize_path:expr, $token_path:expr) => {
        impl $emulator {
            /// The counterpart of the provider's authorization endpoint.
            pub fn authorize_url(&self) -> String {
                self.running.url($authorize_path)
            }

            /// The counterpart of the provider's token endpoint.
            pub fn token_url(&self) -> String {
                self.running.url($token_path)
            }

            fn core(&self) -> &$crate::emulators::server::Core {
                &self.shared.core
            }

            pub fn faults(&self) -> &$crate::emulators::faults::Faults {
                &self.core().faults
            }

            /// Everything malformed the emulator was sent or would have answered with.
            pub fn violations(&self) -> Vec<String> {
                self.core().ledger.violations()
            }

            /// Requests that arrived with this label (the gate's `label` lists them).
            pub fn request_count(&self, label: &str) -> usize {
                self.core().ledger.requests(label)
            }

            /// Refresh-token grants answered with new tokens.
            pub fn token_refresh_count(&self) -> usize {
                self.core().grants.refresh_count()
            }

            /// The user withdraws consent: every refresh token stops working. Access tokens stay valid until they
            /// expire, as with the providers' own.
            pub fn revoke_grants(&self) {
                self.core().grants.revoke_refresh_tokens();
            }

            pub fn expire_access_tokens(&self) {
                self.core().grants.expire_access_tokens();
            }

            /// Tokens as if the account had just been connected: `(access, refresh)`.
            pub fn issue_tokens(&self) -> (String, String) {
                self.core().grants.issue_connected()
            }

            /// The next `n` notifications are lost: never sent, not recorded (Google's message numbers are used up
            /// all the same).
            pub fn drop_notifications(&self, n: usize) {
                self.core().postman.lose_next(n);
            }

            /// Notifications posted so far, in order: `(channel or subscription id, Google's resource state or
            /// Graph's change type or lifecycle event, HTTP status of the answer)`, the status 0 when none came
            /// (refused, reset, or more than ten seconds).
            pub fn notifications(&self) -> Vec<(String, String, u16)> {
                self.core().postman.answered()
            }
        }
    };
}

pub(crate) use core_api;
