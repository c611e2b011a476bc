//! Checks JSON against the providers' published specs (`tests/provider-specs/`): Google's discovery document and
//! Microsoft Graph's v1.0 types. A field we invent, misspell or mistype is a finding; so is one of the rules the
//! providers enforce that the specs cannot express (Google's event id alphabet, Graph's offset-free local times).

use std::collections::BTreeMap;

use serde_json::Value;

/// Google Calendar API v3, from its discovery document.
pub struct GoogleDiscovery {
    document: Value,
}

/// What a request to a discovery method looks like once parsed.
pub struct GoogleRequest<'a> {
    pub http_method: &'a str,
    /// The path after the API's base (`calendar/v3/`), e.g. `calendars/primary/events`.
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub body: Option<&'a Value>,
}

impl GoogleDiscovery {
    pub fn load() -> Self {
        Self {
            document: document(include_str!(
                "../provider-specs/google-calendar-v3-discovery.json"
            )),
        }
    }

    /// The method with this id, e.g. `calendar.events.insert`.
    pub fn method(&self, id: &str) -> Option<&Value> {
        fn find<'a>(resources: &'a Value, id: &str) -> Option<&'a Value> {
            resources.as_object()?.values().find_map(|resource| {
                resource["methods"]
                    .as_object()
                    .and_then(|methods| methods.values().find(|method| method["id"] == id))
                    .or_else(|| find(&resource["resources"], id))
            })
        }
        find(&self.document["resources"], id)
    }

    /// The discovery method a request is for, by verb and path template.
    pub fn method_for(
        &self,
        http_method: &str,
        path: &str,
    ) -> Option<(&str, BTreeMap<String, String>)> {
        fn all<'a>(resources: &'a Value, into: &mut Vec<&'a Value>) {
            let Some(resources) = resources.as_object() else {
                return;
            };
            for resource in resources.values() {
                if let Some(methods) = resource["methods"].as_object() {
                    into.extend(methods.values());
                }
                all(&resource["resources"], into);
            }
        }
        let mut methods = Vec::new();
        all(&self.document["resources"], &mut methods);
        methods.into_iter().find_map(|method| {
            if method["httpMethod"] != http_method {
                return None;
            }
            let parameters = match_template(method["path"].as_str()?, path)?;
            Some((method["id"].as_str()?, parameters))
        })
    }

    /// Everything wrong with a request: unknown method, unknown or mistyped parameters, missing required ones, and a
    /// body that does not fit the method's request schema.
    pub fn check_request(&self, request: &GoogleRequest<'_>) -> Vec<String> {
        let Some((id, path_parameters)) = self.method_for(request.http_method, request.path) else {
            return vec![format!(
                "no Calendar API method is {} {}",
                request.http_method, request.path
            )];
        };
        let Some(method) = self.method(id) else {
            return vec![format!("{id} vanished")];
        };
        let mut problems = Vec::new();
        let declared = |name: &str| {
            method["parameters"]
                .get(name)
                .or_else(|| self.document["parameters"].get(name))
        };
        for (name, value) in &path_parameters {
            if declared(name).is_none_or(|parameter| parameter["location"] != "path") {
                problems.push(format!("{id}: path parameter {name} is not declared"));
            } else if value.is_empty() {
                problems.push(format!("{id}: path parameter {name} is empty"));
            }
        }
        for (name, value) in request.query {
            match declared(name) {
                Some(parameter) if parameter["location"] == "query" => check_scalar(
                    &format!("{id}?{name}"),
                    parameter,
                    &Value::String(value.clone()),
                    &mut problems,
                ),
                _ => problems.push(format!("{id}: query parameter {name} is not declared")),
            }
        }
        if let Some(parameters) = method["parameters"].as_object() {
            for (name, parameter) in parameters {
                let given = path_parameters.contains_key(name)
                    || request.query.iter().any(|(n, _)| n == name);
                if parameter["required"] == true && !given {
                    problems.push(format!("{id}: required parameter {name} is missing"));
                }
            }
        }
        match (method["request"]["$ref"].as_str(), request.body) {
            (Some(schema), Some(body)) => self.check_value(
                &format!("{id} body"),
                &json_ref(schema),
                body,
                &mut problems,
            ),
            (Some(_), None) => problems.push(format!("{id}: the request has no body")),
            (None, Some(body)) if !body.is_null() => problems.push(format!("{id}: takes no body")),
            (None, _) => {}
        }
        problems
    }

    /// Everything wrong with `value` as an instance of the named schema (e.g. `Event`).
    pub fn check_schema(&self, schema: &str, value: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        self.check_value(schema, &json_ref(schema), value, &mut problems);
        if schema == "Event" {
            check_google_event_rules(value, &mut problems);
        }
        problems
    }

    fn check_value(&self, at: &str, schema: &Value, value: &Value, problems: &mut Vec<String>) {
        if let Some(reference) = schema["$ref"].as_str() {
            match self.document["schemas"].get(reference) {
                Some(resolved) => return self.check_value(at, resolved, value, problems),
                None => return problems.push(format!("{at}: unknown schema {reference}")),
            }
        }
        if value.is_null() {
            // Discovery marks nothing as non-nullable; PATCH uses null to clear a field.
            return;
        }
        match schema["type"].as_str() {
            Some("object") => {
                let Some(fields) = value.as_object() else {
                    return problems.push(format!("{at}: expected an object, got {value}"));
                };
                for (name, field) in fields {
                    let field_at = format!("{at}.{name}");
                    match schema["properties"]
                        .get(name)
                        .or_else(|| schema.get("additionalProperties"))
                    {
                        Some(field_schema) => {
                            self.check_value(&field_at, field_schema, field, problems)
                        }
                        None => problems.push(format!("{field_at}: no such field")),
                    }
                }
            }
            Some("array") => match value.as_array() {
                Some(items) => {
                    for (index, item) in items.iter().enumerate() {
                        self.check_value(
                            &format!("{at}[{index}]"),
                            &schema["items"],
                            item,
                            problems,
                        );
                    }
                }
                None => problems.push(format!("{at}: expected an array, got {value}")),
            },
            Some("any") | None => {}
            Some(_) => check_scalar(at, schema, value, problems),
        }
    }
}

