//! Book manually: a service and a day, the free times the engine gives (the same as the phone agent gets), the
//! customer; a time taken meanwhile comes back as the refusal with the nearest alternatives. A business with more
//! than one active staff member also chooses with whom ("Anyone", or one of those who perform the service): the
//! times offered are theirs, and the booking is for them; a business with one sees no such choice.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::{Signed, SignedForm};
use super::format::{self, clock_time, when};
use super::layout::{Nav, csrf_field, error_summary, field_error};
use super::{Dashboard, PageError, PageResult, see_other};
use crate::app::{self, AppError, BookAppointment, BookingOutcome, BookingTarget, FindTimes};
use crate::domain::{
    AppointmentId, BookingSource, Business, Customer, CustomerName, EmailAddress, Interval, Notes,
    ServiceId, StaffId, StaffMember, ValidationError,
};

pub fn routes() -> Router<Dashboard> {
    Router::new().route("/book", get(book_page).post(book))
}

/// The free slots of a service on a local date, as the engine gives them to anyone booking now; with `moving`,
/// that appointment's own time does not block (the times it can be moved to).
pub async fn free_times(
    dashboard: &Dashboard,
    business: &Business,
    service_id: ServiceId,
    date: Date,
    moving: Option<AppointmentId>,
) -> Result<Vec<Interval>, PageError> {
    free_times_with(dashboard, business, service_id, date, moving, None).await
}

/// [`free_times`] with `staff` (anyone when `None`).
async fn free_times_with(
    dashboard: &Dashboard,
    business: &Business,
    service_id: ServiceId,
    date: Date,
    moving: Option<AppointmentId>,
    staff: Option<StaffId>,
) -> Result<Vec<Interval>, PageError> {
    let Some(day) = FindTimes::on_day(service_id, date, business.time_zone.zone()) else {
        return Ok(Vec::new());
    };
    let day = day.with_staff(staff);
    let command = match moving {
        Some(id) => day.moving(id),
        None => day,
    };
    let answer = app::find_times(&dashboard.app, business, command).await;
    match answer {
        Ok(answer) => Ok(answer
            .slots
            .into_iter()
            .map(|offered| offered.slot)
            .collect()),
        Err(AppError::ServiceInactive) => Ok(Vec::new()),
        Err(other) => Err(other.into()),
    }
}

