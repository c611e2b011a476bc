//! What every store must do with the people who sign in: staff, password links, sessions, failed sign-ins
//! ([`crate::ports::SignInStore`]).

use std::sync::Arc;

use super::{at, base, email, member, new_business};
use crate::domain::StaffId;
use crate::ports::{LinkPurpose, PasswordLink, Session, StaffRole, Store, StoreError};

pub async fn staff_are_created_once_listed_per_business_and_get_passwords(store: Arc<dyn Store>) {
    let (first, _) = new_business(store.as_ref()).await;
    let (second, _) = new_business(store.as_ref()).await;
    let owner = member(&first, "owner@clinic.test", StaffRole::Owner);
    store.create_account(&owner).await.unwrap();
    store
        .create_account(&member(&first, "ana@clinic.test", StaffRole::Staff))
        .await
        .unwrap();
    store
        .create_account(&member(&second, "bo@other.test", StaffRole::Owner))
        .await
        .unwrap();
    // An email is one account, whichever business asks.
    assert!(matches!(
        store
            .create_account(&member(&second, "owner@clinic.test", StaffRole::Staff))
            .await,
        Err(StoreError::AlreadyExists)
    ));
    let listed: Vec<String> = store
        .list_accounts(first.id)
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
    let stored = store.get_account(&owner.email).await.unwrap().unwrap();
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
            .get_account(&email("nobody@clinic.test"))
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
        // Kept as stored: a link followed at another page than its purpose's does nothing.
        purpose: LinkPurpose::VerifyEmail,
        issued_at: base(),
        expires_at: at(60),
        new_email: None,
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

    // A connect-your-calendar link names its member inside its purpose; one taken to be looked at is put back as it
    // was, and is taken again whole.
    let connect = PasswordLink {
        purpose: LinkPurpose::ConnectCalendar {
            staff_id: StaffId::generate(),
        },
        ..link("three")
    };
    store.put_password_link(&connect).await.unwrap();
    let looked_at = store.take_password_link("three", at(1)).await.unwrap();
    assert_eq!(looked_at.as_ref(), Some(&connect));
    store.put_password_link(&connect).await.unwrap();
    assert_eq!(
        store.take_password_link("three", at(1)).await.unwrap(),
        Some(connect)
    );
}

pub async fn concurrent_takers_of_a_password_link_get_it_once(store: Arc<dyn Store>) {
    let (business, _) = new_business(store.as_ref()).await;
    store
        .put_password_link(&PasswordLink {
            token_hash: "raced".to_owned(),
            email: email("owner@clinic.test"),
            business_id: business.id,
            purpose: LinkPurpose::ResetPassword,
            issued_at: base(),
            expires_at: at(60),
            new_email: None,
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

pub async fn sign_in_failures_are_kept_one_by_one_and_read_newest_first(store: Arc<dyn Store>) {
    let nanos = |n| jiff::SignedDuration::from_nanos(n);
    let late = at(14) + jiff::SignedDuration::from_secs(59);
    assert_eq!(
        store
            .recent_sign_in_failures("account:a", base(), 10)
            .await
            .unwrap(),
        []
    );
    // Three at the same instant (a frozen clock, or a burst) are three failures.
    for _ in 0..3 {
        store
            .record_sign_in_failure("account:a", late, at(30))
            .await
            .unwrap();
    }
    store
        .record_sign_in_failure("account:a", at(20), at(35))
        .await
        .unwrap();
    // Subjects that share a prefix stay apart.
    store
        .record_sign_in_failure("account:ab", at(21), at(36))
        .await
        .unwrap();
    store
        .record_sign_in_failure("address:127.0.0.1", at(21), at(36))
        .await
        .unwrap();
    let recent = |subject: &'static str, since, limit| {
        let store = store.clone();
        async move {
            store
                .recent_sign_in_failures(subject, since, limit)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        recent("account:a", base(), 10).await,
        [at(20), late, late, late]
    );
    assert_eq!(recent("account:a", base(), 2).await, [at(20), late]);
    // `since` itself is out, a nanosecond before it is in.
    assert_eq!(recent("account:a", late, 10).await, [at(20)]);
    assert_eq!(recent("account:a", late - nanos(1), 10).await.len(), 4);
    assert_eq!(recent("account:a", at(20), 10).await, []);
    assert_eq!(recent("account:ab", base(), 10).await, [at(21)]);
    assert_eq!(recent("address:127.0.0.1", base(), 10).await, [at(21)]);

    let concurrent = (0..10).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .record_sign_in_failure("account:b", at(1), at(16))
                .await
                .unwrap()
        })
    });
    futures::future::join_all(concurrent).await;
    assert_eq!(recent("account:b", base(), 20).await.len(), 10);
}

