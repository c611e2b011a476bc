//! Events and times as Graph writes them: `dateTimeTimeZone` values in seven-digit local form, the
//! `outlook.timezone` preference, extended properties only when expanded, `$select`.

use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

use super::odata::property;

/// The `outlook.timezone` preference: the zone event times are answered in (UTC without one).
pub(super) fn preferred_zone(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|preference| {
            let zone = preference.trim().strip_prefix("outlook.timezone=")?;
            Some(zone.trim_matches('"').to_owned())
        })
        .filter(|zone| zone_of(zone).is_some())
}

pub(super) fn zone_of(name: &str) -> Option<TimeZone> {
    TimeZone::get(name).ok()
}

/// An event as Graph answers it: times in the preferred zone (UTC by default), extended properties only when
/// expanded, only the selected properties when `$select` is given.
pub(super) fn render_event(
    stored: &Value,
    select: &Option<Vec<String>>,
    expand: Option<&str>,
    zone: Option<&str>,
) -> Value {
    let mut event = stored.clone();
    let Some(fields) = event.as_object_mut() else {
        return event;
    };
    let expanded: Vec<Value> = expand
        .and_then(|id| {
            property(stored, id).map(|value| {
                let declared = stored["singleValueExtendedProperties"]
                    .as_array()
                    .and_then(|all| {
                        all.iter()
                            .find(|p| p["id"].as_str().is_some_and(|pid| pid.eq_ignore_ascii_case(id)))
                    });
                vec![json!({ "id": declared.map_or(json!(id), |p| p["id"].clone()), "value": value })]
            })
        })
        .unwrap_or_default();
    fields.remove("singleValueExtendedProperties");
    fields.remove("multiValueExtendedProperties");
    let zone = zone.unwrap_or("UTC");
    for edge in ["start", "end"] {
        if let Some(converted) = fields.get(edge).and_then(|time| in_zone(time, zone)) {
            fields.insert(edge.to_owned(), converted);
        }
    }
    if let Some(select) = select {
        fields.retain(|name, _| name == "id" || select.contains(name));
    }
    let change_key = stored["changeKey"].as_str().unwrap_or_default();
    fields.insert(
        "@odata.etag".to_owned(),
        json!(format!("W/\"{change_key}\"")),
    );
    if expand.is_some() {
        fields.insert(
            "singleValueExtendedProperties".to_owned(),
            Value::Array(expanded),
        );
    }
    event
}

/// A stored `dateTimeTimeZone` moved to another zone.
pub(super) fn in_zone(time: &Value, zone: &str) -> Option<Value> {
    let wall: DateTime = time["dateTime"].as_str()?.parse().ok()?;
    let from = zone_of(time["timeZone"].as_str()?)?;
    let instant = from.to_ambiguous_timestamp(wall).compatible().ok()?;
    let to = zone_of(zone)?;
    Some(json!({
        "dateTime": graph_date_time(instant.to_zoned_datetime(to).datetime()),
        "timeZone": zone,
    }))
}

pub(super) fn graph_date_time(wall: DateTime) -> String {
    wall.strftime("%Y-%m-%dT%H:%M:%S%.7f").to_string()
}

pub(super) fn applied(response: &mut Response, zone: Option<&str>) {
    if let Some(value) =
        zone.and_then(|z| HeaderValue::from_str(&format!("outlook.timezone=\"{z}\"")).ok())
    {
        response.headers_mut().insert("preference-applied", value);
    }
}

/// A `dateTimeTimeZone` checked (offset-free local time, a zone Graph knows) and in Graph's seven-digit form.
pub(super) fn normalized_time(time: &Value) -> Result<Value, String> {
    let text = time["dateTime"].as_str().ok_or("dateTime is missing")?;
    let zone = time["timeZone"].as_str().ok_or("timeZone is missing")?;
    if zone_of(zone).is_none() {
        return Err(format!(
            "A valid TimeZone value must be specified. The following TimeZone value is not supported: '{zone}'."
        ));
    }
    let wall: DateTime = text
        .parse()
        .map_err(|error| format!("dateTime {text:?} is not a local date-time: {error}"))?;
    Ok(json!({ "dateTime": graph_date_time(wall), "timeZone": zone }))
}

/// The instant a stored `dateTimeTimeZone` stands for.
pub(super) fn stored_instant(time: &Value) -> Option<Timestamp> {
    let wall: DateTime = time["dateTime"].as_str()?.parse().ok()?;
    zone_of(time["timeZone"].as_str()?)?
        .to_ambiguous_timestamp(wall)
        .compatible()
        .ok()
}

pub(super) fn graph_timestamp(instant: Timestamp) -> String {
    instant.strftime("%Y-%m-%dT%H:%M:%S%.7fZ").to_string()
}

pub(super) fn utc_now() -> jiff::ZonedDateTime {
    Timestamp::now().to_zoned_datetime(TimeZone::UTC)
}

pub(super) fn timestamp_now() -> String {
    utc_now().strftime("%Y-%m-%dT%H:%M:%S%.7fZ").to_string()
}
