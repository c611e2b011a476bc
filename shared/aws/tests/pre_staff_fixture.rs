//! The migration fixture of the staff members' release: a business written by the release before it, on both stores,
//! with what that release answered about it (`booking_core::contract::migration`), and the tests that open it under
//! today's code. The ignored test writes the
//! fixture; it was run once on the release before staff members and its output committed under
//! `tests/fixtures/pre-staff/` (see the README there). Do not run it again on later code: the point of the files is
//! that an older release wrote them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use booking_aws::emulators::dynamodb_local::DynamoDbLocal;
use booking_core::adapters::{EmbeddedStore, InProcessQueue};
use booking_core::app::{self, App};
use booking_core::contract::migration::{FixtureIds, answers, fixture_now, write_fixture_business};
use booking_core::domain::{StaffId, StaffMember, StaffName, StaffSettings};
use booking_core::ports::{ManualClock, Store};
use serde_json::{Value, json};

mod support;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pre-staff")
}

/// An item attribute as DynamoDB's own JSON shape (`{"S": "…"}`), so the dump replays exactly.
fn to_json(value: &AttributeValue) -> Value {
    match value {
        AttributeValue::S(text) => json!({ "S": text }),
        AttributeValue::N(number) => json!({ "N": number }),
        AttributeValue::Bool(flag) => json!({ "BOOL": flag }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::L(items) => json!({ "L": items.iter().map(to_json).collect::<Vec<_>>() }),
        AttributeValue::M(map) => json!({ "M": item_to_json(map) }),
        AttributeValue::Ss(texts) => json!({ "SS": texts }),
        AttributeValue::Ns(numbers) => json!({ "NS": numbers }),
        other => panic!("the fixture has no place for {other:?}"),
    }
}

fn item_to_json(item: &HashMap<String, AttributeValue>) -> Value {
    let sorted: BTreeMap<&String, Value> = item.iter().map(|(k, v)| (k, to_json(v))).collect();
    json!(sorted)
}

#[tokio::test]
#[ignore = "writes the committed fixture; run only on the release before staff members"]
async fn write_the_pre_staff_fixture() {
    let dir = fixture_dir();
    std::fs::create_dir_all(&dir).unwrap();

    let redb_path = dir.join("embedded.redb");
    let _ = std::fs::remove_file(&redb_path);
    let embedded = Arc::new(EmbeddedStore::open(&redb_path).unwrap());
    let ids = write_fixture_business(embedded.clone()).await;
    let answered = answers(embedded.clone(), &ids).await;
    assert_eq!(answers(embedded.clone(), &ids).await, answered);
    write_json(&dir.join("embedded-ids.json"), &json!(ids));
    write_json(&dir.join("embedded-answers.json"), &answered);
    drop(embedded);
    // Committed, so without the free pages a fresh file keeps.
    redb::Database::open(&redb_path).unwrap().compact().unwrap();

    let emulator = DynamoDbLocal::shared().await.unwrap().unwrap();
    let (store, table) = emulator.fresh_store().await.unwrap();
    let store = Arc::new(store);
    let ids: FixtureIds = write_fixture_business(store.clone()).await;
    let answered = answers(store.clone(), &ids).await;
    write_json(&dir.join("dynamodb-ids.json"), &json!(ids));
    write_json(&dir.join("dynamodb-answers.json"), &answered);
    let client = emulator.client().await;
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(&table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        items.extend(page.items().iter().map(item_to_json));
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    items.sort_by_key(|item| (item["PK"].to_string(), item["SK"].to_string()));
    write_json(&dir.join("dynamodb-items.json"), &json!(items));
}

/// DynamoDB's JSON shape of an attribute back into the attribute.
fn from_json(value: &Value) -> AttributeValue {
    let (kind, inner) = value.as_object().and_then(|o| o.iter().next()).unwrap();
    match kind.as_str() {
        "S" => AttributeValue::S(inner.as_str().unwrap().to_owned()),
        "N" => AttributeValue::N(inner.as_str().unwrap().to_owned()),
        "BOOL" => AttributeValue::Bool(inner.as_bool().unwrap()),
        "NULL" => AttributeValue::Null(true),
        "L" => AttributeValue::L(inner.as_array().unwrap().iter().map(from_json).collect()),
        "M" => AttributeValue::M(item_from_json(inner)),
        "SS" => AttributeValue::Ss(serde_json::from_value(inner.clone()).unwrap()),
        "NS" => AttributeValue::Ns(serde_json::from_value(inner.clone()).unwrap()),
        other => panic!("no attribute kind {other}"),
    }
}

fn item_from_json(item: &Value) -> HashMap<String, AttributeValue> {
    item.as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| (name.clone(), from_json(value)))
        .collect()
}

fn read_json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture_dir().join(name)).unwrap()).unwrap()
}

/// What the business's only staff member must be after the migration: its first, with today's behaviour.
async fn assert_one_first_member(store: Arc<dyn Store>, ids: &FixtureIds) {
    let staff = store.list_staff(ids.business).await.unwrap();
    assert_eq!(staff.len(), 1, "{staff:?}");
    let business = store.get_business(ids.business).await.unwrap().unwrap();
    assert_eq!(
        staff[0],
        StaffMember::first_of(business.id, business.name.clone(), business.created_at)
    );
}

