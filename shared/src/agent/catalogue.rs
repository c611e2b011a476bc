//! The tools: name, a description written for a model, the JSON Schema of the arguments and of the answer, and what
//! calling it does to the business's data. Every transport (MCP, Vapi, Retell, the OpenAI listing) reads them here.

use schemars::generate::{Contract, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value, json};

use super::answers::{
    AvailableTimes, BookingAnswer, BusinessContext, CallerAppointments, CancelAnswer, HoldAnswer,
    RescheduleAnswer, TimeCheck,
};
use super::arguments::{
    BookAppointment, CancelAppointment, CheckTime, FindAvailableTimes, FindCallerAppointments,
    HoldTime, NoArguments, RescheduleAppointment,
};

/// What calling a tool does to the business's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Changes nothing.
    Reads,
    /// Adds (a booking) without touching what exists.
    Writes,
    /// Changes or removes what exists (moves or cancels an appointment).
    Destroys,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ToolName {
    GetBusinessContext,
    FindAvailableTimes,
    CheckTime,
    HoldTime,
    BookAppointment,
    FindCallerAppointments,
    RescheduleAppointment,
    CancelAppointment,
}

impl ToolName {
    pub const ALL: [ToolName; 8] = [
        ToolName::GetBusinessContext,
        ToolName::FindAvailableTimes,
        ToolName::CheckTime,
        ToolName::HoldTime,
        ToolName::BookAppointment,
        ToolName::FindCallerAppointments,
        ToolName::RescheduleAppointment,
        ToolName::CancelAppointment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::GetBusinessContext => "get_business_context",
            Self::FindAvailableTimes => "find_available_times",
            Self::CheckTime => "check_time",
            Self::HoldTime => "hold_time",
            Self::BookAppointment => "book_appointment",
            Self::FindCallerAppointments => "find_caller_appointments",
            Self::RescheduleAppointment => "reschedule_appointment",
            Self::CancelAppointment => "cancel_appointment",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|tool| tool.as_str() == name)
    }
}

/// One tool as every transport describes it.
#[derive(Clone, Debug)]
pub struct ToolSpec {
    pub name: ToolName,
    pub title: &'static str,
    pub description: &'static str,
    pub effect: Effect,
    /// Calling it again with the same arguments changes nothing more.
    pub idempotent: bool,
    /// JSON Schema of the arguments: an object, no other properties allowed; an optional argument is one left out
    /// of `required` (its type does not admit null, which only the OpenAI strict export needs).
    pub input_schema: Map<String, Value>,
    /// JSON Schema of the structured answer.
    pub output_schema: Map<String, Value>,
}

impl ToolSpec {
    /// The arguments' schema as OpenAI's strict mode needs it: every property listed as required, the optional
    /// ones accepting null (which the tools read as left out).
    pub fn strict_parameters(&self) -> Map<String, Value> {
        let mut schema = self.input_schema.clone();
        let required: Vec<Value> = schema
            .get("required")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut names = Vec::new();
        if let Some(Value::Object(properties)) = schema.get_mut("properties") {
            for (name, property) in properties.iter_mut() {
                let name = Value::String(name.clone());
                if !required.contains(&name) {
                    admit_null(property);
                }
                names.push(name);
            }
        }
        schema.insert("required".to_owned(), Value::Array(names));
        schema
    }
}

/// Makes an argument's schema accept null as well: its type, and its list of values if it has one.
fn admit_null(property: &mut Value) {
    let Value::Object(property) = property else {
        return;
    };
    match property.get_mut("type") {
        Some(Value::String(single)) => {
            let single = Value::String(std::mem::take(single));
            property.insert("type".to_owned(), json!([single, "null"]));
        }
        Some(Value::Array(types)) if !types.contains(&Value::Null) => {
            types.push(json!("null"));
        }
        _ => {}
    }
    if let Some(Value::Array(values)) = property.get_mut("enum") {
        values.push(Value::Null);
    }
}

