//! `/v1/staff/{staff_id}/integrations`: one staff member's calendar connections, connecting another account, the
//! calendars of one connection and the member's choice among them, disconnecting. Served with `/v1/integrations`
//! (same function, same store view); the OAuth callback is that area's, shared by every member.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;
use crate::app::integrations;
use crate::app::member_integrations::{self, CalendarChoice};
use crate::domain::{ConnectionId, StaffId};
use crate::ports::{IntegrationsApiStore, ProviderKind};

use super::extract::{ApiJson, ApiPath, Tenant};
use super::integrations::{
    AuthorizationView, CalendarSelectedView, CalendarsView, ConnectionView, ConnectionsView,
};
use super::problem::ApiError;
use super::responses::{CommonErrors, MemberIntegrationErrors};

type IntegrationsApp = App<dyn IntegrationsApiStore>;

pub fn routes() -> OpenApiRouter<IntegrationsApp> {
    OpenApiRouter::new()
        .routes(routes!(member_connections))
        .routes(routes!(start_connect))
        .routes(routes!(member_calendars, choose_calendars))
        .routes(routes!(disconnect))
}

/// The member's choice for one connection. Every calendar must be one of the account's.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarChoiceBody {
    /// The calendar the member's appointments are written to (it must be writable); absent or null: none through
    /// this connection. Choosing one stops writing through the member's other connections.
    #[serde(default)]
    pub written: Option<String>,
    /// Further calendars whose events block the member; the written one is checked anyway.
    #[serde(default)]
    pub checked: Vec<String>,
}

impl From<CalendarChoiceBody> for CalendarChoice {
    fn from(body: CalendarChoiceBody) -> Self {
        Self {
            written: body.written,
            checked: body.checked,
        }
    }
}

#[utoipa::path(get, path = "/v1/staff/{staff_id}/integrations", tag = "integrations",
    params(("staff_id" = StaffId, Path, description = "Staff member id")),
    responses((status = 200, description = "The member's calendar connections and their health", body = ConnectionsView),
        CommonErrors, MemberIntegrationErrors))]
#[tracing::instrument(skip_all, fields(%staff_id))]
async fn member_connections(
    State(app): State<IntegrationsApp>,
    Tenant(business): Tenant,
    ApiPath(staff_id): ApiPath<StaffId>,
) -> Result<Json<ConnectionsView>, ApiError> {
    let connections = member_integrations::member_connections(&app, &business, staff_id).await?;
    Ok(Json(ConnectionsView::of(&connections, &business)))
}

/// The member authorizes at the provider (their own consent); the callback is `/v1/integrations/{provider}/callback`.
#[utoipa::path(post, path = "/v1/staff/{staff_id}/integrations/{provider}/connect", tag = "integrations",
    params(("staff_id" = StaffId, Path, description = "Staff member id"),
        ("provider" = ProviderKind, Path, description = "A registered provider's name")),
    responses((status = 200, description = "Where the member authorizes", body = AuthorizationView),
        CommonErrors, MemberIntegrationErrors))]
#[tracing::instrument(skip_all, fields(%staff_id, %provider))]
async fn start_connect(
    State(app): State<IntegrationsApp>,
    Tenant(business): Tenant,
    ApiPath((staff_id, provider)): ApiPath<(StaffId, ProviderKind)>,
) -> Result<Json<AuthorizationView>, ApiError> {
    let authorization_url =
        integrations::start_connect(&app, &business, staff_id, provider, false).await?;
    Ok(Json(AuthorizationView { authorization_url }))
}

#[utoipa::path(get, path = "/v1/staff/{staff_id}/integrations/{connection_id}/calendars", tag = "integrations",
    params(("staff_id" = StaffId, Path, description = "Staff member id"),
        ("connection_id" = ConnectionId, Path, description = "One of the member's connections")),
    responses((status = 200, description = "The connected account's calendars", body = CalendarsView),
        CommonErrors, MemberIntegrationErrors))]
#[tracing::instrument(skip_all, fields(%staff_id, %connection_id))]
async fn member_calendars(
    State(app): State<IntegrationsApp>,
    Tenant(business): Tenant,
    ApiPath((staff_id, connection_id)): ApiPath<(StaffId, ConnectionId)>,
) -> Result<Json<CalendarsView>, ApiError> {
    let calendars =
        member_integrations::list_member_calendars(&app, &business, staff_id, connection_id)
            .await?;
    Ok(Json(CalendarsView { calendars }))
}

#[utoipa::path(put, path = "/v1/staff/{staff_id}/integrations/{connection_id}/calendars", tag = "integrations",
    request_body = CalendarChoiceBody,
    params(("staff_id" = StaffId, Path, description = "Staff member id"),
        ("connection_id" = ConnectionId, Path, description = "One of the member's connections")),
    responses((status = 200, description = "The member's choice is stored; a new written calendar gets their upcoming appointments", body = CalendarSelectedView),
        CommonErrors, MemberIntegrationErrors))]
#[tracing::instrument(skip_all, fields(%staff_id, %connection_id))]
async fn choose_calendars(
    State(app): State<IntegrationsApp>,
    Tenant(business): Tenant,
    ApiPath((staff_id, connection_id)): ApiPath<(StaffId, ConnectionId)>,
    ApiJson(choice): ApiJson<CalendarChoiceBody>,
) -> Result<Json<CalendarSelectedView>, ApiError> {
    let (connection, queued) = member_integrations::choose_calendars(
        &app,
        &business,
        staff_id,
        connection_id,
        choice.into(),
    )
    .await?;
    Ok(Json(CalendarSelectedView {
        connection: ConnectionView::new(&connection, None, business.time_zone.zone()),
        queued,
    }))
}

#[utoipa::path(delete, path = "/v1/staff/{staff_id}/integrations/{connection_id}", tag = "integrations",
    params(("staff_id" = StaffId, Path, description = "Staff member id"),
        ("connection_id" = ConnectionId, Path, description = "One of the member's connections")),
    responses((status = 204, description = "Disconnected; tokens deleted and revoked where the provider allows"),
        CommonErrors, MemberIntegrationErrors))]
#[tracing::instrument(skip_all, fields(%staff_id, %connection_id))]
async fn disconnect(
    State(app): State<IntegrationsApp>,
    Tenant(business): Tenant,
    ApiPath((staff_id, connection_id)): ApiPath<(StaffId, ConnectionId)>,
) -> Result<StatusCode, ApiError> {
    member_integrations::disconnect_member_connection(&app, &business, staff_id, connection_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
