//! Every time and date argument of every tool is read by the edge's one strict parser (the README's "Errors and
//! accepted formats" table), and its JSON Schema `pattern` accepts exactly what that parser accepts. The arguments
//! are found by walking the catalogue, so a tool added later is held to the same rules.

use booking_core::agent;
use booking_core::domain::{
    DATE_PATTERN, WALL_TIME_PATTERN, ZONED_START_PATTERN, parse_local_date, parse_wall_time,
    parse_zoned_start,
};
use integration_tests::spawn_app_with_service;
use jiff::tz::TimeZone;
use serde_json::{Map, Value, json};

use crate::{answer, client, tool_error};

/// What kind of time or date an argument takes, known by the pattern its schema states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimeKind {
    /// A start: an RFC 3339 instant, or a local date-time in the business's zone.
    Start,
    Date,
    WallTime,
}

impl TimeKind {
    fn of(property: &Value) -> Option<Self> {
        match property.get("pattern").and_then(Value::as_str) {
            Some(pattern) if pattern == ZONED_START_PATTERN => Some(Self::Start),
            Some(pattern) if pattern == DATE_PATTERN => Some(Self::Date),
            Some(pattern) if pattern == WALL_TIME_PATTERN => Some(Self::WallTime),
            _ => None,
        }
    }

    /// Whether the edge's parser takes `text`.
    fn parses(self, text: &str) -> bool {
        let zone = TimeZone::get("America/New_York").unwrap();
        match self {
            Self::Start => parse_zoned_start("start", text, &zone).is_ok(),
            Self::Date => parse_local_date("date", text).is_ok(),
            Self::WallTime => parse_wall_time("time", text).is_ok(),
        }
    }

    /// Forms the parser accepts.
    fn accepted(self) -> &'static [&'static str] {
        match self {
            Self::Start => &[
                "2026-12-08T10:30",
                "2026-12-08t10:30",
                "2026-12-08T10:30:15",
                "2026-12-08T10:30:00-05:00",
                "2026-12-08T10:30:00-00:00",
                "2026-12-08T10:30:00Z",
                "2026-12-08t10:30:00z",
                "2026-12-08T10:30:00.5+05:30",
                "2026-12-08T10:30:00.123456789Z",
                "2026-12-08T10:30:00+13:59",
                "2026-12-08T10:30:00+14:00",
                "2026-12-08T10:30:00-11:59",
                "2026-12-08T10:30:00-12:00",
                "2028-02-29T09:00",
                "2000-02-29T09:00:00Z",
                "2000-01-01T00:00",
                "2200-12-31T23:59:59Z",
            ],
            Self::Date => &[
                "2026-12-08",
                "2028-02-29",
                "2000-02-29",
                "2104-02-29",
                "2026-04-30",
                "2200-12-31",
            ],
            Self::WallTime => &["00:00", "09:30", "12:00", "23:59"],
        }
    }

    /// Forms the parser refuses: the README table's examples first, then the edges of each part.
    fn refused(self) -> &'static [&'static str] {
        match self {
            Self::Start => &[
                "2026-12-10T10:00:00+25:00",
                "2026-12-10T10:00Z",
                "2026-12-10T10Z",
                "2026-12-10T10:00:00+0500",
                "2026-12-10T10:00:00+05",
                "20270120T100000Z",
                "2026-12-10T10:00:00-05:00[America/New_York]",
                "2026-12-10T10:00:00Z[UTC]",
                // Without an offset only a whole-second local date-time is a start: a fraction means an instant.
                "2026-12-10T10:00:00.5",
                "2026-12-10T10:00:00+14:01",
                "2026-12-10T10:00:00-12:01",
                "2026-12-10T10:00:00+05:60",
                "2026-12-10T10:00:00.Z",
                "2026-12-10T10:00:00.1234567890Z",
                "2026-12-10T24:00",
                "2026-12-10T10:60",
                "2026-12-10T10:00:60",
                "2026-12-10T9:30",
                "2026-12-10 10:00",
                "2026-02-29T10:00",
                "2100-02-29T10:00",
                "2026-04-31T10:00",
                "1999-12-31T23:59:59Z",
                "2201-01-01T00:00",
                "２０２６-12-10T10:00",
                "tomorrow at 3",
            ],
            Self::Date => &[
                "2027-1-20",
                "20270120",
                "2027-02-30",
                "2026-02-29",
                "2100-02-29",
                "2200-02-29",
                "2026-13-01",
                "2026-00-10",
                "2026-12-00",
                "2026-12-08T00:00",
                "1999-12-31",
                "2201-01-01",
                "+2026-12-08",
            ],
            Self::WallTime => &[
                "9:30", "09:30:00", "24:00", "09:60", "0930", "09:3", "9:30am", "noon",
            ],
        }
    }
}

