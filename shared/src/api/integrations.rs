//! `/v1/integrations`: connecting a calendar at a registered provider, choosing the calendar, health, disconnecting,
//! for the business's first staff member; every member's own routes (`super::staff_integrations`) are served with them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::integrations::{self, CallbackParameters};
use crate::app::{App, AppError};
use crate::dashboard::{calendar_picker_location, connect_failed_location, link_holder_location};
use crate::domain::{Business, BusinessId, ConnectionId, StaffId};
use crate::ports::IntegrationsApiStore;
use crate::ports::{
    CalendarConnection, CalendarSummary, CalendarWatch, ConnectionHealth, ProviderKind,
};

use super::dto::local_rfc3339;
use super::extract::{ApiJson, ApiPath, ApiQuery, Tenant};
use super::problem::ApiError;
use super::responses::{CommonErrors, IntegrationErrors};

/// The state of these routes: the app with only the store roles they use.
type IntegrationsApp = App<dyn IntegrationsApiStore>;

pub fn routes() -> OpenApiRouter<IntegrationsApp> {
    OpenApiRouter::new()
        .routes(routes!(list_connections))
        .routes(routes!(start_connect))
        .routes(routes!(finish_connect))
        .routes(routes!(list_calendars))
        .routes(routes!(select_calendar))
        .routes(routes!(disconnect))
        .merge(super::staff_integrations::routes())
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct AuthorizationView {
    /// Send the business's browser here; the provider sends it back to the callback.
    pub authorization_url: String,
}

/// Unknown parameters are ignored: providers add their own (`scope`, `session_state`, `iss`, …).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ConnectedView {
    pub business_id: BusinessId,
    pub provider: ProviderKind,
    pub account: String,
    pub calendars: Vec<CalendarSummary>,
    /// Kept from an earlier connection of the same account; otherwise choose one with `PUT .../calendar`.
    pub selected_calendar_id: Option<String>,
    /// Failed appointments queued again now that the connection works.
    pub requeued: usize,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ConnectionView {
    pub id: ConnectionId,
    /// The staff member whose calendars these are.
    pub staff_id: StaffId,
    pub provider: ProviderKind,
    pub account: String,
    /// The calendar the member's appointments are written to.
    pub calendar_id: Option<String>,
    /// Every calendar whose events block the member: the written one first.
    pub checked_calendars: Vec<String>,
    pub health: ConnectionHealth,
    #[schema(format = DateTime)]
    pub connected_at: String,
    #[schema(format = DateTime)]
    pub last_synced_at: Option<String>,
    /// When the calendar's events were last read into busy time (every change notification and at least every
    /// 15 minutes).
    #[schema(format = DateTime)]
    pub busy_times_synced_at: Option<String>,
    /// When the provider's change notifications end unless renewed (they are renewed a day ahead); absent when none
    /// are set up yet.
    #[schema(format = DateTime)]
    pub notifications_expire_at: Option<String>,
}

impl ConnectionView {
    pub(super) fn new(
        connection: &CalendarConnection,
        watch: Option<&CalendarWatch>,
        zone: &jiff::tz::TimeZone,
    ) -> Self {
        Self {
            busy_times_synced_at: watch
                .and_then(|watch| watch.synced_at)
                .map(|at| local_rfc3339(at, zone)),
            notifications_expire_at: watch
                .and_then(|watch| watch.channel.as_ref())
                .map(|channel| local_rfc3339(channel.expires_at, zone)),
            id: connection.id,
            staff_id: connection.staff_id,
            provider: connection.provider,
            account: connection.account.clone(),
            calendar_id: connection.calendar_id.clone(),
            checked_calendars: connection
                .calendars_checked()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            health: connection.health.clone(),
            connected_at: local_rfc3339(connection.connected_at, zone),
            last_synced_at: connection.last_synced_at.map(|at| local_rfc3339(at, zone)),
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ConnectionsView {
    /// Every staff member's connections, the first member's first.
    pub connections: Vec<ConnectionView>,
}

impl ConnectionsView {
    /// The connections with their watches, times in the business's zone.
    pub(super) fn of(
        connections: &[(CalendarConnection, Option<CalendarWatch>)],
        business: &Business,
    ) -> Self {
        Self {
            connections: connections
                .iter()
                .map(|(connection, watch)| {
                    ConnectionView::new(connection, watch.as_ref(), business.time_zone.zone())
                })
                .collect(),
        }
    }
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarChoice {
    pub calendar_id: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct CalendarSelectedView {
    pub connection: ConnectionView,
    /// Upcoming appointments queued for the chosen calendar.
    pub queued: usize,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct CalendarsView {
    pub calendars: Vec<CalendarSummary>,
}

#[utoipa::path(get, path = "/v1/integrations", tag = "integrations",
    responses((status = 200, description = "Every staff member's calendar connections and their health", body = ConnectionsView), CommonErrors, IntegrationErrors))]
#[tracing::instrument(skip_all)]
async fn list_connections(
    State(app): State<IntegrationsApp>,
    Tenant(business): Tenant,
) -> Result<Json<ConnectionsView>, ApiError> {
    let connections = integrations::list_connections(&app, &business).await?;
    Ok(Json(ConnectionsView::of(&connections, &business)))
}

#[utoipa::path(get, path = "/v1/integrations/{provider}/connect", tag = "integrations",
    params(("provider" = ProviderKind, Path, description = "A registered provider's name")),
    responses((status = 200, description = "Where to authorize", body = AuthorizationView), CommonErrors, IntegrationErrors))]
#[tracing::instrument(skip_all, fields(%provider))]
async fn start_connect(
    State(app): State<IntegrationsApp>,
    Tenant(business): Tenant,
    ApiPath(provider): ApiPath<ProviderKind>,
) -> Result<Json<AuthorizationView>, ApiError> {
    let authorization_url = integrations::start_connect(
        &app,
        &business,
        StaffId::first_of(business.id),
        provider,
        false,
    )
    .await?;
    Ok(Json(AuthorizationView { authorization_url }))
}

/// The provider's redirect lands here, in the business's browser, so it carries no API key: the signed,
/// single-use `state` names the business instead.
#[utoipa::path(get, path = "/v1/integrations/{provider}/callback", tag = "integrations", security(()),
    params(("provider" = ProviderKind, Path, description = "A registered provider's name"), CallbackQuery),
    responses((status = 200, description = "Connected; the account's calendars to choose from", body = ConnectedView),
        (status = 303, description = "Connected from the dashboard: on to its calendar picker"), CommonErrors, IntegrationErrors))]
#[tracing::instrument(skip_all, fields(%provider))]
async fn finish_connect(
    State(app): State<IntegrationsApp>,
    headers: axum::http::HeaderMap,
    ApiPath(provider): ApiPath<ProviderKind>,
    ApiQuery(query): ApiQuery<CallbackQuery>,
) -> Result<Response, ApiError> {
    let connected = integrations::finish_connect(
        &app,
        provider,
        CallbackParameters {
            code: query.code,
            state: query.state,
            error: query.error,
            error_description: query.error_description,
        },
    )
    .await;
    let connected = match connected {
        Err(AppError::DashboardConnectFailed { provider, why }) => {
            let location = link_holder_location(&headers, Some(why))
                .unwrap_or_else(|| connect_failed_location(provider, why));
            return Ok(Redirect::to(&location).into_response());
        }
        other => other?,
    };
    if connected.from_dashboard {
        // A staff member who followed an emailed link has no session: their own page, not the owner's picker.
        let location = link_holder_location(&headers, None)
            .unwrap_or_else(|| calendar_picker_location(provider, &connected));
        return Ok(Redirect::to(&location).into_response());
    }
    Ok(Json(ConnectedView {
        business_id: connected.business_id,
        provider: connected.provider,
        account: connected.account,
        calendars: connected.calendars,
        selected_calendar_id: connected.selected_calendar_id,
        requeued: connected.requeued,
    })
    .into_response())
}

#[utoipa::path(get, path = "/v1/integrations/{provider}/calendars", tag = "integrations",
    params(("provider" = ProviderKind, Path, description = "A registered provider's name")),
    responses((status = 200, description = "The connected account's calendars", body = CalendarsView), CommonErrors, IntegrationErrors))]
