//! `hold_time`: keeps one start free for a few minutes while the caller decides; booking with the hold's id books
//! exactly that time.

use crate::agent::answers::HoldAnswer;
use crate::agent::arguments;
use crate::app::{self, AppError, HoldTime};
use crate::domain::Interval;

use super::input::{invalid, parse_service_id};
use super::wording::{self, Attempt, Whom, failure};
use super::{Call, ToolResult, service_view, structured};

pub(crate) async fn run(call: &Call<'_>, args: arguments::HoldTime) -> ToolResult {
    let local = &call.local;
    let service_id = parse_service_id(&args.service_id)?;
    let start = local.parse_start("start", &args.start)?;
    let asked = call.staff_asked_for(args.staff.as_deref()).await?;
    let staff_id = asked.as_ref().map(|(id, _)| *id);
    // The staff are read beside the hold (not after it) when no name needed them first: no round trip added.
    let staff = async {
        match asked {
            Some((_, staff)) => Ok(staff),
            None => call.staff().await,
        }
    };
    let (held, service, staff) = tokio::join!(
        app::create_hold(
            call.app,
            call.business,
            HoldTime {
                service_id,
                start,
                staff_id,
            }
        ),
        app::get_service(call.app, call.business, service_id),
        staff
    );
    let service = service.map_err(failure)?;
    let staff = staff?;
    let whom = Whom::new(&staff);
    match held {
        Ok(hold) => {
            let with = whom.with(&[hold.staff_id]);
            let summary = wording::held(local, &service, &hold.time, hold.expires_at, &with);
            let answer = HoldAnswer {
                summary: summary.clone(),
                held: true,
                hold_id: Some(hold.id.to_string()),
                service: service_view(&service),
                time: local.time(&hold.time),
                staff: whom.view(hold.staff_id),
                expires_at: Some(local.rfc3339(hold.expires_at)),
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
            let summary = wording::not_free(
                local,
                Attempt::Hold(&service),
                requested,
                reason,
                &alternatives,
                &whom.with(&staff_id.into_iter().collect::<Vec<_>>()),
            );
            let time = Interval::starting_at(requested, service.settings.duration.as_duration())
                .ok_or_else(|| invalid("start: is out of range"))?;
            let answer = HoldAnswer {
                summary: summary.clone(),
                held: false,
                hold_id: None,
                service: service_view(&service),
                time: local.time(&time),
                staff: staff_id.and_then(|id| whom.view(id)),
                expires_at: None,
                reason: Some(reason.code().to_owned()),
                alternatives: local.times(&alternatives),
            };
            structured(&summary, &answer)
        }
        Err(error) => Err(failure(error)),
    }
}
