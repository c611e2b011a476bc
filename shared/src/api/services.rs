//! `/v1/services`: what a business offers, with its hours and booking rules.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::{self, App, ServiceChanges, SettingsChanges};
use crate::domain::{ServiceId, ServiceSettings};
use crate::ports::ServicesApiStore;

use super::dto::{
    ServiceCreateBody, ServiceList, ServicePatchBody, ServiceView, SettingsPatchBody, SettingsView,
};
use super::extract::{ApiJson, ApiPath, Tenant};
use super::problem::ApiError;
use super::responses::{CommonErrors, NotFoundError};

/// The state of these routes: the app with only the store roles they use.
type ServicesApp = App<dyn ServicesApiStore>;

pub fn routes() -> OpenApiRouter<ServicesApp> {
    OpenApiRouter::new()
        .routes(routes!(create_service, list_services))
        .routes(routes!(get_service, update_service))
        .routes(routes!(deactivate_service))
        .routes(routes!(get_settings, update_settings))
}

#[utoipa::path(get, path = "/v1/settings", tag = "settings",
    responses((status = 200, description = "The settings in force", body = SettingsView), CommonErrors))]
#[tracing::instrument(skip_all)]
async fn get_settings(
    State(app): State<ServicesApp>,
    Tenant(business): Tenant,
) -> Result<Json<SettingsView>, ApiError> {
    let settings = app::get_business_settings(&app, &business).await?;
    Ok(Json(SettingsView::new(&settings, &business.time_zone)))
}

#[utoipa::path(patch, path = "/v1/settings", tag = "settings", request_body = SettingsPatchBody,
    responses((status = 200, description = "The settings after the change", body = SettingsView), CommonErrors))]
#[tracing::instrument(skip_all)]
async fn update_settings(
    State(app): State<ServicesApp>,
    Tenant(business): Tenant,
    ApiJson(body): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<SettingsView>, ApiError> {
    // Read as an object first: serde would also fill a struct of optional fields from an array (`[null, null]`).
    let body: SettingsPatchBody = serde_json::from_value(serde_json::Value::Object(body))
        .map_err(|error| ApiError::InvalidBody(error.to_string()))?;
    let changes = SettingsChanges::try_from(body)?;
    let settings = app::update_business_settings(&app, &business, &changes).await?;
    Ok(Json(SettingsView::new(&settings, &business.time_zone)))
}

#[utoipa::path(post, path = "/v1/services", tag = "services", request_body = ServiceCreateBody,
    responses((status = 201, description = "Created", body = ServiceView), CommonErrors))]
#[tracing::instrument(skip_all)]
async fn create_service(
    State(app): State<ServicesApp>,
    Tenant(business): Tenant,
    ApiJson(body): ApiJson<ServiceCreateBody>,
) -> Result<(StatusCode, Json<ServiceView>), ApiError> {
    let settings = ServiceSettings::try_from(body)?;
    let service = app::create_service(&app, &business, settings).await?;
    Ok((
        StatusCode::CREATED,
        Json(ServiceView::new(&service, business.time_zone.zone())),
    ))
}

#[utoipa::path(get, path = "/v1/services", tag = "services",
    responses((status = 200, description = "All services of the business", body = ServiceList), CommonErrors))]
#[tracing::instrument(skip_all)]
async fn list_services(
    State(app): State<ServicesApp>,
    Tenant(business): Tenant,
) -> Result<Json<ServiceList>, ApiError> {
    let services = app::list_services(&app, &business).await?;
    let zone = business.time_zone.zone();
    Ok(Json(ServiceList {
        items: services
            .iter()
            .map(|service| ServiceView::new(service, zone))
            .collect(),
    }))
}

#[utoipa::path(get, path = "/v1/services/{service_id}", tag = "services",
    params(("service_id" = ServiceId, Path, description = "Service id")),
    responses((status = 200, description = "The service", body = ServiceView), CommonErrors, NotFoundError))]
#[tracing::instrument(skip_all, fields(%service_id))]
async fn get_service(
    State(app): State<ServicesApp>,
    Tenant(business): Tenant,
    ApiPath(service_id): ApiPath<ServiceId>,
) -> Result<Json<ServiceView>, ApiError> {
    let service = app::get_service(&app, &business, service_id).await?;
    Ok(Json(ServiceView::new(&service, business.time_zone.zone())))
}

#[utoipa::path(patch, path = "/v1/services/{service_id}", tag = "services", request_body = ServicePatchBody,
    params(("service_id" = ServiceId, Path, description = "Service id")),
    responses((status = 200, description = "The updated service", body = ServiceView), CommonErrors, NotFoundError))]
#[tracing::instrument(skip_all, fields(%service_id))]
async fn update_service(
    State(app): State<ServicesApp>,
    Tenant(business): Tenant,
    ApiPath(service_id): ApiPath<ServiceId>,
    ApiJson(body): ApiJson<ServicePatchBody>,
) -> Result<Json<ServiceView>, ApiError> {
    let changes = ServiceChanges::try_from(body)?;
    let service = app::update_service(&app, &business, service_id, &changes).await?;
    Ok(Json(ServiceView::new(&service, business.time_zone.zone())))
}

#[utoipa::path(post, path = "/v1/services/{service_id}/deactivate", tag = "services",
    params(("service_id" = ServiceId, Path, description = "Service id")),
    responses((status = 200, description = "The service, no longer bookable", body = ServiceView), CommonErrors, NotFoundError))]
#[tracing::instrument(skip_all, fields(%service_id))]
async fn deactivate_service(
    State(app): State<ServicesApp>,
    Tenant(business): Tenant,
    ApiPath(service_id): ApiPath<ServiceId>,
) -> Result<Json<ServiceView>, ApiError> {
    let service = app::deactivate_service(&app, &business, service_id).await?;
    Ok(Json(ServiceView::new(&service, business.time_zone.zone())))
}
