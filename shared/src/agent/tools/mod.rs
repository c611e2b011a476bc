//! One file per tool, each doing only its own part: read its arguments into domain values (`input`), run the use
//! cases of `crate::app`, and answer with the facts and the sentence `wording` gives. What several tools share is
//! here: the store's view they run on, the lookups, the answer's views of a service and an appointment.

pub(crate) mod book;
pub(crate) mod business_context;
pub(crate) mod caller_appointments;
pub(crate) mod cancel;
pub(crate) mod check_time;
pub(crate) mod find_times;
pub(crate) mod hold;
pub(crate) mod input;
pub(crate) mod local;
mod phone;
pub(crate) mod reschedule;
mod wording;

use serde::Serialize;

use crate::app::{self, App, AppError};
use crate::domain::{
    Appointment, AppointmentId, AppointmentStatus, Business, Service, ServiceId, StaffId,
    StaffMember,
};
use crate::ports::AgentApiStore;

use super::answers::{AppointmentStatusView, AppointmentView, CalendarView, ServiceView};
use super::arguments;
use super::call::{CallContext, ToolAnswer, ToolFailure};
use super::health::{MembersHealth, calendar_health, members_health};
use local::Local;
use wording::{Whom, failure};

/// What the tools may touch: the agent function's view of the store.
pub(crate) type AgentApp = App<dyn AgentApiStore>;

/// What a tool gives back: its answer, or why there is none.
pub(crate) type ToolResult = Result<ToolAnswer, ToolFailure>;

/// The answer with its sentence: `summary` is also the answer's own first field.
fn structured(summary: &str, answer: &impl Serialize) -> ToolResult {
    let structured = serde_json::to_value(answer).map_err(|error| {
        tracing::error!(%error, "agent answer not serializable");
        ToolFailure::Unavailable
    })?;
    Ok(ToolAnswer {
        summary: summary.to_owned(),
        structured,
    })
}

/// One tool call's setting: the store's view, the business, its local clock, and what the platform knows of the
/// call. Every tool takes it whole, so a new piece of setting reaches them all at once.
pub(crate) struct Call<'a> {
    pub(crate) app: &'a AgentApp,
    pub(crate) business: &'a Business,
    pub(crate) local: Local<'a>,
    pub(crate) context: &'a CallContext,
}

impl Call<'_> {
    async fn service(&self, id: ServiceId) -> Result<Service, ToolFailure> {
        app::get_service(self.app, self.business, id)
            .await
            .map_err(failure)
    }

    /// The business's staff members, active or not (an appointment may be with someone who has since left).
    async fn staff(&self) -> Result<Vec<StaffMember>, ToolFailure> {
        app::list_staff(self.app, self.business)
            .await
            .map_err(failure)
    }

    /// The member the model named in a `staff` argument, read by the one resolver, with the staff it was read
    /// against; `None` when the caller does not mind who, without reading the staff at all.
    async fn staff_asked_for(
        &self,
        said: Option<&str>,
    ) -> Result<Option<(StaffId, Vec<StaffMember>)>, ToolFailure> {
        let Some(said) = said else {
            return Ok(None);
        };
        let staff = self.staff().await?;
        let id = arguments::staff_member(said, &staff)?;
        Ok(Some((id, staff)))
    }

    async fn appointment(&self, id: AppointmentId) -> Result<Appointment, ToolFailure> {
        app::get_appointment(self.app, self.business, id)
            .await
            .map_err(failure)
    }

    /// A use case's answer and, read at the same time, the calendars' health as of now: the business's first
    /// member's calendar, and each member's (whether the busy time behind an offer with them can be trusted, and
    /// the warning to say when it cannot).
    async fn with_calendar_health<T>(
        &self,
        use_case: impl Future<Output = Result<T, AppError>>,
    ) -> Result<(T, CalendarView, MembersHealth), ToolFailure> {
        let (answer, connections) = tokio::try_join!(
            use_case,
            app::integrations::list_connections(self.app, self.business)
        )
        .map_err(failure)?;
        // Listed first when the first member has one.
        let first = connections
            .first()
            .filter(|(connection, _)| connection.staff_id == StaffId::first_of(self.business.id));
        let (calendar, _) = calendar_health(
            first.map(|(connection, _)| connection),
            first.and_then(|(_, watch)| watch.as_ref()),
            self.local.now,
        );
        Ok((
            answer,
            calendar,
            members_health(&connections, self.local.now),
        ))
    }
}

fn service_view(service: &Service) -> ServiceView {
    ServiceView {
        service_id: service.id.to_string(),
        name: service.settings.name.as_ref().to_owned(),
        duration_minutes: service.settings.duration.get(),
    }
}

fn appointment_view(
    local: &Local,
    appointment: &Appointment,
    service: &Service,
    whom: &Whom,
) -> AppointmentView {
    AppointmentView {
        appointment_id: appointment.id.to_string(),
        service_id: appointment.service_id.to_string(),
        service_name: service.settings.name.as_ref().to_owned(),
        customer_name: appointment.customer.name.as_ref().to_owned(),
        status: match appointment.status {
            AppointmentStatus::Booked => AppointmentStatusView::Booked,
            AppointmentStatus::Cancelled => AppointmentStatusView::Cancelled,
        },
        time: local.time(&appointment.time),
        staff: whom.view(appointment.staff_id),
    }
}
