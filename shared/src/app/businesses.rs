//! Creating a business: the tenant every other record is scoped by, with its first API key.

use crate::domain::{ApiKey, Business, BusinessId, BusinessName, BusinessTimeZone};
use crate::ports::CatalogStore;
use crate::ports::Clock;

use super::error::AppError;

/// A new business and the only copy of its API key in clear text.
#[derive(Debug)]
pub struct NewBusinessCredentials {
    pub business: Business,
    pub api_key: ApiKey,
}

/// Creates a business with a fresh API key; only the key's hash is stored.
#[tracing::instrument(skip_all)]
pub async fn create_business<S: CatalogStore + ?Sized>(
    store: &S,
    clock: &dyn Clock,
    name: String,
    time_zone: String,
) -> Result<NewBusinessCredentials, AppError> {
    let business = Business {
        id: BusinessId::generate(),
        name: BusinessName::try_from(name)?,
        time_zone: BusinessTimeZone::try_from(time_zone)?,
        created_at: clock.now(),
        disabled_at: None,
    };
    let api_key = ApiKey::generate();
    store.create_business(&business, &api_key.hash()).await?;
    Ok(NewBusinessCredentials { business, api_key })
}
