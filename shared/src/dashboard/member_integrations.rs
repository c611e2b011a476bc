//! The Integrations page's part for each staff member: their connections with health, and per connection a form
//! with the account's calendars, each a checkbox (its events block the member) and a radio choice (it receives
//! their appointments); connecting another account for the member; disconnecting one with a confirmation.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::{Signed, SignedForm};
use super::format::when;
use super::integrations::configured;
use super::layout::{Nav, csrf_field, page};
use super::{Dashboard, PageError, PageResult, see_other};
use crate::app::member_integrations::{self, CalendarChoice};
use crate::app::{AppError, integrations, needs_reconnecting};
use crate::domain::{ConnectionId, StaffId, StaffMember};
use crate::ports::{
    CalendarConnection, CalendarSummary, CalendarWatch, ConnectionHealth, ProviderKind,
};

pub fn routes() -> Router<Dashboard> {
    Router::new()
        .route(
            "/integrations/staff/{staff_id}/{provider}/connect",
            post(connect),
        )
        .route(
            "/integrations/staff/{staff_id}/{connection_id}/calendars",
            post(choose_calendars),
        )
        .route(
            "/integrations/staff/{staff_id}/{connection_id}/disconnect",
            get(confirm_disconnect).post(disconnect),
        )
}

/// The id of a member's part of the page.
pub fn anchor(staff_id: StaffId) -> String {
    format!("staff-{staff_id}")
}

/// "Maria's Google Calendar", as the member and the owner know it.
pub fn members_calendar(member: &str, calendar: &str) -> String {
    format!("{member}'s {calendar}")
}

/// One connection as the page shows it: the account's calendars, unless they could not be listed (a grant to
/// reconnect, or the provider not answering just now).
pub struct ShownConnection {
    pub connection: CalendarConnection,
    pub watch: Option<CalendarWatch>,
    pub calendars: Option<Vec<CalendarSummary>>,
}

/// Each connection of `connections` with its account's calendars, fresh from the provider where the grant works.
pub async fn with_calendars(
    dashboard: &Dashboard,
    business: &crate::domain::Business,
    connections: Vec<(CalendarConnection, Option<CalendarWatch>)>,
) -> Vec<ShownConnection> {
    let listed = connections.iter().map(|(connection, _)| async move {
        if matches!(connection.health, ConnectionHealth::ReauthRequired { .. }) {
            return None;
        }
        let listed = member_integrations::list_member_calendars(
            &dashboard.app,
            business,
            connection.staff_id,
            connection.id,
        )
        .await;
        // The page still shows the connection and its health; the form waits until the calendars can be listed.
        listed
            .inspect_err(|error| tracing::warn!(connection_id = %connection.id, %error, "calendars not listed"))
            .ok()
    });
    let calendars = futures::future::join_all(listed).await;
    connections
        .into_iter()
        .zip(calendars)
        .map(|((connection, watch), calendars)| ShownConnection {
            connection,
            watch,
            calendars,
        })
        .collect()
}

/// The choice form of one connection: a checkbox and a radio choice per calendar, and "none" for the radio.
pub fn choice_form(
    csrf: &str,
    member: &StaffMember,
    connection: &CalendarConnection,
    calendars: &[CalendarSummary],
) -> Markup {
    let name = member.settings.name.as_ref();
    let checked = connection.calendars_checked();
    let written = connection.calendar_id.as_deref();
    let prefix = format!("choice-{}", connection.id);
    html! {
        form method="post" action={ "/dashboard/integrations/staff/" (member.id) "/" (connection.id) "/calendars" } class="stack calendar-choice" {
            (csrf_field(csrf))
            @for (index, calendar) in calendars.iter().enumerate() {
                @let id = format!("{prefix}-{index}");
                fieldset {
                    legend {
                        (calendar.name)
                        @if calendar.primary { " (primary)" }
                    }
                    div class="choice" {
                        input type="checkbox" name="checked" id={ (id) "-checked" } value=(calendar.id)
                            checked[checked.contains(&calendar.id.as_str())];
                        label for={ (id) "-checked" } { "Its events block " (name) "'s time" }
                    }
                    div class="choice" {
                        input type="radio" name="written" id={ (id) "-written" } value=(calendar.id)
                            checked[written == Some(calendar.id.as_str())] disabled[!calendar.writable];
                        label for={ (id) "-written" } {
                            @if calendar.writable { (name) "'s appointments are written here" }
                            @else { "Read-only: appointments cannot be written here" }
                        }
                    }
                }
            }
            div class="choice" {
                input type="radio" name="written" id={ (prefix) "-none" } value="" checked[written.is_none()];
                label for={ (prefix) "-none" } { "Write no appointments to this account" }
            }
            button type="submit" class="primary" { "Save " (name) "'s calendars" }
        }
    }
}

