//! Google Calendar API v3 (calendar list and events of one account) and Google's OAuth 2.0 endpoints, served on a
//! loopback port. It behaves like Google where our clients depend on it: client-chosen base32hex event ids, 409 for an
//! id already used (even by a deleted event), deleted events kept as `cancelled` and revived by a patch, 410 for
//! deleting one twice, read-only calendars, PKCE, offline access. Every request is checked against the discovery
//! document (method, parameters, body schema) and every event it answers with against the `Event` schema; anything
//! malformed is recorded as a violation for the test to assert on.
//!
//! Inbound sync works as with Google: `events.list` expands recurring events into instances (`singleEvents=true`),
//! pages by `nextPageToken` (three events a page, so clients must page), ends with a `nextSyncToken` that later
//! returns only what changed (deletions as `cancelled`), refuses a sync token with filters (400) and an invalidated
//! one (410 `fullSyncRequired`). `events.watch` opens a push channel: a `sync` message first, then `exists` on every
//! change, posted to the channel's address by a background task; `channels.stop` closes it. Tests act as the user
//! through `add_event`, `update_event` and `delete_event`, which count as changes like API writes do.
//!
//! One file a concern: `identity` (OAuth), `events` (the calendar list and event CRUD), `listing` (`events.list`,
//! sync and page tokens), `recurrence` (instances of recurring events), `channels` (push notifications), `gate`
//! (what every request passes through, and Google's error formats).

#![allow(clippy::unwrap_used, clippy::expect_used)]
// Helpers fail with the finished error response; its size is of no concern in a test server.
#![allow(clippy::result_large_err)]

mod channels;
mod events;
mod gate;
mod identity;
mod listing;
mod recurrence;

pub use channels::{MAX_CHANNEL_ID_CHARS, MAX_CHANNEL_TOKEN_CHARS};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::routing::{get, post};
use jiff::Timestamp;

use self::channels::Channel;
use super::oauth::{Refresh, TokenStyle};
use super::push::Delivery;
use super::server::{Core, Loopback, Running, core_api};
use super::spec::GoogleDiscovery;

pub const CLIENT_ID: &str = "emulated-google-client.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "emulated-google-secret";
/// The one account; its primary calendar's id is its address.
pub const ACCOUNT: &str = "owner@example.com";
pub const TEAM_CALENDAR: &str = "team@group.calendar.google.com";
pub const HOLIDAYS_CALENDAR: &str = "holidays@group.v.calendar.google.com";

pub struct GoogleEmulator {
    running: Running,
    shared: Arc<Shared>,
}

struct Shared {
    core: Core,
    discovery: GoogleDiscovery,
    /// `http://127.0.0.1:PORT/calendar/v3/`
    api_base: String,
    data: Mutex<Data>,
}

struct Calendar {
    id: &'static str,
    summary: &'static str,
    access_role: &'static str,
    primary: bool,
    time_zone: String,
    /// By id; deleted events stay, `cancelled`, as Google keeps them. Changed instances of recurring events
    /// (exceptions) are stored under their instance id, with `recurringEventId`.
    events: HashMap<String, serde_json::Value>,
    /// Event id → the change number of its last change: what sync tokens compare against.
    changes: HashMap<String, u64>,
    updated: Timestamp,
}

struct Data {
    /// How far the emulator's clock is ahead of the real one, so that expiries agree with a test's manual clock.
    skew_ms: i64,
    calendars: Vec<Calendar>,
    /// The last change number handed out, across calendars.
    change_seq: u64,
    /// Sync tokens carry the generation they were issued in; invalidating tokens starts a new one.
    token_generation: u64,
    channels: Vec<Channel>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Data> {
        self.data.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn violation(&self, problem: String) {
        self.core.ledger.violation(problem);
    }

    /// Records a change to an event of calendar `c` and posts the `exists` messages of the channels watching it.
    fn changed(&self, mut data: MutexGuard<'_, Data>, c: usize, event_id: &str) {
        let deliveries = self.core.postman.keep(data.touch(c, event_id));
        drop(data);
        self.core.postman.send(deliveries);
    }
}

impl Data {
    fn calendar(&mut self, id: &str) -> Option<&mut Calendar> {
        let index = self.calendar_index(id)?;
        Some(&mut self.calendars[index])
    }

