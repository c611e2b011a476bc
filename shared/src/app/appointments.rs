//! Appointments: booking a slot checked against every rule with fresh data, reading, rescheduling and editing,
//! cancelling; and what a hold's conversion shares with a booking (the idempotent write, the refusal of a time).

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::availability::{self, Unavailability};
use crate::domain::{
    Appointment, AppointmentId, AppointmentStatus, BookingConflict, BookingSource, Business,
    Customer, Interval, Notes, Service, ServiceId, StaffId, StaffMember, SyncState, SyncStatus,
    ValidationError,
};
use crate::metrics;
use crate::ports::{
    AppointmentChange, AppointmentQuery, BookingReads, IdempotencyRecord, NewBooking, Page,
    ReadMark, StoreError,
};
use crate::ports::{AppointmentStore, BookingStore, BusyTimeStore, CatalogStore, ConnectionStore};

use super::assignment::{Attempt, place_and_write};
use super::availability::{BookedTime, alternatives_near, bookable, ensure_bookable};
use super::commands::{AppointmentEdit, IdempotentBooking};
use super::context::App;
use super::error::{AppError, Missing};
use super::staff::stored_or_first;
use super::staff_calendars::written_by;
use super::sync_core::appointment_job;

/// How long a booking's idempotency record is kept: long enough for any client retry loop.
const IDEMPOTENCY_RETENTION: SignedDuration = SignedDuration::from_hours(24);
/// Concurrent edits of one appointment are merged by re-reading; past this many collisions the caller is told.
const MAX_EDIT_ATTEMPTS: usize = 3;

/// What [`super::book`] books once a [`super::BookAppointment`] named a slot (not a hold).
#[derive(Clone, Debug)]
pub(super) struct BookingRequest {
    pub service_id: ServiceId,
    pub start: Timestamp,
    pub staff_id: Option<StaffId>,
    pub customer: Customer,
    pub notes: Option<Notes>,
    pub source: BookingSource,
}

#[derive(Debug)]
pub enum BookingOutcome {
    Created {
        appointment: Box<Appointment>,
        /// The member it is with, as the booking (or the hold's conversion) read them, so that the answer names
        /// them without reading again.
        member: Option<Box<StaffMember>>,
    },
    /// The same key and request were seen before: the appointment as it was booked then, unchanged, so the
    /// repeat is answered as the first request was.
    Replayed(Box<Appointment>),
}

/// Every refused booking or reschedule passes here and is counted: a rising rate of `taken` means callers are
/// offered times that are gone by the time they book.
pub(super) fn slot_unavailable(
    business: &Business,
    requested: Timestamp,
    reason: Unavailability,
    alternatives: Vec<Interval>,
) -> AppError {
    metrics::booking_conflict(reason.code());
    AppError::SlotUnavailable {
        requested,
        reason,
        alternatives,
        zone: business.time_zone.zone().clone(),
    }
}

/// The refusal of a write that lost its slot to a concurrent booking or hold, with the nearest alternatives (or why
/// they could not be found).
pub(super) async fn taken_meanwhile<S: CatalogStore + AppointmentStore + BusyTimeStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    service: &Service,
    start: Timestamp,
    staff_id: Option<StaffId>,
    conflict: &BookingConflict,
) -> AppError {
    match alternatives_near(app, business, service, start, None, staff_id).await {
        Ok(alternatives) => slot_unavailable(business, start, reason_for(conflict), alternatives),
        // Finding alternatives failed: that failure is the answer, as it would be for any read of the booking.
        Err(error) => error,
    }
}

fn reason_for(conflict: &BookingConflict) -> Unavailability {
    match conflict {
        BookingConflict::Overlap { .. } => Unavailability::Taken,
        BookingConflict::DailyLimitReached { .. }
        | BookingConflict::StaffDailyLimitReached { .. } => Unavailability::DailyLimitReached,
    }
}

