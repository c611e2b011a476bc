//! Leases: one holder at a time until it ends or is released.

use async_trait::async_trait;
use jiff::Timestamp;
use redb::ReadableTable;

use super::{EmbeddedStore, LEASES, backend, decode, encode};
use crate::ports::{LeaseStore, StoreError};

#[derive(serde::Serialize, serde::Deserialize)]
struct Lease {
    holder: String,
    until: Timestamp,
}

#[async_trait]
impl LeaseStore for EmbeddedStore {
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        until: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.write(move |txn| {
            {
                let mut leases = txn.open_table(LEASES).map_err(backend)?;
                let current: Option<Lease> = leases
                    .get(name.as_bytes())
                    .map_err(backend)?
                    .map(|held| decode(held.value()))
                    .transpose()?;
                if current.is_some_and(|lease| lease.until >= now && lease.holder != holder) {
                    return Ok(false);
                }
                leases
                    .insert(
                        name.as_bytes(),
                        encode(&Lease { holder, until })?.as_slice(),
                    )
                    .map_err(backend)?;
            }
            Ok(true)
        })
        .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.write(move |txn| {
            {
                let mut leases = txn.open_table(LEASES).map_err(backend)?;
                let held_by_caller = leases
                    .get(name.as_bytes())
                    .map_err(backend)?
                    .map(|held| decode::<Lease>(held.value()))
                    .transpose()?
                    .is_some_and(|lease| lease.holder == holder);
                if held_by_caller {
                    leases.remove(name.as_bytes()).map_err(backend)?;
                }
            }
            Ok(())
        })
        .await
    }
}
