//! The voice agent page: everything an owner needs to connect an AI phone agent without reading documentation. The
//! MCP URL on `PUBLIC_BASE_URL`; "Create a key for the voice agent" (the API keys page's own use case, the key shown
//! once); for Vapi, Retell, any MCP client and OpenAI-style tools the exact configuration to paste, generated from the
//! agent's one catalogue with the URL and (right after creating it) the key filled in; and a console that runs any
//! tool for this business the way the agent's endpoints do, with arguments typed into a form generated from the
//! tool's JSON Schema.
//!
//! The console runs a tool through `agent::call_tool`, the dispatcher behind `/mcp` and the Vapi and Retell
//! endpoints, for the signed-in owner's business: the owner's session (and the form's CSRF token) stands where the
//! agent's key would, so no key is made, kept or shown for it. Its form's values become the same JSON arguments a
//! model would send and are read by the same strict parsers, so what fails here fails for the agent too.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::assets::copy_script_url;
use super::auth::{NoFields, Signed, SignedForm};
use super::layout::{Nav, csrf_field};
use super::{Dashboard, PageResult};
use crate::agent::{self, CallContext, ToolAnswer, ToolFailure, ToolName, ToolSpec};
use crate::api::{MCP_PATH, openai_tool, retell_tool, vapi_tool};
use crate::app::{self, accounts};
use crate::domain::Service;
use crate::ports::AgentApiStore;

/// The name of the keys this page creates, as the API keys page lists them.
const AGENT_KEY_NAME: &str = "Voice agent";

/// Stands in for the key until one is created on this page (keys are stored only as hashes, so an older key's
/// value cannot be shown again).
const KEY_PLACEHOLDER: &str = "YOUR_VOICE_AGENT_KEY";

/// Where Vapi takes a tool body (its API's `POST /tool`).
const VAPI_TOOL_ENDPOINT: &str = "https://api.vapi.ai/tool";

pub fn routes() -> Router<Dashboard> {
    Router::new()
        .route("/voice-agent", get(voice_agent_page))
        .route("/voice-agent/key", post(create_key))
        .route("/voice-agent/try", post(try_tool))
}

/// What the page is asked to show beyond its usual content.
#[derive(Default)]
struct Shown {
    /// A key created just now, shown this once and filled into every configuration.
    new_key: Option<String>,
    /// The console's chosen tool and the values typed for it.
    console: Console,
}

#[derive(Default)]
struct Console {
    tool: Option<ToolName>,
    typed: Vec<(String, String)>,
    outcome: Option<Result<ToolAnswer, ToolFailure>>,
}

#[derive(Deserialize, Default)]
struct Chosen {
    tool: Option<String>,
}

async fn voice_agent_page(
    State(dashboard): State<Dashboard>,
    signed: Signed,
    Query(chosen): Query<Chosen>,
) -> PageResult {
    let shown = Shown {
        console: Console {
            tool: chosen.tool.as_deref().and_then(ToolName::parse),
            ..Console::default()
        },
        ..Shown::default()
    };
    let body = render(&dashboard, &signed, &shown).await?;
    signed.page(Nav::VoiceAgent, "Voice agent", None, body)
}

/// The page after a form, which shows a key once or a tool's answer.
async fn answered(dashboard: &Dashboard, signed: &Signed, shown: &Shown) -> PageResult {
    let body = render(dashboard, signed, shown).await?;
    signed.page_shown_once(StatusCode::OK, Nav::VoiceAgent, "Voice agent", body)
}

async fn create_key(
    State(dashboard): State<Dashboard>,
    SignedForm { signed_in, .. }: SignedForm<NoFields>,
) -> PageResult {
    let (_, key) =
        accounts::create_api_key(&dashboard.app, &signed_in.business, AGENT_KEY_NAME).await?;
    let signed = Signed::load(&dashboard.app, signed_in).await?;
    let shown = Shown {
        new_key: Some(key.expose().to_owned()),
        ..Shown::default()
    };
    answered(&dashboard, &signed, &shown).await
}

async fn try_tool(
    State(dashboard): State<Dashboard>,
    SignedForm { signed_in, form }: SignedForm<Vec<(String, String)>>,
) -> PageResult {
    let tool = form
        .iter()
        .find(|(name, _)| name == "tool")
        .and_then(|(_, value)| ToolName::parse(value));
    let typed: Vec<(String, String)> = form
        .into_iter()
        .filter(|(name, _)| name != "tool" && name != "csrf")
        .collect();
    let outcome = match tool {
        Some(tool) => {
            let arguments = arguments_from_form(&agent::tool(tool), &typed);
            let outcome = agent::call_tool(
                &dashboard.app.view::<dyn AgentApiStore>(),
                &signed_in.business,
                tool,
                Value::Object(arguments),
                &CallContext::default(),
            )
            .await;
            // The tool ran (whatever it answered): the checklist's "the agent tried" is done.
            if matches!(outcome, Ok(_) | Err(ToolFailure::Refused(_))) {
                app::record_agent_tried(&dashboard.app, &signed_in.business).await?;
            }
            Some(outcome)
        }
        None => None,
    };
    let signed = Signed::load(&dashboard.app, signed_in).await?;
    let shown = Shown {
        console: Console {
            tool,
            typed,
            outcome,
        },
        ..Shown::default()
    };
    answered(&dashboard, &signed, &shown).await
}

