//! The operator's view across a business's items (rows in DESIGN.md beside this file). Finding every item of one
//! business, or every business, is a Scan of the table: the items of a business live under keys of several shapes
//! (its partition, its key lookups, its people, sessions and links), and these are commands an operator runs now and
//! then, never on a request's path.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Update};
use booking_core::domain::{Business, BusinessId};
use booking_core::ports::{OperatorStore, RecordLocation, StoreError, StoredRecord};
use jiff::Timestamp;

use super::items::{API_KEY_SK, BUSINESS_SK, BusinessItem, PK, SK, api_key_pk, business_pk};
use super::ledgers::back_off;
use super::requests::{WriteOutcome, every_page, transact_update};
use super::{DynamoStore, backend, corrupt, from_item, key, string, to_value};

/// DynamoDB's limit of items in one transaction.
pub(super) const MAX_TRANSACTION_ITEMS: usize = 100;
/// A key revoked while the business is being disabled fails its part of the transaction; a fresh read settles it.
const DISABLE_ATTEMPTS: u32 = 5;

/// Matches the items of the business `:id`: its partition and whatever else is keyed by its id (its people's index
/// entries, its leases), its key lookups (which copy the business) and the records that name it (sessions, links,
/// OAuth attempts, people).
const ITEMS_OF_THE_BUSINESS: &str = "contains(PK, :id) OR contains(GSI1PK, :id) \
     OR #business.#id = :id OR #session.#business_id = :id OR #link.#business_id = :id \
     OR #attempt.#business_id = :id OR #member.#business_id = :id";

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> Result<String, StoreError> {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .cloned()
        .ok_or_else(|| corrupt("an item without its key"))
}

impl DynamoStore {
    /// Every item the filter keeps, with its attribute `names` and `values`, page after page of one Scan.
    async fn scan_all(
        &self,
        filter: &str,
        names: &[(&str, &str)],
        values: &[(&str, AttributeValue)],
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut scan = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .filter_expression(filter);
        for (placeholder, name) in names {
            scan = scan.expression_attribute_names(*placeholder, *name);
        }
        for (placeholder, value) in values {
            scan = scan.expression_attribute_values(*placeholder, value.clone());
        }
        every_page(|start_key| {
            let request = scan.clone().set_exclusive_start_key(start_key);
            async move {
                let output = request.send().await.map_err(backend)?;
                Ok((output.items, output.last_evaluated_key))
            }
        })
        .await
    }

    /// Sets or removes `business.disabled_at` on the item at `pk`/`sk`, on condition that it exists.
    fn disabled_update(
        &self,
        pk: String,
        sk: String,
        disabled_at: Option<Timestamp>,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#business", "business")
            .expression_attribute_names("#disabled_at", "disabled_at");
        let update = match disabled_at {
            Some(at) => update
                .update_expression("SET #business.#disabled_at = :at")
                .expression_attribute_values(":at", to_value(&at)?),
            None => update.update_expression("REMOVE #business.#disabled_at"),
        };
        transact_update(update)
    }
}

#[async_trait]
impl OperatorStore for DynamoStore {
    async fn list_businesses(&self) -> Result<Vec<Business>, StoreError> {
        let items = self
            .scan_all(
                "SK = :business AND begins_with(PK, :prefix)",
                &[],
                &[
                    (":business", string(BUSINESS_SK)),
                    (":prefix", string("BUSINESS#")),
                ],
            )
            .await?;
        let mut businesses = items
            .into_iter()
            .map(|item| from_item::<BusinessItem>(item).map(|item| item.business))
            .collect::<Result<Vec<_>, _>>()?;
        businesses.sort_by_key(|business| business.id);
        Ok(businesses)
    }

    async fn set_business_disabled(
        &self,
        id: BusinessId,
        disabled_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        for attempt in 0..DISABLE_ATTEMPTS {
            // Each unrevoked key's lookup carries a copy of the business, which is what a request authenticates as.
            let lookups = self
                .api_key_records(id)
                .await?
                .into_iter()
                .filter(|record| record.revoked_at.is_none())
                .map(|record| {
                    self.disabled_update(
                        api_key_pk(record.hash.as_str()),
                        API_KEY_SK.to_owned(),
                        disabled_at,
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut updates =
                vec![self.disabled_update(business_pk(id), BUSINESS_SK.to_owned(), disabled_at)?];
            updates.extend(lookups);
            let mut settled = true;
            // A business with more keys than one transaction holds is changed in several; each is retried whole.
            for (index, chunk) in updates.chunks(MAX_TRANSACTION_ITEMS).enumerate() {
                match self.transact(chunk.to_vec()).await? {
                    WriteOutcome::Committed => {}
                    outcome if index == 0 && outcome.failed(0) => return Err(StoreError::NotFound),
                    _ => settled = false,
                }
            }
            if settled {
                return Ok(());
            }
            back_off(attempt).await;
        }
        Err(StoreError::Backend(
            "disabling the business kept conflicting with changes to its keys".into(),
        ))
    }

    async fn business_records(&self, id: BusinessId) -> Result<Vec<StoredRecord>, StoreError> {
        let items = self
            .scan_all(
                ITEMS_OF_THE_BUSINESS,
                &[
                    ("#business", "business"),
                    ("#id", "id"),
                    ("#session", "session"),
                    ("#link", "link"),
                    ("#attempt", "attempt"),
                    ("#member", "member"),
                    ("#business_id", "business_id"),
                ],
                &[(":id", string(id.to_string()))],
            )
            .await?;
        let own = (business_pk(id), BUSINESS_SK.to_owned());
        let mut records = Vec::with_capacity(items.len());
        for item in items {
            let location = RecordLocation {
                collection: text(&item, PK)?,
                key: text(&item, SK)?,
            };
            let content = serde_dynamo::from_item::<_, serde_json::Value>(item).map_err(backend)?;
            records.push(StoredRecord {
                location,
                content: Some(content),
            });
        }
        // The key lookups first, so the business stops being served at once; its own item last, so a deletion
        // stopped half-way can be found and finished.
        records.sort_by_key(|record| {
            let location = (
                record.location.collection.clone(),
                record.location.key.clone(),
            );
            (
                location == own,
                !record.location.collection.starts_with("APIKEY#"),
            )
        });
        Ok(records)
    }

    async fn delete_business_record(&self, location: &RecordLocation) -> Result<(), StoreError> {
        self.delete(location.collection.clone(), location.key.clone())
            .await
    }
}
