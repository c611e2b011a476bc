//! `/v1/staff`: the people or resources services are booked with, each with their own hours, time off, services
//! and daily maximum. Served by the appointments' function: deactivating a member may move or cancel appointments.
//!
//! Deactivating (`POST /v1/staff/{staff_id}/deactivate`) a member with live appointments ahead is refused with
//! `409 staff_has_future_appointments` unless the body says `"future_appointments": "reassign"` (each goes to another
//! member free at its time, by the business's assignment policy; one nobody can take stops there with
//! `409 slot_unavailable`, those moved staying moved) or `"cancel"`. The last active member cannot be deactivated
//! (`409 last_active_staff_member`).

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::{self, App, FutureAppointments, StaffChanges};
use crate::domain::{
    ServiceId, StaffId, StaffMember, StaffName, StaffServices, StaffSettings, ValidationError,
    WeeklyHours,
};
use crate::ports::AppointmentsApiStore;

use super::dto::{
    DateOverrideBody, WeeklyHoursBody, date_override_bodies, date_overrides, double_option,
};
use super::extract::{ApiJson, ApiPath, Tenant};
use super::problem::ApiError;
use super::responses::{CommonErrors, NotFoundError, StaffConflictError};

type StaffApp = App<dyn AppointmentsApiStore>;

pub fn routes() -> OpenApiRouter<StaffApp> {
    OpenApiRouter::new()
        .routes(routes!(create_staff_member, list_staff))
        .routes(routes!(get_staff_member, update_staff_member))
        .routes(routes!(deactivate_staff_member))
}

/// A new staff member.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffCreateBody {
    /// The name callers say ("Dr. Patel", "Maria", "Van 2").
    #[schema(example = "Maria")]
    pub name: String,
    /// The services they perform; every service of the business, present and future, when omitted.
    pub service_ids: Option<Vec<ServiceId>>,
    /// Their own hours; when omitted they work whenever the service is open.
    pub weekly_hours: Option<WeeklyHoursBody>,
    /// Dates whose hours replace their weekly ones; no hours is time off.
    #[serde(default)]
    pub date_overrides: Vec<DateOverrideBody>,
    /// Their live appointments per local date, every service counted; unlimited when omitted.
    #[schema(minimum = 1, maximum = 1000)]
    pub max_per_day: Option<u32>,
}

impl TryFrom<StaffCreateBody> for StaffSettings {
    type Error = ValidationError;

    fn try_from(body: StaffCreateBody) -> Result<Self, Self::Error> {
        Self {
            name: StaffName::try_from(body.name)?,
            services: services_from(body.service_ids),
            weekly_hours: body
                .weekly_hours
                .as_ref()
                .map(WeeklyHours::try_from)
                .transpose()?,
            date_overrides: date_overrides(&body.date_overrides)?,
            max_per_day: body.max_per_day,
        }
        .validated()
    }
}

fn services_from(ids: Option<Vec<ServiceId>>) -> StaffServices {
    match ids {
        None => StaffServices::All,
        Some(ids) => StaffServices::Only(ids.into_iter().collect::<BTreeSet<_>>()),
    }
}

/// A partial update: absent fields keep their value; `null` clears `service_ids` (every service), `weekly_hours`
/// (whenever the service is open) and `max_per_day` (no limit).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffPatchBody {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub service_ids: Option<Option<Vec<ServiceId>>>,
    #[serde(default, deserialize_with = "double_option")]
    pub weekly_hours: Option<Option<WeeklyHoursBody>>,
    pub date_overrides: Option<Vec<DateOverrideBody>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(minimum = 1, maximum = 1000)]
    pub max_per_day: Option<Option<u32>>,
    /// `true` makes an inactive member bookable again; deactivating is `POST .../deactivate`.
    pub active: Option<bool>,
    /// Apply only if the member is still at this version (optimistic concurrency): `409 version_conflict` if not.
    pub expected_version: Option<u64>,
}

impl TryFrom<StaffPatchBody> for StaffChanges {
    type Error = ValidationError;

    fn try_from(body: StaffPatchBody) -> Result<Self, Self::Error> {
        if body.active == Some(false) {
            return Err(ValidationError::new(
                "active",
                "deactivate with POST /v1/staff/{staff_id}/deactivate, which says what becomes of their appointments",
            ));
        }
        Ok(Self {
            name: body.name.map(StaffName::try_from).transpose()?,
            services: body.service_ids.map(services_from),
            weekly_hours: body
                .weekly_hours
                .map(|hours| hours.as_ref().map(WeeklyHours::try_from).transpose())
                .transpose()?,
            date_overrides: body
                .date_overrides
                .as_deref()
                .map(date_overrides)
                .transpose()?,
            max_per_day: body.max_per_day,
            reactivate: body.active == Some(true),
            expected_version: body.expected_version,
        })
    }
}

/// What becomes of the member's appointments ahead.
#[derive(Clone, Copy, Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FutureAppointmentsBody {
    /// Refuse while there are any (the default).
    #[default]
    Refuse,
    /// Give each to another member free at its time.
    Reassign,
    /// Cancel them.
    Cancel,
}

