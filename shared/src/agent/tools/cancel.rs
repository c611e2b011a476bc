//! `cancel_appointment`: cancels an appointment; cancelling one already cancelled says so and changes nothing.

use crate::agent::answers::CancelAnswer;
use crate::agent::arguments;
use crate::agent::call::{ToolAnswer, ToolFailure};
use crate::app;
use crate::domain::Business;

use super::input::parse_appointment_id;
use super::local::Local;
use super::wording::{self, failure};
use super::{AgentApp, appointment_of, appointment_view, service_of, structured};

pub(crate) async fn run(
    app: &AgentApp,
    business: &Business,
    local: &Local<'_>,
    args: arguments::CancelAppointment,
) -> Result<ToolAnswer, ToolFailure> {
    let id = parse_appointment_id(&args.appointment_id)?;
    let current = appointment_of(app, business, id).await?;
    let (appointment, newly_cancelled) = if current.is_live() {
        (
            app::cancel_appointment(app, business, id)
                .await
                .map_err(failure)?,
            true,
        )
    } else {
        (current, false)
    };
    let service = service_of(app, business, appointment.service_id).await?;
    let summary = wording::cancelled(local, &service, &appointment, newly_cancelled);
    let answer = CancelAnswer {
        summary: summary.clone(),
        newly_cancelled,
        appointment: appointment_view(local, &appointment, &service),
    };
    structured(&summary, &answer)
}
