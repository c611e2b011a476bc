//! The migration fixture: one business written the way the release before staff members wrote it, and what the use
//! cases answered about it then. A store file (and a DynamoDB item dump) written by that release is committed under
//! `shared/aws/tests/fixtures/pre-staff/` with these answers; the migration test opens it under today's code and
//! asks [`answers`] again, which must come out identical.

use std::sync::Arc;

use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::first_google_connection;
use crate::adapters::InProcessQueue;
use crate::app::{
    self, App, AppError, AppointmentEdit, BookAppointment, BookingOutcome, BookingTarget,
    FindTimes, HoldTime, IdempotentBooking,
};
use crate::domain::{
    ApiKey, AppointmentId, BookingSource, Business, BusinessId, BusinessName, BusinessTimeZone,
    Customer, CustomerName, DateOverride, HoldId, Interval, LocalTimeRange, Minutes, Service,
    ServiceId, ServiceName, ServiceSettings, StaffId, WeeklyHours,
};
use crate::ports::{AppointmentQuery, BusyEvent, IdempotencyKey, ManualClock, Store};

/// The instant the fixture was written at and is read at: a Monday morning, before the business opens.
pub fn fixture_now() -> Timestamp {
    "2027-03-01T07:00:00Z".parse().unwrap()
}

/// The idempotency key one booking of the fixture was made with.
pub const FIXTURE_IDEMPOTENCY_KEY: &str = "fixture-call-0001";

/// The ids the fixture's business was written with: what [`answers`] asks about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixtureIds {
    pub business: BusinessId,
    pub services: Vec<ServiceId>,
    pub appointments: Vec<AppointmentId>,
    pub hold: HoldId,
}

fn app(store: Arc<dyn Store>) -> App {
    App::new(
        store,
        Arc::new(InProcessQueue::new(Default::default())),
        Arc::new(ManualClock::new(fixture_now())),
    )
}

fn weekdays(start: &str, end: &str) -> WeeklyHours {
    let range = || vec![LocalTimeRange::parse(start, end).unwrap()];
    WeeklyHours {
        monday: range(),
        tuesday: range(),
        wednesday: range(),
        thursday: range(),
        friday: range(),
        ..WeeklyHours::default()
    }
}

fn service(business: BusinessId, settings: ServiceSettings) -> Service {
    Service {
        id: ServiceId::generate(),
        business_id: business,
        settings: settings.validated().unwrap(),
        active: true,
        version: 1,
        created_at: fixture_now(),
        updated_at: fixture_now(),
    }
}

fn customer(name: &str, phone: &str) -> Customer {
    Customer {
        name: CustomerName::try_from(name.to_owned()).unwrap(),
        phone: Some(phone.to_owned().try_into().unwrap()),
        email: None,
    }
}

/// 2027-03-01 (the fixture's Monday) at `hour:minute` in Berlin (UTC+1 then).
fn monday_at(day_offset: i64, hour: i8, minute: i8) -> Timestamp {
    date(2027, 3, 1)
        .at(hour, minute, 0, 0)
        .in_tz("Europe/Berlin")
        .unwrap()
        .timestamp()
        .checked_add(SignedDuration::from_hours(24 * day_offset))
        .unwrap()
}

fn booked(outcome: BookingOutcome) -> AppointmentId {
    match outcome {
        BookingOutcome::Created { appointment, .. } | BookingOutcome::Replayed(appointment) => {
            appointment.id
        }
    }
}

