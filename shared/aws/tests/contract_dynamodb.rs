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
