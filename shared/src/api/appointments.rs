//! `/v1/appointments`: booking, reading, rescheduling and cancelling.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::{
    self, App, AppError, AppointmentEdit, BookAppointment, BookingOutcome, CallerCursor,
    CallerListing, CallerPhase, IdempotentBooking,
};
use crate::domain::{
    AppointmentId, BookingSource, Business, Customer, Interval, Notes, parse_instant,
};
use crate::ports::{AppointmentQuery, AppointmentsApiStore, IdempotencyKey, PageCursor};

use super::dto::{
    AppointmentListParams, AppointmentPage, AppointmentPatchBody, AppointmentView, BookingBody,
    CustomerBody, RetryView, parse_window_bound,
};
use super::extract::{ApiJson, ApiPath, ApiQuery, Tenant};
use super::problem::ApiError;
use super::responses::{BookingErrors, CommonErrors, NotFoundError, RetryErrors};

const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
const REPLAYED_HEADER: &str = "idempotent-replayed";
const DEFAULT_PAGE_SIZE: u32 = 50;
const MAX_PAGE_SIZE: u32 = 200;

/// The state of these routes: the app with only the store roles they use (the holds' routes share it).
pub(super) type AppointmentsApp = App<dyn AppointmentsApiStore>;

pub fn routes() -> OpenApiRouter<AppointmentsApp> {
    OpenApiRouter::new()
        .routes(routes!(book_appointment, list_appointments))
        .routes(routes!(get_appointment, edit_appointment))
        .routes(routes!(cancel_appointment))
        .routes(routes!(retry_appointment_sync))
        .routes(routes!(retry_all_failed_syncs))
        .merge(super::holds::routes())
        .merge(super::staff::routes())
}

fn idempotency_from(
    headers: &HeaderMap,
    body: &BookingBody,
) -> Result<Option<IdempotentBooking>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY_HEADER) else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| ApiError::InvalidParameter {
        field: "Idempotency-Key",
        message: "must be visible ASCII".to_owned(),
    })?;
    let key = IdempotencyKey::try_from(text.to_owned())?;
    IdempotentBooking::new(key, body)
        .map(Some)
        .map_err(|error| ApiError::InvalidBody(error.to_string()))
}

/// The customer a body names, read for the business (national numbers in its country).
async fn customer_from(
    app: &AppointmentsApp,
    business: &Business,
    body: &CustomerBody,
) -> Result<Customer, AppError> {
    let CustomerBody { name, phone, email } = body;
    let (name, email) = (name.clone(), email.clone());
    app::read_customer(
        app,
        business,
        "customer.phone",
        name,
        phone.as_deref(),
        email,
    )
    .await
}

#[utoipa::path(post, path = "/v1/appointments", tag = "appointments", request_body = BookingBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body give the same response")),
    responses((status = 201, description = "Booked", body = AppointmentView), CommonErrors, BookingErrors))]
