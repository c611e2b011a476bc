//! The store contract, unchanged, against DynamoDB Local.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use booking_aws::emulators::dynamodb_local::DynamoDbLocal;
use booking_core::ports::{AppointmentStore, BookingStore, Store};

async fn dynamodb_local_running() -> bool {
    match DynamoDbLocal::shared().await {
        Ok(Some(_)) => true,
        Ok(None) => {
            eprintln!("skipped: DynamoDB Local is not installed (scripts/install-test-tools.sh)");
            false
        }
        Err(error) => panic!("{error}"),
    }
}

async fn dynamo_store() -> (Arc<dyn Store>, ()) {
    let emulator = DynamoDbLocal::shared().await.unwrap().unwrap();
    let (store, _table) = emulator.fresh_store().await.unwrap();
    (Arc::new(store), ())
}

mod dynamo_store {
    booking_core::store_contract_tests!(
        super::dynamo_store,
        available = super::dynamodb_local_running
    );
}

mod dynamo_account_store {
    booking_core::account_store_contract_tests!(
        super::dynamo_store,
        available = super::dynamodb_local_running
    );
}

/// Appointments written before the phone index (GSI3) existed carry no index keys; the migration adds them once.
#[tokio::test]
async fn appointments_stored_before_the_phone_index_are_indexed_once() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use booking_core::domain::{
        Appointment, AppointmentId, AppointmentStatus, BookingSource, BusinessId, Customer,
        CustomerName, Interval, Minutes, PhoneNumber, ServiceId, SyncState,
    };
    use booking_core::ports::{CallerQuery, ListOrder, NewBooking};

    if !dynamodb_local_running().await {
        return;
    }
    let emulator = DynamoDbLocal::shared().await.unwrap().unwrap();
    let (store, table) = emulator.fresh_store().await.unwrap();
    let start: jiff::Timestamp = "2027-03-01T09:00:00Z".parse().unwrap();
    let phone = PhoneNumber::try_from("+14155550123".to_owned()).unwrap();
    let appointment = Appointment {
        id: AppointmentId::generate(),
        business_id: BusinessId::generate(),
        service_id: ServiceId::generate(),
        time: Interval::new(start, start + jiff::SignedDuration::from_mins(30)).unwrap(),
        local_date: start.to_zoned_datetime(jiff::tz::TimeZone::UTC).date(),
        buffer_before: Minutes::new(0),
        buffer_after: Minutes::new(0),
        customer: Customer {
            name: CustomerName::try_from("Ana".to_owned()).unwrap(),
            phone: Some(phone.clone()),
            email: None,
        },
        notes: None,
        source: BookingSource::Api,
        status: AppointmentStatus::Booked,
        version: 1,
        sync: SyncState::after_change(false, start),
        created_at: start,
        updated_at: start,
    };
    store
        .create_appointment(NewBooking {
            appointment: &appointment,
            max_per_day: None,
            idempotency: None,
            checked_against: None,
        })
        .await
        .unwrap();
    // As an item written before GSI3 existed.
    emulator
        .client()
        .await
        .update_item()
        .table_name(&table)
        .key(
            "PK",
            AttributeValue::S(format!("BUSINESS#{}", appointment.business_id)),
        )
        .key(
            "SK",
            AttributeValue::S(format!("APPOINTMENT#{}", appointment.id)),
        )
        .update_expression("REMOVE GSI3PK, GSI3SK")
        .send()
        .await
        .unwrap();
    let query = CallerQuery {
        business_id: appointment.business_id,
        phone,
        starts_within: None,
        status: None,
        sync_status: None,
        order: ListOrder::Ascending,
        after: None,
        limit: 10,
    };
    assert!(
        store
            .appointments_by_phone(&query)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(store.index_existing_phone_numbers().await.unwrap(), 1);
    assert_eq!(
        store.appointments_by_phone(&query).await.unwrap().items,
        vec![appointment]
    );
    assert_eq!(store.index_existing_phone_numbers().await.unwrap(), 0);
}
