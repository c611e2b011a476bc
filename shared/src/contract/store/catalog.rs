//! What every store must do with businesses, services and settings ([`crate::ports::CatalogStore`]).

use std::sync::Arc;

use super::{at, authenticated_as, base, business, service, stored_business, with_service};
use crate::contract::first_google_connection;
use crate::domain::{
    ApiKey, BusinessId, BusinessName, BusinessSettings, BusinessTimeZone, CountryCode, HoldMinutes,
    Minutes, ServiceId, StaffId, StaffMember,
};
use crate::ports::{Store, StoreError};

pub async fn businesses_are_created_once_and_found_by_key(store: Arc<dyn Store>) {
    let business = business();
    let key = ApiKey::generate();
    store.create_business(&business, &key.hash()).await.unwrap();
    assert_eq!(
        store.get_business(business.id).await.unwrap(),
        Some(business.clone())
    );
    assert_eq!(
        authenticated_as(&*store, &key).await,
        Some(business.clone())
    );
    assert_eq!(authenticated_as(&*store, &ApiKey::generate()).await, None);
    assert_eq!(
        store.get_business(BusinessId::generate()).await.unwrap(),
        None
    );

    let same_id = store
        .create_business(&business, &ApiKey::generate().hash())
        .await;
    assert!(
        matches!(same_id, Err(StoreError::AlreadyExists)),
        "{same_id:?}"
    );
    let mut other = self::business();
    other.name = BusinessName::try_from("Other".to_owned()).unwrap();
    let same_key = store.create_business(&other, &key.hash()).await;
    assert!(
        matches!(same_key, Err(StoreError::AlreadyExists)),
        "{same_key:?}"
    );
    assert_eq!(
        store.get_business(other.id).await.unwrap(),
        None,
        "a refused business is not half-written"
    );
}

pub async fn services_are_created_listed_and_updated_by_version(store: Arc<dyn Store>) {
    let (business, first) = with_service(store.as_ref()).await;
    let second = service(&business);
    store.create_service(&second).await.unwrap();
    assert!(matches!(
        store.create_service(&second).await,
        Err(StoreError::AlreadyExists)
    ));
    let listed = store.list_services(business.id).await.unwrap();
    let mut expected = vec![first.clone(), second.clone()];
    expected.sort_by_key(|service| service.id);
    assert_eq!(listed, expected);
    assert_eq!(
        store.list_services(BusinessId::generate()).await.unwrap(),
        vec![]
    );

    let mut updated = first.clone();
    updated.settings.duration = Minutes::new(45);
    updated.version = 2;
    store.update_service(&updated, 1).await.unwrap();
    assert_eq!(
        store.get_service(business.id, first.id).await.unwrap(),
        Some(updated.clone())
    );
    let stale = store.update_service(&updated, 1).await;
    assert!(
        matches!(stale, Err(StoreError::VersionMismatch)),
        "{stale:?}"
    );
    let missing = store.update_service(&service(&business), 1).await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
    assert_eq!(
        store
            .get_service(BusinessId::generate(), first.id)
            .await
            .unwrap(),
        None,
        "scoped by business"
    );
}

pub async fn business_settings_default_and_are_replaced(store: Arc<dyn Store>) {
    let (business, _) = with_service(store.as_ref()).await;
    assert_eq!(
        store.get_business_settings(business.id).await.unwrap(),
        BusinessSettings::default()
    );
    let chosen = BusinessSettings {
        country: Some(CountryCode::try_from("US".to_owned()).unwrap()),
        hold_minutes: Some(HoldMinutes::try_from(10).unwrap()),
        agent_tried_at: Some(jiff::Timestamp::from_second(1_800_000_000).unwrap()),
        owner_alerts: Some(false),
        ..BusinessSettings::default()
    };
    store
        .put_business_settings(business.id, &chosen)
        .await
        .unwrap();
    assert_eq!(
        store.get_business_settings(business.id).await.unwrap(),
        chosen
    );
    let (other, _) = with_service(store.as_ref()).await;
    assert_eq!(
        store.get_business_settings(other.id).await.unwrap(),
        BusinessSettings::default()
    );
}

/// A booking's first read: the service, the connection and the staff members together, each absent when it is.
pub async fn a_service_the_connection_and_the_staff_are_read_together(store: Arc<dyn Store>) {
    let (business, service) = with_service(store.as_ref()).await;
    let first = store.list_staff(business.id).await.unwrap();
    assert_eq!(
        store
            .service_connection_and_staff(business.id, service.id)
            .await
            .unwrap(),
        (Some(service.clone()), Vec::new(), first.clone())
    );
    let connection = first_google_connection(business.id, "clinic@example.com", base());
    store.put_calendar_connection(&connection).await.unwrap();
    let second = StaffMember {
        id: StaffId::generate(),
        ..StaffMember::first_of(business.id, business.name.clone(), base())
    };
    store.create_staff_member(&second).await.unwrap();
    let staff = store.list_staff(business.id).await.unwrap();
    assert_eq!(staff.len(), 2, "{staff:?}");
    assert_eq!(
        store
            .service_connection_and_staff(business.id, service.id)
            .await
            .unwrap(),
        (Some(service), vec![connection.clone()], staff.clone())
    );
    assert_eq!(
        store
            .service_connection_and_staff(business.id, ServiceId::generate())
            .await
            .unwrap(),
        (None, vec![connection], staff)
    );
}

pub async fn a_renamed_business_authenticates_by_its_keys_with_its_new_name_and_zone(
    store: Arc<dyn Store>,
) {
    let (renamed, first_key) = stored_business(&*store).await;
    let (untouched, _) = stored_business(&*store).await;
    // A key added later, and a revoked one, which must stay revoked.
    let later_key = ApiKey::generate();
    let mut later = crate::ports::first_api_key_record(&renamed, &later_key.hash());
    later.name = "Later".into();
    store.create_api_key(&later).await.unwrap();
    let revoked_key = ApiKey::generate();
    let mut revoked = crate::ports::first_api_key_record(&renamed, &revoked_key.hash());
    revoked.name = "Revoked".into();
    store.create_api_key(&revoked).await.unwrap();
    store
        .revoke_api_key(renamed.id, &revoked.id, at(1))
        .await
        .unwrap();
    store
        .set_business_disabled(renamed.id, Some(at(2)))
        .await
        .unwrap();

    let name = BusinessName::try_from("Renamed Clinic".to_owned()).unwrap();
    let zone = BusinessTimeZone::try_from("America/New_York".to_owned()).unwrap();
    store
        .update_business_profile(renamed.id, &name, &zone)
        .await
        .unwrap();

    let stored = store.get_business(renamed.id).await.unwrap().unwrap();
    assert_eq!(stored.name, name);
    assert_eq!(stored.time_zone, zone);
    assert_eq!(stored.disabled_at, Some(at(2)), "still disabled");
    assert_eq!(stored.created_at, renamed.created_at);
    for key in [&first_key, &later_key] {
        let authenticated = authenticated_as(&*store, key).await.unwrap();
        assert_eq!(
            authenticated, stored,
            "a key authenticates as the renamed business"
        );
    }
    assert_eq!(
        authenticated_as(&*store, &revoked_key).await,
        None,
        "a revoked key stays revoked"
    );
    assert_eq!(
        store.get_business(untouched.id).await.unwrap().unwrap(),
        untouched
    );
    assert!(matches!(
        store
            .update_business_profile(BusinessId::generate(), &name, &zone)
            .await,
        Err(StoreError::NotFound)
    ));
}
