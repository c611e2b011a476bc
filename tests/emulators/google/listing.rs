//! `events.list` and inbound sync: listings page by `nextPageToken` (three events a page, so clients must page) and
//! end with a `nextSyncToken` that later returns only what changed (deletions as `cancelled`); a sync token with
//! filters is refused (400), an invalidated one answered 410 `fullSyncRequired`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::gate::{checked, google_error, not_found};
use super::recurrence::{Listed, instances, listed};
use super::{GoogleEmulator, Shared};

/// Google pages at most this many events whatever `maxResults` asks (it may return fewer than asked): clients must
/// follow `nextPageToken`.
const PAGE_SIZE: usize = 3;

impl GoogleEmulator {
    /// Every sync token issued so far stops working: its next use is answered 410 `fullSyncRequired`.
    pub fn invalidate_sync_tokens(&self) {
        self.shared.lock().token_generation += 1;
    }
}

/// What Google lists for a deleted event: its identity and status, nothing else.
fn cancelled_form(event: &Value) -> Value {
    let mut minimal = json!({
        "kind": "calendar#event",
        "etag": event["etag"],
        "id": event["id"],
        "status": "cancelled",
    });
    for kept in ["recurringEventId", "originalStartTime", "updated"] {
        if let Some(value) = event.get(kept) {
            minimal[kept] = value.clone();
        }
    }
    minimal
}

/// `{generation}:{calendar}:{change number}`, opaque to clients.
fn sync_token(generation: u64, calendar: &str, seq: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("sync:{generation}:{calendar}:{seq}"))
}

fn read_sync_token(token: &str) -> Option<(u64, String, u64)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    let rest = text.strip_prefix("sync:")?;
    let (generation, rest) = rest.split_once(':')?;
    let (calendar, seq) = rest.rsplit_once(':')?;
    Some((
        generation.parse().ok()?,
        calendar.to_owned(),
        seq.parse().ok()?,
    ))
}

/// Where the next page starts: the listing's kind, the change numbers it covers and the sort key of the last event
/// sent (pages follow a key, not an offset, so events moving between pages are neither lost nor repeated).
struct PageToken {
    generation: u64,
    since: Option<u64>,
    snapshot: u64,
    after: (i64, String),
}

fn page_token(token: &PageToken) -> String {
    let since = token
        .since
        .map_or_else(|| "-".to_owned(), |s| s.to_string());
    URL_SAFE_NO_PAD.encode(format!(
        "page:{}:{since}:{}:{}:{}",
        token.generation, token.snapshot, token.after.0, token.after.1
    ))
}

fn read_page_token(token: &str) -> Option<PageToken> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    let mut parts = text.strip_prefix("page:")?.splitn(5, ':');
    let generation = parts.next()?.parse().ok()?;
    let since = match parts.next()? {
        "-" => None,
        number => Some(number.parse().ok()?),
    };
    Some(PageToken {
        generation,
        since,
        snapshot: parts.next()?.parse().ok()?,
        after: (parts.next()?.parse().ok()?, parts.next()?.to_owned()),
    })
}

fn sync_token_gone() -> Response {
    let message = "Sync token is no longer valid, a full sync is required.";
    let body = json!({
        "error": {
            "code": 410,
            "message": message,
            "errors": [{ "domain": "calendar", "reason": "fullSyncRequired", "message": message }],
        }
    });
    (StatusCode::GONE, Json(body)).into_response()
}

/// Parameters `events.list` refuses next to a `syncToken`.
const NOT_WITH_SYNC_TOKEN: &[&str] = &[
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
];

