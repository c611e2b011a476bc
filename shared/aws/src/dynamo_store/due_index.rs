//! Reading the due index (GSI4): scheduled work spread over shards by business, keys only. A reader queries every
//! shard at once, merges them in sort-key order, then reads the items themselves.

use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use booking_core::ports::StoreError;

use super::DynamoStore;
use super::items::GSI4;

/// How many shard Queries (and then item reads) a reader keeps in flight.
const READS_AT_ONCE: usize = 16;

/// One entry of the due index: its item's table keys and its place in the shard.
#[derive(Deserialize)]
pub(super) struct DueEntry {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "GSI4SK")]
    place: String,
}

impl DynamoStore {
    /// The first `limit` entries in sort-key order over `shards` (one partition each) that meet `sort_condition`
    /// (on `#sk`, with `:bound` = `bound`): each shard's own first `limit` together hold the first `limit` of all.
    pub(super) async fn first_due(
        &self,
        shards: impl Iterator<Item = String>,
        sort_condition: &str,
        bound: String,
        limit: u32,
    ) -> Result<Vec<DueEntry>, StoreError> {
        self.first_in_range(shards, sort_condition, &[(":bound", bound)], limit)
            .await
    }

    /// As [`Self::first_due`], for a sort condition with any placeholders (`values`), such as a range.
    pub(super) async fn first_in_range(
        &self,
        shards: impl Iterator<Item = String>,
        sort_condition: &str,
        values: &[(&str, String)],
        limit: u32,
    ) -> Result<Vec<DueEntry>, StoreError> {
        let queries = shards.map(|shard| {
            self.query_index::<DueEntry>(
                GSI4,
                shard,
                sort_condition,
                values.to_vec(),
                Some(limit),
                None,
            )
        });
        let mut entries: Vec<DueEntry> = futures::stream::iter(queries)
            .buffer_unordered(READS_AT_ONCE)
            .try_collect::<Vec<Vec<DueEntry>>>()
            .await?
            .into_iter()
            .flatten()
            .collect();
        entries.sort_by(|a, b| a.place.cmp(&b.place));
        entries.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(entries)
    }

    /// The entries' items, read consistently (the index lags the table) and in the entries' order; an item deleted
    /// meanwhile is left out.
    pub(super) async fn due_items<T: DeserializeOwned>(
        &self,
        entries: Vec<DueEntry>,
    ) -> Result<Vec<T>, StoreError> {
        let reads = entries
            .into_iter()
            .map(|entry| self.get::<T>(entry.pk, entry.sk));
        Ok(futures::stream::iter(reads)
            .buffered(READS_AT_ONCE)
            .try_collect::<Vec<Option<T>>>()
            .await?
            .into_iter()
            .flatten()
            .collect())
    }
}
