//! The voice agent's endpoints: the tools of `crate::agent` served as MCP at `/mcp`, as Vapi server tools at
//! `POST /v1/agents/vapi`, as Retell custom functions at `POST /v1/agents/retell`, and listed for pasting into each
//! platform: OpenAI function definitions in strict mode at `GET /v1/agents/tools`, Vapi tool bodies at
//! `GET /v1/agents/tools/vapi`, Retell custom functions at `GET /v1/agents/tools/retell`, each in the shape its
//! platform's published schema accepts. Every route that touches a business authenticates with its API key as a
//! Bearer token; each only translates its platform's envelope, so a tool answers the same on every platform.
//!
//! These routes follow the platforms' contracts rather than ours (Vapi wants HTTP 200 even for a refusal), so they
//! are not in the OpenAPI document.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rmcp::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorData,
    Implementation, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
    Tool, ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;

use crate::agent::{self, CallContext, CallerId, Effect, ToolAnswer, ToolName, ToolSpec};
use crate::app::App;
use crate::domain::Business;
use crate::ports::AgentApiStore;

use super::MAX_BODY_BYTES;
use super::extract::Tenant;
use super::problem::ApiError;

pub const MCP_PATH: &str = "/mcp";
/// Platforms send the call so far with every tool call (Vapi its artifact, Retell its live transcript): a long
/// call's body outgrows the API's usual limit.
const PLATFORM_BODY_BYTES: usize = 1024 * 1024;

const INSTRUCTIONS: &str = "Booking tools for one business, for an agent on a phone call. Call \
    get_business_context first: it gives today's local date and the services. Offer times from \
    find_available_times or check_time, read their spoken forms to the caller, and book only what the caller \
    confirmed. Every time is the business's local time.";

/// The state of these routes: the app with only the store roles they use.
pub(super) type AgentApp = App<dyn AgentApiStore>;

/// Vapi, Retell and the OpenAI listing; `/mcp` comes from [`mcp_routes`].
pub fn routes() -> OpenApiRouter<AgentApp> {
    OpenApiRouter::new()
        .route("/v1/agents/tools", get(openai_tools))
        .route("/v1/agents/tools/vapi", get(vapi_tools))
        .route("/v1/agents/tools/retell", get(retell_tools))
        .route(
            "/v1/agents/vapi",
            post(vapi_tool_calls).layer(DefaultBodyLimit::max(PLATFORM_BODY_BYTES)),
        )
        .route(
            "/v1/agents/retell",
            post(retell_function).layer(DefaultBodyLimit::max(PLATFORM_BODY_BYTES)),
        )
}

/// One line for a voice platform: Vapi's documentation requires results without line breaks.
fn single_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

fn answer_json(answer: &ToolAnswer) -> String {
    single_line(&answer.structured.to_string())
}

/// `GET /v1/agents/tools`: the tools as OpenAI function-calling definitions in strict mode, ready to paste into a
/// platform that takes OpenAI tools (the `tools` array of a chat completion, or a voice platform's custom tools).
async fn openai_tools() -> Json<Value> {
    Json(agent::tools().iter().map(openai_tool).collect())
}

/// A tool as an OpenAI function-calling definition in strict mode (also what the dashboard's voice agent page shows).
pub(crate) fn openai_tool(spec: &ToolSpec) -> Value {
    json!({
        "type": "function",
        "function": {
            "name": spec.name.as_str(),
            "description": spec.description,
            "parameters": spec.strict_parameters(),
            "strict": true,
        }
    })
}

/// The keywords Vapi's `JsonSchema` (the schema of each argument in `function.parameters.properties`) defines. Its
/// API refuses other keys, so `minimum`, `maximum` and the like stay in the description's words for Vapi.
const VAPI_SCHEMA_KEYWORDS: [&str; 9] = [
    "type",
    "items",
    "properties",
    "description",
    "pattern",
    "format",
    "required",
    "enum",
    "title",
];

