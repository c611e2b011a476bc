//! The voice agent's interface end to end: rmcp's own client walking a whole call over `/mcp` on both stores, the
//! MCP Inspector's CLI as a client nobody here wrote, Vapi and Retell requests as their documentation shows them,
//! and the OpenAI listing. Every test reads the answers as the agent would hear them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

/// A scenario (an async function of the app it runs on) as two tests: `$embedded` on the embedded store and
/// `$dynamodb` on DynamoDB Local, which passes without running where DynamoDB Local is not installed (outside CI).
macro_rules! on_both_stores {
    ($scenario:ident: $embedded:ident, $dynamodb:ident) => {
        #[tokio::test]
        async fn $embedded() {
            $scenario(integration_tests::spawn_app().await).await;
        }

        #[tokio::test]
        async fn $dynamodb() {
            if let Some(app) = integration_tests::spawn_app_on_aws().await {
                $scenario(app).await;
            }
        }
    };
}

mod arguments;
mod exports;
mod inspector;
mod mcp;
mod origin;
mod platform_schemas;
mod platforms;
mod staff;

use integration_tests::TestApp;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::{RoleClient, model::ClientConfig};
use serde_json::Value;

pub type Client = RunningService<RoleClient, ClientConfig>;

pub async fn client(app: &TestApp) -> Client {
    integration_tests::mcp_client(&app.url(""), &app.api_key).await
}

/// The appointment a booking answer names: its id, and the appointment as the REST API reads it back.
pub async fn booked_appointment(app: &TestApp, booked: &Value) -> (String, Value) {
    let id = booked["appointment"]["appointment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stored = app.get_json(&format!("/v1/appointments/{id}")).await;
    (id, stored)
}

/// Calls a tool and returns its whole result.
pub async fn call(client: &Client, name: &'static str, arguments: Value) -> CallToolResult {
    let arguments = match arguments {
        Value::Object(object) => object,
        other => panic!("arguments must be an object: {other}"),
    };
    client
        .call_tool(CallToolRequestParams::new(name).with_arguments(arguments))
        .await
        .unwrap()
}

pub fn texts(result: &CallToolResult) -> Vec<String> {
    result
        .content
        .iter()
        .filter_map(|block| block.as_text().map(|text| text.text.clone()))
        .collect()
}

/// A successful call's structured answer, after checking what every answer promises: the sentence to say first
/// (one line, repeated as `summary`), then the same facts as JSON.
pub async fn answer(client: &Client, name: &'static str, arguments: Value) -> Value {
    let result = call(client, name, arguments).await;
    assert_eq!(result.is_error, Some(false), "{name}: {:?}", texts(&result));
    let structured = result.structured_content.clone().unwrap();
    let texts = texts(&result);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert_eq!(structured["summary"], texts[0]);
    assert!(!texts[0].contains('\n'), "{}", texts[0]);
    assert_eq!(
        serde_json::from_str::<Value>(&texts[1]).unwrap(),
        structured
    );
    structured
}

/// A refused call's one line for the model.
pub async fn tool_error(client: &Client, name: &'static str, arguments: Value) -> String {
    let result = call(client, name, arguments).await;
    assert_eq!(result.is_error, Some(true), "{name}: {:?}", texts(&result));
    assert!(result.structured_content.is_none());
    texts(&result).join(" ")
}