/// Each argument of each tool that takes a time or date, by walking the catalogue.
fn time_arguments() -> Vec<(&'static str, String, TimeKind)> {
    let mut found = Vec::new();
    for spec in agent::tools() {
        let tool = spec.name.as_str();
        for (name, property) in spec.input_schema["properties"].as_object().unwrap() {
            let kind = TimeKind::of(property);
            // A new time argument without one of the parser's patterns would escape this file: refuse it here.
            let looks_like_time = ["date", "time", "start"]
                .iter()
                .any(|word| name.contains(word));
            assert_eq!(
                kind.is_some(),
                looks_like_time,
                "{tool}.{name} must state the parser's pattern"
            );
            if let Some(kind) = kind {
                found.push((tool, name.clone(), kind));
            }
        }
    }
    found
}

#[test]
fn each_time_argument_s_pattern_accepts_exactly_what_the_parser_accepts() {
    let arguments = time_arguments();
    assert!(arguments.len() >= 8, "{arguments:?}");
    for (tool, name, kind) in arguments {
        let spec = agent::tools()
            .into_iter()
            .find(|spec| spec.name.as_str() == tool)
            .unwrap();
        let schema = &spec.input_schema["properties"][&name];
        let validator = jsonschema::validator_for(schema).unwrap();
        for (text, expected) in kind
            .accepted()
            .iter()
            .map(|text| (text, true))
            .chain(kind.refused().iter().map(|text| (text, false)))
        {
            assert_eq!(kind.parses(text), expected, "the parser on {text:?}");
            assert_eq!(
                validator.is_valid(&json!(text)),
                expected,
                "{tool}.{name}'s pattern on {text:?}"
            );
        }
    }
}

#[tokio::test]
async fn every_time_argument_of_every_tool_refuses_the_readme_s_refused_forms_by_name() {
    let (app, service_id) = spawn_app_with_service().await;
    let client = client(&app).await;
    let booked = answer(
        &client,
        "book_appointment",
        json!({ "service_id": service_id, "start": "2026-12-01T10:00", "customer_name": "Ana",
                "customer_phone": "+14155550123" }),
    )
    .await;
    // What each tool needs besides the argument under test (a hold would settle the time, so none is given).
    let base = json!({
        "service_id": service_id,
        "appointment_id": booked["appointment"]["appointment_id"],
        "customer_name": "Ana",
        "customer_phone": "+14155550123",
    });
    let mut checked = 0;
    for (tool, name, kind) in time_arguments() {
        let spec = agent::tools()
            .into_iter()
            .find(|spec| spec.name.as_str() == tool)
            .unwrap();
        let properties = spec.input_schema["properties"].as_object().unwrap().clone();
        for refused in kind.refused() {
            let mut arguments: Map<String, Value> = base
                .as_object()
                .unwrap()
                .iter()
                .filter(|(key, _)| properties.contains_key(*key))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
            arguments.insert(name.clone(), json!(refused));
            let error = tool_error(&client, tool, Value::Object(arguments)).await;
            let named = format!("Invalid arguments: {name}: {refused:?}");
            assert!(error.starts_with(&named), "{tool}: {error}");
            checked += 1;
        }
    }
    assert!(checked > 80, "{checked}");
    let listed = app.get_json("/v1/appointments").await;
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "nothing else booked or moved"
    );
    assert_eq!(
        listed["items"][0]["start"],
        booked["appointment"]["time"]["start"]
    );
}

#[tokio::test]
async fn a_value_of_the_wrong_kind_names_its_argument_and_the_value() {
    let (app, service_id) = spawn_app_with_service().await;
    let client = client(&app).await;
    for (argument, value) in [
        ("limit", json!("five")),
        ("limit", json!(2.5)),
        ("limit", json!(0)),
        ("limit", json!(21)),
        ("part_of_day", json!("lunchtime")),
        ("date", json!(20261201)),
    ] {
        let error = tool_error(
            &client,
            "find_available_times",
            json!({ "service_id": service_id, argument: value }),
        )
        .await;
        let named = format!("Invalid arguments: {argument}: {value}");
        assert!(error.starts_with(&named), "{error}");
    }
}
