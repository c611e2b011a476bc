//! `book_appointment`: books a held time or a service at a start for the caller, once per idempotency key, with
//! the caller's number from the model or the platform; a time taken meanwhile answers with the nearest free times.

use serde_json::{Value, json};

use crate::agent::answers::BookingAnswer;
use crate::agent::arguments;
use crate::agent::call::{CallContext, ToolAnswer, ToolFailure};
use crate::app::{
    self, AppError, BookAppointment, BookingOutcome, BookingTarget, IdempotentBooking,
};
use crate::domain::{Appointment, BookingSource, Customer, Notes, StaffId};
use crate::ports::IdempotencyKey;

use super::input::{invalid, parse_service_id};
use super::local::Local;
use super::phone::customer;
use super::wording::{self, Attempt, Callback, Whom, failure};
use super::{Call, ToolResult, appointment_view, structured};

/// What identifies a booking request for idempotency (what to book and for whom): the same key with other details
/// is refused. Its shape is the one earlier releases fingerprinted, so a key stored before still replays; a staff
/// member named is added only when named, which earlier releases could not do.
fn fingerprinted_request(
    target: BookingTarget,
    customer: &Customer,
    notes: Option<&Notes>,
) -> Value {
    let target = match target {
        BookingTarget::Slot {
            service_id,
            start,
            staff_id: None,
        } => {
            json!({ "service_id": service_id.to_string(), "start": start.to_string() })
        }
        BookingTarget::Slot {
            service_id,
            start,
            staff_id: Some(staff_id),
        } => json!({
            "service_id": service_id.to_string(),
            "start": start.to_string(),
            "staff_id": staff_id.to_string(),
        }),
        BookingTarget::Held(hold_id) => json!({ "hold_id": hold_id.to_string() }),
    };
    json!({
        "tool": "book_appointment",
        "target": target,
        "customer_name": customer.name.as_ref(),
        "customer_phone": customer.phone.as_ref().map(AsRef::<str>::as_ref),
        "notes": notes.map(AsRef::<str>::as_ref),
    })
}

fn idempotency(
    args_key: Option<&str>,
    context: &CallContext,
    request: &Value,
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
    IdempotentBooking::new(key, request)
        .map(Some)
        .map_err(|error| {
            tracing::error!(%error, "a booking request could not be fingerprinted");
            ToolFailure::Unavailable
        })
}

/// What the model asked to book: a held time, or a service at a start with the member asked for (if any).
fn booking_target(
    local: &Local,
    args: &arguments::BookAppointment,
    staff_id: Option<StaffId>,
) -> Result<BookingTarget, ToolFailure> {
    match (&args.hold_id, &args.service_id, &args.start) {
        // A hold names its time; a strict-mode model may repeat the service and start, which the hold settles.
        (Some(hold_id), _, _) => hold_id
            .parse()
            .map(BookingTarget::Held)
            .map_err(|_| invalid("hold_id: must be the hold_id hold_time gave (a UUID)")),
        (None, Some(service_id), Some(start)) => Ok(BookingTarget::Slot {
            service_id: parse_service_id(service_id)?,
            start: local.parse_start("start", start)?,
            staff_id,
        }),
        (None, _, _) => Err(invalid(
            "give hold_id from hold_time, or service_id and start",
        )),
    }
}

