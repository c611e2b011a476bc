//! Which business an API key belongs to, remembered for a short time: every request authenticates, and on AWS a
//! lookup is a DynamoDB read. Keys are never revoked through the API yet, so a short TTL loses nothing; when
//! revocation comes, it bounds how long a revoked key keeps working.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::domain::{ApiKeyHash, Business};
use crate::ports::Store;

use super::AppError;

const TTL: Duration = Duration::from_secs(60);
/// Far more businesses than one instance serves; past it the cache starts over rather than grow.
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct TenantCache {
    entries: Mutex<HashMap<ApiKeyHash, (Business, Instant)>>,
}

impl TenantCache {
    /// The business of `key`, from the cache when fresh, else from the store. Unknown keys are not cached, so a
    /// key created a moment ago works at once.
    pub async fn business_for(
        &self,
        store: &dyn Store,
        key: &ApiKeyHash,
    ) -> Result<Option<Business>, AppError> {
        let now = Instant::now();
        if let Some((business, loaded_at)) = self
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
        {
            if now.duration_since(*loaded_at) < TTL {
                return Ok(Some(business.clone()));
            }
        }
        let business = store.business_by_api_key(key).await?;
        if let Some(business) = &business {
            let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key.clone(), (business.clone(), now));
        }
        Ok(business)
    }
}
