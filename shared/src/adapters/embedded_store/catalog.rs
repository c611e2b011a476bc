//! Businesses, their services and settings.

use async_trait::async_trait;
use redb::ReadableTable;

use super::api_keys::write_api_key_record;
use super::{
    API_KEYS, BUSINESS_SETTINGS, BUSINESSES, EmbeddedStore, SERVICES, backend, encode, key,
    read_json, rows_under,
};
use crate::domain::{
    ApiKeyHash, Business, BusinessId, BusinessName, BusinessSettings, BusinessTimeZone, Service,
    ServiceId,
};
use crate::ports::{BookingReads, CatalogStore, StoreError};

impl EmbeddedStore {
    /// Changes the business's record in one write; `NotFound` if there is none. Keys point to the record, so the
    /// change is also what every key authenticates as.
    pub(super) async fn change_business(
        &self,
        id: BusinessId,
        change: impl FnOnce(&mut Business) + Send + 'static,
    ) -> Result<(), StoreError> {
        self.write(move |txn| {
            let mut businesses = txn.open_table(BUSINESSES).map_err(backend)?;
            let mut business: Business =
                read_json(&businesses, id.as_uuid().as_bytes())?.ok_or(StoreError::NotFound)?;
            change(&mut business);
            businesses
                .insert(
                    id.as_uuid().as_bytes().as_slice(),
                    encode(&business)?.as_slice(),
                )
                .map_err(backend)?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl CatalogStore for EmbeddedStore {
    async fn create_business(
        &self,
        business: &Business,
        api_key: &ApiKeyHash,
    ) -> Result<(), StoreError> {
        let business = business.clone();
        let api_key = api_key.clone();
        self.write(move |txn| {
            {
                let mut businesses = txn.open_table(BUSINESSES).map_err(backend)?;
                let mut keys = txn.open_table(API_KEYS).map_err(backend)?;
                let id = business.id.as_uuid();
                if businesses
                    .get(id.as_bytes().as_slice())
                    .map_err(backend)?
                    .is_some()
                    || keys
                        .get(api_key.as_str().as_bytes())
                        .map_err(backend)?
                        .is_some()
                {
                    return Err(StoreError::AlreadyExists);
                }
                businesses
                    .insert(id.as_bytes().as_slice(), encode(&business)?.as_slice())
                    .map_err(backend)?;
                keys.insert(api_key.as_str().as_bytes(), id.as_bytes().as_slice())
                    .map_err(backend)?;
            }
            write_api_key_record(
                txn,
                &crate::ports::first_api_key_record(&business, &api_key),
            )?;
            Ok(())
        })
        .await
    }

    async fn get_business(&self, id: BusinessId) -> Result<Option<Business>, StoreError> {
        self.get_json(BUSINESSES, id.as_uuid().as_bytes().to_vec())
    }

    async fn update_business_profile(
        &self,
        id: BusinessId,
        name: &BusinessName,
        time_zone: &BusinessTimeZone,
    ) -> Result<(), StoreError> {
        let (name, time_zone) = (name.clone(), time_zone.clone());
        self.change_business(id, move |business| {
            business.name = name;
            business.time_zone = time_zone;
        })
        .await
    }

    async fn create_service(&self, service: &Service) -> Result<(), StoreError> {
        self.insert_new(
            SERVICES,
            key(&[
                service.business_id.as_uuid().as_bytes(),
                service.id.as_uuid().as_bytes(),
            ]),
            encode(service)?,
        )
        .await
    }

    async fn update_service(
        &self,
        service: &Service,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let service = service.clone();
        self.write(move |txn| {
            {
                let mut services = txn.open_table(SERVICES).map_err(backend)?;
                let key = key(&[
                    service.business_id.as_uuid().as_bytes(),
                    service.id.as_uuid().as_bytes(),
                ]);
                let current: Service = read_json(&services, &key)?.ok_or(StoreError::NotFound)?;
                if current.version != expected_version {
                    return Err(StoreError::VersionMismatch);
                }
                services
                    .insert(key.as_slice(), encode(&service)?.as_slice())
                    .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn get_service(
        &self,
        business_id: BusinessId,
        id: ServiceId,
    ) -> Result<Option<Service>, StoreError> {
        self.get_json(
            SERVICES,
            key(&[business_id.as_uuid().as_bytes(), id.as_uuid().as_bytes()]),
        )
    }

    async fn list_services(&self, business_id: BusinessId) -> Result<Vec<Service>, StoreError> {
        self.read(move |txn| {
            let services = txn.open_table(SERVICES).map_err(backend)?;
            rows_under(&services, business_id.as_uuid().as_bytes())
        })
    }

    async fn get_business_settings(
        &self,
        business_id: BusinessId,
    ) -> Result<BusinessSettings, StoreError> {
        Ok(self
            .get_json(BUSINESS_SETTINGS, business_id.as_uuid().as_bytes().to_vec())?
            .unwrap_or_default())
    }

    async fn put_business_settings(
        &self,
        business_id: BusinessId,
        settings: &BusinessSettings,
    ) -> Result<(), StoreError> {
        let settings = settings.clone();
        self.write(move |txn| {
            txn.open_table(BUSINESS_SETTINGS)
                .map_err(backend)?
                .insert(
                    business_id.as_uuid().as_bytes().as_slice(),
                    encode(&settings)?.as_slice(),
                )
                .map_err(backend)?;
            Ok(())
        })
        .await
    }
}

/// One redb snapshot read is microseconds: the default (two reads) is as good as one.
impl BookingReads for EmbeddedStore {}
