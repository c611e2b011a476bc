//! A business's API keys (tables listed in the parent module's doc).

use async_trait::async_trait;
use jiff::Timestamp;
use redb::{ReadableTable, WriteTransaction};

use super::{
    API_KEY_RECORDS, API_KEYS, BUSINESSES, EmbeddedStore, backend, encode, instant_key, key,
    read_json, rows_under,
};
use crate::domain::{ApiKeyHash, Business, BusinessId};
use crate::ports::{ApiKeyRecord, ApiKeyStore, StoreError};

fn api_key_record_key(record: &ApiKeyRecord) -> Vec<u8> {
    key(&[
        record.business_id.as_uuid().as_bytes(),
        &instant_key(record.created_at),
        record.id.as_bytes(),
    ])
}

/// Writes a key's record and makes the key authenticate, inside the caller's transaction.
pub(super) fn write_api_key_record(
    txn: &WriteTransaction,
    record: &ApiKeyRecord,
) -> Result<(), StoreError> {
    txn.open_table(API_KEYS)
        .map_err(backend)?
        .insert(
            record.hash.as_str().as_bytes(),
            record.business_id.as_uuid().as_bytes().as_slice(),
        )
        .map_err(backend)?;
    txn.open_table(API_KEY_RECORDS)
        .map_err(backend)?
        .insert(
            api_key_record_key(record).as_slice(),
            encode(record)?.as_slice(),
        )
        .map_err(backend)?;
    Ok(())
}

fn records_of(
    table: &impl ReadableTable<&'static [u8], &'static [u8]>,
    business_id: BusinessId,
) -> Result<Vec<ApiKeyRecord>, StoreError> {
    rows_under(table, business_id.as_uuid().as_bytes())
}

#[async_trait]
impl ApiKeyStore for EmbeddedStore {
    async fn business_by_api_key(
        &self,
        api_key: &ApiKeyHash,
    ) -> Result<Option<Business>, StoreError> {
        let api_key = api_key.clone();
        self.read(move |txn| {
            let keys = txn.open_table(API_KEYS).map_err(backend)?;
            let Some(business) = keys.get(api_key.as_str().as_bytes()).map_err(backend)? else {
                return Ok(None);
            };
            read_json(
                &txn.open_table(BUSINESSES).map_err(backend)?,
                business.value(),
            )
        })
    }

    async fn create_api_key(&self, key_record: &ApiKeyRecord) -> Result<(), StoreError> {
        let record = key_record.clone();
        self.write(move |txn| {
            let taken = txn
                .open_table(API_KEYS)
                .map_err(backend)?
                .get(record.hash.as_str().as_bytes())
                .map_err(backend)?
                .is_some();
            if taken {
                return Err(StoreError::AlreadyExists);
            }
            write_api_key_record(txn, &record)
        })
        .await
    }

    async fn list_api_keys(
        &self,
        business_id: BusinessId,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.read(move |txn| {
            records_of(
                &txn.open_table(API_KEY_RECORDS).map_err(backend)?,
                business_id,
            )
        })
    }

    async fn revoke_api_key(
        &self,
        business_id: BusinessId,
        key_id: &str,
        at: Timestamp,
    ) -> Result<ApiKeyRecord, StoreError> {
        let key_id = key_id.to_owned();
        self.write(move |txn| {
            let revoked = {
                let mut records = txn.open_table(API_KEY_RECORDS).map_err(backend)?;
                let mut record = records_of(&records, business_id)?
                    .into_iter()
                    .find(|record| record.id == key_id)
                    .ok_or(StoreError::NotFound)?;
                if record.revoked_at.is_none() {
                    record.revoked_at = Some(at);
                    records
                        .insert(
                            api_key_record_key(&record).as_slice(),
                            encode(&record)?.as_slice(),
                        )
                        .map_err(backend)?;
                }
                txn.open_table(API_KEYS)
                    .map_err(backend)?
                    .remove(record.hash.as_str().as_bytes())
                    .map_err(backend)?;
                record
            };
            Ok(revoked)
        })
        .await
    }
}
