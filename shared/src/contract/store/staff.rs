//! What every store must do with staff members: their records, one diary each (two members booked at once, one
//! member never twice, a member's own daily maximum), and the races of "anyone" through the use cases, which assign
//! from what they read and write on condition of it.

use std::collections::BTreeSet;
use std::sync::Arc;

use jiff::SignedDuration;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::{appointment, at, base, book, cancelled, change, plain_booking, with_service};
use crate::adapters::InProcessQueue;
use crate::app::{self, App, AppError, BookAppointment, BookingOutcome, BookingTarget, HoldTime};
use crate::domain::{
    Appointment, BookingConflict, BookingSource, Business, Customer, CustomerName, Interval,
    Service, StaffId, StaffMember, StaffName, StaffSettings,
};
use crate::ports::{Clock, ManualClock, NewBooking, Store, StoreError};

fn member(business: &Business, name: &str) -> StaffMember {
    StaffMember {
        id: StaffId::generate(),
        business_id: business.id,
        settings: StaffSettings::first_member(StaffName::try_from(name.to_owned()).unwrap()),
        active: true,
        version: 1,
        created_at: base(),
        updated_at: base(),
    }
}

pub async fn staff_members_are_created_listed_and_updated_by_version(store: Arc<dyn Store>) {
    let (business, _) = with_service(store.as_ref()).await;
    let first = store.list_staff(business.id).await.unwrap();
    assert_eq!(
        first,
        vec![StaffMember::first_of(
            business.id,
            business.name.clone(),
            business.created_at
        )],
        "a business is created with its first member"
    );
    let maria = member(&business, "Maria");
    store.create_staff_member(&maria).await.unwrap();
    assert!(matches!(
        store.create_staff_member(&maria).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(
        store.get_staff_member(business.id, maria.id).await.unwrap(),
        Some(maria.clone())
    );
    let mut ids: Vec<StaffId> = vec![first[0].id, maria.id];
    ids.sort();
    let listed: Vec<StaffId> = store
        .list_staff(business.id)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(listed, ids);
    let renamed = StaffMember {
        settings: StaffSettings {
            max_per_day: Some(4),
            ..maria.settings.clone()
        },
        version: 2,
        ..maria.clone()
    };
    store.update_staff_member(&renamed, 1).await.unwrap();
    assert!(matches!(
        store.update_staff_member(&renamed, 1).await,
        Err(StoreError::VersionMismatch)
    ));
    assert_eq!(
        store.get_staff_member(business.id, maria.id).await.unwrap(),
        Some(renamed)
    );
    // Another business sees none of them.
    let (other, _) = with_service(store.as_ref()).await;
    assert_eq!(
        store.get_staff_member(other.id, maria.id).await.unwrap(),
        None
    );
    assert_eq!(store.store_first_staff_members().await.unwrap(), 0);
}

pub async fn two_members_are_booked_at_once_and_one_member_never_twice(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let tom = member(&business, "Tom");
    store.create_staff_member(&tom).await.unwrap();
    let first = appointment(&service, 0, 30);
    book(store.as_ref(), &first, None).await.unwrap();
    let mut with_tom = appointment(&service, 0, 30);
    with_tom.staff_id = tom.id;
    book(store.as_ref(), &with_tom, None).await.unwrap();
    let mut tom_again = appointment(&service, 15, 45);
    tom_again.staff_id = tom.id;
    assert!(matches!(
        book(store.as_ref(), &tom_again, None).await,
        Err(StoreError::Conflict(BookingConflict::Overlap { .. }))
    ));
}

pub async fn a_members_daily_maximum_counts_their_services(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let first = appointment(&service, 0, 30);
    book(store.as_ref(), &first, None).await.unwrap();
    let second = appointment(&service, 60, 90);
    let limited = |appointment| NewBooking {
        staff_max_per_day: Some(1),
        ..plain_booking(appointment)
    };
    assert!(matches!(
        store.create_appointment(limited(&second)).await,
        Err(StoreError::Conflict(
            BookingConflict::StaffDailyLimitReached { limit: 1, .. }
        ))
    ));
    // Another member's day is theirs.
    let tom = member(&business, "Tom");
    store.create_staff_member(&tom).await.unwrap();
    let mut with_tom = second.clone();
    with_tom.staff_id = tom.id;
    store.create_appointment(limited(&with_tom)).await.unwrap();
}

/// A member's own daily maximum stays exact under a race when their local date spans two UTC dates (a zone 14 hours
/// ahead of UTC), and a cancel gives its place back: ten bookings of one member at different times of one local
/// date at once, with a maximum of 2, make two.
pub async fn a_members_daily_maximum_holds_under_a_race_across_utc_dates(store: Arc<dyn Store>) {
    let (_, service) = with_service(store.as_ref()).await;
    let zone = jiff::tz::TimeZone::get("Pacific/Kiritimati").unwrap();
    let local_date = jiff::civil::date(2027, 3, 2);
    let at_local_hour = |hour: i8| {
        let start = local_date
            .at(hour, 0, 0, 0)
            .to_zoned_datetime(zone.clone())
            .unwrap()
            .timestamp();
        let mut booking = appointment(&service, 0, 30);
        booking.time = Interval::new(start, start + SignedDuration::from_mins(30)).unwrap();
        booking.local_date = local_date;
        booking
    };
    let limited = |booking: Appointment| {
        let store = store.clone();
        async move {
            store
                .create_appointment(NewBooking {
                    staff_max_per_day: Some(2),
                    ..plain_booking(&booking)
                })
                .await
                .map(|()| booking)
        }
    };
    let racing: Vec<Appointment> = (0..10).map(|n| at_local_hour(1 + 2 * n)).collect();
    let utc_dates: BTreeSet<Date> = racing
        .iter()
        .map(|booking| booking.time.start().to_zoned_datetime(TimeZone::UTC).date())
        .collect();
    assert_eq!(utc_dates.len(), 2, "the local date must span two UTC dates");

    let results = super::all_at_once(racing.into_iter().map(limited)).await;
    let winners: Vec<&Appointment> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 2, "{results:?}");
    for refused in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(
                refused,
                StoreError::Conflict(BookingConflict::StaffDailyLimitReached { limit: 2, .. })
            ),
            "{refused:?}"
        );
    }

    change(store.as_ref(), &cancelled(winners[0]), None)
        .await
        .unwrap();
    limited(at_local_hour(21)).await.unwrap();
    assert!(matches!(
        limited(at_local_hour(23)).await,
        Err(StoreError::Conflict(
            BookingConflict::StaffDailyLimitReached { limit: 2, .. }
        ))
    ));
}

