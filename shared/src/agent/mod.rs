//! The voice agent's tools, defined once: name, a description written for a model, the JSON Schema of arguments and
//! answer, and whether a call reads, writes or destroys. Each call runs the use cases of `crate::app` (never HTTP to
//! ourselves) and answers in the business's local time with a sentence the agent can say. `crate::api` serves them
//! over MCP, as Vapi server tools and Retell custom functions, and as OpenAI function definitions.
//!
//! A call goes through `run` (read the arguments, pick the tool, log the outcome) to the tool's own file in `tools`;
//! every sentence the tools say is in `tools::wording`, every argument helper in `tools::input`.

mod answers;
mod arguments;
mod call;
mod catalogue;
mod health;
mod run;
pub mod spoken;
mod tools;

pub use call::{CallContext, CallerId, ToolAnswer, ToolFailure};
pub use catalogue::{Effect, ToolName, ToolSpec, tool, tools};
pub use health::{BUSY_TIME_FRESH_FOR, calendar_health};
pub use run::call_tool;
