//! Businesses, their services and settings.

use async_trait::async_trait;
use shared::domain::{ApiKeyHash, Business, BusinessId, BusinessSettings, Service, ServiceId};
use shared::ports::{CatalogStore, StoreError};

use super::api_keys::ApiKeyRecordItem;
use super::items::{
    API_KEY_SK, ApiKeyItem, BUSINESS_SK, BusinessItem, BusinessSettingsItem, SERVICE_PREFIX,
    SETTINGS_SK, ServiceItem, api_key_pk, business_pk, service_sk,
};
use super::requests::WriteOutcome;
use super::{DynamoStore, backend, from_item, number, string, to_item};

#[async_trait]
impl CatalogStore for DynamoStore {
    async fn create_business(
        &self,
        business: &Business,
        api_key: &ApiKeyHash,
    ) -> Result<(), StoreError> {
        let business_item = BusinessItem {
            pk: business_pk(business.id),
            sk: BUSINESS_SK.to_owned(),
            business: business.clone(),
        };
        let key_item = ApiKeyItem {
            pk: api_key_pk(api_key.as_str()),
            sk: API_KEY_SK.to_owned(),
            business: business.clone(),
        };
        let condition = Some("attribute_not_exists(PK)");
        let first_key =
            ApiKeyRecordItem::new(&shared::ports::first_api_key_record(business, api_key));
        let outcome = self
            .transact(vec![
                self.put(to_item(&business_item)?, condition)?,
                self.put(to_item(&key_item)?, condition)?,
                self.put(to_item(&first_key)?, condition)?,
            ])
            .await?;
        match outcome {
            WriteOutcome::Committed => Ok(()),
            outcome if outcome.failed(0) || outcome.failed(1) => Err(StoreError::AlreadyExists),
            _ => Err(StoreError::Backend(
                "creating the business was cancelled".into(),
            )),
        }
    }

    async fn get_business(&self, id: BusinessId) -> Result<Option<Business>, StoreError> {
        Ok(self
            .get::<BusinessItem>(business_pk(id), BUSINESS_SK.to_owned())
            .await?
            .map(|item| item.business))
    }

    async fn create_service(&self, service: &Service) -> Result<(), StoreError> {
        self.put_new(to_item(&ServiceItem::new(service))?).await
    }

    async fn update_service(
        &self,
        service: &Service,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let written = self
            .put_if(
                to_item(&ServiceItem::new(service))?,
                "version = :expected",
                &[],
                vec![(":expected", number(expected_version))],
            )
            .await?;
        if written {
            return Ok(());
        }
        match self.get_service(service.business_id, service.id).await? {
            Some(_) => Err(StoreError::VersionMismatch),
            None => Err(StoreError::NotFound),
        }
    }

    async fn get_service(
        &self,
        business_id: BusinessId,
        id: ServiceId,
    ) -> Result<Option<Service>, StoreError> {
        Ok(self
            .get::<ServiceItem>(business_pk(business_id), service_sk(id))
            .await?
            .map(|item| item.service))
    }

    async fn list_services(&self, business_id: BusinessId) -> Result<Vec<Service>, StoreError> {
        let mut services = Vec::new();
        let mut start_key = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", string(business_pk(business_id)))
                .expression_attribute_values(":prefix", string(SERVICE_PREFIX))
                .consistent_read(true)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(backend)?;
            for item in output.items.unwrap_or_default() {
                services.push(from_item::<ServiceItem>(item)?.service);
            }
            match output.last_evaluated_key {
                Some(next) if !next.is_empty() => start_key = Some(next),
                _ => return Ok(services),
            }
        }
    }

    async fn get_business_settings(
        &self,
        business_id: BusinessId,
    ) -> Result<BusinessSettings, StoreError> {
        Ok(self
            .get::<BusinessSettingsItem>(business_pk(business_id), SETTINGS_SK.to_owned())
            .await?
            .map(|item| item.settings)
            .unwrap_or_default())
    }

    async fn put_business_settings(
        &self,
        business_id: BusinessId,
        settings: &BusinessSettings,
    ) -> Result<(), StoreError> {
        let item = BusinessSettingsItem {
            pk: business_pk(business_id),
            sk: SETTINGS_SK.to_owned(),
            settings: settings.clone(),
        };
        self.put_item(to_item(&item)?).await
    }
}
