//! A staff member's own page: their name, the services they perform, their weekly hours, time off and special
//! hours, their most per day; deactivating them (saying what becomes of their appointments ahead) and making them
//! bookable again; and emailing them a link that connects their own calendar (`app::connect_links`).

use std::collections::{BTreeMap, BTreeSet};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use jiff::civil::Date;
use maud::{Markup, html};
use serde::Deserialize;

use crate::app::accounts::SignedIn;
use crate::app::connect_links::{CONNECT_LINK_LIFETIME, send_connect_link as send_link};
use crate::app::{self, AppError, FutureAppointments, StaffChanges};
use crate::dashboard::auth::{NoFields, Signed, SignedForm};
use crate::dashboard::format::{self, when};
use crate::dashboard::hours::{Errors, WeekFields, parse_ranges, ranges_text, week_fieldset};
use crate::dashboard::layout::{Nav, csrf_field, error_summary, field_error, has_error, sentence};
use crate::dashboard::permissions::{Permission, permits};
use crate::dashboard::{Dashboard, PageError, PageResult, see_other};
use crate::domain::{
    DateOverride, Service, ServiceId, StaffId, StaffMember, StaffName, StaffServices, StaffSettings,
};

use super::{LONGEST_TIME_OFF_DAYS, Notice, hours_text, limit_text, may_change, services_text};

pub(super) fn routes() -> Router<Dashboard> {
    Router::new()
        .route("/staff/{id}", get(member_page).post(save))
        .route("/staff/{id}/time-off", post(add_time_off))
        .route("/staff/{id}/time-off/remove", post(remove_time_off))
        .route("/staff/{id}/deactivate", post(deactivate))
        .route("/staff/{id}/reactivate", post(reactivate))
        .route("/staff/{id}/connect-link", post(send_connect_link))
}

/// The member form as typed. `services` is `all` or `chosen` (then the ticked `performs-{service id}`); `hours` is
/// `service` (whenever the service is open) or `own` (the weekly fields).
#[derive(Deserialize, Default, Clone)]
struct MemberFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    max_per_day: String,
    #[serde(default)]
    services: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    expected_version: String,
    #[serde(flatten)]
    week: WeekFields,
    #[serde(flatten)]
    ticked: BTreeMap<String, String>,
}

impl MemberFields {
    fn of(member: &StaffMember) -> Self {
        let settings = &member.settings;
        let ticked = match &settings.services {
            StaffServices::All => BTreeMap::new(),
            StaffServices::Only(ids) => ids
                .iter()
                .map(|id| (format!("performs-{id}"), "on".to_owned()))
                .collect(),
        };
        Self {
            name: settings.name.as_ref().to_owned(),
            max_per_day: settings
                .max_per_day
                .map(|limit| limit.to_string())
                .unwrap_or_default(),
            services: match settings.services {
                StaffServices::All => "all".to_owned(),
                StaffServices::Only(_) => "chosen".to_owned(),
            },
            hours: if settings.weekly_hours.is_some() {
                "own".to_owned()
            } else {
                "service".to_owned()
            },
            expected_version: member.version.to_string(),
            week: settings
                .weekly_hours
                .as_ref()
                .map_or_else(WeekFields::office_hours, WeekFields::of),
            ticked,
        }
    }

    fn performs(&self, service: ServiceId) -> bool {
        self.ticked.contains_key(&format!("performs-{service}"))
    }

    /// The change the form asks for, read into the settings REST reads (and checked by the same rules), or every
    /// problem with it.
    fn changes(&self, member: &StaffMember, services: &[Service]) -> Result<StaffChanges, Errors> {
        let mut errors = Errors::new();
        let name = StaffName::try_from(self.name.clone())
            .map_err(|error| errors.push(("name", format!("Name: {}", error.message))))
            .ok();
        let max_per_day = match self.max_per_day.trim() {
            "" => None,
            text => text
                .parse::<u32>()
                .map_err(|_| {
                    errors.push((
                        "max_per_day",
                        "Most per day: enter a whole number, or leave it empty for no limit"
                            .to_owned(),
                    ))
                })
                .ok(),
        };
        let performed = if self.services == "all" {
            StaffServices::All
        } else {
            StaffServices::Only(
                services
                    .iter()
                    .map(|service| service.id)
                    .filter(|id| self.performs(*id))
                    .collect::<BTreeSet<_>>(),
            )
        };
        let weekly_hours = (self.hours == "own").then(|| self.week.parse(&mut errors));
        let expected_version = self.expected_version.parse::<u64>().ok();
        let (Some(name), true) = (name, errors.is_empty()) else {
            return Err(errors);
        };
        let settings = StaffSettings {
            name,
            services: performed,
            weekly_hours,
            date_overrides: member.settings.date_overrides.clone(),
            max_per_day,
        }
        .validated()
        .map_err(|error| {
            let field = match error.field {
                "name" => "name",
                "max_per_day" => "max_per_day",
                _ => "monday",
            };
            vec![(field, sentence(&error.message))]
        })?;
        Ok(StaffChanges {
            name: Some(settings.name),
            services: Some(settings.services),
            weekly_hours: Some(settings.weekly_hours),
            max_per_day: Some(settings.max_per_day),
            expected_version,
            ..StaffChanges::default()
        })
    }
}

