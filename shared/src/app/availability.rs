//! Availability as the use cases read it: the free times of a service in a window, whether one time can be
//! booked and the nearest alternatives, with the booked and busy time read once around the window.

use jiff::{SignedDuration, Timestamp};

use crate::availability::{self, AvailabilityInput, OfferedSlot, Unavailability};
use crate::domain::{
    AppointmentId, Business, Interval, MAX_OCCUPIED_SPAN, MemberBusy, Occupancy, Service,
    ServiceId, StaffId, StaffMember, ValidationError,
};
use crate::ports::{AppointmentStore, BusyTimeStore, CatalogStore, ReadMark};

use super::commands::FindTimes;
use super::context::App;
use super::error::{AppError, Missing};
use super::services::get_service;
use super::staff::list_staff;

/// The longest window one availability request may ask for; longer ones are refused rather than silently cut.
pub const MAX_WINDOW_DAYS: i64 = 93;
/// How many alternatives a refused time comes with: enough for a phone agent to offer a choice.
pub const ALTERNATIVES: usize = 3;
/// How far from a refused time alternatives are looked for.
const ALTERNATIVES_REACH: SignedDuration = SignedDuration::from_hours(14 * 24);
/// A local date lasts at most 25 hours (a DST fall-back day), so this margin always reaches the start of the local
/// date of any slot in the window, which the daily limit counts over.
const LOCAL_DAY_MARGIN: SignedDuration = SignedDuration::from_hours(26);

#[derive(Debug)]
pub struct AvailabilityAnswer {
    pub service: Service,
    pub requested: Interval,
    /// The part of the requested window in which booking is allowed now, as the first and last start time that
    /// may be booked (both inclusive); `None` when none of it is.
    pub searched: Option<(Timestamp, Timestamp)>,
    /// Each free slot with the members free for it (the one asked about, or every qualified member for anyone).
    pub slots: Vec<OfferedSlot>,
    /// The business's staff members, to name those in `slots`.
    pub staff: Vec<StaffMember>,
}

impl AvailabilityAnswer {
    /// True when the booking window (minimum notice, horizon) cut the requested window.
    pub fn clipped(&self) -> bool {
        self.searched.is_none_or(|(first, last)| {
            first != self.requested.start() || last != self.requested.end()
        })
    }
}

#[derive(Debug)]
pub struct SlotCheck {
    pub service: Service,
    pub requested: Timestamp,
    /// The slot and the members free for it, or why nobody asked about is.
    pub verdict: Result<(Interval, Vec<StaffId>), Unavailability>,
    pub alternatives: Vec<Interval>,
    /// The business's staff members, to name those in `verdict`.
    pub staff: Vec<StaffMember>,
}

/// What the engine needs besides the service: the business's staff members, and its live appointments and its
/// members' external busy time near `around`.
pub(super) struct BookedTime {
    pub occupancies: Vec<Occupancy>,
    pub busy: Vec<MemberBusy>,
    pub staff: Vec<StaffMember>,
    /// The store's note of the occupancies' read, handed back with a booking checked against them.
    pub mark: ReadMark,
}

impl BookedTime {
    /// Reads all three in parallel: these queries are the whole I/O cost of an availability answer, however many
    /// staff members the business has.
    pub(super) async fn around<S: CatalogStore + AppointmentStore + BusyTimeStore + ?Sized>(
        app: &App<S>,
        business: &Business,
        around: Interval,
    ) -> Result<Self, AppError> {
        Self::around_knowing(app, business, around, None).await
    }

