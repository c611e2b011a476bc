//! What every store must do with a business's API keys ([`crate::ports::ApiKeyStore`]).

use std::sync::Arc;

use super::{at, new_business};
use crate::domain::ApiKey;
use crate::ports::{ApiKeyRecord, FIRST_API_KEY_NAME, Store, StoreError};

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
    for key in [&first_key, &other_key] {
        assert!(
            store
                .business_by_api_key(&key.hash())
                .await
                .unwrap()
                .is_some()
        );
    }
}