/// A member's connection: any of another member's, and the first member's beyond the one their provider cards show
/// (those cards stay as they were before members).
pub fn connection_card(
    csrf: &str,
    member: &StaffMember,
    shown: &ShownConnection,
    display_name: &str,
    zone: &jiff::tz::TimeZone,
) -> Markup {
    let connection = &shown.connection;
    let name = member.settings.name.as_ref();
    let calendar = members_calendar(name, display_name);
    let never = || "never".to_owned();
    let reauth = matches!(connection.health, ConnectionHealth::ReauthRequired { .. });
    html! {
        section class="card" id={ "connection-" (connection.id) } aria-label=(calendar) {
            h3 { (display_name) ": " (connection.account) }
            @match &connection.health {
                ConnectionHealth::Connected => span class="badge ok" { "Connected" },
                ConnectionHealth::ReauthRequired { reason } => {
                    span class="badge bad" { "Reconnect needed" }
                    p class="reason" { (needs_reconnecting(&calendar, reason)) ". Reconnect to fix it." }
                },
                ConnectionHealth::Error { message } => {
                    span class="badge warn" { "Error" }
                    p class="reason" { (super::layout::sentence(message)) " We keep retrying." }
                },
            }
            dl class="facts" {
                dt { "Appointments written to" } dd { (connection.calendar_id.as_deref().unwrap_or("none")) }
                dt { "Last write to the calendar" } dd { (connection.last_synced_at.map_or_else(never, |at| when(at, zone))) }
                dt { "Events last read" } dd { (shown.watch.as_ref().and_then(|w| w.synced_at).map_or_else(never, |at| when(at, zone))) }
            }
            @match &shown.calendars {
                Some(calendars) => (choice_form(csrf, member, connection, calendars)),
                None if reauth => {}
                None => p class="reason" { "The calendars of this account could not be listed just now; reload the page to try again." },
            }
            div class="actions" {
                (connect_button(csrf, member, connection.provider, &format!("Reconnect {display_name} for {name}"), reauth))
                a class="button danger" href={ "/dashboard/integrations/staff/" (member.id) "/" (connection.id) "/disconnect" } {
                    "Disconnect"
                }
            }
        }
    }
}

fn connect_button(
    csrf: &str,
    member: &StaffMember,
    provider: ProviderKind,
    label: &str,
    primary: bool,
) -> Markup {
    html! {
        form method="post" action={ "/dashboard/integrations/staff/" (member.id) "/" (provider) "/connect" } class="inline" {
            (csrf_field(csrf))
            button type="submit" class=[primary.then_some("primary")] { (label) }
        }
    }
}

/// A member's part of the page, for any member but the first: their connections and a Connect per provider.
pub fn member_section(
    dashboard: &Dashboard,
    csrf: &str,
    member: &StaffMember,
    connections: &[&ShownConnection],
    zone: &jiff::tz::TimeZone,
) -> Markup {
    let name = member.settings.name.as_ref();
    html! {
        section class="member" id=(anchor(member.id)) aria-labelledby={ (anchor(member.id)) "-title" } {
            h2 id={ (anchor(member.id)) "-title" } { (name) }
            @if connections.is_empty() {
                p { (name) " has no calendar connected: their appointments are not written anywhere and only their hours here block their time." }
            }
            div class="cards" {
                @for shown in connections {
                    @let display_name = dashboard.app.registry.display_name(shown.connection.provider);
                    (connection_card(csrf, member, shown, &display_name, zone))
                }
            }
            div class="actions" {
                @for profile in dashboard.app.registry.iter() {
                    @if configured(dashboard, profile.kind) {
                        (connect_button(csrf, member, profile.kind, &format!("Connect {} for {name}", profile.display_name), false))
                    }
                }
            }
        }
    }
}

async fn connect(
    State(dashboard): State<Dashboard>,
    Path((staff_id, provider)): Path<(StaffId, ProviderKind)>,
    SignedForm { signed_in, .. }: SignedForm<Empty>,
) -> PageResult {
    let business = signed_in.business;
    let url =
        integrations::start_connect(&dashboard.app, &business, staff_id, provider, true).await?;
    Ok(see_other(&url))
}

