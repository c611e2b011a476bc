//! Series as Graph expands them: daily and weekly patterns, ranges `numbered`, `endDate` or `noEnd`, each occurrence
//! with the instants it spans.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use serde_json::{Value, json};

use super::render::{graph_date_time, stored_instant, zone_of};
use crate::emulators::recurrence::recurring_dates;

/// Occurrences expanded from one series at most (an endless series stops here).
const MAX_OCCURRENCES: usize = 1000;

/// An occurrence of a series, as Graph would store it, with its times.
pub(super) struct Occurrence {
    pub(super) event: Value,
    pub(super) start: Timestamp,
    pub(super) end: Timestamp,
}

fn graph_weekday(name: &str) -> Option<Weekday> {
    Some(match name {
        "sunday" => Weekday::Sunday,
        "monday" => Weekday::Monday,
        "tuesday" => Weekday::Tuesday,
        "wednesday" => Weekday::Wednesday,
        "thursday" => Weekday::Thursday,
        "friday" => Weekday::Friday,
        "saturday" => Weekday::Saturday,
        _ => return None,
    })
}

/// The occurrences of a series master (daily or weekly patterns; other patterns have none here).
pub(super) fn occurrences(master: &Value) -> Vec<Occurrence> {
    let pattern = &master["recurrence"]["pattern"];
    let range = &master["recurrence"]["range"];
    let weekly = match pattern["type"].as_str() {
        Some("daily") => false,
        Some("weekly") => true,
        _ => return Vec::new(),
    };
    let master_id = master["id"].as_str().unwrap_or_default();
    let (Some(zone_name), Some(wall)) = (
        master["start"]["timeZone"].as_str(),
        master["start"]["dateTime"]
            .as_str()
            .and_then(|t| t.parse::<DateTime>().ok()),
    ) else {
        return Vec::new();
    };
    let (Some(zone), Some(first), Some(last)) = (
        zone_of(zone_name),
        stored_instant(&master["start"]),
        stored_instant(&master["end"]),
    ) else {
        return Vec::new();
    };
    let length = last.duration_since(first);
    let start_date = range["startDate"]
        .as_str()
        .and_then(|d| d.parse::<Date>().ok())
        .unwrap_or(wall.date());
    let end_date = match range["type"].as_str() {
        Some("endDate") => range["endDate"]
            .as_str()
            .and_then(|d| d.parse::<Date>().ok()),
        _ => None,
    };
    let limit = match range["type"].as_str() {
        Some("numbered") => range["numberOfOccurrences"]
            .as_u64()
            .map_or(MAX_OCCURRENCES, |n| n as usize)
            .min(MAX_OCCURRENCES),
        _ => MAX_OCCURRENCES,
    };
    let weekdays: Vec<Weekday> = pattern["daysOfWeek"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str().and_then(graph_weekday))
        .collect();
    let week_start = pattern["firstDayOfWeek"]
        .as_str()
        .and_then(graph_weekday)
        .unwrap_or(Weekday::Sunday);
    let dates = recurring_dates(
        start_date,
        weekly,
        pattern["interval"].as_i64().unwrap_or(1),
        &weekdays,
        week_start,
        limit,
    );
    let end_zone = master["end"]["timeZone"].as_str().unwrap_or(zone_name);
    let mut found = Vec::new();
    for date in dates {
        if end_date.is_some_and(|end| date > end) {
            break;
        }
        let Ok(start) = zone
            .to_ambiguous_timestamp(date.to_datetime(wall.time()))
            .compatible()
        else {
            continue;
        };
        let end = start.checked_add(length).unwrap_or(start);
        let local = |instant: Timestamp, name: &str| {
            let wall = zone_of(name).map_or_else(
                || instant.to_zoned_datetime(TimeZone::UTC).datetime(),
                |tz| instant.to_zoned_datetime(tz).datetime(),
            );
            json!({ "dateTime": graph_date_time(wall), "timeZone": name })
        };
        let mut event = master.clone();
        event["id"] = json!(format!("{master_id}_occ_{}", date.strftime("%Y%m%d")));
        event["type"] = json!("occurrence");
        event["seriesMasterId"] = json!(master_id);
        event["recurrence"] = Value::Null;
        event["originalStart"] = json!(start.strftime("%Y-%m-%dT%H:%M:%SZ").to_string());
        event["start"] = local(start, zone_name);
        event["end"] = local(end, end_zone);
        found.push(Occurrence { event, start, end });
    }
    found
}