/// Takes null out of an argument's schema: schemars admits it for every `Option`, but an optional argument is one
/// left out of `required`, and Vapi and Retell accept one type per argument.
fn refuse_null(property: &mut Value) {
    let Value::Object(property) = property else {
        return;
    };
    if let Some(Value::Array(types)) = property.get_mut("type") {
        types.retain(|kind| kind != "null");
        if let [single] = types.as_slice() {
            let single = single.clone();
            property.insert("type".to_owned(), single);
        }
    }
    if let Some(Value::Array(values)) = property.get_mut("enum") {
        values.retain(|value| !value.is_null());
    }
}

/// JSON Schema keywords and formats that every consumer we serve understands (MCP clients, OpenAI's strict mode,
/// Vapi, Retell). schemars adds Rust-specific formats such as `uint32` that strict validators refuse.
const PORTABLE_FORMATS: [&str; 5] = ["date-time", "date", "time", "email", "uuid"];

fn portable(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.remove("$schema");
            object.remove("title");
            if object
                .get("format")
                .and_then(Value::as_str)
                .is_some_and(|format| !PORTABLE_FORMATS.contains(&format))
            {
                object.remove("format");
            }
            // Wrapped doc comments arrive with their line breaks; a model reads one sentence.
            if let Some(Value::String(description)) = object.get_mut("description") {
                *description = description.replace('\n', " ");
            }
            object.values_mut().for_each(portable);
        }
        Value::Array(items) => items.iter_mut().for_each(portable),
        _ => {}
    }
}

fn schema_of<T: JsonSchema>(contract: Contract) -> Map<String, Value> {
    let arguments = contract == Contract::Deserialize;
    let generator = SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.inline_subschemas = true;
            settings.contract = contract;
        })
        .into_generator();
    let schema: Schema = generator.into_root_schema_for::<T>();
    let mut value = schema.to_value();
    portable(&mut value);
    let mut object = match value {
        Value::Object(object) => object,
        _ => Map::new(),
    };
    // An object schema without properties still names them, as strict consumers expect.
    let properties = object
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if arguments {
        properties
            .as_object_mut()
            .into_iter()
            .flat_map(|properties| properties.values_mut())
            .for_each(refuse_null);
    }
    object
        .entry("required")
        .or_insert_with(|| Value::Array(Vec::new()));
    object
}

fn spec<Arguments: JsonSchema, Answer: JsonSchema>(
    name: ToolName,
    title: &'static str,
    effect: Effect,
    idempotent: bool,
    description: &'static str,
) -> ToolSpec {
    ToolSpec {
        name,
        title,
        description,
        effect,
        idempotent,
        input_schema: schema_of::<Arguments>(Contract::Deserialize),
        output_schema: schema_of::<Answer>(Contract::Serialize),
    }
}

/// Every tool, in the order a call uses them.
pub fn tools() -> Vec<ToolSpec> {
    ToolName::ALL.into_iter().map(tool).collect()
}