/// A spec document as JSON (`null` if it does not parse, so that every check then reports what it misses).
fn document(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn json_ref(schema: &str) -> Value {
    serde_json::json!({ "$ref": schema })
}

/// Matches `calendars/{calendarId}/events/{eventId}` against a concrete path, returning the path parameters.
fn match_template(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let template: Vec<&str> = template.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    if template.len() != path.len() {
        return None;
    }
    let mut parameters = BTreeMap::new();
    for (expected, actual) in template.iter().zip(&path) {
        match expected
            .strip_prefix('{')
            .and_then(|name| name.strip_suffix('}'))
        {
            Some(name) => {
                parameters.insert(name.to_owned(), percent_decode(actual));
            }
            None if expected == actual => {}
            None => return None,
        }
    }
    Some(parameters)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes
            .get(index + 1..index + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok());
        match (
            bytes[index],
            hex.and_then(|hex| u8::from_str_radix(hex, 16).ok()),
        ) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                index += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// A scalar against a discovery type and format. Query parameters arrive as strings, so numbers and booleans are
/// accepted in their string form there; int64 and uint64 are strings in Google's JSON anyway.
fn check_scalar(at: &str, schema: &Value, value: &Value, problems: &mut Vec<String>) {
    let text = match value {
        Value::String(text) => Some(text.as_str()),
        _ => None,
    };
    let ok = match (schema["type"].as_str(), schema["format"].as_str()) {
        (Some("string"), Some("date-time")) => {
            text.is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok())
        }
        (Some("string"), Some("date")) => {
            text.is_some_and(|t| t.len() == 10 && t.parse::<jiff::civil::Date>().is_ok())
        }
        (Some("string"), Some("int64" | "uint64")) => {
            text.is_some_and(|t| t.parse::<i128>().is_ok())
        }
        (Some("string"), _) => text.is_some(),
        (Some("integer"), _) => {
            value.is_i64() || value.is_u64() || text.is_some_and(|t| t.parse::<i64>().is_ok())
        }
        (Some("number"), _) => value.is_number() || text.is_some_and(|t| t.parse::<f64>().is_ok()),
        (Some("boolean"), _) => value.is_boolean() || matches!(text, Some("true" | "false")),
        _ => true,
    };
    if !ok {
        problems.push(format!(
            "{at}: {value} is not a {} {}",
            schema["type"].as_str().unwrap_or("?"),
            schema["format"].as_str().unwrap_or("")
        ));
        return;
    }
    if let (Some(allowed), Some(text)) = (schema["enum"].as_array(), text) {
        if !allowed.iter().any(|option| option == text) {
            problems.push(format!("{at}: {text:?} is not one of {allowed:?}"));
        }
    }
}

/// What Google enforces beyond the schema: client-chosen event ids use base32hex (`a`–`v`, `0`–`9`), 5 to 1024
/// characters; an event's start and end are both timed or both all-day. An instance of a recurring event has
/// Google's own id, `{recurringEventId}_{original start}` (`_20261201T150000Z`, or `_20261201` all day).
fn check_google_event_rules(event: &Value, problems: &mut Vec<String>) {
    let instance_id = event["recurringEventId"].as_str().and_then(|master| {
        let stamp = event["id"]
            .as_str()?
            .strip_prefix(master)?
            .strip_prefix('_')?;
        let utc = stamp.len() == 16
            && stamp.as_bytes()[8] == b'T'
            && stamp.ends_with('Z')
            && stamp[..8]
                .bytes()
                .chain(stamp[9..15].bytes())
                .all(|b| b.is_ascii_digit());
        let date = stamp.len() == 8 && stamp.bytes().all(|b| b.is_ascii_digit());
        if !(utc || date) {
            problems.push(format!(
                "Event.id: {:?} is not {master}_ and an original start",
                event["id"]
            ));
        }
        Some(master)
    });
    if let Some(id) = instance_id.or_else(|| event["id"].as_str()) {
        let base32hex = id.bytes().all(|b| matches!(b, b'a'..=b'v' | b'0'..=b'9'));
        if !(5..=1024).contains(&id.len()) || !base32hex {
            problems.push(format!(
                "Event.id: {id:?} is not 5-1024 base32hex characters"
            ));
        }
    }
    let timed = |edge: &Value| edge.get("dateTime").is_some_and(|v| !v.is_null());
    if event.get("start").is_some()
        && event.get("end").is_some()
        && timed(&event["start"]) != timed(&event["end"])
    {
        problems.push("Event: start and end must both be timed or both all-day".to_owned());
    }
}

/// Microsoft Graph v1.0 calendar types.
pub struct GraphTypes {
    document: Value,
}

impl GraphTypes {
    pub fn load() -> Self {
        Self {
            document: document(include_str!(
                "../provider-specs/msgraph-calendar-types.json"
            )),
        }
    }

    /// The declaration of a property, looked up through the type's `extends` chain.
    fn property(&self, type_name: &str, property: &str) -> Option<&Value> {
        let mut current = Some(type_name);
        while let Some(name) = current {
            let declared = &self.document["types"][name];
            if let Some(found) = declared["properties"].get(property) {
                return Some(found);
            }
            current = declared["extends"].as_str();
        }
        None
    }

    /// Everything wrong with `value` as an instance of the named type (e.g. `Event`).
    pub fn check(&self, type_name: &str, value: &Value) -> Vec<String> {
        let mut problems = Vec::new();
        self.check_object(type_name, type_name, value, &mut problems);
        problems
    }

    fn check_object(&self, at: &str, type_name: &str, value: &Value, problems: &mut Vec<String>) {
        let Some(fields) = value.as_object() else {
            return problems.push(format!("{at}: expected a {type_name} object, got {value}"));
        };
        for (name, field) in fields {
            // OData annotations (`@odata.type`, `@odata.etag`, …) may accompany any object.
            if name.starts_with("@odata.") {
                continue;
            }
            let field_at = format!("{at}.{name}");
            let Some(declared) = self.property(type_name, name) else {
                problems.push(format!("{field_at}: no such property"));
                continue;
            };
            if field.is_null() {
                if declared["nullable"] != true {
                    problems.push(format!("{field_at}: may not be null"));
                }
                continue;
            }
            if declared["array"] == true {
                match field.as_array() {
                    Some(items) => {
                        for (index, item) in items.iter().enumerate() {
                            self.check_single(
                                &format!("{field_at}[{index}]"),
                                declared,
                                item,
                                problems,
                            );
                        }
                    }
                    None => problems.push(format!("{field_at}: expected an array")),
                }
            } else {
                self.check_single(&field_at, declared, field, problems);
            }
        }
        if type_name == "DateTimeTimeZone" {
            check_local_date_time(at, value, problems);
        }
    }

    fn check_single(&self, at: &str, declared: &Value, value: &Value, problems: &mut Vec<String>) {
        let kind = declared["type"].as_str().unwrap_or("");
        let ok = match kind {
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "number" => value.is_number(),
            _ => {
                if let Some(allowed) = self.document["enums"][kind].as_array() {
                    if !allowed.iter().any(|option| option == value) {
                        problems.push(format!("{at}: {value} is not a {kind} ({allowed:?})"));
                    }
                    return;
                }
                if let Some(declared) = self.document["types"].get(kind) {
                    // A type declared without properties (`ResourceData`) is an open type: anything goes.
                    if declared["properties"]
                        .as_object()
                        .is_some_and(|p| p.is_empty())
                        && declared["extends"].is_null()
                    {
                        if !value.is_object() {
                            problems.push(format!("{at}: expected a {kind} object, got {value}"));
                        }
                        return;
                    }
                    return self.check_object(at, kind, value, problems);
                }
                // A type the extract does not describe (e.g. Attachment): nothing to check against.
                true
            }
        };
        if !ok {
            problems.push(format!("{at}: {value} is not a {kind}"));
        }
    }
}

/// Graph's `dateTime` is a local time without offset (the zone is in `timeZone`): `2026-12-01T10:00:00` or with
/// fractional seconds.
fn check_local_date_time(at: &str, value: &Value, problems: &mut Vec<String>) {
    if let Some(text) = value["dateTime"].as_str() {
        // jiff would read past an offset, so look for one explicitly.
        let has_offset = text
            .split_once('T')
            .is_some_and(|(_, time)| time.contains(['+', '-', 'Z', 'z']));
        if has_offset || text.parse::<jiff::civil::DateTime>().is_err() {
            problems.push(format!(
                "{at}.dateTime: {text:?} is not a local date-time without offset"
            ));
        }
    }
    if value
        .get("timeZone")
        .is_some_and(|zone| zone.as_str().is_none_or(str::is_empty))
    {
        problems.push(format!("{at}.timeZone: must name a zone"));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn google_event() -> Value {
        json!({
            "id": "a0b1c2d3e4f5g6h7",
            "summary": "Consultation: Ana Silva",
            "description": "first visit",
            "start": { "dateTime": "2026-12-01T10:00:00-05:00", "timeZone": "America/New_York" },
            "end": { "dateTime": "2026-12-01T10:30:00-05:00", "timeZone": "America/New_York" },
            "transparency": "opaque",
            "extendedProperties": { "private": { "bookingAppointmentId": "0190" } },
            "reminders": { "useDefault": true }
        })
    }

    #[test]
    fn a_correct_google_insert_passes() {
        let discovery = GoogleDiscovery::load();
        let body = google_event();
        let query = [("sendUpdates".to_owned(), "none".to_owned())];
        let request = GoogleRequest {
            http_method: "POST",
            path: "calendars/primary/events",
            query: &query,
            body: Some(&body),
        };
        assert_eq!(discovery.check_request(&request), Vec::<String>::new());
        assert_eq!(discovery.check_schema("Event", &body), Vec::<String>::new());
    }

    #[test]
    fn google_findings_name_what_is_wrong() {
        let discovery = GoogleDiscovery::load();
        let mut body = google_event();
        body["summmary"] = json!("typo");
        body["start"]["dateTime"] = json!("tomorrow at ten");
        body["reminders"]["useDefault"] = json!("yes");
        body["id"] = json!("Not-Base32hex");
        let query = [
            ("sendUpdates".to_owned(), "everyone".to_owned()),
            ("maxAttendees".to_owned(), "many".to_owned()),
            ("colour".to_owned(), "red".to_owned()),
        ];
        let request = GoogleRequest {
            http_method: "POST",
            path: "calendars/primary/events",
            query: &query,
            body: Some(&body),
        };
        let problems = discovery.check_request(&request).join("\n");
        for expected in [
            "body.summmary: no such field",
            "start.dateTime",
            "useDefault",
            "sendUpdates",
            "maxAttendees",
            "colour is not declared",
        ] {
            assert!(
                problems.contains(expected),
                "{expected} missing from:\n{problems}"
            );
        }
        let rules = discovery.check_schema("Event", &body).join("\n");
        assert!(rules.contains("base32hex"), "{rules}");
    }

    #[test]
    fn google_paths_resolve_to_methods_and_unknown_ones_are_findings() {
        let discovery = GoogleDiscovery::load();
        let (id, parameters) = discovery
            .method_for(
                "PATCH",
                "calendars/frontdesk%40example.com/events/abcde12345",
            )
            .unwrap();
        assert_eq!(id, "calendar.events.patch");
        assert_eq!(parameters["calendarId"], "frontdesk@example.com");
        let request = GoogleRequest {
            http_method: "PUT",
            path: "calendars/primary/nonsense",
            query: &[],
            body: None,
        };
        assert_eq!(discovery.check_request(&request).len(), 1);
        let listing = GoogleRequest {
            http_method: "GET",
            path: "calendars/primary/events",
            query: &[
                ("singleEvents".to_owned(), "true".to_owned()),
                ("timeMin".to_owned(), "2026-12-01".to_owned()),
            ],
            body: None,
        };
        let problems = discovery.check_request(&listing);
        assert!(
            problems.iter().any(|p| p.contains("timeMin")),
            "{problems:?}"
        );
    }

    #[test]
    fn a_correct_graph_event_passes_and_mistakes_are_found() {
        let graph = GraphTypes::load();
        let event = json!({
            "subject": "Consultation: Ana Silva",
            "body": { "contentType": "text", "content": "first visit" },
            "start": { "dateTime": "2026-12-01T10:00:00", "timeZone": "America/New_York" },
            "end": { "dateTime": "2026-12-01T10:30:00.0000000", "timeZone": "America/New_York" },
            "showAs": "busy",
            "transactionId": "0190-1",
            "singleValueExtendedProperties": [
                { "id": "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name BookingAppointmentId", "value": "0190" }
            ],
            "@odata.etag": "W/\"abc\""
        });
        assert_eq!(graph.check("Event", &event), Vec::<String>::new());

        let mut wrong = event.clone();
        wrong["subjct"] = json!("typo");
        wrong["showAs"] = json!("occupied");
        wrong["start"]["dateTime"] = json!("2026-12-01T10:00:00-05:00");
        wrong["isAllDay"] = json!("no");
        wrong["body"]["contentType"] = json!("markdown");
        let problems = graph.check("Event", &wrong).join("\n");
        for expected in [
            "Event.subjct: no such property",
            "showAs",
            "start.dateTime",
            "isAllDay",
            "contentType",
        ] {
            assert!(
                problems.contains(expected),
                "{expected} missing from:\n{problems}"
            );
        }
    }
}
