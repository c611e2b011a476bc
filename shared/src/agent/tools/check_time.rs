//! `check_time`: whether one start is free for a service, and the nearest free times when it is not.

use crate::agent::answers::{TimeCheck, TimeView};
use crate::agent::arguments;
use crate::agent::health::warning_for_offers;
use crate::app;
use crate::domain::Interval;

use super::input::{invalid, parse_service_id};
use super::wording::{self, Whom};
use super::{Call, ToolResult, service_view, structured};

pub(crate) async fn run(call: &Call<'_>, args: arguments::CheckTime) -> ToolResult {
    let local = &call.local;
    let service_id = parse_service_id(&args.service_id)?;
    let start = local.parse_start("start", &args.start)?;
    let asked = call.staff_asked_for(args.staff.as_deref()).await?;
    let staff_id = asked.map(|(id, _)| id);
    let use_case = app::check_availability(call.app, call.business, service_id, start, staff_id);
    let (check, _, members) = call.with_calendar_health(use_case).await?;
    let service = &check.service;
    let whom = Whom::new(&check.staff);
    // Free: with whoever is free then; not free: the alternatives are the named member's, or anyone's.
    let free_with: Vec<_> = match &check.verdict {
        Ok((_, free)) => free.clone(),
        Err(_) => staff_id.into_iter().collect(),
    };
    let with = whom.with(&free_with);
    let warning = warning_for_offers(
        &members,
        staff_id,
        check.verdict.iter().flat_map(|(_, free)| free),
    );
    let requested = match &check.verdict {
        Ok((slot, _)) => *slot,
        Err(_) => Interval::starting_at(start, service.settings.duration.as_duration())
            .ok_or_else(|| invalid("start: is out of range"))?,
    };
    let summary = wording::time_check(
        local,
        service,
        start,
        check.verdict.as_ref().map(|_| ()).map_err(|reason| *reason),
        &check.alternatives,
        &with,
    );
    let summary = wording::with_warning(summary, warning.as_ref());
    let answer = TimeCheck {
        summary: summary.clone(),
        available: check.verdict.is_ok(),
        service: service_view(service),
        requested: TimeView {
            staff: check
                .verdict
                .is_ok()
                .then(|| whom.views(&free_with))
                .flatten(),
            ..local.time(&requested)
        },
        reason: check.verdict.err().map(|reason| reason.code().to_owned()),
        alternatives: local.times(&check.alternatives),
        warning,
    };
    structured(&summary, &answer)
}
