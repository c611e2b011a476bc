//! The table's schema, as `infra/template.yaml` declares it, for DynamoDB Local and for tests.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use booking_core::ports::StoreError;

use super::backend;
use super::items::{GSI1, GSI2, GSI3, PK, SK};

fn key_element(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(backend)
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(backend)
}

fn index(name: &str) -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key_element(&format!("{name}PK"), KeyType::Hash)?)
        .key_schema(key_element(&format!("{name}SK"), KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .map_err(backend)
}

/// Creates the table (on-demand, with its three indexes) and waits until it is active.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element(PK, KeyType::Hash)?)
        .key_schema(key_element(SK, KeyType::Range)?)
        .global_secondary_indexes(index(GSI1)?)
        .global_secondary_indexes(index(GSI2)?)
        .global_secondary_indexes(index(GSI3)?);
    for name in [
        PK, SK, "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK",
    ] {
        request = request.attribute_definitions(string_attribute(name)?);
    }
    request.send().await.map_err(backend)?;
    // DynamoDB Local creates tables at once; the real service takes seconds.
    for _ in 0..120 {
        let description = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(backend)?;
        let active = description
            .table
            .and_then(|table| table.table_status)
            .is_some_and(|status| status == aws_sdk_dynamodb::types::TableStatus::Active);
        if active {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    Err(StoreError::Backend("table did not become active".into()))
}
