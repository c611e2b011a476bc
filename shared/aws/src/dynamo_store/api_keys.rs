//! A business's API keys (rows in DESIGN.md beside this file).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};
use booking_core::domain::{ApiKeyHash, Business, BusinessId};
use booking_core::ports::{ApiKeyRecord, ApiKeyStore, CatalogStore, StoreError};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::items::{API_KEY_SK, ApiKeyItem, api_key_pk, business_pk, instant_key};
use super::requests::WriteOutcome;
use super::{DynamoStore, backend, key, to_item};

pub(super) const API_KEY_RECORD_PREFIX: &str = "APIKEYREC#";

pub(super) fn api_key_record_sk(record: &ApiKeyRecord) -> String {
    format!(
        "{API_KEY_RECORD_PREFIX}{}#{}",
        instant_key(record.created_at),
        record.id
    )
}

#[derive(Serialize, Deserialize)]
pub(super) struct ApiKeyRecordItem {
    #[serde(rename = "PK")]
    pub(super) pk: String,
    #[serde(rename = "SK")]
    pub(super) sk: String,
    pub(super) record: ApiKeyRecord,
}

impl ApiKeyRecordItem {
    pub(super) fn new(record: &ApiKeyRecord) -> Self {
        Self {
            pk: business_pk(record.business_id),
            sk: api_key_record_sk(record),
            record: record.clone(),
        }
    }
}

/// The key's lookup item, which carries a copy of its business so authenticating is one read.
pub(super) fn api_key_lookup_item(
    business: &Business,
    record: &ApiKeyRecord,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    to_item(&ApiKeyItem {
        pk: api_key_pk(record.hash.as_str()),
        sk: API_KEY_SK.to_owned(),
        business: business.clone(),
    })
}

#[async_trait]
impl ApiKeyStore for DynamoStore {
    async fn business_by_api_key(
        &self,
        api_key: &ApiKeyHash,
    ) -> Result<Option<Business>, StoreError> {
        Ok(self
            .get::<ApiKeyItem>(api_key_pk(api_key.as_str()), API_KEY_SK.to_owned())
            .await?
            .map(|item| item.business))
    }

    async fn create_api_key(&self, record: &ApiKeyRecord) -> Result<(), StoreError> {
        let business = self
            .get_business(record.business_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        let condition = Some("attribute_not_exists(PK)");
        let outcome = self
            .transact(vec![
                self.put(api_key_lookup_item(&business, record)?, condition)?,
                self.put(to_item(&ApiKeyRecordItem::new(record))?, condition)?,
            ])
            .await?;
        match outcome {
            WriteOutcome::Committed => Ok(()),
            outcome if outcome.failed(0) || outcome.failed(1) => Err(StoreError::AlreadyExists),
            _ => Err(StoreError::Backend(
                "creating the API key was cancelled".into(),
            )),
        }
    }

    async fn list_api_keys(
        &self,
        business_id: BusinessId,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.api_key_records(business_id).await
    }

    async fn revoke_api_key(
        &self,
        business_id: BusinessId,
        key_id: &str,
        at: Timestamp,
    ) -> Result<ApiKeyRecord, StoreError> {
        let mut record = self
            .api_key_records(business_id)
            .await?
            .into_iter()
            .find(|record| record.id == key_id)
            .ok_or(StoreError::NotFound)?;
        if record.revoked_at.is_none() {
            record.revoked_at = Some(at);
        }
        // The lookup item goes in the same transaction as the mark, so a key listed as revoked never authenticates.
        let remove_lookup = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                api_key_pk(record.hash.as_str()),
                API_KEY_SK.to_owned(),
            )))
            .build()
            .map_err(backend)?;
        let outcome = self
            .transact(vec![
                self.put(
                    to_item(&ApiKeyRecordItem::new(&record))?,
                    Some("attribute_exists(PK)"),
                )?,
                TransactWriteItem::builder().delete(remove_lookup).build(),
            ])
            .await?;
        match outcome {
            WriteOutcome::Committed => Ok(record),
            outcome if outcome.failed(0) => Err(StoreError::NotFound),
            _ => Err(StoreError::Backend(
                "revoking the API key was cancelled".into(),
            )),
        }
    }
}

impl DynamoStore {
    pub(super) async fn api_key_records(
        &self,
        business_id: BusinessId,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let items: Vec<ApiKeyRecordItem> = self
            .business_items(business_id, API_KEY_RECORD_PREFIX)
            .await?;
        Ok(items.into_iter().map(|item| item.record).collect())
    }
}
