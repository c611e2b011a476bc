//! What every store must do with staff members: their records, one diary each (two members booked at once, one
//! member never twice, a member's own daily maximum), and the races of "anyone" through the use cases, which assign
//! from what they read and write on condition of it.

use std::collections::BTreeSet;
use std::sync::Arc;

use jiff::SignedDuration;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use super::{appointment, at, base, book, cancelled, change, with_service};
use crate::adapters::InProcessQueue;
use crate::app::{self, App, AppError, BookAppointment, BookingOutcome, BookingTarget, HoldTime};
use crate::domain::{
    Appointment, BookingConflict, BookingSource, Business, Customer, CustomerName, Interval,
    Service, StaffId, StaffMember, StaffName, StaffSettings,
};
use crate::ports::{ManualClock, NewBooking, Store, StoreError};

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
        appointment,
        max_per_day: None,
        staff_max_per_day: Some(1),
        idempotency: None,
        checked_against: None,
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
                    appointment: &booking,
                    max_per_day: None,
                    staff_max_per_day: Some(2),
                    idempotency: None,
                    checked_against: None,
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
    let all_day = vec![crate::domain::LocalTimeRange::parse("00:00", "23:59").unwrap()];
    service.settings.weekly_hours = crate::domain::WeeklyHours {
        monday: all_day.clone(),
        tuesday: all_day.clone(),
        wednesday: all_day.clone(),
        thursday: all_day.clone(),
        friday: all_day.clone(),
        saturday: all_day.clone(),
        sunday: all_day,
    };
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

/// After a pseudo-random run of bookings (named and for anyone), holds, reschedules and cancels by three members
/// with their own daily maximum, no two live occupations of one member overlap and no maximum is passed.
pub async fn random_bookings_holds_reschedules_and_cancels_keep_every_members_rules(
    store: Arc<dyn Store>,
) {
    let (business, service, members) = business_of(&store, 3).await;
    for id in &members {
        let mut member = store
            .get_staff_member(business.id, *id)
            .await
            .unwrap()
            .unwrap();
        member.settings.max_per_day = Some(4);
        member.version += 1;
        store
            .update_staff_member(&member, member.version - 1)
            .await
            .unwrap();
    }
    let app = app_on(store.clone());
    let mut seed: u64 = 26;
    let mut next = |bound: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % bound
    };
    let mut booked = Vec::new();
    for _ in 0..60 {
        let minutes = i64::try_from(next(16)).unwrap() * 15;
        let who = match next(4) {
            0 => None,
            pick => members.get(usize::try_from(pick - 1).unwrap()).copied(),
        };
        match next(5) {
            0 | 1 => {
                if let Ok(appointment) = book_at(&app, &business, &service, minutes, who).await {
                    booked.push(appointment.id);
                }
            }
            2 => {
                let _ = app::create_hold(
                    &app,
                    &business,
                    HoldTime {
                        service_id: service.id,
                        start: at(minutes),
                        staff_id: who,
                    },
                )
                .await;
            }
            3 if !booked.is_empty() => {
                let id = booked[usize::try_from(next(booked.len() as u64)).unwrap()];
                let _ = app::edit_appointment(
                    &app,
                    &business,
                    id,
                    &app::AppointmentEdit {
                        start: Some(at(minutes)),
                        staff_id: who,
                        ..app::AppointmentEdit::default()
                    },
                )
                .await;
            }
            _ if !booked.is_empty() => {
                let id = booked[usize::try_from(next(booked.len() as u64)).unwrap()];
                app::cancel_appointment(&app, &business, id).await.unwrap();
            }
            _ => {}
        }
    }
    let window = crate::domain::Interval::new(at(-24 * 60), at(48 * 60)).unwrap();
    let live = store
        .read_live_occupancies(business.id, window, at(-60))
        .await
        .unwrap()
        .occupancies;
    assert!(!live.is_empty());
    for (index, one) in live.iter().enumerate() {
        for other in &live[index + 1..] {
            assert!(
                one.staff_id != other.staff_id || !one.occupied.overlaps(&other.occupied),
                "{one:?} overlaps {other:?}"
            );
        }
        let that_day = live
            .iter()
            .filter(|o| o.staff_id == one.staff_id && o.local_date == one.local_date)
            .count();
        assert!(that_day <= 4, "{that_day} for {:?}", one.staff_id);
    }
}
