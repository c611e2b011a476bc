//! `reschedule_appointment`: moves an appointment to a new start, or says why it stays where it is.

use crate::agent::answers::RescheduleAnswer;
use crate::agent::arguments;
use crate::app::{self, AppError, AppointmentEdit};

use super::input::parse_appointment_id;
use super::wording::{self, Whom, failure};
use super::{Call, ToolResult, appointment_view, structured};

pub(crate) async fn run(call: &Call<'_>, args: arguments::RescheduleAppointment) -> ToolResult {
    let local = &call.local;
    let id = parse_appointment_id(&args.appointment_id)?;
    let start = local.parse_start("start", &args.start)?;
    // Without a member named, the edit names none, so the appointment stays with whom it is.
    let asked = call.staff_asked_for(args.staff.as_deref()).await?;
    let edit = AppointmentEdit {
        staff_id: asked.as_ref().map(|(id, _)| *id),
        ..AppointmentEdit::reschedule(start)
    };
    let outcome = app::edit_appointment(call.app, call.business, id, &edit).await;
    let staff = match asked {
        Some((_, staff)) => staff,
        None => call.staff().await?,
    };
    let whom = Whom::new(&staff);
    match outcome {
        Ok(appointment) => {
            let service = call.service(appointment.service_id).await?;
            let summary = wording::rescheduled(local, &service, &appointment, &whom);
            let answer = RescheduleAnswer {
                summary: summary.clone(),
                rescheduled: true,
                appointment: appointment_view(local, &appointment, &service, &whom),
                reason: None,
                alternatives: Vec::new(),
            };
            structured(&summary, &answer)
        }
        Err(AppError::SlotUnavailable {
            requested,
            reason,
            alternatives,
            ..
        }) => {
            let appointment = call.appointment(id).await?;
            let service = call.service(appointment.service_id).await?;
            let summary = wording::not_moved(
                local,
                &service,
                &appointment,
                requested,
                reason,
                &alternatives,
                &whom,
            );
            let answer = RescheduleAnswer {
                summary: summary.clone(),
                rescheduled: false,
                appointment: appointment_view(local, &appointment, &service, &whom),
                reason: Some(reason.code().to_owned()),
                alternatives: local.times(&alternatives),
            };
            structured(&summary, &answer)
        }
        Err(error) => Err(failure(error)),
    }
}
