//! Busy time of the business's own calendar events, found by the window asked.

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use shared::domain::{BusinessId, Interval};
use shared::ports::{BusyEvent, BusyTimeStore, StoreError};

use super::items::{
    BusyEventIdOnly, BusyEventItem, BusyIntervalsOnly, GSI1, PK, SK, business_pk, busy_event_sk,
    busy_gsi1_pk, busy_gsi1_sk, instant_key,
};
use super::{DynamoStore, string, to_item};

#[async_trait]
impl BusyTimeStore for DynamoStore {
    async fn put_busy_event(&self, event: &BusyEvent) -> Result<(), StoreError> {
        let Some(earliest_start) = event.intervals.iter().map(Interval::start).min() else {
            // An event that blocks nothing is stored as no event at all.
            return self
                .delete_busy_event(event.business_id, &event.calendar_id, &event.event_id)
                .await;
        };
        let sk = busy_event_sk(&event.calendar_id, &event.event_id);
        let item = BusyEventItem {
            pk: business_pk(event.business_id),
            gsi1_pk: busy_gsi1_pk(event.business_id),
            gsi1_sk: busy_gsi1_sk(earliest_start, &sk),
            sk,
            event: event.clone(),
        };
        self.put_item(to_item(&item)?).await
    }

    async fn delete_busy_event(
        &self,
        business_id: BusinessId,
        calendar_id: &str,
        event_id: &str,
    ) -> Result<(), StoreError> {
        self.delete(
            business_pk(business_id),
            busy_event_sk(calendar_id, event_id),
        )
        .await
    }

    async fn busy_intervals_overlapping(
        &self,
        business_id: BusinessId,
        range: Interval,
    ) -> Result<Vec<Interval>, StoreError> {
        // Only the intervals travel: availability reads this on every call. Keys are `start#…`, so every event
        // starting before the range ends sorts below its bare instant. A long window is read as concurrent Queries
        // of consecutive stretches of starts: a Query's time grows with the items it returns, and a 60-day window
        // returns every event in it.
        let bounds = segment_bounds(range);
        let segments = bounds.iter().enumerate().map(|(n, until)| {
            let (condition, values) =
                match n.checked_sub(1).and_then(|previous| bounds.get(previous)) {
                    None => ("#sk < :until", vec![(":until", instant_key(*until))]),
                    Some(from) => (
                        "#sk BETWEEN :from AND :until",
                        vec![
                            (":from", instant_key(*from)),
                            (":until", instant_key(*until)),
                        ],
                    ),
                };
            self.query_index::<BusyIntervalsOnly>(
                GSI1,
                busy_gsi1_pk(business_id),
                condition,
                values,
                None,
                Some((
                    "#event.#intervals",
                    &[("#event", "event"), ("#intervals", "intervals")],
                )),
            )
        });
        let items: Vec<BusyIntervalsOnly> = futures::future::try_join_all(segments)
            .await?
            .into_iter()
            .flatten()
            .collect();
        Ok(items
            .into_iter()
            .flat_map(|item| item.event.intervals)
            .filter(|interval| interval.overlaps(&range))
            .collect())
    }

    async fn busy_event_ids(
        &self,
        business_id: BusinessId,
        calendar_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let items: Vec<BusyEventIdOnly> = self
            .query_all(
                self.client
                    .query()
                    .table_name(&self.table)
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#pk", PK)
                    .expression_attribute_names("#sk", SK)
                    .expression_attribute_names("#event", "event")
                    .expression_attribute_names("#id", "event_id")
                    .expression_attribute_values(":pk", string(business_pk(business_id)))
                    .expression_attribute_values(":prefix", string(busy_event_sk(calendar_id, "")))
                    .projection_expression("#event.#id"),
            )
            .await?;
        Ok(items.into_iter().map(|item| item.event.event_id).collect())
    }
}

/// Windows up to this long are one Query; longer ones one Query per stretch of about this long (at most four).
const BUSY_SEGMENT: SignedDuration = SignedDuration::from_hours(14 * 24);
const MAX_BUSY_SEGMENTS: i64 = 4;

/// The ends of the stretches of starts a busy read of `range` queries, the last being the range's end. A key equal
/// to a bare instant never exists (keys are `start#…`), so `BETWEEN` on two bare instants reads the starts in
/// `[from, until)`, and the stretches neither overlap nor leave gaps.
fn segment_bounds(range: Interval) -> Vec<Timestamp> {
    let length = range.end().duration_since(range.start());
    let count = (length.as_secs() / BUSY_SEGMENT.as_secs() + 1).clamp(1, MAX_BUSY_SEGMENTS);
    let step = length / count as i32;
    let mut bounds: Vec<Timestamp> = (1..count)
        .filter_map(|n| range.start().checked_add(step * n as i32).ok())
        .collect();
    bounds.push(range.end());
    bounds
}