/// The time-off form as typed: a date, or a range of dates, closed or with special hours.
#[derive(Deserialize, Default, Clone)]
struct TimeOffFields {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    special_hours: String,
    #[serde(default)]
    expected_version: String,
}

/// What the member's page shows besides the member: their form as typed, its problems, and the choice a refused
/// deactivation asks for.
#[derive(Default)]
struct MemberView {
    fields: Option<MemberFields>,
    time_off: TimeOffFields,
    errors: Errors,
    /// The member's appointments ahead, when deactivating them was refused for those.
    ahead: Option<usize>,
    /// The address typed in the connect-link form.
    connect_email: String,
}

/// Consecutive dates with the same hours, shown (and removed) as one range.
fn grouped(overrides: &[DateOverride]) -> Vec<(Date, Date, String)> {
    let mut groups: Vec<(Date, Date, String)> = Vec::new();
    for date_override in overrides {
        let hours = ranges_text(&date_override.hours);
        match groups.last_mut() {
            Some((_, last, last_hours))
                if *last_hours == hours && last.tomorrow().ok() == Some(date_override.date) =>
            {
                *last = date_override.date;
            }
            _ => groups.push((date_override.date, date_override.date, hours)),
        }
    }
    groups
}

fn range_text(from: Date, to: Date) -> String {
    if from == to {
        format::day(from)
    } else {
        format!("{} to {}", format::day(from), format::day(to))
    }
}

