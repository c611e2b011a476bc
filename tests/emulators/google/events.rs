//! The calendar list and event CRUD: client-chosen base32hex ids, 409 for an id already used (even by a deleted
//! event), deleted events kept as `cancelled` and revived by a patch, 410 for deleting one twice, read-only
//! calendars; and the user's own edits, which count as changes like API writes do.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Map, Value, json};

use super::gate::{checked, google_error, not_found};
use super::recurrence::instances;
use super::{ACCOUNT, Calendar, GoogleEmulator, Shared};

impl GoogleEmulator {
    /// Live events of the calendar (not `cancelled`).
    pub fn events(&self, calendar_id: &str) -> Vec<Value> {
        self.all_events(calendar_id)
            .into_iter()
            .filter(|event| event["status"] != "cancelled")
            .collect()
    }

    /// Every event of the calendar, the deleted (`cancelled`) ones included.
    pub fn all_events(&self, calendar_id: &str) -> Vec<Value> {
        let mut data = self.shared.lock();
        data.calendar(calendar_id)
            .map(|calendar| calendar.events.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The user creates an event in Google Calendar: Google's defaults are filled in (status, created, updated,
    /// etag, iCalUID, an id when `event` has none). Returns the id. A recurring event has `recurrence`
    /// (`RRULE:FREQ=DAILY|WEEKLY;…`).
    pub fn add_event(&self, calendar_id: &str, event: Value) -> String {
        let mut fields = event.as_object().cloned().expect("an event object");
        let id = fields
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(new_event_id, str::to_owned);
        fields.insert("id".into(), json!(id));
        let problems = self
            .shared
            .discovery
            .check_schema("Event", &Value::Object(fields.clone()));
        assert!(problems.is_empty(), "add_event: {problems:?}");
        let mut data = self.shared.lock();
        let c = data.calendar_index(calendar_id).expect("a known calendar");
        assert!(
            !data.calendars[c].events.contains_key(&id),
            "add_event: {id} exists"
        );
        let event = stamped(fields, data.calendars[c].id, &id, 0);
        data.calendars[c].events.insert(id.clone(), event);
        self.shared.changed(data, c, &id);
        id
    }

    /// The user edits an event: `patch` is merged into it. On an instance id of a recurring event, that instance
    /// becomes an exception.
    pub fn update_event(&self, calendar_id: &str, event_id: &str, patch: Value) {
        if let Err(response) =
            write_event(&self.shared, calendar_id, event_id, &patch, false, false)
        {
            panic!("update_event {event_id}: {}", response.status());
        }
    }

    /// The user deletes an event (it stays, `cancelled`); on an instance id, only that instance is cancelled.
    pub fn delete_event(&self, calendar_id: &str, event_id: &str) {
        if let Err(response) = cancel_event(&self.shared, calendar_id, event_id, false) {
            panic!("delete_event {event_id}: {}", response.status());
        }
    }

    /// The calendar's time zone, answered as the `timeZone` of listings (the primary calendar's is Europe/London
    /// until set).
    pub fn set_time_zone(&self, calendar_id: &str, zone: &str) {
        assert!(TimeZone::get(zone).is_ok(), "unknown zone {zone}");
        let mut data = self.shared.lock();
        let c = data.calendar_index(calendar_id).expect("a known calendar");
        data.calendars[c].time_zone = zone.to_owned();
    }
}

pub(super) async fn calendar_list(State(shared): State<Arc<Shared>>) -> Response {
    let items: Vec<Value> = shared
        .lock()
        .calendars
        .iter()
        .map(|calendar| {
            let mut entry = json!({
                "kind": "calendar#calendarListEntry",
                "etag": format!("\"{}\"", calendar.id.len()),
                "id": calendar.id,
                "summary": calendar.summary,
                "timeZone": calendar.time_zone,
                "accessRole": calendar.access_role,
            });
            if calendar.primary {
                entry["primary"] = json!(true);
            }
            entry
        })
        .collect();
    let list = json!({
        "kind": "calendar#calendarList",
        "etag": "\"p33c\"",
        "items": items,
    });
    checked(&shared, "CalendarList", StatusCode::OK, list)
}

/// Google's rule for client-chosen ids: base32hex characters, 5 to 1024 of them.
fn valid_event_id(id: &str) -> bool {
    (5..=1024).contains(&id.len()) && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'v'))
}