async fn replay_or_refuse<S: BookingStore + AppointmentStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    idempotency: &IdempotentBooking,
) -> Result<Option<BookingOutcome>, AppError> {
    let now = app.clock.now();
    match app
        .store
        .get_idempotency_record(business.id, &idempotency.key, now)
        .await?
    {
        Some(record) if record.request_fingerprint == idempotency.request_fingerprint => {
            let booked = match serde_json::from_str::<Appointment>(&record.booked) {
                Ok(booked) => booked,
                // A record from before records held the appointment: answer with its current state.
                Err(_) => app
                    .store
                    .get_appointment(business.id, record.appointment_id)
                    .await?
                    .ok_or(AppError::NotFound(Missing::Appointment))?,
            };
            Ok(Some(BookingOutcome::Replayed(Box::new(booked))))
        }
        Some(_) => Err(AppError::IdempotencyKeyReused),
        None => Ok(None),
    }
}

/// Checks the slot against the rules with fresh data, then writes it with the store enforcing the concurrency-
/// sensitive rules atomically; a lost race comes back as `SlotUnavailable` with alternatives.
///
/// With an idempotency key, a request that finds the key already used by the same request replays that response,
/// also when it lost a race to it (concurrent retries of one request).
#[tracing::instrument(skip_all, fields(business_id = %business.id, service_id = %request.service_id, source = ?request.source, keyed = idempotency.is_some()))]
pub(super) async fn book_appointment<
    S: BookingReads + BookingStore + AppointmentStore + BusyTimeStore + ?Sized,
>(
    app: &App<S>,
    business: &Business,
    request: BookingRequest,
    idempotency: Option<IdempotentBooking>,
) -> Result<BookingOutcome, AppError> {
    let idempotency = idempotency.as_ref();
    let booking = book_once(app, business, request, idempotency);
    write_once_per_key(app, business, idempotency, lost_booking_race, booking).await
}

/// A booking that lost to a concurrent one (for the slot, or for its key) may have lost to a retry of itself.
fn lost_booking_race(error: &AppError) -> bool {
    matches!(
        error,
        AppError::SlotUnavailable { .. } | AppError::VersionConflict
    )
}

/// The idempotent write both bookings share. Without a key the write simply runs. With one, a key already used by
/// the same request replays that answer; otherwise the write runs, and if it fails with an error `lost_race` counts
/// as losing to a concurrent retry of the same request, that retry's answer is replayed instead of the error.
/// `write` is a future not yet polled, so it runs only when no earlier answer exists.
pub(super) async fn write_once_per_key<S: BookingStore + AppointmentStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    idempotency: Option<&IdempotentBooking>,
    lost_race: impl Fn(&AppError) -> bool,
    write: impl Future<Output = Result<BookingOutcome, AppError>>,
) -> Result<BookingOutcome, AppError> {
    let Some(idempotency) = idempotency else {
        return write.await;
    };
    if let Some(replay) = replay_or_refuse(app, business, idempotency).await? {
        return Ok(replay);
    }
    match write.await {
        Err(error) if lost_race(&error) => Ok(replay_or_refuse(app, business, idempotency)
            .await?
            .ok_or(error)?),
        outcome => outcome,
    }
}

