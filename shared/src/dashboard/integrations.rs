//! Integrations: a part per staff member. The first member's (the business's calendar before members) is a card per
//! calendar provider; Connect (the OAuth flow, back to a calendar picker), the health of a connection in words and
//! colour, Reconnect, Disconnect with a confirmation. Every other member's part, and every connection's choice of
//! calendars, is in `member_integrations`.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::{Signed, SignedForm};
use super::format::when;
use super::layout::{Nav, csrf_field, page};
use super::member_integrations::{
    ShownConnection, anchor, choice_form, connection_card, member_section, with_calendars,
};
use super::{Dashboard, PageError, PageResult, see_other};
use crate::app::integrations::{self, ConnectedAccount};
use crate::app::{AppError, ConnectFailure, connect_not_finished, list_staff, needs_reconnecting};
use crate::domain::{ConnectionId, StaffId};
use crate::ports::{CalendarConnection, CalendarWatch, ConnectionHealth, ProviderKind};

pub fn routes() -> Router<Dashboard> {
    Router::new()
        .route("/integrations", get(integrations_page))
        .route(
            "/integrations/{provider}/connect",
            axum::routing::post(connect),
        )
        .route(
            "/integrations/{provider}/calendar",
            get(calendar_picker).post(choose_calendar),
        )
        .route(
            "/integrations/{provider}/disconnect",
            get(confirm_disconnect).post(disconnect),
        )
        .merge(super::member_integrations::routes())
}

/// Where the provider's redirect sends the browser when connecting from the dashboard did not finish: back to
/// this page, which says why.
pub fn connect_failed_location(provider: ProviderKind, why: ConnectFailure) -> String {
    format!("/dashboard/integrations?failed={provider}&why={why}")
}

/// Where the provider's redirect sends the browser once connected from the dashboard: the first member's first
/// connection on to the calendar picker (as before members); any other connection to its member's part of this page
/// (the first member's further accounts: to the account's card), to choose its calendars there.
pub fn calendar_picker_location(provider: ProviderKind, connected: &ConnectedAccount) -> String {
    let business_id = connected.business_id;
    if connected.connection_id == ConnectionId::of_first_connection(business_id) {
        format!("/dashboard/integrations/{provider}/calendar")
    } else if connected.staff_id == StaffId::first_of(business_id) {
        format!(
            "/dashboard/integrations?notice=connected#connection-{}",
            connected.connection_id
        )
    } else {
        format!(
            "/dashboard/integrations?notice=connected#{}",
            anchor(connected.staff_id)
        )
    }
}

/// Whether this server holds credentials for `kind`, so that connecting it can start.
pub fn configured(dashboard: &Dashboard, kind: ProviderKind) -> bool {
    dashboard
        .app
        .integrations
        .as_ref()
        .is_some_and(|integrations| integrations.provider(kind).is_ok())
}

#[derive(Deserialize, Default)]
struct Notice {
    notice: Option<String>,
    /// Set by the OAuth callback when connecting from here did not finish.
    failed: Option<ProviderKind>,
    why: Option<ConnectFailure>,
}

fn notice_text(code: Option<&str>) -> Option<String> {
    match code? {
        "disconnected" => {
            Some("Disconnected. Events already written stay in your calendar.".to_owned())
        }
        "selected" => Some("Calendar chosen. Your appointments are on their way to it.".to_owned()),
        "connected" => Some("Connected. Choose the calendars below.".to_owned()),
        "chosen" => Some(
            "Calendars saved. Appointments are on their way to the calendar that receives them."
                .to_owned(),
        ),
        _ => None,
    }
}

fn health(connection: &CalendarConnection, name: &str) -> Markup {
    match &connection.health {
        ConnectionHealth::Connected => html! { span class="badge ok" { "Connected" } },
        ConnectionHealth::ReauthRequired { reason } => html! {
            span class="badge bad" { "Reconnect needed" }
            p class="reason" { (needs_reconnecting(name, reason)) ". Reconnect to fix it." }
        },
        ConnectionHealth::Error { message } => html! {
            span class="badge warn" { "Error" }
            p class="reason" { (super::layout::sentence(message)) " We keep retrying." }
        },
    }
}

fn connect_button(csrf: &str, provider: ProviderKind, label: &str, primary: bool) -> Markup {
    html! {
        form method="post" action={ "/dashboard/integrations/" (provider) "/connect" } class="inline" {
            (csrf_field(csrf))
            button type="submit" class=[primary.then_some("primary")] { (label) }
        }
    }
}

