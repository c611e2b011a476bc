//! Calendar connections, OAuth attempts and calendar watches.

use async_trait::async_trait;
use booking_core::domain::BusinessId;
use booking_core::ports::{
    CalendarConnection, CalendarWatch, ConnectionHealth, ConnectionStore, OAuthAttempt,
    ProviderKind, StoreError,
};
use jiff::Timestamp;

use super::items::{
    CALENDAR_SK, CalendarConnectionItem, CalendarWatchItem, DUE_SHARDS, OAuthAttemptItem, PK,
    SINGLETON_SK, WATCH_SK, business_pk, oauth_attempt_pk, watch_gsi4_pk, watch_shard_gsi4_pk,
};
use super::requests::unless_condition_failed;
use super::{DynamoStore, key, number, to_item, to_value};

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn get_calendar_connection(
        &self,
        business_id: BusinessId,
    ) -> Result<Option<CalendarConnection>, StoreError> {
        Ok(self
            .get::<CalendarConnectionItem>(business_pk(business_id), CALENDAR_SK.to_owned())
            .await?
            .map(|item| item.connection))
    }

    async fn put_calendar_connection(
        &self,
        connection: &CalendarConnection,
    ) -> Result<(), StoreError> {
        let item = CalendarConnectionItem {
            pk: business_pk(connection.business_id),
            sk: CALENDAR_SK.to_owned(),
            connection: connection.clone(),
        };
        self.put_item(to_item(&item)?).await
    }

    async fn update_connection_health(
        &self,
        business_id: BusinessId,
        provider: ProviderKind,
        health: &ConnectionHealth,
        synced_at: Option<Timestamp>,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(business_pk(business_id), CALENDAR_SK.to_owned())))
            .condition_expression("#connection.provider = :provider")
            .expression_attribute_names("#connection", "connection")
            .expression_attribute_values(":provider", to_value(&provider)?)
            .expression_attribute_values(":health", to_value(health)?);
        update = match synced_at {
            Some(synced_at) => update
                .update_expression(
                    "SET #connection.health = :health, #connection.last_synced_at = :synced",
                )
                .expression_attribute_values(":synced", to_value(&synced_at)?),
            None => update.update_expression("SET #connection.health = :health"),
        };
        Ok(unless_condition_failed(update.send().await)?.is_some())
    }

    async fn delete_calendar_connection(&self, business_id: BusinessId) -> Result<(), StoreError> {
        self.delete(business_pk(business_id), CALENDAR_SK.to_owned())
            .await
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

    async fn get_calendar_watch(
        &self,
        business_id: BusinessId,
    ) -> Result<Option<CalendarWatch>, StoreError> {
        Ok(self
            .get::<CalendarWatchItem>(business_pk(business_id), WATCH_SK.to_owned())
            .await?
            .map(|item| item.watch))
    }

    async fn put_calendar_watch(
        &self,
        watch: &CalendarWatch,
        expected_version: Option<u64>,
    ) -> Result<(), StoreError> {
        let item = CalendarWatchItem {
            pk: business_pk(watch.business_id),
            sk: WATCH_SK.to_owned(),
            gsi4_pk: watch_gsi4_pk(watch.business_id),
            gsi4_sk: watch.business_id.to_string(),
            version: watch.version,
            watch: watch.clone(),
        };
        let item = to_item(&item)?;
        let written = match expected_version {
            None => {
                self.put_if(
                    item,
                    "attribute_not_exists(#pk)",
                    &[("#pk", PK)],
                    Vec::new(),
                )
                .await?
            }
            Some(expected) => {
                self.put_if(
                    item,
                    "#version = :expected",
                    &[("#version", "version")],
                    vec![(":expected", number(expected))],
                )
                .await?
            }
        };
        if written {
            return Ok(());
        }
        match (
            expected_version,
            self.get_calendar_watch(watch.business_id).await?,
        ) {
            (None, _) => Err(StoreError::AlreadyExists),
            (Some(_), None) => Err(StoreError::NotFound),
            (Some(_), Some(_)) => Err(StoreError::VersionMismatch),
        }
    }

    async fn delete_calendar_watch(&self, business_id: BusinessId) -> Result<(), StoreError> {
        self.delete(business_pk(business_id), WATCH_SK.to_owned())
            .await
    }

    async fn calendar_watches(
        &self,
        after: Option<BusinessId>,
        limit: u32,
    ) -> Result<Vec<CalendarWatch>, StoreError> {
        // A space sorts below every character of a business id.
        let after = after.map_or_else(|| " ".to_owned(), |after| after.to_string());
        let watches = self
            .first_due(
                (0..DUE_SHARDS).map(watch_shard_gsi4_pk),
                "#sk > :bound",
                after,
                limit,
            )
            .await?;
        // A watch deleted since the index was read is left out.
        Ok(self
            .due_items::<CalendarWatchItem>(watches)
            .await?
            .into_iter()
            .map(|item| item.watch)
            .collect())
    }
}
