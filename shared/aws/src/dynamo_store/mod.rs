//! `Store` on one DynamoDB table. The design (keys, indexes, item shapes, and why bookings go through per-day
//! ledgers) is in DESIGN.md beside this file.

mod api_keys;
mod appointments;
mod booking;
mod busy_time;
mod catalog;
mod connections;
mod due_index;
mod items;
mod leases;
mod ledgers;
mod operator;
mod requests;
mod schema;
mod sign_ins;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use booking_core::ports::StoreError;
use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;

use items::{PK, SK};

pub use items::DUE_SHARDS;
pub use schema::create_table;

#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// `table` must have the schema of `infra/template.yaml` (see [`create_table`]).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn backend(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(error))
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("corrupt item: {what}").into())
}

fn to_item(value: &impl Serialize) -> Result<HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::to_item(value).map_err(backend)
}

fn to_value(value: &impl Serialize) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(backend)
}

fn from_item<T: DeserializeOwned>(item: HashMap<String, AttributeValue>) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(backend)
}

fn string(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn number(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key(pk: String, sk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.to_owned(), string(pk)), (SK.to_owned(), string(sk))])
}

fn nanos(instant: Timestamp) -> Result<i64, StoreError> {
    i64::try_from(instant.as_nanosecond()).map_err(|_| corrupt("instant out of range"))
}