/// An app over `store` at the base of the fixtures, an hour before the times raced for.
fn app_on(store: Arc<dyn Store>) -> App {
    App::new(
        store,
        Arc::new(InProcessQueue::new(Default::default())),
        Arc::new(ManualClock::new(at(-60))),
    )
}

/// A service open all day every day and a business with `count` members besides its first, who is deactivated.
async fn business_of(store: &Arc<dyn Store>, count: usize) -> (Business, Service, Vec<StaffId>) {
    let (business, mut service) = with_service(store.as_ref()).await;
    service.settings.weekly_hours = every_day("00:00", "23:59");
    service.version = 2;
    store.update_service(&service, 1).await.unwrap();
    let first = StaffId::first_of(business.id);
    let mut retired = store
        .get_staff_member(business.id, first)
        .await
        .unwrap()
        .unwrap();
    retired.active = false;
    retired.version += 1;
    store
        .update_staff_member(&retired, retired.version - 1)
        .await
        .unwrap();
    let mut ids = Vec::new();
    for index in 0..count {
        let added = member(&business, &format!("Member {index}"));
        store.create_staff_member(&added).await.unwrap();
        ids.push(added.id);
    }
    (business, service, ids)
}

fn customer() -> Customer {
    Customer {
        name: CustomerName::try_from("Ana".to_owned()).unwrap(),
        phone: None,
        email: None,
    }
}

