//! The embedded store's own tests: what the contract suite cannot see (restarts, migrations, key order).
#![allow(clippy::unwrap_used)]

use jiff::Timestamp;
use redb::Database;

use super::busy_time::event_key;
use super::rows::phone_key;
use super::*;
use crate as booking;
use crate::domain::{
    ApiKey, Appointment, Business, BusinessId, BusinessName, BusinessTimeZone, Interval, StaffId,
};
use crate::ports::{ApiKeyStore, BusyEvent, BusyTimeStore, CatalogStore};

#[path = "../../../benches/support/seed.rs"]
mod seed;

#[tokio::test]
async fn data_survives_a_restart() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("store.redb");
    let business = Business {
        id: BusinessId::generate(),
        name: BusinessName::try_from("Kept".to_owned()).unwrap(),
        time_zone: BusinessTimeZone::try_from("Europe/Paris".to_owned()).unwrap(),
        created_at: Timestamp::UNIX_EPOCH,
        disabled_at: None,
    };
    let key = ApiKey::generate();
    {
        let store = EmbeddedStore::open(&path).unwrap();
        store.create_business(&business, &key.hash()).await.unwrap();
    }
    let reopened = EmbeddedStore::open(&path).unwrap();
    assert_eq!(
        reopened.business_by_api_key(&key.hash()).await.unwrap(),
        Some(business)
    );
}

#[tokio::test]
async fn appointments_stored_before_the_phone_index_are_indexed_once() {
    let directory = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&directory.path().join("store.redb")).unwrap();
    // As a store written before the index existed: the appointment without its index entry or the marker.
    let strip_index = async |appointment: &Appointment| {
        let txn = store.db.begin_write().unwrap();
        txn.open_table(PHONE_INDEX)
            .unwrap()
            .remove(phone_key(appointment).unwrap().as_slice())
            .unwrap();
        txn.open_table(MIGRATIONS)
            .unwrap()
            .remove(PHONE_INDEX_MIGRATION)
            .unwrap();
        txn.commit().unwrap();
    };
    seed::assert_phone_index_migrated_once(&store, strip_index).await;
}

/// A connection of the release before staff members, kept under the business's id alone, reads as the first
/// member's first connection and is changed under that key.
#[cfg(feature = "contract-tests")]
#[tokio::test]
async fn a_connection_stored_before_members_reads_as_the_first_members() {
    let directory = tempfile::tempdir().unwrap();
    let store =
        std::sync::Arc::new(EmbeddedStore::open(&directory.path().join("store.redb")).unwrap());
    let db = store.db.clone();
    let write_legacy = async move |business: BusinessId, connection: serde_json::Value| {
        let txn = db.begin_write().unwrap();
        txn.open_table(CALENDAR_CONNECTIONS)
            .unwrap()
            .insert(
                business.as_uuid().as_bytes().as_slice(),
                serde_json::to_vec(&connection).unwrap().as_slice(),
            )
            .unwrap();
        txn.commit().unwrap();
    };
    booking::contract::store::a_connection_of_the_release_before_members_reads_as_the_first_members(
        store,
        write_legacy,
    )
    .await;
}

#[test]
fn instant_keys_sort_like_instants() {
    let instants: Vec<Timestamp> = [
        "1969-12-31T23:59:59Z",
        "1970-01-01T00:00:00Z",
        "2027-03-01T09:00:00.5Z",
    ]
    .iter()
    .map(|text| text.parse().unwrap())
    .collect();
    let keys: Vec<[u8; 16]> = instants
        .iter()
        .map(|instant| instant_key(*instant))
        .collect();
    assert!(keys.windows(2).all(|pair| pair[0] < pair[1]));
    for (instant, key) in instants.iter().zip(&keys) {
        assert_eq!(instant_from_key(key).unwrap(), *instant);
    }
}

#[tokio::test]
async fn busy_time_indexed_by_an_earlier_version_is_reindexed_on_open() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("store.redb");
    let business = BusinessId::generate();
    let hour = |h: i64| Timestamp::from_second(1_800_000_000 + h * 3_600).unwrap();
    let short = Interval::new(hour(0), hour(1)).unwrap();
    let long = Interval::new(hour(-100), hour(100)).unwrap();
    {
        // The layout of the earlier version: events, and every interval indexed by end.
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut events = txn.open_table(BUSY_EVENTS).unwrap();
            let mut by_end = txn.open_table(BUSY_BY_END_BEFORE).unwrap();
            for (event, interval) in [("dentist", short), ("away", long)] {
                let key = event_key(business, "primary", event);
                events
                    .insert(key.as_slice(), encode(&vec![interval]).unwrap().as_slice())
                    .unwrap();
                let old = key_of_parts(business, interval.end(), interval.start(), event);
                by_end.insert(old.as_slice(), [].as_slice()).unwrap();
            }
        }
        txn.commit().unwrap();
    }
    for _ in 0..2 {
        let store = EmbeddedStore::open(&path).unwrap();
        let found = store
            .busy_intervals_overlapping(business, Interval::new(hour(0), hour(2)).unwrap())
            .await
            .unwrap();
        // Events of that version name no member: their calendar was the business's, now its first member's.
        assert!(
            found
                .iter()
                .all(|busy| busy.staff_id == StaffId::first_of(business)),
            "{found:?}"
        );
        let mut found: Vec<Interval> = found.iter().map(|busy| busy.interval).collect();
        found.sort();
        assert_eq!(found, vec![long, short]);
        store
            .delete_busy_event(business, "primary", "away")
            .await
            .unwrap();
        store
            .put_busy_event(&BusyEvent {
                business_id: business,
                staff_id: StaffId::first_of(business),
                calendar_key: "primary".into(),
                event_id: "away".into(),
                intervals: vec![long],
            })
            .await
            .unwrap();
    }
}

fn key_of_parts(business: BusinessId, first: Timestamp, second: Timestamp, event: &str) -> Vec<u8> {
    key(&[
        business.as_uuid().as_bytes(),
        &instant_key(first),
        &instant_key(second),
        b"primary",
        &[0],
        event.as_bytes(),
    ])
}
