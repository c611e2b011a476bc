//! Inbound sync: `calendarView/delta` answers the events of a window (occurrences and exceptions of series expanded,
//! never series masters), pages by `@odata.nextLink` and ends with an `@odata.deltaLink` that later returns only what
//! changed (`@removed` for what was deleted, cancelled or moved out of the window), 410 `syncStateNotFound` once
//! invalidated.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

use super::gate::graph_error;
use super::recurrence::occurrences;
use super::render::{applied, preferred_zone, render_event, stored_instant};
use super::{Calendar, GraphEmulator, Shared};
use crate::emulators::oauth::random_token;

/// Delta pages hold this many events unless `Prefer: odata.maxpagesize=N` asks otherwise.
const DELTA_PAGE_SIZE: usize = 3;

impl GraphEmulator {
    /// Every delta and skip token issued so far stops working: 410 `syncStateNotFound`.
    pub fn invalidate_delta_tokens(&self) {
        let mut data = self.shared.lock();
        data.delta_states.clear();
        data.delta_pages.clear();
    }
}

/// What a delta token stands for: the window, the change number it was issued at and the events the client has.
#[derive(Clone)]
pub(super) struct DeltaState {
    calendar: usize,
    start: Timestamp,
    end: Timestamp,
    seq: u64,
    known: HashSet<String>,
}

/// A delta answer being paged: its items (stored form, or `@removed` entries) and the state its deltaLink gives.
pub(super) struct DeltaPages {
    items: Vec<Value>,
    offset: usize,
    then: DeltaState,
}

/// The calendar's events in a window as calendarView shows them, each with the change number it was last changed
/// at: single events, and occurrences and exceptions of series (never masters, never cancelled occurrences).
fn view(calendar: &Calendar, start: Timestamp, end: Timestamp) -> Vec<(Value, u64)> {
    let version = |id: &str| calendar.changes.get(id).copied().unwrap_or(0);
    let overlaps = |s: Timestamp, e: Timestamp| s < end && (e > start || (e == s && s >= start));
    let exceptions: HashMap<&str, &Value> = calendar
        .events
        .iter()
        .filter(|event| event["type"] == "exception")
        .filter_map(|event| Some((event["id"].as_str()?, event)))
        .collect();
    let mut items = Vec::new();
    for event in &calendar.events {
        let id = event["id"].as_str().unwrap_or_default();
        match event["type"].as_str() {
            Some("exception") => {}
            Some("seriesMaster") => {
                for occurrence in occurrences(event) {
                    let occurrence_id = occurrence.event["id"].as_str().unwrap_or_default();
                    let (shown, s, e, v) = match exceptions.get(occurrence_id) {
                        Some(exception) if exception["isCancelled"] == true => continue,
                        Some(exception) => {
                            let s = stored_instant(&exception["start"]).unwrap_or(occurrence.start);
                            let e = stored_instant(&exception["end"]).unwrap_or(s);
                            let v = version(id).max(version(occurrence_id));
                            ((*exception).clone(), s, e, v)
                        }
                        None => (
                            occurrence.event.clone(),
                            occurrence.start,
                            occurrence.end,
                            version(id),
                        ),
                    };
                    if overlaps(s, e) {
                        items.push((shown, v));
                    }
                }
            }
            _ => {
                if event["isCancelled"] == true {
                    continue;
                }
                let (Some(s), Some(e)) = (
                    stored_instant(&event["start"]),
                    stored_instant(&event["end"]),
                ) else {
                    continue;
                };
                if overlaps(s, e) {
                    items.push((event.clone(), version(id)));
                }
            }
        }
    }
    items
}

fn sync_state_gone() -> Response {
    graph_error(
        StatusCode::GONE,
        "syncStateNotFound",
        "The sync state generation is not found. Restart the synchronization without a delta token.",
    )
}

/// `startDateTime`/`endDateTime`: an ISO 8601 instant, UTC when it has no offset.
fn window_edge(text: &str) -> Option<Timestamp> {
    text.parse::<Timestamp>().ok().or_else(|| {
        text.parse::<DateTime>()
            .ok()?
            .to_zoned_datetime(TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp())
    })
}

/// `Prefer: odata.maxpagesize=N`.
fn max_page_size(headers: &HeaderMap) -> Option<usize> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|p| p.trim().strip_prefix("odata.maxpagesize=")?.parse().ok())
        .filter(|n| *n > 0)
}