async fn render_member(
    dashboard: &Dashboard,
    signed: &Signed,
    member: &StaffMember,
    view: MemberView,
) -> Result<Markup, PageError> {
    let services = app::list_services(&dashboard.app, &signed.business).await?;
    let errors = &view.errors;
    let owner = may_change(signed.role);
    let csrf = &signed.session.csrf_token;
    let fields = view.fields.unwrap_or_else(|| MemberFields::of(member));
    let action = format!("/dashboard/staff/{}", member.id);
    let version = member.version.to_string();
    let time_off = grouped(&member.settings.date_overrides);
    Ok(html! {
        (error_summary(errors))
        @if let Some(count) = view.ahead {
            section class="card" aria-labelledby="ahead-title" {
                h2 id="ahead-title" {
                    (member.settings.name.as_ref()) " has " (count)
                    @if count == 1 { " appointment ahead" } @else { " appointments ahead" }
                }
                p { "Say what becomes of them to deactivate " (member.settings.name.as_ref()) ". Nothing has changed yet." }
                form method="post" action={ (action) "/deactivate" } class="inline" {
                    (csrf_field(csrf))
                    input type="hidden" name="future" value="reassign";
                    button type="submit" class="primary" { "Give them to others free at their times" }
                }
                " "
                form method="post" action={ (action) "/deactivate" } class="inline" {
                    (csrf_field(csrf))
                    input type="hidden" name="future" value="cancel";
                    button type="submit" class="danger" { "Cancel them" }
                }
                " "
                a class="button" href=(action) { "Keep " (member.settings.name.as_ref()) " active" }
            }
        }
        @if !member.active {
            p class="reason" { "Inactive: nothing is offered or booked with them. Their past appointments keep them." }
        }
        @if owner {
            form method="post" action=(action) class="stack card" novalidate {
                (csrf_field(csrf))
                input type="hidden" name="expected_version" value=(fields.expected_version);
                (crate::dashboard::hours::text_field(errors, "name", "Name, as callers say it", "", &fields.name, "text"))
                (crate::dashboard::hours::text_field(errors, "max_per_day", "Most appointments per day", "Every service counted. Empty for no limit", &fields.max_per_day, "text"))
                fieldset {
                    legend { "Services they perform" }
                    div class="choice" {
                        input type="radio" id="services-all" name="services" value="all" checked[fields.services == "all"];
                        label for="services-all" { "All services, present and future" }
                    }
                    div class="choice" {
                        input type="radio" id="services-chosen" name="services" value="chosen" checked[fields.services != "all"];
                        label for="services-chosen" { "Only these:" }
                    }
                    @for service in &services {
                        @let id = format!("performs-{}", service.id);
                        div class="choice" {
                            input type="checkbox" id=(id) name=(id) checked[fields.performs(service.id)];
                            label for=(id) { (service.settings.name.as_ref()) @if !service.active { " (inactive)" } }
                        }
                    }
                }
                fieldset {
                    legend { "Their hours" }
                    div class="choice" {
                        input type="radio" id="hours-service" name="hours" value="service" checked[fields.hours != "own"];
                        label for="hours-service" { "Whenever the service is open" }
                    }
                    div class="choice" {
                        input type="radio" id="hours-own" name="hours" value="own" checked[fields.hours == "own"];
                        label for="hours-own" { "Their own weekly hours (a time is offered when both they and the service are open):" }
                    }
                    (week_fieldset(errors, &fields.week))
                }
                button type="submit" class="primary" { "Save changes" }
            }
        } @else {
            dl class="card" {
                dt { "Services" } dd { (services_text(member, &services)) }
                dt { "Hours" } dd { (hours_text(member)) }
                dt { "Most per day" } dd { (limit_text(member)) }
            }
        }
        section class="card" aria-labelledby="time-off-title" {
            h2 id="time-off-title" { "Time off and special hours" }
            @if time_off.is_empty() {
                p class="empty" { "None: their weekly hours apply every day." }
            } @else {
                ul {
                    @for (from, to, hours) in &time_off {
                        li {
                            (range_text(*from, *to)) ": "
                            @if hours.is_empty() { "off" } @else { (hours) }
                            @if owner {
                                " "
                                form method="post" action={ (action) "/time-off/remove" } class="inline" {
                                    (csrf_field(csrf))
                                    input type="hidden" name="expected_version" value=(version);
                                    input type="hidden" name="from" value=(from.to_string());
                                    input type="hidden" name="to" value=(to.to_string());
                                    button type="submit" { "Remove" span class="visually-hidden" { " " (range_text(*from, *to)) } }
                                }
                            }
                        }
                    }
                }
            }
            @if owner {
                form method="post" action={ (action) "/time-off" } class="filters" novalidate {
                    (csrf_field(csrf))
                    input type="hidden" name="expected_version" value=(version);
                    div class="field" {
                        label for="from" { "From" }
                        (field_error(errors, "from"))
                        input id="from" name="from" type="date" value=(view.time_off.from)
                            aria-invalid=[has_error(errors, "from").then_some("true")];
                    }
                    div class="field" {
                        label for="to" { "To (empty for one day)" }
                        (field_error(errors, "to"))
                        input id="to" name="to" type="date" value=(view.time_off.to)
                            aria-invalid=[has_error(errors, "to").then_some("true")];
                    }
                    div class="field grow" {
                        label for="special_hours" { "Hours (empty: off all day)" }
                        (field_error(errors, "special_hours"))
                        input id="special_hours" name="special_hours" value=(view.time_off.special_hours) placeholder="09:00-13:00"
                            aria-invalid=[has_error(errors, "special_hours").then_some("true")];
                    }
                    button type="submit" { "Add" }
                }
            }
        }
        @if member.active && permits(signed.role, Permission::ManageIntegrations) {
            section class="card" aria-labelledby="connect-title" {
                h2 id="connect-title" { "Send a connect-your-calendar link" }
                p { "Emails " (member.settings.name.as_ref()) " a link to connect their own Google or Outlook calendar: they sign in there themselves, without a dashboard account. The link works for " (CONNECT_LINK_LIFETIME.as_hours() / 24) " days, until a calendar has been connected with it." }
                form method="post" action={ (action) "/connect-link" } class="stack" novalidate {
                    (csrf_field(csrf))
                    (crate::dashboard::hours::text_field(errors, "connect_email", "Their email address", "", &view.connect_email, "email"))
                    button type="submit" { "Send the link" }
                }
            }
        }
        @if owner {
            section class="card" aria-labelledby="state-title" {
                h2 id="state-title" { @if member.active { "Deactivate" } @else { "Make bookable again" } }
                @if member.active {
                    p { "Nothing more is offered or booked with them. If they have appointments ahead, you choose next whether those go to others or are cancelled." }
                    form method="post" action={ (action) "/deactivate" } class="inline" {
                        (csrf_field(csrf))
                        input type="hidden" name="future" value="refuse";
                        button type="submit" class="danger" { "Deactivate " (member.settings.name.as_ref()) }
                    }
                } @else {
                    form method="post" action={ (action) "/reactivate" } class="inline" {
                        (csrf_field(csrf))
                        button type="submit" { "Make " (member.settings.name.as_ref()) " bookable again" }
                    }
                }
            }
        }
        p { a class="button" href="/dashboard/staff" { "Back to staff" } }
    })
}

