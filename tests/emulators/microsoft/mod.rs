//! Microsoft Graph v1.0 (calendars and events of one mailbox) and the Microsoft identity platform's OAuth 2.0
//! endpoints, served on a loopback port. It behaves like Graph where our clients depend on it: opaque ids chosen by
//! the server, extended properties returned only when expanded, `$filter` on a single-value extended property,
//! `transactionId` making a repeated create answer the existing event, real deletion, read-only calendars, rotating
//! refresh tokens and PKCE. Every request body and every event or calendar it answers with is checked against Graph's
//! published types, and anything malformed is recorded as a violation for the test to assert on.
//!
//! Inbound sync works as with Graph: `calendarView/delta` answers the events of a window (occurrences and exceptions
//! of series expanded, never series masters), pages by `@odata.nextLink` and ends with an `@odata.deltaLink` that
//! later returns only what changed (`@removed` for what was deleted, cancelled or moved out of the window), 410
//! `syncStateNotFound` once invalidated. `subscriptions` validate their endpoints first (the `validationToken`
//! handshake), then change notifications and lifecycle notifications are posted to them by a background task. Tests
//! act as the user through `add_event`, `update_event` and `delete_event`, which count as changes like API writes do.

//!
//! One file a concern: `identity` (OAuth), `events` (calendars and event CRUD), `body` (event bodies as Graph
//! accepts them), `delta` (`calendarView/delta`), `recurrence` (occurrences of series), `subscriptions` (change and
//! lifecycle notifications), `odata` (query options and `$filter`), `render` (events and times as Graph writes
//! them), `gate` (what every request passes through, and the error formats of Graph and the identity platform).

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Helpers fail with the finished error response; its size is of no concern in a test server.
#![allow(clippy::result_large_err)]

mod body;
mod delta;
mod events;
mod gate;
mod identity;
mod odata;
mod recurrence;
mod render;
mod subscriptions;

pub use subscriptions::{MAX_CLIENT_STATE_CHARS, MAX_SUBSCRIPTION_MINUTES, too_long_message};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::SignedDuration;
use serde_json::Value;

use self::delta::{DeltaPages, DeltaState};
use self::events::{random_key, well_formed};
use self::gate::{graph_error, not_found};
use self::subscriptions::Subscription;
use super::oauth::{Refresh, TokenStyle};
use super::server::{Core, Loopback, Running, core_api};
use super::spec::GraphTypes;

pub const CLIENT_ID: &str = "0c7e3a51-94f2-4b8e-a6d3-5f21c9e8b470";
pub const CLIENT_SECRET: &str = "emu~Q8r.client-secret";
/// The one account: every calendar belongs to it.
pub const ACCOUNT: &str = "owner@contoso.example";
const ACCOUNT_NAME: &str = "Contoso Owner";
const USER_ID: &str = "6b1f8c2e-3d4a-4e5b-9c7d-8e9f0a1b2c3d";
/// The directory the account belongs to, as change notifications name it.
pub const TENANT_ID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";

pub struct GraphEmulator {
    running: Running,
    shared: Arc<Shared>,
}

struct Shared {
    /// Its postman's client also makes the validation handshake.
    core: Core,
    types: GraphTypes,
    /// `http://127.0.0.1:PORT/`
    origin: String,
    data: Mutex<Data>,
}

struct Data {
    /// How far the emulator's clock is ahead of the real one, so that expiries agree with a test's manual clock.
    skew: SignedDuration,
    calendars: Vec<Calendar>,
    /// `transactionId` → the id of the event its create made.
    transactions: HashMap<String, String>,
    search_lag: bool,
    sequence: u64,
    /// The last change number handed out, across calendars.
    change_seq: u64,
    /// `$deltatoken` → state; invalidating empties it.
    delta_states: HashMap<String, DeltaState>,
    /// `$skiptoken` → the rest of a delta answer.
    delta_pages: HashMap<String, DeltaPages>,
    subscriptions: Vec<Subscription>,
}

struct Calendar {
    id: String,
    name: &'static str,
    is_default: bool,
    can_edit: bool,
    change_key: String,
    events: Vec<Value>,
    /// Event id → the change number of its last change.
    changes: HashMap<String, u64>,
}