pub(super) async fn calendar_view_delta(
    State(shared): State<Arc<Shared>>,
    Path(calendar_id): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let param = |name: &str| {
        query
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if let Some((name, _)) = query.iter().find(|(n, _)| {
        n.starts_with('$')
            && !["$skiptoken", "$deltatoken", "$select"].contains(&n.to_ascii_lowercase().as_str())
    }) {
        return shared.bad_request(
            "BadRequest",
            format!("calendarView.delta: query option '{name}' is not supported."),
        );
    }
    let select: Option<Vec<String>> =
        param("$select").map(|s| s.split(',').map(|n| n.trim().to_owned()).collect());
    let zone = preferred_zone(&headers);
    let page_size = max_page_size(&headers);
    let mut data = shared.lock();
    let c = match data.calendar_index(&calendar_id) {
        Ok(c) => c,
        Err(response) => return response,
    };
    // Skip tokens stay valid after use, so a page can be fetched again after a failure.
    let pages = if let Some(token) = param("$skiptoken") {
        match data.delta_pages.get(token) {
            Some(pages) => DeltaPages {
                items: pages.items.clone(),
                offset: pages.offset,
                then: pages.then.clone(),
            },
            None => return sync_state_gone(),
        }
    } else {
        let state = if let Some(token) = param("$deltatoken") {
            match data.delta_states.get(token) {
                Some(state) => state.clone(),
                None => return sync_state_gone(),
            }
        } else {
            let (Some(start), Some(end)) = (
                param("startDateTime").and_then(window_edge),
                param("endDateTime").and_then(window_edge),
            ) else {
                drop(data);
                return shared.bad_request(
                    "ErrorInvalidParameter",
                    "calendarView.delta: This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.".to_owned(),
                );
            };
            DeltaState {
                calendar: c,
                start,
                end,
                seq: 0,
                known: HashSet::new(),
            }
        };
        let current = view(&data.calendars[state.calendar], state.start, state.end);
        let ids: HashSet<String> = current
            .iter()
            .filter_map(|(event, _)| event["id"].as_str().map(str::to_owned))
            .collect();
        let mut items: Vec<Value> = current
            .into_iter()
            .filter(|(event, version)| {
                *version > state.seq
                    || !event["id"]
                        .as_str()
                        .is_some_and(|id| state.known.contains(id))
            })
            .map(|(event, _)| event)
            .collect();
        let mut gone: Vec<&String> = state.known.difference(&ids).collect();
        gone.sort();
        items.extend(
            gone.into_iter()
                .map(|id| json!({ "@removed": { "reason": "deleted" }, "id": id })),
        );
        let then = DeltaState {
            seq: data.change_seq,
            known: ids,
            ..state
        };
        DeltaPages {
            items,
            offset: 0,
            then,
        }
    };
    let size = page_size.unwrap_or(DELTA_PAGE_SIZE).min(1000);
    let end = (pages.offset + size).min(pages.items.len());
    let page: Vec<Value> = pages.items[pages.offset..end].to_vec();
    let calendar = data.calendars[pages.then.calendar].id.clone();
    let link_base = format!(
        "{}me/calendars/{calendar}/calendarView/delta",
        shared.graph_base()
    );
    let link = if end < pages.items.len() {
        let token = random_token();
        data.delta_pages.insert(
            token.clone(),
            DeltaPages {
                items: pages.items,
                offset: end,
                then: pages.then,
            },
        );
        ("@odata.nextLink", format!("{link_base}?$skiptoken={token}"))
    } else {
        let token = random_token();
        data.delta_states.insert(token.clone(), pages.then);
        (
            "@odata.deltaLink",
            format!("{link_base}?$deltatoken={token}"),
        )
    };
    drop(data);
    let value: Vec<Value> = page
        .iter()
        .map(|item| {
            if item.get("@removed").is_some() {
                return item.clone();
            }
            let mut event = render_event(item, &select, None, zone.as_deref());
            event["@odata.type"] = json!("#microsoft.graph.event");
            shared.check("Event", "calendarView.delta answer", &event);
            event
        })
        .collect();
    let mut body = json!({
        "@odata.context": format!("{}$metadata#Collection(event)", shared.graph_base()),
        "value": value,
    });
    body[link.0] = json!(link.1);
    let mut response = Json(body).into_response();
    applied(&mut response, zone.as_deref());
    if let Some(size) = page_size {
        let applied = format!("odata.maxpagesize={size}");
        let value = match response.headers().get("preference-applied") {
            Some(zone) => format!("{}, {applied}", zone.to_str().unwrap_or_default()),
            None => applied,
        };
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert("preference-applied", value);
        }
    }
    response
}
