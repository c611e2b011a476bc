//! What every store must do with leases ([`crate::ports::LeaseStore`]).

use std::sync::Arc;

use super::at;
use crate::ports::Store;

pub async fn a_lease_has_one_holder_until_it_ends_or_is_released(store: Arc<dyn Store>) {
    let name = format!("refresh-{}", uuid::Uuid::new_v4());
    assert!(
        store
            .try_acquire_lease(&name, "a", at(1), at(0))
            .await
            .unwrap()
    );
    assert!(
        !store
            .try_acquire_lease(&name, "b", at(1), at(0))
            .await
            .unwrap()
    );
    assert!(
        store
            .try_acquire_lease(&name, "a", at(2), at(0))
            .await
            .unwrap(),
        "the holder may extend its own lease"
    );
    store.release_lease(&name, "b").await.unwrap();
    assert!(
        !store
            .try_acquire_lease(&name, "b", at(2), at(1))
            .await
            .unwrap(),
        "another's release changes nothing"
    );
    assert!(
        store
            .try_acquire_lease(&name, "b", at(5), at(3))
            .await
            .unwrap(),
        "an ended lease is free"
    );
    store.release_lease(&name, "b").await.unwrap();
    assert!(
        store
            .try_acquire_lease(&name, "c", at(5), at(3))
            .await
            .unwrap()
    );

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