/// An argument's schema cut down to the keywords Vapi defines, nested schemas included.
fn vapi_property(schema: &Value) -> Value {
    let Some(object) = schema.as_object() else {
        return schema.clone();
    };
    let kept = object
        .iter()
        .filter(|(key, _)| VAPI_SCHEMA_KEYWORDS.contains(&key.as_str()))
        .map(|(key, value)| {
            let value = match key.as_str() {
                "items" => vapi_property(value),
                "properties" => Value::Object(
                    value
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(name, schema)| (name.clone(), vapi_property(schema)))
                        .collect(),
                ),
                _ => value.clone(),
            };
            (key.clone(), value)
        })
        .collect();
    Value::Object(kept)
}

/// The arguments' schema as both platforms declare a tool's parameters: `type`, `properties`, `required`.
fn declared_parameters(spec: &ToolSpec, properties: Value) -> Value {
    json!({
        "type": "object",
        "properties": properties,
        "required": spec.input_schema.get("required").cloned().unwrap_or_else(|| json!([])),
    })
}

/// A tool as Vapi's `CreateFunctionToolDTO` (`POST /tool`): optional arguments are left out of `required`, each
/// argument has one type and only the keywords Vapi defines, and its server is our Vapi endpoint.
pub(crate) fn vapi_tool(spec: &ToolSpec, base_url: &str) -> Value {
    let properties: Map<String, Value> = spec
        .input_schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, schema)| (name.clone(), vapi_property(schema)))
        .collect();
    json!({
        "type": "function",
        "function": {
            "name": spec.name.as_str(),
            "description": spec.description,
            "parameters": declared_parameters(spec, Value::Object(properties)),
        },
        "server": { "url": format!("{base_url}/v1/agents/vapi") },
    })
}

/// A tool as a Retell custom function (an item of a Retell LLM's `general_tools`), posted to our Retell endpoint
/// with Retell's `name`, `call` and `args` ("Payload: args only" off). Retell leaves each argument's schema free.
pub(crate) fn retell_tool(spec: &ToolSpec, base_url: &str) -> Value {
    let properties = spec
        .input_schema
        .get("properties")
        .cloned()
        .unwrap_or_else(|| json!({}));
    json!({
        "type": "custom",
        "name": spec.name.as_str(),
        "description": spec.description,
        "url": format!("{base_url}/v1/agents/retell"),
        "method": "POST",
        "args_at_root": false,
        "parameters": declared_parameters(spec, properties),
    })
}

/// The base URL a platform should call: the configured public URL, or else the one this request reached us at.
fn public_base_url(app: &AgentApp, headers: &HeaderMap, uri: &Uri) -> Result<String, ApiError> {
    if let Some(configured) = app
        .integrations
        .as_ref()
        .map(|integrations| integrations.public_base_url())
        .filter(|url| !url.is_empty())
    {
        return Ok(configured.to_owned());
    }
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| uri.authority().map(|authority| authority.as_str()))
        .ok_or(ApiError::InvalidHeader {
            field: "host",
            message: "the listing needs the Host header to name the URL to call".to_owned(),
        })?;
    // Behind API Gateway or a proxy the client spoke https even if this hop did not.
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
    {
        Some("https") => "https",
        _ => uri.scheme_str().unwrap_or("http"),
    };
    Ok(format!("{scheme}://{host}"))
}

/// `GET /v1/agents/tools/vapi`: the tools as Vapi tool bodies, ready for `POST https://api.vapi.ai/tool` once the
/// API key header is added to `server.headers`.
async fn vapi_tools(
    State(app): State<AgentApp>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    platform_tools(&app, &headers, &uri, vapi_tool)
}

/// `GET /v1/agents/tools/retell`: the tools as Retell custom functions, ready for a Retell LLM's `general_tools`
/// once the API key header is added to `headers`.
async fn retell_tools(
    State(app): State<AgentApp>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    platform_tools(&app, &headers, &uri, retell_tool)
}

/// Every tool in one platform's shape, pointing at this server.
fn platform_tools(
    app: &AgentApp,
    headers: &HeaderMap,
    uri: &Uri,
    shape: fn(&ToolSpec, &str) -> Value,
) -> Result<Json<Value>, ApiError> {
    let base_url = public_base_url(app, headers, uri)?;
    let tools = agent::tools()
        .iter()
        .map(|spec| shape(spec, &base_url))
        .collect();
    Ok(Json(Value::Array(tools)))
}

