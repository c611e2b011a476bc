//! Holds: a time kept for a caller while they decide, then booked from the hold exactly once. The store enforces
//! holds in the same atomic writes as bookings, so a hold and a booking (or two holds) can never both take a time.

use jiff::Timestamp;

use crate::availability::Unavailability;
use crate::domain::{
    Appointment, AppointmentStatus, BookingSource, Business, Customer, Hold, HoldId, Notes,
    SyncState,
};
use crate::ports::{AppointmentStore, BookingReads, BookingStore, BusyTimeStore, CatalogStore};
use crate::ports::{NewBooking, NewHold, StoreError};

use super::appointments::{
    BookingOutcome, StaffChoice, answer_written, idempotency_record, slot_unavailable,
    write_once_per_key,
};
use super::assignment::{Attempt, place_and_write};
use super::availability::{alternatives_near, ensure_bookable};
use super::commands::{HoldTime, IdempotentBooking};
use super::context::App;
use super::error::{AppError, Missing};
use super::staff::stored_or_first;
use super::staff_calendars::written_by;

/// Holds the slot starting at `start` for the business's hold lifetime (5 minutes unless the owner chose 1 to 15),
/// if every booking rule allows it now; otherwise the reason and the nearest alternatives, as for a booking.
#[tracing::instrument(skip_all, fields(business_id = %business.id, service_id = %request.service_id))]
pub async fn create_hold<
    S: CatalogStore + BookingStore + AppointmentStore + BusyTimeStore + ?Sized,
>(
    app: &App<S>,
    business: &Business,
    request: HoldTime,
) -> Result<Hold, AppError> {
    let (service, settings) =
        tokio::try_join!(ensure_bookable(app, business, request.service_id), async {
            app.store
                .get_business_settings(business.id)
                .await
                .map_err(AppError::from)
        })?;
    let id = HoldId::generate();
    let lifetime = settings.hold_minutes().as_duration();
    let service = &service;
    let choice = StaffChoice::named(request.staff_id);
    let attempt = place_and_write(
        app,
        business,
        service,
        request.start,
        choice,
        |placed| async move {
            let hold = Hold {
                id,
                business_id: business.id,
                service_id: service.id,
                staff_id: placed.member.id,
                time: placed.time,
                local_date: placed.local_date,
                buffer_before: service.settings.buffer_before,
                buffer_after: service.settings.buffer_after,
                created_at: placed.now,
                expires_at: placed.now.checked_add(lifetime).unwrap_or(placed.now),
            };
            let new = NewHold {
                hold: &hold,
                max_per_day: service.settings.max_per_day,
                staff_max_per_day: placed.member.settings.max_per_day,
            };
            let written = app.store.create_hold(new).await;
            Ok(Attempt {
                record: hold,
                written,
            })
        },
    )
    .await?;
    attempt.written?;
    Ok(attempt.record)
}

/// The hold, if the business has it: alive, or expired and not yet tidied away.
pub async fn get_hold<S: BookingStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    id: HoldId,
) -> Result<Hold, AppError> {
    app.store
        .get_hold(business.id, id)
        .await?
        .ok_or(AppError::NotFound(Missing::Hold))
}

/// Frees the held time at once. Releasing a hold that is gone (released, converted, tidied after expiry) is
/// `NotFound`, so a caller learns that it no longer held anything.
#[tracing::instrument(skip_all, fields(business_id = %business.id, hold_id = %id))]
pub async fn release_hold<S: BookingStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    id: HoldId,
) -> Result<(), AppError> {
    if app.store.release_hold(business.id, id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound(Missing::Hold))
    }
}

/// Who the held time is for.
#[derive(Clone, Debug)]
pub(super) struct HeldBooking {
    pub(super) hold_id: HoldId,
    pub(super) customer: Customer,
    pub(super) notes: Option<Notes>,
    pub(super) source: BookingSource,
}

/// Books the held time: the hold becomes the appointment (with the hold's id) in one atomic write, exactly once.
/// The time is kept as held even if hours, notice or limits changed since; only the business's calendar can still
/// refuse it (`calendar_busy`), because a meeting put there meanwhile is a real conflict. With an idempotency key a
/// retry gets the first answer again.
#[tracing::instrument(skip_all, fields(business_id = %business.id, hold_id = %request.hold_id, keyed = idempotency.is_some()))]
pub(super) async fn book_held_appointment<
    S: BookingReads + AppointmentStore + BusyTimeStore + ?Sized,
