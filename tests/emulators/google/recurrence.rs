//! Recurring events as `events.list` and `events.get` see them: `RRULE`s (daily or weekly) expanded into instances,
//! exceptions applied, each with the instants it spans.

use jiff::civil::{Date, DateTime, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde_json::{Value, json};

use super::Calendar;
use crate::emulators::recurrence::recurring_dates;

/// Instances expanded from one recurring event at most (an endless series stops here).
const MAX_INSTANCES: usize = 1000;

/// An event or instance as a listing sees it: when it starts and ends (for the window and the order) and which
/// stored events it depends on (for sync tokens).
pub(super) struct Listed {
    pub(super) event: Value,
    pub(super) start: Timestamp,
    pub(super) end: Timestamp,
    /// The stored event ids whose changes change this one: itself, or the recurring event and the exception.
    pub(super) sources: Vec<String>,
}

/// The instant an event edge (`start`/`end`) stands for; all-day dates begin at midnight in `zone`.
fn edge_instant(edge: &Value, zone: &str) -> Option<Timestamp> {
    if let Some(text) = edge["dateTime"].as_str() {
        if let Ok(instant) = text.parse::<Timestamp>() {
            return Some(instant);
        }
        let wall: DateTime = text.parse().ok()?;
        let tz = TimeZone::get(edge["timeZone"].as_str().unwrap_or(zone)).ok()?;
        return tz.to_ambiguous_timestamp(wall).compatible().ok();
    }
    let date: Date = edge["date"].as_str()?.parse().ok()?;
    TimeZone::get(zone)
        .ok()?
        .to_ambiguous_timestamp(date.at(0, 0, 0, 0))
        .compatible()
        .ok()
}

pub(super) fn listed(event: &Value, zone: &str, sources: Vec<String>) -> Listed {
    let start = edge_instant(&event["start"], zone)
        .or_else(|| edge_instant(&event["originalStartTime"], zone))
        .unwrap_or_default();
    let end = edge_instant(&event["end"], zone).unwrap_or(start);
    Listed {
        event: event.clone(),
        start,
        end,
        sources,
    }
}

/// A recurrence rule: `FREQ=DAILY|WEEKLY`, `INTERVAL`, `COUNT` or `UNTIL`, `BYDAY`, `WKST`.
struct Rule {
    weekly: bool,
    interval: i64,
    count: Option<usize>,
    until: Option<Until>,
    by_day: Vec<Weekday>,
    week_start: Weekday,
}

enum Until {
    Date(Date),
    Instant(Timestamp),
}

fn weekday(code: &str) -> Option<Weekday> {
    Some(match code {
        "MO" => Weekday::Monday,
        "TU" => Weekday::Tuesday,
        "WE" => Weekday::Wednesday,
        "TH" => Weekday::Thursday,
        "FR" => Weekday::Friday,
        "SA" => Weekday::Saturday,
        "SU" => Weekday::Sunday,
        _ => return None,
    })
}

fn parse_rule(recurrence: &Value) -> Result<Rule, String> {
    let line = recurrence
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find_map(|line| line.strip_prefix("RRULE:"))
        .ok_or("no RRULE")?;
    let mut rule = Rule {
        weekly: false,
        interval: 1,
        count: None,
        until: None,
        by_day: Vec::new(),
        week_start: Weekday::Monday,
    };
    for part in line.split(';') {
        let (name, value) = part.split_once('=').ok_or(format!("{part:?}"))?;
        match name {
            "FREQ" => {
                rule.weekly = match value {
                    "DAILY" => false,
                    "WEEKLY" => true,
                    other => return Err(format!("FREQ={other} is not emulated")),
                }
            }
            "INTERVAL" => rule.interval = value.parse().map_err(|_| format!("{part:?}"))?,
            "COUNT" => rule.count = Some(value.parse().map_err(|_| format!("{part:?}"))?),
            "UNTIL" => {
                rule.until = Some(if value.len() == 8 {
                    Until::Date(Date::strptime("%Y%m%d", value).map_err(|_| format!("{part:?}"))?)
                } else {
                    Until::Instant(
                        DateTime::strptime("%Y%m%dT%H%M%SZ", value)
                            .ok()
                            .and_then(|wall| wall.to_zoned_datetime(TimeZone::UTC).ok())
                            .ok_or(format!("{part:?}"))?
                            .timestamp(),
                    )
                })
            }
            "BYDAY" => {
                rule.by_day = value
                    .split(',')
                    .map(|code| weekday(code).ok_or(format!("BYDAY {code}")))
                    .collect::<Result<_, _>>()?
            }
            "WKST" => rule.week_start = weekday(value).ok_or(format!("{part:?}"))?,
            other => return Err(format!("{other} is not emulated")),
        }
    }
    if rule.interval < 1 {
        return Err("INTERVAL must be positive".to_owned());
    }
    Ok(rule)
}

/// The instances of a recurring event, exceptions applied (a cancelled recurring event has only cancelled
/// instances). An event whose rule cannot be read has none.
pub(super) fn instances(calendar: &Calendar, master: &Value) -> Vec<Listed> {
    let Ok(rule) = parse_rule(&master["recurrence"]) else {
        return Vec::new();
    };
    let master_id = master["id"].as_str().unwrap_or_default();
    let zone_name = master["start"]["timeZone"]
        .as_str()
        .unwrap_or(&calendar.time_zone)
        .to_owned();
    let Ok(zone) = TimeZone::get(&zone_name) else {
        return Vec::new();
    };
    let all_day = master["start"].get("date").is_some_and(Value::is_string);
    let (Some(first), Some(last)) = (
        edge_instant(&master["start"], &zone_name),
        edge_instant(&master["end"], &zone_name),
    ) else {
        return Vec::new();
    };
    let first_wall = first.to_zoned_datetime(zone.clone()).datetime();
    let length = last.duration_since(first);
    let days = master["end"]["date"]
        .as_str()
        .and_then(|end| end.parse::<Date>().ok())
        .map(|end| end.duration_since(first_wall.date()).as_hours() / 24)
        .unwrap_or(1);
    let limit = rule.count.unwrap_or(MAX_INSTANCES).min(MAX_INSTANCES);
    let dates = recurring_dates(
        first_wall.date(),
        rule.weekly,
        rule.interval,
        &rule.by_day,
        rule.week_start,
        limit,
    );
    let mut found = Vec::new();
    for date in dates {
        let wall = date.to_datetime(first_wall.time());
        let Ok(start) = zone.to_ambiguous_timestamp(wall).compatible() else {
            continue;
        };
        let past_until = match &rule.until {
            Some(Until::Date(until)) => date > *until,
            Some(Until::Instant(until)) => start > *until,
            None => false,
        };
        if past_until {
            break;
        }
        let (id, original, start_edge, end_edge) = if all_day {
            let end = date.checked_add(days.days()).unwrap_or(date);
            (
                format!("{master_id}_{}", date.strftime("%Y%m%d")),
                json!({ "date": date.to_string() }),
                json!({ "date": date.to_string() }),
                json!({ "date": end.to_string() }),
            )
        } else {
            let end = start.checked_add(length).unwrap_or(start);
            let local = |instant: Timestamp| {
                json!({
                    "dateTime": instant.to_zoned_datetime(zone.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                    "timeZone": zone_name,
                })
            };
            (
                format!(
                    "{master_id}_{}",
                    start
                        .to_zoned_datetime(TimeZone::UTC)
                        .strftime("%Y%m%dT%H%M%SZ")
                ),
                local(start),
                local(start),
                local(end),
            )
        };
        let mut sources = vec![master_id.to_owned()];
        let mut instance = match calendar.events.get(&id) {
            Some(exception) => {
                sources.push(id.clone());
                exception.clone()
            }
            None => {
                let mut instance = master.clone();
                if let Some(fields) = instance.as_object_mut() {
                    fields.remove("recurrence");
                    fields.insert("id".into(), json!(id));
                    fields.insert("recurringEventId".into(), json!(master_id));
                    fields.insert("originalStartTime".into(), original);
                    fields.insert("start".into(), start_edge);
                    fields.insert("end".into(), end_edge);
                }
                instance
            }
        };
        if master["status"] == "cancelled" {
            instance["status"] = json!("cancelled");
        }
        found.push(listed(&instance, &zone_name, sources));
    }
    found
}
