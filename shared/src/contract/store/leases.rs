//! What every store must do with leases ([`crate::ports::LeaseStore`]).

use std::sync::Arc;

use super::at;
use crate::ports::Store;

pub async fn a_lease_has_one_holder_until_it_ends_or_is_released(store: Arc<dyn Store>) {
    let name = format!("refresh-{}", uuid::Uuid::new_v4());
    let store_ref = store.as_ref();
    // Whether `holder` gets the lease until minute `until`, asking at minute `now`.
    let acquires = async |holder: &str, until: i64, now: i64| {
        store_ref
            .try_acquire_lease(&name, holder, at(until), at(now))
            .await
            .unwrap()
    };
    assert!(acquires("a", 1, 0).await);
    assert!(!acquires("b", 1, 0).await);
    assert!(
        acquires("a", 2, 0).await,
        "the holder may extend its own lease"
    );
    store.release_lease(&name, "b").await.unwrap();
    assert!(
        !acquires("b", 2, 1).await,
        "another's release changes nothing"
    );
    assert!(acquires("b", 5, 3).await, "an ended lease is free");
    store.release_lease(&name, "b").await.unwrap();
    assert!(acquires("c", 5, 3).await);

    let contested = format!("refresh-{}", uuid::Uuid::new_v4());
    let attempts = (0..20).map(|holder| {
        let store = store.clone();
        let contested = contested.clone();
        tokio::spawn(async move {
            store
                .try_acquire_lease(&contested, &holder.to_string(), at(1), at(0))
                .await
                .unwrap()
        })
    });
    let winners = futures::future::join_all(attempts)
        .await
        .into_iter()
        .filter(|won| *won.as_ref().unwrap())
        .count();
    assert_eq!(winners, 1);
}