>(
    app: &App<S>,
    business: &Business,
    request: HeldBooking,
    idempotency: Option<IdempotentBooking>,
) -> Result<BookingOutcome, AppError> {
    let conversion = convert_once(app, business, request, idempotency.as_ref());
    write_once_per_key(
        app,
        business,
        idempotency.as_ref(),
        lost_conversion_race,
        conversion,
    )
    .await
}

/// A conversion that finds the hold converted (or its key taken) may have lost to a retry of itself.
fn lost_conversion_race(error: &AppError) -> bool {
    matches!(
        error,
        AppError::HoldAlreadyConverted | AppError::VersionConflict
    )
}

/// Why a hold cannot be converted: converted already, expired, or never (or no longer) there.
async fn unusable_hold<S: BookingStore + AppointmentStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    id: HoldId,
    now: Timestamp,
) -> AppError {
    match app.store.get_hold(business.id, id).await {
        Ok(Some(hold)) if !hold.is_alive_at(now) => return AppError::HoldExpired,
        Ok(_) => {}
        Err(error) => return error.into(),
    }
    match app
        .store
        .get_appointment(business.id, id.appointment_id())
        .await
    {
        Ok(Some(_)) => AppError::HoldAlreadyConverted,
        Ok(None) => AppError::NotFound(Missing::Hold),
        Err(error) => error.into(),
    }
}

async fn convert_once<S: BookingReads + AppointmentStore + BusyTimeStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    request: HeldBooking,
    idempotency: Option<&IdempotentBooking>,
) -> Result<BookingOutcome, AppError> {
    let now = app.clock.now();
    // One read for the three (on DynamoDB one BatchGetItem beside the connections' Query): the staff read here
    // names the held member in the answer.
    let (hold, connections, staff) = app
        .store
        .hold_connection_and_staff(business.id, request.hold_id)
        .await?;
    let Some(hold) = hold.filter(|hold| hold.is_alive_at(now)) else {
        return Err(unusable_hold(app, business, request.hold_id, now).await);
    };
    let member = stored_or_first(business, staff)
        .into_iter()
        .find(|member| member.id == hold.staff_id)
        .map(Box::new);
    // Only the held member's own calendar can have become busy for them since.
    let busy = app
        .store
        .busy_intervals_overlapping(business.id, hold.occupied())
        .await?;
    if busy.iter().any(|busy| busy.staff_id == hold.staff_id) {
        let service = ensure_bookable(app, business, hold.service_id).await;
        let alternatives = match service {
            Ok(service) => {
                alternatives_near(
                    app,
                    business,
                    &service,
                    hold.time.start(),
                    None,
                    Some(hold.staff_id),
                )
                .await?
            }
            Err(_) => Vec::new(),
        };
        return Err(slot_unavailable(
            business,
            hold.time.start(),
            Unavailability::CalendarBusy,
            alternatives,
        ));
    }
    let appointment = Appointment {
        id: hold.id.appointment_id(),
        business_id: business.id,
        service_id: hold.service_id,
        staff_id: hold.staff_id,
        time: hold.time,
        local_date: hold.local_date,
        buffer_before: hold.buffer_before,
        buffer_after: hold.buffer_after,
        customer: request.customer,
        notes: request.notes,
        source: request.source,
        status: AppointmentStatus::Booked,
        version: 1,
        sync: SyncState::after_change(written_by(&connections, hold.staff_id).is_some(), now),
        created_at: now,
        updated_at: now,
    };
    let record = idempotency_record(idempotency, &appointment, now)?;
    let booking = NewBooking {
        appointment: &appointment,
        max_per_day: None,
        staff_max_per_day: None,
        idempotency: record.as_ref(),
        checked_against: None,
    };
    match app.store.convert_hold(booking).await {
        Err(StoreError::AlreadyExists) => Err(AppError::HoldAlreadyConverted),
        Err(StoreError::NotFound) => Err(unusable_hold(app, business, hold.id, now).await),
        written => answer_written(app, appointment, member, written).await,
    }
}

/// Deletes holds that expired by now; only tidies, since expired holds already block nothing.
#[tracing::instrument(skip_all)]
pub async fn remove_expired_holds<S: BookingStore + ?Sized>(app: &App<S>) -> Result<u32, AppError> {
    const PER_RUN: u32 = 1_000;
    Ok(app
        .store
        .remove_expired_holds(app.clock.now(), PER_RUN)
        .await?)
}
