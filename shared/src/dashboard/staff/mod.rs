//! Staff: the people or resources (a room, a van) customers are booked with. The list, adding a member, each
//! member's page (name, the services they perform, their weekly hours, time off and special hours, their most per
//! day), deactivating one (saying what becomes of their appointments ahead), and who is booked when the caller does
//! not mind (the business's assignment policy). Everyone signed in may read; only those who run the business
//! ([`Permission::ManageBusiness`]) change anything.
//!
//! Every form is read into the same typed values the REST API uses ([`StaffSettings::validated`], [`StaffChanges`],
//! [`FutureAppointments`], [`SettingsChanges`]), and a member's forms carry the version they were filled in from, so
//! a change saved meanwhile by someone else is not overwritten.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::{Signed, SignedForm};
use super::hours::{Errors, open_days};
use super::layout::{Nav, csrf_field, error_summary, field_error, has_error};
use super::permissions::{Permission, permits};
use super::{Dashboard, PageError, PageResult, see_other};
use crate::app::accounts::SignedIn;
use crate::app::{self, AppError, SettingsChanges};
use crate::domain::{
    AssignmentPolicy, Service, StaffId, StaffMember, StaffName, StaffServices, StaffSettings,
};
use crate::ports::StaffRole;

mod member;

pub fn routes() -> Router<Dashboard> {
    Router::new()
        .route("/staff", get(list_page).post(add))
        .route("/staff/assignment", post(choose_assignment))
        .merge(member::routes())
}

/// The longest date range one time-off form adds: a year, so a typo in the year does not fill the list.
const LONGEST_TIME_OFF_DAYS: usize = 366;

#[derive(Deserialize, Default)]
struct Notice {
    notice: Option<String>,
}

fn may_change(role: StaffRole) -> bool {
    permits(role, Permission::ManageBusiness)
}

/// "All services", or the names of those they perform.
fn services_text(member: &StaffMember, services: &[Service]) -> String {
    match &member.settings.services {
        StaffServices::All => "All services".to_owned(),
        StaffServices::Only(ids) => {
            let names: Vec<&str> = services
                .iter()
                .filter(|service| ids.contains(&service.id))
                .map(|service| service.settings.name.as_ref())
                .collect();
            if names.is_empty() {
                "None".to_owned()
            } else {
                names.join(", ")
            }
        }
    }
}

fn hours_text(member: &StaffMember) -> String {
    match &member.settings.weekly_hours {
        None => "Whenever the service is open".to_owned(),
        Some(hours) => open_days(hours),
    }
}

fn limit_text(member: &StaffMember) -> String {
    member
        .settings
        .max_per_day
        .map_or_else(|| "No limit".to_owned(), |limit| limit.to_string())
}

// ---------------------------------------------------------------------------------------------------------------
// The list, adding a member, the assignment policy

#[derive(Deserialize, Default)]
struct AddFields {
    #[serde(default)]
    name: String,
}

/// The assignment form as typed: `policy` is `balanced` or `priority`; `position-{staff id}` each member's place.
#[derive(Deserialize, Default)]
struct AssignmentFields {
    #[serde(default)]
    policy: String,
    #[serde(flatten)]
    positions: BTreeMap<String, String>,
}

async fn render_list(
    dashboard: &Dashboard,
    signed: &Signed,
    errors: &Errors,
    typed_name: &str,
) -> Result<Markup, PageError> {
    let business = &signed.business;
    let staff = app::list_staff(&dashboard.app, business).await?;
    let services = app::list_services(&dashboard.app, business).await?;
    let owner = may_change(signed.role);
    let csrf = &signed.session.csrf_token;
    let active: Vec<&StaffMember> = staff.iter().filter(|member| member.active).collect();
    let assignment = if owner && active.len() > 1 {
        Some(
            app::get_business_settings(&dashboard.app, business)
                .await?
                .assignment,
        )
    } else {
        None
    };
    Ok(html! {
        (error_summary(errors))
        p class="hint" { "The people (or rooms, vans) customers are booked with, each with their own hours, time off and services. A time is offered with someone when it lies within both the service's hours and theirs." }
        div class="table-wrap" {
            table {
                caption class="visually-hidden" { "Staff members" }
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "State" } th scope="col" { "Services" }
                    th scope="col" { "Hours" } th scope="col" { "Most per day" }
                } }
                tbody {
                    @for member in &staff {
                        tr {
                            td { a href={ "/dashboard/staff/" (member.id) } { (member.settings.name.as_ref()) } }
                            td {
                                @if member.active { span class="badge ok" { "Active" } }
                                @else { span class="badge off" { "Inactive" } }
                            }
                            td { (services_text(member, &services)) }
                            td {
                                (hours_text(member))
                                @if !member.settings.date_overrides.is_empty() {
                                    br;
                                    span class="muted" { (member.settings.date_overrides.len()) " dates of time off or special hours" }
                                }
                            }
                            td { (limit_text(member)) }
                        }
                    }
                }
            }
        }
        @if owner {
            section class="card" aria-labelledby="add-title" {
                h2 id="add-title" { "Add a staff member" }
                form method="post" action="/dashboard/staff" class="filters" novalidate {
                    (csrf_field(csrf))
                    div class="field grow" {
                        label for="name" { "Name, as callers say it" }
                        (field_error(errors, "name"))
                        input id="name" name="name" required value=(typed_name) placeholder="Dr. Patel"
                            aria-invalid=[has_error(errors, "name").then_some("true")];
                    }
                    button type="submit" class="primary" { "Add member" }
                }
                p class="hint" { "They start with every service, whenever the service is open; set their hours and services on their page." }
            }
        }
        @if let Some(policy) = &assignment {
            (assignment_form(csrf, policy, &active, errors))
        }
    })
}