    /// As [`Self::around`], with the staff members already read by the caller (`known_staff`), if any, instead of
    /// reading them again.
    pub(super) async fn around_knowing<
        S: CatalogStore + AppointmentStore + BusyTimeStore + ?Sized,
    >(
        app: &App<S>,
        business: &Business,
        around: Interval,
        known_staff: Option<Vec<StaffMember>>,
    ) -> Result<Self, AppError> {
        let reach = MAX_OCCUPIED_SPAN + LOCAL_DAY_MARGIN;
        let widened = around.widened(reach, reach);
        // Holds count while alive now; the store judges the same at the moment of the write.
        let (read, busy, staff) = tokio::try_join!(
            async {
                app.store
                    .read_live_occupancies(business.id, widened, app.clock.now())
                    .await
                    .map_err(AppError::from)
            },
            async {
                app.store
                    .busy_intervals_overlapping(business.id, widened)
                    .await
                    .map_err(AppError::from)
            },
            async {
                match known_staff {
                    Some(staff) => Ok(staff),
                    None => list_staff(app, business).await,
                }
            },
        )?;
        Ok(Self {
            occupancies: read.occupancies,
            busy,
            staff,
            mark: read.mark,
        })
    }

    /// The members a question is about: the one named (nobody, when the business has no such member), or all.
    pub(super) fn asked(&self, staff_id: Option<StaffId>) -> &[StaffMember] {
        match staff_id {
            None => &self.staff,
            Some(id) => self
                .staff
                .iter()
                .position(|member| member.id == id)
                .and_then(|at| self.staff.get(at..=at))
                .unwrap_or(&[]),
        }
    }

    /// The named member, refused when the business has none by that id, they are inactive, or they do not perform
    /// the service.
    pub(super) fn named(
        &self,
        staff_id: StaffId,
        service: &Service,
    ) -> Result<&StaffMember, AppError> {
        let member = self
            .staff
            .iter()
            .find(|member| member.id == staff_id)
            .ok_or(AppError::NotFound(Missing::StaffMember))?;
        if !member.active {
            return Err(AppError::StaffInactive);
        }
        if !member.settings.services.includes(service.id) {
            return Err(AppError::StaffDoesNotPerform);
        }
        Ok(member)
    }

    pub(super) fn without(mut self, appointment: AppointmentId) -> Self {
        self.occupancies
            .retain(|occupancy| occupancy.appointment_id != appointment);
        self
    }

    pub(super) fn input<'a>(
        &'a self,
        service: &'a Service,
        business: &'a Business,
        now: Timestamp,
        staff_id: Option<StaffId>,
    ) -> AvailabilityInput<'a> {
        AvailabilityInput {
            service,
            zone: business.time_zone.zone(),
            now,
            occupancies: &self.occupancies,
            busy: &self.busy,
            staff: self.asked(staff_id),
        }
    }
}

/// A window of at most [`MAX_WINDOW_DAYS`].
pub fn checked_window(window: Interval) -> Result<Interval, AppError> {
    if window.length() > SignedDuration::from_hours(MAX_WINDOW_DAYS * 24) {
        return Err(AppError::WindowTooLong {
            max_days: MAX_WINDOW_DAYS,
        });
    }
    Ok(window)
}

async fn bookable_service<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    service_id: ServiceId,
) -> Result<Service, AppError> {
    bookable(get_service(app, business, service_id).await?)
}

/// The service if it takes bookings.
pub(super) fn bookable(service: Service) -> Result<Service, AppError> {
    if !service.active {
        return Err(AppError::ServiceInactive);
    }
    Ok(service)
}

/// The free times a [`FindTimes`] asks for: free slots of its service whose start lies in its window, clipped to
/// what may be booked now, each with who is free (the member it names, or anyone qualified).
pub async fn find_times<S: CatalogStore + AppointmentStore + BusyTimeStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    command: FindTimes,
) -> Result<AvailabilityAnswer, AppError> {
    let FindTimes {
        service_id,
        window,
        moving,
        staff_id,
    } = command;
    availability_in(app, business, service_id, window, moving, staff_id).await
}