pub(crate) async fn run(call: &Call<'_>, args: arguments::BookAppointment) -> ToolResult {
    let local = &call.local;
    // A hold already says who: a name given with it is not read (a strict-mode model repeats what it had).
    let asked = match &args.hold_id {
        Some(_) => None,
        None => call.staff_asked_for(args.staff.as_deref()).await?,
    };
    let staff_id = asked.as_ref().map(|(id, _)| *id);
    let target = booking_target(local, &args, staff_id)?;
    let (customer, callback) = customer(call, args.customer_name, args.customer_phone).await?;
    let notes = args
        .notes
        .map(Notes::try_from)
        .transpose()
        .map_err(|_| invalid("notes: at most 4000 characters"))?;
    let request = fingerprinted_request(target, &customer, notes.as_ref());
    let idempotency = idempotency(args.idempotency_key.as_deref(), call.context, &request)?;
    let command =
        BookAppointment::new(target, customer, notes, BookingSource::Ai).idempotent(idempotency);
    let outcome = match (app::book(call.app, call.business, command).await, target) {
        // Booked before (a retry without a key, or a second tool call): the booking stands, so say so.
        (Err(AppError::HoldAlreadyConverted), BookingTarget::Held(hold_id)) => {
            let appointment = call.appointment(hold_id.appointment_id()).await?;
            return booked(call, &appointment, true, callback).await;
        }
        (outcome, _) => outcome,
    };
    match outcome {
        Ok(BookingOutcome::Created { appointment, .. }) => {
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
            let staff = match asked {
                Some((_, staff)) => staff,
                None => call.staff().await?,
            };
            let with = Whom::new(&staff).with(&staff_id.into_iter().collect::<Vec<_>>());
            let summary = wording::not_free(
                local,
                Attempt::Book(service.as_ref()),
                requested,
                reason,
                &alternatives,
                &with,
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
    let (service, staff) = tokio::try_join!(call.service(appointment.service_id), call.staff())?;
    let whom = Whom::new(&staff);
    let summary = wording::booked(local, &service, appointment, &whom, callback);
    let answer = BookingAnswer {
        summary: summary.clone(),
        booked: true,
        appointment: Some(appointment_view(local, appointment, &service, &whom)),
        repeated,
        reason: None,
        alternatives: Vec::new(),
        callback_number_needed: callback.is_some(),
    };
    structured(&summary, &answer)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sha2::{Digest, Sha256};

    use super::*;
    use crate::agent::call::CallerId;
    use crate::domain::{CustomerName, PhoneNumber};

    fn request(target: BookingTarget) -> Value {
        let customer = Customer {
            name: CustomerName::try_from("Ada Lovelace".to_owned()).unwrap(),
            phone: Some(PhoneNumber::try_from("+14155550123".to_owned()).unwrap()),
            email: None,
        };
        let notes = Notes::try_from("first visit".to_owned()).unwrap();
        fingerprinted_request(target, &customer, Some(&notes))
    }

    fn fingerprint(request: &Value) -> String {
        let context = CallContext {
            caller: CallerId::NotAPhoneCall,
            idempotency_key: None,
        };
        idempotency(Some("call-0001"), &context, request)
            .unwrap()
            .unwrap()
            .request_fingerprint()
            .to_owned()
    }

    /// Keys the agent stored before it booked through `IdempotentBooking` hold the hex SHA-256 of this request's
    /// compact JSON; the same bytes now, so a retry across the deploy still replays instead of being refused.
    #[test]
    fn the_fingerprint_is_the_one_the_agent_stored_before() {
        let slot = request(BookingTarget::Slot {
            service_id: "0190f0b4-0000-7000-8000-000000000000".parse().unwrap(),
            start: "2026-12-08T15:30:00Z".parse().unwrap(),
            staff_id: None,
        });
        let held = request(BookingTarget::Held(
            "0190f0b4-0000-7000-8000-000000000001".parse().unwrap(),
        ));
        for request in [&slot, &held] {
            let hashed_before = hex::encode(Sha256::digest(request.to_string().as_bytes()));
            assert_eq!(fingerprint(request), hashed_before);
        }
        assert_eq!(
            fingerprint(&slot),
            "bbdeff0855c6d2793d12f83d650247a3d3d8d5b164cdd073d6e7ef0903a015bd"
        );
        assert_eq!(
            fingerprint(&held),
            "f7c877925ac07a5098990a336199a02c0036471b64c5cd086b2dd3492e2e4236"
        );
    }
}