#[derive(Deserialize)]
struct Empty {}

/// The form's fields, repeated as browsers send checkboxes: every `checked` calendar, and `written` once (empty:
/// none).
fn choice_of(fields: Vec<(String, String)>) -> CalendarChoice {
    let mut choice = CalendarChoice::default();
    for (name, value) in fields {
        match name.as_str() {
            "checked" => choice.checked.push(value),
            "written" if !value.is_empty() => choice.written = Some(value),
            _ => {}
        }
    }
    choice
}

async fn choose_calendars(
    State(dashboard): State<Dashboard>,
    Path((staff_id, connection_id)): Path<(StaffId, ConnectionId)>,
    SignedForm { signed_in, form }: SignedForm<Vec<(String, String)>>,
) -> PageResult {
    let business = signed_in.business;
    match member_integrations::choose_calendars(
        &dashboard.app,
        &business,
        staff_id,
        connection_id,
        choice_of(form),
    )
    .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/dashboard/integrations?notice=chosen#{}",
            anchor(staff_id)
        ))),
        Err(AppError::CalendarNotConnected) => Err(PageError::NotFound),
        Err(other) => Err(other.into()),
    }
}

/// The member's connection, or the page's 404.
async fn shown_connection(
    dashboard: &Dashboard,
    signed: &Signed,
    staff_id: StaffId,
    connection_id: ConnectionId,
) -> Result<(StaffMember, CalendarConnection), PageError> {
    let member = crate::app::get_staff_member(&dashboard.app, &signed.business, staff_id).await?;
    let connection =
        member_integrations::member_connections(&dashboard.app, &signed.business, staff_id)
            .await?
            .into_iter()
            .map(|(connection, _)| connection)
            .find(|connection| connection.id == connection_id)
            .ok_or(PageError::NotFound)?;
    Ok((member, connection))
}

async fn confirm_disconnect(
    State(dashboard): State<Dashboard>,
    Path((staff_id, connection_id)): Path<(StaffId, ConnectionId)>,
    signed: Signed,
) -> PageResult {
    let (member, connection) =
        shown_connection(&dashboard, &signed, staff_id, connection_id).await?;
    let name = member.settings.name.as_ref();
    let calendar = members_calendar(
        name,
        &dashboard.app.registry.display_name(connection.provider),
    );
    let body = html! {
        p { "Disconnecting " (calendar) " (" (connection.account) "):" }
        ul {
            li { "stops writing " (name) "'s appointments to it;" }
            li { "stops reading its events, so they no longer block " (name) "'s time;" }
            li { "deletes our access to the account (and revokes it where the provider allows);" }
            li { "keeps the events already written in the calendar." }
        }
        form method="post" action={ "/dashboard/integrations/staff/" (staff_id) "/" (connection_id) "/disconnect" } class="inline" {
            (csrf_field(&signed.session.csrf_token))
            button type="submit" class="danger" { "Disconnect " (calendar) }
        }
        " "
        a class="button" href={ "/dashboard/integrations#" (anchor(staff_id)) } { "Keep it connected" }
    };
    Ok(page(
        &signed.viewer(),
        Nav::Integrations,
        &format!("Disconnect {calendar}?"),
        None,
        body,
    )
    .into_response())
}

async fn disconnect(
    State(dashboard): State<Dashboard>,
    Path((staff_id, connection_id)): Path<(StaffId, ConnectionId)>,
    SignedForm { signed_in, .. }: SignedForm<Empty>,
) -> PageResult {
    let business = signed_in.business;
    match member_integrations::disconnect_member_connection(
        &dashboard.app,
        &business,
        staff_id,
        connection_id,
    )
    .await
    {
        Ok(()) => Ok(see_other("/dashboard/integrations?notice=disconnected")),
        Err(AppError::CalendarNotConnected) => Err(PageError::NotFound),
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reads_every_checked_calendar_and_an_empty_written_one_as_none() {
        let field = |name: &str, value: &str| (name.to_owned(), value.to_owned());
        let chosen = choice_of(vec![
            field("csrf", "token"),
            field("checked", "work"),
            field("checked", "personal"),
            field("written", "work"),
        ]);
        assert_eq!(chosen.written.as_deref(), Some("work"));
        assert_eq!(chosen.checked, ["work", "personal"]);
        assert_eq!(
            choice_of(vec![field("written", "")]),
            CalendarChoice::default()
        );
    }
}
