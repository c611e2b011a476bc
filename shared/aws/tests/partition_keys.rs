//! No partition shared by the fleet: every partition key of the table and of its indexes that the DynamoDB adapter
//! reads or writes during a scripted day of several businesses (services, availability, bookings, holds,
//! reschedules, cancels, sync results, calendar watches written by syncs and webhooks, busy time, the scheduler) is
//! recorded by an SDK interceptor, and no key may be touched by more than one business, except the due index's
//! sharded keys when there are at least [`MIN_SHARDS`] shards. The same interceptor holds the booking path to its
//! five requests (the API key's read included, as before staff members), and a booking from a hold to four.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../benches/support/holds_and_callers.rs"]
// Only its client is used here; its report prints for the benches.
#[allow(dead_code, clippy::print_stdout)]
mod holds_and_callers;
#[path = "../../benches/support/seed.rs"]
mod seed;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use axum::http::StatusCode;
use booking_aws::dynamo_store::{DUE_SHARDS, DynamoStore, create_table};
use booking_aws::emulators::dynamodb_local::DynamoDbLocal;
use booking_aws::emulators::sdk_config;
use booking_core as booking;
use booking_core::adapters::InProcessQueue;
use booking_core::app::{self, App};
use booking_core::domain::{
    AppointmentId, Business, BusinessId, Interval, SyncFailure, SyncFailureCode, SyncState,
    SyncStatus,
};
use booking_core::ports::{
    BusyEvent, CalendarWatch, ManualClock, ProviderKind, QueueSettings, Store,
};
use holds_and_callers::Client;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// Fewer shards than this and a sharded key still carries too much of the fleet (DESIGN.md, "Capacity").
const MIN_SHARDS: u32 = 32;

/// Who the requests being sent are for: a business, or the scheduler (which works for all of them).
type Actor = Option<BusinessId>;

/// One partition touched: the table or an index, and the partition key's value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Touch {
    place: String,
    key: String,
}

#[derive(Clone, Debug, Default)]
struct Recorder {
    actor: Arc<Mutex<Actor>>,
    touches: Arc<Mutex<Vec<(Actor, Touch)>>>,
    requests: Arc<AtomicU64>,
    /// GetItems of calendar watches: what the scheduled walk reads per watch.
    watch_reads: Arc<AtomicU64>,
}

impl Recorder {
    fn act_as(&self, actor: Actor) {
        *self.actor.lock().unwrap() = actor;
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn watch_reads(&self) -> u64 {
        self.watch_reads.load(Ordering::Relaxed)
    }

    /// How many times a request has named a partition key of `index` (a write of its keys, or a Query).
    fn index_touches(&self, index: &str) -> usize {
        let touches = self.touches.lock().unwrap();
        touches
            .iter()
            .filter(|(_, touch)| touch.place == index)
            .count()
    }
}

fn text(value: &Value) -> Option<String> {
    value.get("S").and_then(Value::as_str).map(str::to_owned)
}

/// The placeholders an update expression assigns to index partition keys: `GSI4PK = :due_pk` → (`GSI4`, `:due_pk`).
fn index_keys_set(expression: &str) -> Vec<(String, String)> {
    let words: Vec<&str> = expression
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|word| !word.is_empty())
        .collect();
    words
        .windows(3)
        .filter(|w| w[0].starts_with("GSI") && w[0].ends_with("PK") && w[1] == "=")
        .map(|w| (w[0].trim_end_matches("PK").to_owned(), w[2].to_owned()))
        .collect()
}

