//! `/v1/holds`: keeping a time while the caller decides. Booking it is `POST /v1/appointments` with `hold_id`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::{self, App, HoldTime};
use crate::domain::HoldId;
use crate::ports::AppointmentsApiStore;

use super::dto::{HoldBody, HoldView};
use super::extract::{ApiJson, ApiPath, Tenant};
use super::problem::ApiError;
use super::responses::{BookingErrors, CommonErrors, NotFoundError};

/// The state of these routes: the appointments' view of the store, since converting a hold books an appointment.
type HoldsApp = App<dyn AppointmentsApiStore>;

pub fn routes() -> OpenApiRouter<HoldsApp> {
    OpenApiRouter::new()
        .routes(routes!(create_hold))
        .routes(routes!(get_hold, release_hold))
}

#[utoipa::path(post, path = "/v1/holds", tag = "holds", request_body = HoldBody,
    responses((status = 201, description = "Held: nobody else can book the time until expires_at", body = HoldView),
        CommonErrors, BookingErrors))]
#[tracing::instrument(skip_all, fields(service_id = %body.service_id))]
async fn create_hold(
    State(app): State<HoldsApp>,
    Tenant(business): Tenant,
    ApiJson(body): ApiJson<HoldBody>,
) -> Result<Response, ApiError> {
    let command = HoldTime::try_from(body)?;
    let hold = app::create_hold(&app, &business, command).await?;
    let staff = app::list_staff(&app, &business).await?;
    let view = HoldView::new(&hold, &business.time_zone, app.clock.now(), &staff);
    let mut response = (StatusCode::CREATED, Json(view)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/holds/{}", hold.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

#[utoipa::path(get, path = "/v1/holds/{hold_id}", tag = "holds",
    params(("hold_id" = HoldId, Path, description = "Hold id")),
    responses((status = 200, description = "The hold; `active` is false once it expired", body = HoldView),
        CommonErrors, NotFoundError))]
#[tracing::instrument(skip_all, fields(%hold_id))]
async fn get_hold(
    State(app): State<HoldsApp>,
    Tenant(business): Tenant,
    ApiPath(hold_id): ApiPath<HoldId>,
) -> Result<Json<HoldView>, ApiError> {
    let (hold, staff) = tokio::try_join!(
        app::get_hold(&app, &business, hold_id),
        app::list_staff(&app, &business),
    )?;
    Ok(Json(HoldView::new(
        &hold,
        &business.time_zone,
        app.clock.now(),
        &staff,
    )))
}

#[utoipa::path(delete, path = "/v1/holds/{hold_id}", tag = "holds",
    params(("hold_id" = HoldId, Path, description = "Hold id")),
    responses((status = 204, description = "Released: the time is free at once"), CommonErrors, NotFoundError))]
#[tracing::instrument(skip_all, fields(%hold_id))]
async fn release_hold(
    State(app): State<HoldsApp>,
    Tenant(business): Tenant,
    ApiPath(hold_id): ApiPath<HoldId>,
) -> Result<StatusCode, ApiError> {
    app::release_hold(&app, &business, hold_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    /// The appointments' routes mount these, so importing from them back would make the two modules a circle.
    #[test]
    fn the_holds_routes_do_not_import_the_appointments_routes_that_mount_them() {
        let source = include_str!("holds.rs");
        let import_of_appointments = ["super::", "appointments"].concat();
        assert!(!source.contains(&import_of_appointments));
    }
}
