//! The DynamoDB store's ledgers per staff member, proved by counting requests with an SDK interceptor on DynamoDB
//! Local: a booking of one member is conditional only on that member's ledgers, so another member's booking of the
//! same moment costs it no retry; and "anyone" reads every member's ledgers in one Query, so its request count does
//! not grow with the members.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../benches/support/seed.rs"]
mod seed;
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use booking_aws::dynamo_store::{DynamoStore, create_table};
use booking_aws::emulators::dynamodb_local::DynamoDbLocal;
use booking_aws::emulators::sdk_config;
use booking_core as booking;
use booking_core::adapters::InProcessQueue;
use booking_core::app::{self, App};
use booking_core::contract::store::plain_booking;
use booking_core::domain::{
    Appointment, AppointmentId, Business, Interval, Minutes, ServiceId, StaffId, StaffMember,
    StaffName, StaffSettings,
};
use booking_core::ports::{
    AppointmentStore, BookingStore, CatalogStore, ManualClock, NewBooking, ReadMark, StoreError,
};
use jiff::{SignedDuration, Timestamp};

/// Every request sent, by operation (`TransactWriteItems`, `Query`, ...).
#[derive(Clone, Debug, Default)]
struct CountRequests(Arc<Mutex<HashMap<String, u64>>>);

impl CountRequests {
    fn take(&self) -> HashMap<String, u64> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or_default();
        let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
        *self.0.lock().unwrap().entry(operation).or_default() += 1;
        Ok(())
    }
}

/// A store on a fresh table of DynamoDB Local whose requests `counted` counts; None when it is not installed.
async fn counted_store() -> Option<(Arc<DynamoStore>, CountRequests)> {
    if !support::installed(DynamoDbLocal::shared().await, "DynamoDB Local") {
        return None;
    }
    let emulator = DynamoDbLocal::shared().await.unwrap().unwrap();
    let counted = CountRequests::default();
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk_config(emulator.endpoint()).await)
        .interceptor(counted.clone())
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let table = format!("staff-ledgers-{}", AppointmentId::generate());
    create_table(&client, &table).await.unwrap();
    counted.take();
    Some((Arc::new(DynamoStore::new(client, table)), counted))
}

fn now() -> Timestamp {
    "2027-03-01T08:00:00Z".parse().unwrap()
}

/// A new business (its first member created with it) with one service, open whenever the business is.
async fn business_with_service(store: &DynamoStore) -> (Business, ServiceId) {
    let created = app::create_business(
        store,
        &ManualClock::new(now()),
        "Ledger Clinic".to_owned(),
        "Europe/Berlin".to_owned(),
    )
    .await
    .unwrap();
    let all_day = vec![booking_core::domain::LocalTimeRange::parse("00:00", "23:59").unwrap()];
    let settings = booking_core::domain::ServiceSettings {
        name: "Checkup".to_owned().try_into().unwrap(),
        duration: Minutes::new(30),
        slot_interval: Minutes::new(30),
        weekly_hours: booking_core::domain::WeeklyHours {
            monday: all_day.clone(),
            tuesday: all_day.clone(),
            wednesday: all_day.clone(),
            thursday: all_day.clone(),
            friday: all_day.clone(),
            saturday: all_day.clone(),
            sunday: all_day,
        },
        date_overrides: vec![],
        buffer_before: Minutes::new(0),
        buffer_after: Minutes::new(0),
        max_per_day: None,
        minimum_notice: Minutes::new(0),
        booking_horizon_days: 60,
    };
    let service = booking_core::domain::Service {
        id: ServiceId::generate(),
        business_id: created.business.id,
        settings,
        active: true,
        version: 1,
        created_at: now(),
        updated_at: now(),
    };
    store.create_service(&service).await.unwrap();
    (created.business, service.id)
}

async fn add_member(store: &DynamoStore, business: &Business, name: &str) -> StaffId {
    let member = StaffMember {
        id: StaffId::generate(),
        business_id: business.id,
        settings: StaffSettings::first_member(StaffName::try_from(name.to_owned()).unwrap()),
        active: true,
        version: 1,
        created_at: now(),
        updated_at: now(),
    };
    store.create_staff_member(&member).await.unwrap();
    member.id
}

