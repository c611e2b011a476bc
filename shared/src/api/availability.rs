//! `/v1/availability`: what is free, and whether one time can be booked — what a phone agent asks mid-call.

use axum::Json;
use axum::extract::State;
use jiff::SignedDuration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::{self, App, FindTimes};
use crate::domain::{Interval, parse_instant};
use crate::ports::AvailabilityApiStore;

use super::dto::{
    AvailabilityParams, AvailabilityView, OfferedSlotView, SlotCheckBody, SlotCheckView, SlotView,
    StaffRef, local_rfc3339, parse_window_bound,
};
use super::extract::{ApiJson, ApiQuery, Tenant};
use super::problem::ApiError;
use super::responses::{BookingErrors, CommonErrors};

const DEFAULT_WINDOW: SignedDuration = SignedDuration::from_hours(7 * 24);

/// The state of these routes: the app with only the store roles they use.
type AvailabilityApp = App<dyn AvailabilityApiStore>;

pub fn routes() -> OpenApiRouter<AvailabilityApp> {
    OpenApiRouter::new()
        .routes(routes!(get_availability))
        .routes(routes!(check_slot))
}

#[utoipa::path(get, path = "/v1/availability", tag = "availability", params(AvailabilityParams),
    responses((status = 200, description = "Free slots in the window", body = AvailabilityView), CommonErrors, BookingErrors))]
#[tracing::instrument(skip_all, fields(service_id = %params.service_id))]
async fn get_availability(
    State(app): State<AvailabilityApp>,
    Tenant(business): Tenant,
    ApiQuery(params): ApiQuery<AvailabilityParams>,
) -> Result<Json<AvailabilityView>, ApiError> {
    let zone = business.time_zone.zone();
    let from = match params.from.as_deref() {
        Some(text) => parse_window_bound("from", text, zone, false)?,
        None => app.clock.now(),
    };
    let to = match params.to.as_deref() {
        Some(text) => parse_window_bound("to", text, zone, true)?,
        None => from.checked_add(DEFAULT_WINDOW).unwrap_or(from),
    };
    let window = Interval::new(from, to).map_err(|_| ApiError::InvalidParameter {
        field: "to",
        message: "must be after from".to_owned(),
    })?;
    let command = FindTimes::in_window(params.service_id, window).with_staff(params.staff_id);
    let answer = app::find_times(&app, &business, command).await?;
    Ok(Json(AvailabilityView {
        service_id: answer.service.id,
        time_zone: business.time_zone.name().to_owned(),
        from: local_rfc3339(window.start(), zone),
        to: local_rfc3339(window.end(), zone),
        clipped: answer.clipped(),
        searched_from: answer.searched.map(|(first, _)| local_rfc3339(first, zone)),
        searched_to: answer.searched.map(|(_, last)| local_rfc3339(last, zone)),
        slots: answer
            .slots
            .iter()
            .map(|offered| OfferedSlotView::new(offered, &answer.staff, zone))
            .collect(),
    }))
}

#[utoipa::path(post, path = "/v1/availability/check", tag = "availability", request_body = SlotCheckBody,
    responses((status = 200, description = "Whether the time can be booked, why not, and the nearest alternatives", body = SlotCheckView), CommonErrors, BookingErrors))]
#[tracing::instrument(skip_all, fields(service_id = %body.service_id))]
async fn check_slot(
    State(app): State<AvailabilityApp>,
    Tenant(business): Tenant,
    ApiJson(body): ApiJson<SlotCheckBody>,
) -> Result<Json<SlotCheckView>, ApiError> {
    let start = parse_instant("start", &body.start)?;
    let check =
        app::check_availability(&app, &business, body.service_id, start, body.staff_id).await?;
    let zone = business.time_zone.zone();
    let (slot, staff, reason, message) = match &check.verdict {
        Ok((slot, free)) => (
            Some(SlotView::new(slot, zone)),
            free.iter()
                .map(|id| StaffRef::of(*id, &check.staff))
                .collect(),
            None,
            None,
        ),
        Err(reason) => (
            None,
            Vec::new(),
            Some(reason.code().to_owned()),
            Some(reason.to_string()),
        ),
    };
    Ok(Json(SlotCheckView {
        available: check.verdict.is_ok(),
        service_id: check.service.id,
        time_zone: business.time_zone.name().to_owned(),
        slot,
        staff,
        reason,
        message,
        alternatives: SlotView::all(&check.alternatives, zone),
    }))
}