/// The throttle through the use case on this store, with a clock the test moves: each failure counts for exactly
/// fifteen minutes from when it happened, whatever the wall clock's quarter hours.
pub async fn sign_in_throttling_counts_each_failure_for_fifteen_minutes(store: Arc<dyn Store>) {
    use crate::app::{App, AppError, accounts};
    use crate::ports::{ManualClock, QueueSettings};
    use secrecy::SecretString;

    let clock = ManualClock::new(at(14) + jiff::SignedDuration::from_secs(59));
    let app = App::new(
        store,
        Arc::new(crate::adapters::InProcessQueue::new(
            QueueSettings::default(),
        )),
        Arc::new(clock.clone()),
    );
    let attempt = || {
        accounts::sign_in(
            &app,
            "nobody@clinic.test",
            SecretString::from("not the password".to_owned()),
            "192.0.2.7",
        )
    };
    for _ in 0..accounts::MAX_FAILURES_PER_ACCOUNT {
        assert!(matches!(attempt().await, Err(AppError::SignInFailed)));
    }
    // 09:15:00 starts no new window: the five of 09:14:59 still count, until 09:29:59.
    let aged_out = at(29) + jiff::SignedDuration::from_secs(59);
    clock.set(at(15));
    assert!(
        matches!(attempt().await, Err(AppError::SignInThrottled { retry_at }) if retry_at == aged_out)
    );
    clock.set(aged_out - jiff::SignedDuration::from_nanos(1));
    assert!(matches!(
        attempt().await,
        Err(AppError::SignInThrottled { .. })
    ));
    clock.set(aged_out);
    assert!(matches!(attempt().await, Err(AppError::SignInFailed)));
}

pub async fn an_account_moves_to_a_free_email_whole_and_never_onto_a_taken_one(
    store: Arc<dyn Store>,
) {
    let (business, _) = new_business(store.as_ref()).await;
    let (other, _) = new_business(store.as_ref()).await;
    let owner = member(&business, "owner@clinic.test", StaffRole::Owner);
    store.create_account(&owner).await.unwrap();
    store
        .set_staff_password(&owner.email, "$argon2id$hash", at(5))
        .await
        .unwrap();
    store
        .create_account(&member(&other, "taken@other.test", StaffRole::Owner))
        .await
        .unwrap();

    assert!(matches!(
        store
            .change_account_email(&owner.email, &email("taken@other.test"))
            .await,
        Err(StoreError::AlreadyExists)
    ));
    assert!(
        store.get_account(&owner.email).await.unwrap().is_some(),
        "a refused move leaves the account where it was"
    );
    assert_eq!(
        store
            .get_account(&email("taken@other.test"))
            .await
            .unwrap()
            .unwrap()
            .business_id,
        other.id
    );

    store
        .change_account_email(&owner.email, &email("new@clinic.test"))
        .await
        .unwrap();
    assert_eq!(store.get_account(&owner.email).await.unwrap(), None);
    let moved = store
        .get_account(&email("new@clinic.test"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.email, email("new@clinic.test"));
    assert_eq!(moved.business_id, business.id);
    assert_eq!(moved.role, StaffRole::Owner);
    assert_eq!(moved.password_hash.as_deref(), Some("$argon2id$hash"));
    assert_eq!(moved.password_set_at, Some(at(5)));
    let listed: Vec<String> = store
        .list_accounts(business.id)
        .await
        .unwrap()
        .into_iter()
        .map(|member| member.email.into())
        .collect();
    assert_eq!(listed, ["new@clinic.test"]);
    // The old address is free again.
    store
        .create_account(&member(&other, "owner@clinic.test", StaffRole::Staff))
        .await
        .unwrap();
    assert!(matches!(
        store
            .change_account_email(&email("nobody@clinic.test"), &email("free@clinic.test"))
            .await,
        Err(StoreError::NotFound)
    ));
}