fn appointment(
    business: &Business,
    service: ServiceId,
    staff: StaffId,
    time: Interval,
) -> Appointment {
    let zone = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    Appointment {
        staff_id: staff,
        ..seed::booked_appointment(business.id, service, time, zone, "Ana", None, now())
    }
}

/// Books with no limit, on condition of `checked_against` when given.
async fn book(
    store: &DynamoStore,
    appointment: &Appointment,
    checked_against: Option<&ReadMark>,
) -> Result<(), StoreError> {
    store
        .create_appointment(NewBooking {
            checked_against,
            ..plain_booking(appointment)
        })
        .await
}

/// Two members booked at one moment, both checked against the same read of the ledgers (as two callers asking at
/// once are): the second booking commits on its first transaction, with no re-read, because neither booking's write
/// is conditional on the other member's ledger. (One ledger per business and date made it fail its condition, query
/// again and write again: three requests instead of one.)
#[tokio::test]
async fn two_members_booked_at_one_moment_commit_without_a_store_retry() {
    let Some((store, counted)) = counted_store().await else {
        return;
    };
    let (business, service) = business_with_service(&store).await;
    let tom = add_member(&store, &business, "Tom").await;
    let start = now() + SignedDuration::from_hours(2);
    let time = Interval::new(start, start + SignedDuration::from_mins(30)).unwrap();
    let day = Interval::new(now(), now() + SignedDuration::from_hours(24)).unwrap();
    let read_the_day = async || {
        store
            .read_live_occupancies(business.id, day, now())
            .await
            .unwrap()
    };
    let read = read_the_day().await;
    let first = appointment(&business, service, StaffId::first_of(business.id), time);
    let with_tom = appointment(&business, service, tom, time);
    for booking in [&first, &with_tom] {
        counted.take();
        book(&store, booking, Some(&read.mark)).await.unwrap();
        assert_eq!(
            counted.take(),
            HashMap::from([("TransactWriteItems".to_owned(), 1)]),
            "one transaction, no retry"
        );
    }
    // And both at once, checked against one read: two transactions, none lost.
    let later = Interval::new(
        start + SignedDuration::from_hours(1),
        start + SignedDuration::from_mins(90),
    )
    .unwrap();
    let bookings = [
        appointment(&business, service, StaffId::first_of(business.id), later),
        appointment(&business, service, tom, later),
    ];
    let read = read_the_day().await;
    counted.take();
    let results = futures::future::join_all(
        bookings
            .iter()
            .map(|booking| book(&store, booking, Some(&read.mark))),
    )
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(counted.take().get("TransactWriteItems"), Some(&2));
    assert_eq!(read_the_day().await.occupancies.len(), 4);
}

/// The free times of one day for "anyone" read every member's ledgers in one Query: with 10 members, each booked
/// that day, the answer costs exactly the requests it costs with one.
#[tokio::test]
async fn a_day_for_anyone_costs_the_same_requests_with_ten_members_as_with_one() {
    let Some((store, counted)) = counted_store().await else {
        return;
    };
    let tomorrow = now() + SignedDuration::from_hours(24);
    let mut requests = Vec::new();
    for members in [1_usize, 10] {
        let (business, service) = business_with_service(&store).await;
        let mut staff = vec![StaffId::first_of(business.id)];
        for index in 1..members {
            staff.push(add_member(&store, &business, &format!("Member {index}")).await);
        }
        for (index, member) in staff.iter().enumerate() {
            let start = tomorrow + SignedDuration::from_mins(30 * i64::try_from(index).unwrap());
            let time = Interval::new(start, start + SignedDuration::from_mins(30)).unwrap();
            book(
                &store,
                &appointment(&business, service, *member, time),
                None,
            )
            .await
            .unwrap();
        }
        let app = App::new(
            store.clone(),
            Arc::new(InProcessQueue::new(Default::default())),
            Arc::new(ManualClock::new(now())),
        );
        let day = Interval::new(tomorrow, tomorrow + SignedDuration::from_hours(24)).unwrap();
        counted.take();
        let answer = app::find_times(&app, &business, app::FindTimes::in_window(service, day))
            .await
            .unwrap();
        assert_eq!(answer.staff.len(), members);
        assert!(!answer.slots.is_empty());
        requests.push(counted.take());
    }
    assert_eq!(requests[0], requests[1], "1 member, then 10");
    assert_eq!(requests[0].get("Query"), Some(&2), "{:?}", requests[0]);
}
