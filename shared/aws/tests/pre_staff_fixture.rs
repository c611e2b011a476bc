//! The migration fixture of the staff members' release: a business written by the release before it, on both stores,
//! with what that release answered about it (`booking_core::contract::migration`). The ignored test writes the
//! fixture; it was run once on the release before staff members and its output committed under
//! `tests/fixtures/pre-staff/` (see the README there). Do not run it again on later code: the point of the files is
//! that an older release wrote them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use booking_aws::emulators::dynamodb_local::DynamoDbLocal;
use booking_core::adapters::EmbeddedStore;
use booking_core::contract::migration::{FixtureIds, answers, write_fixture_business};
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

fn write_json(path: &std::path::Path, value: &Value) {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    std::fs::write(path, text).unwrap();
}
