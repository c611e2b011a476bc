//! What a tool call carries in and out, for every transport: what the platform knows of the call, the answer, and
//! the failure with the line the model is shown.

use serde_json::Value;

/// What the transport knows of the caller's own number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CallerId {
    /// No phone call stands behind the request (MCP): a number comes only as an argument.
    #[default]
    NotAPhoneCall,
    /// A voice platform's call: its caller id as reported (`None` when it reported none, as for a withheld number).
    /// Read leniently, because nobody typed it and a booking must not fail on it.
    Reported(Option<String>),
}

/// What the platform knows about the call beyond the model's arguments.
#[derive(Clone, Debug, Default)]
pub struct CallContext {
    /// The number the caller is calling from, as the platform reports it; used when the model leaves the phone out.
    pub caller: CallerId,
    /// A key the platform gives this very tool call (its call id and tool call id), so the platform's retries of
    /// a booking book once. Wins over the model's `idempotency_key`.
    pub idempotency_key: Option<String>,
}

/// A tool's answer: the sentence for the caller and the structured result (which repeats it as `summary`).
#[derive(Clone, Debug)]
pub struct ToolAnswer {
    pub summary: String,
    pub structured: Value,
}

/// Why a call produced no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolFailure {
    /// The arguments are wrong in a way the model can correct; the message names the argument and the fix.
    InvalidArguments(String),
    /// The request is understood but refused, in words the agent can say.
    Refused(String),
    /// Our side failed (the cause is logged, never shown).
    Unavailable,
}

impl ToolFailure {
    /// One line for the model: what went wrong and what to do.
    pub fn message(&self) -> String {
        match self {
            Self::InvalidArguments(detail) => {
                format!(
                    "Invalid arguments: {detail}. Correct the arguments and call the tool again."
                )
            }
            Self::Refused(sentence) => sentence.clone(),
            Self::Unavailable => {
                "The booking system did not answer. Apologise, and offer to take a message so \
                                  the business can call back."
                    .to_owned()
            }
        }
    }
}