/// The form's values as the JSON arguments a model would send: a field left empty is an argument left out; a whole
/// number typed for an integer is a number, `true`/`false` for a boolean a boolean; anything else stays the text
/// typed, and a field the schema does not name is passed on as it is, so the tool's own parser refuses it exactly
/// as it would refuse the model.
fn arguments_from_form(spec: &ToolSpec, fields: &[(String, String)]) -> Map<String, Value> {
    let properties = spec
        .input_schema
        .get("properties")
        .and_then(Value::as_object);
    fields
        .iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(name, value)| {
            let kind = properties
                .and_then(|properties| properties.get(name))
                .and_then(|property| property.get("type"))
                .and_then(Value::as_str);
            let text = || Value::String(value.clone());
            let argument = match kind {
                Some("integer") => value
                    .trim()
                    .parse::<i64>()
                    .map_or_else(|_| text(), Value::from),
                Some("number") => value
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or_else(text, Value::Number),
                Some("boolean") => match value.trim() {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => text(),
                },
                _ => text(),
            };
            (name.clone(), argument)
        })
        .collect()
}

/// Pretty JSON for a `<pre>` (a `Value` always serializes).
fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// The configurations to paste, for one base URL and key.
struct Configurations {
    mcp_url: String,
    authorization: String,
    base_url: String,
}

impl Configurations {
    fn new(base_url: &str, key: Option<&str>) -> Self {
        Self {
            mcp_url: format!("{base_url}{MCP_PATH}"),
            authorization: format!("Bearer {}", key.unwrap_or(KEY_PLACEHOLDER)),
            base_url: base_url.to_owned(),
        }
    }

    /// The `mcpServers` entry most MCP clients read (Claude Desktop, Cursor, the MCP Inspector's config export).
    fn mcp_client(&self) -> Value {
        json!({
            "mcpServers": {
                "bookings": {
                    "type": "http",
                    "url": self.mcp_url,
                    "headers": { "Authorization": self.authorization },
                }
            }
        })
    }

    /// Each tool as Vapi's `POST /tool` body, its server sending the key.
    fn vapi_tools(&self) -> Vec<Value> {
        agent::tools()
            .iter()
            .map(|spec| {
                let mut body = vapi_tool(spec, &self.base_url);
                body["server"]["headers"] = json!({ "Authorization": self.authorization });
                body
            })
            .collect()
    }

    /// Each tool as a Retell custom function (an item of a Retell LLM's `general_tools`), with the key header and
    /// what the form's switches should be: the agent speaks after every tool (that is when it reads the answer), and
    /// says a short line while one that changes a booking runs.
    fn retell_functions(&self) -> Vec<Value> {
        agent::tools()
            .iter()
            .map(|spec| {
                let mut function = retell_tool(spec, &self.base_url);
                let changes = spec.effect != agent::Effect::Reads;
                function["headers"] = json!({ "Authorization": self.authorization });
                function["speak_during_execution"] = json!(changes);
                if changes {
                    function["execution_message_description"] =
                        json!("One moment while I do that.");
                }
                function["speak_after_execution"] = json!(true);
                function
            })
            .collect()
    }
}

/// A block of text to paste: selected whole by one click (CSS `user-select: all`), with a copy button that the
/// page's script reveals where script runs.
fn paste_block(id: &str, label: &str, text: &str) -> Markup {
    html! {
        div class="paste-block" {
            div class="paste-head" {
                span id={ (id) "-label" } class="paste-label" { (label) }
                button type="button" class="copy" data-copy=(id) aria-describedby={ (id) "-label" } hidden { "Copy" }
            }
            pre id=(id) class="paste" tabindex="0" aria-labelledby={ (id) "-label" } { (text) }
        }
    }
}

