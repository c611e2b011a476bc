//! `book_appointment`: books a held time or a service at a start for the caller, once per idempotency key, with
//! the caller's number from the model or the platform; a time taken meanwhile answers with the nearest free times.

use jiff::Timestamp;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::agent::answers::BookingAnswer;
use crate::agent::arguments;
use crate::agent::call::{CallContext, ToolAnswer, ToolFailure};
use crate::app::{self, AppError, BookingOutcome, BookingRequest, HeldBooking, IdempotentBooking};
use crate::domain::{Appointment, BookingSource, Customer, HoldId, Notes, ServiceId};
use crate::ports::IdempotencyKey;

use super::input::{invalid, parse_service_id};
use super::local::Local;
use super::phone::customer;
use super::wording::{self, Attempt, Callback, failure};
use super::{Call, ToolResult, appointment_view, structured};

/// What identifies a booking request for idempotency (what to book and for whom): the same key with other details
/// is refused.
fn booking_fingerprint(target: Value, customer: &Customer, notes: Option<&Notes>) -> String {
    let canonical = json!({
        "tool": "book_appointment",
        "target": target,
        "customer_name": customer.name.as_ref(),
        "customer_phone": customer.phone.as_ref().map(AsRef::<str>::as_ref),
        "notes": notes.map(AsRef::<str>::as_ref),
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

fn idempotency(
    args_key: Option<&str>,
    context: &CallContext,
    customer: &Customer,
    notes: Option<&Notes>,
    target: Value,
) -> Result<Option<IdempotentBooking>, ToolFailure> {
    // The model's own keys get a prefix of their own, so they never collide with a REST client's keys.
    let key = match (&context.idempotency_key, args_key) {
        (Some(platform), _) => platform.clone(),
        (None, Some(model)) => format!("agent:{model}"),
        (None, None) => return Ok(None),
    };
    let key = IdempotencyKey::try_from(key).map_err(|_| {
        invalid("idempotency_key: must be 1 to 240 visible ASCII characters without spaces")
    })?;
    Ok(Some(IdempotentBooking {
        key,
        request_fingerprint: booking_fingerprint(target, customer, notes),
    }))
}

/// What the model asked to book: a held time, or a service at a start.
enum Booking {
    Held(HoldId),
    Direct {
        service_id: ServiceId,
        start: Timestamp,
    },
}

fn booking_target(
    local: &Local,
    args: &arguments::BookAppointment,
) -> Result<Booking, ToolFailure> {
    match (&args.hold_id, &args.service_id, &args.start) {
        // A hold names its time; a strict-mode model may repeat the service and start, which the hold settles.
        (Some(hold_id), _, _) => hold_id
            .parse()
            .map(Booking::Held)
            .map_err(|_| invalid("hold_id: must be the hold_id hold_time gave (a UUID)")),
        (None, Some(service_id), Some(start)) => Ok(Booking::Direct {
            service_id: parse_service_id(service_id)?,
            start: local.parse_start("start", start)?,
        }),
        (None, _, _) => Err(invalid(
            "give hold_id from hold_time, or service_id and start",
        )),
    }
}

pub(crate) async fn run(call: &Call<'_>, args: arguments::BookAppointment) -> ToolResult {
    let local = &call.local;
    let target = booking_target(local, &args)?;
    let (customer, callback) = customer(call, args.customer_name, args.customer_phone).await?;
    let notes = args
        .notes
        .map(Notes::try_from)
        .transpose()
        .map_err(|_| invalid("notes: at most 4000 characters"))?;
    let key = args.idempotency_key.as_deref();
    let outcome = match target {
        Booking::Direct { service_id, start } => {
            let target =
                json!({ "service_id": service_id.to_string(), "start": start.to_string() });
            let idempotency = idempotency(key, call.context, &customer, notes.as_ref(), target)?;
            let request = BookingRequest {
                service_id,
                start,
                customer,
                notes,
                source: BookingSource::Ai,
            };
            app::book_appointment(call.app, call.business, request, idempotency).await
        }
        Booking::Held(hold_id) => {
            let target = json!({ "hold_id": hold_id.to_string() });
            let idempotency = idempotency(key, call.context, &customer, notes.as_ref(), target)?;
            let request = HeldBooking {
                hold_id,
                customer,
                notes,
                source: BookingSource::Ai,
            };
            match app::book_held_appointment(call.app, call.business, request, idempotency).await {
                // Booked before (a retry without a key, or a second tool call): the booking stands, so say so.
                Err(AppError::HoldAlreadyConverted) => {
                    let appointment = call.appointment(hold_id.appointment_id()).await?;
                    return booked(call, &appointment, true, callback).await;
                }
                outcome => outcome,
            }
        }
    };
    match outcome {
        Ok(BookingOutcome::Created(appointment)) => {
            booked(call, &appointment, false, callback).await
        }
        // A repeat is told how the booking stands now, not only how it was made.
        Ok(BookingOutcome::Replayed(first)) => {
            let appointment = call.appointment(first.id).await?;
            booked(call, &appointment, true, callback).await
        }
        Err(AppError::SlotUnavailable {
            requested,
            reason,
            alternatives,
            ..
        }) => {
            // The reason is worded with the service, when the model named one.
            let service = match &args.service_id {
                Some(service_id) if wording::booking_refusal_names_service(reason) => {
                    Some(call.service(parse_service_id(service_id)?).await?)
                }
                _ => None,
            };
            let summary = wording::not_free(
                local,
                Attempt::Book(service.as_ref()),
                requested,
                reason,
                &alternatives,
            );
            let answer = BookingAnswer {
                summary: summary.clone(),
                booked: false,
                appointment: None,
                repeated: false,
                reason: Some(reason.code().to_owned()),
                alternatives: local.times(&alternatives),
                callback_number_needed: false,
            };
            structured(&summary, &answer)
        }
        Err(error) => Err(failure(error)),
    }
}

async fn booked(
    call: &Call<'_>,
    appointment: &Appointment,
    repeated: bool,
    callback: Option<Callback>,
) -> Result<ToolAnswer, ToolFailure> {
    let local = &call.local;
    let service = call.service(appointment.service_id).await?;
    let summary = wording::booked(local, &service, appointment, callback);
    let answer = BookingAnswer {
        summary: summary.clone(),
        booked: true,
        appointment: Some(appointment_view(local, appointment, &service)),
        repeated,
        reason: None,
        alternatives: Vec::new(),
        callback_number_needed: callback.is_some(),
    };
    structured(&summary, &answer)
}
