//! Appointments: the list (upcoming by default, filters, search, sync badges, pages, "Retry all failed"; with whom,
//! and a filter by staff member, once the business has more than one), and one
//! appointment's page (every field, its sync state in plain words, Retry Sync, reschedule, cancel).

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use jiff::Timestamp;
use jiff::civil::Date;
use maud::{Markup, html};
use serde::Deserialize;

use super::auth::{NoFields, Signed, SignedForm};
use super::book::{free_times, slot_choices};
use super::checklist::Checklist;
use super::format::{self, when};
use super::layout::{Nav, csrf_field};
use super::permissions::{Permission, permits};
use super::{Dashboard, PageError, PageResult, see_other};
use crate::app::staff_calendars::written_connection;
use crate::app::{self, AppError, AppointmentEdit, what_to_do};
use crate::domain::{
    Appointment, AppointmentId, AppointmentStatus, Business, Interval, Service, StaffMember,
    SyncFailureCode, SyncStatus,
};
use crate::ports::{AppointmentQuery, PageCursor};

const PAGE_SIZE: usize = 25;
/// A search looks through at most this many appointments of the range for one page of matches.
const SEARCH_SCAN_LIMIT: usize = 2_000;

pub fn routes() -> Router<Dashboard> {
    Router::new()
        .route("/appointments", get(list))
        .route("/appointments/retry-failed", post(retry_all_failed))
        .route("/appointments/{id}", get(detail))
        .route("/appointments/{id}/retry", post(retry))
        .route("/appointments/{id}/reschedule", post(reschedule))
        .route(
            "/appointments/{id}/cancel",
            get(confirm_cancel).post(cancel),
        )
}

#[derive(Deserialize, Default)]
struct Filters {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    sync: String,
    #[serde(default)]
    q: String,
    /// A staff member's id; empty for everyone.
    #[serde(default)]
    staff: String,
    #[serde(default)]
    cursor: String,
    queued: Option<usize>,
}

fn parse_sync(text: &str) -> Option<SyncStatus> {
    match text {
        "synced" => Some(SyncStatus::Synced),
        "pending" => Some(SyncStatus::Pending),
        "failed" => Some(SyncStatus::Failed),
        "not_connected" => Some(SyncStatus::NotConnected),
        _ => None,
    }
}

fn parse_status(text: &str) -> Option<AppointmentStatus> {
    match text {
        "booked" => Some(AppointmentStatus::Booked),
        "cancelled" => Some(AppointmentStatus::Cancelled),
        _ => None,
    }
}

fn encode_cursor(cursor: &PageCursor) -> String {
    format!("{}.{}", cursor.start.as_nanosecond(), cursor.id)
}

fn decode_cursor(text: &str) -> Option<PageCursor> {
    let (nanos, id) = text.split_once('.')?;
    Some(PageCursor {
        start: Timestamp::from_nanosecond(nanos.parse().ok()?).ok()?,
        id: id.parse().ok()?,
    })
}