fn card(
    csrf: &str,
    provider: ProviderKind,
    name: &str,
    connection: Option<&(CalendarConnection, Option<CalendarWatch>)>,
    zone: &jiff::tz::TimeZone,
    configured: bool,
    choice: Option<Markup>,
) -> Markup {
    let never = || "never".to_owned();
    html! {
        section class="card" id=(provider) aria-labelledby={ (provider) "-title" } {
            h3 id={ (provider) "-title" } { (name) }
            @match connection {
                None => {
                    p { "Not connected. Connect to write every appointment into your calendar and to keep the times of your own events free of bookings." }
                    @if configured {
                        (connect_button(csrf, provider, &format!("Connect {name}"), true))
                    } @else {
                        p class="reason" { "This server has no credentials for " (name) "; ask whoever runs it to configure them." }
                    }
                }
                Some((connection, watch)) => {
                    (health(connection, name))
                    // Choosing a calendar lists the account's calendars, which a grant the provider no longer
                    // accepts cannot do: while reconnecting is the fix, only Reconnect and Disconnect are offered.
                    @let reauth = matches!(connection.health, ConnectionHealth::ReauthRequired { .. });
                    dl class="facts" {
                        dt { "Account" } dd { (connection.account) }
                        dt { "Calendar" } dd {
                            @match &connection.calendar_id {
                                Some(id) => (id),
                                None if reauth => { "none chosen yet; reconnect first" }
                                None => { "none chosen yet — " a href={ "/dashboard/integrations/" (provider) "/calendar" } { "choose one" } }
                            }
                        }
                        dt { "Last write to the calendar" } dd { (connection.last_synced_at.map_or_else(never, |at| when(at, zone))) }
                        dt { "Events last read" } dd { (watch.as_ref().and_then(|w| w.synced_at).map_or_else(never, |at| when(at, zone))) }
                        dt { "Change notifications lapse" } dd {
                            (watch.as_ref().and_then(|w| w.channel.as_ref()).map_or_else(|| "not set up".to_owned(), |c| format!("{} unless renewed (we renew a day ahead)", when(c.expires_at, zone))))
                        }
                    }
                    @if let Some(choice) = choice {
                        (choice)
                    }
                    div class="actions" {
                        (connect_button(csrf, provider, &format!("Reconnect {name}"), reauth))
                        @if !reauth {
                            a class="button" href={ "/dashboard/integrations/" (provider) "/calendar" } { "Change calendar" }
                        }
                        a class="button danger" href={ "/dashboard/integrations/" (provider) "/disconnect" } { "Disconnect" }
                    }
                }
            }
        }
    }
}

