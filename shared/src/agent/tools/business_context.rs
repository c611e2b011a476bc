//! `get_business_context`: what the agent needs before anything else (the business, its local date and time, its
//! services, whether its calendar can be trusted, and whether the caller's number came through).

use crate::agent::answers::{BusinessContext, ServiceView, StaffMemberView};
use crate::agent::call::CallerId;
use crate::agent::health::calendar_health;
use crate::agent::spoken;
use crate::app;

use super::phone::reported_phone;
use super::wording::{self, Callback};
use super::{Call, ToolResult, service_view, structured};

pub(crate) async fn run(call: &Call<'_>) -> ToolResult {
    let local = &call.local;
    let both = async {
        tokio::try_join!(
            app::list_services(call.app, call.business),
            app::list_staff(call.app, call.business)
        )
    };
    let ((services, staff), calendar, members) = call.with_calendar_health(both).await?;
    let services: Vec<_> = services.iter().filter(|service| service.active).collect();
    // By name, as the summary says them: the store's order (by id) means nothing to a caller.
    let mut staff: Vec<_> = staff.iter().filter(|member| member.active).collect();
    staff.sort_by(|a, b| a.settings.name.as_ref().cmp(b.settings.name.as_ref()));
    let staff: Vec<StaffMemberView> = staff
        .into_iter()
        .map(|member| StaffMemberView {
            staff_id: member.id.to_string(),
            name: member.settings.name.as_ref().to_owned(),
            services: services
                .iter()
                .filter(|service| member.performs(service.id))
                .map(|service| service.settings.name.as_ref().to_owned())
                .collect(),
            calendar: members.get(&member.id).map_or_else(
                || calendar_health(None, None, local.now).0,
                |(calendar, _)| calendar.clone(),
            ),
        })
        .collect();
    let services: Vec<ServiceView> = services.into_iter().map(service_view).collect();
    let now = local.now.to_zoned_datetime(local.zone.clone());
    let to_the_minute = local
        .now
        .round(
            jiff::TimestampRound::new()
                .smallest(jiff::Unit::Minute)
                .mode(jiff::RoundMode::Trunc),
        )
        .unwrap_or(local.now);
    // Said before any booking, so the agent asks for a number while the caller is still choosing.
    let callback = match &call.context.caller {
        CallerId::NotAPhoneCall => None,
        CallerId::Reported(reported) => {
            Callback::of(&reported_phone(call, reported.as_deref()).await?)
        }
    };
    let summary = wording::business_context(
        call.business,
        local,
        to_the_minute,
        &services,
        &staff,
        &calendar,
        callback,
    );
    let answer = BusinessContext {
        summary: summary.clone(),
        business_name: call.business.name.as_ref().to_owned(),
        time_zone: call.business.time_zone.name().to_owned(),
        locale: local.locale.tag().to_owned(),
        now: local.rfc3339(local.now),
        today: local.today.to_string(),
        weekday: spoken::weekday_name(now.weekday()).to_owned(),
        local_time: format!("{:02}:{:02}", now.hour(), now.minute()),
        tomorrow: local
            .today
            .tomorrow()
            .map(|date| date.to_string())
            .unwrap_or_default(),
        services,
        staff,
        calendar,
        callback_number_needed: callback.is_some(),
    };
    structured(&summary, &answer)
}