// ---------------------------------------------------------------------------------------------------------------
// MCP

fn mcp_tool(spec: &ToolSpec) -> Tool {
    let annotations = ToolAnnotations::with_title(spec.title)
        .read_only(spec.effect == Effect::Reads)
        .destructive(spec.effect == Effect::Destroys)
        .idempotent(spec.idempotent)
        .open_world(false);
    Tool::new(
        spec.name.as_str(),
        spec.description,
        Arc::new(spec.input_schema.clone()),
    )
    .with_title(spec.title)
    .with_raw_output_schema(Arc::new(spec.output_schema.clone()))
    .with_annotations(annotations)
}

/// The MCP server: stateless, one instance per request, the business taken from the request the transport hands it.
#[derive(Clone)]
struct McpTools {
    app: AgentApp,
    tools: Arc<Vec<Tool>>,
}

impl McpTools {
    fn business(context: &RequestContext<RoleServer>) -> Option<Business> {
        context
            .extensions
            .get::<Parts>()
            .and_then(|parts| parts.extensions.get::<Business>())
            .cloned()
    }
}

impl ServerHandler for McpTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("booking-tools", env!("CARGO_PKG_VERSION"))
                    .with_title("Booking tools"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|tool| tool.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(tool) = ToolName::parse(&request.name) else {
            return Err(ErrorData::invalid_params(
                format!("unknown tool {:?}", request.name),
                None,
            ));
        };
        // The route's authentication put it there; without it nothing runs.
        let business = Self::business(&context)
            .ok_or_else(|| ErrorData::internal_error("no authenticated business", None))?;
        let arguments = request.arguments.map(Value::Object).unwrap_or(Value::Null);
        let result = match agent::call_tool(
            &self.app,
            &business,
            tool,
            arguments,
            &CallContext::default(),
        )
        .await
        {
            Ok(answer) => {
                let mut result = CallToolResult::structured(answer.structured.clone());
                // The sentence to say first; then the same facts as JSON for clients that show the model text
                // only, as the MCP specification recommends alongside structured content.
                result.content = vec![
                    ContentBlock::text(answer.summary.clone()),
                    ContentBlock::text(answer.structured.to_string()),
                ];
                result
            }
            Err(failure) => CallToolResult::error(vec![ContentBlock::text(failure.message())]),
        };
        Ok(result.into())
    }
}

