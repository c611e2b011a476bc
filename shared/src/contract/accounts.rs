//! What every `Store` must do with the dashboard's records ([`crate::ports::SignInStore`],
//! [`crate::ports::ApiKeyStore`]). Each function gets a fresh, empty store.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use crate::domain::{ApiKey, Business, BusinessId, BusinessName, BusinessTimeZone};
use crate::ports::{
    ApiKeyRecord, FIRST_API_KEY_NAME, PasswordLink, Session, SignInEmail, StaffMember, StaffRole,
    Store, StoreError,
};

fn base() -> Timestamp {
    "2027-03-01T09:00:00Z".parse().unwrap()
}

fn at(minutes: i64) -> Timestamp {
    base()
        .checked_add(SignedDuration::from_mins(minutes))
        .unwrap()
}

async fn new_business(store: &dyn Store) -> (Business, ApiKey) {
    let business = Business {
        id: BusinessId::generate(),
        name: BusinessName::try_from("Accounts Clinic".to_owned()).unwrap(),
        time_zone: BusinessTimeZone::try_from("Europe/Berlin".to_owned()).unwrap(),
        created_at: base(),
    };
    let key = ApiKey::generate();
    store.create_business(&business, &key.hash()).await.unwrap();
    (business, key)
}

fn email(text: &str) -> SignInEmail {
    SignInEmail::try_from(text.to_owned()).unwrap()
}

fn member(business: &Business, address: &str, role: StaffRole) -> StaffMember {
    StaffMember {
        email: email(address),
        business_id: business.id,
        role,
        password_hash: None,
        invited_at: base(),
        password_set_at: None,
    }
}

pub async fn staff_are_created_once_listed_per_business_and_get_passwords(store: Arc<dyn Store>) {
    let (first, _) = new_business(store.as_ref()).await;
    let (second, _) = new_business(store.as_ref()).await;
    let owner = member(&first, "owner@clinic.test", StaffRole::Owner);
    store.create_staff_member(&owner).await.unwrap();
    store
        .create_staff_member(&member(&first, "ana@clinic.test", StaffRole::Staff))
        .await
        .unwrap();
    store
        .create_staff_member(&member(&second, "bo@other.test", StaffRole::Owner))
        .await
        .unwrap();
    // An email is one account, whichever business asks.
    assert!(matches!(
        store
            .create_staff_member(&member(&second, "owner@clinic.test", StaffRole::Staff))
            .await,
        Err(StoreError::AlreadyExists)
    ));
    let listed: Vec<String> = store
        .list_staff(first.id)
        .await
        .unwrap()
        .into_iter()
        .map(|member| member.email.into())
        .collect();
    assert_eq!(listed, ["ana@clinic.test", "owner@clinic.test"]);

    store
        .set_staff_password(&owner.email, "$argon2id$hash", at(5))
        .await
        .unwrap();
    let stored = store.get_staff_member(&owner.email).await.unwrap().unwrap();
    assert_eq!(stored.password_hash.as_deref(), Some("$argon2id$hash"));
    assert_eq!(stored.password_set_at, Some(at(5)));
    assert_eq!(stored.role, StaffRole::Owner);
    assert!(matches!(
        store
            .set_staff_password(&email("nobody@clinic.test"), "x", at(5))
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .get_staff_member(&email("nobody@clinic.test"))
            .await
            .unwrap(),
        None
    );
}

pub async fn a_password_link_is_taken_once_and_not_after_it_expires(store: Arc<dyn Store>) {
    let (business, _) = new_business(store.as_ref()).await;
    let link = |hash: &str| PasswordLink {
        token_hash: hash.to_owned(),
        email: email("owner@clinic.test"),
        business_id: business.id,
        expires_at: at(60),
    };
    store.put_password_link(&link("one")).await.unwrap();
    assert!(matches!(
        store.put_password_link(&link("one")).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(
        store.take_password_link("one", at(1)).await.unwrap(),
        Some(link("one"))
    );
    assert_eq!(store.take_password_link("one", at(1)).await.unwrap(), None);
    store.put_password_link(&link("two")).await.unwrap();
    assert_eq!(store.take_password_link("two", at(60)).await.unwrap(), None);
    assert_eq!(store.take_password_link("two", at(1)).await.unwrap(), None);
}

pub async fn concurrent_takers_of_a_password_link_get_it_once(store: Arc<dyn Store>) {
    let (business, _) = new_business(store.as_ref()).await;
    store
        .put_password_link(&PasswordLink {
            token_hash: "raced".to_owned(),
            email: email("owner@clinic.test"),
            business_id: business.id,
            expires_at: at(60),
        })
        .await
        .unwrap();
    let takers = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.take_password_link("raced", at(1)).await.unwrap() })
    });
    let taken = futures::future::join_all(takers)
        .await
        .into_iter()
        .filter(|outcome| outcome.as_ref().unwrap().is_some())
        .count();
    assert_eq!(taken, 1);
}