async fn member_page(
    State(dashboard): State<Dashboard>,
    Path(id): Path<StaffId>,
    signed: Signed,
    Query(notice): Query<Notice>,
) -> PageResult {
    let member = app::get_staff_member(&dashboard.app, &signed.business, id).await?;
    let body = render_member(&dashboard, &signed, &member, MemberView::default()).await?;
    let notice = match notice.notice.as_deref() {
        Some("added") => Some(
            "Added. They perform every service whenever it is open until you say otherwise below.",
        ),
        Some("saved") => Some("Saved."),
        Some("deactivated") => Some("Deactivated."),
        Some("reactivated") => Some("Bookable again."),
        Some("link_sent") => {
            Some("Link sent. It works until a calendar has been connected with it.")
        }
        _ => None,
    };
    signed.page(Nav::Staff, member.settings.name.as_ref(), notice, body)
}

/// The member's page again, answered with `status`, showing what a refused form needs.
async fn member_refused(
    dashboard: &Dashboard,
    signed_in: SignedIn,
    id: StaffId,
    status: StatusCode,
    view: MemberView,
) -> PageResult {
    let signed = Signed::load(&dashboard.app, signed_in).await?;
    let member = app::get_staff_member(&dashboard.app, &signed.business, id).await?;
    let title = member.settings.name.as_ref().to_owned();
    let body = render_member(dashboard, &signed, &member, view).await?;
    signed.page_with_status(status, Nav::Staff, &title, body)
}

/// A change the store refused, as the problem to show at `field`; else the error the page cannot show.
fn problem(error: AppError, field: &'static str) -> Result<(&'static str, String), PageError> {
    match error {
        AppError::Validation(error) => Ok((field, sentence(&error.message))),
        AppError::VersionConflict => Ok((
            field,
            "Someone saved a change to this member meanwhile; the page now shows it. Make your change again."
                .to_owned(),
        )),
        other => Err(other.into()),
    }
}

async fn save(
    State(dashboard): State<Dashboard>,
    Path(id): Path<StaffId>,
    SignedForm { signed_in, form }: SignedForm<MemberFields>,
) -> PageResult {
    let member = app::get_staff_member(&dashboard.app, &signed_in.business, id).await?;
    let services = app::list_services(&dashboard.app, &signed_in.business).await?;
    let errors = match form.changes(&member, &services) {
        Ok(changes) => {
            match app::update_staff_member(&dashboard.app, &signed_in.business, id, &changes).await
            {
                Ok(_) => return Ok(see_other(&format!("/dashboard/staff/{id}?notice=saved"))),
                Err(AppError::VersionConflict) => {
                    // Shown as stored now: the typed form would otherwise be saved over the other change.
                    let errors = vec![problem(AppError::VersionConflict, "name")?];
                    let view = MemberView {
                        errors,
                        ..MemberView::default()
                    };
                    let who = signed_in;
                    return member_refused(&dashboard, who, id, StatusCode::CONFLICT, view).await;
                }
                Err(other) => vec![problem(other, "name")?],
            }
        }
        Err(errors) => errors,
    };
    let view = MemberView {
        fields: Some(form),
        errors,
        ..MemberView::default()
    };
    let who = signed_in;
    member_refused(&dashboard, who, id, StatusCode::UNPROCESSABLE_ENTITY, view).await
}

fn date_field(text: &str, field: &'static str, label: &str, errors: &mut Errors) -> Option<Date> {
    match text.trim().parse::<Date>() {
        Ok(date) => Some(date),
        Err(_) => {
            errors.push((field, format!("{label}: enter a date like 2026-12-24")));
            None
        }
    }
}

