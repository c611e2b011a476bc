//! Busy time of the staff members' own calendar events, found by the window asked: one Query for every member.

use async_trait::async_trait;
use booking_core::domain::{BusinessId, Interval, MemberBusy, StaffId};
use booking_core::ports::{BusyEvent, BusyTimeStore, StoreError};

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
                .delete_busy_event(event.business_id, &event.calendar_key, &event.event_id)
                .await;
        };
        let sk = busy_event_sk(&event.calendar_key, &event.event_id);
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
        calendar_key: &str,
        event_id: &str,
    ) -> Result<(), StoreError> {
        self.delete(
            business_pk(business_id),
            busy_event_sk(calendar_key, event_id),
        )
        .await
    }

    async fn busy_intervals_overlapping(
        &self,
        business_id: BusinessId,
        range: Interval,
    ) -> Result<Vec<MemberBusy>, StoreError> {
        // Only the intervals and their member travel: availability reads this on every call.
        let items: Vec<BusyIntervalsOnly> = self
            .query_index(
                GSI1,
                busy_gsi1_pk(business_id),
                // Keys are `start#…`: every event starting before the range ends sorts below its bare instant.
                "#sk < :before",
                vec![(":before", instant_key(range.end()))],
                None,
                Some((
                    "#event.#intervals, #event.#staff",
                    &[
                        ("#event", "event"),
                        ("#intervals", "intervals"),
                        ("#staff", "staff_id"),
                    ],
                )),
            )
            .await?;
        let first_member = StaffId::first_of(business_id);
        Ok(items
            .into_iter()
            .flat_map(|item| {
                let staff_id = item.event.staff_id.unwrap_or(first_member);
                item.event
                    .intervals
                    .into_iter()
                    .filter(|interval| interval.overlaps(&range))
                    .map(move |interval| MemberBusy { staff_id, interval })
            })
            .collect())
    }

    async fn busy_event_ids(
        &self,
        business_id: BusinessId,
        calendar_key: &str,
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
                    .expression_attribute_values(":prefix", string(busy_event_sk(calendar_key, "")))
                    .projection_expression("#event.#id"),
            )
            .await?;
        Ok(items.into_iter().map(|item| item.event.event_id).collect())
    }
}
