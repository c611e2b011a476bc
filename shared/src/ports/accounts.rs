//! What the dashboard keeps: the people who sign in for a business, their sessions, the single-use links that set a
//! password, the failed sign-ins of the last minutes ([`SignInStore`]), and a business's named API keys
//! ([`ApiKeyStore`]). Roles of every `Store` (see [`super::Store`]), so both adapters keep them in the same database
//! as the rest.

use std::fmt;

use async_trait::async_trait;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::domain::string_newtype_conversions;
use crate::domain::{ApiKeyHash, Business, BusinessId, StaffId, ValidationError};

/// An email address used to sign in: trimmed and lowercased, so "Ana@Clinic.test" and "ana@clinic.test" are one
/// account.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SignInEmail(String);

impl TryFrom<String> for SignInEmail {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        let normalized = value.trim().to_lowercase();
        let valid = normalized.len() <= 254
            && !normalized
                .chars()
                .any(|c| c.is_control() || c.is_whitespace())
            && normalized.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.contains('@')
            });
        if !valid {
            return Err(ValidationError::new(
                "email",
                "must be an email address such as owner@example.com",
            ));
        }
        Ok(Self(normalized))
    }
}

string_newtype_conversions!(SignInEmail);

impl fmt::Debug for SignInEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SignInEmail").field(&self.0).finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaffRole {
    /// Created with the business: runs it (staff, API keys, integrations, services) as well as its appointments.
    Owner,
    /// Invited by the owner: works with the appointments (the dashboard's `permissions` module lists what each
    /// role may do).
    Staff,
}

/// A person who signs in to a business's dashboard. An email belongs to one business.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub email: SignInEmail,
    pub business_id: BusinessId,
    pub role: StaffRole,
    /// An argon2id hash in PHC string form; `None` until the person sets a password from their link. An owner who
    /// signed up chose it on the sign-up page, before their email was confirmed.
    pub password_hash: Option<String>,
    pub invited_at: Timestamp,
    /// When a link last set (or, after signing up, confirmed) the password; sessions signed in before it are over.
    /// Every link is emailed, so following one proves the address: `None` with a password means the owner signed
    /// up and has not confirmed their email yet ([`Self::awaiting_verification`]).
    pub password_set_at: Option<Timestamp>,
}

impl Account {
    /// Signed up with a password, email not confirmed yet: signing in asks them to follow the emailed link first.
    pub fn awaiting_verification(&self) -> bool {
        self.password_hash.is_some() && self.password_set_at.is_none()
    }
}

/// What a single-use link is for; a link followed at another page than its own does nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    /// An invitation (or an operator's link for an owner): choose a first password. Links stored before purposes
    /// existed were all this.
    #[default]
    SetPassword,
    /// After signing up: confirm the email, which makes the chosen password usable.
    VerifyEmail,
    /// Asked for on the forgot-password page: choose a new password.
    ResetPassword,
    /// Asked for on the settings page: sign in with the new address the link was sent to
    /// ([`PasswordLink::new_email`]).
    ChangeEmail,
    /// Sent by the owner to a staff member: connect a calendar account of their own for `staff_id`, without signing
    /// in. The link's [`PasswordLink::email`] is the address it was sent to, which need not be anyone's account.
    ConnectCalendar { staff_id: StaffId },
}

/// A single-use link that sets a person's password, confirms their email, or lets a staff member connect their
/// calendar. Only the SHA-256 of its random token is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordLink {
    pub token_hash: String,
    pub email: SignInEmail,
    pub business_id: BusinessId,
    #[serde(default)]
    pub purpose: LinkPurpose,
    /// A link sets only a password chosen after it was issued: once the account's password is set, older links are
    /// void. Links stored before this was recorded read as issued at the epoch, so they can no longer reset a
    /// password that was already set.
    #[serde(default)]
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    /// For [`LinkPurpose::ChangeEmail`]: the address the account moves to, the one the link was sent to. Links of
    /// other purposes, and those stored before this existed, have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_email: Option<SignInEmail>,
}

/// A signed-in browser. The cookie carries a random id; the store keeps only its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub id_hash: String,
    pub business_id: BusinessId,
    pub email: SignInEmail,
    /// Every form of this session carries it; a form without it changes nothing.
    pub csrf_token: String,
    pub created_at: Timestamp,
    /// After this the session is gone (DynamoDB TTL); adapters treat an expired session as absent.
    pub expires_at: Timestamp,
}

/// A business's API key as the dashboard lists it. The key itself is shown once, when made; this keeps its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// Short and stable, for the page's links: the first 16 hex digits of the key's hash.
    pub id: String,
    pub business_id: BusinessId,
    pub name: String,
    pub hash: ApiKeyHash,
    /// The key's first characters, so the owner can tell keys apart without the key.
    pub hint: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl ApiKeyRecord {
    pub fn id_of(hash: &ApiKeyHash) -> String {
        hash.as_str().chars().take(16).collect()
    }
}

/// The name the store gives the key a business is created with.
pub const FIRST_API_KEY_NAME: &str = "First key";

