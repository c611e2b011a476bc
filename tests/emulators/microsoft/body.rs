//! Request bodies: an event as Graph accepts it (of Graph's types, without read-only properties, with offset-free
//! local times in zones it knows, valid extended property ids), and as a test writes it as the user.

use axum::body::Bytes;
use axum::response::Response;
use jiff::civil::DateTime;
use serde_json::{Map, Value};

use super::Shared;
use super::render::{normalized_time, zone_of};

/// Properties Graph sets itself; a request that sends them is wrong.
const READ_ONLY_EVENT_PROPERTIES: &[&str] = &[
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "iCalUId",
    "webLink",
    "bodyPreview",
    "organizer",
    "isOrganizer",
    "hasAttachments",
    "responseStatus",
    "seriesMasterId",
    "type",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "calendar",
];

/// A request body as an event: JSON, an object, of Graph's types, without read-only properties, with valid times
/// and extended property ids. `creating` also requires start and end.
pub(super) fn event_body(
    shared: &Shared,
    at: &str,
    body: &Bytes,
    creating: bool,
) -> Result<Map<String, Value>, Response> {
    let parsed: Value = serde_json::from_slice(body).map_err(|error| {
        shared.bad_request("BadRequest", format!("{at}: the body is not JSON: {error}"))
    })?;
    let Value::Object(mut fields) = parsed else {
        return Err(shared.bad_request("BadRequest", format!("{at}: the body is not an object")));
    };
    fields.retain(|name, _| !name.starts_with("@odata."));
    // Graph refuses a body that names a property its type lacks or mistypes one (`RequestBodyRead`).
    let problems = shared.types.check("Event", &Value::Object(fields.clone()));
    if !problems.is_empty() {
        return Err(shared.bad_request(
            "RequestBodyRead",
            format!("{at} request: {}", problems.join("; ")),
        ));
    }
    if let Some(name) = READ_ONLY_EVENT_PROPERTIES
        .iter()
        .find(|name| fields.contains_key(**name))
    {
        return Err(shared.bad_request(
            "ErrorInvalidPropertyUpdateSentinel",
            format!("{at}: the property '{name}' is read-only."),
        ));
    }
    for edge in ["start", "end"] {
        match fields.get(edge) {
            None if creating => {
                return Err(shared.bad_request(
                    "ErrorInvalidRequest",
                    format!("{at}: Your request can't be completed. The event needs a {edge}."),
                ));
            }
            None => {}
            Some(time) => {
                let normalized = normalized_time(time).map_err(|problem| {
                    shared.bad_request(
                        "TimeZoneNotSupportedException",
                        format!("{at}.{edge}: {problem}"),
                    )
                })?;
                fields.insert(edge.to_owned(), normalized);
            }
        }
    }
    let instant = |edge: &str| {
        let time = fields.get(edge)?;
        let wall: DateTime = time["dateTime"].as_str()?.parse().ok()?;
        zone_of(time["timeZone"].as_str()?)?
            .to_ambiguous_timestamp(wall)
            .compatible()
            .ok()
    };
    if let (Some(start), Some(end)) = (instant("start"), instant("end")) {
        if end < start {
            return Err(shared.bad_request(
                "ErrorInvalidRequest",
                format!("{at}: The end of the event is before its start."),
            ));
        }
    }
    for extended in fields
        .get("singleValueExtendedProperties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = extended["id"].as_str().unwrap_or_default();
        if !valid_property_id(id) {
            return Err(shared.bad_request(
                "ErrorInvalidProperty",
                format!("{at}: extended property id {id:?} is not a valid MAPI property id."),
            ));
        }
    }
    Ok(fields)
}

/// `{type} {GUID} Name {name}`, `{type} {GUID} Id 0x{hex}` or `{type} 0x{hex tag}`, as Graph requires.
fn valid_property_id(id: &str) -> bool {
    const TYPES: &[&str] = &[
        "Binary",
        "Boolean",
        "CLSID",
        "Currency",
        "Double",
        "Float",
        "Integer",
        "Long",
        "Object",
        "Short",
        "String",
        "SystemTime",
    ];
    let Some((kind, rest)) = id.split_once(' ') else {
        return false;
    };
    let hex = |text: &str| {
        text.strip_prefix("0x").is_some_and(|digits| {
            !digits.is_empty() && digits.chars().all(|c| c.is_ascii_hexdigit())
        })
    };
    if !TYPES.contains(&kind) {
        return false;
    }
    match rest.strip_prefix('{').and_then(|rest| rest.split_once('}')) {
        Some((guid, named)) => {
            uuid::Uuid::parse_str(guid).is_ok()
                && match named.trim_start().split_once(' ') {
                    Some(("Name", name)) => !name.trim().is_empty(),
                    Some(("Id", number)) => hex(number),
                    _ => false,
                }
        }
        None => hex(rest) && rest.len() == 6,
    }
}

/// An event or patch a test writes as the user: of Graph's types, times normalized.
pub(super) fn user_fields(shared: &Shared, at: &str, value: Value) -> Map<String, Value> {
    let problems = shared.types.check("Event", &value);
    assert!(problems.is_empty(), "{at}: {problems:?}");
    let mut fields = value.as_object().cloned().expect("an event object");
    for edge in ["start", "end"] {
        if let Some(time) = fields.get(edge) {
            let normalized = normalized_time(time).unwrap_or_else(|p| panic!("{at}.{edge}: {p}"));
            fields.insert(edge.to_owned(), normalized);
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_ids_follow_graphs_forms() {
        assert!(valid_property_id(
            "String {8bafe699-bcdd-43b5-bbc2-04c9eec6ca65} Name bookingAppointmentId"
        ));
        assert!(valid_property_id(
            "Integer {8bafe699-bcdd-43b5-bbc2-04c9eec6ca65} Id 0x8233"
        ));
        assert!(valid_property_id("String 0x3001"));
        assert!(!valid_property_id(
            "Text {8bafe699-bcdd-43b5-bbc2-04c9eec6ca65} Name x"
        ));
        assert!(!valid_property_id("String {not-a-guid} Name x"));
        assert!(!valid_property_id("bookingAppointmentId"));
    }
}