/// Every date from `from` to `to`, or why not.
fn dates(from: Date, to: Date) -> Result<Vec<Date>, String> {
    if to < from {
        return Err("To: the last day comes on or after the first".to_owned());
    }
    let mut all = vec![from];
    let mut date = from;
    while date < to {
        if all.len() >= LONGEST_TIME_OFF_DAYS {
            return Err(format!(
                "To: at most {LONGEST_TIME_OFF_DAYS} days at a time"
            ));
        }
        date = date.tomorrow().map_err(|error| error.to_string())?;
        all.push(date);
    }
    Ok(all)
}

/// The dates and hours the time-off form asks for, or every problem with it.
fn time_off(fields: &TimeOffFields) -> Result<Vec<DateOverride>, Errors> {
    let mut errors = Errors::new();
    let from = date_field(&fields.from, "from", "From", &mut errors);
    let to = if fields.to.trim().is_empty() {
        from
    } else {
        date_field(&fields.to, "to", "To", &mut errors)
    };
    let hours = parse_ranges(&fields.special_hours)
        .map_err(|message| errors.push(("special_hours", format!("Hours: {message}"))))
        .ok();
    let (Some(from), Some(to), Some(hours)) = (from, to, hours) else {
        return Err(errors);
    };
    let dates = dates(from, to).map_err(|message| vec![("to", message)])?;
    Ok(dates
        .into_iter()
        .map(|date| DateOverride {
            date,
            hours: hours.clone(),
        })
        .collect())
}

/// Writes the member's date overrides as `change` makes them from those stored, at the version the form was filled
/// in from; a refusal shows the member's page with the problem beside `field`.
async fn change_overrides(
    dashboard: &Dashboard,
    signed: SignedForm<TimeOffFields>,
    id: StaffId,
    change: impl FnOnce(Vec<DateOverride>) -> Result<Vec<DateOverride>, Errors>,
) -> PageResult {
    let SignedForm { signed_in, form } = signed;
    let member = app::get_staff_member(&dashboard.app, &signed_in.business, id).await?;
    let outcome = match change(member.settings.date_overrides.clone()) {
        Ok(overrides) => {
            let changes = StaffChanges {
                date_overrides: Some(overrides),
                expected_version: form.expected_version.parse().ok(),
                ..StaffChanges::default()
            };
            app::update_staff_member(&dashboard.app, &signed_in.business, id, &changes)
                .await
                .map_err(|error| problem(error, "from").map(|problem| vec![problem]))
        }
        Err(errors) => Err(Ok(errors)),
    };
    match outcome {
        Ok(_) => Ok(see_other(&format!("/dashboard/staff/{id}?notice=saved"))),
        Err(Ok(errors)) => {
            let view = MemberView {
                time_off: form,
                errors,
                ..MemberView::default()
            };
            let who = signed_in;
            member_refused(dashboard, who, id, StatusCode::UNPROCESSABLE_ENTITY, view).await
        }
        Err(Err(page_error)) => Err(page_error),
    }
}

async fn add_time_off(
    State(dashboard): State<Dashboard>,
    Path(id): Path<StaffId>,
    form: SignedForm<TimeOffFields>,
) -> PageResult {
    let added = time_off(&form.form);
    change_overrides(&dashboard, form, id, |stored| {
        let added = added?;
        // A date added again takes the new hours.
        let mut overrides: Vec<DateOverride> = stored
            .into_iter()
            .filter(|kept| added.iter().all(|new| new.date != kept.date))
            .collect();
        overrides.extend(added);
        Ok(overrides)
    })
    .await
}

async fn remove_time_off(
    State(dashboard): State<Dashboard>,
    Path(id): Path<StaffId>,
    form: SignedForm<TimeOffFields>,
) -> PageResult {
    let mut errors = Errors::new();
    let from = date_field(&form.form.from, "from", "From", &mut errors);
    let to = date_field(&form.form.to, "to", "To", &mut errors);
    change_overrides(&dashboard, form, id, |stored| match (from, to) {
        (Some(from), Some(to)) => Ok(stored
            .into_iter()
            .filter(|kept| kept.date < from || kept.date > to)
            .collect()),
        _ => Err(errors),
    })
    .await
}

#[derive(Deserialize, Default)]
struct DeactivateFields {
    #[serde(default)]
    future: String,
}