#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffDeactivateBody {
    #[serde(default)]
    pub future_appointments: FutureAppointmentsBody,
}

impl From<FutureAppointmentsBody> for FutureAppointments {
    fn from(body: FutureAppointmentsBody) -> Self {
        match body {
            FutureAppointmentsBody::Refuse => Self::Refuse,
            FutureAppointmentsBody::Reassign => Self::Reassign,
            FutureAppointmentsBody::Cancel => Self::Cancel,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StaffView {
    pub id: StaffId,
    pub name: String,
    pub active: bool,
    /// The services they perform; absent (null) when they perform every service.
    pub service_ids: Option<Vec<ServiceId>>,
    /// Their own hours; null when they work whenever the service is open.
    pub weekly_hours: Option<WeeklyHoursBody>,
    pub date_overrides: Vec<DateOverrideBody>,
    pub max_per_day: Option<u32>,
    pub version: u64,
}

impl StaffView {
    pub fn new(member: &StaffMember) -> Self {
        let settings = &member.settings;
        Self {
            id: member.id,
            name: settings.name.as_ref().to_owned(),
            active: member.active,
            service_ids: match &settings.services {
                StaffServices::All => None,
                StaffServices::Only(ids) => Some(ids.iter().copied().collect()),
            },
            weekly_hours: settings.weekly_hours.as_ref().map(WeeklyHoursBody::from),
            date_overrides: date_override_bodies(&settings.date_overrides),
            max_per_day: settings.max_per_day,
            version: member.version,
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct StaffList {
    pub items: Vec<StaffView>,
}

#[utoipa::path(post, path = "/v1/staff", tag = "staff", request_body = StaffCreateBody,
    responses((status = 201, description = "Created", body = StaffView), CommonErrors))]
#[tracing::instrument(skip_all)]
async fn create_staff_member(
    State(app): State<StaffApp>,
    Tenant(business): Tenant,
    ApiJson(body): ApiJson<StaffCreateBody>,
) -> Result<(StatusCode, Json<StaffView>), ApiError> {
    let settings = StaffSettings::try_from(body)?;
    let member = app::create_staff_member(&app, &business, settings).await?;
    Ok((StatusCode::CREATED, Json(StaffView::new(&member))))
}

#[utoipa::path(get, path = "/v1/staff", tag = "staff",
    responses((status = 200, description = "Every staff member of the business, active or not", body = StaffList), CommonErrors))]
#[tracing::instrument(skip_all)]
async fn list_staff(
    State(app): State<StaffApp>,
    Tenant(business): Tenant,
) -> Result<Json<StaffList>, ApiError> {
    let staff = app::list_staff(&app, &business).await?;
    Ok(Json(StaffList {
        items: staff.iter().map(StaffView::new).collect(),
    }))
}

#[utoipa::path(get, path = "/v1/staff/{staff_id}", tag = "staff",
    params(("staff_id" = StaffId, Path, description = "Staff member id")),
    responses((status = 200, description = "The staff member", body = StaffView), CommonErrors, NotFoundError))]
#[tracing::instrument(skip_all, fields(%staff_id))]
async fn get_staff_member(
    State(app): State<StaffApp>,
    Tenant(business): Tenant,
    ApiPath(staff_id): ApiPath<StaffId>,
) -> Result<Json<StaffView>, ApiError> {
    let member = app::get_staff_member(&app, &business, staff_id).await?;
    Ok(Json(StaffView::new(&member)))
}

#[utoipa::path(patch, path = "/v1/staff/{staff_id}", tag = "staff", request_body = StaffPatchBody,
    params(("staff_id" = StaffId, Path, description = "Staff member id")),
    responses((status = 200, description = "The staff member after the change", body = StaffView), CommonErrors, NotFoundError,
        StaffConflictError))]
#[tracing::instrument(skip_all, fields(%staff_id))]
async fn update_staff_member(
    State(app): State<StaffApp>,
    Tenant(business): Tenant,
    ApiPath(staff_id): ApiPath<StaffId>,
    ApiJson(body): ApiJson<StaffPatchBody>,
) -> Result<Json<StaffView>, ApiError> {
    let changes = StaffChanges::try_from(body)?;
    let member = app::update_staff_member(&app, &business, staff_id, &changes).await?;
    Ok(Json(StaffView::new(&member)))
}

#[utoipa::path(post, path = "/v1/staff/{staff_id}/deactivate", tag = "staff", request_body = StaffDeactivateBody,
    params(("staff_id" = StaffId, Path, description = "Staff member id")),
    responses((status = 200, description = "Deactivated: nothing more is offered or assigned to them", body = StaffView),
        CommonErrors, NotFoundError, StaffConflictError))]
#[tracing::instrument(skip_all, fields(%staff_id))]
async fn deactivate_staff_member(
    State(app): State<StaffApp>,
    Tenant(business): Tenant,
    ApiPath(staff_id): ApiPath<StaffId>,
    ApiJson(body): ApiJson<StaffDeactivateBody>,
) -> Result<Json<StaffView>, ApiError> {
    let member =
        app::deactivate_staff_member(&app, &business, staff_id, body.future_appointments.into())
            .await?;
    Ok(Json(StaffView::new(&member)))
}
