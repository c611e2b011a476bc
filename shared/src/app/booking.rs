//! Booking by command: the one entry a front door calls to book, whether the command names a slot or a hold.

use crate::domain::Business;
use crate::ports::{
    AppointmentStore, BookingReads, BookingStore, BusyTimeStore, CatalogStore, ConnectionStore,
};

use super::appointments::{BookingOutcome, BookingRequest, book_appointment};
use super::commands::{BookAppointment, BookingTarget};
use super::context::App;
use super::error::AppError;
use super::holds::{HeldBooking, book_held_appointment};

/// Books what `command` asks for: a slot checked against every rule, or the held time converted exactly once.
pub async fn book<
    S: CatalogStore
        + BookingReads
        + BookingStore
        + AppointmentStore
        + ConnectionStore
        + BusyTimeStore
        + ?Sized,
>(
    app: &App<S>,
    business: &Business,
    command: BookAppointment,
) -> Result<BookingOutcome, AppError> {
    match command.target {
        BookingTarget::Slot {
            service_id,
            start,
            staff_id,
        } => {
            let request = BookingRequest {
                service_id,
                start,
                staff_id,
                customer: command.customer,
                notes: command.notes,
                source: command.source,
            };
            book_appointment(app, business, request, command.idempotency).await
        }
        BookingTarget::Held(hold_id) => {
            let request = HeldBooking {
                hold_id,
                customer: command.customer,
                notes: command.notes,
                source: command.source,
            };
            book_held_appointment(app, business, request, command.idempotency).await
        }
    }
}