/// What one request body touches: table partitions by `PK`, index partitions by the `GSI…PK` it writes or queries.
fn touches_of(target: &str, body: &Value, table: &str) -> Vec<Touch> {
    let mut found = Vec::new();
    let mut item_or_key = |place: &Value, values: Option<&Value>, expression: Option<&str>| {
        if let Some(pk) = place.get("PK").and_then(text) {
            found.push(Touch {
                place: table.to_owned(),
                key: pk,
            });
        }
        if let Some(object) = place.as_object() {
            for (name, value) in object {
                if let (Some(index), Some(key)) = (name.strip_suffix("PK"), text(value)) {
                    if index.starts_with("GSI") {
                        found.push(Touch {
                            place: index.to_owned(),
                            key,
                        });
                    }
                }
            }
        }
        if let (Some(values), Some(expression)) = (values, expression) {
            for (index, placeholder) in index_keys_set(expression) {
                if let Some(key) = values.get(&placeholder).and_then(text) {
                    found.push(Touch { place: index, key });
                }
            }
        }
    };
    let operation = target.rsplit('.').next().unwrap_or_default();
    match operation {
        "GetItem" | "DeleteItem" => item_or_key(&body["Key"], None, None),
        "PutItem" => item_or_key(&body["Item"], None, None),
        "UpdateItem" => item_or_key(
            &body["Key"],
            body.get("ExpressionAttributeValues"),
            body["UpdateExpression"].as_str(),
        ),
        "TransactWriteItems" => {
            for entry in body["TransactItems"].as_array().into_iter().flatten() {
                for (kind, part) in entry.as_object().into_iter().flatten() {
                    match kind.as_str() {
                        "Put" => item_or_key(&part["Item"], None, None),
                        _ => item_or_key(
                            &part["Key"],
                            part.get("ExpressionAttributeValues"),
                            part["UpdateExpression"].as_str(),
                        ),
                    }
                }
            }
        }
        "BatchGetItem" => {
            for request in body["RequestItems"].as_object().into_iter().flatten() {
                for key in request.1["Keys"].as_array().into_iter().flatten() {
                    item_or_key(key, None, None);
                }
            }
        }
        "Query" => {
            // The partition is the value compared first in the key condition (`#pk = :pk AND …`).
            let condition = body["KeyConditionExpression"].as_str().unwrap_or_default();
            let placeholder = condition
                .split_whitespace()
                .skip_while(|word| *word != "=")
                .nth(1)
                .unwrap_or_default();
            if let Some(key) = body["ExpressionAttributeValues"]
                .get(placeholder)
                .and_then(text)
            {
                let place = body["IndexName"].as_str().unwrap_or(table).to_owned();
                found.push(Touch { place, key });
            }
        }
        // The migrations' one-time Scans read every partition once, for every business: not a request's work.
        "Scan" | "CreateTable" | "DescribeTable" => {}
        other => panic!("a request this test does not read: {other}"),
    }
    found
}

#[derive(Debug)]
struct RecordKeys(Recorder);

impl Intercept for RecordKeys {
    fn name(&self) -> &'static str {
        "RecordKeys"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let target = request
            .headers()
            .get("x-amz-target")
            .unwrap_or_default()
            .to_owned();
        let body: Value = request
            .body()
            .bytes()
            .and_then(|bytes| serde_json::from_slice(bytes).ok())
            .unwrap_or(Value::Null);
        self.0.requests.fetch_add(1, Ordering::Relaxed);
        if target.ends_with(".GetItem") && body["Key"]["SK"]["S"] == "WATCH" {
            self.0.watch_reads.fetch_add(1, Ordering::Relaxed);
        }
        let actor = *self.0.actor.lock().unwrap();
        let touches = touches_of(&target, &body, "table");
        self.0
            .touches
            .lock()
            .unwrap()
            .extend(touches.into_iter().map(|touch| (actor, touch)));
        Ok(())
    }
}

/// The business a key names, if it names one; else whoever was acting.
fn owner(touch: &Touch, actor: Actor, businesses: &[BusinessId]) -> Option<BusinessId> {
    businesses
        .iter()
        .find(|business| touch.key.contains(&business.to_string()))
        .copied()
        .or(actor)
}

/// `SYNC#pending#07`, `WATCH#07`: the due index's shards of one kind of work.
fn is_due_shard(touch: &Touch) -> bool {
    touch.place == "GSI4"
        && touch
            .key
            .rsplit('#')
            .next()
            .is_some_and(|shard| shard.len() == 2 && shard.parse::<u32>().is_ok())
}

const NOW: &str = "2026-11-30T13:00:00Z";

