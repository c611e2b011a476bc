//! Calendars and event CRUD: opaque ids chosen by the server, `transactionId` making a repeated create answer the
//! existing event, `$filter` on a single-value extended property (which a lagging search index may miss), real
//! deletion, read-only calendars; occurrences of a series become exceptions when written; and the user's own edits,
//! which count as changes like API writes do.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::body::{event_body, user_fields};
use super::gate::{graph_error, not_found};
use super::odata::{expansion, options, parse_property_filter, property};
use super::recurrence::occurrences;
use super::render::{applied, preferred_zone, render_event, timestamp_now};
use super::{ACCOUNT, ACCOUNT_NAME, Calendar, Data, GraphEmulator, Shared, USER_ID};
use crate::emulators::push::Delivery;

/// Graph pages collections at sizes of its choosing; paging calendars by two makes clients follow
/// `@odata.nextLink`.
const CALENDAR_PAGE_SIZE: usize = 2;

impl GraphEmulator {
    /// The id of the calendar with this display name (`Calendar`, `Team` or `Birthdays`).
    pub fn calendar_id(&self, name: &str) -> String {
        let data = self.shared.lock();
        let calendar = data.calendars.iter().find(|c| c.name == name);
        calendar
            .unwrap_or_else(|| panic!("no calendar {name}"))
            .id
            .clone()
    }

    /// The calendar's events as stored: times in the zone they were written in, extended properties included.
    pub fn events(&self, calendar_id: &str) -> Vec<Value> {
        let data = self.shared.lock();
        let calendar = data.calendars.iter().find(|c| c.id == calendar_id);
        calendar.map(|c| c.events.clone()).unwrap_or_default()
    }

    /// While on, `$filter` lookups by extended property find nothing, as when Exchange has not indexed a new item
    /// yet; only `transactionId` then stands between a retried create and a duplicate.
    pub fn set_search_lag(&self, lagging: bool) {
        self.shared.lock().search_lag = lagging;
    }

    /// The user creates an event in Outlook; returns its id. A series has `recurrence` (a `PatternedRecurrence`,
    /// daily or weekly, its range `numbered`, `endDate` or `noEnd`).
    pub fn add_event(&self, calendar_id: &str, event: Value) -> String {
        let mut fields = user_fields(&self.shared, "add_event", event);
        let mut data = self.shared.lock();
        let c = data
            .calendar_index(calendar_id)
            .unwrap_or_else(|_| panic!("a known calendar"));
        data.sequence += 1;
        fields.retain(|_, value| !value.is_null());
        let event = new_event(fields, data.sequence, c);
        let id = event["id"].as_str().unwrap_or_default().to_owned();
        data.calendars[c].events.push(event);
        let deliveries = data.touch(c, &id, "created");
        drop(data);
        self.shared.post(deliveries);
        id
    }

    /// The user edits an event: `patch` replaces the properties it names. On an occurrence of a series, that
    /// occurrence becomes an exception.
    pub fn update_event(&self, calendar_id: &str, event_id: &str, patch: Value) {
        let changes = user_fields(&self.shared, "update_event", patch);
        let mut data = self.shared.lock();
        let (c, e) = data
            .materialize(Some(calendar_id), event_id)
            .ok()
            .unwrap_or_else(|| panic!("update_event: no event {event_id}"));
        merge_event(&mut data.calendars[c].events[e], changes);
        let deliveries = data.touch(c, event_id, "updated");
        drop(data);
        self.shared.post(deliveries);
    }

    /// The user deletes an event (a series with its exceptions); on an occurrence, only that occurrence.
    pub fn delete_event(&self, calendar_id: &str, event_id: &str) {
        let mut data = self.shared.lock();
        let (c, e) = data
            .materialize(Some(calendar_id), event_id)
            .ok()
            .unwrap_or_else(|| panic!("delete_event: no event {event_id}"));
        let deliveries = data.delete_at(c, e);
        drop(data);
        self.shared.post(deliveries);
    }
}