impl GraphEmulator {
    pub async fn start() -> Self {
        let loopback = Loopback::bind().await;
        let address = loopback.address;
        let calendar = |name, is_default, can_edit| Calendar {
            id: format!(
                "AAMkAGI2{}AAA=",
                URL_SAFE_NO_PAD.encode(format!("calendar:{name}"))
            ),
            name,
            is_default,
            can_edit,
            change_key: random_key(),
            events: Vec::new(),
            changes: HashMap::new(),
        };
        let (core, delivering) = Core::start(TokenStyle {
            access_prefix: "EwA",
            refresh_prefix: "M.C5",
            code_prefix: "M.C5_",
            refresh: Refresh::Rotated,
            connected_scope: "offline_access Calendars.ReadWrite",
        });
        let shared = Arc::new(Shared {
            core,
            types: GraphTypes::load(),
            origin: format!("http://{address}/"),
            data: Mutex::new(Data {
                skew: SignedDuration::ZERO,
                calendars: vec![
                    calendar("Calendar", true, true),
                    calendar("Team", false, true),
                    calendar("Birthdays", false, false),
                ],
                transactions: HashMap::new(),
                search_lag: false,
                sequence: 0,
                change_seq: 0,
                delta_states: HashMap::new(),
                delta_pages: HashMap::new(),
                subscriptions: Vec::new(),
            }),
        });
        // An event is addressed in its calendar or in the mailbox.
        let an_event = get(events::an_event)
            .patch(events::an_event)
            .delete(events::an_event);
        let router = Router::new()
            .route(identity::AUTHORIZE_PATH, get(identity::authorize))
            .route(identity::TOKEN_PATH, post(identity::token))
            .route("/v1.0/me/calendars", get(events::list_calendars))
            .route(
                "/v1.0/me/calendars/{calendar}/events",
                get(events::list_events).post(events::create_event),
            )
            .route(
                "/v1.0/me/calendars/{calendar}/events/{event}",
                an_event.clone(),
            )
            .route("/v1.0/me/events/{event}", an_event)
            .route(
                "/v1.0/me/calendars/{calendar}/calendarView/delta",
                get(delta::calendar_view_delta),
            )
            .route(
                "/v1.0/subscriptions",
                get(subscriptions::list_subscriptions).post(subscriptions::create_subscription),
            )
            .route(
                "/v1.0/subscriptions/{subscription}",
                get(subscriptions::get_subscription)
                    .patch(subscriptions::renew_subscription)
                    .delete(subscriptions::delete_subscription),
            );
        let router = gate::guarded(router, &shared);
        Self {
            running: loopback.serve(router, vec![delivering]),
            shared,
        }
    }

    /// `http://127.0.0.1:PORT/v1.0/`, the counterpart of `https://graph.microsoft.com/v1.0/`.
    pub fn api_base(&self) -> String {
        self.running.url("/v1.0/")
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn violation(&self, text: String) {
        self.core.ledger.violation(text);
    }

    fn graph_base(&self) -> String {
        format!("{}v1.0/", self.origin)
    }

    /// Records what Graph's types say is wrong with `value`, prefixed with where it was seen.
    fn check(&self, type_name: &str, at: &str, value: &Value) {
        let problems = self.types.check(type_name, value);
        self.core
            .ledger
            .violations_found(problems.into_iter().map(|p| format!("{at}: {p}")));
    }

    /// A 400 for a request Graph would refuse as malformed; also a violation, since our client sent it.
    fn bad_request(&self, code: &str, message: String) -> Response {
        self.violation(format!("{code}: {message}"));
        graph_error(StatusCode::BAD_REQUEST, code, &message)
    }
}

impl Data {
    fn calendar_index(&self, id: &str) -> Result<usize, Response> {
        well_formed(id)?;
        self.calendars
            .iter()
            .position(|c| c.id == id)
            .ok_or_else(not_found)
    }

    /// Where an event is: in the given calendar, or in any when addressed as `me/events/{id}`.
    fn locate(&self, calendar: Option<&str>, event_id: &str) -> Result<(usize, usize), Response> {
        let calendars: Vec<usize> = match calendar {
            Some(id) => vec![self.calendar_index(id)?],
            None => (0..self.calendars.len()).collect(),
        };
        well_formed(event_id)?;
        calendars
            .into_iter()
            .find_map(|c| {
                let events = &self.calendars[c].events;
                events
                    .iter()
                    .position(|e| e["id"] == event_id)
                    .map(|e| (c, e))
            })
            .ok_or_else(not_found)
    }
}

core_api!(
    GraphEmulator,
    identity::AUTHORIZE_PATH,
    identity::TOKEN_PATH
);