#[tracing::instrument(skip_all, fields(service_id = ?body.service_id, hold_id = ?body.hold_id))]
async fn book_appointment(
    State(app): State<AppointmentsApp>,
    Tenant(business): Tenant,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BookingBody>,
) -> Result<Response, ApiError> {
    let idempotency = idempotency_from(&headers, &body)?;
    let customer = customer_from(&app, &business, &body.customer).await?;
    let notes = body.notes.clone().map(Notes::try_from).transpose()?;
    let command = BookAppointment::new(
        body.target()?,
        customer,
        notes,
        body.source.unwrap_or(BookingSource::Api),
    )
    .idempotent(idempotency);
    let outcome = app::book(&app, &business, command).await?;
    let (appointment, member, replayed) = match outcome {
        BookingOutcome::Created {
            appointment,
            member,
        } => (appointment, member, false),
        BookingOutcome::Replayed(appointment) => (appointment, None, true),
    };
    // The member as the booking (or the hold's conversion) read them names them; a replay reads the staff for it.
    let staff = match member {
        Some(member) => vec![*member],
        None => app::list_staff(&app, &business).await?,
    };
    let body = serde_json::to_string(&AppointmentView::new(
        &appointment,
        &business.time_zone,
        &staff,
    ))
    .map_err(|error| ApiError::App(AppError::Internal(error.into())))?;
    let mut response = booked_response(body, appointment.id);
    if replayed {
        response
            .headers_mut()
            .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The answer to a booking, built the same way the first time and on every idempotent replay (from the appointment
/// as it was booked), so a retry sees the same status, body and headers (`Location`, `Content-Type`), plus only
/// `Idempotent-Replayed`.
fn booked_response(body: String, appointment_id: AppointmentId) -> Response {
    let mut response = (StatusCode::CREATED, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/appointments/{appointment_id}")) {
        headers.insert(header::LOCATION, location);
    }
    response
}

#[utoipa::path(get, path = "/v1/appointments/{appointment_id}", tag = "appointments",
    params(("appointment_id" = AppointmentId, Path, description = "Appointment id")),
    responses((status = 200, description = "The appointment", body = AppointmentView), CommonErrors, NotFoundError))]
#[tracing::instrument(skip_all, fields(%appointment_id))]
async fn get_appointment(
    State(app): State<AppointmentsApp>,
    Tenant(business): Tenant,
    ApiPath(appointment_id): ApiPath<AppointmentId>,
) -> Result<Json<AppointmentView>, ApiError> {
    let appointment = app::get_appointment(&app, &business, appointment_id).await?;
    let staff = app::list_staff(&app, &business).await?;
    Ok(Json(AppointmentView::new(
        &appointment,
        &business.time_zone,
        &staff,
    )))
}

fn encode_cursor(cursor: &PageCursor) -> String {
    format!("{}.{}", cursor.start.as_nanosecond(), cursor.id)
}

/// A caller's list runs in two phases (upcoming, then past), so its cursor names the phase: `u.…` or `p.…`, and
/// a bare `p` starts the past.
fn encode_caller_cursor(cursor: &CallerCursor) -> String {
    let phase = match cursor.phase {
        CallerPhase::Upcoming => "u",
        CallerPhase::Past => "p",
    };
    match &cursor.after {
        Some(after) => format!("{phase}.{}", encode_cursor(after)),
        None => phase.to_owned(),
    }
}

fn decode_caller_cursor(text: &str) -> Result<CallerCursor, ApiError> {
    let (phase, rest) = match text.split_once('.') {
        Some((phase, rest)) => (phase, Some(rest)),
        None => (text, None),
    };
    let phase = match phase {
        "u" => CallerPhase::Upcoming,
        "p" => CallerPhase::Past,
        _ => {
            return Err(ApiError::InvalidParameter {
                field: "cursor",
                message: "is not a cursor this API issued".to_owned(),
            });
        }
    };
    Ok(CallerCursor {
        phase,
        after: rest.map(decode_cursor).transpose()?,
    })
}

fn decode_cursor(text: &str) -> Result<PageCursor, ApiError> {
    let invalid = || ApiError::InvalidParameter {
        field: "cursor",
        message: "is not a cursor this API issued".to_owned(),
    };
    let (nanos, id) = text.split_once('.').ok_or_else(invalid)?;
    let start = nanos
        .parse::<i128>()
        .ok()
        .and_then(|nanos| Timestamp::from_nanosecond(nanos).ok())
        .ok_or_else(invalid)?;
    let id = id.parse::<AppointmentId>().map_err(|_| invalid())?;
    Ok(PageCursor { start, id })
}

#[utoipa::path(get, path = "/v1/appointments", tag = "appointments", params(AppointmentListParams),
    responses((status = 200, description = "A page of appointments ordered by start", body = AppointmentPage), CommonErrors))]
#[tracing::instrument(skip_all)]
async fn list_appointments(
    State(app): State<AppointmentsApp>,
    Tenant(business): Tenant,
    ApiQuery(params): ApiQuery<AppointmentListParams>,
) -> Result<Json<AppointmentPage>, ApiError> {
    let zone = business.time_zone.zone();
    let from = params
        .from
        .as_deref()
        .map(|text| parse_window_bound("from", text, zone, false))
        .transpose()?;
    let to = params
        .to
        .as_deref()
        .map(|text| parse_window_bound("to", text, zone, true))
        .transpose()?;
    let starts_within = match (from, to) {
        (None, None) => None,
        (from, to) => Some(
            Interval::new(from.unwrap_or(Timestamp::MIN), to.unwrap_or(Timestamp::MAX)).map_err(
                |_| ApiError::InvalidParameter {
                    field: "to",
                    message: "must be after from".to_owned(),
                },
            )?,
        ),
    };
    let limit = params.limit.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&limit) {
        return Err(ApiError::InvalidParameter {
            field: "limit",
            message: format!("must be 1 to {MAX_PAGE_SIZE}"),
        });
    }
    if let Some(phone) = params.phone.as_deref() {
        let listing = CallerListing {
            phone: app::normalize_customer_phone(&app, &business, "phone", phone).await?,
            starts_within,
            status: params.status,
            sync_status: params.sync_status,
            cursor: params
                .cursor
                .as_deref()
                .map(decode_caller_cursor)
                .transpose()?,
            limit,
        };
        let (page, staff) = tokio::try_join!(
            app::caller_appointments(&app, &business, &listing),
            app::list_staff(&app, &business),
        )?;
        return Ok(Json(AppointmentPage {
            items: page
                .items
                .iter()
                .map(|appointment| AppointmentView::new(appointment, &business.time_zone, &staff))
                .collect(),
            next_cursor: page.next.as_ref().map(encode_caller_cursor),
        }));
    }
    let query = AppointmentQuery {
        business_id: business.id,
        starts_within,
        status: params.status,
        sync_status: params.sync_status,
        staff_id: params.staff_id,
        after: params.cursor.as_deref().map(decode_cursor).transpose()?,
        limit,
    };
    let (page, staff) = tokio::try_join!(
        app::list_appointments(&app, &query),
        app::list_staff(&app, &business),
    )?;
    Ok(Json(AppointmentPage {
        items: page
            .items
            .iter()
            .map(|appointment| AppointmentView::new(appointment, &business.time_zone, &staff))
            .collect(),
        next_cursor: page.next.as_ref().map(encode_cursor),
    }))
}