pub(super) async fn list_calendars(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let options = match options(&shared, &query, &["top", "skip"]) {
        Ok(options) => options,
        Err(response) => return response,
    };
    let page_size = options
        .top
        .unwrap_or(CALENDAR_PAGE_SIZE)
        .clamp(1, CALENDAR_PAGE_SIZE);
    let (page, more): (Vec<Value>, bool) = {
        let data = shared.lock();
        let all: Vec<Value> = data.calendars.iter().map(calendar_json).collect();
        let page = all
            .iter()
            .skip(options.skip)
            .take(page_size)
            .cloned()
            .collect();
        (page, all.len() > options.skip + page_size)
    };
    for calendar in &page {
        shared.check("Calendar", "calendars.list answer", calendar);
    }
    let mut body = json!({
        "@odata.context": format!("{}$metadata#users('{USER_ID}')/calendars", shared.graph_base()),
        "value": page,
    });
    if more {
        body["@odata.nextLink"] = json!(format!(
            "{}me/calendars?%24top={page_size}&%24skip={}",
            shared.graph_base(),
            options.skip + page_size
        ));
    }
    Json(body).into_response()
}

fn calendar_json(calendar: &Calendar) -> Value {
    json!({
        "id": calendar.id,
        "name": calendar.name,
        "color": "auto",
        "hexColor": "",
        "isDefaultCalendar": calendar.is_default,
        "changeKey": calendar.change_key,
        "canShare": calendar.can_edit,
        "canViewPrivateItems": true,
        "canEdit": calendar.can_edit,
        "isRemovable": !calendar.is_default && calendar.can_edit,
        "isTallyingResponses": calendar.can_edit,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "owner": { "name": ACCOUNT_NAME, "address": ACCOUNT },
    })
}

