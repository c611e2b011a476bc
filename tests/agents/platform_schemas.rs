//! The voice platforms' published tool schemas (`tests/provider-specs/voice-platforms/`: Vapi's
//! `CreateFunctionToolDTO`, Retell's custom tool) as validators, for every test that checks a body a platform is given
//! to paste: the agent listings' here, the dashboard's voice agent page in `tests/dashboard`. Vapi's live API refuses
//! keys its DTOs do not name, so both schemas are read closed: an object may carry only the keys its schema names.

use serde_json::{Value, json};

pub const VAPI_FUNCTION_TOOL: &str =
    include_str!("../provider-specs/voice-platforms/vapi-function-tool.schema.json");
pub const RETELL_CUSTOM_TOOL: &str =
    include_str!("../provider-specs/voice-platforms/retell-custom-tool.schema.json");

/// `schema` with every object schema that names its properties and says nothing of others made to refuse others.
fn closed(mut schema: Value) -> Value {
    fn close(schema: &mut Value) {
        let Some(object) = schema.as_object_mut() else {
            return;
        };
        if object.get("properties").is_some_and(Value::is_object)
            && !object.contains_key("additionalProperties")
        {
            object.insert("additionalProperties".to_owned(), json!(false));
        }
        for keyword in ["properties", "$defs"] {
            if let Some(Value::Object(named)) = object.get_mut(keyword) {
                named.values_mut().for_each(close);
            }
        }
        for keyword in ["items", "additionalProperties", "not"] {
            if let Some(subschema) = object.get_mut(keyword) {
                close(subschema);
            }
        }
        for keyword in ["oneOf", "anyOf", "allOf"] {
            if let Some(Value::Array(branches)) = object.get_mut(keyword) {
                branches.iter_mut().for_each(close);
            }
        }
    }
    close(&mut schema);
    schema
}

pub fn validator(published: &str) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(published).unwrap();
    jsonschema::draft202012::new(&closed(schema)).unwrap()
}

pub fn errors(validator: &jsonschema::Validator, body: &Value) -> Vec<String> {
    validator
        .iter_errors(body)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect()
}
