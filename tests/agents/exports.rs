//! The tool bodies each platform is given to paste, validated with a real JSON Schema validator against what the
//! platforms publish (`tests/provider-specs/voice-platforms/`): Vapi's `CreateFunctionToolDTO` and Retell's custom
//! tool. Vapi's live API refuses keys its DTOs do not name, so both schemas are read closed: an object may carry only
//! the keys its schema names.

use integration_tests::{TestApp, spawn_app};
use serde_json::{Value, json};

use crate::platform_schemas::{RETELL_CUSTOM_TOOL, VAPI_FUNCTION_TOOL, errors, validator};

async fn listing(app: &TestApp, path: &str) -> Vec<Value> {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

/// Every argument is there, with one type; what is optional is simply not required.
fn assert_single_types(parameters: &Value, tool: &Value) {
    let properties = parameters["properties"].as_object().unwrap();
    for required in parameters["required"].as_array().unwrap() {
        assert!(
            properties.contains_key(required.as_str().unwrap()),
            "{required} of {tool}"
        );
    }
    for (name, property) in properties {
        assert!(
            property["type"].is_string(),
            "{name} of {tool}: {}",
            property["type"]
        );
    }
}

#[test]
fn the_closed_schemas_refuse_what_the_platforms_refuse() {
    let vapi = validator(VAPI_FUNCTION_TOOL);
    let nullable = json!({
        "type": "function",
        "function": { "name": "find", "parameters": { "type": "object",
            "properties": { "date": { "type": ["string", "null"] } } } }
    });
    assert!(
        !errors(&vapi, &nullable).is_empty(),
        "Vapi's JsonSchema type is one name"
    );
    let unknown_key =
        json!({ "type": "function", "server": { "url": "https://x.example", "secret": "s" } });
    assert!(
        !errors(&vapi, &unknown_key).is_empty(),
        "server.secret is gone"
    );
    let retell = validator(RETELL_CUSTOM_TOOL);
    assert!(
        !errors(&retell, &json!({ "type": "custom", "name": "x" })).is_empty(),
        "url is required"
    );
}

#[tokio::test]
async fn vapi_gets_tool_bodies_its_published_schema_accepts() {
    let app = spawn_app().await;
    let vapi = validator(VAPI_FUNCTION_TOOL);
    let tools = listing(&app, "/v1/agents/tools/vapi").await;
    assert_eq!(tools.len(), 8);
    for tool in &tools {
        // The README's recipe adds the key as a header of the tool's server.
        let mut pasted = tool.clone();
        pasted["server"]["headers"] = json!({ "Authorization": format!("Bearer {}", app.api_key) });
        for body in [tool, &pasted] {
            let errors = errors(&vapi, body);
            assert!(
                errors.is_empty(),
                "{}: {errors:#?}",
                tool["function"]["name"]
            );
        }
        assert_eq!(tool["server"]["url"], app.url("/v1/agents/vapi"));
        assert_single_types(&tool["function"]["parameters"], tool);
    }
    let find = tools
        .iter()
        .find(|tool| tool["function"]["name"] == "find_available_times")
        .unwrap();
    assert_eq!(
        find["function"]["parameters"]["required"],
        json!(["service_id"])
    );
    let part = &find["function"]["parameters"]["properties"]["part_of_day"];
    assert_eq!(
        part["enum"],
        json!(["morning", "afternoon", "evening"]),
        "{find}"
    );
    let arguments = find["function"]["parameters"]["properties"]
        .as_object()
        .unwrap();
    // Eight, and the staff member the caller asks for (issue 26).
    assert_eq!(
        arguments.len(),
        9,
        "every argument of find_available_times: {find}"
    );
    assert_eq!(arguments["staff"]["type"], "string", "{find}");
    assert!(
        arguments["limit"].get("maximum").is_none(),
        "a keyword Vapi does not define"
    );
}

#[tokio::test]
async fn retell_gets_custom_functions_its_published_schema_accepts() {
    let app = spawn_app().await;
    let retell = validator(RETELL_CUSTOM_TOOL);
    let tools = listing(&app, "/v1/agents/tools/retell").await;
    assert_eq!(tools.len(), 8);
    for tool in &tools {
        let mut pasted = tool.clone();
        pasted["headers"] = json!({ "Authorization": format!("Bearer {}", app.api_key) });
        for body in [tool, &pasted] {
            let errors = errors(&retell, body);
            assert!(errors.is_empty(), "{}: {errors:#?}", tool["name"]);
        }
        assert_eq!(tool["url"], app.url("/v1/agents/retell"));
        assert_eq!(
            tool["args_at_root"], false,
            "our endpoint reads name, call and args"
        );
        assert_single_types(&tool["parameters"], tool);
    }
    let book = tools
        .iter()
        .find(|tool| tool["name"] == "book_appointment")
        .unwrap();
    assert_eq!(book["parameters"]["required"], json!(["customer_name"]));
}

#[tokio::test]
async fn behind_a_proxy_the_listing_names_the_https_url_the_platform_reached() {
    let app = spawn_app().await;
    let tools: Vec<Value> = app
        .client
        .get(app.url("/v1/agents/tools/retell"))
        .header("host", "agents.clinic.example")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        tools[0]["url"],
        "https://agents.clinic.example/v1/agents/retell"
    );
}

#[tokio::test]
async fn only_the_openai_strict_export_makes_optional_arguments_nullable() {
    let app = spawn_app().await;
    let openai = listing(&app, "/v1/agents/tools").await;
    let book = openai
        .iter()
        .find(|tool| tool["function"]["name"] == "book_appointment")
        .unwrap();
    let strict = &book["function"]["parameters"];
    assert_eq!(
        strict["properties"]["customer_phone"]["type"],
        json!(["string", "null"])
    );
    assert_eq!(strict["properties"]["customer_name"]["type"], "string");
    let client = crate::client(&app).await;
    for tool in client.list_all_tools().await.unwrap() {
        let schema = Value::Object((*tool.input_schema).clone());
        assert_single_types(&schema, &json!(tool.name));
    }
}