fn assignment_form(
    csrf: &str,
    policy: &AssignmentPolicy,
    active: &[&StaffMember],
    errors: &Errors,
) -> Markup {
    let order: &[StaffId] = match policy {
        AssignmentPolicy::Priority(order) => order,
        AssignmentPolicy::Balanced => &[],
    };
    let position = |id: StaffId| {
        order
            .iter()
            .position(|listed| *listed == id)
            .map(|index| (index + 1).to_string())
            .unwrap_or_default()
    };
    let balanced = matches!(policy, AssignmentPolicy::Balanced);
    html! {
        section class="card" aria-labelledby="assignment-title" {
            h2 id="assignment-title" { "When the caller does not mind who" }
            form method="post" action="/dashboard/staff/assignment" class="stack" novalidate {
                (csrf_field(csrf))
                fieldset {
                    legend { "Who is booked" }
                    (field_error(errors, "policy"))
                    div class="choice" {
                        input type="radio" id="policy-balanced" name="policy" value="balanced" checked[balanced];
                        label for="policy-balanced" { "Balanced: whoever free has the fewest appointments that day (ties: who was booked least recently)" }
                    }
                    div class="choice" {
                        input type="radio" id="policy-priority" name="policy" value="priority" checked[!balanced];
                        label for="policy-priority" { "In order: the first free member by the positions below" }
                    }
                }
                fieldset {
                    legend { "Order, when booking in order" }
                    p class="hint" { "1 is asked first. Members left empty come after those numbered." }
                    div class="grid" {
                        @for member in active {
                            @let id = format!("position-{}", member.id);
                            div class="field" {
                                label for=(id) { (member.settings.name.as_ref()) }
                                input id=(id) name=(id) type="number" min="1" inputmode="numeric" value=(position(member.id));
                            }
                        }
                    }
                }
                button type="submit" { "Save who is booked" }
            }
        }
    }
}

async fn list_page(
    State(dashboard): State<Dashboard>,
    signed: Signed,
    Query(notice): Query<Notice>,
) -> PageResult {
    let body = render_list(&dashboard, &signed, &Errors::new(), "").await?;
    let notice = match notice.notice.as_deref() {
        Some("assignment") => Some("Saved: who is booked when the caller does not mind."),
        _ => None,
    };
    signed.page(Nav::Staff, "Staff", notice, body)
}

async fn list_refused(
    dashboard: &Dashboard,
    signed_in: SignedIn,
    errors: &Errors,
    typed_name: &str,
) -> PageResult {
    let signed = Signed::load(&dashboard.app, signed_in).await?;
    let body = render_list(dashboard, &signed, errors, typed_name).await?;
    signed.page_with_status(StatusCode::UNPROCESSABLE_ENTITY, Nav::Staff, "Staff", body)
}

async fn add(
    State(dashboard): State<Dashboard>,
    SignedForm { signed_in, form }: SignedForm<AddFields>,
) -> PageResult {
    let created = match StaffName::try_from(form.name.clone()) {
        Ok(name) => {
            app::create_staff_member(
                &dashboard.app,
                &signed_in.business,
                StaffSettings::first_member(name),
            )
            .await
        }
        Err(error) => Err(error.into()),
    };
    match created {
        Ok(member) => Ok(see_other(&format!(
            "/dashboard/staff/{}?notice=added",
            member.id
        ))),
        Err(AppError::Validation(error)) => {
            let errors = vec![("name", format!("Name: {}", error.message))];
            list_refused(&dashboard, signed_in, &errors, &form.name).await
        }
        Err(other) => Err(other.into()),
    }
}

/// The policy the form chose, or why not.
fn assignment_policy(
    fields: &AssignmentFields,
    active: &[StaffMember],
) -> Result<AssignmentPolicy, String> {
    match fields.policy.as_str() {
        "balanced" => Ok(AssignmentPolicy::Balanced),
        "priority" => {
            let mut placed = Vec::new();
            for member in active {
                let typed = fields
                    .positions
                    .get(&format!("position-{}", member.id))
                    .map_or("", |text| text.trim());
                if typed.is_empty() {
                    continue;
                }
                let position: u32 = typed.parse().map_err(|_| {
                    format!(
                        "Order: {}'s position must be a whole number, 1 first",
                        member.settings.name.as_ref()
                    )
                })?;
                placed.push((position, member.id));
            }
            if placed.is_empty() {
                return Err("Order: give at least one member a position, 1 first".to_owned());
            }
            placed.sort();
            Ok(AssignmentPolicy::Priority(
                placed.into_iter().map(|(_, id)| id).collect(),
            ))
        }
        _ => Err("Who is booked: choose balanced or in order".to_owned()),
    }
}

async fn choose_assignment(
    State(dashboard): State<Dashboard>,
    SignedForm { signed_in, form }: SignedForm<AssignmentFields>,
) -> PageResult {
    let active: Vec<StaffMember> = app::list_staff(&dashboard.app, &signed_in.business)
        .await?
        .into_iter()
        .filter(|member| member.active)
        .collect();
    match assignment_policy(&form, &active) {
        Ok(policy) => {
            let changes = SettingsChanges {
                assignment: Some(policy),
                ..SettingsChanges::default()
            };
            app::update_business_settings(&dashboard.app, &signed_in.business, &changes).await?;
            Ok(see_other("/dashboard/staff?notice=assignment"))
        }
        Err(message) => {
            let errors = vec![("policy", message)];
            list_refused(&dashboard, signed_in, &errors, "").await
        }
    }
}
