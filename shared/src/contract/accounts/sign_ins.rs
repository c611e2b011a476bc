//! What every store must do with the people who sign in: staff, password links, sessions, failed sign-ins
//! ([`crate::ports::SignInStore`]).

use std::sync::Arc;

use super::{at, base, email, member, new_business};
use crate::ports::{PasswordLink, Session, StaffRole, Store, StoreError};

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