/// A store file written by the release before staff members opens under today's code with its business's first
/// member in place, and every answer about that business (availability, checks, appointments, the hold, the
/// idempotency record, busy time) is what that release gave.
#[tokio::test]
async fn the_embedded_store_of_the_release_before_staff_answers_as_it_did() {
    let dir = tempfile_dir();
    let path = dir.join("embedded.redb");
    std::fs::copy(fixture_dir().join("embedded.redb"), &path).unwrap();
    let ids: FixtureIds = serde_json::from_value(read_json("embedded-ids.json")).unwrap();
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(&path).unwrap());
    assert_one_first_member(store.clone(), &ids).await;
    assert_eq!(store.store_first_staff_members().await.unwrap(), 0);
    assert_eq!(
        answers(store.clone(), &ids).await,
        read_json("embedded-answers.json")
    );
    drop(store);
    // Reopening (a second start) finds the migration done and changes nothing.
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(&path).unwrap());
    assert_one_first_member(store.clone(), &ids).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same on DynamoDB: every item the release before staff members wrote, put into a fresh table; the migration
/// stores the first member once (a rerun stores nothing), and the answers are that release's. Before the migration
/// ran the answers are already the same: unmigrated items read as the first member's.
#[tokio::test]
async fn the_dynamodb_items_of_the_release_before_staff_answer_as_they_did() {
    let Some(store) = fixture_table().await else {
        return;
    };
    let ids: FixtureIds = serde_json::from_value(read_json("dynamodb-ids.json")).unwrap();
    let expected = read_json("dynamodb-answers.json");
    assert_eq!(
        answers(store.clone(), &ids).await,
        expected,
        "before the migration"
    );
    assert_eq!(store.store_first_staff_members().await.unwrap(), 1);
    assert_eq!(store.store_first_staff_members().await.unwrap(), 0);
    assert_one_first_member(store.clone(), &ids).await;
    assert_eq!(
        answers(store.clone(), &ids).await,
        expected,
        "after the migration"
    );
}

/// On AWS nothing opens the store to migrate it: the scheduled run stores the first member of the business the
/// release before staff members wrote, once, and the next run stores none.
#[tokio::test]
async fn the_scheduled_run_stores_the_first_staff_members_of_the_release_before_once() {
    let Some(store) = fixture_table().await else {
        return;
    };
    let ids: FixtureIds = serde_json::from_value(read_json("dynamodb-ids.json")).unwrap();
    let app = app_at_fixture_time(store.clone());
    let first = app::run_scheduled_work(&app).await.unwrap();
    assert_eq!(first.first_staff_members_stored, 1, "{first:?}");
    assert_one_first_member(store.clone(), &ids).await;
    let second = app::run_scheduled_work(&app).await.unwrap();
    assert_eq!(second.first_staff_members_stored, 0, "{second:?}");
    assert_eq!(store.store_first_staff_members().await.unwrap(), 0);
}

/// The use cases over `store`, at the time the fixture was written.
fn app_at_fixture_time(store: Arc<dyn Store>) -> App {
    App::new(
        store,
        Arc::new(InProcessQueue::new(Default::default())),
        Arc::new(ManualClock::new(fixture_now())),
    )
}

/// A fresh table holding the items the release before staff members wrote; `None` without DynamoDB Local.
async fn fixture_table() -> Option<Arc<dyn Store>> {
    if !support::installed(DynamoDbLocal::shared().await, "DynamoDB Local") {
        return None;
    }
    let emulator = DynamoDbLocal::shared().await.unwrap().unwrap();
    let (store, table) = emulator.fresh_store().await.unwrap();
    let client = emulator.client().await;
    for item in read_json("dynamodb-items.json").as_array().unwrap() {
        client
            .put_item()
            .table_name(&table)
            .set_item(Some(item_from_json(item)))
            .send()
            .await
            .unwrap();
    }
    Some(Arc::new(store))
}

/// On a business the migration has not reached yet (its first member is only implied), adding a member stores the
/// first one too: otherwise the new member would be the only one listed and the first would vanish.
#[tokio::test]
async fn a_member_added_before_the_migration_joins_the_first_one() {
    let Some(store) = fixture_table().await else {
        return;
    };
    let ids: FixtureIds = serde_json::from_value(read_json("dynamodb-ids.json")).unwrap();
    let app = app_at_fixture_time(store.clone());
    let business = store.get_business(ids.business).await.unwrap().unwrap();
    let tom = StaffSettings::first_member(StaffName::try_from("Tom".to_owned()).unwrap());
    let tom = app::create_staff_member(&app, &business, tom)
        .await
        .unwrap();
    let mut listed: Vec<StaffId> = store
        .list_staff(ids.business)
        .await
        .unwrap()
        .iter()
        .map(|member| member.id)
        .collect();
    listed.sort();
    let mut expected = vec![StaffId::first_of(ids.business), tom.id];
    expected.sort();
    assert_eq!(listed, expected);
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "pre-staff-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_json(path: &std::path::Path, value: &Value) {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    std::fs::write(path, text).unwrap();
}