/// One business's day through the API and through the store writes its sync worker and webhooks make.
async fn business_day(store: Arc<dyn Store>, recorder: &Recorder, now: Timestamp) -> Business {
    recorder.act_as(None);
    let (client, business) = Client::for_new_business(store.clone(), now).await;
    recorder.act_as(Some(business.id));
    let day = json!([{ "start": "08:00", "end": "18:00" }]);
    let service_id = client
        .create_service(json!({ "monday": day, "tuesday": day, "wednesday": day,
                                "thursday": day, "friday": day, "saturday": day, "sunday": day }))
        .await;
    let tomorrow = now + SignedDuration::from_hours(24);
    let (status, _) = client
        .call(
            "GET",
            &format!(
                "/v1/availability?service_id={service_id}&from={now}&to={}",
                now + SignedDuration::from_hours(24 * 7)
            ),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut booked = Vec::new();
    for slot in 0..4_i64 {
        let start = tomorrow + SignedDuration::from_mins(slot * 60);
        let before = recorder.requests();
        let (status, appointment) = client
            .post(
                "/v1/appointments",
                json!({ "service_id": service_id, "start": start.to_string(),
                        "customer": { "name": "Ana", "phone": "+12125550100" }, "source": "api" }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{appointment}");
        // The key's GetItem, the BatchGetItem of the service, the business's calendar connections (one item) and the
        // staff roster, the ledger and busy Queries, and the transaction: the booking path's five requests in four
        // round trips, whatever the fleet layout and however many members; the answer names the member from the
        // roster read.
        assert_eq!(recorder.requests() - before, 5, "requests of one booking");
        booked.push(appointment["id"].as_str().unwrap().to_owned());
    }
    let start = tomorrow + SignedDuration::from_hours(5);
    let (status, hold) = client
        .post(
            "/v1/holds",
            json!({ "service_id": service_id, "start": start.to_string() }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hold}");
    let before = recorder.requests();
    let (status, from_hold) = client
        .post(
            "/v1/appointments",
            json!({ "hold_id": hold["id"], "customer": { "name": "Bo" }, "source": "ai" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{from_hold}");
    // The key's GetItem, the BatchGetItem of the hold, the connections and the staff roster, the busy Query, and the
    // transaction: four requests; the answer names the held member from the roster read.
    assert_eq!(
        recorder.requests() - before,
        4,
        "requests of a booking from a hold"
    );
    assert_eq!(from_hold["staff"]["name"], "Bench", "{from_hold}");
    let moved_to = tomorrow + SignedDuration::from_hours(7);
    let (status, moved) = client
        .call(
            "PATCH",
            &format!("/v1/appointments/{}", booked[0]),
            Some(json!({ "start": moved_to.to_string() })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    let (status, _) = client
        .post(&format!("/v1/appointments/{}/cancel", booked[1]), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = client
        .call("GET", "/v1/appointments?phone=%2B12125550100", None)
        .await;
    assert_eq!(status, StatusCode::OK);

    // The sync worker's results: pending, then synced or failed (the store writes a sync job makes).
    for (index, id) in booked.iter().enumerate() {
        let id: AppointmentId = id.parse().unwrap();
        let version = store
            .get_appointment(business.id, id)
            .await
            .unwrap()
            .unwrap()
            .version;
        let pending = SyncState {
            status: SyncStatus::Pending,
            error: None,
            updated_at: now - SignedDuration::from_mins(30),
            external_event_id: None,
            automatic_retries: 0,
            event_home: None,
        };
        store
            .update_sync_state(business.id, id, version, &pending)
            .await
            .unwrap();
        let outcome = if index % 2 == 0 {
            SyncState {
                status: SyncStatus::Synced,
                ..pending
            }
        } else {
            SyncState {
                status: SyncStatus::Failed,
                error: Some(SyncFailure {
                    code: SyncFailureCode::ProviderError,
                    message: "calendar unavailable".into(),
                    retryable: true,
                }),
                ..pending
            }
        };
        store
            .update_sync_state(business.id, id, version, &outcome)
            .await
            .unwrap();
    }
    // The calendar watch as selection, webhooks and syncs write it, and the busy time a sync caches.
    let mut watch = CalendarWatch::new(business.id, ProviderKind::GOOGLE, "primary".into());
    store.put_calendar_watch(&watch, None).await.unwrap();
    let due_index_before = recorder.index_touches("GSI4");
    for sync in 0..3_i64 {
        let current = store
            .get_calendar_watch(business.id, watch.id)
            .await
            .unwrap()
            .unwrap();
        watch = CalendarWatch {
            cursor: Some(format!("cursor-{sync}")),
            synced_at: Some(now),
            version: current.version + 1,
            ..current.clone()
        };
        store
            .put_calendar_watch(&watch, Some(current.version))
            .await
            .unwrap();
        let busy = tomorrow + SignedDuration::from_hours(sync);
        store
            .put_busy_event(&BusyEvent {
                business_id: business.id,
                staff_id: booking_core::domain::StaffId::first_of(business.id),
                calendar_key: watch.busy_time_key(),
                event_id: format!("event-{sync}"),
                intervals: vec![Interval::new(busy, busy + SignedDuration::from_mins(30)).unwrap()],
            })
            .await
            .unwrap();
    }
    // The due index is keyed by when the scheduled walk next looks at the watch, which only the walk sets.
    assert_eq!(
        recorder.index_touches("GSI4") - due_index_before,
        0,
        "due-index keys written by three webhook syncs"
    );
    recorder.act_as(None);
    business
}

#[tokio::test]
async fn no_partition_of_the_table_or_its_indexes_is_shared_by_businesses() {
    if !support::installed(DynamoDbLocal::shared().await, "DynamoDB Local") {
        return;
    }
    let emulator = DynamoDbLocal::shared().await.unwrap().unwrap();
    let recorder = Recorder::default();
    let config = aws_sdk_dynamodb::config::Builder::from(&sdk_config(emulator.endpoint()).await)
        .interceptor(RecordKeys(recorder.clone()))
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(config);
    let table = format!("partition-keys-{}", std::process::id());
    create_table(&client, &table).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(DynamoStore::new(client, table));
    let now: Timestamp = NOW.parse().unwrap();

    let mut businesses = Vec::new();
    for _ in 0..4 {
        businesses.push(business_day(store.clone(), &recorder, now).await.id);
    }
    // The scheduler, an hour later: sweeps, the watch walk, the one-time moves.
    let scheduler = App::new(
        store.clone(),
        Arc::new(InProcessQueue::new(QueueSettings::default())),
        Arc::new(ManualClock::new(now + SignedDuration::from_hours(1))),
    );
    let report = app::run_scheduled_work(&scheduler).await.unwrap();

    let mut owners: BTreeMap<Touch, BTreeSet<BusinessId>> = BTreeMap::new();
    for (actor, touch) in recorder.touches.lock().unwrap().iter() {
        let entry = owners.entry(touch.clone()).or_default();
        if let Some(business) = owner(touch, *actor, &businesses) {
            entry.insert(business);
        }
    }
    assert!(
        owners.keys().any(|touch| touch.place == "GSI4"),
        "the day wrote the due index"
    );
    let shared: Vec<String> = owners
        .iter()
        .filter(|(touch, by)| by.len() > 1 && !(is_due_shard(touch) && DUE_SHARDS >= MIN_SHARDS))
        .map(|(touch, by)| format!("{} {} ({} businesses)", touch.place, touch.key, by.len()))
        .collect();
    assert!(
        shared.is_empty(),
        "partitions shared by businesses: {shared:#?}"
    );
    // The scheduler found the work the day left: the sweep read the due index, the walk every watch.
    assert!(report.retried_failed > 0, "{report:?}");
    assert_eq!(report.calendars_queued, businesses.len(), "{report:?}");

    // The next run, five minutes on: every watch was checked, and none is due for a safety-net period, so the
    // walk's 64 shard Queries read no watch (before watches were keyed by check time it read all four).
    let watch_reads = recorder.watch_reads();
    let next = App::new(
        store.clone(),
        Arc::new(InProcessQueue::new(QueueSettings::default())),
        Arc::new(ManualClock::new(now + SignedDuration::from_mins(65))),
    );
    let report = app::run_scheduled_work(&next).await.unwrap();
    assert_eq!(report.calendars_queued, 0, "{report:?}");
    assert_eq!(
        recorder.watch_reads() - watch_reads,
        0,
        "watches read by the walk"
    );
}
