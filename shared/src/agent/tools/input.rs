//! The helpers every tool reads its arguments with: the JSON object made into the tool's argument struct, then ids,
//! dates and times made into domain values by the edge's one parser. Each refusal names the argument and its fix,
//! so it is written here, beside the parse it explains.

use jiff::civil::{Date, Time};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::domain::{
    AppointmentId, ServiceId, ValidationError, WALL_TIME_FORM, parse_local_date, parse_wall_time,
};

use crate::agent::call::ToolFailure;

pub(crate) fn invalid(detail: impl Into<String>) -> ToolFailure {
    ToolFailure::InvalidArguments(detail.into())
}

/// Arguments as a JSON object with the absent-looking values removed: strict-mode models send `null` for every
/// argument they leave out, and some send an empty string. A value of the wrong kind is named with its argument,
/// so the model knows which one to correct.
pub(crate) fn parse_arguments<T: DeserializeOwned>(arguments: Value) -> Result<T, ToolFailure> {
    let object = match arguments {
        Value::Null => Map::new(),
        Value::Object(object) => object,
        _ => return Err(invalid("the arguments must be a JSON object")),
    };
    let present: Map<String, Value> = object
        .into_iter()
        .filter(|(_, value)| {
            !value.is_null() && value.as_str().is_none_or(|text| !text.trim().is_empty())
        })
        .collect();
    let present = Value::Object(present);
    serde_path_to_error::deserialize(&present).map_err(|error| {
        let argument = error.path().to_string();
        match present.get(&argument) {
            Some(value) => invalid(format!(
                "{argument}: {value} is not accepted: {}",
                error.inner()
            )),
            // Not one argument's value: a missing or unknown argument, which the message names.
            None => invalid(error.inner().to_string()),
        }
    })
}

/// A time or date argument the edge's parser refused: the argument, the value as given, and the form it takes.
pub(crate) fn refused_value(error: &ValidationError, text: &str) -> ToolFailure {
    invalid(format!("{}: {text:?} {}", error.field, error.message))
}

pub(crate) fn parse_date(field: &'static str, text: &str) -> Result<Date, ToolFailure> {
    parse_local_date(field, text).map_err(|error| refused_value(&error, text))
}

pub(crate) fn parse_time_of_day(field: &'static str, text: &str) -> Result<Time, ToolFailure> {
    parse_wall_time(field, text)
        .map_err(|_| invalid(format!("{field}: {text:?} must be {WALL_TIME_FORM}")))
}

pub(crate) fn parse_service_id(text: &str) -> Result<ServiceId, ToolFailure> {
    text.parse()
        .map_err(|_| invalid("service_id: must be a service id (a UUID) from get_business_context"))
}

pub(crate) fn parse_appointment_id(text: &str) -> Result<AppointmentId, ToolFailure> {
    text.parse()
        .map_err(|_| invalid("appointment_id: must be an appointment id (a UUID)"))
}

/// An optional argument, parsed when given.
pub(crate) fn optional<T>(
    text: Option<&str>,
    field: &'static str,
    parse: fn(&'static str, &str) -> Result<T, ToolFailure>,
) -> Result<Option<T>, ToolFailure> {
    text.map(|text| parse(field, text)).transpose()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::agent::arguments;

    #[test]
    fn absent_looking_arguments_are_dropped_and_unknown_ones_refused() {
        let parsed: Result<arguments::CheckTime, _> = parse_arguments(json!({
            "service_id": "0190f0b4-0000-7000-8000-000000000000",
            "start": "2026-12-08T10:30",
        }));
        assert!(parsed.is_ok());
        let strict: Result<arguments::FindAvailableTimes, _> = parse_arguments(json!({
            "service_id": "0190f0b4-0000-7000-8000-000000000000",
            "date": null, "from_date": "", "to_date": null, "part_of_day": null,
            "earliest_time": null, "latest_time": null, "limit": null,
        }));
        assert!(strict.is_ok_and(|args| args.from_date.is_none()));
        let unknown: Result<arguments::CheckTime, _> = parse_arguments(json!({
            "service_id": "x", "start": "y", "when": "tomorrow",
        }));
        assert!(
            matches!(&unknown, Err(ToolFailure::InvalidArguments(message)) if message.contains("when")),
            "{unknown:?}"
        );
        let missing: Result<arguments::CheckTime, _> = parse_arguments(json!({ "start": "y" }));
        assert!(
            matches!(&missing, Err(ToolFailure::InvalidArguments(message)) if message.contains("service_id")),
            "{missing:?}"
        );
        let not_an_object: Result<arguments::CheckTime, _> = parse_arguments(json!([1]));
        assert!(not_an_object.is_err());
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_named_with_its_argument() {
        let service_id = "0190f0b4-0000-7000-8000-000000000000";
        let limit: Result<arguments::FindAvailableTimes, _> =
            parse_arguments(json!({ "service_id": service_id, "limit": "five" }));
        assert!(
            matches!(&limit, Err(ToolFailure::InvalidArguments(message))
                if message.starts_with("limit: \"five\" is not accepted")),
            "{limit:?}"
        );
        let part: Result<arguments::FindAvailableTimes, _> =
            parse_arguments(json!({ "service_id": service_id, "part_of_day": "lunchtime" }));
        assert!(
            matches!(&part, Err(ToolFailure::InvalidArguments(message))
                if message.starts_with("part_of_day: \"lunchtime\" is not accepted")
                    && message.contains("morning")),
            "{part:?}"
        );
    }
}