fn writable(calendar: &Calendar) -> Result<(), Response> {
    if matches!(calendar.access_role, "owner" | "writer") {
        Ok(())
    } else {
        Err(google_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "You need to have writer access to this calendar.",
        ))
    }
}

fn stamped(mut event: Map<String, Value>, calendar: &str, id: &str, sequence: u64) -> Value {
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    event.insert("kind".into(), json!("calendar#event"));
    event.insert("id".into(), json!(id));
    event.insert(
        "etag".into(),
        json!(format!(
            "\"{}\"",
            uuid::Uuid::new_v4().as_u128() % 10_u128.pow(16)
        )),
    );
    event.insert("updated".into(), json!(now));
    event.entry("created").or_insert(json!(now));
    event.insert("sequence".into(), json!(sequence));
    event.insert("iCalUID".into(), json!(format!("{id}@google.com")));
    event.insert(
        "htmlLink".into(),
        json!(format!("https://www.google.com/calendar/event?eid={id}")),
    );
    event.insert(
        "organizer".into(),
        json!({ "email": calendar, "self": true }),
    );
    event.insert("creator".into(), json!({ "email": ACCOUNT, "self": true }));
    event.entry("status").or_insert(json!("confirmed"));
    Value::Object(event)
}

fn new_event_id() -> String {
    URL_SAFE_NO_PAD
        .encode(uuid::Uuid::new_v4().as_bytes())
        .to_lowercase()
        .chars()
        .filter(|c| matches!(c, '0'..='9' | 'a'..='v'))
        .collect()
}

