//! A business's schedule over a window, as its calendar view reads it: who works there, the booked appointments, the
//! holds alive now and the busy time of its members' calendars, each overlapping the window.
//!
//! The stores list holds only as occupancies (what availability needs), so a hold is found as an occupancy that is
//! no booked appointment and then read whole, for its expiry; a day has a handful, so that costs a handful of reads.

use std::collections::HashSet;

use futures::future::try_join_all;

use crate::domain::{
    Appointment, AppointmentStatus, Business, Hold, HoldId, Interval, MAX_OCCUPIED_SPAN,
    MemberBusy, Service, StaffId, StaffMember,
};
use crate::ports::{AppointmentQuery, AppointmentStore, BookingStore, BusyTimeStore, CatalogStore};

use super::calendar_sync::all_matching;
use super::context::App;
use super::error::AppError;
use super::services::list_services;
use super::staff::list_staff;

/// Appointments are listed this many at a time.
const PAGE: u32 = 500;

/// What a window of the business's schedule holds.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// Every member, active or not, ordered as [`list_staff`] orders them.
    pub staff: Vec<StaffMember>,
    pub services: Vec<Service>,
    /// Booked appointments overlapping the window, by start.
    pub appointments: Vec<Appointment>,
    /// Holds alive now overlapping the window, by start.
    pub holds: Vec<Hold>,
    /// The staff members' calendar busy time overlapping the window, each interval with the member it keeps busy.
    busy: Vec<MemberBusy>,
}

impl Schedule {
    /// The busy time that keeps `member` from being booked: their own calendar's, and nobody else's.
    pub fn busy_of(&self, member: StaffId) -> impl Iterator<Item = Interval> + '_ {
        self.busy
            .iter()
            .filter(move |busy| busy.staff_id == member)
            .map(|busy| busy.interval)
    }
}

/// Reads the business's schedule overlapping `window`.
pub async fn read_schedule<
    S: CatalogStore + AppointmentStore + BookingStore + BusyTimeStore + ?Sized,
>(
    app: &App<S>,
    business: &Business,
    window: Interval,
) -> Result<Schedule, AppError> {
    // An appointment that started before the window may still run into it.
    let starts_within = window.widened(MAX_OCCUPIED_SPAN, jiff::SignedDuration::ZERO);
    let now = app.clock.now();
    let (staff, services, appointments, occupancies, busy) = tokio::try_join!(
        list_staff(app, business),
        list_services(app, business),
        all_matching(
            app,
            AppointmentQuery {
                business_id: business.id,
                starts_within: Some(starts_within),
                status: Some(AppointmentStatus::Booked),
                sync_status: None,
                staff_id: None,
                after: None,
                limit: PAGE,
            }
        ),
        async {
            app.store
                .live_occupancies(business.id, starts_within, now)
                .await
                .map_err(AppError::from)
        },
        async {
            app.store
                .busy_intervals_overlapping(business.id, window)
                .await
                .map_err(AppError::from)
        },
    )?;
    let booked: HashSet<_> = appointments.iter().map(|booked| booked.id).collect();
    let holds = try_join_all(
        occupancies
            .iter()
            .filter(|occupancy| !booked.contains(&occupancy.appointment_id))
            .map(|occupancy| {
                app.store.get_hold(
                    business.id,
                    HoldId::from(occupancy.appointment_id.as_uuid()),
                )
            }),
    )
    .await?;
    let mut holds: Vec<Hold> = holds
        .into_iter()
        .flatten()
        .filter(|hold| now < hold.expires_at && hold.time.overlaps(&window))
        .collect();
    holds.sort_by_key(|hold| hold.time.start());
    let appointments = appointments
        .into_iter()
        .filter(|appointment| appointment.time.overlaps(&window))
        .collect();
    Ok(Schedule {
        staff,
        services,
        appointments,
        holds,
        busy,
    })
}
