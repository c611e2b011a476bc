//! Calendar connections, OAuth attempts and calendar watches.

use async_trait::async_trait;
use jiff::Timestamp;
use redb::ReadableTable;

use super::{
    CALENDAR_CONNECTIONS, CALENDAR_WATCHES, EmbeddedStore, OAUTH_ATTEMPTS, backend, decode, encode,
    prefix_end, read_json,
};
use crate::domain::BusinessId;
use crate::ports::{
    CalendarConnection, CalendarWatch, ConnectionHealth, ConnectionStore, OAuthAttempt,
    ProviderKind, StoreError,
};

#[async_trait]
impl ConnectionStore for EmbeddedStore {
    async fn get_calendar_connection(
        &self,
        business_id: BusinessId,
    ) -> Result<Option<CalendarConnection>, StoreError> {
        self.get_json(
            CALENDAR_CONNECTIONS,
            business_id.as_uuid().as_bytes().to_vec(),
        )
    }

    async fn put_calendar_connection(
        &self,
        connection: &CalendarConnection,
    ) -> Result<(), StoreError> {
        let connection = connection.clone();
        self.write(move |txn| {
            txn.open_table(CALENDAR_CONNECTIONS)
                .map_err(backend)?
                .insert(
                    connection.business_id.as_uuid().as_bytes().as_slice(),
                    encode(&connection)?.as_slice(),
                )
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn update_connection_health(
        &self,
        business_id: BusinessId,
        provider: ProviderKind,
        health: &ConnectionHealth,
        synced_at: Option<Timestamp>,
    ) -> Result<bool, StoreError> {
        let health = health.clone();
        self.write(move |txn| {
            {
                let mut connections = txn.open_table(CALENDAR_CONNECTIONS).map_err(backend)?;
                let key = *business_id.as_uuid().as_bytes();
                let key = key.as_slice();
                let current: Option<CalendarConnection> = connections
                    .get(key)
                    .map_err(backend)?
                    .map(|stored| decode(stored.value()))
                    .transpose()?;
                let Some(mut connection) = current.filter(|c| c.provider == provider) else {
                    return Ok(false);
                };
                connection.health = health;
                if synced_at.is_some() {
                    connection.last_synced_at = synced_at;
                }
                connections
                    .insert(key, encode(&connection)?.as_slice())
                    .map_err(backend)?;
            }
            Ok(true)
        })
        .await
    }

    async fn delete_calendar_connection(&self, business_id: BusinessId) -> Result<(), StoreError> {
        self.write(move |txn| {
            txn.open_table(CALENDAR_CONNECTIONS)
                .map_err(backend)?
                .remove(business_id.as_uuid().as_bytes().as_slice())
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn put_oauth_attempt(&self, attempt: &OAuthAttempt) -> Result<(), StoreError> {
        self.insert_new(
            OAUTH_ATTEMPTS,
            attempt.nonce.as_bytes().to_vec(),
            encode(attempt)?,
        )
        .await
    }

    async fn take_oauth_attempt(
        &self,
        nonce: &str,
        now: Timestamp,
    ) -> Result<Option<OAuthAttempt>, StoreError> {
        let nonce = nonce.to_owned();
        self.write(move |txn| {
            let taken: Option<OAuthAttempt> = txn
                .open_table(OAUTH_ATTEMPTS)
                .map_err(backend)?
                .remove(nonce.as_bytes())
                .map_err(backend)?
                .map(|removed| decode(removed.value()))
                .transpose()?;
            Ok(taken.filter(|attempt| attempt.expires_at > now))
        })
        .await
    }

    async fn get_calendar_watch(
        &self,
        business_id: BusinessId,
    ) -> Result<Option<CalendarWatch>, StoreError> {
        self.get_json(CALENDAR_WATCHES, business_id.as_uuid().as_bytes().to_vec())
    }

    async fn put_calendar_watch(
        &self,
        watch: &CalendarWatch,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let watch = watch.clone();
        self.write(move |txn| {
            {
                let mut watches = txn.open_table(CALENDAR_WATCHES).map_err(backend)?;
                let key = *watch.business_id.as_uuid().as_bytes();
                let stored: Option<CalendarWatch> = read_json(&watches, &key)?;
                match (stored.map(|stored| stored.version), expected_version) {
                    (None, None) => {}
                    (Some(_), None) => return Err(StoreError::AlreadyExists),
                    (None, Some(_)) => return Err(StoreError::NotFound),
                    (Some(stored), Some(expected)) if stored != expected => {
                        return Err(StoreError::VersionMismatch);
                    }
                    (Some(_), Some(_)) => {}
                }
                watches
                    .insert(key.as_slice(), encode(&watch)?.as_slice())
                    .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn delete_calendar_watch(&self, business_id: BusinessId) -> Result<(), StoreError> {
        self.write(move |txn| {
            txn.open_table(CALENDAR_WATCHES)
                .map_err(backend)?
                .remove(business_id.as_uuid().as_bytes().as_slice())
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn calendar_watches(
        &self,
        after: Option<BusinessId>,
        limit: u32,
    ) -> Result<Vec<CalendarWatch>, StoreError> {
        self.read(move |txn| {
            let watches = txn.open_table(CALENDAR_WATCHES).map_err(backend)?;
            let entries = match after {
                Some(after) => {
                    let start = prefix_end(after.as_uuid().as_bytes());
                    watches.range(start.as_slice()..).map_err(backend)?
                }
                None => watches.iter().map_err(backend)?,
            };
            let mut found = Vec::new();
            for entry in entries.take(limit as usize) {
                let (_, value) = entry.map_err(backend)?;
                found.push(decode(value.value())?);
            }
            Ok(found)
        })
    }
}