async fn book_once<S: BookingReads + BookingStore + AppointmentStore + BusyTimeStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    request: BookingRequest,
    idempotency: Option<&IdempotentBooking>,
) -> Result<BookingOutcome, AppError> {
    // One read for the three (one BatchGetItem on DynamoDB); the staff read here is the one the slot is checked
    // against and the answer names the member from.
    let (service, connections, stored_staff) = app
        .store
        .service_connection_and_staff(business.id, request.service_id)
        .await?;
    let staff = stored_or_first(business, stored_staff);
    let service = bookable(service.ok_or(AppError::NotFound(Missing::Service))?)?;

    let id = AppointmentId::generate();
    let choice = StaffChoice {
        named: request.staff_id,
        known: Some(staff),
    };
    let (request, service, connections) = (&request, &service, &connections);
    let attempt = place_and_write(
        app,
        business,
        service,
        request.start,
        choice,
        |placed| async move {
            let appointment = Appointment {
                id,
                business_id: business.id,
                service_id: service.id,
                staff_id: placed.member.id,
                time: placed.time,
                local_date: placed.local_date,
                buffer_before: service.settings.buffer_before,
                buffer_after: service.settings.buffer_after,
                customer: request.customer.clone(),
                notes: request.notes.clone(),
                source: request.source,
                status: AppointmentStatus::Booked,
                version: 1,
                sync: SyncState::after_change(
                    written_by(connections, placed.member.id).is_some(),
                    placed.now,
                ),
                created_at: placed.now,
                updated_at: placed.now,
            };
            let record = idempotency_record(idempotency, &appointment, placed.now)?;
            let booking = NewBooking {
                appointment: &appointment,
                max_per_day: service.settings.max_per_day,
                staff_max_per_day: placed.member.settings.max_per_day,
                idempotency: record.as_ref(),
                checked_against: Some(&placed.mark),
            };
            let written = app.store.create_appointment(booking).await;
            Ok(Attempt {
                record: (appointment, placed.member),
                written,
            })
        },
    )
    .await?;
    let (appointment, member) = attempt.record;
    answer_written(app, appointment, Some(Box::new(member)), attempt.written).await
}

/// What the write of a new appointment means to the caller, once the refusals only one way of booking knows are
/// sorted out (a plain booking's conflicts, a hold's conversion): written, its calendar sync is queued; a key taken
/// meanwhile is a version conflict, so the caller replays the response of whoever took it.
pub(super) async fn answer_written<S: ?Sized>(
    app: &App<S>,
    appointment: Appointment,
    member: Option<Box<StaffMember>>,
    written: Result<(), StoreError>,
) -> Result<BookingOutcome, AppError> {
    match written {
        Ok(()) => {
            enqueue_sync(app, &appointment).await;
            Ok(BookingOutcome::Created {
                appointment: Box::new(appointment),
                member,
            })
        }
        Err(StoreError::IdempotencyKeyTaken) => Err(AppError::VersionConflict),
        Err(other) => Err(other.into()),
    }
}

/// What a keyed booking records so that a retry replays its answer: written in the same atomic step as the
/// appointment, by a plain booking and a hold's conversion alike.
pub(super) fn idempotency_record(
    idempotency: Option<&IdempotentBooking>,
    appointment: &Appointment,
    now: Timestamp,
) -> Result<Option<IdempotencyRecord>, AppError> {
    let Some(idempotency) = idempotency else {
        return Ok(None);
    };
    Ok(Some(IdempotencyRecord {
        business_id: appointment.business_id,
        key: idempotency.key.clone(),
        request_fingerprint: idempotency.request_fingerprint.clone(),
        appointment_id: appointment.id,
        booked: serde_json::to_string(appointment)
            .map_err(|error| AppError::Internal(Box::new(error)))?,
        created_at: now,
        expires_at: now.checked_add(IDEMPOTENCY_RETENTION).unwrap_or(now),
    }))
}

/// Who a slot is checked for: the member named (`None`: anyone), and the business's staff members if the caller has
/// already read them, so they are not read again.
pub(super) struct StaffChoice {
    pub named: Option<StaffId>,
    pub known: Option<Vec<StaffMember>>,
}

impl StaffChoice {
    /// The member named (or anyone), with the staff read along with the slot.
    pub(super) fn named(named: Option<StaffId>) -> Self {
        Self { named, known: None }
    }
}

/// A slot every rule allows now, and the member it is with.
pub(super) struct CheckedSlot {
    pub slot: Interval,
    pub member: StaffMember,
    /// The store's note of the read it was checked against, for a write that follows.
    pub mark: ReadMark,
}

