//! Calendar connections, OAuth attempts and calendar watches.

use async_trait::async_trait;
use jiff::Timestamp;
use redb::ReadableTable;

use super::{
    CALENDAR_CONNECTIONS, CALENDAR_WATCHES, EmbeddedStore, MIGRATIONS, OAUTH_ATTEMPTS,
    WATCH_CHECK_MIGRATION, WATCH_CHECKS, WATCHES_DUE, backend, decode, encode, instant_from_key,
    instant_key, key, prefix_end, read_json, rows_under,
};
use crate::domain::{BusinessId, ConnectionId, WatchId};
use crate::ports::{
    CalendarConnection, CalendarWatch, ConnectionHealth, ConnectionStore, OAuthAttempt,
    ScheduledWatch, StoreError, WatchPlace,
};

/// Where a connection is kept: the business's connection from before connections belonged to members under the
/// business's id alone, as that release kept it, and every other one under the business's and its own id.
fn connection_key(business: BusinessId, id: ConnectionId) -> Vec<u8> {
    if id == ConnectionId::of_first_connection(business) {
        business.as_uuid().as_bytes().to_vec()
    } else {
        key(&[business.as_uuid().as_bytes(), id.as_uuid().as_bytes()])
    }
}

/// Where a watch is kept: the one watch of the release before each checked calendar had its own under the
/// business's id alone, as that release kept it, and every other one under the business's and its own id. Its
/// check time in `watch_checks` has the same key, and its place in `watches_due` is the check time then this key.
fn watch_key(business: BusinessId, id: WatchId) -> Vec<u8> {
    if id == WatchId::of_first_watch(business) {
        business.as_uuid().as_bytes().to_vec()
    } else {
        key(&[business.as_uuid().as_bytes(), id.as_uuid().as_bytes()])
    }
}

/// Sets when the scheduled walk next looks at the watch kept under `watch`: its row in `watch_checks` and its
/// place in `watches_due`, the old place removed.
fn set_check(
    txn: &redb::WriteTransaction,
    watch: &[u8],
    check_at: Timestamp,
) -> Result<(), StoreError> {
    let mut checks = txn.open_table(WATCH_CHECKS).map_err(backend)?;
    let mut due = txn.open_table(WATCHES_DUE).map_err(backend)?;
    let at = instant_key(check_at);
    let previous = checks
        .insert(watch, at.as_slice())
        .map_err(backend)?
        .map(|old| old.value().to_vec());
    if let Some(previous) = previous {
        due.remove(key(&[&previous, watch]).as_slice())
            .map_err(backend)?;
    }
    due.insert(key(&[&at, watch]).as_slice(), [].as_slice())
        .map_err(backend)?;
    Ok(())
}

#[async_trait]
impl ConnectionStore for EmbeddedStore {
    async fn calendar_connections(
        &self,
        business_id: BusinessId,
    ) -> Result<Vec<CalendarConnection>, StoreError> {
        self.read(move |txn| {
            rows_under(
                &txn.open_table(CALENDAR_CONNECTIONS).map_err(backend)?,
                business_id.as_uuid().as_bytes(),
            )
        })
    }

    async fn get_calendar_connection(
        &self,
        business_id: BusinessId,
        id: ConnectionId,
    ) -> Result<Option<CalendarConnection>, StoreError> {
        self.get_json(CALENDAR_CONNECTIONS, connection_key(business_id, id))
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
                    connection_key(connection.business_id, connection.id).as_slice(),
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
        id: ConnectionId,
        health: &ConnectionHealth,
        synced_at: Option<Timestamp>,
    ) -> Result<bool, StoreError> {
        let health = health.clone();
        self.write(move |txn| {
            {
                let mut connections = txn.open_table(CALENDAR_CONNECTIONS).map_err(backend)?;
                let key = connection_key(business_id, id);
                let current: Option<CalendarConnection> = read_json(&connections, &key)?;
                let Some(mut connection) = current else {
                    return Ok(false);
                };
                connection.health = health;
                if synced_at.is_some() {
                    connection.last_synced_at = synced_at;
                }
                connections
                    .insert(key.as_slice(), encode(&connection)?.as_slice())
                    .map_err(backend)?;
            }
            Ok(true)
        })
        .await
    }

    async fn delete_calendar_connection(
        &self,
        business_id: BusinessId,
        id: ConnectionId,
    ) -> Result<(), StoreError> {
        self.write(move |txn| {
            txn.open_table(CALENDAR_CONNECTIONS)
                .map_err(backend)?
                .remove(connection_key(business_id, id).as_slice())
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

    async fn calendar_watches(
        &self,
        business_id: BusinessId,
    ) -> Result<Vec<CalendarWatch>, StoreError> {
        // The old watch's key is the business's id alone, so the prefix finds it with the others.
        self.read(move |txn| {
            rows_under(
                &txn.open_table(CALENDAR_WATCHES).map_err(backend)?,
                business_id.as_uuid().as_bytes(),
            )
        })
    }

    async fn get_calendar_watch(
        &self,
        business_id: BusinessId,
        id: WatchId,
    ) -> Result<Option<CalendarWatch>, StoreError> {
        self.get_json(CALENDAR_WATCHES, watch_key(business_id, id))
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
                let key = watch_key(watch.business_id, watch.id);
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
                // A new watch is due at once; a replaced one keeps its check time.
                if expected_version.is_none() {
                    set_check(txn, &key, Timestamp::MIN)?;
                }
            }
            Ok(())
        })
        .await
    }