#[tracing::instrument(skip_all, fields(%provider))]
async fn list_calendars(
    State(app): State<IntegrationsApp>,
    Tenant(business): Tenant,
    ApiPath(provider): ApiPath<ProviderKind>,
) -> Result<Json<CalendarsView>, ApiError> {
    let calendars = integrations::list_calendars(&app, &business, provider).await?;
    Ok(Json(CalendarsView { calendars }))
}

#[utoipa::path(put, path = "/v1/integrations/{provider}/calendar", tag = "integrations", request_body = CalendarChoice,
    params(("provider" = ProviderKind, Path, description = "A registered provider's name")),
    responses((status = 200, description = "Appointments now sync to this calendar", body = CalendarSelectedView), CommonErrors, IntegrationErrors))]
#[tracing::instrument(skip_all, fields(%provider))]
async fn select_calendar(
    State(app): State<IntegrationsApp>,
    Tenant(business): Tenant,
    ApiPath(provider): ApiPath<ProviderKind>,
    ApiJson(choice): ApiJson<CalendarChoice>,
) -> Result<Json<CalendarSelectedView>, ApiError> {
    let (connection, queued) =
        integrations::select_calendar(&app, &business, provider, &choice.calendar_id).await?;
    Ok(Json(CalendarSelectedView {
        connection: ConnectionView::new(&connection, None, business.time_zone.zone()),
        queued,
    }))
}

#[utoipa::path(delete, path = "/v1/integrations/{provider}", tag = "integrations",
    params(("provider" = ProviderKind, Path, description = "A registered provider's name")),
    responses((status = 204, description = "Disconnected; tokens deleted and revoked where the provider allows"), CommonErrors, IntegrationErrors))]
#[tracing::instrument(skip_all, fields(%provider))]
async fn disconnect(
    State(app): State<IntegrationsApp>,
    Tenant(business): Tenant,
    ApiPath(provider): ApiPath<ProviderKind>,
) -> Result<StatusCode, ApiError> {
    integrations::disconnect(&app, &business, provider).await?;
    Ok(StatusCode::NO_CONTENT)
}
