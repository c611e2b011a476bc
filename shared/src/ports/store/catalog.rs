//! What a business is and offers: the business itself, its services and its settings.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{
    ApiKeyHash, Business, BusinessId, BusinessName, BusinessSettings, BusinessTimeZone, Service,
    ServiceId,
};

/// The records every request reads first: the business, its services and its settings.
#[async_trait]
pub trait CatalogStore: Send + Sync + 'static {
    /// Fails with `AlreadyExists` if the id or the key hash is taken. The key is listed as the business's first key
    /// ([`crate::ports::first_api_key_record`]).
    async fn create_business(
        &self,
        business: &Business,
        api_key: &ApiKeyHash,
    ) -> Result<(), StoreError>;

    async fn get_business(&self, id: BusinessId) -> Result<Option<Business>, StoreError>;

    /// Renames the business and moves it to `time_zone`, also where a copy of it authenticates a request (so its
    /// keys answer with the new name at once); whether it is disabled stays as it is. `NotFound` if there is no
    /// such business.
    async fn update_business_profile(
        &self,
        id: BusinessId,
        name: &BusinessName,
        time_zone: &BusinessTimeZone,
    ) -> Result<(), StoreError>;

    /// Fails with `AlreadyExists` if the id is taken.
    async fn create_service(&self, service: &Service) -> Result<(), StoreError>;

    /// Replaces the service if its stored version is `expected_version`, else `VersionMismatch` (`NotFound` if absent).
    async fn update_service(
        &self,
        service: &Service,
        expected_version: u64,
    ) -> Result<(), StoreError>;

    async fn get_service(
        &self,
        business_id: BusinessId,
        id: ServiceId,
    ) -> Result<Option<Service>, StoreError>;

    /// All services of the business, ordered by id.
    async fn list_services(&self, business_id: BusinessId) -> Result<Vec<Service>, StoreError>;

    /// The business's settings; defaults when it never changed any.
    async fn get_business_settings(
        &self,
        business_id: BusinessId,
    ) -> Result<BusinessSettings, StoreError>;

    async fn put_business_settings(
        &self,
        business_id: BusinessId,
        settings: &BusinessSettings,
    ) -> Result<(), StoreError>;
}
