//! The people who sign in, their password links, sessions and failed sign-ins (rows in DESIGN.md beside this file).

use async_trait::async_trait;
use booking_core::domain::BusinessId;
use booking_core::ports::{Account, PasswordLink, Session, SignInEmail, SignInStore, StoreError};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::items::{SINGLETON_SK, instant_key};
use super::requests::{WriteOutcome, unless_condition_failed};
use super::{DynamoStore, backend, from_item, key, string, to_item};

pub(super) fn staff_pk(email: &SignInEmail) -> String {
    format!("STAFF#{}", email.as_ref())
}

pub(super) fn staff_gsi1_pk(business: BusinessId) -> String {
    format!("BUSINESS#{business}#STAFF")
}

pub(super) fn password_link_pk(token_hash: &str) -> String {
    format!("PASSWORDLINK#{token_hash}")
}

pub(super) fn session_pk(id_hash: &str) -> String {
    format!("SESSION#{id_hash}")
}

/// A subject's failed sign-ins share a partition, one item each, sorted by when they happened. (The fixed windows
/// before were items `SIGNINFAIL#window#subject`, never read now; TTL removes them.)
pub(super) fn failures_pk(subject: &str) -> String {
    format!("SIGNINFAIL#{subject}")
}

/// When ‖ a random hex nonce: failures at the same instant are each kept.
fn failure_sk(at: Timestamp) -> String {
    format!("{}#{:032x}", instant_key(at), rand::random::<u128>())
}

#[derive(Serialize, Deserialize)]
pub(super) struct StaffItem {
    #[serde(rename = "PK")]
    pub(super) pk: String,
    #[serde(rename = "SK")]
    pub(super) sk: String,
    #[serde(rename = "GSI1PK")]
    pub(super) gsi1_pk: String,
    #[serde(rename = "GSI1SK")]
    pub(super) gsi1_sk: String,
    pub(super) member: Account,
}

impl StaffItem {
    pub(super) fn new(member: &Account) -> Self {
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
pub(super) struct PasswordLinkItem {
    #[serde(rename = "PK")]
    pub(super) pk: String,
    #[serde(rename = "SK")]
    pub(super) sk: String,
    pub(super) expires_at_epoch: i64,
    pub(super) link: PasswordLink,
}

#[derive(Serialize, Deserialize)]
pub(super) struct SessionItem {
    #[serde(rename = "PK")]
    pub(super) pk: String,
    #[serde(rename = "SK")]
    pub(super) sk: String,
    /// DynamoDB's TTL attribute; reads check `session.expires_at` because TTL deletes late.
    pub(super) expires_at_epoch: i64,
    pub(super) session: Session,
}

#[derive(Serialize, Deserialize)]
pub(super) struct FailureItem {
    #[serde(rename = "PK")]
    pub(super) pk: String,
    #[serde(rename = "SK")]
    pub(super) sk: String,
    pub(super) at: Timestamp,
    /// DynamoDB's TTL attribute; reads never need it, since they only ask for failures after a recent instant.
    pub(super) expires_at_epoch: i64,
}

#[async_trait]
impl SignInStore for DynamoStore {
    async fn create_account(&self, member: &Account) -> Result<(), StoreError> {
        self.put_new(to_item(&StaffItem::new(member))?).await
    }

    async fn get_account(&self, email: &SignInEmail) -> Result<Option<Account>, StoreError> {
        Ok(self
            .get::<StaffItem>(staff_pk(email), SINGLETON_SK.to_owned())
            .await?
            .map(|item| item.member))
    }

    async fn list_accounts(&self, business_id: BusinessId) -> Result<Vec<Account>, StoreError> {
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

    async fn change_account_email(
        &self,
        from: &SignInEmail,
        to: &SignInEmail,
    ) -> Result<(), StoreError> {
        let Some(mut member) = self.get_account(from).await? else {
            return Err(StoreError::NotFound);
        };
        let hash = member.password_hash.clone();
        member.email = to.clone();
        // The old item goes only as it was read: a password set meanwhile fails the move rather than being lost.
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(staff_pk(from), SINGLETON_SK.to_owned())));
        let delete = match hash {
            Some(hash) => delete
                .expression_attribute_names("#member", "member")
                .expression_attribute_names("#hash", "password_hash")
                .condition_expression("#member.#hash = :hash")
                .expression_attribute_values(":hash", string(hash)),
            None => delete.condition_expression("attribute_exists(PK)"),
        };
        let outcome = self
            .transact(vec![
                self.put(
                    to_item(&StaffItem::new(&member))?,
                    Some("attribute_not_exists(PK)"),
                )?,
                aws_sdk_dynamodb::types::TransactWriteItem::builder()
                    .delete(delete.build().map_err(backend)?)
                    .build(),
            ])
            .await?;
        match outcome {
            WriteOutcome::Committed => Ok(()),
            outcome if outcome.failed(0) => Err(StoreError::AlreadyExists),
            outcome if outcome.failed(1) => Err(StoreError::NotFound),
            _ => Err(StoreError::Backend(
                "moving the account to its new email was cancelled".into(),
            )),
        }
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
        unless_condition_failed(result)?
            .map(|_| ())
            .ok_or(StoreError::NotFound)
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

    async fn record_sign_in_failure(
        &self,
        subject: &str,
        at: Timestamp,
        forget_after: Timestamp,
    ) -> Result<(), StoreError> {
        self.put_item(to_item(&FailureItem {
            pk: failures_pk(subject),
            sk: failure_sk(at),
            at,
            expires_at_epoch: forget_after.as_second(),
        })?)
        .await
    }

    async fn recent_sign_in_failures(
        &self,
        subject: &str,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<Timestamp>, StoreError> {
        // Every sort key of an instant after `since` is above `instant_key(since)#~` ('~' sorts after the nonce's
        // hex digits), and every one at `since` below it. The newest first, so one page of `limit` is the answer.
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND SK > :since")
            .expression_attribute_values(":pk", string(failures_pk(subject)))
            .expression_attribute_values(":since", string(format!("{}#~", instant_key(since))))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        output
            .items
            .unwrap_or_default()
            .into_iter()
            .take(limit)
            .map(|item| from_item::<FailureItem>(item).map(|failure| failure.at))
            .collect()
    }
}
