//! What a test writes into a deployment from its own process, through the same adapters the functions use: an app
//! with a clock of the test's choosing, bookings whose sync is pending, an unreadable item.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use booking_aws::config::{AwsAdapters, AwsSettings};
use booking_aws::emulators::sdk_config;
use booking_core::app::{self, App, BookAppointment, BookingOutcome, BookingTarget};
use booking_core::domain::{
    Appointment, AppointmentId, BookingSource, Business, BusinessId, ConnectionId, Customer,
    ServiceId, StaffId, SyncStatus,
};
use booking_core::ports::{
    AppointmentStore, CalendarConnection, ConnectionHealth, Job, ManualClock, ProviderKind, Store,
};
use jiff::{SignedDuration, Timestamp};

use super::{Deployment, create_service, dynamodb_client, open_every_day};

/// The settings the functions are deployed with.
pub fn aws_settings(deployment: &Deployment) -> AwsSettings {
    AwsSettings {
        table_name: deployment.table.clone(),
        sync_queue_url: deployment.queue_url.clone(),
        sync_dead_letter_queue_url: deployment.dead_letter_queue_url.clone(),
        secret_prefix: "booking/calendar".to_owned(),
    }
}

/// The adapters the functions use, built in the test's own process, with a clock of the test's choosing.
pub async fn test_app(deployment: &Deployment, now: Timestamp) -> App {
    let settings = aws_settings(deployment);
    let dynamodb = sdk_config(&deployment.dynamodb_endpoint).await;
    let moto = sdk_config(&deployment.moto_endpoint).await;
    let adapters = AwsAdapters::new(&dynamodb, &settings);
    let queue = AwsAdapters::new(&moto, &settings).queue;
    App::new(adapters.store, queue, Arc::new(ManualClock::new(now)))
}

/// The start of the hour `hours` after `now`: a bookable time of a service open around the clock.
pub fn on_the_hour(now: Timestamp, hours: i64) -> Timestamp {
    (now + SignedDuration::from_hours(hours))
        .round(jiff::TimestampRound::new().smallest(jiff::Unit::Hour))
        .unwrap()
}

/// Books Ana Silva (no phone, no e-mail) at `start` through the use case, as `source`.
pub async fn book_ana(
    app: &App,
    business: &Business,
    service_id: &str,
    start: Timestamp,
    source: BookingSource,
) -> Appointment {
    let service_id: ServiceId = service_id.parse().unwrap();
    let command = BookAppointment::new(
        BookingTarget::Slot {
            service_id,
            start,
            staff_id: None,
        },
        Customer {
            name: "Ana Silva".to_owned().try_into().unwrap(),
            phone: None,
            email: None,
        },
        None,
        source,
    );
    let outcome = app::book(app, business, command).await.unwrap();
    let BookingOutcome::Created { appointment, .. } = outcome else {
        panic!("a booking without a key is never a replay")
    };
    *appointment
}

/// Books an appointment whose calendar sync is pending, as it is while a calendar is connected, `age` ago, for a
/// time `hours_ahead` after that.
pub async fn pending_appointment(
    deployment: &Deployment,
    age: SignedDuration,
    hours_ahead: i64,
) -> (BusinessId, AppointmentId, u64) {
    let business_id: BusinessId = deployment.business_id.parse().unwrap();
    let store: &dyn Store = &deployment.store;
    store
        .put_calendar_connection(&CalendarConnection {
            id: ConnectionId::of_first_connection(business_id),
            business_id,
            staff_id: StaffId::first_of(business_id),
            checked_calendars: Vec::new(),
            provider: ProviderKind::GOOGLE,
            account: "frontdesk@example.com".to_owned(),
            calendar_id: Some("primary".to_owned()),
            connected_at: Timestamp::now(),
            health: ConnectionHealth::Connected,
            last_synced_at: None,
        })
        .await
        .unwrap();
    let service_id = create_service(deployment, &open_every_day("00:00", "24:00")).await;
    let now = Timestamp::now() - age;
    let app = test_app(deployment, now).await;
    let business = store.get_business(business_id).await.unwrap().unwrap();
    let start = on_the_hour(now, hours_ahead);
    let appointment = book_ana(&app, &business, &service_id, start, BookingSource::Manual).await;
    assert_eq!(appointment.sync.status, SyncStatus::Pending);
    (business_id, appointment.id, appointment.version)
}

/// The queue message body of the job that syncs `appointment_id` as it stood at `version`.
pub fn sync_job_body(
    business_id: BusinessId,
    appointment_id: AppointmentId,
    version: u64,
) -> String {
    serde_json::to_string(&Job::SyncAppointment {
        business_id,
        appointment_id,
        version,
    })
    .unwrap()
}

/// The appointment as the table holds it now; it must be there.
pub async fn stored_appointment(
    deployment: &Deployment,
    business_id: BusinessId,
    appointment_id: AppointmentId,
) -> Appointment {
    deployment
        .store
        .get_appointment(business_id, appointment_id)
        .await
        .unwrap()
        .unwrap()
}

/// Writes an appointment item that cannot be read, straight into the table.
pub async fn put_corrupt_appointment(
    deployment: &Deployment,
    business_id: BusinessId,
    appointment_id: AppointmentId,
) {
    let item = HashMap::from([
        (
            "PK".to_owned(),
            AttributeValue::S(format!("BUSINESS#{business_id}")),
        ),
        (
            "SK".to_owned(),
            AttributeValue::S(format!("APPOINTMENT#{appointment_id}")),
        ),
        ("version".to_owned(), AttributeValue::N("1".to_owned())),
        (
            "appointment".to_owned(),
            AttributeValue::S("garbage".to_owned()),
        ),
    ]);
    dynamodb_client(deployment)
        .await
        .put_item()
        .table_name(&deployment.table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
}

/// The owner's password of [`owner_with_password`].
pub const OWNER_PASSWORD: &str = "harbour physio password";

/// Gives the deployment's business an owner, owner@harbour.test, who has set [`OWNER_PASSWORD`]; answers the
/// business's id.
pub async fn owner_with_password(deployment: &Deployment) -> BusinessId {
    let app = test_app(deployment, Timestamp::now()).await;
    let business_id: BusinessId = deployment.business_id.parse().unwrap();
    let link = app::accounts::invite_owner(&app, business_id, "owner@harbour.test")
        .await
        .unwrap();
    app::accounts::set_password(
        &app,
        secrecy::ExposeSecret::expose_secret(&link.token),
        secrecy::SecretString::from(OWNER_PASSWORD.to_owned()),
    )
    .await
    .unwrap();
    business_id
}