/// Writes the fixture's business through the store and the use cases: two services (one with a daily limit and a
/// closed date), a calendar connection with busy time, booked, rescheduled and cancelled appointments, one booked with
/// an idempotency key, and a hold alive at [`fixture_now`].
pub async fn write_fixture_business(store: Arc<dyn Store>) -> FixtureIds {
    let app = app(store.clone());
    let business = Business {
        id: BusinessId::generate(),
        name: BusinessName::try_from("Fixture Clinic".to_owned()).unwrap(),
        time_zone: BusinessTimeZone::try_from("Europe/Berlin".to_owned()).unwrap(),
        created_at: fixture_now(),
        disabled_at: None,
    };
    store
        .create_business(&business, &ApiKey::generate().hash())
        .await
        .unwrap();
    let checkup = service(
        business.id,
        ServiceSettings {
            name: ServiceName::try_from("Checkup".to_owned()).unwrap(),
            duration: Minutes::new(30),
            slot_interval: Minutes::new(15),
            weekly_hours: weekdays("09:00", "17:00"),
            date_overrides: vec![DateOverride {
                date: date(2027, 3, 3),
                hours: vec![LocalTimeRange::parse("12:00", "14:00").unwrap()],
            }],
            buffer_before: Minutes::new(0),
            buffer_after: Minutes::new(10),
            max_per_day: None,
            minimum_notice: Minutes::new(120),
            booking_horizon_days: 60,
        },
    );
    let filling = service(
        business.id,
        ServiceSettings {
            name: ServiceName::try_from("Filling".to_owned()).unwrap(),
            duration: Minutes::new(60),
            slot_interval: Minutes::new(30),
            weekly_hours: weekdays("10:00", "16:00"),
            date_overrides: vec![DateOverride {
                date: date(2027, 3, 4),
                hours: vec![],
            }],
            buffer_before: Minutes::new(15),
            buffer_after: Minutes::new(0),
            max_per_day: Some(2),
            minimum_notice: Minutes::new(0),
            booking_horizon_days: 30,
        },
    );
    store.create_service(&checkup).await.unwrap();
    store.create_service(&filling).await.unwrap();
    store
        .put_calendar_connection(&first_google_connection(
            business.id,
            "clinic@example.com",
            fixture_now(),
        ))
        .await
        .unwrap();
    store
        .put_busy_event(&BusyEvent {
            business_id: business.id,
            staff_id: StaffId::first_of(business.id),
            calendar_key: "primary".into(),
            event_id: "team-meeting".into(),
            intervals: vec![
                Interval::new(monday_at(0, 13, 0), monday_at(0, 14, 0)).unwrap(),
                Interval::new(monday_at(1, 13, 0), monday_at(1, 14, 0)).unwrap(),
            ],
        })
        .await
        .unwrap();

    let book = async |service_id, start, name, phone: String, idempotency| {
        let command = BookAppointment::new(
            BookingTarget::Slot {
                service_id,
                start,
                staff_id: None,
            },
            customer(name, &phone),
            None,
            BookingSource::Api,
        )
        .idempotent(idempotency);
        booked(app::book(&app, &business, command).await.unwrap())
    };
    let key = IdempotencyKey::try_from(FIXTURE_IDEMPOTENCY_KEY.to_owned()).unwrap();
    let ben_key = IdempotentBooking::new(key, &json!({"fixture": 1})).unwrap();
    // Each customer's phone number ends in their place in this list, from 78 on.
    let phone = |number: usize| format!("+49151123456{}", 78 + number);
    let mut booked_ids = Vec::new();
    for (number, (service_id, day, hour, name, idempotency)) in [
        (checkup.id, 0, 10, "Ana Silva", None),
        (checkup.id, 0, 11, "Ben Ode", Some(ben_key)),
        (filling.id, 1, 10, "Cem Aydin", None),
        (filling.id, 1, 15, "Dora Lind", None),
        (checkup.id, 2, 12, "Eva Brandt", None),
    ]
    .into_iter()
    .enumerate()
    {
        let start = monday_at(day, hour, 0);
        booked_ids.push(book(service_id, start, name, phone(number), idempotency).await);
    }
    let [first, keyed, limited_one, limited_two, moved] = booked_ids[..] else {
        unreachable!("five bookings were made")
    };
    app::edit_appointment(
        &app,
        &business,
        moved,
        &AppointmentEdit::reschedule(monday_at(2, 13, 0)),
    )
    .await
    .unwrap();
    let start = monday_at(0, 15, 0);
    let cancelled = book(checkup.id, start, "Finn Berg", phone(5), None).await;
    app::cancel_appointment(&app, &business, cancelled)
        .await
        .unwrap();
    let hold = app::create_hold(
        &app,
        &business,
        HoldTime {
            service_id: checkup.id,
            start: monday_at(0, 16, 0),
            staff_id: None,
        },
    )
    .await
    .unwrap();
    FixtureIds {
        business: business.id,
        services: vec![checkup.id, filling.id],
        appointments: vec![first, keyed, limited_one, limited_two, moved, cancelled],
        hold: hold.id,
    }
}

fn slot_text(slot: &Interval) -> String {
    format!("{}/{}", slot.start(), slot.end())
}

