//! The table's schema, as `infra/template.yaml` declares it, for DynamoDB Local and for tests.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use booking_core::ports::StoreError;

use super::backend;
use super::items::{GSI1, GSI3, GSI4, PK, SK};

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

fn index(name: &str, projection: ProjectionType) -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key_element(&format!("{name}PK"), KeyType::Hash)?)
        .key_schema(key_element(&format!("{name}SK"), KeyType::Range)?)
        .projection(Projection::builder().projection_type(projection).build())
        .build()
        .map_err(backend)
}

/// Creates the table (on-demand, with its indexes) and waits until it is active. GSI2, which the template keeps
/// until the release after the due-index migration (CloudFormation adds or removes one index per update), is
/// left out: nothing reads it, and a fresh table has nothing to migrate.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element(PK, KeyType::Hash)?)
        .key_schema(key_element(SK, KeyType::Range)?)
        .global_secondary_indexes(index(GSI1, ProjectionType::All)?)
        .global_secondary_indexes(index(GSI3, ProjectionType::All)?)
        .global_secondary_indexes(index(GSI4, ProjectionType::KeysOnly)?);
    for name in [
        PK, SK, "GSI1PK", "GSI1SK", "GSI3PK", "GSI3SK", "GSI4PK", "GSI4SK",
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