/// The slot starting at `start` if every rule allows it now with the member named (`None`: anyone, assigned by the
/// business's policy among those free), else the reason with alternatives (the named member's).
pub(super) async fn checked_slot<S: CatalogStore + AppointmentStore + BusyTimeStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    service: &Service,
    start: Timestamp,
    rescheduling: Option<AppointmentId>,
    staff: StaffChoice,
    now: Timestamp,
) -> Result<CheckedSlot, AppError> {
    let StaffChoice {
        named: staff_id,
        known: known_staff,
    } = staff;
    let point = Interval::starting_at(start, service.settings.duration.as_duration())
        .ok_or_else(|| ValidationError::new("start", "is out of range"))?;
    let mut booked = BookedTime::around_knowing(app, business, point, known_staff).await?;
    if let Some(id) = rescheduling {
        booked = booked.without(id);
    }
    if let Some(staff_id) = staff_id {
        booked.named(staff_id, service)?;
    }
    match availability::check_slot_with_staff(
        &booked.input(service, business, now, staff_id),
        start,
    ) {
        Ok((slot, free)) => {
            let chosen = match free.as_slice() {
                [only] => Some(*only),
                _ => {
                    let local_date = start
                        .to_zoned_datetime(business.time_zone.zone().clone())
                        .date();
                    let settings = app.store.get_business_settings(business.id).await?;
                    settings
                        .assignment
                        .choose(&free, &booked.occupancies, local_date)
                }
            };
            let member = chosen
                .and_then(|id| booked.staff.iter().find(|member| member.id == id))
                .cloned()
                .ok_or(AppError::NotFound(Missing::StaffMember))?;
            Ok(CheckedSlot {
                slot,
                member,
                mark: booked.mark,
            })
        }
        Err(reason) => {
            let alternatives =
                alternatives_near(app, business, service, start, rescheduling, staff_id).await?;
            Err(slot_unavailable(business, start, reason, alternatives))
        }
    }
}

/// Hands a pending change to the sync worker. A failed enqueue is not the caller's problem: the appointment stays
/// `pending` and the scheduled sweep re-enqueues it.
pub(super) async fn enqueue_sync<S: ?Sized>(app: &App<S>, appointment: &Appointment) {
    if appointment.sync.status != SyncStatus::Pending {
        return;
    }
    let job = appointment_job(appointment);
    if let Err(error) = app.queue.enqueue(&job, Duration::ZERO).await {
        tracing::warn!(appointment_id = %appointment.id, error = %error, "sync job not enqueued; the sweep will retry");
    }
}

/// Whether the business's calendar receives our appointments, read fresh for each change: a calendar connected or
/// disconnected meanwhile decides whether this change is synced.
/// Whether any of `members` (an appointment's member, before and after a change) has a calendar their
/// appointments are written to.
pub(super) async fn calendar_takes_appointments<S: ConnectionStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    members: &[StaffId],
) -> Result<bool, AppError> {
    let connections = app.store.calendar_connections(business.id).await?;
    Ok(members
        .iter()
        .any(|member| written_by(&connections, *member).is_some()))
}

pub async fn get_appointment<S: AppointmentStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    id: AppointmentId,
) -> Result<Appointment, AppError> {
    app.store
        .get_appointment(business.id, id)
        .await?
        .ok_or(AppError::NotFound(Missing::Appointment))
}

pub async fn list_appointments<S: AppointmentStore + ?Sized>(
    app: &App<S>,
    query: &AppointmentQuery,
) -> Result<Page<Appointment>, AppError> {
    Ok(app.store.list_appointments(query).await?)
}

/// Reschedules and/or edits an appointment. Moving it re-checks every rule as a new booking would, except that the
/// appointment does not conflict with itself.
#[tracing::instrument(skip_all, fields(business_id = %business.id, appointment_id = %id))]
pub async fn edit_appointment<
    S: CatalogStore + BookingStore + AppointmentStore + ConnectionStore + BusyTimeStore + ?Sized,