async fn deactivate(
    State(dashboard): State<Dashboard>,
    Path(id): Path<StaffId>,
    SignedForm { signed_in, form }: SignedForm<DeactivateFields>,
) -> PageResult {
    let future = match form.future.as_str() {
        "reassign" => FutureAppointments::Reassign,
        "cancel" => FutureAppointments::Cancel,
        _ => FutureAppointments::Refuse,
    };
    let refused = match app::deactivate_staff_member(&dashboard.app, &signed_in.business, id, future).await
    {
        Ok(_) => return Ok(see_other(&format!("/dashboard/staff/{id}?notice=deactivated"))),
        Err(AppError::StaffHasFutureAppointments { count }) => MemberView {
            ahead: Some(count),
            ..MemberView::default()
        },
        Err(AppError::LastActiveStaffMember) => MemberView {
            errors: vec![(
                "state-title",
                "A signed_in.business keeps at least one active staff member: add or reactivate another first."
                    .to_owned(),
            )],
            ..MemberView::default()
        },
        Err(AppError::SlotUnavailable {
            requested, zone, ..
        }) => MemberView {
            errors: vec![(
                "state-title",
                format!(
                    "Nobody else is free for their appointment at {}; those moved before it stay moved. Move or cancel it from the appointments list, then deactivate again.",
                    when(requested, &zone)
                ),
            )],
            ..MemberView::default()
        },
        Err(other) => return Err(other.into()),
    };
    let who = signed_in;
    member_refused(&dashboard, who, id, StatusCode::CONFLICT, refused).await
}

async fn reactivate(
    State(dashboard): State<Dashboard>,
    Path(id): Path<StaffId>,
    SignedForm { signed_in, .. }: SignedForm<NoFields>,
) -> PageResult {
    let changes = StaffChanges {
        reactivate: true,
        ..StaffChanges::default()
    };
    app::update_staff_member(&dashboard.app, &signed_in.business, id, &changes).await?;
    Ok(see_other(&format!(
        "/dashboard/staff/{id}?notice=reactivated"
    )))
}

#[derive(Deserialize, Default)]
struct ConnectLinkFields {
    #[serde(default)]
    connect_email: String,
}

/// Emails the member a connect-your-calendar link; a refused address, an inactive member or too many links shows
/// the member's page again with the problem beside the field, what was typed kept.
async fn send_connect_link(
    State(dashboard): State<Dashboard>,
    Path(id): Path<StaffId>,
    SignedForm { signed_in, form }: SignedForm<ConnectLinkFields>,
) -> PageResult {
    let links = &dashboard.settings.links;
    let business = &signed_in.business;
    let (status, message) =
        match send_link(&dashboard.app, business, id, &form.connect_email, links).await {
            Ok(_) => {
                return Ok(see_other(&format!(
                    "/dashboard/staff/{id}?notice=link_sent"
                )));
            }
            Err(AppError::Validation(error)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Their email address {}", error.message),
            ),
            Err(AppError::StaffInactive) => (
                StatusCode::CONFLICT,
                "They are inactive: make them bookable again first.".to_owned(),
            ),
            Err(AppError::TooManyRequests { retry_at }) => (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Enough links were sent for them today: try again after {}.",
                    when(retry_at, business.time_zone.zone())
                ),
            ),
            Err(other) => return Err(other.into()),
        };
    let view = MemberView {
        errors: vec![("connect_email", message)],
        connect_email: form.connect_email,
        ..MemberView::default()
    };
    member_refused(&dashboard, signed_in, id, status, view).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use jiff::civil::date;

    use super::*;

    #[test]
    fn time_off_is_each_date_of_its_range_and_consecutive_dates_show_as_one() {
        let fields = TimeOffFields {
            from: "2026-12-30".to_owned(),
            to: "2027-01-02".to_owned(),
            ..TimeOffFields::default()
        };
        let added = time_off(&fields).unwrap();
        assert_eq!(added.len(), 4);
        assert!(added.iter().all(|day| day.hours.is_empty()));
        assert_eq!(
            grouped(&added),
            vec![(date(2026, 12, 30), date(2027, 1, 2), String::new())]
        );
        let backwards = TimeOffFields {
            from: "2027-01-02".to_owned(),
            to: "2026-12-30".to_owned(),
            ..TimeOffFields::default()
        };
        assert_eq!(time_off(&backwards).unwrap_err()[0].0, "to");
        let far = TimeOffFields {
            from: "2027-01-01".to_owned(),
            to: "2029-01-01".to_owned(),
            ..TimeOffFields::default()
        };
        assert_eq!(time_off(&far).unwrap_err()[0].0, "to");
    }
}
