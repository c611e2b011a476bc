//! The dashboard's records in the single table (rows in DESIGN.md beside this file).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, ReturnValue, TransactWriteItem};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use shared::domain::{ApiKeyHash, Business, BusinessId};
use shared::ports::{
    ApiKeyRecord, ApiKeyStore, CatalogStore, PasswordLink, Session, SignInEmail, SignInStore,
    StaffMember, StoreError,
};

use super::items::{API_KEY_SK, ApiKeyItem, SINGLETON_SK, api_key_pk, business_pk, instant_key};
use super::{DynamoStore, WriteOutcome, backend, from_item, key, number, string, to_item};

fn staff_pk(email: &SignInEmail) -> String {
    format!("STAFF#{}", email.as_ref())
}

fn staff_gsi1_pk(business: BusinessId) -> String {
    format!("BUSINESS#{business}#STAFF")
}

fn password_link_pk(token_hash: &str) -> String {
    format!("PASSWORDLINK#{token_hash}")
}

fn session_pk(id_hash: &str) -> String {
    format!("SESSION#{id_hash}")
}

fn failures_pk(subject: &str, window_start: Timestamp) -> String {
    format!("SIGNINFAIL#{}#{subject}", instant_key(window_start))
}

const API_KEY_RECORD_PREFIX: &str = "APIKEYREC#";

fn api_key_record_sk(record: &ApiKeyRecord) -> String {
    format!(
        "{API_KEY_RECORD_PREFIX}{}#{}",
        instant_key(record.created_at),
        record.id
    )
}

#[derive(Serialize, Deserialize)]
struct StaffItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI1PK")]
    gsi1_pk: String,
    #[serde(rename = "GSI1SK")]
    gsi1_sk: String,
    member: StaffMember,
}

impl StaffItem {
    fn new(member: &StaffMember) -> Self {
        Self {
            pk: staff_pk(&member.email),
            sk: SINGLETON_SK.to_owned(),
            gsi1_pk: staff_gsi1_pk(member.business_id),
            gsi1_sk: member.email.as_ref().to_owned(),
            member: member.clone(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct PasswordLinkItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    expires_at_epoch: i64,
    link: PasswordLink,
}

#[derive(Serialize, Deserialize)]
struct SessionItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    /// DynamoDB's TTL attribute; reads check `session.expires_at` because TTL deletes late.
    expires_at_epoch: i64,
    session: Session,
}

#[derive(Deserialize)]
struct FailuresItem {
    #[serde(default)]
    count: u32,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ApiKeyRecordItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    record: ApiKeyRecord,
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

fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(error: &E) -> bool {
    error.code() == Some("ConditionalCheckFailedException")
}

impl DynamoStore {
    async fn put_new(&self, item: HashMap<String, AttributeValue>) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_condition_failure(&error) => Err(StoreError::AlreadyExists),
            Err(error) => Err(backend(error)),
        }
    }

    /// Removes and returns a singleton item; of concurrent takers exactly one gets it.
    async fn take<T: serde::de::DeserializeOwned>(
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
        match result {
            Ok(output) => output.attributes.map(from_item).transpose(),
            Err(error) if is_condition_failure(&error) => Ok(None),
            Err(error) => Err(backend(error)),
        }
    }

    async fn api_key_records(
        &self,
        business_id: BusinessId,
    ) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let mut records = Vec::new();
        let mut start_key = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", string(business_pk(business_id)))
                .expression_attribute_values(":prefix", string(API_KEY_RECORD_PREFIX))
                .consistent_read(true)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                records.push(from_item::<ApiKeyRecordItem>(item)?.record);
            }
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start_key = Some(next),
                _ => return Ok(records),
            }
        }
    }
}

/// The key's lookup item, which carries a copy of its business so authenticating is one read.
fn api_key_lookup_item(
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
impl SignInStore for DynamoStore {
    async fn create_staff_member(&self, member: &StaffMember) -> Result<(), StoreError> {
        self.put_new(to_item(&StaffItem::new(member))?).await
    }

    async fn get_staff_member(
        &self,
        email: &SignInEmail,
    ) -> Result<Option<StaffMember>, StoreError> {
        Ok(self
            .get::<StaffItem>(staff_pk(email), SINGLETON_SK.to_owned())
            .await?
            .map(|item| item.member))
    }

    async fn list_staff(&self, business_id: BusinessId) -> Result<Vec<StaffMember>, StoreError> {
        let items: Vec<StaffItem> = self
            .query_index(
                super::items::GSI1,
                staff_gsi1_pk(business_id),
                "#sk > :none",
                vec![(":none", " ".to_owned())],
                None,
                None,
            )
            .await?;
        Ok(items.into_iter().map(|item| item.member).collect())
    }

    async fn set_staff_password(
        &self,
        email: &SignInEmail,
        password_hash: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(staff_pk(email), SINGLETON_SK.to_owned())))
            .update_expression("SET #member.#hash = :hash, #member.#at = :at")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#member", "member")
            .expression_attribute_names("#hash", "password_hash")
            .expression_attribute_names("#at", "password_set_at")
            .expression_attribute_values(":hash", string(password_hash))
            .expression_attribute_values(":at", string(at.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_condition_failure(&error) => Err(StoreError::NotFound),
            Err(error) => Err(backend(error)),
        }
    }

    async fn put_password_link(&self, link: &PasswordLink) -> Result<(), StoreError> {
        self.put_new(to_item(&PasswordLinkItem {
            pk: password_link_pk(&link.token_hash),
            sk: SINGLETON_SK.to_owned(),
            expires_at_epoch: link.expires_at.as_second(),
            link: link.clone(),
        })?)
        .await
    }

    async fn take_password_link(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<PasswordLink>, StoreError> {
        let item: Option<PasswordLinkItem> = self.take(password_link_pk(token_hash)).await?;
        Ok(item
            .map(|item| item.link)
            .filter(|link| link.expires_at > now))
    }

    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        self.put_new(to_item(&SessionItem {
            pk: session_pk(&session.id_hash),
            sk: SINGLETON_SK.to_owned(),
            expires_at_epoch: session.expires_at.as_second(),
            session: session.clone(),
        })?)
        .await
    }

    async fn get_session(
        &self,
        id_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Session>, StoreError> {
        Ok(self
            .get::<SessionItem>(session_pk(id_hash), SINGLETON_SK.to_owned())
            .await?
            .map(|item| item.session)
            .filter(|session| session.expires_at > now))
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.delete(session_pk(id_hash), SINGLETON_SK.to_owned())
            .await
    }

    async fn count_sign_in_failure(
        &self,
        subject: &str,
        window_start: Timestamp,
        expires_at: Timestamp,
    ) -> Result<u32, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                failures_pk(subject, window_start),
                SINGLETON_SK.to_owned(),
            )))
            .update_expression("ADD #count :one SET expires_at_epoch = :expires")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", number(1))
            .expression_attribute_values(":expires", number(expires_at.as_second()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(backend)?;
        let item: FailuresItem = from_item(output.attributes.unwrap_or_default())?;
        Ok(item.count)
    }

    async fn sign_in_failures(
        &self,
        subject: &str,
        window_start: Timestamp,
    ) -> Result<u32, StoreError> {
        Ok(self
            .get::<FailuresItem>(failures_pk(subject, window_start), SINGLETON_SK.to_owned())
            .await?
            .map_or(0, |item| item.count))
    }
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