/// The people who sign in for a business, their password links, sessions and failed sign-ins.
#[async_trait]
pub trait SignInStore: Send + Sync + 'static {
    /// Fails with `AlreadyExists` if the email belongs to anyone already.
    async fn create_account(&self, member: &Account) -> Result<(), StoreError>;
    async fn get_account(&self, email: &SignInEmail) -> Result<Option<Account>, StoreError>;
    /// Everyone who signs in for the business, ordered by email.
    async fn list_accounts(&self, business_id: BusinessId) -> Result<Vec<Account>, StoreError>;
    /// Moves the account to another email, in one atomic step: it signs in with `to` from now on, and `from` is
    /// free. `AlreadyExists` if `to` belongs to anyone, `NotFound` if there is no account `from`. Sessions name the
    /// email they signed in with, so every session of the account ends.
    async fn change_account_email(
        &self,
        from: &SignInEmail,
        to: &SignInEmail,
    ) -> Result<(), StoreError>;
    /// Replaces the password hash (`NotFound` if there is no such person).
    async fn set_staff_password(
        &self,
        email: &SignInEmail,
        password_hash: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Fails with `AlreadyExists` if the token hash is taken.
    async fn put_password_link(&self, link: &PasswordLink) -> Result<(), StoreError>;
    /// Removes and returns the link: a second use, or one after it expired, gets `None`.
    async fn take_password_link(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<PasswordLink>, StoreError>;

    /// Fails with `AlreadyExists` if the id hash is taken.
    async fn put_session(&self, session: &Session) -> Result<(), StoreError>;
    /// The unexpired session, if any.
    async fn get_session(
        &self,
        id_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Session>, StoreError>;
    /// Ending a session that does not exist succeeds.
    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;

    /// Records one failed sign-in against `subject` (an account or an address) that happened `at`; the record may
    /// be forgotten after `forget_after` (DynamoDB TTL). Failures at the same instant are each recorded.
    async fn record_sign_in_failure(
        &self,
        subject: &str,
        at: Timestamp,
        forget_after: Timestamp,
    ) -> Result<(), StoreError>;
    /// When the failed sign-ins against `subject` after `since` (exclusive) happened: the newest first, at most
    /// `limit` of them.
    async fn recent_sign_in_failures(
        &self,
        subject: &str,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<Timestamp>, StoreError>;
}

/// A business's API keys: how a request is authenticated, and the dashboard's list of them.
#[async_trait]
pub trait ApiKeyStore: Send + Sync + 'static {
    /// The business an unrevoked key belongs to.
    async fn business_by_api_key(
        &self,
        api_key: &ApiKeyHash,
    ) -> Result<Option<Business>, StoreError>;

    /// Adds a key to its business; it authenticates at once. `AlreadyExists` if the hash is taken.
    async fn create_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError>;
    /// Every key of the business, revoked ones included, ordered by creation.
    async fn list_api_keys(&self, business_id: BusinessId)
    -> Result<Vec<ApiKeyRecord>, StoreError>;
    /// Marks the key revoked and stops it authenticating in the same atomic step; revoking twice keeps the first
    /// time. `NotFound` if the business has no such key.
    async fn revoke_api_key(
        &self,
        business_id: BusinessId,
        key_id: &str,
        at: Timestamp,
    ) -> Result<ApiKeyRecord, StoreError>;
}

/// The record of the key a business is created with, as both adapters write it.
pub fn first_api_key_record(business: &Business, hash: &ApiKeyHash) -> ApiKeyRecord {
    ApiKeyRecord {
        id: ApiKeyRecord::id_of(hash),
        business_id: business.id,
        name: FIRST_API_KEY_NAME.to_owned(),
        hash: hash.clone(),
        hint: String::new(),
        created_at: business.created_at,
        revoked_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        let email = SignInEmail::try_from("  Ana@Clinic.Test ".to_owned()).ok();
        assert_eq!(email.as_ref().map(AsRef::as_ref), Some("ana@clinic.test"));
        for bad in [
            "",
            "ana",
            "ana@",
            "@clinic.test",
            "ana@clinic",
            "a b@c.d",
            "a@b@c.d",
        ] {
            assert!(SignInEmail::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    /// A connect link names its member inside the purpose, so the store's record needs no new field: links written
    /// by the release before read as they did, and a connect link reads back whole.
    #[test]
    fn link_purposes_of_every_release_read_and_a_connect_link_keeps_its_member() {
        let before = serde_json::json!({
            "token_hash": "abc",
            "email": "ana@clinic.test",
            "business_id": BusinessId::generate(),
            "purpose": "reset_password",
            "issued_at": "2026-12-01T09:00:00Z",
            "expires_at": "2026-12-01T10:00:00Z",
        });
        let read: Option<PasswordLink> = serde_json::from_value(before).ok();
        assert_eq!(
            read.map(|link| link.purpose),
            Some(LinkPurpose::ResetPassword)
        );
        let staff_id = StaffId::generate();
        let purpose = LinkPurpose::ConnectCalendar { staff_id };
        let written = serde_json::to_value(purpose).ok();
        let back: Option<LinkPurpose> =
            written.and_then(|value| serde_json::from_value(value).ok());
        assert_eq!(back, Some(purpose));
    }
}
