//! The dashboard's records on redb (tables listed in the parent module's doc).

use async_trait::async_trait;
use jiff::Timestamp;
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::{
    API_KEY_RECORDS, API_KEYS, BUSINESSES, EmbeddedStore, PASSWORD_LINKS, SESSIONS,
    SIGN_IN_FAILURES, STAFF, STAFF_BY_BUSINESS, backend, decode, encode, instant_key, key,
    prefix_end, read_json,
};
use crate::domain::{ApiKeyHash, Business, BusinessId};
use crate::ports::{
    ApiKeyRecord, ApiKeyStore, PasswordLink, Session, SignInEmail, SignInStore, StaffMember,
    StoreError,
};

#[derive(Serialize, Deserialize)]
struct FailureCount {
    count: u32,
    expires_at: Timestamp,
}

fn failure_key(subject: &str, window_start: Timestamp) -> Vec<u8> {
    key(&[subject.as_bytes(), &[0], &instant_key(window_start)])
}

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
    let prefix = business_id.as_uuid().as_bytes().to_vec();
    let end = prefix_end(&prefix);
    let mut records = Vec::new();
    for entry in table
        .range(prefix.as_slice()..end.as_slice())
        .map_err(backend)?
    {
        let (_, value) = entry.map_err(backend)?;
        records.push(decode(value.value())?);
    }
    Ok(records)
}

impl EmbeddedStore {
    /// Inserts `value` under `key` unless the key is taken (`AlreadyExists`).
    async fn insert_new(
        &self,
        table: super::Table,
        key: Vec<u8>,
        value: Vec<u8>,
    ) -> Result<(), StoreError> {
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut table = txn.open_table(table).map_err(backend)?;
                if table.get(key.as_slice()).map_err(backend)?.is_some() {
                    return Err(StoreError::AlreadyExists);
                }
                table
                    .insert(key.as_slice(), value.as_slice())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)
        })
        .await
    }
}

#[async_trait]
impl SignInStore for EmbeddedStore {
    async fn create_staff_member(&self, member: &StaffMember) -> Result<(), StoreError> {
        let member = member.clone();
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut staff = txn.open_table(STAFF).map_err(backend)?;
                let email = member.email.as_ref().as_bytes();
                if staff.get(email).map_err(backend)?.is_some() {
                    return Err(StoreError::AlreadyExists);
                }
                staff
                    .insert(email, encode(&member)?.as_slice())
                    .map_err(backend)?;
                txn.open_table(STAFF_BY_BUSINESS)
                    .map_err(backend)?
                    .insert(
                        key(&[member.business_id.as_uuid().as_bytes(), email]).as_slice(),
                        [].as_slice(),
                    )
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn get_staff_member(
        &self,
        email: &SignInEmail,
    ) -> Result<Option<StaffMember>, StoreError> {
        self.get_json(STAFF, email.as_ref().as_bytes().to_vec())
    }

    async fn list_staff(&self, business_id: BusinessId) -> Result<Vec<StaffMember>, StoreError> {
        self.read(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let index = txn.open_table(STAFF_BY_BUSINESS).map_err(backend)?;
            let staff = txn.open_table(STAFF).map_err(backend)?;
            let prefix = business_id.as_uuid().as_bytes().to_vec();
            let end = prefix_end(&prefix);
            let mut members = Vec::new();
            for entry in index
                .range(prefix.as_slice()..end.as_slice())
                .map_err(backend)?
            {
                let (stored, _) = entry.map_err(backend)?;
                let email = stored.value().get(16..).unwrap_or_default();
                if let Some(member) = read_json(&staff, email)? {
                    members.push(member);
                }
            }
            Ok(members)
        })
    }

    async fn set_staff_password(
        &self,
        email: &SignInEmail,
        password_hash: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let (email, password_hash) = (email.clone(), password_hash.to_owned());
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut staff = txn.open_table(STAFF).map_err(backend)?;
                let key = email.as_ref().as_bytes();
                let mut member: StaffMember =
                    read_json(&staff, key)?.ok_or(StoreError::NotFound)?;
                member.password_hash = Some(password_hash);
                member.password_set_at = Some(at);
                staff
                    .insert(key, encode(&member)?.as_slice())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn put_password_link(&self, link: &PasswordLink) -> Result<(), StoreError> {
        self.insert_new(
            PASSWORD_LINKS,
            link.token_hash.as_bytes().to_vec(),
            encode(link)?,
        )
        .await
    }

    async fn take_password_link(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<PasswordLink>, StoreError> {
        let token_hash = token_hash.to_owned();
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            let taken: Option<PasswordLink> = txn
                .open_table(PASSWORD_LINKS)
                .map_err(backend)?
                .remove(token_hash.as_bytes())
                .map_err(backend)?
                .map(|removed| decode(removed.value()))
                .transpose()?;
            txn.commit().map_err(backend)?;
            Ok(taken.filter(|link| link.expires_at > now))
        })
        .await
    }

    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        self.insert_new(
            SESSIONS,
            session.id_hash.as_bytes().to_vec(),
            encode(session)?,
        )
        .await
    }

    async fn get_session(
        &self,
        id_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Session>, StoreError> {
        let session: Option<Session> = self.get_json(SESSIONS, id_hash.as_bytes().to_vec())?;
        Ok(session.filter(|session| session.expires_at > now))
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        let id_hash = id_hash.to_owned();
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            txn.open_table(SESSIONS)
                .map_err(backend)?
                .remove(id_hash.as_bytes())
                .map_err(backend)?;
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn count_sign_in_failure(
        &self,
        subject: &str,
        window_start: Timestamp,
        expires_at: Timestamp,
    ) -> Result<u32, StoreError> {
        let key = failure_key(subject, window_start);
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            let count = {
                let mut failures = txn.open_table(SIGN_IN_FAILURES).map_err(backend)?;
                let current: Option<FailureCount> = read_json(&failures, &key)?;
                let count = current.map_or(0, |current| current.count) + 1;
                failures
                    .insert(
                        key.as_slice(),
                        encode(&FailureCount { count, expires_at })?.as_slice(),
                    )
                    .map_err(backend)?;
                count
            };
            txn.commit().map_err(backend)?;
            Ok(count)
        })
        .await
    }

    async fn sign_in_failures(
        &self,
        subject: &str,
        window_start: Timestamp,
    ) -> Result<u32, StoreError> {
        let stored: Option<FailureCount> =
            self.get_json(SIGN_IN_FAILURES, failure_key(subject, window_start))?;
        Ok(stored.map_or(0, |stored| stored.count))
    }
}

#[async_trait]
impl ApiKeyStore for EmbeddedStore {
    async fn business_by_api_key(
        &self,
        api_key: &ApiKeyHash,
    ) -> Result<Option<Business>, StoreError> {
        let api_key = api_key.clone();
        self.read(move |db| {
            let txn = db.begin_read().map_err(backend)?;
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
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            let taken = txn
                .open_table(API_KEYS)
                .map_err(backend)?
                .get(record.hash.as_str().as_bytes())
                .map_err(backend)?
                .is_some();
            if taken {
                return Err(StoreError::AlreadyExists);
            }
            write_api_key_record(&txn, &record)?;
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn list_api_keys(
        &self,
        business_id: BusinessId,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        self.read(move |db| {
            let txn = db.begin_read().map_err(backend)?;
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
        self.run(move |db| {
            let txn = db.begin_write().map_err(backend)?;
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
            txn.commit().map_err(backend)?;
            Ok(revoked)
        })
        .await
    }
}
