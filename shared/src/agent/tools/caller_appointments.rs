//! `find_caller_appointments`: the caller's upcoming appointments, found by the number they give or call from.

use jiff::Timestamp;

use crate::agent::answers::CallerAppointments;
use crate::agent::arguments;
use crate::app::{self, CallerListing};
use crate::domain::{AppointmentStatus, Interval};

use super::input::invalid;
use super::phone::caller_phone;
use super::wording::{self, Whom, failure};
use super::{Call, ToolResult, appointment_view, structured};

/// A caller's upcoming appointments listed at once; a caller with more is told there are more.
const CALLER_APPOINTMENTS: u32 = 10;

pub(crate) async fn run(call: &Call<'_>, args: arguments::FindCallerAppointments) -> ToolResult {
    let local = &call.local;
    let phone = caller_phone(call, "phone", args.phone).await?;
    let upcoming = Interval::new(local.now, Timestamp::MAX)
        .map_err(|_| invalid("phone: the clock is out of range"))?;
    let listing = CallerListing {
        phone: phone.clone(),
        starts_within: Some(upcoming),
        status: Some(AppointmentStatus::Booked),
        sync_status: None,
        cursor: None,
        limit: CALLER_APPOINTMENTS,
    };
    let (page, services, staff) = tokio::try_join!(
        app::caller_appointments(call.app, call.business, &listing),
        app::list_services(call.app, call.business),
        app::list_staff(call.app, call.business)
    )
    .map_err(failure)?;
    let whom = Whom::new(&staff);
    let listed: Vec<_> = page
        .items
        .iter()
        .filter_map(|appointment| {
            services
                .iter()
                .find(|service| service.id == appointment.service_id)
                .map(|service| (appointment, service))
        })
        .collect();
    let more = page.next.is_some();
    let summary = wording::caller_appointments(local, &listed, &whom, more);
    let answer = CallerAppointments {
        summary: summary.clone(),
        phone: phone.as_ref().to_owned(),
        appointments: listed
            .iter()
            .map(|(appointment, service)| appointment_view(local, appointment, service, &whom))
            .collect(),
        more,
    };
    structured(&summary, &answer)
}
