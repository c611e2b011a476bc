//! Calendar connections, OAuth attempts and calendar watches.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use booking_core::domain::{BusinessId, ConnectionId, WatchId};
use booking_core::ports::{
    CalendarConnection, CalendarWatch, ConnectionHealth, ConnectionStore, OAuthAttempt,
    ScheduledWatch, StoreError, WatchPlace,
};
use jiff::Timestamp;

use super::items::{
    CALENDAR_SK, CalendarConnectionsItem, CalendarWatchItem, DUE_SHARDS, OAuthAttemptItem, PK,
    SINGLETON_SK, SK, WATCH_CHECK_MIGRATION, WATCH_SK, business_pk, instant_key, oauth_attempt_pk,
    watch_due_gsi4_pk, watch_due_gsi4_sk, watch_due_shard_gsi4_pk, watch_sk,
};
use super::requests::unless_condition_failed;
use super::{DynamoStore, backend, from_item, key, number, string, to_item, to_value};

/// A watch stored before watches had a check time: only what moving it needs.
#[derive(serde::Deserialize)]
struct UncheckedWatchItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    watch: CalendarWatch,
}

/// The attribute of the `CALENDAR` item holding the business's first connection (the one connection of the release
/// before staff members, kept where it was).
const FIRST_CONNECTION: &str = "connection";
/// The attribute holding every other connection, a map by connection id.
const OTHER_CONNECTIONS: &str = "connections";

fn is_first(business_id: BusinessId, id: ConnectionId) -> bool {
    id == ConnectionId::of_first_connection(business_id)
}

