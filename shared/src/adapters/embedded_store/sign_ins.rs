//! The people who sign in, their password links, sessions and failed sign-ins (tables listed in the parent module's
//! doc).

use async_trait::async_trait;
use jiff::Timestamp;
use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::{
    EmbeddedStore, PASSWORD_LINKS, SESSIONS, SIGN_IN_FAILURES, STAFF, STAFF_BY_BUSINESS, backend,
    decode, encode, instant_key, key, key_tails_under, read_json,
};
use crate::domain::BusinessId;
use crate::ports::{PasswordLink, Session, SignInEmail, SignInStore, StaffMember, StoreError};

#[derive(Serialize, Deserialize)]
struct FailureCount {
    count: u32,
    expires_at: Timestamp,
}

fn failure_key(subject: &str, window_start: Timestamp) -> Vec<u8> {
    key(&[subject.as_bytes(), &[0], &instant_key(window_start)])
}

#[async_trait]
impl SignInStore for EmbeddedStore {
    async fn create_staff_member(&self, member: &StaffMember) -> Result<(), StoreError> {
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

    async fn get_staff_member(
        &self,
        email: &SignInEmail,
    ) -> Result<Option<StaffMember>, StoreError> {
        self.get_json(STAFF, email.as_ref().as_bytes().to_vec())
    }

    async fn list_staff(&self, business_id: BusinessId) -> Result<Vec<StaffMember>, StoreError> {
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
                let mut member: StaffMember =
                    read_json(&staff, key)?.ok_or(StoreError::NotFound)?;
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

    async fn count_sign_in_failure(
        &self,
        subject: &str,
        window_start: Timestamp,
        expires_at: Timestamp,
    ) -> Result<u32, StoreError> {
        let key = failure_key(subject, window_start);
        self.write(move |txn| {
            let count = {
                let mut failures = txn.open_table(SIGN_IN_FAILURES).map_err(backend)?;
                let current: Option<FailureCount> = read_json(&failures, &key)?;
                let count = current.map_or(0, |current| current.count) + 1;
                failures
                    .insert(
                        key.as_slice(),
                        encode(&FailureCount { count, expires_at })?.as_slice(),
                    )
                    .map_err(backend)?;
                count
            };
            Ok(count)
        })
        .await
    }

    async fn sign_in_failures(
        &self,
        subject: &str,
        window_start: Timestamp,
    ) -> Result<u32, StoreError> {
        let stored: Option<FailureCount> =
            self.get_json(SIGN_IN_FAILURES, failure_key(subject, window_start))?;
        Ok(stored.map_or(0, |stored| stored.count))
    }
}