    fn calendar_index(&self, id: &str) -> Option<usize> {
        let id = if id == "primary" { ACCOUNT } else { id };
        self.calendars.iter().position(|calendar| calendar.id == id)
    }

    /// Records a change to an event of calendar `c` and returns the `exists` messages of the channels watching it.
    fn touch(&mut self, c: usize, event_id: &str) -> Vec<Delivery> {
        self.change_seq += 1;
        let seq = self.change_seq;
        let calendar = &mut self.calendars[c];
        calendar.changes.insert(event_id.to_owned(), seq);
        calendar.updated = Timestamp::now();
        let calendar_id = calendar.id;
        let mut deliveries = Vec::new();
        for channel in &mut self.channels {
            if channel.calendar == calendar_id && channel.live() {
                deliveries.push(channel.message("exists"));
            }
        }
        deliveries
    }
}

impl GoogleEmulator {
    pub async fn start() -> Self {
        let loopback = Loopback::bind().await;
        let address = loopback.address;
        let calendar = |id, summary, access_role, primary, zone: &str| Calendar {
            id,
            summary,
            access_role,
            primary,
            time_zone: zone.to_owned(),
            events: HashMap::new(),
            changes: HashMap::new(),
            updated: Timestamp::now(),
        };
        let (core, delivering) = Core::start(TokenStyle {
            access_prefix: "ya29.",
            refresh_prefix: "1//",
            code_prefix: "4/0A",
            refresh: Refresh::Kept,
            connected_scope: identity::EVENTS_SCOPE,
        });
        let shared = Arc::new(Shared {
            core,
            discovery: GoogleDiscovery::load(),
            api_base: format!("http://{address}/calendar/v3/"),
            data: Mutex::new(Data {
                skew_ms: 0,
                calendars: vec![
                    calendar(ACCOUNT, ACCOUNT, "owner", true, "Europe/London"),
                    calendar(TEAM_CALENDAR, "Team", "writer", false, "America/New_York"),
                    calendar(
                        HOLIDAYS_CALENDAR,
                        "Holidays",
                        "reader",
                        false,
                        "America/New_York",
                    ),
                ],
                change_seq: 0,
                token_generation: 0,
                channels: Vec::new(),
            }),
        });
        let router = Router::new()
            .route(identity::AUTHORIZE_PATH, get(identity::authorize))
            .route(identity::TOKEN_PATH, post(identity::token))
            .route(identity::REVOKE_PATH, post(identity::revoke))
            .route(
                "/calendar/v3/users/me/calendarList",
                get(events::calendar_list),
            )
            .route(
                "/calendar/v3/calendars/{calendar}/events",
                get(listing::list_events).post(events::insert_event),
            )
            .route(
                "/calendar/v3/calendars/{calendar}/events/watch",
                post(channels::watch_events),
            )
            .route(
                "/calendar/v3/calendars/{calendar}/events/{event}",
                get(events::get_event)
                    .patch(events::patch_or_update_event)
                    .put(events::patch_or_update_event)
                    .delete(events::delete_event),
            )
            .route("/calendar/v3/channels/stop", post(channels::stop_channel));
        let router = gate::guarded(router, &shared);
        Self {
            running: loopback.serve(router, vec![delivering]),
            shared,
        }
    }

    /// The counterpart of `https://www.googleapis.com/calendar/v3/`.
    pub fn api_base(&self) -> String {
        self.running.url("/calendar/v3/")
    }
}

core_api!(
    GoogleEmulator,
    identity::AUTHORIZE_PATH,
    identity::TOKEN_PATH
);
