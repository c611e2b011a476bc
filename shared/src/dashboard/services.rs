//! Services: the list, and one form for creating and editing with every setting. Invalid input is shown beside its
//! field with what was typed kept; an existing service shows a week of the free times its settings give and, once
//! the business has more than one active staff member, who performs it (chosen here, written to each member's
//! services through the same use case as the Staff page; a service always keeps one active performer).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use jiff::civil::Date;
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::{Signed, SignedForm};
use super::book::free_times;
use super::format::{self, clock_time};
use super::hours::{
    Errors, WeekFields, open_days, parse_ranges, ranges_text, text_field, week_fieldset,
};
use super::layout::{Nav, csrf_field, error_summary, field_error, has_error};
use super::{Dashboard, PageError, PageResult, see_other};
use crate::app::accounts::SignedIn;
use crate::app::{self, AppError, ServiceChanges, StaffChanges};
use crate::domain::{
    DEFAULT_SLOT_INTERVAL, DateOverride, Minutes, Service, ServiceId, ServiceName, ServiceSettings,
    StaffId, StaffMember, StaffServices, WeeklyHours,
};

pub fn routes() -> Router<Dashboard> {
    Router::new()
        .route("/services", get(list).post(create))
        .route("/services/new", get(new_form))
        .route("/services/{id}", get(edit_form).post(update))
        .route("/services/{id}/performers", post(choose_performers))
}

/// The form as typed: every field text, so a refused form comes back exactly as it was.
#[derive(Deserialize, Default, Clone)]
struct ServiceFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    duration: String,
    #[serde(default)]
    slot_interval: String,
    #[serde(default)]
    buffer_before: String,
    #[serde(default)]
    buffer_after: String,
    #[serde(default)]
    max_per_day: String,
    #[serde(default)]
    minimum_notice: String,
    #[serde(default)]
    booking_horizon_days: String,
    #[serde(default)]
    active: Option<String>,
    #[serde(flatten)]
    week: WeekFields,
    #[serde(default)]
    date_overrides: String,
}

impl ServiceFields {
    fn defaults() -> Self {
        Self {
            duration: "30".into(),
            slot_interval: DEFAULT_SLOT_INTERVAL.get().to_string(),
            buffer_before: "0".into(),
            buffer_after: "0".into(),
            minimum_notice: "60".into(),
            booking_horizon_days: "60".into(),
            active: Some("on".into()),
            week: WeekFields::office_hours(),
            ..Self::default()
        }
    }

