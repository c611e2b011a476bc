//! Running a tool call: its arguments read into the tool's struct, the tool's own file (`tools`) doing the rest,
//! and one log line per call. Transports only decode their platform's envelope and encode the answer.

use std::time::Instant;

use serde_json::Value;

use crate::domain::Business;

use super::arguments::NoArguments;
use super::call::{CallContext, ToolAnswer, ToolFailure};
use super::catalogue::ToolName;
use super::tools::input::parse_arguments;
use super::tools::local::Local;
use super::tools::{
    AgentApp, Call, book, business_context, caller_appointments, cancel, check_time, find_times,
    hold, reschedule,
};

/// Runs one tool call for `business`.
pub async fn call_tool(
    app: &AgentApp,
    business: &Business,
    tool: ToolName,
    arguments: Value,
    context: &CallContext,
) -> Result<ToolAnswer, ToolFailure> {
    let started = Instant::now();
    let call = Call {
        app,
        business,
        local: Local::new(business, app.clock.now()),
        context,
    };
    let outcome = match tool {
        ToolName::GetBusinessContext => {
            parse_arguments::<NoArguments>(arguments)?;
            business_context::run(&call).await
        }
        ToolName::FindAvailableTimes => find_times::run(&call, parse_arguments(arguments)?).await,
        ToolName::CheckTime => check_time::run(&call, parse_arguments(arguments)?).await,
        ToolName::HoldTime => hold::run(&call, parse_arguments(arguments)?).await,
        ToolName::BookAppointment => book::run(&call, parse_arguments(arguments)?).await,
        ToolName::FindCallerAppointments => {
            caller_appointments::run(&call, parse_arguments(arguments)?).await
        }
        ToolName::RescheduleAppointment => {
            reschedule::run(&call, parse_arguments(arguments)?).await
        }
        ToolName::CancelAppointment => cancel::run(&call, parse_arguments(arguments)?).await,
    };
    tracing::info!(
        tool = tool.as_str(),
        outcome = match &outcome {
            Ok(_) => "answered",
            Err(ToolFailure::InvalidArguments(_)) => "invalid_arguments",
            Err(ToolFailure::Refused(_)) => "refused",
            Err(ToolFailure::Unavailable) => "failed",
        },
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "agent tool call"
    );
    outcome
}