impl DynamoStore {
    /// An UpdateItem of the business's `CALENDAR` item, where all of its connections live.
    fn update_connections(&self, business_id: BusinessId) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(business_pk(business_id), CALENDAR_SK.to_owned())))
    }
}

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn calendar_connections(
        &self,
        business_id: BusinessId,
    ) -> Result<Vec<CalendarConnection>, StoreError> {
        Ok(self
            .get::<CalendarConnectionsItem>(business_pk(business_id), CALENDAR_SK.to_owned())
            .await?
            .map(CalendarConnectionsItem::into_connections)
            .unwrap_or_default())
    }

    async fn get_calendar_connection(
        &self,
        business_id: BusinessId,
        id: ConnectionId,
    ) -> Result<Option<CalendarConnection>, StoreError> {
        Ok(self
            .calendar_connections(business_id)
            .await?
            .into_iter()
            .find(|connection| connection.id == id))
    }

    async fn put_calendar_connection(
        &self,
        connection: &CalendarConnection,
    ) -> Result<(), StoreError> {
        let value = to_value(connection)?;
        if is_first(connection.business_id, connection.id) {
            // Where the release before staff members kept the business's one connection; an update, so the other
            // connections beside it stay.
            self.update_connections(connection.business_id)
                .update_expression("SET #connection = :connection")
                .expression_attribute_names("#connection", FIRST_CONNECTION)
                .expression_attribute_values(":connection", value)
                .send()
                .await
                .map_err(backend)?;
            return Ok(());
        }
        loop {
            // Into the map when it exists; else create the map with this one, unless another writer just did.
            let into_map = self
                .update_connections(connection.business_id)
                .update_expression("SET #connections.#id = :connection")
                .condition_expression("attribute_exists(#connections)")
                .expression_attribute_names("#connections", OTHER_CONNECTIONS)
                .expression_attribute_names("#id", connection.id.to_string())
                .expression_attribute_values(":connection", value.clone())
                .send()
                .await;
            if unless_condition_failed(into_map)?.is_some() {
                return Ok(());
            }
            let new_map = self
                .update_connections(connection.business_id)
                .update_expression("SET #connections = :map")
                .condition_expression("attribute_not_exists(#connections)")
                .expression_attribute_names("#connections", OTHER_CONNECTIONS)
                .expression_attribute_values(
                    ":map",
                    AttributeValue::M(HashMap::from([(connection.id.to_string(), value.clone())])),
                )
                .send()
                .await;
            if unless_condition_failed(new_map)?.is_some() {
                return Ok(());
            }
        }
    }

    async fn update_connection_health(
        &self,
        business_id: BusinessId,
        id: ConnectionId,
        health: &ConnectionHealth,
        synced_at: Option<Timestamp>,
    ) -> Result<bool, StoreError> {
        // The path of the connection in the item: its own attribute for the first, an entry of the map otherwise.
        let mut update = self.update_connections(business_id);
        let path = if is_first(business_id, id) {
            update = update.expression_attribute_names("#connection", FIRST_CONNECTION);
            "#connection"
        } else {
            update = update
                .expression_attribute_names("#connections", OTHER_CONNECTIONS)
                .expression_attribute_names("#id", id.to_string());
            "#connections.#id"
        };
        update = update
            .condition_expression(format!("attribute_exists({path})"))
            .expression_attribute_values(":health", to_value(health)?);
        update = match synced_at {
            Some(synced_at) => update
                .update_expression(format!(
                    "SET {path}.health = :health, {path}.last_synced_at = :synced"
                ))
                .expression_attribute_values(":synced", to_value(&synced_at)?),
            None => update.update_expression(format!("SET {path}.health = :health")),
        };
        Ok(unless_condition_failed(update.send().await)?.is_some())
    }

    async fn delete_calendar_connection(
        &self,
        business_id: BusinessId,
        id: ConnectionId,
    ) -> Result<(), StoreError> {
        let removed = if is_first(business_id, id) {
            self.update_connections(business_id)
                .update_expression("REMOVE #connection")
                .expression_attribute_names("#connection", FIRST_CONNECTION)
                .send()
                .await
                .map(Some)
                .map_err(backend)?
        } else {
            // Removing from a map that is not there is an error, not a no-op: only where the map exists.
            let removed = self
                .update_connections(business_id)
                .update_expression("REMOVE #connections.#id")
                .condition_expression("attribute_exists(#connections)")
                .expression_attribute_names("#connections", OTHER_CONNECTIONS)
                .expression_attribute_names("#id", id.to_string())
                .send()
                .await;
            unless_condition_failed(removed)?
        };
        if removed.is_some() {
            // The item goes once it holds no connection, as the release before staff members left none behind.
            let emptied = self
                .client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(business_pk(business_id), CALENDAR_SK.to_owned())))
                .condition_expression(
                    "attribute_not_exists(#connection) AND (attribute_not_exists(#connections) OR size(#connections) = :none)",
                )
                .expression_attribute_names("#connection", FIRST_CONNECTION)
                .expression_attribute_names("#connections", OTHER_CONNECTIONS)
                .expression_attribute_values(":none", number(0))
                .send()
                .await;
            unless_condition_failed(emptied)?;
        }
        Ok(())
    }

    async fn put_oauth_attempt(&self, attempt: &OAuthAttempt) -> Result<(), StoreError> {
        let item = OAuthAttemptItem {
            pk: oauth_attempt_pk(&attempt.nonce),
            sk: SINGLETON_SK.to_owned(),
            expires_at_epoch: attempt.expires_at.as_second(),
            attempt: attempt.clone(),
        };
        self.put_new(to_item(&item)?).await
    }

    async fn take_oauth_attempt(
        &self,
        nonce: &str,
        now: Timestamp,
    ) -> Result<Option<OAuthAttempt>, StoreError> {
        // Concurrent unconditional deletes may each return the old item; `take`'s condition lets exactly one win.
        let item: Option<OAuthAttemptItem> = self.take(oauth_attempt_pk(nonce)).await?;
        Ok(item
            .map(|item| item.attempt)
            .filter(|attempt| attempt.expires_at > now))
    }

    async fn calendar_watches(
        &self,
        business_id: BusinessId,
    ) -> Result<Vec<CalendarWatch>, StoreError> {
        // `WATCH` and `WATCH#<id>`: nothing else in a business's partition starts so.
        let items: Vec<CalendarWatchItem> = self
            .query_all(
                self.client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :watch)")
                    .expression_attribute_names("#pk", PK)
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_values(":pk", string(business_pk(business_id)))
                    .expression_attribute_values(":watch", string(WATCH_SK.to_owned()))
                    .consistent_read(true),
            )
            .await?;
        Ok(items.into_iter().map(|item| item.watch).collect())
    }

    async fn get_calendar_watch(
        &self,
        business_id: BusinessId,
        id: WatchId,
    ) -> Result<Option<CalendarWatch>, StoreError> {
        Ok(self
            .get::<CalendarWatchItem>(business_pk(business_id), watch_sk(business_id, id))
            .await?
            .map(|item| item.watch))
    }

    async fn put_calendar_watch(
        &self,
        watch: &CalendarWatch,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let written = match expected_version {
            // A new watch is due at once.
            None => {
                let item = CalendarWatchItem {
                    pk: business_pk(watch.business_id),
                    sk: watch_sk(watch.business_id, watch.id),
                    gsi4_pk: watch_due_gsi4_pk(watch.business_id),
                    gsi4_sk: watch_due_gsi4_sk(Timestamp::MIN, watch.business_id, watch.id),
                    check_at: Some(Timestamp::MIN),
                    version: watch.version,
                    watch: watch.clone(),
                };
                self.put_if(
                    to_item(&item)?,
                    "attribute_not_exists(#pk)",
                    &[("#pk", PK)],
                    Vec::new(),
                )
                .await?
            }
            // The watch and its version only: the check time and the index keys stay as the walk set them, so a
            // sync writing its cursor writes no index.
            Some(expected) => {
                let update = self
                    .client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key(
                        business_pk(watch.business_id),
                        watch_sk(watch.business_id, watch.id),
                    )))
                    .update_expression("SET #watch = :watch, #version = :version")
                    .condition_expression("#version = :expected")
                    .expression_attribute_names("#watch", "watch")
                    .expression_attribute_names("#version", "version")
                    .expression_attribute_values(":watch", to_value(watch)?)
                    .expression_attribute_values(":version", number(watch.version))
                    .expression_attribute_values(":expected", number(expected));
                unless_condition_failed(update.send().await)?.is_some()
            }
        };
        if written {
            return Ok(());
        }
        match (
            expected_version,
            self.get_calendar_watch(watch.business_id, watch.id).await?,
        ) {
            (None, _) => Err(StoreError::AlreadyExists),
            (Some(_), None) => Err(StoreError::NotFound),
            (Some(_), Some(_)) => Err(StoreError::VersionMismatch),
        }
    }

    async fn delete_calendar_watch(
        &self,
        business_id: BusinessId,
        id: WatchId,
    ) -> Result<(), StoreError> {
        self.delete(business_pk(business_id), watch_sk(business_id, id))
            .await
    }

    async fn calendar_watches_due(
        &self,
        now: Timestamp,
        after: Option<WatchPlace>,
        limit: u32,
    ) -> Result<Vec<ScheduledWatch>, StoreError> {
        // Strictly after `after`: a space sorts below every character of a key, `#` included, so the key with a
        // space appended sorts right after it and before the keys it starts (the old watch's key, `<at>#<business>`,
        // starts its business's other watches' keys). `~` sorts above every character of a business id.
        let low = after.map_or_else(
            || instant_key(Timestamp::MIN),
            |(at, business, id)| format!("{} ", watch_due_gsi4_sk(at, business, id)),
        );
        let high = format!("{}#~", instant_key(now));
        let entries = self
            .first_in_range(
                (0..DUE_SHARDS).map(watch_due_shard_gsi4_pk),
                "#sk BETWEEN :low AND :high",
                &[(":low", low), (":high", high)],
                limit,
            )
            .await?;
        // The index lags the table: a watch deleted, or checked and moved later, since it was read is left out.
        Ok(self
            .due_items::<CalendarWatchItem>(entries)
            .await?
            .into_iter()
            .filter_map(|item| {
                let check_at = item.check_at.unwrap_or(Timestamp::MIN);
                (check_at <= now).then_some(ScheduledWatch {
                    watch: item.watch,
                    check_at,
                })
            })
            .collect())
    }

    async fn schedule_calendar_watch_check(
        &self,
        business_id: BusinessId,
        id: WatchId,
        version: u64,
        check_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                business_pk(business_id),
                watch_sk(business_id, id),
            )))
            .update_expression("SET GSI4SK = :due_sk, check_at = :check_at")
            .condition_expression("#version = :version")
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(
                ":due_sk",
                string(watch_due_gsi4_sk(check_at, business_id, id)),
            )
            .expression_attribute_values(":check_at", to_value(&check_at)?)
            .expression_attribute_values(":version", number(version));
        Ok(unless_condition_failed(update.send().await)?.is_some())
    }

    async fn index_watches_by_check_time(&self) -> Result<u64, StoreError> {
        // Watches without a check time (under `WATCH#shard` by business, or not yet out of GSI1's `WATCHES` if the
        // due-index migration has not run) become due at once under `WATCH#due#shard`. The condition is on the
        // check time, not the version: a sync writing its cursor meanwhile sets none, so the move must still
        // happen; a watch deleted meanwhile is not brought back. (`:appointment` is bound by every migration's Scan.)
        self.migrate(
            WATCH_CHECK_MIGRATION,
            "SK = :watch AND attribute_not_exists(check_at) AND NOT begins_with(SK, :appointment)",
            &[],
            &[(":watch", WATCH_SK)],
            |item| {
                let stored: UncheckedWatchItem = from_item(item)?;
                let (business, watch) = (stored.watch.business_id, stored.watch.id);
                Ok(Some(
                    self.client
                        .update_item()
                        .table_name(&self.table)
                        .set_key(Some(key(stored.pk, stored.sk)))
                        .update_expression(
                            "SET GSI4PK = :due_pk, GSI4SK = :due_sk, check_at = :check_at \
                             REMOVE GSI1PK, GSI1SK",
                        )
                        .condition_expression(
                            "attribute_exists(PK) AND attribute_not_exists(check_at)",
                        )
                        .expression_attribute_values(":due_pk", string(watch_due_gsi4_pk(business)))
                        .expression_attribute_values(
                            ":due_sk",
                            string(watch_due_gsi4_sk(Timestamp::MIN, business, watch)),
                        )
                        .expression_attribute_values(":check_at", to_value(&Timestamp::MIN)?),
                ))
            },
        )
        .await
    }
}