/// A browser origin: scheme, host and port (the scheme's default when the origin names none).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// `scheme://host[:port]` as browsers send it; anything else (a path, credentials, `null`) is not an origin.
    fn parse(text: &str) -> Option<Self> {
        let uri: Uri = text.parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let authority = uri.authority()?;
        if authority.as_str().contains('@')
            || !matches!(uri.path(), "" | "/")
            || uri.query().is_some()
        {
            return None;
        }
        let port = match (authority.port_u16(), scheme.as_str()) {
            (Some(port), _) => port,
            (None, "http") => 80,
            (None, "https") => 443,
            (None, _) => return None,
        };
        Some(Self {
            scheme,
            host: authority.host().to_ascii_lowercase(),
            port,
        })
    }

    fn is_loopback(&self) -> bool {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

/// Which browser origins may call `/mcp`. MCP's Streamable HTTP transport requires a server to check `Origin` and
/// answer 403 to an invalid one, against DNS rebinding: a page on another site reaching this server through the
/// visitor's browser under a name that resolves here, so `Host` proves nothing and only a configured origin does.
/// Allowed: no `Origin` at all (server-to-server callers such as Vapi and Retell send none); this server's own
/// public origin (`PUBLIC_BASE_URL`); and, only while that public origin is itself on loopback (a laptop), any
/// loopback origin, such as a local MCP Inspector's page. Everything else, `null` included, is refused.
#[derive(Clone, Debug)]
struct AllowedOrigins {
    own: Option<Origin>,
}

impl AllowedOrigins {
    fn of(app: &AgentApp) -> Self {
        Self {
            own: app
                .integrations
                .as_ref()
                .and_then(|integrations| Origin::parse(integrations.public_base_url())),
        }
    }

    fn allows(&self, header: &str) -> bool {
        match (Origin::parse(header), &self.own) {
            (Some(origin), Some(own)) => {
                origin == *own || (own.is_loopback() && origin.is_loopback())
            }
            _ => false,
        }
    }
}

/// Refuses, before anything else runs, a request whose `Origin` is not one [`AllowedOrigins`] allows.
async fn check_origin(
    State(allowed): State<Arc<AllowedOrigins>>,
    request: Request,
    next: Next,
) -> Response {
    for value in request.headers().get_all(header::ORIGIN) {
        let origin = String::from_utf8_lossy(value.as_bytes());
        if !allowed.allows(&origin) {
            tracing::warn!(%origin, "MCP request from an origin that is not allowed");
            return ApiError::OriginNotAllowed(origin.into_owned()).into_response();
        }
    }
    next.run(request).await
}

async fn authenticate(State(app): State<AgentApp>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    match Tenant::from_request_parts(&mut parts, &app).await {
        Ok(Tenant(business)) => {
            parts.extensions.insert(business);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(error) => error.into_response(),
    }
}

/// `/mcp`: MCP's Streamable HTTP transport without sessions and with plain JSON responses, so that any instance
/// (a Lambda invocation included) answers any request, at every protocol version rmcp knows (the newest,
/// 2026-07-28, negotiated per request; older clients with `initialize`).
pub fn mcp_routes(app: AgentApp) -> Router<AgentApp> {
    let server = McpTools {
        app: app.clone(),
        tools: Arc::new(agent::tools().iter().map(mcp_tool).collect()),
    };
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        // rmcp's Host check guards unauthenticated local servers against DNS rebinding; here every request carries
        // the business's key, behind API Gateway the host is whatever domain the business was given, and the
        // `Origin` check below (`check_origin`) is what refuses a rebinding browser.
        .disable_allowed_hosts();
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let allowed = Arc::new(AllowedOrigins::of(&app));
    Router::new()
        .route_service(MCP_PATH, service)
        .route_layer(middleware::from_fn_with_state(app, authenticate))
        // The outer layer runs first: a forbidden origin learns nothing, not even whether its key was good.
        .route_layer(middleware::from_fn_with_state(allowed, check_origin))
}

// ---------------------------------------------------------------------------------------------------------------
// Vapi

/// One tool call of a Vapi `tool-calls` message, whichever of its documented shapes it came in.
struct VapiToolCall {
    id: String,
    name: String,
    arguments: Result<Value, String>,
}

/// Arguments as an object, or as the JSON string of one (OpenAI's own shape).
fn arguments_of(value: Option<&Value>) -> Result<Value, String> {
    match value {
        None | Some(Value::Null) => Ok(Value::Object(Map::new())),
        Some(Value::String(text)) if text.trim().is_empty() => Ok(Value::Object(Map::new())),
        Some(Value::String(text)) => serde_json::from_str(text)
            .map_err(|error| format!("Invalid arguments: the arguments are not JSON ({error}).")),
        Some(other) => Ok(other.clone()),
    }
}

/// A call flat (`{id, name, arguments}`, or `parameters` as Vapi's event reference writes it) or nested
/// (`{id, type: "function", function: {name, arguments}}`).
fn vapi_call(call: &Value, outer_name: Option<&str>) -> Option<VapiToolCall> {
    let id = call.get("id")?.as_str()?.to_owned();
    let function = call.get("function");
    let name = call
        .get("name")
        .and_then(Value::as_str)
        .or_else(|| function.and_then(|f| f.get("name")).and_then(Value::as_str))
        .or(outer_name)?
        .to_owned();
    let arguments = call
        .get("arguments")
        .or_else(|| call.get("parameters"))
        .or_else(|| function.and_then(|f| f.get("arguments")))
        .or_else(|| function.and_then(|f| f.get("parameters")));
    Some(VapiToolCall {
        id,
        name,
        arguments: arguments_of(arguments),
    })
}

fn vapi_calls(message: &Value) -> Vec<VapiToolCall> {
    for list in ["toolCallList", "toolCalls"] {
        if let Some(calls) = message.get(list).and_then(Value::as_array) {
            return calls
                .iter()
                .filter_map(|call| vapi_call(call, None))
                .collect();
        }
    }
    message
        .get("toolWithToolCallList")
        .and_then(Value::as_array)
        .map(|tools| {
            tools
                .iter()
                .filter_map(|tool| {
                    let outer = tool
                        .get("name")
                        .or_else(|| tool.get("function").and_then(|f| f.get("name")))
                        .and_then(Value::as_str);
                    vapi_call(tool.get("toolCall")?, outer)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn text_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |value, key| value.get(key))
        .and_then(Value::as_str)
        .filter(|text| !text.trim().is_empty())
}

fn unknown_tool(name: &str) -> String {
    let known: Vec<&str> = ToolName::ALL.iter().map(|tool| tool.as_str()).collect();
    format!(
        "There is no tool named {name:?}; the tools are {}.",
        known.join(", ")
    )
}

/// `POST /v1/agents/vapi`: a Vapi server message. Always HTTP 200, as Vapi ignores any other answer: each tool call
/// gets `result` (the answer's JSON as one line) or `error` (one line the model can act on).
async fn vapi_tool_calls(
    State(app): State<AgentApp>,
    tenant: Result<Tenant, ApiError>,
    body: Bytes,
) -> Json<Value> {
    let Ok(envelope) = serde_json::from_slice::<Value>(&body) else {
        return Json(json!({ "results": [], "error": "The request body is not JSON." }));
    };
    let message = envelope.get("message").unwrap_or(&envelope);
    if message.get("type").and_then(Value::as_str) != Some("tool-calls") {
        // Other server messages (status updates, reports) need no answer from a tools server.
        return Json(json!({}));
    }
    let calls = vapi_calls(message);
    // The caller id as Vapi reports it, read leniently by the tools (none at all when withheld).
    let caller = CallerId::Reported(
        text_at(message, &["customer", "number"])
            .or_else(|| text_at(message, &["call", "customer", "number"]))
            .map(str::to_owned),
    );
    let call_id = text_at(message, &["call", "id"]);
    let mut results = Vec::with_capacity(calls.len());
    for call in calls {
        let outcome = match (&tenant, ToolName::parse(&call.name), call.arguments) {
            (Err(_), _, _) => Err(
                "This tool server refused the request: its settings need the header Authorization: Bearer \
                 with the business's API key."
                    .to_owned(),
            ),
            (_, None, _) => Err(unknown_tool(&call.name)),
            (_, _, Err(message)) => Err(message),
            (Ok(Tenant(business)), Some(tool), Ok(arguments)) => {
                let context = CallContext {
                    caller: caller.clone(),
                    idempotency_key: call_id.map(|call_id| format!("vapi:{call_id}:{}", call.id)),
                };
                agent::call_tool(&app, business, tool, arguments, &context)
                    .await
                    .map_err(|failure| failure.message())
            }
        };
        results.push(match outcome {
            Ok(answer) => {
                json!({ "toolCallId": call.id, "name": call.name, "result": answer_json(&answer) })
            }
            Err(message) => {
                json!({ "toolCallId": call.id, "name": call.name, "error": single_line(&message) })
            }
        });
    }
    if tenant.is_err() {
        tracing::warn!("vapi tool call without a valid API key");
    }
    Json(json!({ "results": results }))
}

// ---------------------------------------------------------------------------------------------------------------
// Retell

/// `POST /v1/agents/retell`: a Retell custom-function request (`name`, `call`, `args`). Answers 200 with the
/// answer's JSON, which Retell hands to its model; a refusal is a 200 too, with `error`, so Retell does not retry
/// it. A missing key is a 401.
async fn retell_function(
    State(app): State<AgentApp>,
    Tenant(business): Tenant,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request: Value = serde_json::from_slice(&body).map_err(|error| {
        ApiError::MalformedJson(format!("the request body is not JSON: {error}"))
    })?;
    let name = request.get("name").and_then(Value::as_str).ok_or_else(|| {
        ApiError::InvalidBody("a Retell custom-function request has a name".to_owned())
    })?;
    let Some(tool) = ToolName::parse(name) else {
        return Ok(Json(json!({ "error": unknown_tool(name) })));
    };
    let arguments = match arguments_of(request.get("args")) {
        Ok(arguments) => arguments,
        Err(message) => return Ok(Json(json!({ "error": message }))),
    };
    let call = request.get("call").unwrap_or(&Value::Null);
    // The caller is whoever is not the business's line: the number dialling in, or the number an outbound call rang.
    let caller = CallerId::Reported(
        match text_at(call, &["direction"]) {
            Some("outbound") => text_at(call, &["to_number"]),
            _ => text_at(call, &["from_number"]),
        }
        .map(str::to_owned),
    );
    // Retell retries a failed request with the same body; the call id and the function call identify it.
    let idempotency_key = text_at(call, &["call_id"]).map(|call_id| {
        let digest = Sha256::digest(format!("{name}\n{arguments}").as_bytes());
        format!("retell:{call_id}:{}", hex::encode(digest))
    });
    let context = CallContext {
        caller,
        idempotency_key,
    };
    Ok(Json(
        match agent::call_tool(&app, &business, tool, arguments, &context).await {
            Ok(answer) => answer.structured,
            Err(failure) => json!({ "error": failure.message() }),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_vapi_call_shape_is_read() {
        let message = json!({
            "type": "tool-calls",
            "toolCallList": [
                { "id": "a", "name": "check_time", "arguments": { "start": "x" } },
                { "id": "b", "name": "check_time", "parameters": { "start": "x" } },
                { "id": "c", "type": "function", "function": { "name": "check_time", "arguments": "{\"start\":\"x\"}" } },
                { "id": "d", "type": "function", "function": { "name": "check_time", "arguments": { "start": "x" } } },
                { "id": "e", "type": "function", "function": { "name": "check_time", "arguments": "{not json" } },
            ]
        });
        let calls = vapi_calls(&message);
        assert_eq!(calls.len(), 5);
        for call in &calls[..4] {
            assert_eq!(call.name, "check_time");
            assert_eq!(call.arguments, Ok(json!({ "start": "x" })), "{}", call.id);
        }
        assert!(calls[4].arguments.is_err());
        let nested_only = json!({
            "type": "tool-calls",
            "toolWithToolCallList": [
                { "name": "cancel_appointment", "toolCall": { "id": "z", "parameters": { "appointment_id": "1" } } }
            ]
        });
        let calls = vapi_calls(&nested_only);
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].name, "cancel_appointment");
        assert_eq!(calls[0].arguments, Ok(json!({ "appointment_id": "1" })));
    }

    #[test]
    fn only_the_own_origin_and_on_loopback_loopback_origins_are_allowed() {
        let on = |public: &str| AllowedOrigins {
            own: Origin::parse(public),
        };
        let public = on("https://api.clinic.example");
        assert!(public.allows("https://api.clinic.example"));
        assert!(public.allows("https://API.clinic.example:443"));
        for refused in [
            "https://attacker.example",
            "http://api.clinic.example",
            "https://api.clinic.example:8443",
            "https://api.clinic.example.attacker.example",
            "http://localhost:6274",
            "http://127.0.0.1:3000",
            "null",
            "",
            "https://user@api.clinic.example",
            "https://api.clinic.example/path",
        ] {
            assert!(!public.allows(refused), "{refused}");
        }
        let laptop = on("http://127.0.0.1:3000");
        for allowed in [
            "http://127.0.0.1:3000",
            "http://localhost:6274",
            "http://[::1]:6274",
        ] {
            assert!(laptop.allows(allowed), "{allowed}");
        }
        assert!(!laptop.allows("https://attacker.example"));
        assert!(!laptop.allows("http://attacker.example:3000"));
        let unconfigured = AllowedOrigins { own: None };
        assert!(!unconfigured.allows("http://127.0.0.1:3000"));
    }

    #[test]
    fn answers_for_voice_platforms_are_one_line() {
        assert_eq!(single_line("a\nb\r\nc"), "a b  c");
    }
}
