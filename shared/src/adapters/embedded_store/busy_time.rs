//! Busy time of the staff members' own calendar events: each event's intervals, indexed by start (and the rare long
//! ones by end) so a window's busy time is one short scan. An index entry's value is the member whose calendar the
//! event is in; entries written before calendars were per member have none and are the business's first member's.

use async_trait::async_trait;
use jiff::Timestamp;
use redb::{ReadableTable, WriteTransaction};

use super::{
    BUSY_BY_END_BEFORE, BUSY_BY_START, BUSY_EVENTS, BUSY_LONG, EmbeddedStore, SHORT_BUSY_SPAN,
    Table, backend, corrupt, decode, encode, instant_from_key, instant_key, key, key_tails_under,
    prefix_end,
};
use crate::domain::{BusinessId, Interval, MemberBusy, StaffId};
use crate::ports::{BusyEvent, BusyTimeStore, StoreError};

pub(super) fn event_key(business: BusinessId, calendar_key: &str, event_id: &str) -> Vec<u8> {
    key(&[
        business.as_uuid().as_bytes(),
        calendar_key.as_bytes(),
        &[0],
        event_id.as_bytes(),
    ])
}

fn is_long_busy(interval: &Interval) -> bool {
    interval.end().duration_since(interval.start()) > SHORT_BUSY_SPAN
}

/// The interval's key in the index it belongs to (`busy_by_start` or `busy_long`).
fn busy_index_key(
    business: BusinessId,
    interval: &Interval,
    calendar_key: &str,
    event_id: &str,
) -> (Table, Vec<u8>) {
    let (table, first, second) = if is_long_busy(interval) {
        (BUSY_LONG, interval.end(), interval.start())
    } else {
        (BUSY_BY_START, interval.start(), interval.end())
    };
    let key = key(&[
        business.as_uuid().as_bytes(),
        &instant_key(first),
        &instant_key(second),
        calendar_key.as_bytes(),
        &[0],
        event_id.as_bytes(),
    ]);
    (table, key)
}

/// The two instants after the business id of a busy index key, in key order.
fn busy_key_instants(key: &[u8]) -> Result<(Timestamp, Timestamp), StoreError> {
    Ok((
        instant_from_key(key.get(16..32).unwrap_or_default())?,
        instant_from_key(key.get(32..48).unwrap_or_default())?,
    ))
}

/// The member an index entry's value names: none (an entry of the release before) is the first member.
fn busy_index_member(business: BusinessId, value: &[u8]) -> Result<StaffId, StoreError> {
    if value.is_empty() {
        return Ok(StaffId::first_of(business));
    }
    uuid::Uuid::from_slice(value)
        .map(StaffId::from)
        .map_err(|_| corrupt("busy index entry"))
}

/// Indexes the intervals of an event in `member`'s calendar; `None` writes entries as the release before did, for
/// events rebuilt from a store of that time, which name no member.
fn index_busy_intervals(
    txn: &WriteTransaction,
    business: BusinessId,
    member: Option<StaffId>,
    calendar_key: &str,
    event_id: &str,
    intervals: &[Interval],
) -> Result<(), StoreError> {
    let value = member.map(|id| *id.as_uuid().as_bytes());
    let value: &[u8] = value.as_ref().map_or(&[], |bytes| bytes.as_slice());
    for interval in intervals {
        let (table, index) = busy_index_key(business, interval, calendar_key, event_id);
        txn.open_table(table)
            .map_err(backend)?
            .insert(index.as_slice(), value)
            .map_err(backend)?;
    }
    Ok(())
}

/// Stores written before busy time was indexed by start keep it in `busy_by_end`; the events themselves are the
/// truth, so the new indexes are rebuilt from them and the old one dropped, in one transaction. Idempotent: once
/// the old table is gone this does nothing.
pub(super) fn rebuild_busy_indexes_if_old(txn: &WriteTransaction) -> Result<(), StoreError> {
    if !txn.delete_table(BUSY_BY_END_BEFORE).map_err(backend)? {
        return Ok(());
    }
    let mut stored = Vec::new();
    for entry in txn
        .open_table(BUSY_EVENTS)
        .map_err(backend)?
        .iter()
        .map_err(backend)?
    {
        let (key, value) = entry.map_err(backend)?;
        let key = key.value();
        let (business, rest) = key
            .split_at_checked(16)
            .ok_or_else(|| corrupt("busy event key"))?;
        let separator = rest
            .iter()
            .position(|&byte| byte == 0)
            .ok_or_else(|| corrupt("busy event key"))?;
        let business = uuid::Uuid::from_slice(business).map_err(|_| corrupt("busy event key"))?;
        let calendar =
            String::from_utf8(rest[..separator].to_vec()).map_err(|_| corrupt("busy event key"))?;
        let event = String::from_utf8(rest[separator + 1..].to_vec())
            .map_err(|_| corrupt("busy event key"))?;
        let intervals: Vec<Interval> = decode(value.value())?;
        stored.push((BusinessId::from(business), calendar, event, intervals));
    }
    for (business, calendar, event, intervals) in stored {
        index_busy_intervals(txn, business, None, &calendar, &event, &intervals)?;
    }
    Ok(())
}