fn digits(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// Whether the appointment's customer matches a search by name (any part, any case) or phone (digits).
fn matches_search(appointment: &Appointment, search: &str) -> bool {
    let search = search.trim().to_lowercase();
    if search.is_empty() {
        return true;
    }
    let name = appointment.customer.name.as_ref().to_lowercase();
    let wanted_digits = digits(&search);
    name.contains(&search)
        || (wanted_digits.len() >= 3
            && appointment
                .customer
                .phone
                .as_ref()
                .is_some_and(|phone| digits(phone.as_ref()).contains(&wanted_digits)))
}

fn local_start(date: Date, business: &Business) -> Option<Timestamp> {
    date.to_zoned_datetime(business.time_zone.zone().clone())
        .ok()
        .map(|zoned| zoned.timestamp())
}

fn sync_badge(status: SyncStatus) -> Markup {
    html! { span class=(format::sync_class(status)) { (format::sync_status(status)) } }
}

async fn service_names(
    dashboard: &Dashboard,
    business: &Business,
) -> Result<Vec<Service>, AppError> {
    app::list_services(&dashboard.app, business).await
}

fn staff_name(staff: &[StaffMember], appointment: &Appointment) -> String {
    staff
        .iter()
        .find(|member| member.id == appointment.staff_id)
        .map_or_else(
            || "—".to_owned(),
            |member| member.settings.name.as_ref().to_owned(),
        )
}

fn service_name(services: &[Service], appointment: &Appointment) -> String {
    services
        .iter()
        .find(|service| service.id == appointment.service_id)
        .map_or_else(
            || "—".to_owned(),
            |service| service.settings.name.as_ref().to_owned(),
        )
}

async fn list(
    State(dashboard): State<Dashboard>,
    signed: Signed,
    Query(filters): Query<Filters>,
) -> PageResult {
    let business = &signed.business;
    let zone = business.time_zone.zone();
    let today = format::today(dashboard.app.clock.now(), zone);
    let from_date = filters.from.parse::<Date>().ok();
    let to_date = filters.to.parse::<Date>().ok();
    // Upcoming by default: from the start of today.
    let from = match (&from_date, filters.from.is_empty()) {
        (Some(date), _) => local_start(*date, business),
        (None, true) => local_start(today, business),
        (None, false) => None,
    };
    let to = to_date
        .and_then(|date| date.tomorrow().ok())
        .and_then(|date| local_start(date, business));
    let starts_within = match (from, to) {
        (None, None) => None,
        (from, to) => {
            Interval::new(from.unwrap_or(Timestamp::MIN), to.unwrap_or(Timestamp::MAX)).ok()
        }
    };
    let mut query = AppointmentQuery {
        business_id: business.id,
        starts_within,
        status: parse_status(&filters.status),
        sync_status: parse_sync(&filters.sync),
        staff_id: filters.staff.parse().ok(),
        after: decode_cursor(&filters.cursor),
        limit: u32::try_from(PAGE_SIZE + 1).unwrap_or(26),
    };
    let mut shown: Vec<Appointment> = Vec::new();
    let mut scanned = 0;
    let mut more = false;
    loop {
        let page = app::list_appointments(&dashboard.app, &query).await?;
        scanned += page.items.len();
        for appointment in page.items {
            if !matches_search(&appointment, &filters.q) {
                continue;
            }
            if shown.len() == PAGE_SIZE {
                more = true;
                break;
            }
            shown.push(appointment);
        }
        match page.next {
            Some(next) if !more && scanned < SEARCH_SCAN_LIMIT => query.after = Some(next),
            Some(_) => {
                more = true;
                break;
            }
            None => break,
        }
    }
    let next_cursor = if more {
        shown.last().map(|last| {
            encode_cursor(&PageCursor {
                start: last.time.start(),
                id: last.id,
            })
        })
    } else {
        None
    };
    let (services, staff) = tokio::try_join!(
        service_names(&dashboard, business),
        app::list_staff(&dashboard.app, business)
    )?;
    // A business with one member is one diary: naming its member everywhere would say nothing.
    let several = staff.len() > 1;
    let failed = signed.banner.failed_syncs;
    let notice = filters.queued.map(|queued| match queued {
        0 => "Nothing was waiting to be retried.".to_owned(),
        1 => "1 appointment was queued to sync again.".to_owned(),
        n => format!("{n} appointments were queued to sync again."),
    });
    let next_link = next_cursor.map(|cursor| {
        serde_urlencoded::to_string([
            ("from", filters.from.as_str()),
            ("to", filters.to.as_str()),
            ("status", filters.status.as_str()),
            ("sync", filters.sync.as_str()),
            ("q", filters.q.as_str()),
            ("staff", filters.staff.as_str()),
            ("cursor", cursor.as_str()),
        ])
        .unwrap_or_default()
    });
    let selected = |current: &str, value: &str| current == value;
    // The home page: the first-run checklist is the owner's, who alone can do its steps.
    let checklist = if permits(signed.role, Permission::ManageApiKeys) {
        Some(Checklist::load(&dashboard, business).await?)
    } else {
        None
    };
    let body = html! {
        @if let Some(checklist) = &checklist { (checklist.render()) }
        form method="get" action="/dashboard/appointments" class="filters" role="search" {
            div class="field" {
                label for="from" { "From" }
                input type="date" id="from" name="from" value=(from_date.map_or_else(|| if filters.from.is_empty() { today.to_string() } else { String::new() }, |d| d.to_string()));
            }
            div class="field" {
                label for="to" { "To" }
                input type="date" id="to" name="to" value=(filters.to);
            }
            div class="field" {
                label for="status" { "Status" }
                select id="status" name="status" {
                    option value="" selected[filters.status.is_empty()] { "Any" }
                    option value="booked" selected[selected(&filters.status, "booked")] { "Booked" }
                    option value="cancelled" selected[selected(&filters.status, "cancelled")] { "Cancelled" }
                }
            }
            div class="field" {
                label for="sync" { "Calendar sync" }
                select id="sync" name="sync" {
                    option value="" selected[filters.sync.is_empty()] { "Any" }
                    option value="synced" selected[selected(&filters.sync, "synced")] { "Synced" }
                    option value="pending" selected[selected(&filters.sync, "pending")] { "Pending" }
                    option value="failed" selected[selected(&filters.sync, "failed")] { "Failed" }
                    option value="not_connected" selected[selected(&filters.sync, "not_connected")] { "Not connected" }
                }
            }
            @if several {
                div class="field" {
                    label for="staff" { "With" }
                    select id="staff" name="staff" {
                        option value="" selected[filters.staff.is_empty()] { "Anyone" }
                        @for member in &staff {
                            @let id = member.id.to_string();
                            option value=(id) selected[selected(&filters.staff, &id)] {
                                (member.settings.name.as_ref())
                                @if !member.active { " (inactive)" }
                            }
                        }
                    }
                }
            }
            div class="field grow" {
                label for="q" { "Customer name or phone" }
                input type="search" id="q" name="q" value=(filters.q);
            }
            button type="submit" { "Show" }
        }
        @if failed > 0 {
            form method="post" action="/dashboard/appointments/retry-failed" class="inline" {
                (csrf_field(&signed.session.csrf_token))
                button type="submit" class="primary" { "Retry all failed (" (failed) ")" }
            }
        }
        @if shown.is_empty() {
            p class="empty" { "No appointments match. " a href="/dashboard/book" { "Book one manually" } }
        } @else {
            div class="table-wrap" {
                table {
                    caption class="visually-hidden" { "Appointments" }
                    thead { tr {
                        th scope="col" { "Time" } th scope="col" { "Customer" } th scope="col" { "Service" }
                        @if several { th scope="col" { "With" } }
                        th scope="col" { "Source" } th scope="col" { "Status" } th scope="col" { "Calendar" }
                    } }
                    tbody {
                        @for appointment in &shown {
                            tr {
                                td { a href={ "/dashboard/appointments/" (appointment.id) } { (when(appointment.time.start(), zone)) } }
                                td {
                                    (appointment.customer.name.as_ref())
                                    @if let Some(phone) = &appointment.customer.phone { br; span class="muted" { (phone.as_ref()) } }
                                }
                                td { (service_name(&services, appointment)) }
                                @if several { td { (staff_name(&staff, appointment)) } }
                                td { (format::source(appointment.source)) }
                                td { (format::status(appointment.status)) }
                                td { (sync_badge(appointment.sync.status)) }
                            }
                        }
                    }
                }
            }
        }
        nav class="pager" aria-label="Pages" {
            @if !filters.cursor.is_empty() {
                a href="/dashboard/appointments" { "First page" }
            }
            @if let Some(link) = next_link {
                " " a href={ "/dashboard/appointments?" (link) } rel="next" { "Next page" }
            }
        }
    };
    signed.page(Nav::Appointments, "Appointments", notice.as_deref(), body)
}

async fn retry_all_failed(
    State(dashboard): State<Dashboard>,
    SignedForm { signed_in, .. }: SignedForm<NoFields>,
) -> PageResult {
    let queued = app::requeue_failed(&dashboard.app, signed_in.business.id).await?;
    Ok(see_other(&format!(
        "/dashboard/appointments?queued={}",
        queued.len()
    )))
}

#[derive(Deserialize, Default)]
struct DetailQuery {
    #[serde(default)]
    date: String,
    notice: Option<String>,
}

async fn detail(
    State(dashboard): State<Dashboard>,
    Path(id): Path<AppointmentId>,
    signed: Signed,
    Query(query): Query<DetailQuery>,
) -> PageResult {
    let appointment = app::get_appointment(&dashboard.app, &signed.business, id).await?;
    let booked = match query.notice.as_deref() {
        Some("booked") => Some(booked_notice(&dashboard, &signed.business, &appointment).await?),
        _ => None,
    };
    let notice = match query.notice.as_deref() {
        Some("queued") => Some("Queued to sync again; this page shows the result once it is done."),
        Some("rescheduled") => Some("Rescheduled."),
        Some("cancelled") => Some("Cancelled. The time is free again."),
        Some("booked") => booked.as_deref(),
        _ => None,
    };
    let body = detail_body(&dashboard, &signed, &appointment, &query.date, None).await?;
    signed.page(Nav::Appointments, "Appointment", notice, body)
}

/// "Booked.", naming with whom once the business has more than one active member (with one, it is always them).
async fn booked_notice(
    dashboard: &Dashboard,
    business: &Business,
    appointment: &Appointment,
) -> Result<String, PageError> {
    let staff = app::list_staff(&dashboard.app, business).await?;
    if staff.iter().filter(|member| member.active).count() > 1 {
        Ok(format!("Booked with {}.", staff_name(&staff, appointment)))
    } else {
        Ok("Booked.".to_owned())
    }
}

/// The appointment's page; `refusal` is a reschedule the engine refused, with its alternatives.
async fn detail_body(
    dashboard: &Dashboard,
    signed: &Signed,
    appointment: &Appointment,
    date_text: &str,
    refusal: Option<(String, Vec<Interval>)>,
) -> Result<Markup, PageError> {
    let business = &signed.business;
    let zone = business.time_zone.zone();
    let services = service_names(dashboard, business).await?;
    let connection = written_connection(
        dashboard.app.store.as_ref(),
        business.id,
        appointment.staff_id,
    )
    .await?;
    let sync = &appointment.sync;
    let live = appointment.is_live();
    let date = date_text.parse::<Date>().unwrap_or(appointment.local_date);
    let times = if live {
        let mut times = free_times(
            dashboard,
            business,
            appointment.service_id,
            date,
            Some(appointment.id),
        )
        .await?;
        // Its own time is where it already is.
        times.retain(|slot| slot.start() != appointment.time.start());
        times
    } else {
        Vec::new()
    };
    let csrf = &signed.session.csrf_token;
    let retry_possible = connection.as_ref().is_some_and(|c| c.syncs_appointments());
    // Reconnecting is the owner's; staff are not sent to a page that refuses them.
    let may_fix_integrations = permits(signed.role, Permission::ManageIntegrations);
    Ok(html! {
        dl class="facts" {
            dt { "When" } dd { (when(appointment.time.start(), zone)) " – " (format::clock_time(appointment.time.end(), zone)) }
            dt { "Service" } dd { (service_name(&services, appointment)) }
            dt { "Customer" } dd { (appointment.customer.name.as_ref()) }
            dt { "Phone" } dd { (appointment.customer.phone.as_ref().map_or("—", |p| p.as_ref())) }
            dt { "Email" } dd { (appointment.customer.email.as_ref().map_or("—", |e| e.as_ref())) }
            dt { "Notes" } dd { (appointment.notes.as_ref().map_or("—", |n| n.as_ref())) }
            dt { "Source" } dd { (format::source(appointment.source)) }
            dt { "Status" } dd { (format::status(appointment.status)) }
            dt { "Buffers" } dd { (appointment.buffer_before.get()) " min before, " (appointment.buffer_after.get()) " min after" }
            dt { "Booked" } dd { (when(appointment.created_at, zone)) }
            dt { "Last changed" } dd { (when(appointment.updated_at, zone)) " (version " (appointment.version) ")" }
        }
        section class="card" aria-labelledby="sync-title" {
            h2 id="sync-title" { "Calendar sync" }
            p { (sync_badge(sync.status)) " since " (when(sync.updated_at, zone)) }
            @match (sync.status, &sync.error) {
                (SyncStatus::Failed, Some(failure)) => {
                    p class="reason" { strong { "What happened: " } (failure.message) }
                    p { strong { "What you can do: " } (what_to_do(failure.code)) }
                    p class="muted" { "Code: " code { (failure.code) } }
                    @if failure.code == SyncFailureCode::ReauthRequired && may_fix_integrations {
                        @if let Some(connection) = &connection {
                            p { a class="button primary" href={ "/dashboard/integrations#" (connection.provider) } { "Reconnect " (dashboard.app.registry.display_name(connection.provider)) } }
                        }
                    }
                }
                (SyncStatus::Pending, _) => { p { "Waiting to be written to your calendar; this usually takes seconds." } }
                (SyncStatus::Synced, _) => { p { "Your calendar shows this appointment as it is now." } }
                (SyncStatus::NotConnected, _) => { p { "No calendar was connected when it last changed. " @if may_fix_integrations { a href="/dashboard/integrations" { "Connect one" } } } }
                _ => {}
            }
            @if retry_possible {
                form method="post" action={ "/dashboard/appointments/" (appointment.id) "/retry" } class="inline" {
                    (csrf_field(csrf))
                    button type="submit" class=[(sync.status == SyncStatus::Failed).then_some("primary")] { "Retry Sync" }
                }
            }
        }
        @if live {
            section class="card" aria-labelledby="reschedule-title" {
                h2 id="reschedule-title" { "Reschedule" }
                form method="get" action={ "/dashboard/appointments/" (appointment.id) } class="filters" {
                    div class="field" {
                        label for="date" { "Day" }
                        input type="date" id="date" name="date" value=(date.to_string());
                    }
                    button type="submit" { "Show free times" }
                }
                @if let Some((reason, alternatives)) = &refusal {
                    div class="error-summary" role="alert" {
                        h3 { "That time cannot be booked" }
                        p { (reason) }
                        @if !alternatives.is_empty() { p { "The nearest free times are below." } }
                    }
                }
                @let choices = refusal.as_ref().map_or(times.as_slice(), |(_, alternatives)| alternatives.as_slice());
                form method="post" action={ "/dashboard/appointments/" (appointment.id) "/reschedule" } class="stack" {
                    (csrf_field(csrf))
                    (slot_choices(choices, zone, &format::day(date)))
                    @if !choices.is_empty() {
                        button type="submit" class="primary" { "Move the appointment" }
                    }
                }
            }
            section class="card" aria-labelledby="cancel-title" {
                h2 id="cancel-title" { "Cancel" }
                a class="button danger" href={ "/dashboard/appointments/" (appointment.id) "/cancel" } { "Cancel this appointment" }
            }
        }
        p { a href="/dashboard/appointments" { "All appointments" } }
    })
}

async fn retry(
    State(dashboard): State<Dashboard>,
    Path(id): Path<AppointmentId>,
    SignedForm { signed_in, .. }: SignedForm<NoFields>,
) -> PageResult {
    app::retry_sync(&dashboard.app, &signed_in.business, id).await?;
    Ok(see_other(&format!(
        "/dashboard/appointments/{id}?notice=queued"
    )))
}

#[derive(Deserialize)]
struct RescheduleFields {
    #[serde(default)]
    start: String,
}

async fn reschedule(
    State(dashboard): State<Dashboard>,
    Path(id): Path<AppointmentId>,
    SignedForm { signed_in, form }: SignedForm<RescheduleFields>,
) -> PageResult {
    let start = crate::domain::parse_instant("start", &form.start).map_err(AppError::from)?;
    let edit = AppointmentEdit::reschedule(start);
    match app::edit_appointment(&dashboard.app, &signed_in.business, id, &edit).await {
        Ok(_) => Ok(see_other(&format!(
            "/dashboard/appointments/{id}?notice=rescheduled"
        ))),
        Err(AppError::SlotUnavailable {
            requested,
            reason,
            alternatives,
            zone,
        }) => {
            let signed = Signed::load(&dashboard.app, signed_in).await?;
            let appointment = app::get_appointment(&dashboard.app, &signed.business, id).await?;
            let date = requested.to_zoned_datetime(zone.clone()).date().to_string();
            let body = detail_body(
                &dashboard,
                &signed,
                &appointment,
                &date,
                Some((
                    format!("{} is not available: {reason}.", when(requested, &zone)),
                    alternatives,
                )),
            )
            .await?;
            signed.page_with_status(
                axum::http::StatusCode::CONFLICT,
                Nav::Appointments,
                "Appointment",
                body,
            )
        }
        Err(other) => Err(other.into()),
    }
}

async fn confirm_cancel(
    State(dashboard): State<Dashboard>,
    Path(id): Path<AppointmentId>,
    signed: Signed,
) -> PageResult {
    let appointment = app::get_appointment(&dashboard.app, &signed.business, id).await?;
    let zone = signed.business.time_zone.zone();
    let body = html! {
        p { "Cancel " strong { (appointment.customer.name.as_ref()) } "'s appointment on " (when(appointment.time.start(), zone)) "?" }
        p { "The time becomes free for others at once, and the event is removed from your connected calendar. The customer is not told by us." }
        form method="post" action={ "/dashboard/appointments/" (id) "/cancel" } class="inline" {
            (csrf_field(&signed.session.csrf_token))
            button type="submit" class="danger" { "Cancel the appointment" }
        }
        " "
        a class="button" href={ "/dashboard/appointments/" (id) } { "Keep it" }
    };
    signed.page(Nav::Appointments, "Cancel the appointment?", None, body)
}

async fn cancel(
    State(dashboard): State<Dashboard>,
    Path(id): Path<AppointmentId>,
    SignedForm { signed_in, .. }: SignedForm<NoFields>,
) -> PageResult {
    app::cancel_appointment(&dashboard.app, &signed_in.business, id).await?;
    Ok(see_other(&format!(
        "/dashboard/appointments/{id}?notice=cancelled"
    )))
}