async fn availability_in<S: CatalogStore + AppointmentStore + BusyTimeStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    service_id: ServiceId,
    window: Interval,
    moving: Option<AppointmentId>,
    staff_id: Option<StaffId>,
) -> Result<AvailabilityAnswer, AppError> {
    let window = checked_window(window)?;
    // The service and the booked time around the whole requested window are read at once: one round trip to the
    // store instead of two, at the price of sometimes reading past the horizon.
    let (service, mut booked) = tokio::try_join!(
        bookable_service(app, business, service_id),
        BookedTime::around(app, business, window),
    )?;
    if let Some(moving) = moving {
        booked = booked.without(moving);
    }
    if let Some(staff_id) = staff_id {
        booked.named(staff_id, &service)?;
    }
    let now = app.clock.now();
    let bookable = availability::booking_window(&service, now);
    // The horizon itself is a valid start, so the half-open search interval reaches one tick past it.
    let search = Interval::new(
        window.start().max(bookable.earliest),
        window.end().min(
            bookable
                .latest
                .checked_add(SignedDuration::from_nanos(1))
                .unwrap_or(Timestamp::MAX),
        ),
    )
    .ok();
    let slots = match search {
        Some(search) => {
            availability::offered_slots(&booked.input(&service, business, now, staff_id), search)
        }
        None => Vec::new(),
    };
    let searched = search.map(|search| (search.start(), window.end().min(bookable.latest)));
    Ok(AvailabilityAnswer {
        service,
        requested: window,
        searched,
        slots,
        staff: booked.staff,
    })
}

/// Whether `start` can be booked now with the member named (`None`: anyone), why not, and the nearest alternatives
/// (theirs) if not.
pub async fn check_availability<S: CatalogStore + AppointmentStore + BusyTimeStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    service_id: ServiceId,
    start: Timestamp,
    staff_id: Option<StaffId>,
) -> Result<SlotCheck, AppError> {
    let service = bookable_service(app, business, service_id).await?;
    let now = app.clock.now();
    let booked = BookedTime::around(app, business, instant(start)?).await?;
    if let Some(staff_id) = staff_id {
        booked.named(staff_id, &service)?;
    }
    let verdict = availability::check_slot_with_staff(
        &booked.input(&service, business, now, staff_id),
        start,
    );
    let alternatives = match verdict {
        Ok(_) => Vec::new(),
        Err(_) => alternatives_near(app, business, &service, start, None, staff_id).await?,
    };
    Ok(SlotCheck {
        service,
        requested: start,
        verdict,
        alternatives,
        staff: booked.staff,
    })
}

fn instant(at: Timestamp) -> Result<Interval, AppError> {
    Interval::starting_at(at, SignedDuration::from_nanos(1))
        .ok_or_else(|| AppError::Validation(ValidationError::new("start", "is out of range")))
}

/// The bookable slots nearest to `start`. A time before the minimum notice or past the horizon is moved to the
/// nearest edge of the booking window first, so "too far" still comes with the latest times that can be booked.
pub(super) async fn alternatives_near<
    S: CatalogStore + AppointmentStore + BusyTimeStore + ?Sized,
>(
    app: &App<S>,
    business: &Business,
    service: &Service,
    start: Timestamp,
    excluding: Option<AppointmentId>,
    staff_id: Option<StaffId>,
) -> Result<Vec<Interval>, AppError> {
    let now = app.clock.now();
    let bookable = availability::booking_window(service, now);
    if bookable.earliest > bookable.latest {
        return Ok(Vec::new());
    }
    let around = start.clamp(bookable.earliest, bookable.latest);
    let reach = instant(around)?.widened(ALTERNATIVES_REACH, ALTERNATIVES_REACH);
    let mut booked = BookedTime::around(app, business, reach).await?;
    if let Some(id) = excluding {
        booked = booked.without(id);
    }
    Ok(availability::nearest_slots(
        &booked.input(service, business, now, staff_id),
        around,
        ALTERNATIVES,
    ))
}

pub(super) async fn ensure_bookable<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    service_id: ServiceId,
) -> Result<Service, AppError> {
    bookable_service(app, business, service_id).await
}