    fn of(service: &Service) -> Self {
        let settings = &service.settings;
        Self {
            name: settings.name.as_ref().to_owned(),
            duration: settings.duration.get().to_string(),
            slot_interval: settings.slot_interval.get().to_string(),
            buffer_before: settings.buffer_before.get().to_string(),
            buffer_after: settings.buffer_after.get().to_string(),
            max_per_day: settings
                .max_per_day
                .map(|n| n.to_string())
                .unwrap_or_default(),
            minimum_notice: settings.minimum_notice.get().to_string(),
            booking_horizon_days: settings.booking_horizon_days.to_string(),
            active: service.active.then(|| "on".to_owned()),
            week: WeekFields::of(&settings.weekly_hours),
            date_overrides: settings
                .date_overrides
                .iter()
                .map(|o| {
                    if o.hours.is_empty() {
                        format!("{} closed", o.date)
                    } else {
                        format!("{} {}", o.date, ranges_text(&o.hours))
                    }
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

fn minutes(text: &str, field: &'static str, label: &str, errors: &mut Errors) -> Minutes {
    match text.trim().parse::<u32>() {
        Ok(value) => Minutes::new(value),
        Err(_) => {
            errors.push((field, format!("{label}: enter a whole number of minutes")));
            Minutes::new(0)
        }
    }
}

/// A settings skeleton for checking the date overrides with the domain's own rules.
fn probe(overrides: Vec<DateOverride>) -> Option<ServiceSettings> {
    Some(ServiceSettings {
        name: ServiceName::try_from("probe".to_owned()).ok()?,
        duration: Minutes::new(30),
        slot_interval: DEFAULT_SLOT_INTERVAL,
        weekly_hours: WeeklyHours::default(),
        date_overrides: overrides,
        buffer_before: Minutes::new(0),
        buffer_after: Minutes::new(0),
        max_per_day: None,
        minimum_notice: Minutes::new(0),
        booking_horizon_days: 1,
    })
}

/// Every setting from the form, or every problem with it, each naming its field.
fn parse(fields: &ServiceFields) -> Result<(ServiceSettings, bool), Errors> {
    let mut errors = Errors::new();
    let name = ServiceName::try_from(fields.name.clone())
        .map_err(|error| errors.push(("name", format!("Name: {}", error.message))))
        .ok();
    let duration = minutes(&fields.duration, "duration", "Duration", &mut errors);
    let slot_interval = minutes(
        &fields.slot_interval,
        "slot_interval",
        "Start times every",
        &mut errors,
    );
    let buffer_before = minutes(
        &fields.buffer_before,
        "buffer_before",
        "Buffer before",
        &mut errors,
    );
    let buffer_after = minutes(
        &fields.buffer_after,
        "buffer_after",
        "Buffer after",
        &mut errors,
    );
    let minimum_notice = minutes(
        &fields.minimum_notice,
        "minimum_notice",
        "Minimum notice",
        &mut errors,
    );
    let booking_horizon_days = fields
        .booking_horizon_days
        .trim()
        .parse::<u32>()
        .unwrap_or_else(|_| {
            errors.push((
                "booking_horizon_days",
                "Booking horizon: enter a whole number of days".to_owned(),
            ));
            0
        });
    let max_per_day = match fields.max_per_day.trim() {
        "" => None,
        text => match text.parse::<u32>() {
            Ok(limit) => Some(limit),
            Err(_) => {
                errors.push((
                    "max_per_day",
                    "Most per day: enter a whole number, or leave it empty for no limit".to_owned(),
                ));
                None
            }
        },
    };
    let hours = fields.week.parse(&mut errors);
    let mut overrides = Vec::new();
    for line in fields
        .date_overrides
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
    {
        let (date, rest) = line.split_once(' ').unwrap_or((line, ""));
        let Ok(date) = date.parse::<Date>() else {
            errors.push((
                "date_overrides",
                format!("Date overrides: {line:?} does not start with a date like 2026-12-24"),
            ));
            continue;
        };
        let rest = rest.trim();
        let hours = if rest.eq_ignore_ascii_case("closed") {
            Ok(Vec::new())
        } else {
            parse_ranges(rest).and_then(|hours| {
                if hours.is_empty() {
                    Err("give hours like 09:00-13:00 or the word closed".to_owned())
                } else {
                    Ok(hours)
                }
            })
        };
        match hours {
            Ok(hours) => overrides.push(DateOverride { date, hours }),
            Err(message) => errors.push((
                "date_overrides",
                format!("Date overrides, {date}: {message}"),
            )),
        }
    }
    if let Some(Err(error)) = probe(overrides.clone()).map(ServiceSettings::validated) {
        errors.push((
            "date_overrides",
            format!("Date overrides: {}", error.message),
        ));
    }
    let (Some(name), true) = (name, errors.is_empty()) else {
        return Err(errors);
    };
    let settings = ServiceSettings {
        name,
        duration,
        slot_interval,
        weekly_hours: hours,
        date_overrides: overrides,
        buffer_before,
        buffer_after,
        max_per_day,
        minimum_notice,
        booking_horizon_days,
    };
    match settings.validated() {
        Ok(settings) => Ok((settings, fields.active.is_some())),
        Err(error) => {
            let field = match error.field {
                "duration_minutes" => "duration",
                "slot_interval_minutes" => "slot_interval",
                "buffer_before_minutes" => "buffer_before",
                "buffer_after_minutes" => "buffer_after",
                "minimum_notice_minutes" => "minimum_notice",
                "booking_horizon_days" => "booking_horizon_days",
                "max_per_day" => "max_per_day",
                "name" => "name",
                _ => "date_overrides",
            };
            let label = LABELS
                .iter()
                .find(|(name, _)| *name == field)
                .map_or("", |(_, label)| label);
            Err(vec![(field, format!("{label}: {}", error.message))])
        }
    }
}

const LABELS: [(&str, &str); 8] = [
    ("name", "Name"),
    ("duration", "Duration"),
    ("slot_interval", "Start times every"),
    ("buffer_before", "Buffer before"),
    ("buffer_after", "Buffer after"),
    ("max_per_day", "Most per day"),
    ("minimum_notice", "Minimum notice"),
    ("booking_horizon_days", "Booking horizon"),
];

fn form(csrf: &str, action: &str, fields: &ServiceFields, errors: &Errors, button: &str) -> Markup {
    html! {
        (error_summary(errors))
        form method="post" action=(action) class="stack" novalidate {
            (csrf_field(csrf))
            (text_field(errors, "name", "Name", "", &fields.name, "text"))
            div class="grid" {
                (text_field(errors, "duration", "Duration (minutes)", "", &fields.duration, "text"))
                (text_field(errors, "slot_interval", "Start times every (minutes)", "Counted from the start of each opening range", &fields.slot_interval, "text"))
                (text_field(errors, "buffer_before", "Buffer before (minutes)", "Kept free before each appointment", &fields.buffer_before, "text"))
                (text_field(errors, "buffer_after", "Buffer after (minutes)", "Kept free after each appointment", &fields.buffer_after, "text"))
                (text_field(errors, "max_per_day", "Most per day", "Empty for no limit", &fields.max_per_day, "text"))
                (text_field(errors, "minimum_notice", "Minimum notice (minutes)", "How soon before its start a time can be booked", &fields.minimum_notice, "text"))
                (text_field(errors, "booking_horizon_days", "Booking horizon (days)", "How far ahead a time can be booked", &fields.booking_horizon_days, "text"))
            }
            (week_fieldset(errors, &fields.week))
            div class="field" {
                label for="date_overrides" { "Date overrides" }
                span class="hint" id="date_overrides-hint" { "One date per line: 2026-12-24 closed, or 2026-12-31 09:00-13:00. They replace the weekly hours of that date." }
                (field_error(errors, "date_overrides"))
                textarea id="date_overrides" name="date_overrides" rows="4" aria-describedby="date_overrides-hint"
                    class=[has_error(errors, "date_overrides").then_some("invalid")] { (fields.date_overrides) }
            }
            div class="choice" {
                input type="checkbox" id="active" name="active" checked[fields.active.is_some()];
                label for="active" { "Active: can be booked" }
            }
            button type="submit" class="primary" { (button) }
            " "
            a class="button" href="/dashboard/services" { "Back to services" }
        }
    }
}

async fn list(
    State(dashboard): State<Dashboard>,
    signed: Signed,
    Query(notice): Query<Notice>,
) -> PageResult {
    let services = app::list_services(&dashboard.app, &signed.business).await?;
    let body = html! {
        p { a class="button primary" href="/dashboard/services/new" { "Create a service" } }
        @if services.is_empty() {
            p class="empty" { "No services yet." }
        } @else {
            div class="table-wrap" {
                table {
                    caption class="visually-hidden" { "Services" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Duration" } th scope="col" { "Open" } th scope="col" { "State" } } }
                    tbody {
                        @for service in &services {
                            tr {
                                td { a href={ "/dashboard/services/" (service.id) } { (service.settings.name.as_ref()) } }
                                td { (service.settings.duration.get()) " min" }
                                td { (open_days(&service.settings.weekly_hours)) }
                                td { @if service.active { "Active" } @else { "Inactive" } }
                            }
                        }
                    }
                }
            }
        }
    };
    let notice = match notice.notice.as_deref() {
        Some("created") => Some("Service created."),
        _ => None,
    };
    signed.page(Nav::Services, "Services", notice, body)
}

#[derive(Deserialize, Default)]
struct Notice {
    notice: Option<String>,
}

async fn new_form(signed: Signed) -> PageResult {
    let body = form(
        &signed.session.csrf_token,
        "/dashboard/services",
        &ServiceFields::defaults(),
        &[].into(),
        "Create service",
    );
    signed.page(Nav::Services, "New service", None, body)
}

/// Which form a refused submission goes back to.
struct FormPage<'a> {
    title: &'a str,
    action: &'a str,
    button: &'a str,
}

async fn refused(
    dashboard: &Dashboard,
    signed_in: SignedIn,
    form_page: FormPage<'_>,
    fields: &ServiceFields,
    errors: &Errors,
) -> PageResult {
    let signed = Signed::load(&dashboard.app, signed_in).await?;
    let body = form(
        &signed.session.csrf_token,
        form_page.action,
        fields,
        errors,
        form_page.button,
    );
    signed.page_with_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        Nav::Services,
        form_page.title,
        body,
    )
}

async fn create(
    State(dashboard): State<Dashboard>,
    SignedForm {
        signed_in,
        form: fields,
    }: SignedForm<ServiceFields>,
) -> PageResult {
    match parse(&fields) {
        Ok((settings, active)) => {
            let service =
                app::create_service(&dashboard.app, &signed_in.business, settings).await?;
            if !active {
                app::deactivate_service(&dashboard.app, &signed_in.business, service.id).await?;
            }
            Ok(see_other(&format!(
                "/dashboard/services/{}?notice=saved",
                service.id
            )))
        }
        Err(errors) => {
            refused(
                &dashboard,
                signed_in,
                FormPage {
                    title: "New service",
                    action: "/dashboard/services",
                    button: "Create service",
                },
                &fields,
                &errors,
            )
            .await
        }
    }
}

/// The free times of the next seven days, as the engine gives them now.
async fn week_preview(
    dashboard: &Dashboard,
    signed: &Signed,
    service: &Service,
) -> Result<Markup, PageError> {
    let zone = signed.business.time_zone.zone();
    let today = format::today(dashboard.app.clock.now(), zone);
    let mut days = Vec::new();
    let mut date = today;
    for _ in 0..7 {
        days.push((
            date,
            free_times(dashboard, &signed.business, service.id, date, None).await?,
        ));
        date = date
            .tomorrow()
            .map_err(|error| AppError::Internal(Box::new(error)))?;
    }
    Ok(html! {
        section class="card" aria-labelledby="preview-title" {
            h2 id="preview-title" { "The next seven days" }
            p class="hint" { "Free times these settings give now, after existing appointments and your calendar's events." }
            @if !service.active { p class="reason" { "The service is inactive: nothing can be booked." } }
            ul class="week" {
                @for (date, slots) in &days {
                    li {
                        strong { (format::day(*date)) }
                        @if slots.is_empty() {
                            span class="muted" { " no free times" }
                        } @else {
                            " " (slots.len()) @if slots.len() == 1 { " time: " } @else { " times: " }
                            (slots.iter().take(8).map(|slot| clock_time(slot.start(), zone)).collect::<Vec<_>>().join(", "))
                            @if slots.len() > 8 { " …" }
                            " "
                            a href={ "/dashboard/book?service=" (service.id) "&date=" (date) } { "Book" }
                        }
                    }
                }
            }
        }
    })
}

/// Who performs the service, as checkboxes of the active members; nothing while the business has one.
fn performers_form(
    csrf: &str,
    service: &Service,
    staff: &[StaffMember],
    errors: &Errors,
) -> Markup {
    let active: Vec<&StaffMember> = staff.iter().filter(|member| member.active).collect();
    html! {
        @if active.len() > 1 {
            section class="card" aria-labelledby="performers" {
                h2 id="performers" { "Who performs it" }
                (field_error(errors, "performers"))
                form method="post" action={ "/dashboard/services/" (service.id) "/performers" } class="stack" {
                    (csrf_field(csrf))
                    fieldset {
                        legend class="visually-hidden" { "Staff members who perform " (service.settings.name.as_ref()) }
                        @for member in &active {
                            @let id = format!("performs-{}", member.id);
                            div class="choice" {
                                input type="checkbox" id=(id) name=(id) checked[member.performs(service.id)];
                                label for=(id) { (member.settings.name.as_ref()) }
                            }
                        }
                    }
                    button type="submit" { "Save who performs it" }
                }
            }
        }
    }
}

async fn edit_page(
    dashboard: &Dashboard,
    signed: &Signed,
    service: &Service,
    errors: &Errors,
) -> Result<Markup, PageError> {
    let preview = week_preview(dashboard, signed, service).await?;
    let staff = app::list_staff(&dashboard.app, &signed.business).await?;
    let csrf = &signed.session.csrf_token;
    let fields = ServiceFields::of(service);
    Ok(html! {
        (error_summary(errors))
        (preview)
        (performers_form(csrf, service, &staff, errors))
        (form(csrf, &format!("/dashboard/services/{}", service.id), &fields, &Vec::new(), "Save changes"))
    })
}

async fn edit_form(
    State(dashboard): State<Dashboard>,
    Path(id): Path<ServiceId>,
    signed: Signed,
    Query(notice): Query<Notice>,
) -> PageResult {
    let service = app::get_service(&dashboard.app, &signed.business, id).await?;
    let body = edit_page(&dashboard, &signed, &service, &Vec::new()).await?;
    let notice = match notice.notice.as_deref() {
        Some("saved") => Some("Saved."),
        Some("performers") => Some("Saved who performs it."),
        _ => None,
    };
    signed.page(Nav::Services, service.settings.name.as_ref(), notice, body)
}

/// What each member performs once the service is given to exactly those `ticked` among the active members; only
/// the members whose services change. Refused when no active member would perform it.
fn performers_changes(
    service: ServiceId,
    all_services: &[ServiceId],
    staff: &[StaffMember],
    ticked: impl Fn(StaffId) -> bool,
) -> Result<Vec<(StaffMember, StaffServices)>, String> {
    let active: Vec<&StaffMember> = staff.iter().filter(|member| member.active).collect();
    if !active.iter().any(|member| ticked(member.id)) {
        return Err("Who performs it: tick at least one active staff member, or callers could never book it".to_owned());
    }
    Ok(active
        .into_iter()
        .filter(|member| member.performs(service) != ticked(member.id))
        .map(|member| {
            let mut ids = match &member.settings.services {
                StaffServices::All => all_services.iter().copied().collect(),
                StaffServices::Only(ids) => ids.clone(),
            };
            if ticked(member.id) {
                ids.insert(service);
            } else {
                ids.remove(&service);
            }
            (member.clone(), StaffServices::Only(ids))
        })
        .collect())
}

async fn choose_performers(
    State(dashboard): State<Dashboard>,
    Path(id): Path<ServiceId>,
    SignedForm { signed_in, form }: SignedForm<std::collections::BTreeMap<String, String>>,
) -> PageResult {
    let service = app::get_service(&dashboard.app, &signed_in.business, id).await?;
    let all_services: Vec<ServiceId> = app::list_services(&dashboard.app, &signed_in.business)
        .await?
        .iter()
        .map(|service| service.id)
        .collect();
    let staff = app::list_staff(&dashboard.app, &signed_in.business).await?;
    let ticked = |member: StaffId| form.contains_key(&format!("performs-{member}"));
    let problem = match performers_changes(id, &all_services, &staff, ticked) {
        Ok(changes) => {
            let mut conflict = None;
            for (member, services) in changes {
                let change = StaffChanges {
                    services: Some(services),
                    expected_version: Some(member.version),
                    ..StaffChanges::default()
                };
                match app::update_staff_member(
                    &dashboard.app,
                    &signed_in.business,
                    member.id,
                    &change,
                )
                .await
                {
                    Ok(_) => {}
                    Err(AppError::VersionConflict) => {
                        conflict = Some(format!(
                            "Who performs it: {} was changed meanwhile; the page shows them as they are now. Choose again.",
                            member.settings.name.as_ref()
                        ));
                        break;
                    }
                    Err(other) => return Err(other.into()),
                }
            }
            match conflict {
                None => {
                    return Ok(see_other(&format!(
                        "/dashboard/services/{id}?notice=performers#performers"
                    )));
                }
                Some(message) => message,
            }
        }
        Err(message) => message,
    };
    let signed = Signed::load(&dashboard.app, signed_in).await?;
    let errors = vec![("performers", problem)];
    let body = edit_page(&dashboard, &signed, &service, &errors).await?;
    signed.page_with_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        Nav::Services,
        service.settings.name.as_ref(),
        body,
    )
}

async fn update(
    State(dashboard): State<Dashboard>,
    Path(id): Path<ServiceId>,
    SignedForm {
        signed_in,
        form: fields,
    }: SignedForm<ServiceFields>,
) -> PageResult {
    // Another signed_in.business's id is not found, before anything is parsed.
    app::get_service(&dashboard.app, &signed_in.business, id).await?;
    match parse(&fields) {
        Ok((settings, active)) => {
            let changes = ServiceChanges {
                name: Some(settings.name),
                duration: Some(settings.duration),
                slot_interval: Some(settings.slot_interval),
                weekly_hours: Some(settings.weekly_hours),
                date_overrides: Some(settings.date_overrides),
                buffer_before: Some(settings.buffer_before),
                buffer_after: Some(settings.buffer_after),
                max_per_day: Some(settings.max_per_day),
                minimum_notice: Some(settings.minimum_notice),
                booking_horizon_days: Some(settings.booking_horizon_days),
                active: Some(active),
            };
            app::update_service(&dashboard.app, &signed_in.business, id, &changes).await?;
            Ok(see_other(&format!("/dashboard/services/{id}?notice=saved")))
        }
        Err(errors) => {
            let action = format!("/dashboard/services/{id}");
            refused(
                &dashboard,
                signed_in,
                FormPage {
                    title: "Edit service",
                    action: &action,
                    button: "Save changes",
                },
                &fields,
                &errors,
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_form_reads_each_weekday_beside_the_other_fields() {
        let fields: ServiceFields = serde_urlencoded::from_str(
            "csrf=t&name=Cut&duration=30&slot_interval=15&buffer_before=0&buffer_after=0&minimum_notice=0\
             &booking_horizon_days=30&monday=09%3A00-12%3A00&saturday=10%3A00-11%3A00&active=on",
        )
        .unwrap();
        let (settings, active) = parse(&fields).unwrap();
        assert!(active);
        assert_eq!(settings.weekly_hours.monday.len(), 1);
        assert_eq!(settings.weekly_hours.saturday.len(), 1);
        assert!(settings.weekly_hours.tuesday.is_empty());
    }
}