async fn render(
    dashboard: &Dashboard,
    signed: &Signed,
    shown: &Shown,
) -> Result<Markup, super::PageError> {
    let settings = &dashboard.settings;
    let configurations = Configurations::new(&settings.public_base_url, shown.new_key.as_deref());
    let services = app::list_services(&dashboard.app, &signed.business).await?;
    let csrf = &signed.session.csrf_token;
    let vapi = configurations.vapi_tools();
    let retell = configurations.retell_functions();
    let openai: Vec<Value> = agent::tools().iter().map(openai_tool).collect();
    Ok(html! {
        script src=(copy_script_url()) defer {}
        p { "Connect your AI phone agent to your bookings: it finds free times, holds and books them, and moves or cancels appointments, always in your opening hours and your calendar's free time." }
        section class="card" aria-labelledby="key-title" {
            h2 id="key-title" { "1. A key for the voice agent" }
            @if let Some(key) = &shown.new_key {
                div class="notice strong" role="status" {
                    p { "Your voice agent's new key. It is filled into every configuration below. Copy what you need now: the key is shown only this once." }
                    (paste_block("new-key", "API key", key))
                }
            } @else {
                p { "The agent proves it works for your business with a key. Create one here and this page fills it into every configuration below. It is shown only once; revoke it on the " a href="/dashboard/api-keys" { "API keys" } " page when it is no longer needed." }
            }
            form method="post" action="/dashboard/voice-agent/key" class="inline" {
                (csrf_field(csrf))
                button type="submit" class="primary" { "Create a key for the voice agent" }
            }
        }
        section class="card" aria-labelledby="mcp-title" {
            h2 id="mcp-title" { "2. Your agent's tools server (MCP)" }
            p { "Any agent that speaks the Model Context Protocol connects to this URL, sending the key as a Bearer token in the Authorization header." }
            (paste_block("mcp-url", "MCP URL", &configurations.mcp_url))
            (paste_block("mcp-config", "Configuration for MCP clients (mcpServers)", &pretty(&configurations.mcp_client())))
        }
        section class="card" aria-labelledby="platforms-title" {
            h2 id="platforms-title" { "3. Paste into your voice platform" }
            @if shown.new_key.is_none() {
                p class="hint" { "Until you create a key above, " code { (KEY_PLACEHOLDER) } " stands where it goes." }
            }
            h3 { "Vapi" }
            p { "Create each tool with Vapi's API (" code { "POST " (VAPI_TOOL_ENDPOINT) } ", one body per tool), or paste the list into your assistant's " code { "model.tools" } ". Vapi calls " code { (configurations.base_url) "/v1/agents/vapi" } " with the key." }
            (paste_block("vapi-tools", "Vapi tool bodies", &pretty(&Value::Array(vapi))))
            h3 { "Retell" }
            p { "In your Retell agent, add a Custom Function for each tool below with these settings, or send the list as your Retell LLM's " code { "general_tools" } "." }
            @for function in &retell {
                details class="retell-function" {
                    summary { (function["name"].as_str().unwrap_or_default()) }
                    dl {
                        dt { "Name" } dd { code { (function["name"].as_str().unwrap_or_default()) } }
                        dt { "Description" } dd { (function["description"].as_str().unwrap_or_default()) }
                        dt { "API endpoint" } dd { "POST " code { (function["url"].as_str().unwrap_or_default()) } }
                        dt { "Headers" } dd { code { "Authorization: " (configurations.authorization) } }
                        dt { "Payload: args only" } dd { "Off" }
                        dt { "Speak during execution" } dd { @if function["speak_during_execution"] == true { "On: “One moment while I do that.”" } @else { "Off" } }
                        dt { "Speak after execution" } dd { "On" }
                    }
                    @let name = function["name"].as_str().unwrap_or_default();
                    (paste_block(&format!("retell-{name}"), "Parameters (JSON schema)", &pretty(&function["parameters"])))
                }
            }
            (paste_block("retell-tools", "Retell general_tools", &pretty(&Value::Array(retell.clone()))))
            h3 { "OpenAI-style tools" }
            p { "For a platform or your own code that takes OpenAI function definitions (strict mode). Run each call the model makes through the MCP URL above with the key." }
            (paste_block("openai-tools", "OpenAI tools", &pretty(&Value::Array(openai))))
        }
        (console(csrf, &shown.console, &services))
    })
}

