//! The page shell every dashboard page shares: header, navigation, the banner for broken connections and failed
//! syncs, notices, and the small form helpers.

use maud::{DOCTYPE, Markup, html};

use super::assets::stylesheet_url;
use super::member_integrations::members_calendar;
use super::permissions::Access::{self, Needs, SignedIn};
use super::permissions::Permission::{
    ManageApiKeys, ManageAppointments, ManageIntegrations, ManageServices, SeeAppointments,
};
use super::permissions::{Permission, permits};
use crate::app::{self, App, AppError};
use crate::domain::{Business, StaffId, SyncStatus};
use crate::ports::{
    AppointmentQuery, AppointmentStore, CatalogStore, ConnectionHealth, ConnectionStore, StaffRole,
};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Appointments,
    Calendar,
    Book,
    Services,
    Staff,
    Integrations,
    VoiceAgent,
    Keys,
    Settings,
}

/// Each item with the access its page needs: a role sees only the pages it may use.
// One item a line, so the menu reads as a table; rustfmt would break each row into six lines.
#[rustfmt::skip]
const NAV: [(Nav, &str, &str, Access); 9] = [
    (Nav::Appointments, "/dashboard/appointments", "Appointments", Needs(SeeAppointments)),
    (Nav::Calendar, "/dashboard/calendar", "Calendar", Needs(SeeAppointments)),
    (Nav::Book, "/dashboard/book", "Book manually", Needs(ManageAppointments)),
    (Nav::Services, "/dashboard/services", "Services", Needs(ManageServices)),
    (Nav::Staff, "/dashboard/staff", "Staff", Needs(SeeAppointments)),
    (Nav::Integrations, "/dashboard/integrations", "Integrations", Needs(ManageIntegrations)),
    (Nav::VoiceAgent, "/dashboard/voice-agent", "Voice agent", Needs(ManageApiKeys)),
    (Nav::Keys, "/dashboard/api-keys", "API keys & team", Needs(ManageApiKeys)),
    (Nav::Settings, "/dashboard/settings", "Settings", SignedIn),
];

/// What needs the owner's attention on every page.
#[derive(Default)]
pub struct Banner {
    /// Every connection the provider no longer accepts, the first member's first.
    pub reconnect: Vec<Reconnect>,
    pub failed_syncs: usize,
}

/// A connection the provider no longer accepts.
pub struct Reconnect {
    /// Whose and which calendar, as the owner knows them: "Tom's Google Calendar".
    pub calendar: String,
    /// The member, named in the sentence about their appointments.
    pub member: String,
    pub reason: String,
    /// The connection's card on the integrations page.
    pub fix: String,
}

impl Banner {
    pub async fn load<S: AppointmentStore + ConnectionStore + CatalogStore + ?Sized>(
        app: &App<S>,
        business: &Business,
    ) -> Result<Self, AppError> {
        let first = StaffId::first_of(business.id);
        // One query on every page, as before members: the watches are not needed to say what is lost.
        let mut lost: Vec<_> = app
            .store
            .calendar_connections(business.id)
            .await?
            .into_iter()
            .filter_map(|connection| match &connection.health {
                ConnectionHealth::ReauthRequired { reason } => Some((reason.clone(), connection)),
                _ => None,
            })
            .collect();
        lost.sort_by_key(|(_, connection)| (connection.staff_id != first, connection.connected_at));
        // The members' names are read only when there is something to say.
        let members = if lost.is_empty() {
            Vec::new()
        } else {
            app::list_staff(app, business).await?
        };
        let reconnect = lost
            .into_iter()
            .map(|(reason, connection)| {
                let member = members
                    .iter()
                    .find(|member| member.id == connection.staff_id)
                    .map_or_else(
                        || business.name.as_ref().to_owned(),
                        |m| m.settings.name.as_ref().to_owned(),
                    );
                let fix = if connection.staff_id == first {
                    format!("/dashboard/integrations#{}", connection.provider)
                } else {
                    format!("/dashboard/integrations#connection-{}", connection.id)
                };
                Reconnect {
                    calendar: members_calendar(
                        &member,
                        &app.registry.display_name(connection.provider),
                    ),
                    member,
                    reason,
                    fix,
                }
            })
            .collect();
        Ok(Self {
            reconnect,
            failed_syncs: count_failed(app, business).await?,
        })
    }
}

