//! The agent-api function: the voice agent's tools over MCP (/mcp, stateless, so any invocation answers any
//! request), as Vapi server tools and Retell custom functions, and their OpenAI listing, under API Gateway's HTTP API.

use booking_aws::config::AwsAdapters;
use booking_core::api;
use booking_core::app::App;
use booking_core::ports::AgentApiStore;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    booking_aws::lambda::init_tracing();
    let app: App<dyn AgentApiStore> = AwsAdapters::from_env().await?.app();
    lambda_http::run(api::agent_api(app)).await
}