pub async fn sessions_are_found_until_they_expire_or_end(store: Arc<dyn Store>) {
    let (business, _) = new_business(store.as_ref()).await;
    let session = Session {
        id_hash: "session-hash".to_owned(),
        business_id: business.id,
        email: email("owner@clinic.test"),
        csrf_token: "csrf".to_owned(),
        created_at: base(),
        expires_at: at(60),
    };
    store.put_session(&session).await.unwrap();
    assert!(matches!(
        store.put_session(&session).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(
        store.get_session("session-hash", at(59)).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(
        store.get_session("session-hash", at(60)).await.unwrap(),
        None
    );
    assert_eq!(store.get_session("other", at(1)).await.unwrap(), None);
    store.delete_session("session-hash").await.unwrap();
    assert_eq!(
        store.get_session("session-hash", at(1)).await.unwrap(),
        None
    );
    store.delete_session("session-hash").await.unwrap();
}

pub async fn sign_in_failures_are_counted_per_subject_and_window(store: Arc<dyn Store>) {
    let window = base();
    assert_eq!(
        store.sign_in_failures("account:a", window).await.unwrap(),
        0
    );
    for expected in 1..=3 {
        assert_eq!(
            store
                .count_sign_in_failure("account:a", window, at(30))
                .await
                .unwrap(),
            expected
        );
    }
    store
        .count_sign_in_failure("address:127.0.0.1", window, at(30))
        .await
        .unwrap();
    assert_eq!(
        store.sign_in_failures("account:a", window).await.unwrap(),
        3
    );
    assert_eq!(
        store
            .sign_in_failures("address:127.0.0.1", window)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.sign_in_failures("account:a", at(15)).await.unwrap(),
        0
    );
    let concurrent = (0..10).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .count_sign_in_failure("account:b", window, at(30))
                .await
                .unwrap()
        })
    });
    let mut counts: Vec<u32> = futures::future::join_all(concurrent)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=10).collect::<Vec<_>>());
}

pub async fn api_keys_are_listed_and_a_revoked_key_stops_authenticating_at_once(
    store: Arc<dyn Store>,
) {
    let (business, first_key) = new_business(store.as_ref()).await;
    let (other, other_key) = new_business(store.as_ref()).await;
    let listed = store.list_api_keys(business.id).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, FIRST_API_KEY_NAME);
    assert_eq!(listed[0].hash, first_key.hash());
    assert_eq!(listed[0].revoked_at, None);

    let agent_key = ApiKey::generate();
    let record = ApiKeyRecord {
        id: ApiKeyRecord::id_of(&agent_key.hash()),
        business_id: business.id,
        name: "Phone agent".to_owned(),
        hash: agent_key.hash(),
        hint: "bk_abcd".to_owned(),
        created_at: at(10),
        revoked_at: None,
    };
    store.create_api_key(&record).await.unwrap();
    assert!(matches!(
        store.create_api_key(&record).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(
        store
            .business_by_api_key(&agent_key.hash())
            .await
            .unwrap()
            .map(|found| found.id),
        Some(business.id)
    );
    let names: Vec<String> = store
        .list_api_keys(business.id)
        .await
        .unwrap()
        .into_iter()
        .map(|record| record.name)
        .collect();
    assert_eq!(names, [FIRST_API_KEY_NAME, "Phone agent"]);

    // Another business cannot revoke it, even knowing its id.
    assert!(matches!(
        store.revoke_api_key(other.id, &record.id, at(20)).await,
        Err(StoreError::NotFound)
    ));
    let revoked = store
        .revoke_api_key(business.id, &record.id, at(20))
        .await
        .unwrap();
    assert_eq!(revoked.revoked_at, Some(at(20)));
    assert_eq!(
        store.business_by_api_key(&agent_key.hash()).await.unwrap(),
        None
    );
    let again = store
        .revoke_api_key(business.id, &record.id, at(30))
        .await
        .unwrap();
    assert_eq!(again.revoked_at, Some(at(20)));
    let listed = store.list_api_keys(business.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].revoked_at, Some(at(20)));
    // The other keys keep working.
    assert!(
        store
            .business_by_api_key(&first_key.hash())
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .business_by_api_key(&other_key.hash())
            .await
            .unwrap()
            .is_some()
    );
}