/// The console: pick a tool, fill its arguments, see what the agent would say and the answer's JSON.
fn console(csrf: &str, console: &Console, services: &[Service]) -> Markup {
    let chosen = console.tool.unwrap_or(ToolName::GetBusinessContext);
    let spec = agent::tool(chosen);
    let required: Vec<&str> = spec
        .input_schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    // Required arguments first, then the optional ones, each group in the schema's order.
    let mut properties: Vec<(&String, &Value)> = spec
        .input_schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .collect();
    properties.sort_by_key(|(name, _)| !required.contains(&name.as_str()));
    html! {
        section class="card" id="try" aria-labelledby="try-title" {
            h2 id="try-title" { "4. Try the tools" }
            p { "Run a tool for your business exactly as the agent would, and see what it would say to the caller. Tools run for real: a hold or booking made here is a real one." }
            form method="get" action="/dashboard/voice-agent#try" class="filters" {
                div class="field" {
                    label for="tool" { "Tool" }
                    select id="tool" name="tool" {
                        @for name in ToolName::ALL {
                            option value=(name.as_str()) selected[name == chosen] { (name.as_str()) " — " (agent::tool(name).title) }
                        }
                    }
                }
                button type="submit" { "Choose" }
            }
            form method="post" action="/dashboard/voice-agent/try#try" class="stack" id="console" {
                (csrf_field(csrf))
                input type="hidden" name="tool" value=(chosen.as_str());
                h3 { code { (chosen.as_str()) } }
                p class="hint" { (spec.description) }
                @if properties.is_empty() {
                    p { "This tool takes no arguments." }
                }
                @for (name, schema) in properties {
                    (argument_field(name, schema, required.contains(&name.as_str()), typed(console, name), services))
                }
                button type="submit" class="primary" { "Run " (chosen.as_str()) }
            }
            @if let Some(outcome) = &console.outcome {
                div class="console-result" role="status" {
                    @match outcome {
                        Ok(answer) => {
                            h3 { "The agent would say" }
                            blockquote class="said" { (answer.summary) }
                            (paste_block("answer-json", "The answer's JSON", &pretty(&answer.structured)))
                        }
                        Err(failure) => {
                            h3 { "The agent would be told" }
                            blockquote class="said refused" { (failure.message()) }
                        }
                    }
                }
            }
        }
    }
}

fn typed<'a>(console: &'a Console, name: &str) -> &'a str {
    console
        .typed
        .iter()
        .rev()
        .find(|(field, _)| field == name)
        .map_or("", |(_, value)| value.as_str())
}

/// One argument's field, from its JSON Schema: a list for an enumeration (and for a service, the business's
/// services), yes/no for a boolean, a number field for an integer, text otherwise; required ones marked.
fn argument_field(
    name: &str,
    schema: &Value,
    required: bool,
    typed: &str,
    services: &[Service],
) -> Markup {
    let id = format!("arg-{name}");
    let hint = format!("{id}-hint");
    let kind = schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("string");
    let choices: Option<Vec<(String, String)>> = if name == "service_id" {
        Some(
            services
                .iter()
                .filter(|service| service.active)
                .map(|service| {
                    (
                        service.id.to_string(),
                        service.settings.name.as_ref().to_owned(),
                    )
                })
                .collect(),
        )
    } else if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        Some(
            values
                .iter()
                .filter_map(Value::as_str)
                .map(|value| (value.to_owned(), value.to_owned()))
                .collect(),
        )
    } else if kind == "boolean" {
        Some(vec![
            ("true".to_owned(), "Yes (true)".to_owned()),
            ("false".to_owned(), "No (false)".to_owned()),
        ])
    } else {
        None
    };
    html! {
        div class="field" {
            label for=(id) {
                code { (name) }
                @if required { " (required)" } @else { span class="muted" { " (optional)" } }
            }
            p class="hint" id=(hint) { (schema.get("description").and_then(Value::as_str).unwrap_or_default()) }
            @match choices {
                Some(choices) => {
                    select id=(id) name=(name) aria-describedby=(hint) required[required] {
                        option value="" selected[typed.is_empty()] { @if required { "Choose…" } @else { "Leave out" } }
                        @for (value, label) in &choices {
                            option value=(value) selected[typed == value] { (label) }
                        }
                    }
                }
                None => {
                    input id=(id) name=(name) type=(if kind == "integer" { "number" } else { "text" })
                        value=(typed) aria-describedby=(hint) required[required] autocomplete="off";
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn form_values_become_the_arguments_a_model_would_send() {
        let find = agent::tool(ToolName::FindAvailableTimes);
        let arguments = arguments_from_form(
            &find,
            &fields(&[
                ("service_id", "0b7c5a52-0000-4000-8000-000000000001"),
                ("date", ""),
                ("limit", " 3 "),
                ("part_of_day", "morning"),
            ]),
        );
        assert_eq!(
            Value::Object(arguments),
            json!({
                "service_id": "0b7c5a52-0000-4000-8000-000000000001",
                "limit": 3,
                "part_of_day": "morning",
            })
        );
    }

    #[test]
    fn what_is_not_a_number_or_not_in_the_schema_reaches_the_parser_as_typed() {
        let find = agent::tool(ToolName::FindAvailableTimes);
        let arguments =
            arguments_from_form(&find, &fields(&[("limit", "three"), ("colour", "blue")]));
        assert_eq!(
            Value::Object(arguments),
            json!({ "limit": "three", "colour": "blue" })
        );
    }
}