/// How many of the business's appointments failed to sync.
pub async fn count_failed<S: AppointmentStore + ?Sized>(
    app: &App<S>,
    business: &Business,
) -> Result<usize, AppError> {
    let mut query = AppointmentQuery {
        sync_status: Some(SyncStatus::Failed),
        ..AppointmentQuery::every(business.id)
    };
    let mut count = 0;
    loop {
        let page = app::list_appointments(app, &query).await?;
        count += page.items.len();
        match page.next {
            Some(next) => query.after = Some(next),
            None => return Ok(count),
        }
    }
}

/// A provider's reason as a sentence: capitalised.
pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// Who is looking, for the shell.
pub struct Viewer<'a> {
    pub business: &'a Business,
    pub email: &'a str,
    pub role: StaffRole,
    pub csrf: &'a str,
    pub banner: &'a Banner,
}

pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Dashboard" }
            link rel="stylesheet" href=(stylesheet_url());
        }
    }
}

/// The banner's fixes link to the integrations page only for someone who may use it; staff are told whom to ask.
fn banner(banner: &Banner, role: StaffRole) -> Markup {
    let may_fix = permits(role, Permission::ManageIntegrations);
    html! {
        @for Reconnect { calendar, member, reason, fix } in &banner.reconnect {
            div class="banner bad" role="alert" {
                p {
                    strong { (app::needs_reconnecting(calendar, reason)) "." }
                    " Until then, " (member) "'s appointments are not written to it."
                }
                @if may_fix {
                    a class="button primary" href=(fix) { "Reconnect " (calendar) }
                } @else {
                    p { "Ask the business's owner to reconnect it." }
                }
            }
        }
        @if banner.failed_syncs > 0 {
            div class="banner warn" role="status" {
                p {
                    strong { (banner.failed_syncs) @if banner.failed_syncs == 1 { " appointment" } @else { " appointments" } " failed to reach your calendar." }
                    " If syncs keep failing, check that your calendar integration is still connected."
                }
                a class="button" href="/dashboard/appointments?sync=failed" { "See failed syncs" }
                @if may_fix {
                    " "
                    a class="button" href="/dashboard/integrations" { "Check integrations" }
                }
            }
        }
    }
}

/// A page of the signed-in dashboard.
pub fn page(
    viewer: &Viewer<'_>,
    current: Nav,
    title: &str,
    notice: Option<&str>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a class="skip" href="#main" { "Skip to content" }
                header class="top" {
                    div class="brand" {
                        strong { (viewer.business.name.as_ref()) }
                        span class="zone" { "Times in " (viewer.business.time_zone.name()) }
                    }
                    nav aria-label="Dashboard" {
                        ul {
                            @for (item, href, label, access) in NAV {
                                @if access.allows(viewer.role) { li {
                                    @if item == current {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                } }
                            }
                        }
                    }
                    form method="post" action="/dashboard/sign-out" class="signout" {
                        (csrf_field(viewer.csrf))
                        span class="who" { (viewer.email) }
                        button type="submit" { "Sign out" }
                    }
                }
                main id="main" {
                    (banner(viewer.banner, viewer.role))
                    h1 { (title) }
                    @if let Some(notice) = notice {
                        div class="notice" role="status" { p { (notice) } }
                    }
                    (body)
                }
            }
        }
    }
}

/// A page outside the signed-in area (sign-in, set password, errors).
pub fn bare_page(title: &str, message: &str) -> Markup {
    bare(
        title,
        html! { p { (message) } p { a href="/dashboard" { "Back to the dashboard" } } },
    )
}

pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body class="narrow" {
                main id="main" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The GOV.UK pattern: a summary at the top linking to each field at fault, the message again beside the field.
pub fn error_summary(errors: &[(&'static str, String)]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="error-summary" role="alert" tabindex="-1" {
                h2 { "There is a problem" }
                ul {
                    @for (field, message) in errors {
                        li { a href={ "#" (field) } { (message) } }
                    }
                }
            }
        }
    }
}

pub fn field_error(errors: &[(&'static str, String)], field: &str) -> Markup {
    html! {
        @for (name, message) in errors {
            @if *name == field {
                p class="field-error" id={ (field) "-error" } { span class="visually-hidden" { "Error: " } (message) }
            }
        }
    }
}

pub fn has_error(errors: &[(&'static str, String)], field: &str) -> bool {
    errors.iter().any(|(name, _)| *name == field)
}