>(
    app: &App<S>,
    business: &Business,
    id: AppointmentId,
    edit: &AppointmentEdit,
) -> Result<Appointment, AppError> {
    for _ in 0..MAX_EDIT_ATTEMPTS {
        let current = get_appointment(app, business, id).await?;
        if !current.is_live() {
            return Err(AppError::AppointmentCancelled);
        }
        if edit
            .expected_version
            .is_some_and(|expected| expected != current.version)
        {
            return Err(AppError::VersionConflict);
        }
        let now = app.clock.now();
        let mut next = current.clone();
        let mut max_per_day = None;
        let mut staff_max_per_day = None;
        let moved_in_time = edit.start.filter(|start| *start != current.time.start());
        let staff_id = edit.staff_id.unwrap_or(current.staff_id);
        // A new member is a move too: the time is checked against their diary.
        let moving = moved_in_time
            .or_else(|| (staff_id != current.staff_id).then_some(current.time.start()));
        let service = match moving {
            Some(start) => {
                let service = ensure_bookable(app, business, current.service_id).await?;
                let checked = checked_slot(
                    app,
                    business,
                    &service,
                    start,
                    Some(current.id),
                    StaffChoice::named(Some(staff_id)),
                    now,
                )
                .await?;
                let slot = checked.slot;
                next.staff_id = checked.member.id;
                staff_max_per_day = checked.member.settings.max_per_day;
                next.time = slot;
                next.local_date = slot
                    .start()
                    .to_zoned_datetime(business.time_zone.zone().clone())
                    .date();
                next.buffer_before = service.settings.buffer_before;
                next.buffer_after = service.settings.buffer_after;
                max_per_day = service.settings.max_per_day;
                Some(service)
            }
            None => None,
        };
        if let Some(customer) = &edit.customer {
            next.customer = customer.clone();
        }
        if let Some(notes) = &edit.notes {
            next.notes = notes.clone();
        }
        if next == current {
            return Ok(current);
        }
        let connected =
            calendar_takes_appointments(app, business, &[current.staff_id, next.staff_id]).await?;
        next.version = current.version + 1;
        next.sync = current.sync.after_next_change(connected, now);
        next.updated_at = now;
        let change = AppointmentChange {
            appointment: &next,
            expected_version: current.version,
            max_per_day,
            staff_max_per_day,
        };
        match app.store.update_appointment(change).await {
            Ok(()) => {
                enqueue_sync(app, &next).await;
                return Ok(next);
            }
            Err(StoreError::VersionMismatch) if edit.expected_version.is_none() => continue,
            Err(StoreError::Conflict(conflict)) => {
                let start = next.time.start();
                let alternatives = match &service {
                    Some(service) => {
                        alternatives_near(app, business, service, start, Some(id), Some(staff_id))
                            .await?
                    }
                    None => Vec::new(),
                };
                return Err(slot_unavailable(
                    business,
                    start,
                    reason_for(&conflict),
                    alternatives,
                ));
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(AppError::VersionConflict)
}

/// Cancels an appointment, freeing its time at once. Cancelling a cancelled appointment changes nothing.
#[tracing::instrument(skip_all, fields(business_id = %business.id, appointment_id = %id))]
pub async fn cancel_appointment<S: BookingStore + AppointmentStore + ConnectionStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    id: AppointmentId,
) -> Result<Appointment, AppError> {
    for _ in 0..MAX_EDIT_ATTEMPTS {
        let current = get_appointment(app, business, id).await?;
        if !current.is_live() {
            return Ok(current);
        }
        let connected = calendar_takes_appointments(app, business, &[current.staff_id]).await?;
        let now = app.clock.now();
        let next = Appointment {
            status: AppointmentStatus::Cancelled,
            version: current.version + 1,
            sync: current.sync.after_next_change(connected, now),
            updated_at: now,
            ..current.clone()
        };
        let change = AppointmentChange {
            appointment: &next,
            expected_version: current.version,
            max_per_day: None,
            staff_max_per_day: None,
        };
        match app.store.update_appointment(change).await {
            Ok(()) => {
                enqueue_sync(app, &next).await;
                return Ok(next);
            }
            Err(StoreError::VersionMismatch) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(AppError::VersionConflict)
}
