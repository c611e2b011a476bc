//! The request plumbing every role shares: consistent reads, index queries, transactions with their cancellation
//! reasons, and single-item conditional writes (a failed condition is an answer, not an error).

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use booking_core::domain::BusinessId;
use booking_core::ports::StoreError;
use serde::de::DeserializeOwned;

use super::items::{SINGLETON_SK, business_pk};
use super::{DynamoStore, backend, from_item, key, string};

/// An item, or a key, as the SDK reads and writes it.
type Attributes = HashMap<String, AttributeValue>;

/// Where the next page of a Query or Scan starts: its `LastEvaluatedKey`, unless that is absent or empty (as some
/// emulators answer on the last page), which both mean there is no next page.
pub(super) fn next_page(last_evaluated_key: Option<Attributes>) -> Option<Attributes> {
    last_evaluated_key.filter(|key| !key.is_empty())
}

/// Every item of a paginated read, page after page: `page` sends one request starting at the key it is given and
/// answers that page's items and its `LastEvaluatedKey`.
pub(super) async fn every_page<F, Fut>(mut page: F) -> Result<Vec<Attributes>, StoreError>
where
    F: FnMut(Option<Attributes>) -> Fut,
    Fut: Future<Output = Result<(Option<Vec<Attributes>>, Option<Attributes>), StoreError>>,
{
    let mut found = Vec::new();
    let mut start_key = None;
    loop {
        let (items, last_evaluated_key) = page(start_key).await?;
        found.extend(items.unwrap_or_default());
        match next_page(last_evaluated_key) {
            Some(next) => start_key = Some(next),
            None => return Ok(found),
        }
    }
}

/// A transaction's update item, built; a builder missing its table or key is the backend's failure.
pub(super) fn transact_update(update: UpdateBuilder) -> Result<TransactWriteItem, StoreError> {
    Ok(TransactWriteItem::builder()
        .update(update.build().map_err(backend)?)
        .build())
}

