//! The voice agent's tools: defined once here, served over MCP, Vapi and Retell by `crate::api`.

pub mod spoken;
