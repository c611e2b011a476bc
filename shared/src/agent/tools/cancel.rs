//! `cancel_appointment`: cancels an appointment; cancelling one already cancelled says so and changes nothing.

use crate::agent::answers::CancelAnswer;
use crate::agent::arguments;
use crate::app;

use super::input::parse_appointment_id;
use super::wording::{self, Whom, failure};
use super::{Call, ToolResult, appointment_view, structured};

pub(crate) async fn run(call: &Call<'_>, args: arguments::CancelAppointment) -> ToolResult {
    let local = &call.local;
    let id = parse_appointment_id(&args.appointment_id)?;
    let current = call.appointment(id).await?;
    let (appointment, newly_cancelled) = if current.is_live() {
        (
            app::cancel_appointment(call.app, call.business, id)
                .await
                .map_err(failure)?,
            true,
        )
    } else {
        (current, false)
    };
    let (service, staff) = tokio::try_join!(call.service(appointment.service_id), call.staff())?;
    let whom = Whom::new(&staff);
    let summary = wording::cancelled(local, &service, &appointment, &whom, newly_cancelled);
    let answer = CancelAnswer {
        summary: summary.clone(),
        newly_cancelled,
        appointment: appointment_view(local, &appointment, &service, &whom),
    };
    structured(&summary, &answer)
}