pub(super) async fn insert_event(
    State(shared): State<Arc<Shared>>,
    Path(calendar_id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let mut data = shared.lock();
    let Some(c) = data.calendar_index(&calendar_id) else {
        return not_found();
    };
    let calendar = &mut data.calendars[c];
    if let Err(refused) = writable(calendar) {
        return refused;
    }
    let Some(fields) = body.as_object().cloned() else {
        return google_error(StatusCode::BAD_REQUEST, "invalid", "Invalid body");
    };
    if fields.get("start").is_none() || fields.get("end").is_none() {
        return google_error(StatusCode::BAD_REQUEST, "required", "Missing end time.");
    }
    let id = match fields.get("id").and_then(Value::as_str) {
        Some(id) if !valid_event_id(id) => {
            shared.violation(format!(
                "calendar.events.insert: id {id:?} is not 5 to 1024 base32hex characters"
            ));
            return google_error(
                StatusCode::BAD_REQUEST,
                "invalid",
                "Invalid resource id value.",
            );
        }
        Some(id) => id.to_owned(),
        None => new_event_id(),
    };
    if calendar.events.contains_key(&id) {
        return google_error(
            StatusCode::CONFLICT,
            "duplicate",
            "The requested identifier already exists.",
        );
    }
    let event = stamped(fields, calendar.id, &id, 0);
    calendar.events.insert(id.clone(), event.clone());
    shared.changed(data, c, &id);
    checked(&shared, "Event", StatusCode::OK, event)
}

/// A stored event, or an instance of a recurring one by its instance id.
fn find_event(calendar: &Calendar, event_id: &str) -> Option<Value> {
    if let Some(event) = calendar.events.get(event_id) {
        return Some(event.clone());
    }
    let (master_id, _) = event_id.rsplit_once('_')?;
    let master = calendar.events.get(master_id)?;
    instances(calendar, master)
        .into_iter()
        .find(|instance| instance.event["id"] == event_id)
        .map(|instance| instance.event)
}

pub(super) async fn get_event(
    State(shared): State<Arc<Shared>>,
    Path((calendar_id, event_id)): Path<(String, String)>,
) -> Response {
    let mut data = shared.lock();
    let Some(calendar) = data.calendar(&calendar_id) else {
        return not_found();
    };
    let Some(event) = find_event(calendar, &event_id) else {
        return not_found();
    };
    drop(data);
    checked(&shared, "Event", StatusCode::OK, event)
}

/// Patches (`replace` false) or replaces an event, or an instance of a recurring event, which then becomes an
/// exception. `by_api` applies the calendar's access role (the user in the web UI is its owner).
fn write_event(
    shared: &Shared,
    calendar_id: &str,
    event_id: &str,
    body: &Value,
    replace: bool,
    by_api: bool,
) -> Result<Value, Response> {
    let mut data = shared.lock();
    let c = data.calendar_index(calendar_id).ok_or_else(not_found)?;
    let calendar = &mut data.calendars[c];
    if by_api {
        writable(calendar)?;
    }
    let calendar_name = calendar.id;
    let current = find_event(calendar, event_id).ok_or_else(not_found)?;
    let Some(changes) = body.as_object() else {
        return Err(google_error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "Invalid body",
        ));
    };
    let mut fields = if replace {
        Map::new()
    } else {
        current.as_object().cloned().unwrap_or_default()
    };
    for (name, value) in changes {
        fields.insert(name.clone(), value.clone());
    }
    for kept in ["created", "recurringEventId", "originalStartTime"] {
        if let Some(value) = current.get(kept) {
            fields.insert(kept.into(), value.clone());
        }
    }
    // A patch without a status leaves a cancelled event cancelled, as Google does.
    if !changes.contains_key("status") {
        if let Some(status) = current.get("status") {
            fields.insert("status".into(), status.clone());
        }
    }
    let sequence = current["sequence"].as_u64().unwrap_or(0) + 1;
    let mut event = stamped(fields, calendar_name, event_id, sequence);
    if let Some(uid) = current.get("iCalUID") {
        event["iCalUID"] = uid.clone();
    }
    calendar.events.insert(event_id.to_owned(), event.clone());
    shared.changed(data, c, event_id);
    Ok(event)
}

/// `events.patch` (PATCH) merges the body into the event, `events.update` (PUT) replaces it.
pub(super) async fn patch_or_update_event(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path((calendar_id, event_id)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    let replace = method == Method::PUT;
    match write_event(&shared, &calendar_id, &event_id, &body, replace, true) {
        Ok(event) => checked(&shared, "Event", StatusCode::OK, event),
        Err(response) => response,
    }
}

/// Marks an event `cancelled` (an instance becomes a cancelled exception); 410 when it already is.
fn cancel_event(
    shared: &Shared,
    calendar_id: &str,
    event_id: &str,
    by_api: bool,
) -> Result<(), Response> {
    let mut data = shared.lock();
    let c = data.calendar_index(calendar_id).ok_or_else(not_found)?;
    let calendar = &mut data.calendars[c];
    if by_api {
        writable(calendar)?;
    }
    let mut event = find_event(calendar, event_id).ok_or_else(not_found)?;
    if event["status"] == "cancelled" {
        return Err(google_error(
            StatusCode::GONE,
            "deleted",
            "Resource has been deleted",
        ));
    }
    event["status"] = json!("cancelled");
    event["updated"] = json!(google_now());
    calendar.events.insert(event_id.to_owned(), event);
    shared.changed(data, c, event_id);
    Ok(())
}

pub(super) async fn delete_event(
    State(shared): State<Arc<Shared>>,
    Path((calendar_id, event_id)): Path<(String, String)>,
) -> Response {
    match cancel_event(&shared, &calendar_id, &event_id, true) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(response) => response,
    }
}

fn google_now() -> String {
    Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}