    async fn delete_calendar_watch(
        &self,
        business_id: BusinessId,
        id: WatchId,
    ) -> Result<(), StoreError> {
        self.write(move |txn| {
            let watch = watch_key(business_id, id);
            txn.open_table(CALENDAR_WATCHES)
                .map_err(backend)?
                .remove(watch.as_slice())
                .map_err(backend)?;
            let check = txn
                .open_table(WATCH_CHECKS)
                .map_err(backend)?
                .remove(watch.as_slice())
                .map_err(backend)?
                .map(|at| at.value().to_vec());
            if let Some(at) = check {
                txn.open_table(WATCHES_DUE)
                    .map_err(backend)?
                    .remove(key(&[&at, &watch]).as_slice())
                    .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn calendar_watches_due(
        &self,
        now: Timestamp,
        after: Option<WatchPlace>,
        limit: u32,
    ) -> Result<Vec<ScheduledWatch>, StoreError> {
        self.read(move |txn| {
            let due = txn.open_table(WATCHES_DUE).map_err(backend)?;
            let watches = txn.open_table(CALENDAR_WATCHES).map_err(backend)?;
            // Strictly after the place: its key with a zero byte appended sorts right after it and before every
            // longer key it starts (the old watch's key is a prefix of the business's other watches' keys).
            let start = after.map_or_else(Vec::new, |(at, business, id)| {
                key(&[&instant_key(at), &watch_key(business, id), &[0]])
            });
            // Every place at or before `now`, whatever its business.
            let end = prefix_end(&instant_key(now));
            let mut found = Vec::new();
            for entry in due
                .range(start.as_slice()..end.as_slice())
                .map_err(backend)?
                .take(limit as usize)
            {
                let (place, _) = entry.map_err(backend)?;
                let place = place.value();
                let (at, watch) = place.split_at(16);
                if let Some(watch) = read_json(&watches, watch)? {
                    found.push(ScheduledWatch {
                        watch,
                        check_at: instant_from_key(at)?,
                    });
                }
            }
            Ok(found)
        })
    }

    async fn schedule_calendar_watch_check(
        &self,
        business_id: BusinessId,
        id: WatchId,
        version: u64,
        check_at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.write(move |txn| {
            let watch = watch_key(business_id, id);
            let stored: Option<CalendarWatch> =
                read_json(&txn.open_table(CALENDAR_WATCHES).map_err(backend)?, &watch)?;
            if stored.is_none_or(|stored| stored.version != version) {
                return Ok(false);
            }
            set_check(txn, &watch, check_at)?;
            Ok(true)
        })
        .await
    }

    async fn index_watches_by_check_time(&self) -> Result<u64, StoreError> {
        let done = self.read(|txn| {
            Ok(txn
                .open_table(MIGRATIONS)
                .map_err(backend)?
                .get(WATCH_CHECK_MIGRATION)
                .map_err(backend)?
                .is_some())
        })?;
        if done {
            return Ok(0);
        }
        // One transaction: it finishes with its marker or leaves nothing, so a rerun starts clean.
        self.write(|txn| {
            let mut unchecked = Vec::new();
            {
                let watches = txn.open_table(CALENDAR_WATCHES).map_err(backend)?;
                let checks = txn.open_table(WATCH_CHECKS).map_err(backend)?;
                for entry in watches.iter().map_err(backend)? {
                    let (watch, _) = entry.map_err(backend)?;
                    let watch = watch.value().to_vec();
                    if checks.get(watch.as_slice()).map_err(backend)?.is_none() {
                        unchecked.push(watch);
                    }
                }
            }
            for watch in &unchecked {
                set_check(txn, watch, Timestamp::MIN)?;
            }
            txn.open_table(MIGRATIONS)
                .map_err(backend)?
                .insert(WATCH_CHECK_MIGRATION, [].as_slice())
                .map_err(backend)?;
            Ok(unchecked.len() as u64)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::ports::ProviderKind;

    #[tokio::test]
    async fn watches_stored_before_check_times_become_due_once() {
        let directory = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&directory.path().join("store.redb")).unwrap();
        let watches: Vec<CalendarWatch> = (0..3)
            .map(|_| {
                CalendarWatch::new(
                    BusinessId::generate(),
                    ProviderKind::GOOGLE,
                    "primary".into(),
                )
            })
            .collect();
        for watch in &watches {
            store.put_calendar_watch(watch, None).await.unwrap();
        }
        // As a store written before check times: the watches alone, no check rows and no marker.
        {
            let txn = store.db.begin_write().unwrap();
            txn.delete_table(WATCH_CHECKS).unwrap();
            txn.delete_table(WATCHES_DUE).unwrap();
            txn.open_table(WATCH_CHECKS).unwrap();
            txn.open_table(WATCHES_DUE).unwrap();
            txn.open_table(MIGRATIONS)
                .unwrap()
                .remove(WATCH_CHECK_MIGRATION)
                .unwrap();
            txn.commit().unwrap();
        }
        let now = Timestamp::UNIX_EPOCH;
        assert!(
            store
                .calendar_watches_due(now, None, 10)
                .await
                .unwrap()
                .is_empty()
        );

        assert_eq!(store.index_watches_by_check_time().await.unwrap(), 3);
        let mut expected = watches.clone();
        expected.sort_by_key(|watch| watch.business_id);
        let due: Vec<CalendarWatch> = store
            .calendar_watches_due(now, None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|due| due.watch)
            .collect();
        assert_eq!(due, expected);
        assert_eq!(
            store.index_watches_by_check_time().await.unwrap(),
            0,
            "the marker ends it"
        );
    }
}
