//! Leases: one holder at a time until it ends or is released.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use booking_core::ports::{LeaseStore, StoreError};
use jiff::Timestamp;

use super::items::{LeaseItem, SINGLETON_SK, lease_pk};
use super::requests::unless_condition_failed;
use super::{DynamoStore, key, nanos, number, to_item};

#[async_trait]
impl LeaseStore for DynamoStore {
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let item = LeaseItem {
            pk: lease_pk(name),
            sk: SINGLETON_SK.to_owned(),
            holder: holder.to_owned(),
            until_nanos: nanos(until)?,
            expires_at_epoch: until.as_second() + 3600,
        };
        self.put_if(
            to_item(&item)?,
            "attribute_not_exists(PK) OR until_nanos < :now OR holder = :holder",
            &[],
            vec![
                (":now", number(nanos(now)?)),
                (":holder", AttributeValue::S(holder.to_owned())),
            ],
        )
        .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(lease_pk(name), SINGLETON_SK.to_owned())))
            .condition_expression("holder = :holder")
            .expression_attribute_values(":holder", AttributeValue::S(holder.to_owned()))
            .send()
            .await;
        // Someone else's lease (or none) is left as it is.
        unless_condition_failed(result)?;
        Ok(())
    }
}