async fn book_with(
    app: App,
    business: Business,
    service: Service,
    staff_id: Option<StaffId>,
) -> Result<StaffId, AppError> {
    let command = BookAppointment::new(
        BookingTarget::Slot {
            service_id: service.id,
            start: at(0),
            staff_id,
        },
        customer(),
        None,
        BookingSource::Api,
    );
    match app::book(&app, &business, command).await? {
        BookingOutcome::Created { appointment, .. } | BookingOutcome::Replayed(appointment) => {
            Ok(appointment.staff_id)
        }
    }
}

fn assert_refused_with_alternatives(results: &[Result<StaffId, AppError>]) {
    for refused in results.iter().filter_map(|result| result.as_ref().err()) {
        assert!(
            matches!(refused, AppError::SlotUnavailable { .. }),
            "{refused:?}"
        );
    }
}

pub async fn fifty_concurrent_bookings_for_anyone_of_three_members_make_three_with_each(
    store: Arc<dyn Store>,
) {
    let (business, service, members) = business_of(&store, 3).await;
    let app = app_on(store.clone());
    let results = super::all_at_once(
        (0..50).map(|_| book_with(app.clone(), business.clone(), service.clone(), None)),
    )
    .await;
    let mut booked: Vec<StaffId> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    booked.sort();
    let mut expected = members.clone();
    expected.sort();
    assert_eq!(booked, expected, "{results:?}");
    assert_refused_with_alternatives(&results);
}

pub async fn twenty_concurrent_bookings_naming_one_member_make_one(store: Arc<dyn Store>) {
    let (business, service, members) = business_of(&store, 3).await;
    let app = app_on(store.clone());
    let named = members[1];
    let results = super::all_at_once(
        (0..20).map(|_| book_with(app.clone(), business.clone(), service.clone(), Some(named))),
    )
    .await;
    let booked: Vec<StaffId> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(booked, vec![named], "{results:?}");
    assert_refused_with_alternatives(&results);
}

pub async fn holds_for_anyone_racing_bookings_of_the_last_member_never_exceed_the_members(
    store: Arc<dyn Store>,
) {
    let (business, service, members) = business_of(&store, 2).await;
    let app = app_on(store.clone());
    // One member is taken already: the other is the last free one.
    book_with(
        app.clone(),
        business.clone(),
        service.clone(),
        Some(members[0]),
    )
    .await
    .unwrap();
    let last = members[1];
    let holds = (0..10).map(|_| {
        let (app, business, service) = (app.clone(), business.clone(), service.clone());
        async move {
            app::create_hold(
                &app,
                &business,
                HoldTime {
                    service_id: service.id,
                    start: at(0),
                    staff_id: None,
                },
            )
            .await
            .map(|hold| hold.staff_id)
        }
    });
    let bookings = (0..10).map(|_| {
        let (app, business, service) = (app.clone(), business.clone(), service.clone());
        async move { book_with(app, business, service, Some(last)).await }
    });
    let (held, booked) = tokio::join!(super::all_at_once(holds), super::all_at_once(bookings));
    let taken: Vec<StaffId> = held
        .iter()
        .chain(&booked)
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    assert_eq!(taken, vec![last], "held {held:?} booked {booked:?}");
}

async fn book_at(
    app: &App,
    business: &Business,
    service: &Service,
    minutes: i64,
    staff_id: Option<StaffId>,
) -> Result<crate::domain::Appointment, AppError> {
    let command = BookAppointment::new(
        BookingTarget::Slot {
            service_id: service.id,
            start: at(minutes),
            staff_id,
        },
        customer(),
        None,
        BookingSource::Api,
    );
    match app::book(app, business, command).await? {
        BookingOutcome::Created { appointment, .. } | BookingOutcome::Replayed(appointment) => {
            Ok(*appointment)
        }
    }
}