#[utoipa::path(patch, path = "/v1/appointments/{appointment_id}", tag = "appointments", request_body = AppointmentPatchBody,
    params(("appointment_id" = AppointmentId, Path, description = "Appointment id")),
    responses((status = 200, description = "The appointment after the change", body = AppointmentView), CommonErrors, BookingErrors))]
#[tracing::instrument(skip_all, fields(%appointment_id))]
async fn edit_appointment(
    State(app): State<AppointmentsApp>,
    Tenant(business): Tenant,
    ApiPath(appointment_id): ApiPath<AppointmentId>,
    ApiJson(body): ApiJson<AppointmentPatchBody>,
) -> Result<Json<AppointmentView>, ApiError> {
    let start = body
        .start
        .as_deref()
        .map(|start| parse_instant("start", start))
        .transpose()?;
    let customer = match body.customer {
        Some(customer) => Some(customer_from(&app, &business, &customer).await?),
        None => None,
    };
    let edit = AppointmentEdit {
        start,
        customer,
        notes: body
            .notes
            .map(|notes| notes.map(Notes::try_from).transpose())
            .transpose()?,
        expected_version: body.expected_version,
        staff_id: body.staff_id,
    };
    let appointment = app::edit_appointment(&app, &business, appointment_id, &edit).await?;
    let staff = app::list_staff(&app, &business).await?;
    Ok(Json(AppointmentView::new(
        &appointment,
        &business.time_zone,
        &staff,
    )))
}

#[utoipa::path(post, path = "/v1/appointments/{appointment_id}/cancel", tag = "appointments",
    params(("appointment_id" = AppointmentId, Path, description = "Appointment id")),
    responses((status = 200, description = "The cancelled appointment; cancelling twice is harmless", body = AppointmentView), CommonErrors, NotFoundError))]
#[tracing::instrument(skip_all, fields(%appointment_id))]
async fn cancel_appointment(
    State(app): State<AppointmentsApp>,
    Tenant(business): Tenant,
    ApiPath(appointment_id): ApiPath<AppointmentId>,
) -> Result<Json<AppointmentView>, ApiError> {
    let appointment = app::cancel_appointment(&app, &business, appointment_id).await?;
    let staff = app::list_staff(&app, &business).await?;
    Ok(Json(AppointmentView::new(
        &appointment,
        &business.time_zone,
        &staff,
    )))
}

#[utoipa::path(post, path = "/v1/appointments/{appointment_id}/sync/retry", tag = "appointments",
    params(("appointment_id" = AppointmentId, Path, description = "Appointment id")),
    responses((status = 202, description = "Queued for calendar sync", body = RetryView), CommonErrors, RetryErrors))]
#[tracing::instrument(skip_all, fields(%appointment_id))]
async fn retry_appointment_sync(
    State(app): State<AppointmentsApp>,
    Tenant(business): Tenant,
    ApiPath(appointment_id): ApiPath<AppointmentId>,
) -> Result<(StatusCode, Json<RetryView>), ApiError> {
    let queued = app::retry_sync(&app, &business, appointment_id).await?;
    Ok((StatusCode::ACCEPTED, Json(RetryView::from(queued))))
}

#[utoipa::path(post, path = "/v1/appointments/sync/retry", tag = "appointments",
    responses((status = 202, description = "Every appointment whose sync failed, queued again", body = RetryView), CommonErrors))]
#[tracing::instrument(skip_all)]
async fn retry_all_failed_syncs(
    State(app): State<AppointmentsApp>,
    Tenant(business): Tenant,
) -> Result<(StatusCode, Json<RetryView>), ApiError> {
    let queued = app::requeue_failed(&app, business.id).await?;
    Ok((StatusCode::ACCEPTED, Json(RetryView::from(queued))))
}