pub(super) async fn list_events(
    State(shared): State<Arc<Shared>>,
    Path(calendar_id): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let options = match options(&shared, &query, &["filter", "select", "expand", "top"]) {
        Ok(options) => options,
        Err(response) => return response,
    };
    let wanted = match options
        .filter
        .as_deref()
        .map(parse_property_filter)
        .transpose()
    {
        Ok(wanted) => wanted,
        Err(problem) => {
            return shared.bad_request("BadRequest", format!("Invalid filter clause: {problem}"));
        }
    };
    let expand = match expansion(&shared, options.expand.as_deref()) {
        Ok(expand) => expand,
        Err(response) => return response,
    };
    let zone = preferred_zone(&headers);
    let events: Vec<Value> = {
        let data = shared.lock();
        let index = match data.calendar_index(&calendar_id) {
            Ok(index) => index,
            Err(response) => return response,
        };
        data.calendars[index]
            .events
            .iter()
            .filter(|event| match &wanted {
                None => true,
                Some(_) if data.search_lag => false,
                Some((id, value)) => property(event, id).is_some_and(|v| v == value),
            })
            .take(options.top.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    };
    let value: Vec<Value> = events
        .iter()
        .map(|event| render_event(event, &options.select, expand.as_deref(), zone.as_deref()))
        .collect();
    for event in &value {
        shared.check("Event", "events.list answer", event);
    }
    let mut response = Json(json!({
        "@odata.context": format!(
            "{}$metadata#users('{USER_ID}')/calendars('{calendar_id}')/events",
            shared.graph_base()
        ),
        "value": value,
    }))
    .into_response();
    applied(&mut response, zone.as_deref());
    response
}

fn editable(data: &Data, calendar: usize) -> Result<(), Response> {
    if data.calendars[calendar].can_edit {
        Ok(())
    } else {
        Err(graph_error(
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access is denied. Check credentials and try again.",
        ))
    }
}

pub(super) async fn create_event(
    State(shared): State<Arc<Shared>>,
    Path(calendar_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = match event_body(&shared, "events.create", &body, true) {
        Ok(fields) => fields,
        Err(response) => return response,
    };
    let zone = preferred_zone(&headers);
    let (event, deliveries) = {
        let mut data = shared.lock();
        let calendar = match data
            .calendar_index(&calendar_id)
            .and_then(|c| editable(&data, c).map(|()| c))
        {
            Ok(calendar) => calendar,
            Err(response) => return response,
        };
        let repeated = fields
            .get("transactionId")
            .and_then(Value::as_str)
            .and_then(|transaction| data.transactions.get(transaction))
            .and_then(|event_id| data.locate(None, event_id).ok());
        match repeated {
            Some((c, e)) => (data.calendars[c].events[e].clone(), Vec::new()),
            None => {
                data.sequence += 1;
                let event = new_event(fields, data.sequence, calendar);
                let id = event["id"].as_str().unwrap_or_default().to_owned();
                if let Some(transaction) = event["transactionId"].as_str() {
                    data.transactions.insert(transaction.to_owned(), id.clone());
                }
                data.calendars[calendar].events.push(event.clone());
                let deliveries = data.touch(calendar, &id, "created");
                (event, deliveries)
            }
        }
    };
    shared.post(deliveries);
    let answer = respond_with_event(
        &shared,
        &event,
        &calendar_id,
        (&None, None, zone.as_deref()),
        "event answer",
    );
    (StatusCode::CREATED, answer).into_response()
}

fn new_event(mut fields: Map<String, Value>, sequence: u64, calendar: usize) -> Value {
    let mut raw = vec![0x46_u8, calendar as u8];
    raw.extend_from_slice(&sequence.to_be_bytes());
    raw.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    let id = format!("AAMkAGI2{}", URL_SAFE.encode(&raw));
    let now = timestamp_now();
    let content = fields
        .get("body")
        .and_then(|body| body["content"].as_str())
        .unwrap_or_default();
    let preview: String = content.chars().take(255).collect();
    let defaults = json!({
        "id": id,
        "createdDateTime": now,
        "lastModifiedDateTime": now,
        "changeKey": random_key(),
        "categories": [],
        "transactionId": null,
        "originalStartTimeZone": fields.get("start").map_or(json!("UTC"), |t| t["timeZone"].clone()),
        "originalEndTimeZone": fields.get("end").map_or(json!("UTC"), |t| t["timeZone"].clone()),
        "iCalUId": format!("040000008200E00074C5B7101A82E00800000000{}", hex_upper(uuid::Uuid::new_v4().as_bytes())),
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": true,
        "hasAttachments": false,
        "subject": "",
        "bodyPreview": preview,
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": false,
        "isCancelled": false,
        "isOrganizer": true,
        "responseRequested": true,
        "seriesMasterId": null,
        "showAs": "busy",
        "type": "singleInstance",
        "webLink": format!(
            "https://outlook.office365.com/owa/?itemid={}&exvsurl=1&path=/calendar/item",
            id.replace('=', "%3D").replace('+', "%2B").replace('/', "%2F")
        ),
        "onlineMeetingUrl": null,
        "isOnlineMeeting": false,
        "onlineMeetingProvider": "unknown",
        "allowNewTimeProposals": true,
        "isDraft": false,
        "hideAttendees": false,
        "recurrence": null,
        "onlineMeeting": null,
        "responseStatus": { "response": "organizer", "time": "0001-01-01T00:00:00Z" },
        "body": { "contentType": "html", "content": "" },
        "location": { "displayName": "", "locationType": "default", "uniqueIdType": "unknown", "address": {}, "coordinates": {} },
        "locations": [],
        "attendees": [],
        "organizer": { "emailAddress": { "name": ACCOUNT_NAME, "address": ACCOUNT } },
    });
    let Value::Object(mut event) = defaults else {
        unreachable!("a JSON object literal")
    };
    event.append(&mut fields);
    if event.get("recurrence").is_some_and(Value::is_object) {
        event.insert("type".into(), json!("seriesMaster"));
    }
    Value::Object(event)
}

/// An event as an answer shows it, `(select, expand, zone)` applied, checked against Graph's types (a violation
/// found is prefixed with `at`).
fn respond_with_event(
    shared: &Shared,
    stored: &Value,
    calendar_id: &str,
    (select, expand, zone): (&Option<Vec<String>>, Option<&str>, Option<&str>),
    at: &str,
) -> Response {
    let mut event = render_event(stored, select, expand, zone);
    event["@odata.context"] = json!(format!(
        "{}$metadata#users('{USER_ID}')/calendars('{calendar_id}')/events/$entity",
        shared.graph_base()
    ));
    shared.check("Event", at, &event);
    let mut response = Json(event).into_response();
    applied(&mut response, zone);
    response
}

/// An event as a request addresses it: `me/calendars/{calendar}/events/{event}`, or `me/events/{event}` in any
/// calendar.
#[derive(Deserialize)]
pub(super) struct EventPath {
    calendar: Option<String>,
    event: String,
}

/// One event, by method: GET reads it, PATCH updates it, DELETE removes it.
pub(super) async fn an_event(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path(at): Path<EventPath>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let calendar = at.calendar.as_deref();
    match method {
        Method::PATCH => update_event(&shared, calendar, &at.event, &headers, &body),
        Method::DELETE => remove_event(&shared, calendar, &at.event),
        _ => read_event(&shared, calendar, &at.event, &query, &headers),
    }
}

fn read_event(
    shared: &Shared,
    calendar: Option<&str>,
    event_id: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
) -> Response {
    let options = match options(shared, query, &["select", "expand"]) {
        Ok(options) => options,
        Err(response) => return response,
    };
    let expand = match expansion(shared, options.expand.as_deref()) {
        Ok(expand) => expand,
        Err(response) => return response,
    };
    let zone = preferred_zone(headers);
    let (stored, calendar_id) = {
        let data = shared.lock();
        match data.locate(calendar, event_id) {
            Ok((c, e)) => (
                data.calendars[c].events[e].clone(),
                data.calendars[c].id.clone(),
            ),
            Err(response) => return response,
        }
    };
    respond_with_event(
        shared,
        &stored,
        &calendar_id,
        (&options.select, expand.as_deref(), zone.as_deref()),
        "events.get answer",
    )
}

fn update_event(
    shared: &Shared,
    calendar: Option<&str>,
    event_id: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let changes = match event_body(shared, "events.update", body, false) {
        Ok(changes) => changes,
        Err(response) => return response,
    };
    let zone = preferred_zone(headers);
    let (updated, calendar_id, deliveries) = {
        let mut data = shared.lock();
        let (c, e) = match data.writable(calendar, event_id) {
            Ok(found) => found,
            Err(response) => return response,
        };
        merge_event(&mut data.calendars[c].events[e], changes);
        let deliveries = data.touch(c, event_id, "updated");
        (
            data.calendars[c].events[e].clone(),
            data.calendars[c].id.clone(),
            deliveries,
        )
    };
    shared.post(deliveries);
    respond_with_event(
        shared,
        &updated,
        &calendar_id,
        (&None, None, zone.as_deref()),
        "event answer",
    )
}

/// Graph's PATCH: the properties sent replace those stored, extended properties are merged by id.
fn merge_event(event: &mut Value, changes: Map<String, Value>) {
    for (name, value) in changes {
        match name.as_str() {
            // Graph adds or replaces the properties sent and keeps the others.
            "singleValueExtendedProperties" => {
                let mut merged = event[&name].as_array().cloned().unwrap_or_default();
                for property in value.as_array().into_iter().flatten() {
                    let id = property["id"].as_str().unwrap_or_default();
                    merged.retain(|p| {
                        !p["id"]
                            .as_str()
                            .is_some_and(|pid| pid.eq_ignore_ascii_case(id))
                    });
                    merged.push(property.clone());
                }
                event[&name] = Value::Array(merged);
            }
            "start" | "end" => {
                let original = if name == "start" {
                    "originalStartTimeZone"
                } else {
                    "originalEndTimeZone"
                };
                event[original] = value["timeZone"].clone();
                event[&name] = value;
            }
            _ => event[&name] = value,
        }
    }
    if let Some(content) = event["body"]["content"].as_str() {
        event["bodyPreview"] = json!(content.chars().take(255).collect::<String>());
    }
    event["lastModifiedDateTime"] = json!(timestamp_now());
    event["changeKey"] = json!(random_key());
}

fn remove_event(shared: &Shared, calendar: Option<&str>, event_id: &str) -> Response {
    let mut data = shared.lock();
    let (c, e) = match data.writable(calendar, event_id) {
        Ok(found) => found,
        Err(response) => return response,
    };
    let deliveries = data.delete_at(c, e);
    drop(data);
    shared.post(deliveries);
    StatusCode::NO_CONTENT.into_response()
}

impl Data {
    /// An event the API may write: found (an occurrence stored as an exception first) in a calendar it can edit.
    fn writable(
        &mut self,
        calendar: Option<&str>,
        event_id: &str,
    ) -> Result<(usize, usize), Response> {
        let (c, e) = self.materialize(calendar, event_id)?;
        editable(self, c)?;
        Ok((c, e))
    }

    /// Like `locate`, but an occurrence of a series (which is not stored) is first stored as an exception. A
    /// cancelled occurrence is not found.
    fn materialize(
        &mut self,
        calendar: Option<&str>,
        event_id: &str,
    ) -> Result<(usize, usize), Response> {
        match self.locate(calendar, event_id) {
            Ok((c, e)) => {
                let event = &self.calendars[c].events[e];
                if event["type"] == "exception" && event["isCancelled"] == true {
                    return Err(not_found());
                }
                Ok((c, e))
            }
            Err(response) if response.status() != StatusCode::NOT_FOUND => Err(response),
            Err(missing) => {
                let Some((master_id, _)) = event_id.rsplit_once("_occ_") else {
                    return Err(missing);
                };
                let Ok((c, m)) = self.locate(calendar, master_id) else {
                    return Err(missing);
                };
                let occurrence = occurrences(&self.calendars[c].events[m])
                    .into_iter()
                    .find(|o| o.event["id"] == event_id);
                let Some(occurrence) = occurrence else {
                    return Err(missing);
                };
                let mut exception = occurrence.event;
                exception["type"] = json!("exception");
                self.calendars[c].events.push(exception);
                Ok((c, self.calendars[c].events.len() - 1))
            }
        }
    }

    /// Deletes the event at `(c, e)`: an exception stays, cancelled, so its occurrence does not come back; a series
    /// goes with its exceptions.
    fn delete_at(&mut self, c: usize, e: usize) -> Vec<Delivery> {
        let events = &mut self.calendars[c].events;
        let id = events[e]["id"].as_str().unwrap_or_default().to_owned();
        if events[e]["type"] == "exception" {
            events[e]["isCancelled"] = json!(true);
            events[e]["lastModifiedDateTime"] = json!(timestamp_now());
        } else {
            events.remove(e);
            events.retain(|event| event["seriesMasterId"] != id.as_str());
            self.transactions.retain(|_, event| *event != id);
        }
        self.touch(c, &id, "deleted")
    }
}

/// Graph's REST ids: `AAMk…`, base64 with URL-safe characters; anything else is answered 400.
pub(super) fn well_formed(id: &str) -> Result<(), Response> {
    let well_formed = id.len() > 8
        && id.starts_with("AAMk")
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'='));
    if well_formed {
        Ok(())
    } else {
        Err(graph_error(
            StatusCode::BAD_REQUEST,
            "ErrorInvalidIdMalformed",
            "Id is malformed.",
        ))
    }
}

pub(super) fn random_key() -> String {
    STANDARD.encode(uuid::Uuid::new_v4().as_bytes())
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
