//! A business's staff members: created, read, listed, changed and deactivated, always scoped by the business that
//! asks; and who a booking is with when the caller names someone or nobody.
//!
//! Deactivating a member who still has live appointments ahead is refused (`StaffHasFutureAppointments`) unless the
//! request says what becomes of them ([`FutureAppointments`]): `Reassign` moves each to another member free at its
//! time, chosen by the business's assignment policy (an appointment nobody else can take stops the deactivation,
//! with the ones moved so far staying moved), `Cancel` cancels them.

use jiff::{SignedDuration, Timestamp};

use crate::domain::{
    Business, DateOverride, Interval, StaffId, StaffMember, StaffName, StaffServices,
    StaffSettings, ValidationError, WeeklyHours,
};
use crate::ports::{
    AppointmentQuery, AppointmentStore, BookingStore, BusyTimeStore, CatalogStore, ConnectionStore,
    StoreError,
};

use super::appointments::{cancel_appointment, edit_appointment};
use super::commands::AppointmentEdit;
use super::context::App;
use super::error::{AppError, Missing};

const MAX_UPDATE_ATTEMPTS: usize = 3;
/// How far ahead a deactivation looks for the member's appointments: past any service's booking horizon.
const FUTURE_REACH: SignedDuration = SignedDuration::from_hours(24 * 800);
const PAGE: u32 = 500;

/// The business's staff members, active or not, ordered by id: those stored, or, for a business the staff migration
/// has not reached yet, the first member it will store ([`StaffMember::first_of`]).
pub async fn list_staff<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
) -> Result<Vec<StaffMember>, AppError> {
    let stored = app.store.list_staff(business.id).await?;
    Ok(stored_or_first(business, stored))
}

/// The members as stored, or the first member a business the staff migration has not reached yet will have.
pub(super) fn stored_or_first(business: &Business, stored: Vec<StaffMember>) -> Vec<StaffMember> {
    if stored.is_empty() {
        return vec![first_member(business)];
    }
    stored
}

fn first_member(business: &Business) -> StaffMember {
    StaffMember::first_of(business.id, business.name.clone(), business.created_at)
}

pub async fn get_staff_member<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    id: StaffId,
) -> Result<StaffMember, AppError> {
    match app.store.get_staff_member(business.id, id).await? {
        Some(member) => Ok(member),
        None if id == StaffId::first_of(business.id)
            && app.store.list_staff(business.id).await?.is_empty() =>
        {
            Ok(first_member(business))
        }
        None => Err(AppError::NotFound(Missing::StaffMember)),
    }
}

#[tracing::instrument(skip_all, fields(business_id = %business.id))]
pub async fn create_staff_member<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    settings: StaffSettings,
) -> Result<StaffMember, AppError> {
    ensure_services_known(app, business, &settings.services).await?;
    let now = app.clock.now();
    let member = StaffMember {
        id: StaffId::generate(),
        business_id: business.id,
        settings: settings.validated()?,
        active: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    // A business the staff migration has not reached has its first member only implicitly (see `list_staff`):
    // stored first, or the new member would be the only one stored and the first would vanish from every list.
    if app.store.list_staff(business.id).await?.is_empty() {
        match app.store.create_staff_member(&first_member(business)).await {
            Ok(()) | Err(StoreError::AlreadyExists) => {}
            Err(other) => return Err(other.into()),
        }
    }
    app.store.create_staff_member(&member).await?;
    Ok(member)
}

/// A member performs services of their own business only: an id from elsewhere (or a typo) is refused, not kept.
async fn ensure_services_known<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    services: &StaffServices,
) -> Result<(), AppError> {
    let StaffServices::Only(ids) = services else {
        return Ok(());
    };
    if ids.is_empty() {
        return Ok(());
    }
    let known = app.store.list_services(business.id).await?;
    match ids
        .iter()
        .find(|id| !known.iter().any(|service| service.id == **id))
    {
        Some(unknown) => Err(ValidationError::new(
            "service_ids",
            format!("{unknown} is not a service of this business"),
        )
        .into()),
        None => Ok(()),
    }
}

/// A partial update: absent fields keep their value. `Some(None)` clears an optional setting. Deactivating goes
/// through [`deactivate_staff_member`], which decides about the member's appointments.
#[derive(Clone, Debug, Default)]
pub struct StaffChanges {
    pub name: Option<StaffName>,
    pub services: Option<StaffServices>,
    pub weekly_hours: Option<Option<WeeklyHours>>,
    pub date_overrides: Option<Vec<DateOverride>>,
    pub max_per_day: Option<Option<u32>>,
    /// Only `true` (reactivate) is applied here.
    pub reactivate: bool,
    /// Apply only if the member is still at this version (optimistic concurrency); without it a concurrent change is
    /// merged by reading again.
    pub expected_version: Option<u64>,
}

impl StaffChanges {
    fn apply_to(&self, member: &StaffMember) -> Result<StaffMember, AppError> {
        let mut settings = member.settings.clone();
        if let Some(name) = &self.name {
            settings.name = name.clone();
        }
        if let Some(services) = &self.services {
            settings.services = services.clone();
        }
        if let Some(hours) = &self.weekly_hours {
            settings.weekly_hours = hours.clone();
        }
        if let Some(overrides) = &self.date_overrides {
            settings.date_overrides = overrides.clone();
        }
        if let Some(limit) = self.max_per_day {
            settings.max_per_day = limit;
        }
        Ok(StaffMember {
            settings: settings.validated()?,
            active: member.active || self.reactivate,
            ..member.clone()
        })
    }
}