pub async fn a_reschedule_keeps_its_member_and_is_refused_with_their_alternatives(
    store: Arc<dyn Store>,
) {
    let (business, service, members) = business_of(&store, 2).await;
    let app = app_on(store.clone());
    let (maria, tom) = (members[0], members[1]);
    let moving = book_at(&app, &business, &service, 0, Some(maria))
        .await
        .unwrap();
    // Maria is busy at +60; Tom is free then.
    book_at(&app, &business, &service, 60, Some(maria))
        .await
        .unwrap();
    let refused = app::edit_appointment(
        &app,
        &business,
        moving.id,
        &app::AppointmentEdit::reschedule(at(60)),
    )
    .await;
    let Err(AppError::SlotUnavailable { alternatives, .. }) = refused else {
        panic!("a reschedule to a time its member is busy is refused: {refused:?}");
    };
    // Her alternatives: never the time she is busy, though Tom is free then.
    assert!(!alternatives.is_empty());
    assert!(
        alternatives
            .iter()
            .all(|slot| { slot.end() <= at(60) || slot.start() >= at(90) })
    );
    let moved = app::edit_appointment(
        &app,
        &business,
        moving.id,
        &app::AppointmentEdit::reschedule(at(120)),
    )
    .await
    .unwrap();
    assert_eq!(moved.staff_id, maria, "a reschedule keeps the member");
    let to_tom = app::edit_appointment(
        &app,
        &business,
        moving.id,
        &app::AppointmentEdit {
            start: Some(at(60)),
            staff_id: Some(tom),
            ..app::AppointmentEdit::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        to_tom.staff_id, tom,
        "naming another member moves it to them"
    );
}

pub async fn deactivating_a_member_with_appointments_ahead_needs_to_be_told_what_to_do(
    store: Arc<dyn Store>,
) {
    let (business, service, members) = business_of(&store, 2).await;
    let app = app_on(store.clone());
    let (maria, tom) = (members[0], members[1]);
    let ahead = book_at(&app, &business, &service, 0, Some(maria))
        .await
        .unwrap();
    let refused =
        app::deactivate_staff_member(&app, &business, maria, app::FutureAppointments::Refuse).await;
    assert!(
        matches!(
            refused,
            Err(AppError::StaffHasFutureAppointments { count: 1 })
        ),
        "{refused:?}"
    );
    let gone =
        app::deactivate_staff_member(&app, &business, maria, app::FutureAppointments::Reassign)
            .await
            .unwrap();
    assert!(!gone.active);
    let moved = app::get_appointment(&app, &business, ahead.id)
        .await
        .unwrap();
    assert_eq!(moved.staff_id, tom);
    assert_eq!(moved.time, ahead.time);
    let last =
        app::deactivate_staff_member(&app, &business, tom, app::FutureAppointments::Cancel).await;
    assert!(
        matches!(last, Err(AppError::LastActiveStaffMember)),
        "{last:?}"
    );
}

/// How many random sequences the property runs on each store, and the steps of each.
const SEQUENCES: u64 = 32;
const STEPS: usize = 24;

/// A property over random sequences: bookings (naming a member or for anyone), holds (likewise), bookings of a held
/// time, reschedules (keeping the member or naming another), cancels and minutes passing, on a business whose three
/// members keep different hours and maximums. After every step no two live occupations (appointments and live holds,
/// buffers included) of one member overlap, and neither the service's maximum per day nor a member's own is passed.
/// Each sequence comes from its seed; a failure names the seed and the step, so it can be replayed alone.
pub async fn random_bookings_holds_reschedules_and_cancels_keep_every_members_rules(
    store: Arc<dyn Store>,
) {
    let mut tally = Tally::default();
    for seed in 0..SEQUENCES {
        random_sequence(&store, seed, &mut tally).await;
    }
    // Not vacuous: every kind of step both happened and was refused somewhere.
    assert!(
        tally.booked > 0 && tally.held > 0 && tally.moved > 0,
        "{tally:?}"
    );
    assert!(
        tally.converted > 0 && tally.cancelled > 0 && tally.refused > 0,
        "{tally:?}"
    );
}

#[derive(Debug, Default)]
struct Tally {
    booked: usize,
    held: usize,
    converted: usize,
    moved: usize,
    cancelled: usize,
    refused: usize,
}

/// The service's maximum per day across the business; the members' own are in `three_members`.
const SERVICE_MAX_PER_DAY: u32 = 7;

/// A business with one service open all day (30 minutes and a 15-minute buffer after) and three members: one
/// whenever the service is open without a limit, one 10:00–14:00 with 3 a day, one 12:00–18:00 with 2 a day.
async fn three_members(store: &Arc<dyn Store>) -> (Business, Service, Vec<StaffMember>) {
    let (business, mut service, ids) = business_of(store, 3).await;
    service.settings.buffer_after = crate::domain::Minutes::new(15);
    service.settings.max_per_day = Some(SERVICE_MAX_PER_DAY);
    service.version += 1;
    store
        .update_service(&service, service.version - 1)
        .await
        .unwrap();
    let own = [
        (None, None),
        (Some(("10:00", "14:00")), Some(3)),
        (Some(("12:00", "18:00")), Some(2)),
    ];
    let mut members = Vec::new();
    for (id, (hours, max_per_day)) in ids.iter().zip(own) {
        let mut member = store
            .get_staff_member(business.id, *id)
            .await
            .unwrap()
            .unwrap();
        member.settings.weekly_hours = hours.map(|(start, end)| every_day(start, end));
        member.settings.max_per_day = max_per_day;
        member.version += 1;
        store
            .update_staff_member(&member, member.version - 1)
            .await
            .unwrap();
        members.push(member);
    }
    (business, service, members)
}

fn every_day(start: &str, end: &str) -> crate::domain::WeeklyHours {
    let day = vec![crate::domain::LocalTimeRange::parse(start, end).unwrap()];
    crate::domain::WeeklyHours {
        monday: day.clone(),
        tuesday: day.clone(),
        wednesday: day.clone(),
        thursday: day.clone(),
        friday: day.clone(),
        saturday: day.clone(),
        sunday: day,
    }
}

/// A small deterministic generator (a 64-bit LCG): the same seed gives the same sequence on every store.
struct Draws(u64);

impl Draws {
    fn below(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        usize::try_from((self.0 >> 33) % bound as u64).unwrap()
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        (!items.is_empty()).then(|| items[self.below(items.len())])
    }
}

async fn random_sequence(store: &Arc<dyn Store>, seed: u64, tally: &mut Tally) {
    let (business, service, members) = three_members(store).await;
    let ids: Vec<StaffId> = members.iter().map(|member| member.id).collect();
    let clock = ManualClock::new(at(-60));
    let app = App::new(
        store.clone(),
        Arc::new(InProcessQueue::new(Default::default())),
        Arc::new(clock.clone()),
    );
    let mut draws = Draws(seed);
    let mut booked: Vec<crate::domain::AppointmentId> = Vec::new();
    let mut holds: Vec<crate::domain::HoldId> = Vec::new();
    for step in 0..STEPS {
        // Two local days from 10:00 Berlin, every half hour for eight hours: buffers make neighbours collide.
        let start = at(i64::try_from(draws.below(2) * 24 * 60 + draws.below(16) * 30).unwrap());
        let who = draws
            .pick(&[None, Some(ids[0]), Some(ids[1]), Some(ids[2])])
            .flatten();
        let what = draws.below(8);
        let outcome: Result<&str, AppError> = match what {
            0..=2 => {
                let target = BookingTarget::Slot {
                    service_id: service.id,
                    start,
                    staff_id: who,
                };
                book_target(&app, &business, target, &mut booked)
                    .await
                    .map(|()| {
                        tally.booked += 1;
                        "booked"
                    })
            }
            3 => {
                let hold = HoldTime {
                    service_id: service.id,
                    start,
                    staff_id: who,
                };
                app::create_hold(&app, &business, hold).await.map(|hold| {
                    holds.push(hold.id);
                    tally.held += 1;
                    "held"
                })
            }
            4 => match draws.pick(&holds) {
                Some(hold) => book_target(&app, &business, BookingTarget::Held(hold), &mut booked)
                    .await
                    .map(|()| {
                        tally.converted += 1;
                        "converted"
                    }),
                None => Ok("no hold"),
            },
            5 => match draws.pick(&booked) {
                Some(id) => {
                    // Keeping the member, or naming one (perhaps the same).
                    let edit = app::AppointmentEdit {
                        start: Some(start),
                        staff_id: who,
                        ..app::AppointmentEdit::default()
                    };
                    app::edit_appointment(&app, &business, id, &edit)
                        .await
                        .map(|_| {
                            tally.moved += 1;
                            "moved"
                        })
                }
                None => Ok("nothing to move"),
            },
            6 => match draws.pick(&booked) {
                Some(id) => {
                    booked.retain(|kept| *kept != id);
                    app::cancel_appointment(&app, &business, id).await.map(|_| {
                        tally.cancelled += 1;
                        "cancelled"
                    })
                }
                None => Ok("nothing to cancel"),
            },
            _ => {
                clock.advance(jiff::SignedDuration::from_mins(2));
                Ok("two minutes passed")
            }
        };
        match outcome {
            Ok(_) => {}
            Err(
                AppError::SlotUnavailable { .. }
                | AppError::HoldExpired
                | AppError::HoldAlreadyConverted
                | AppError::StaffDoesNotPerform,
            ) => tally.refused += 1,
            Err(other) => panic!("seed {seed} step {step} ({what}): unexpected {other:?}"),
        }
        assert_members_rules(store, &business, &members, clock.now(), seed, step).await;
    }
}

/// Books `target` (a slot or a hold), noting the appointment made among those `booked`.
async fn book_target(
    app: &App,
    business: &Business,
    target: BookingTarget,
    booked: &mut Vec<crate::domain::AppointmentId>,
) -> Result<(), AppError> {
    let command = BookAppointment::new(target, customer(), None, BookingSource::Api);
    if let BookingOutcome::Created { appointment, .. } = app::book(app, business, command).await? {
        booked.push(appointment.id);
    }
    Ok(())
}

/// No two live occupations of one member overlap; no service's or member's maximum per day is passed.
async fn assert_members_rules(
    store: &Arc<dyn Store>,
    business: &Business,
    members: &[StaffMember],
    now: jiff::Timestamp,
    seed: u64,
    step: usize,
) {
    let window = crate::domain::Interval::new(at(-24 * 60), at(72 * 60)).unwrap();
    let live = store
        .read_live_occupancies(business.id, window, now)
        .await
        .unwrap()
        .occupancies;
    for (index, one) in live.iter().enumerate() {
        for other in &live[index + 1..] {
            assert!(
                one.staff_id != other.staff_id || !one.occupied.overlaps(&other.occupied),
                "seed {seed} step {step}: {one:?} overlaps {other:?}"
            );
        }
        let same_day = |other: &&crate::domain::Occupancy| other.local_date == one.local_date;
        let of_service = live
            .iter()
            .filter(same_day)
            .filter(|other| other.service_id == one.service_id)
            .count();
        assert!(
            of_service <= SERVICE_MAX_PER_DAY as usize,
            "seed {seed} step {step}: {of_service} of the service on {}",
            one.local_date
        );
        let member = members.iter().find(|member| member.id == one.staff_id);
        let own_max = member.and_then(|member| member.settings.max_per_day);
        let of_member = live
            .iter()
            .filter(same_day)
            .filter(|other| other.staff_id == one.staff_id)
            .count();
        assert!(
            own_max.is_none_or(|max| of_member <= max as usize),
            "seed {seed} step {step}: {of_member} for {:?} on {} (at most {own_max:?})",
            one.staff_id,
            one.local_date
        );
    }
}