async fn integrations_page(
    State(dashboard): State<Dashboard>,
    signed: Signed,
    Query(notice): Query<Notice>,
) -> PageResult {
    let business = &signed.business;
    let first = StaffId::first_of(business.id);
    let (connection, connections, members) = tokio::try_join!(
        integrations::get_connection(&dashboard.app, business),
        integrations::list_connections(&dashboard.app, business),
        list_staff(&dashboard.app, business),
    )?;
    let shown = with_calendars(&dashboard, business, connections).await;
    let zone = business.time_zone.zone();
    let csrf = &signed.session.csrf_token;
    let configured = |kind| configured(&dashboard, kind);
    let other_connected = |kind: ProviderKind| {
        connection
            .as_ref()
            .is_some_and(|(connection, _)| connection.provider != kind)
    };
    // The first member's calendars were the business's before members: their cards stay as they were, each with
    // the choice form of its connection; every other active member gets their own part.
    let first_member = members.iter().find(|member| member.id == first);
    let choice_of_first = |kind: ProviderKind| {
        let (connection, _) = connection.as_ref().filter(|(c, _)| c.provider == kind)?;
        let member = first_member?;
        let calendars = shown
            .iter()
            .find(|shown| shown.connection.id == connection.id)?
            .calendars
            .as_deref()?;
        Some(choice_form(csrf, member, connection, calendars))
    };
    // The first member's accounts beyond the one the business-level routes act on (and its cards show).
    let leading = connection.as_ref().map(|(c, _)| c.id);
    let further: Vec<&ShownConnection> = shown
        .iter()
        .filter(|s| s.connection.staff_id == first && Some(s.connection.id) != leading)
        .collect();
    let body = html! {
        p { "Each staff member connects their own calendars. For each account, tick the calendars whose events block that person's time, and choose the one their appointments are written to." }
        section class="member" id=(anchor(first)) aria-labelledby={ (anchor(first)) "-title" } {
            h2 id={ (anchor(first)) "-title" } { (first_member.map_or(business.name.as_ref(), |m| m.settings.name.as_ref())) }
            div class="cards" {
                @for profile in dashboard.app.registry.iter() {
                    @let (kind, name) = (profile.kind, profile.display_name);
                    @let mine = connection.as_ref().filter(|(c, _)| c.provider == kind);
                    @if !other_connected(kind) {
                        (card(csrf, kind, name, mine, zone, configured(kind), choice_of_first(kind)))
                    } @else if !further.iter().any(|s| s.connection.provider == kind) {
                        section class="card" id=(kind) aria-labelledby={ (kind) "-title" } {
                            h3 id={ (kind) "-title" } { (name) }
                            p { "Not connected. Connecting it adds this account beside the one connected now." }
                            @if configured(kind) {
                                (connect_button(csrf, kind, &format!("Connect {name}"), false))
                            }
                        }
                    }
                }
                @if let Some(member) = first_member {
                    @for shown in &further {
                        (connection_card(csrf, member, shown, &dashboard.app.registry.display_name(shown.connection.provider), zone))
                    }
                }
            }
        }
        @for member in members.iter().filter(|member| member.active && member.id != first) {
            @let theirs: Vec<&ShownConnection> = shown.iter().filter(|s| s.connection.staff_id == member.id).collect();
            (member_section(&dashboard, csrf, member, &theirs, zone))
        }
    };
    let failure = notice
        .failed
        .and_then(|provider| dashboard.app.registry.get(provider))
        .map(|profile| {
            connect_not_finished(
                profile.display_name,
                notice.why.unwrap_or(ConnectFailure::Failed),
            )
        });
    let body = html! {
        @if let Some(failure) = &failure {
            div class="error-summary" role="alert" { p { (failure) } }
        }
        (body)
    };
    let notice = notice_text(notice.notice.as_deref());
    Ok(page(
        &signed.viewer(),
        Nav::Integrations,
        "Integrations",
        notice.as_deref(),
        body,
    )
    .into_response())
}

async fn connect(
    State(dashboard): State<Dashboard>,
    Path(provider): Path<ProviderKind>,
    SignedForm { signed_in, .. }: SignedForm<Empty>,
) -> PageResult {
    let business = signed_in.business;
    let staff_id = StaffId::first_of(business.id);
    let url =
        integrations::start_connect(&dashboard.app, &business, staff_id, provider, true).await?;
    Ok(see_other(&url))
}

#[derive(Deserialize)]
struct Empty {}

async fn calendar_picker(
    State(dashboard): State<Dashboard>,
    Path(provider): Path<ProviderKind>,
    signed: Signed,
) -> PageResult {
    let name = dashboard.app.registry.display_name(provider);
    let connection = integrations::get_connection(&dashboard.app, &signed.business)
        .await?
        .map(|(connection, _)| connection)
        .filter(|connection| connection.provider == provider)
        .ok_or(PageError::NotFound)?;
    let mut calendars =
        integrations::list_calendars(&dashboard.app, &signed.business, provider).await?;
    calendars
        .sort_by_key(|calendar| (!calendar.primary, !calendar.writable, calendar.name.clone()));
    let current = connection.calendar_id.clone();
    let body = html! {
        p { "Signed in to " (name) " as " strong { (connection.account) } ". Choose the calendar your appointments go to; its events will block those times." }
        @if current.is_some() {
            p class="reason" { "Choosing another calendar moves the events of your upcoming appointments to it." }
        }
        form method="post" action={ "/dashboard/integrations/" (provider) "/calendar" } class="stack" {
            (csrf_field(&signed.session.csrf_token))
            fieldset {
                legend { "Calendar" }
                @for (index, calendar) in calendars.iter().enumerate() {
                    @let id = format!("calendar-{index}");
                    @let checked = current.as_deref().map_or(index == 0, |current| current == calendar.id);
                    div class="choice" {
                        input type="radio" name="calendar_id" id=(id) value=(calendar.id) checked[checked] disabled[!calendar.writable];
                        label for=(id) {
                            (calendar.name)
                            @if calendar.primary { " (primary)" }
                            @if !calendar.writable { " — read-only, cannot be chosen" }
                        }
                    }
                }
            }
            button type="submit" class="primary" { "Use this calendar" }
            " "
            a class="button" href="/dashboard/integrations" { "Back to integrations" }
        }
    };
    Ok(page(
        &signed.viewer(),
        Nav::Integrations,
        &format!("Choose a {name}"),
        None,
        body,
    )
    .into_response())
}

