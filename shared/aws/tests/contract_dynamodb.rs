//! The store contract, unchanged, against DynamoDB Local.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use booking_aws::emulators::dynamodb_local::DynamoDbLocal;
use booking_core as booking;
use booking_core::ports::Store;

#[path = "../../benches/support/seed.rs"]
mod seed;
mod support;

async fn dynamodb_local_running() -> bool {
    support::installed(DynamoDbLocal::shared().await, "DynamoDB Local")
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

    if !dynamodb_local_running().await {
        return;
    }
    let emulator = DynamoDbLocal::shared().await.unwrap().unwrap();
    let (store, table) = emulator.fresh_store().await.unwrap();
    let client = emulator.client().await;
    // As an item written before GSI3 existed.
    let strip_index = async |appointment: &booking::domain::Appointment| {
        client
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
    };
    seed::assert_phone_index_migrated_once(&store, strip_index).await;
}

/// A business's members share one roster item: changes of different members at once all land (each write is
/// conditional on the roster's version and retried on a fresh read), and the roster refuses a 101st member, so the
/// item stays far under DynamoDB's 400 KB limit.
#[tokio::test]
async fn the_staff_roster_takes_concurrent_changes_and_refuses_a_101st_member() {
    use booking::domain::{
        ApiKey, Business, BusinessId, BusinessName, BusinessTimeZone, StaffId, StaffMember,
    };

    if !dynamodb_local_running().await {
        return;
    }
    let (store, ()) = dynamo_store().await;
    let now = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    let business = Business {
        id: BusinessId::generate(),
        name: BusinessName::try_from("Roster Clinic".to_owned()).unwrap(),
        time_zone: BusinessTimeZone::try_from("Europe/Berlin".to_owned()).unwrap(),
        created_at: now,
        disabled_at: None,
    };
    store
        .create_business(&business, &ApiKey::generate().hash())
        .await
        .unwrap();
    let another = || StaffMember {
        id: StaffId::generate(),
        ..StaffMember::first_of(business.id, business.name.clone(), now)
    };
    let concurrent: Vec<StaffMember> = (0..4).map(|_| another()).collect();
    let created = futures::future::join_all(
        concurrent
            .iter()
            .map(|member| store.create_staff_member(member)),
    )
    .await;
    assert!(created.iter().all(Result::is_ok), "{created:?}");
    assert_eq!(store.list_staff(business.id).await.unwrap().len(), 5);
    for _ in 5..100 {
        store.create_staff_member(&another()).await.unwrap();
    }
    assert_eq!(store.list_staff(business.id).await.unwrap().len(), 100);
    assert!(matches!(
        store.create_staff_member(&another()).await,
        Err(booking::ports::StoreError::Refused(_))
    ));
    assert_eq!(store.list_staff(business.id).await.unwrap().len(), 100);
}

/// A connection of the release before staff members, under `CALENDAR` with neither id nor member, reads as the first
/// member's first connection and is changed and deleted under that key.
#[tokio::test]
async fn a_connection_stored_before_members_reads_as_the_first_members() {
    use aws_sdk_dynamodb::types::AttributeValue;

    if !dynamodb_local_running().await {
        return;
    }
    let emulator = DynamoDbLocal::shared().await.unwrap().unwrap();
    let (store, table) = emulator.fresh_store().await.unwrap();
    let client = emulator.client().await;
    let write_legacy = async |business: booking::domain::BusinessId,
                              connection: serde_json::Value| {
        let connection: AttributeValue = serde_dynamo::to_attribute_value(connection).unwrap();
        client
            .put_item()
            .table_name(&table)
            .item("PK", AttributeValue::S(format!("BUSINESS#{business}")))
            .item("SK", AttributeValue::S("CALENDAR".to_owned()))
            .item("connection", connection)
            .send()
            .await
            .unwrap();
    };
    booking::contract::store::a_connection_of_the_release_before_members_reads_as_the_first_members(
        Arc::new(store),
        write_legacy,
    )
    .await;
}