pub fn tool(name: ToolName) -> ToolSpec {
    match name {
        ToolName::GetBusinessContext => spec::<NoArguments, BusinessContext>(
            name,
            "Business, date and services",
            Effect::Reads,
            true,
            "Call this first, before any other tool. Returns the business's name and time zone, today's local \
             date and weekday, the local time now, the services it offers (service_id, name, duration), its \
             staff and the services each performs (staff_id, name), and whether its calendar is connected and up to \
             date. Work out every date the caller says (\"tomorrow\", \
             \"next Tuesday\") from the local date and weekday given here, never from your own idea of today. \
             Every time in every answer is the business's local time.",
        ),
        ToolName::FindAvailableTimes => spec::<FindAvailableTimes, AvailableTimes>(
            name,
            "Find free times",
            Effect::Reads,
            true,
            "Lists free start times of one service, grouped by local day, each with its start in RFC 3339 (with \
             the business's UTC offset) and a spoken form to read to the caller. Give one local date (date) or a \
             range (from_date and to_date, at most the service's booking horizon); with neither, the 7 days from \
             today are searched. Narrow with part_of_day (morning before 12:00, afternoon 12:00 to 17:00, evening \
             from 17:00) or earliest_time and latest_time (local HH:MM). At most limit times come back (5 when \
             left out); when more are free they are spread across the window, earliest first, so ask again with \
             a narrower window to list times close together. If nothing is free, the next free times after the \
             window are offered. When the caller asks for someone, give staff (their staff_id, or the name as the \
             caller said it); left out, times with anyone free are listed, each saying with whom. If the answer has \
             a warning, tell the caller the time still has to be confirmed rather than promising it.",
        ),
        ToolName::CheckTime => spec::<CheckTime, TimeCheck>(
            name,
            "Check one time",
            Effect::Reads,
            true,
            "Checks whether one start time of a service can be booked right now. Answers available, or the \
             reason in words and the nearest free times to offer instead. Use it when the caller names a time \
             themselves. start is a local date-time in the business's zone (2026-12-08T10:30) or RFC 3339 with \
             offset as find_available_times gives it. Give staff (a staff_id or the name the caller said) when the \
             caller asked for someone.",
        ),
        ToolName::HoldTime => spec::<HoldTime, HoldAnswer>(
            name,
            "Hold a time",
            Effect::Writes,
            false,
            "Holds a start time of a service for a few minutes (5 unless the business chose otherwise) while the \
             caller decides, so no other caller and no one at the front desk can take it meanwhile. Use it as \
             soon as the caller picks a time, then book it with book_appointment and the hold_id. The answer says \
             until when it is held and with whom; if the time cannot be held it says why and offers the nearest free \
             times. Give staff (a staff_id or the name the caller said) when the caller asked for someone; left \
             out, whoever is free is picked now. A hold that is not booked simply runs out.",
        ),
        ToolName::BookAppointment => spec::<BookAppointment, BookingAnswer>(
            name,
            "Book an appointment",
            Effect::Writes,
            true,
            "Books the caller in: either the hold_id from hold_time (books exactly the held time), or service_id \
             and start (and staff when the caller asked for someone; left out, whoever is free is booked); plus the \
             caller's name and phone number. customer_phone may be international \
             (+14155550123) or as the caller says it; leave it out to use the number the caller is calling from. \
             No email is needed. Confirm the service, day, time and name with the caller first. If the time was \
             taken meanwhile, the answer says so and offers the nearest free times: offer those. Safe to retry: \
             the same idempotency_key (or the same call and tool call on a voice platform) never books twice.",
        ),
        ToolName::FindCallerAppointments => spec::<FindCallerAppointments, CallerAppointments>(
            name,
            "Find the caller's appointments",
            Effect::Reads,
            true,
            "Finds the caller's upcoming appointments by phone number, soonest first: leave phone out to use the \
             number the caller is calling from. Each comes with its appointment_id, service, local time and \
             spoken form: use the id to reschedule or cancel. Use it when a caller wants to move, cancel or check \
             an appointment, instead of asking them for an id.",
        ),
        ToolName::RescheduleAppointment => spec::<RescheduleAppointment, RescheduleAnswer>(
            name,
            "Move an appointment",
            Effect::Destroys,
            true,
            "Moves an appointment (appointment_id, from find_caller_appointments or the booking) to a new start \
             time, under the same rules as booking. If the new time is not available, the appointment stays \
             where it was and the answer offers the nearest free times. It stays with the same staff member \
             unless staff names another. Confirm the new time with the caller first.",
        ),
        ToolName::CancelAppointment => spec::<CancelAppointment, CancelAnswer>(
            name,
            "Cancel an appointment",
            Effect::Destroys,
            true,
            "Cancels an appointment by appointment_id and frees its time at once. Confirm with the caller which \
             appointment they mean before calling. Cancelling an appointment that is already cancelled changes \
             nothing.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_snake_case_and_unique() {
        let specs = tools();
        let mut names: Vec<&str> = specs.iter().map(|spec| spec.name.as_str()).collect();
        for name in &names {
            assert!(name.len() <= 64, "{name}");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit()),
                "{name}"
            );
            assert_eq!(ToolName::parse(name).map(ToolName::as_str), Some(*name));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), specs.len());
    }

    #[test]
    fn every_argument_schema_is_a_closed_object_whose_properties_are_described() {
        for spec in tools() {
            let schema = &spec.input_schema;
            assert_eq!(schema["type"], "object", "{}", spec.name.as_str());
            assert_eq!(
                schema["additionalProperties"],
                false,
                "{}",
                spec.name.as_str()
            );
            assert!(!schema.contains_key("$schema"));
            for (property, definition) in schema["properties"].as_object().into_iter().flatten() {
                assert!(
                    definition
                        .get("description")
                        .and_then(Value::as_str)
                        .is_some_and(|text| text.len() > 10),
                    "{}.{property} has no description",
                    spec.name.as_str()
                );
            }
            assert_eq!(spec.output_schema["type"], "object");
            assert!(spec.output_schema["properties"]["summary"].is_object());
        }
    }

    #[test]
    fn argument_names_are_the_ones_the_issue_fixes() {
        let find = tool(ToolName::FindAvailableTimes);
        let properties: Vec<&String> = find.input_schema["properties"]
            .as_object()
            .map(|properties| properties.keys().collect())
            .unwrap_or_default();
        for name in ["service_id", "date", "from_date", "to_date", "part_of_day"] {
            assert!(properties.iter().any(|p| *p == name), "{name}");
        }
        let book = tool(ToolName::BookAppointment);
        for name in [
            "hold_id",
            "service_id",
            "start",
            "customer_name",
            "customer_phone",
            "notes",
            "idempotency_key",
        ] {
            assert!(
                book.input_schema["properties"].get(name).is_some(),
                "{name}"
            );
        }
        assert_eq!(
            book.input_schema["required"],
            serde_json::json!(["customer_name"])
        );
        assert!(book.input_schema["properties"].get("hold_id").is_some());
        let caller = tool(ToolName::FindCallerAppointments);
        assert!(caller.input_schema["properties"].get("phone").is_some());
        let hold = tool(ToolName::HoldTime);
        assert_eq!(
            hold.input_schema["required"],
            serde_json::json!(["service_id", "start"])
        );
    }

    #[test]
    fn an_optional_argument_is_left_out_of_required_and_has_one_type() {
        for spec in tools() {
            let required = spec.input_schema["required"].as_array().cloned();
            for (name, property) in spec.input_schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
            {
                let kind = &property["type"];
                assert!(kind.is_string(), "{}.{name}: {kind}", spec.name.as_str());
                if let Some(values) = property.get("enum").and_then(Value::as_array) {
                    assert!(
                        !values.contains(&Value::Null),
                        "{}.{name}",
                        spec.name.as_str()
                    );
                }
            }
            assert!(required.is_some(), "{}", spec.name.as_str());
        }
        let find = tool(ToolName::FindAvailableTimes);
        assert_eq!(find.input_schema["required"], json!(["service_id"]));
    }

    #[test]
    fn strict_parameters_require_everything_and_let_optional_ones_be_null() {
        let find = tool(ToolName::FindAvailableTimes);
        let strict = find.strict_parameters();
        let required = strict["required"].as_array().map(Vec::len);
        let properties = strict["properties"].as_object().map(Map::len);
        assert_eq!(required, properties);
        let date_type = &strict["properties"]["date"]["type"];
        assert_eq!(date_type, &serde_json::json!(["string", "null"]));
        let part = &strict["properties"]["part_of_day"];
        assert_eq!(part["type"], json!(["string", "null"]), "{part}");
        assert_eq!(
            part["enum"],
            json!(["morning", "afternoon", "evening", null])
        );
        assert_eq!(strict["properties"]["service_id"]["type"], "string");
        let limit = &strict["properties"]["limit"];
        assert!(limit.get("format").is_none(), "{limit}");
        assert_eq!(limit["maximum"], 20);
    }
}