#[derive(Deserialize)]
struct CalendarChoice {
    #[serde(default)]
    calendar_id: String,
}

async fn choose_calendar(
    State(dashboard): State<Dashboard>,
    Path(provider): Path<ProviderKind>,
    SignedForm { signed_in, form }: SignedForm<CalendarChoice>,
) -> PageResult {
    let business = signed_in.business;
    match integrations::select_calendar(&dashboard.app, &business, provider, &form.calendar_id)
        .await
    {
        Ok((_, _)) => Ok(see_other("/dashboard/integrations?notice=selected")),
        Err(AppError::CalendarNotConnected) => Err(PageError::NotFound),
        Err(other) => Err(other.into()),
    }
}

async fn confirm_disconnect(
    State(dashboard): State<Dashboard>,
    Path(provider): Path<ProviderKind>,
    signed: Signed,
) -> PageResult {
    let name = dashboard.app.registry.display_name(provider);
    integrations::get_connection(&dashboard.app, &signed.business)
        .await?
        .filter(|(connection, _)| connection.provider == provider)
        .ok_or(PageError::NotFound)?;
    let body = html! {
        p { "Disconnecting " (name) ":" }
        ul {
            li { "stops writing appointments to it; new and changed appointments show “Not connected”;" }
            li { "stops reading its events, so they no longer block times here;" }
            li { "deletes our access to the account (and revokes it where the provider allows);" }
            li { "keeps the events already written in your calendar." }
        }
        form method="post" action={ "/dashboard/integrations/" (provider) "/disconnect" } class="inline" {
            (csrf_field(&signed.session.csrf_token))
            button type="submit" class="danger" { "Disconnect " (name) }
        }
        " "
        a class="button" href="/dashboard/integrations" { "Keep it connected" }
    };
    Ok(page(
        &signed.viewer(),
        Nav::Integrations,
        &format!("Disconnect {name}?"),
        None,
        body,
    )
    .into_response())
}

async fn disconnect(
    State(dashboard): State<Dashboard>,
    Path(provider): Path<ProviderKind>,
    SignedForm { signed_in, .. }: SignedForm<Empty>,
) -> PageResult {
    let business = signed_in.business;
    match integrations::disconnect(&dashboard.app, &business, provider).await {
        Ok(()) => Ok(see_other("/dashboard/integrations?notice=disconnected")),
        Err(AppError::CalendarNotConnected) => Err(PageError::NotFound),
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BusinessId;

    fn connected(
        business_id: BusinessId,
        staff_id: StaffId,
        connection_id: ConnectionId,
    ) -> ConnectedAccount {
        ConnectedAccount {
            business_id,
            staff_id,
            connection_id,
            provider: ProviderKind::MICROSOFT,
            account: "someone@example.com".to_owned(),
            calendars: Vec::new(),
            selected_calendar_id: None,
            requeued: 0,
            from_dashboard: true,
        }
    }

    /// The first member's first account goes on to the calendar picker its card links to; their further accounts,
    /// which that picker does not show, and any other member's go back to the card where their calendars are chosen.
    #[test]
    fn a_connection_made_from_the_dashboard_lands_where_its_calendars_are_chosen() {
        let business = BusinessId::generate();
        let first = StaffId::first_of(business);
        let further = ConnectionId::generate();
        let tom = StaffId::generate();
        let location = |staff, connection| {
            calendar_picker_location(
                ProviderKind::MICROSOFT,
                &connected(business, staff, connection),
            )
        };
        assert_eq!(
            location(first, ConnectionId::of_first_connection(business)),
            "/dashboard/integrations/microsoft/calendar"
        );
        assert_eq!(
            location(first, further),
            format!("/dashboard/integrations?notice=connected#connection-{further}")
        );
        assert_eq!(
            location(tom, ConnectionId::generate()),
            format!("/dashboard/integrations?notice=connected#staff-{tom}")
        );
    }
}