/// Applies `changes` to the member as stored now, retrying on a concurrent change (a first member the migration has
/// not stored yet is stored by this).
#[tracing::instrument(skip_all, fields(business_id = %business.id, staff_id = %id))]
pub async fn update_staff_member<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    id: StaffId,
    changes: &StaffChanges,
) -> Result<StaffMember, AppError> {
    if let Some(services) = &changes.services {
        ensure_services_known(app, business, services).await?;
    }
    for _ in 0..MAX_UPDATE_ATTEMPTS {
        let current = get_staff_member(app, business, id).await?;
        if changes
            .expected_version
            .is_some_and(|expected| expected != current.version)
        {
            return Err(AppError::VersionConflict);
        }
        let mut next = changes.apply_to(&current)?;
        if next == current {
            return Ok(current);
        }
        next.version = current.version + 1;
        next.updated_at = app.clock.now();
        match write_member(app, &current, &next).await {
            Ok(()) => return Ok(next),
            Err(StoreError::VersionMismatch) if changes.expected_version.is_none() => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(AppError::VersionConflict)
}

async fn write_member<S: CatalogStore + ?Sized>(
    app: &App<S>,
    current: &StaffMember,
    next: &StaffMember,
) -> Result<(), StoreError> {
    match app.store.update_staff_member(next, current.version).await {
        // The first member of a business not migrated yet: storing it is the migration's write, done early.
        Err(StoreError::NotFound) if current.id == StaffId::first_of(current.business_id) => {
            match app.store.create_staff_member(next).await {
                Err(StoreError::AlreadyExists) => Err(StoreError::VersionMismatch),
                other => other,
            }
        }
        other => other,
    }
}

/// What becomes of a deactivated member's appointments ahead.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FutureAppointments {
    /// Refuse while there are any (`StaffHasFutureAppointments`).
    #[default]
    Refuse,
    /// Give each to another member free at its time, by the business's assignment policy.
    Reassign,
    /// Cancel them.
    Cancel,
}

/// Deactivates a member: nothing more is offered or assigned to them. Their appointments ahead are handled as
/// `future` says; the last active member of a business cannot be deactivated.
#[tracing::instrument(skip_all, fields(business_id = %business.id, staff_id = %id))]
pub async fn deactivate_staff_member<
    S: CatalogStore + BookingStore + AppointmentStore + ConnectionStore + BusyTimeStore + ?Sized,
>(
    app: &App<S>,
    business: &Business,
    id: StaffId,
    future: FutureAppointments,
) -> Result<StaffMember, AppError> {
    let member = get_staff_member(app, business, id).await?;
    if !member.active {
        return Ok(member);
    }
    let others_active = list_staff(app, business)
        .await?
        .iter()
        .any(|other| other.id != id && other.active);
    if !others_active {
        return Err(AppError::LastActiveStaffMember);
    }
    let ahead = future_appointments(app, business, id).await?;
    match future {
        FutureAppointments::Refuse if !ahead.is_empty() => {
            return Err(AppError::StaffHasFutureAppointments { count: ahead.len() });
        }
        FutureAppointments::Refuse => {}
        FutureAppointments::Cancel => {
            for appointment in &ahead {
                cancel_appointment(app, business, *appointment).await?;
            }
        }
        FutureAppointments::Reassign => {
            for appointment in &ahead {
                reassign(app, business, *appointment, id).await?;
            }
        }
    }
    for _ in 0..MAX_UPDATE_ATTEMPTS {
        let current = get_staff_member(app, business, id).await?;
        let next = StaffMember {
            active: false,
            version: current.version + 1,
            updated_at: app.clock.now(),
            ..current.clone()
        };
        match write_member(app, &current, &next).await {
            Ok(()) => return Ok(next),
            Err(StoreError::VersionMismatch) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(AppError::VersionConflict)
}

/// Moves one appointment from `leaving` to whoever else is free at its time.
async fn reassign<
    S: CatalogStore + BookingStore + AppointmentStore + ConnectionStore + BusyTimeStore + ?Sized,
>(
    app: &App<S>,
    business: &Business,
    appointment: crate::domain::AppointmentId,
    leaving: StaffId,
) -> Result<(), AppError> {
    let staff = list_staff(app, business).await?;
    let mut last_refusal = None;
    for other in staff.iter().filter(|m| m.id != leaving && m.active) {
        let edit = AppointmentEdit {
            staff_id: Some(other.id),
            ..AppointmentEdit::default()
        };
        match edit_appointment(app, business, appointment, &edit).await {
            Ok(_) => return Ok(()),
            Err(refusal @ (AppError::SlotUnavailable { .. } | AppError::StaffDoesNotPerform)) => {
                last_refusal = Some(refusal)
            }
            Err(other) => return Err(other),
        }
    }
    Err(last_refusal.unwrap_or(AppError::LastActiveStaffMember))
}

/// The member's live appointments from now on, soonest first.
async fn future_appointments<S: AppointmentStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    id: StaffId,
) -> Result<Vec<crate::domain::AppointmentId>, AppError> {
    let now: Timestamp = app.clock.now();
    let until = now.checked_add(FUTURE_REACH).unwrap_or(Timestamp::MAX);
    let window = Interval::new(now, until).map_err(|e| AppError::Internal(Box::new(e)))?;
    let mut found = Vec::new();
    let mut after = None;
    loop {
        let page = app
            .store
            .list_appointments(&AppointmentQuery {
                business_id: business.id,
                starts_within: Some(window),
                status: Some(crate::domain::AppointmentStatus::Booked),
                sync_status: None,
                staff_id: Some(id),
                after,
                limit: PAGE,
            })
            .await?;
        found.extend(page.items.iter().map(|appointment| appointment.id));
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(found),
        }
    }
}
