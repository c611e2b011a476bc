//! Named, time-limited leases, so one worker does a piece of work while the others wait.

use async_trait::async_trait;
use jiff::Timestamp;

use super::StoreError;

/// Leases: one holder at a time until it ends or is released.
#[async_trait]
pub trait LeaseStore: Send + Sync + 'static {
    /// Takes the named lease for `holder` until `until` if nobody holds it or the holder's lease ended before `now`;
    /// `Ok(false)` when someone else holds it. Used so that one worker refreshes a token while the others wait.
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Ends `holder`'s lease early; releasing a lease held by someone else (or nobody) changes nothing.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;
}