#[async_trait]
impl BusyTimeStore for EmbeddedStore {
    async fn put_busy_event(&self, event: &BusyEvent) -> Result<(), StoreError> {
        let event = event.clone();
        self.write(move |txn| {
            remove_busy_event(txn, event.business_id, &event.calendar_key, &event.event_id)?;
            let key = event_key(event.business_id, &event.calendar_key, &event.event_id);
            txn.open_table(BUSY_EVENTS)
                .map_err(backend)?
                .insert(key.as_slice(), encode(&event.intervals)?.as_slice())
                .map_err(backend)?;
            index_busy_intervals(
                txn,
                event.business_id,
                Some(event.staff_id),
                &event.calendar_key,
                &event.event_id,
                &event.intervals,
            )?;
            Ok(())
        })
        .await
    }

    async fn delete_busy_event(
        &self,
        business_id: BusinessId,
        calendar_key: &str,
        event_id: &str,
    ) -> Result<(), StoreError> {
        let calendar_key = calendar_key.to_owned();
        let event_id = event_id.to_owned();
        self.write(move |txn| remove_busy_event(txn, business_id, &calendar_key, &event_id))
            .await
    }

    async fn busy_intervals_overlapping(
        &self,
        business_id: BusinessId,
        range: Interval,
    ) -> Result<Vec<MemberBusy>, StoreError> {
        self.read(move |txn| {
            let business_uuid = business_id.as_uuid();
            let business = business_uuid.as_bytes();
            let mut overlapping = Vec::new();
            // Short intervals overlapping the range start at most SHORT_BUSY_SPAN before it and before its end.
            let earliest_start = range
                .start()
                .checked_sub(SHORT_BUSY_SPAN)
                .unwrap_or(Timestamp::MIN);
            let from = key(&[business, &instant_key(earliest_start)]);
            let until = key(&[business, &instant_key(range.end())]);
            let short = txn.open_table(BUSY_BY_START).map_err(backend)?;
            for entry in short
                .range(from.as_slice()..until.as_slice())
                .map_err(backend)?
            {
                let (key, value) = entry.map_err(backend)?;
                let (start_at, end_at) = busy_key_instants(key.value())?;
                if end_at > range.start() {
                    overlapping.push(MemberBusy {
                        staff_id: busy_index_member(business_id, value.value())?,
                        interval: Interval::new(start_at, end_at)?,
                    });
                }
            }
            // Long intervals ending after the range starts, in end order; those starting before its end overlap.
            let from = key(&[business, &instant_key(range.start()), &[u8::MAX; 17]]);
            let until = prefix_end(business);
            let long = txn.open_table(BUSY_LONG).map_err(backend)?;
            for entry in long
                .range(from.as_slice()..until.as_slice())
                .map_err(backend)?
            {
                let (key, value) = entry.map_err(backend)?;
                let (end_at, start_at) = busy_key_instants(key.value())?;
                if start_at < range.end() {
                    overlapping.push(MemberBusy {
                        staff_id: busy_index_member(business_id, value.value())?,
                        interval: Interval::new(start_at, end_at)?,
                    });
                }
            }
            Ok(overlapping)
        })
    }

    async fn busy_event_ids(
        &self,
        business_id: BusinessId,
        calendar_key: &str,
    ) -> Result<Vec<String>, StoreError> {
        let prefix = key(&[
            business_id.as_uuid().as_bytes(),
            calendar_key.as_bytes(),
            &[0],
        ]);
        self.read(move |txn| {
            let events = txn.open_table(BUSY_EVENTS).map_err(backend)?;
            key_tails_under(&events, &prefix)?
                .into_iter()
                .map(|id| {
                    String::from_utf8(id).map_err(|error| StoreError::Backend(Box::new(error)))
                })
                .collect()
        })
    }
}

fn remove_busy_event(
    txn: &WriteTransaction,
    business_id: BusinessId,
    calendar_key: &str,
    event_id: &str,
) -> Result<(), StoreError> {
    let mut events = txn.open_table(BUSY_EVENTS).map_err(backend)?;
    let key = event_key(business_id, calendar_key, event_id);
    let previous: Option<Vec<Interval>> = match events.remove(key.as_slice()).map_err(backend)? {
        Some(value) => Some(decode(value.value())?),
        None => None,
    };
    for interval in previous.unwrap_or_default() {
        let (table, index) = busy_index_key(business_id, &interval, calendar_key, event_id);
        txn.open_table(table)
            .map_err(backend)?
            .remove(index.as_slice())
            .map_err(backend)?;
    }
    Ok(())
}
