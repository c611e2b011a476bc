//! What a business is and offers: the business itself, its services, its staff members and its settings.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::{
    ApiKeyHash, Business, BusinessId, BusinessName, BusinessSettings, BusinessTimeZone, Service,
    ServiceId, StaffId, StaffMember,
};

/// The records every request reads first: the business, its services and its settings.
#[async_trait]
pub trait CatalogStore: Send + Sync + 'static {
    /// Fails with `AlreadyExists` if the id or the key hash is taken. The key is listed as the business's first key
    /// ([`crate::ports::first_api_key_record`]), and its first staff member ([`StaffMember::first_of`], named as the
    /// business) is stored with it.
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

    /// Fails with `AlreadyExists` if the id is taken.
    async fn create_staff_member(&self, member: &StaffMember) -> Result<(), StoreError>;

    /// Replaces the member if its stored version is `expected_version`, else `VersionMismatch` (`NotFound` if absent).
    async fn update_staff_member(
        &self,
        member: &StaffMember,
        expected_version: u64,
    ) -> Result<(), StoreError>;

    async fn get_staff_member(
        &self,
        business_id: BusinessId,
        id: StaffId,
    ) -> Result<Option<StaffMember>, StoreError>;

    /// Every staff member stored for the business, active or not, ordered by id. Empty only for a business stored
    /// before staff members that the migration has not reached yet; its one member is then
    /// [`StaffMember::first_of`] it, which is what the migration stores.
    async fn list_staff(&self, business_id: BusinessId) -> Result<Vec<StaffMember>, StoreError>;

    /// The staff migration: stores [`StaffMember::first_of`] (named as the business) for every business stored
    /// before staff members, once, and answers how many it stored (0 once done). Idempotent and resumable: a business
    /// that has its first member is left alone, and a finished run leaves a marker. Appointments, holds and ledger
    /// entries written before name no member and are read as that first member's, so nothing else is rewritten.
    async fn store_first_staff_members(&self) -> Result<u64, StoreError>;

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