pub(super) async fn list_events(
    State(shared): State<Arc<Shared>>,
    Path(calendar_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let param = |name: &str| query.get(name).map(String::as_str);
    let flag = |name: &str| param(name) == Some("true");
    let bad = |message: String| {
        shared.violation(format!("calendar.events.list: {message}"));
        google_error(StatusCode::BAD_REQUEST, "invalid", &message)
    };
    if param("syncToken").is_some() {
        let clashing: Vec<&str> = NOT_WITH_SYNC_TOKEN
            .iter()
            .copied()
            .filter(|name| query.contains_key(*name))
            .collect();
        if !clashing.is_empty() {
            return bad(format!(
                "Some requested parameters are not compatible with syncToken: {}",
                clashing.join(", ")
            ));
        }
    }
    let single = flag("singleEvents");
    let by_start = match param("orderBy") {
        None | Some("updated") => false,
        Some("startTime") if single => true,
        Some(other) => {
            return bad(format!(
                "The requested ordering {other:?} is not available for the particular query."
            ));
        }
    };
    let instant = |name: &str| param(name).and_then(|t| t.parse::<Timestamp>().ok());
    let (time_min, time_max, updated_min) = (
        instant("timeMin"),
        instant("timeMax"),
        instant("updatedMin"),
    );
    if let (Some(min), Some(max)) = (time_min, time_max) {
        if max <= min {
            return bad("The specified time range is empty.".to_owned());
        }
    }
    let data = shared.lock();
    let generation = data.token_generation;
    let change_seq = data.change_seq;
    let Some(c) = data.calendar_index(&calendar_id) else {
        return not_found();
    };
    let page = match param("pageToken") {
        Some(token) => match read_page_token(token) {
            Some(page) => Some(page),
            None => return google_error(StatusCode::BAD_REQUEST, "invalid", "Invalid page token."),
        },
        None => None,
    };
    let since = match (&page, param("syncToken")) {
        (Some(page), _) => page.since,
        (None, Some(token)) => match read_sync_token(token) {
            Some((issued, calendar, seq))
                if issued == generation && calendar == data.calendars[c].id =>
            {
                Some(seq)
            }
            _ => return sync_token_gone(),
        },
        (None, None) => None,
    };
    // A page of a sync listing is as stale as the token it started from.
    if page
        .as_ref()
        .is_some_and(|p| p.since.is_some() && p.generation != generation)
    {
        return sync_token_gone();
    }
    let snapshot = page.as_ref().map_or(change_seq, |p| p.snapshot);
    let calendar = &data.calendars[c];
    let zone = calendar.time_zone.clone();
    let changed = |ids: &[String]| {
        since.is_none_or(|since| {
            ids.iter()
                .any(|id| calendar.changes.get(id).is_some_and(|seq| *seq > since))
        })
    };
    let mut recurring_without_instances = false;
    let mut items: Vec<Listed> = Vec::new();
    for event in calendar.events.values() {
        if event.get("recurringEventId").is_some() {
            // An exception: listed through its recurring event, or on its own without singleEvents.
            if !single {
                items.push(listed(
                    event,
                    &zone,
                    vec![event["id"].as_str().unwrap_or_default().to_owned()],
                ));
            }
            continue;
        }
        if event.get("recurrence").is_some_and(|r| !r.is_null()) {
            if single {
                items.extend(instances(calendar, event));
                continue;
            }
            recurring_without_instances = true;
        }
        items.push(listed(
            event,
            &zone,
            vec![event["id"].as_str().unwrap_or_default().to_owned()],
        ));
    }
    items.retain(|item| {
        let cancelled = item.event["status"] == "cancelled";
        changed(&item.sources)
            && (since.is_some() || !cancelled || flag("showDeleted"))
            && time_min
                .is_none_or(|min| item.end > min || (item.end == item.start && item.start >= min))
            && time_max.is_none_or(|max| item.start < max)
            && updated_min.is_none_or(|min| {
                item.event["updated"]
                    .as_str()
                    .and_then(|u| u.parse::<Timestamp>().ok())
                    .is_some_and(|updated| updated >= min)
            })
    });
    let key = |item: &Listed| {
        let first = if by_start || since.is_none() {
            item.start.as_millisecond()
        } else {
            0
        };
        (
            first,
            item.event["id"].as_str().unwrap_or_default().to_owned(),
        )
    };
    items.sort_by_key(key);
    if let Some(page) = &page {
        items.retain(|item| key(item) > page.after);
    }
    let size = param("maxResults")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(250)
        .clamp(1, PAGE_SIZE);
    let more = items.len() > size;
    items.truncate(size);
    let summary = calendar.summary;
    let access_role = calendar.access_role;
    let updated = calendar
        .updated
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let next = match (more, items.last()) {
        (true, Some(last)) => (
            "nextPageToken",
            page_token(&PageToken {
                generation,
                since,
                snapshot,
                after: key(last),
            }),
        ),
        _ => (
            "nextSyncToken",
            sync_token(generation, calendar.id, snapshot),
        ),
    };
    if recurring_without_instances {
        shared.violation(
            "calendar.events.list: a recurring event was listed without singleEvents=true"
                .to_owned(),
        );
    }
    drop(data);
    let items: Vec<Value> = items
        .into_iter()
        .map(|item| {
            if item.event["status"] == "cancelled" {
                cancelled_form(&item.event)
            } else {
                item.event
            }
        })
        .collect();
    for item in &items {
        shared
            .core
            .ledger
            .violations_found(shared.discovery.check_schema("Event", item));
    }
    let mut list = json!({
        "kind": "calendar#events",
        "etag": format!("\"p3{snapshot}g\""),
        "summary": summary,
        "description": "",
        "updated": updated,
        "timeZone": param("timeZone").unwrap_or(&zone),
        "accessRole": access_role,
        "defaultReminders": [],
        "items": items,
    });
    list[next.0] = json!(next.1);
    checked(&shared, "Events", StatusCode::OK, list)
}