/// Radio buttons for the times (values are RFC 3339 instants), or a sentence when there are none.
pub fn slot_choices(slots: &[Interval], zone: &TimeZone, day: &str) -> Markup {
    html! {
        @if slots.is_empty() {
            p class="empty" { "No free times on " (day) ". Try another day." }
        } @else {
            fieldset class="slots" {
                legend { "Free times, " (day) }
                @for (index, slot) in slots.iter().enumerate() {
                    @let id = format!("slot-{index}");
                    span class="slot" {
                        input type="radio" name="start" id=(id) value=(crate::api::dto::local_rfc3339(slot.start(), zone)) checked[index == 0];
                        label for=(id) {
                            @if slots.iter().all(|other| other.start().to_zoned_datetime(zone.clone()).date() == slot.start().to_zoned_datetime(zone.clone()).date()) {
                                (clock_time(slot.start(), zone))
                            } @else {
                                (when(slot.start(), zone))
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Deserialize, Default, Clone)]
struct BookingFields {
    #[serde(default)]
    service: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    start: String,
    /// A staff member's id; empty for anyone.
    #[serde(default)]
    staff: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    notes: String,
}

struct Refused {
    reason: String,
    alternatives: Vec<Interval>,
}

async fn render(
    dashboard: &Dashboard,
    signed: &Signed,
    fields: &BookingFields,
    errors: &[(&'static str, String)],
    refused: Option<Refused>,
) -> Result<Markup, PageError> {
    let business = &signed.business;
    let zone = business.time_zone.zone();
    let services: Vec<_> = app::list_services(&dashboard.app, business)
        .await?
        .into_iter()
        .filter(|service| service.active)
        .collect();
    let today = format::today(dashboard.app.clock.now(), zone);
    let date = fields.date.parse::<Date>().unwrap_or(today);
    let chosen = fields
        .service
        .parse::<ServiceId>()
        .ok()
        .filter(|id| services.iter().any(|service| service.id == *id))
        .or_else(|| services.first().map(|service| service.id));
    let staff = app::list_staff(&dashboard.app, business).await?;
    let several = staff.iter().filter(|member| member.active).count() > 1;
    // Those who perform the chosen service: whom the "With" choice offers.
    let performers: Vec<&StaffMember> = match chosen {
        Some(service) if several => staff
            .iter()
            .filter(|member| member.performs(service))
            .collect(),
        _ => Vec::new(),
    };
    let with = fields
        .staff
        .parse::<StaffId>()
        .ok()
        .filter(|id| performers.iter().any(|member| member.id == *id));
    let times = match (&refused, chosen) {
        (Some(refused), _) => refused.alternatives.clone(),
        (None, Some(service)) => {
            free_times_with(dashboard, business, service, date, None, with).await?
        }
        (None, None) => Vec::new(),
    };
    let input_class = |field: &str| super::layout::has_error(errors, field).then_some("invalid");
    Ok(html! {
        @if services.is_empty() {
            p { "There is no active service to book yet. " a href="/dashboard/services/new" { "Create a service" } }
        } @else {
            (error_summary(errors))
            form method="get" action="/dashboard/book" class="filters" {
                div class="field" {
                    label for="service" { "Service" }
                    select id="service" name="service" {
                        @for service in &services {
                            option value=(service.id) selected[Some(service.id) == chosen] { (service.settings.name.as_ref()) " (" (service.settings.duration.get()) " min)" }
                        }
                    }
                }
                div class="field" {
                    label for="date" { "Day" }
                    input type="date" id="date" name="date" value=(date.to_string());
                }
                @if several {
                    div class="field" {
                        label for="staff" { "With" }
                        select id="staff" name="staff" {
                            option value="" selected[with.is_none()] { "Anyone" }
                            @for member in &performers {
                                option value=(member.id) selected[with == Some(member.id)] { (member.settings.name.as_ref()) }
                            }
                        }
                    }
                }
                button type="submit" { "Show free times" }
            }
            @if let Some(refused) = &refused {
                div class="error-summary" role="alert" id="refused" {
                    h2 { "That time was just taken" }
                    p { (refused.reason) }
                    @if refused.alternatives.is_empty() {
                        p { "There are no free times near it; choose another day." }
                    } @else {
                        p { "Choose one of the nearest free times below; what you entered is kept." }
                    }
                }
            }
            form method="post" action="/dashboard/book" class="stack" {
                (csrf_field(&signed.session.csrf_token))
                @if let Some(service) = chosen { input type="hidden" name="service" value=(service); }
                input type="hidden" name="date" value=(date.to_string());
                @if let Some(member) = with { input type="hidden" name="staff" value=(member); }
                (field_error(errors, "start"))
                (slot_choices(&times, zone, &format::day(date)))
                fieldset {
                    legend { "Customer" }
                    div class="field" {
                        label for="name" { "Name" }
                        (field_error(errors, "name"))
                        input id="name" name="name" required autocomplete="off" value=(fields.name) class=[input_class("name")];
                    }
                    div class="field" {
                        label for="phone" { "Phone (optional; a national number is read in the business's country)" }
                        (field_error(errors, "phone"))
                        input id="phone" name="phone" type="tel" autocomplete="off" value=(fields.phone) class=[input_class("phone")];
                    }
                    div class="field" {
                        label for="email" { "Email (optional)" }
                        (field_error(errors, "email"))
                        input id="email" name="email" type="email" autocomplete="off" value=(fields.email) class=[input_class("email")];
                    }
                    div class="field" {
                        label for="notes" { "Notes (optional)" }
                        (field_error(errors, "notes"))
                        textarea id="notes" name="notes" rows="3" class=[input_class("notes")] { (fields.notes) }
                    }
                }
                @if !times.is_empty() {
                    button type="submit" class="primary" { "Book" }
                }
            }
        }
    })
}

async fn book_page(
    State(dashboard): State<Dashboard>,
    signed: Signed,
    Query(fields): Query<BookingFields>,
) -> PageResult {
    let body = render(&dashboard, &signed, &fields, &[], None).await?;
    signed.page(Nav::Book, "Book manually", None, body)
}

fn optional<T: TryFrom<String, Error = ValidationError>>(
    text: &str,
    field: &'static str,
    errors: &mut Vec<(&'static str, String)>,
) -> Option<T> {
    if text.trim().is_empty() {
        return None;
    }
    match T::try_from(text.to_owned()) {
        Ok(value) => Some(value),
        Err(error) => {
            errors.push((field, format!("{}: {}", field_label(field), error.message)));
            None
        }
    }
}

fn field_label(field: &str) -> &str {
    match field {
        "name" => "Name",
        "phone" => "Phone",
        "email" => "Email",
        "notes" => "Notes",
        "start" => "Time",
        other => other,
    }
}

async fn book(
    State(dashboard): State<Dashboard>,
    SignedForm { signed_in, form }: SignedForm<BookingFields>,
) -> PageResult {
    let mut errors = Vec::new();
    let name = match CustomerName::try_from(form.name.clone()) {
        Ok(name) => Some(name),
        Err(error) => {
            errors.push(("name", format!("Name: {}", error.message)));
            None
        }
    };
    // The same normalization as the API and the agent: a national number is read in the signed_in.business's country.
    let phone = if form.phone.trim().is_empty() {
        None
    } else {
        match app::normalize_customer_phone(
            &dashboard.app,
            &signed_in.business,
            "phone",
            &form.phone,
        )
        .await
        {
            Ok(phone) => Some(phone),
            Err(AppError::Validation(error)) => {
                errors.push(("phone", format!("Phone: {}", error.message)));
                None
            }
            Err(other) => return Err(other.into()),
        }
    };
    let email: Option<EmailAddress> = optional(&form.email, "email", &mut errors);
    let notes: Option<Notes> = optional(&form.notes, "notes", &mut errors);
    let start = match crate::domain::parse_instant("start", &form.start) {
        Ok(start) => Some(start),
        Err(_) => {
            errors.push(("start", "Time: choose one of the free times".to_owned()));
            None
        }
    };
    let service_id = form.service.parse::<ServiceId>().ok();
    // Empty is anyone; anything else must be a member's id.
    let staff_id = match form.staff.trim() {
        "" => None,
        text => match text.parse::<StaffId>() {
            Ok(id) => Some(id),
            Err(_) => return Err(PageError::NotFound),
        },
    };
    let refused = match (name, start, service_id) {
        (Some(name), Some(start), Some(service_id)) if errors.is_empty() => {
            let command = BookAppointment::new(
                BookingTarget::Slot {
                    service_id,
                    start,
                    staff_id,
                },
                Customer { name, phone, email },
                notes,
                BookingSource::Manual,
            );
            match app::book(&dashboard.app, &signed_in.business, command).await {
                Ok(BookingOutcome::Created { appointment, .. }) => {
                    return Ok(see_other(&format!(
                        "/dashboard/appointments/{}?notice=booked",
                        appointment.id
                    )));
                }
                Ok(BookingOutcome::Replayed { .. }) => {
                    return Ok(see_other("/dashboard/appointments"));
                }
                Err(AppError::SlotUnavailable {
                    requested,
                    reason,
                    alternatives,
                    zone,
                }) => Some(Refused {
                    reason: format!("{} is not available: {reason}.", when(requested, &zone)),
                    alternatives,
                }),
                Err(AppError::NotFound(_)) => return Err(PageError::NotFound),
                Err(other) => return Err(other.into()),
            }
        }
        _ => None,
    };
    let signed = Signed::load(&dashboard.app, signed_in).await?;
    let status = if refused.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let body = render(&dashboard, &signed, &form, &errors, refused).await?;
    signed.page_with_status(status, Nav::Book, "Book manually", body)
}