fn refusal(error: AppError) -> Value {
    match error {
        AppError::SlotUnavailable {
            reason,
            alternatives,
            ..
        } => json!({
            "refused": reason.code(),
            "alternatives": alternatives.iter().map(slot_text).collect::<Vec<_>>(),
        }),
        other => json!({ "error": other.to_string() }),
    }
}

/// What the use cases answer about the fixture's business at [`fixture_now`]: each service's free times in its first
/// week, checks of a few times, its appointments, its hold, its idempotency record and its calendar's busy time. Only
/// reads: asking twice answers the same.
pub async fn answers(store: Arc<dyn Store>, ids: &FixtureIds) -> Value {
    let app = app(store.clone());
    let business = store.get_business(ids.business).await.unwrap().unwrap();
    let week = Interval::new(monday_at(0, 0, 0), monday_at(7, 0, 0)).unwrap();
    let mut availability = Vec::new();
    for &service_id in &ids.services {
        let answer = app::find_times(&app, &business, FindTimes::in_window(service_id, week))
            .await
            .unwrap();
        let mut checks = Vec::new();
        for (day, hour, minute) in [(0, 10, 0), (0, 13, 30), (0, 16, 0), (1, 11, 0), (3, 10, 0)] {
            let check = app::check_availability(
                &app,
                &business,
                service_id,
                monday_at(day, hour, minute),
                None,
            )
            .await
            .unwrap();
            checks.push(json!({
                "start": check.requested.to_string(),
                "verdict": match check.verdict {
                    Ok((slot, _)) => json!({"bookable": slot_text(&slot)}),
                    Err(reason) => json!({"refused": reason.code()}),
                },
                "alternatives": check.alternatives.iter().map(slot_text).collect::<Vec<_>>(),
            }));
        }
        availability.push(json!({
            "service": service_id,
            "slots": answer.slots.iter().map(|offered| slot_text(&offered.slot)).collect::<Vec<_>>(),
            "checks": checks,
        }));
    }
    let page = app::list_appointments(
        &app,
        &AppointmentQuery {
            business_id: business.id,
            starts_within: Some(week),
            status: None,
            sync_status: None,
            staff_id: None,
            after: None,
            limit: 100,
        },
    )
    .await
    .unwrap();
    let appointments: Vec<Value> = page
        .items
        .iter()
        .map(|appointment| {
            json!({
                "id": appointment.id,
                "service": appointment.service_id,
                "time": slot_text(&appointment.time),
                "local_date": appointment.local_date.to_string(),
                "buffers": [appointment.buffer_before.get(), appointment.buffer_after.get()],
                "status": appointment.status,
                "version": appointment.version,
                "customer": appointment.customer.name,
                "sync": appointment.sync.status,
            })
        })
        .collect();
    let hold = app::get_hold(&app, &business, ids.hold).await.unwrap();
    let held_booking = app::create_hold(
        &app,
        &business,
        HoldTime {
            service_id: hold.service_id,
            start: hold.time.start(),
            staff_id: None,
        },
    )
    .await
    .map(|_| Value::from("unexpectedly held"))
    .unwrap_or_else(refusal);
    let key = IdempotencyKey::try_from(FIXTURE_IDEMPOTENCY_KEY.to_owned()).unwrap();
    let record = store
        .get_idempotency_record(business.id, &key, fixture_now())
        .await
        .unwrap()
        .map(|record| record.appointment_id);
    let busy = store
        .busy_intervals_overlapping(business.id, week)
        .await
        .unwrap();
    // Busy time written before calendars were per staff member is the first member's, who owned the connection.
    assert!(
        busy.iter()
            .all(|busy| busy.staff_id == StaffId::first_of(business.id)),
        "{busy:?}"
    );
    let mut busy: Vec<String> = busy.iter().map(|busy| slot_text(&busy.interval)).collect();
    busy.sort();
    json!({
        "availability": availability,
        "appointments": appointments,
        "hold": {
            "id": hold.id,
            "service": hold.service_id,
            "time": slot_text(&hold.time),
            "expires_at": hold.expires_at.to_string(),
            "active": hold.is_alive_at(fixture_now()),
        },
        "holding_the_held_time_again": held_booking,
        "idempotency_record_books": record,
        "busy": busy,
    })
}
