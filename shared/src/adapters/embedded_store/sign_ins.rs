//! The people who sign in, their password links, sessions and failed sign-ins (tables listed in the parent module's
//! doc).

use async_trait::async_trait;
use jiff::Timestamp;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::{
    EmbeddedStore, PASSWORD_LINKS, SESSIONS, SIGN_IN_FAILURES, STAFF, STAFF_BY_BUSINESS, backend,
    decode, encode, instant_from_key, instant_key, key, key_tails_under, prefix_end, read_json,
};
use crate::domain::BusinessId;
use crate::ports::{Account, PasswordLink, Session, SignInEmail, SignInStore, StoreError};

/// One failed sign-in, keyed subject ‖ 0 ‖ when ‖ a random nonce (so failures at the same instant are each kept).
/// Rows of the fixed windows this table held before (subject ‖ 0 ‖ window start → count and expiry) read as one
/// failure at their window's start, and go like the others once expired.
#[derive(Serialize, Deserialize)]
struct FailureRecord {
    expires_at: Timestamp,
}

fn failures_prefix(subject: &str) -> Vec<u8> {
    key(&[subject.as_bytes(), &[0]])
}

#[async_trait]
impl SignInStore for EmbeddedStore {
    async fn create_account(&self, member: &Account) -> Result<(), StoreError> {
        let member = member.clone();
        self.write(move |txn| {
            {
                let mut staff = txn.open_table(STAFF).map_err(backend)?;
                let email = member.email.as_ref().as_bytes();
                if staff.get(email).map_err(backend)?.is_some() {
                    return Err(StoreError::AlreadyExists);
                }
                staff
                    .insert(email, encode(&member)?.as_slice())
                    .map_err(backend)?;
                txn.open_table(STAFF_BY_BUSINESS)
                    .map_err(backend)?
                    .insert(
                        key(&[member.business_id.as_uuid().as_bytes(), email]).as_slice(),
                        [].as_slice(),
                    )
                    .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn get_account(&self, email: &SignInEmail) -> Result<Option<Account>, StoreError> {
        self.get_json(STAFF, email.as_ref().as_bytes().to_vec())
    }

    async fn list_accounts(&self, business_id: BusinessId) -> Result<Vec<Account>, StoreError> {
        self.read(move |txn| {
            let index = txn.open_table(STAFF_BY_BUSINESS).map_err(backend)?;
            let staff = txn.open_table(STAFF).map_err(backend)?;
            let mut members = Vec::new();
            for email in key_tails_under(&index, business_id.as_uuid().as_bytes())? {
                if let Some(member) = read_json(&staff, &email)? {
                    members.push(member);
                }
            }
            Ok(members)
        })
    }

    async fn change_account_email(
        &self,
        from: &SignInEmail,
        to: &SignInEmail,
    ) -> Result<(), StoreError> {
        let (from, to) = (from.clone(), to.clone());
        self.write(move |txn| {
            {
                let mut staff = txn.open_table(STAFF).map_err(backend)?;
                let mut member: Account =
                    read_json(&staff, from.as_ref().as_bytes())?.ok_or(StoreError::NotFound)?;
                if staff
                    .get(to.as_ref().as_bytes())
                    .map_err(backend)?
                    .is_some()
                {
                    return Err(StoreError::AlreadyExists);
                }
                member.email = to.clone();
                staff.remove(from.as_ref().as_bytes()).map_err(backend)?;
                staff
                    .insert(to.as_ref().as_bytes(), encode(&member)?.as_slice())
                    .map_err(backend)?;
                let mut by_business = txn.open_table(STAFF_BY_BUSINESS).map_err(backend)?;
                let business = *member.business_id.as_uuid().as_bytes();
                by_business
                    .remove(key(&[&business, from.as_ref().as_bytes()]).as_slice())
                    .map_err(backend)?;
                by_business
                    .insert(
                        key(&[&business, to.as_ref().as_bytes()]).as_slice(),
                        [].as_slice(),
                    )
                    .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn set_staff_password(
        &self,
        email: &SignInEmail,
        password_hash: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let (email, password_hash) = (email.clone(), password_hash.to_owned());
        self.write(move |txn| {
            {
                let mut staff = txn.open_table(STAFF).map_err(backend)?;
                let key = email.as_ref().as_bytes();
                let mut member: Account = read_json(&staff, key)?.ok_or(StoreError::NotFound)?;
                member.password_hash = Some(password_hash);
                member.password_set_at = Some(at);
                staff
                    .insert(key, encode(&member)?.as_slice())
                    .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn put_password_link(&self, link: &PasswordLink) -> Result<(), StoreError> {
        self.insert_new(
            PASSWORD_LINKS,
            link.token_hash.as_bytes().to_vec(),
            encode(link)?,
        )
        .await
    }

    async fn take_password_link(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<PasswordLink>, StoreError> {
        let token_hash = token_hash.to_owned();
        self.write(move |txn| {
            let taken: Option<PasswordLink> = txn
                .open_table(PASSWORD_LINKS)
                .map_err(backend)?
                .remove(token_hash.as_bytes())
                .map_err(backend)?
                .map(|removed| decode(removed.value()))
                .transpose()?;
            Ok(taken.filter(|link| link.expires_at > now))
        })
        .await
    }

    async fn put_session(&self, session: &Session) -> Result<(), StoreError> {
        self.insert_new(
            SESSIONS,
            session.id_hash.as_bytes().to_vec(),
            encode(session)?,
        )
        .await
    }

    async fn get_session(
        &self,
        id_hash: &str,
        now: Timestamp,
    ) -> Result<Option<Session>, StoreError> {
        let session: Option<Session> = self.get_json(SESSIONS, id_hash.as_bytes().to_vec())?;
        Ok(session.filter(|session| session.expires_at > now))
    }

    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        let id_hash = id_hash.to_owned();
        self.write(move |txn| {
            txn.open_table(SESSIONS)
                .map_err(backend)?
                .remove(id_hash.as_bytes())
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn record_sign_in_failure(
        &self,
        subject: &str,
        at: Timestamp,
        forget_after: Timestamp,
    ) -> Result<(), StoreError> {
        let prefix = failures_prefix(subject);
        let row = key(&[&prefix, &instant_key(at), uuid::Uuid::new_v4().as_bytes()]);
        let record = encode(&FailureRecord {
            expires_at: forget_after,
        })?;
        self.write(move |txn| {
            let mut failures = txn.open_table(SIGN_IN_FAILURES).map_err(backend)?;
            // Nothing expires by itself here: the subject's forgotten failures go when it fails again.
            let mut expired = Vec::new();
            for entry in failures
                .range(prefix.as_slice()..prefix_end(&prefix).as_slice())
                .map_err(backend)?
            {
                let (stored, value) = entry.map_err(backend)?;
                let old: FailureRecord = decode(value.value())?;
                if old.expires_at <= at {
                    expired.push(stored.value().to_vec());
                }
            }
            for stale in expired {
                failures.remove(stale.as_slice()).map_err(backend)?;
            }
            failures
                .insert(row.as_slice(), record.as_slice())
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn recent_sign_in_failures(
        &self,
        subject: &str,
        since: Timestamp,
        limit: usize,
    ) -> Result<Vec<Timestamp>, StoreError> {
        let prefix = failures_prefix(subject);
        let Ok(after) = since.checked_add(jiff::SignedDuration::from_nanos(1)) else {
            return Ok(Vec::new());
        };
        let start = key(&[&prefix, &instant_key(after)]);
        self.read(move |txn| {
            let failures = txn.open_table(SIGN_IN_FAILURES).map_err(backend)?;
            let mut recent = Vec::new();
            for entry in failures
                .range(start.as_slice()..prefix_end(&prefix).as_slice())
                .map_err(backend)?
                .rev()
                .take(limit)
            {
                let (stored, _) = entry.map_err(backend)?;
                let when = stored
                    .value()
                    .get(prefix.len()..prefix.len() + 16)
                    .ok_or_else(|| StoreError::Backend("corrupt sign-in failure key".into()))?;
                recent.push(instant_from_key(when)?);
            }
            Ok(recent)
        })
    }
}