impl DynamoStore {
    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: String,
    ) -> Result<Option<T>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        output.item.map(from_item).transpose()
    }

    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<WriteOutcome, StoreError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(WriteOutcome::Committed),
            Err(SdkError::ServiceError(failure)) => match failure.err() {
                TransactWriteItemsError::TransactionCanceledException(cancelled) => {
                    let reasons = cancelled
                        .cancellation_reasons()
                        .iter()
                        .map(|reason| match reason.code() {
                            Some("ConditionalCheckFailed") => CancelReason::ConditionFailed,
                            Some("None") | None => CancelReason::Passed,
                            Some(_) => CancelReason::Contended,
                        })
                        .collect();
                    Ok(WriteOutcome::Cancelled(reasons))
                }
                // Conflicts with a transaction in flight on the same items are reported this way too.
                TransactWriteItemsError::TransactionInProgressException(_) => {
                    Ok(WriteOutcome::Cancelled(vec![CancelReason::Contended]))
                }
                _ => Err(backend(SdkError::ServiceError(failure))),
            },
            Err(other) => Err(backend(other)),
        }
    }

    /// Deletes an item unconditionally; deleting one that is not there succeeds.
    pub(super) async fn delete(&self, pk: String, sk: String) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    pub(super) fn put(
        &self,
        item: HashMap<String, AttributeValue>,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .build()
            .map_err(backend)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub(super) async fn query_index<T: DeserializeOwned>(
        &self,
        index: &str,
        partition: String,
        sort_condition: &str,
        values: Vec<(&str, String)>,
        limit: Option<u32>,
        projection: Option<(&str, &[(&str, &str)])>,
    ) -> Result<Vec<T>, StoreError> {
        let mut found = Vec::new();
        let mut start_key = None;
        loop {
            let pk_name = format!("{index}PK");
            let sk_name = format!("{index}SK");
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(format!("#pk = :pk AND {sort_condition}"))
                .expression_attribute_names("#pk", pk_name)
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":pk", string(partition.clone()))
                .set_exclusive_start_key(start_key)
                .set_limit(limit.map(|limit| limit.saturating_sub(found.len() as u32) as i32));
            for (name, value) in &values {
                query = query.expression_attribute_values(*name, string(value.clone()));
            }
            if let Some((expression, names)) = projection {
                query = query.projection_expression(expression);
                for (placeholder, name) in names {
                    query = query.expression_attribute_names(*placeholder, *name);
                }
            }
            let output = query.send().await.map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                found.push(from_item(item)?);
            }
            let full = limit.is_some_and(|limit| found.len() >= limit as usize);
            match next_page(output.last_evaluated_key).filter(|_| !full) {
                Some(next) => start_key = Some(next),
                None => return Ok(found),
            }
        }
    }

    /// A consistent Query of the business's partition, its sort key narrowed by `sort_condition` (whose values the
    /// caller adds).
    pub(super) fn business_query(
        &self,
        business: BusinessId,
        sort_condition: &str,
    ) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression(format!("PK = :pk AND {sort_condition}"))
            .expression_attribute_values(":pk", string(business_pk(business)))
            .consistent_read(true)
    }

    /// Every item of the business whose sort key starts with `prefix` (its services, its key records).
    pub(super) async fn business_items<T: DeserializeOwned>(
        &self,
        business: BusinessId,
        prefix: &str,
    ) -> Result<Vec<T>, StoreError> {
        self.query_all(
            self.business_query(business, "begins_with(SK, :prefix)")
                .expression_attribute_values(":prefix", string(prefix)),
        )
        .await
    }

    /// Every item `query` matches, page after page.
    pub(super) async fn query_all<T: DeserializeOwned>(
        &self,
        query: QueryFluentBuilder,
    ) -> Result<Vec<T>, StoreError> {
        let items = every_page(|start_key| {
            let request = query.clone().set_exclusive_start_key(start_key);
            async move {
                let output = request.send().await.map_err(backend)?;
                Ok((output.items, output.last_evaluated_key))
            }
        })
        .await?;
        items.into_iter().map(from_item).collect()
    }

    /// Puts `item` if `condition` holds (with its attribute `names` and `values`): `Ok(false)` when it does not,
    /// so each caller says what a failed condition means (taken, moved on, gone). Every single-item conditional put
    /// goes through here.
    pub(super) async fn put_if(
        &self,
        item: HashMap<String, AttributeValue>,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<bool, StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        for (placeholder, name) in names {
            put = put.expression_attribute_names(*placeholder, *name);
        }
        for (placeholder, value) in values {
            put = put.expression_attribute_values(placeholder, value);
        }
        Ok(unless_condition_failed(put.send().await)?.is_some())
    }

    /// Puts an item whose key is not stored yet; `AlreadyExists` when it is.
    pub(super) async fn put_new(
        &self,
        item: HashMap<String, AttributeValue>,
    ) -> Result<(), StoreError> {
        if self
            .put_if(item, "attribute_not_exists(PK)", &[], Vec::new())
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists)
        }
    }

    /// Puts an item whatever is stored under its key.
    pub(super) async fn put_item(
        &self,
        item: HashMap<String, AttributeValue>,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Removes and returns a singleton item; of concurrent takers exactly one gets it.
    pub(super) async fn take<T: serde::de::DeserializeOwned>(
        &self,
        pk: String,
    ) -> Result<Option<T>, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, SINGLETON_SK.to_owned())))
            .condition_expression("attribute_exists(PK)")
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        unless_condition_failed(result)?
            .and_then(|output| output.attributes)
            .map(from_item)
            .transpose()
    }
}

/// Why a transaction was cancelled, item by item, in the order the items were sent.
pub(super) enum WriteOutcome {
    Committed,
    Cancelled(Vec<CancelReason>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CancelReason {
    Passed,
    ConditionFailed,
    /// Another transaction held the item; trying again is right.
    Contended,
}

impl WriteOutcome {
    pub(super) fn failed(&self, index: usize) -> bool {
        matches!(self, Self::Cancelled(reasons) if reasons.get(index) == Some(&CancelReason::ConditionFailed))
    }

    pub(super) fn contended(&self) -> bool {
        matches!(self, Self::Cancelled(reasons) if reasons.contains(&CancelReason::Contended))
    }
}

/// The output of a single-item request with a condition, `None` when the condition failed; any other failure is
/// the backend's.
pub(super) fn unless_condition_failed<T, E, R>(
    result: Result<T, SdkError<E, R>>,
) -> Result<Option<T>, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(output) => Ok(Some(output)),
        Err(error) if error.code() == Some("ConditionalCheckFailedException") => Ok(None),
        Err(error) => Err(backend(error)),
    }
}
