//! The table at fleet scale on DynamoDB Local: scheduled work (pending and failed syncs, calendar watches) lives in
//! a sparse, sharded, keys-only index (GSI4), and items written under the fleet-wide GSI2 and GSI1 `WATCHES` move
//! there once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use booking_aws::emulators::dynamodb_local::DynamoDbLocal;
use booking_core as booking;
use booking_core::domain::{
    Appointment, BusinessId, Interval, ServiceId, SyncFailure, SyncFailureCode, SyncState,
    SyncStatus, WatchId,
};
use booking_core::ports::{AppointmentStore, CalendarWatch, ConnectionStore, ProviderKind, Store};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

#[path = "../../benches/support/seed.rs"]
mod seed;
mod support;

async fn dynamodb_local() -> Option<&'static DynamoDbLocal> {
    if !support::installed(DynamoDbLocal::shared().await, "DynamoDB Local") {
        return None;
    }
    DynamoDbLocal::shared().await.unwrap()
}

fn now() -> Timestamp {
    "2027-03-01T12:00:00Z".parse().unwrap()
}

fn sync_at(status: SyncStatus, minutes_ago: i64) -> SyncState {
    SyncState {
        status,
        error: (status == SyncStatus::Failed).then(|| SyncFailure {
            code: SyncFailureCode::ProviderError,
            message: "calendar unavailable".into(),
            retryable: true,
        }),
        updated_at: now() - SignedDuration::from_mins(minutes_ago),
        external_event_id: None,
        automatic_retries: 0,
        event_home: None,
    }
}

/// A booked appointment of a new business whose sync is in `sync`.
async fn appointment_in(store: &dyn Store, sync: &SyncState) -> Appointment {
    let start = now() + SignedDuration::from_hours(24);
    let time = Interval::new(start, start + SignedDuration::from_mins(30)).unwrap();
    let appointment = seed::booked_appointment(
        BusinessId::generate(),
        ServiceId::generate(),
        time,
        TimeZone::UTC,
        "Ana",
        None,
        now(),
    );
    seed::store_appointment(store, &appointment).await.unwrap();
    assert!(
        store
            .update_sync_state(appointment.business_id, appointment.id, 1, sync)
            .await
            .unwrap()
    );
    Appointment {
        sync: sync.clone(),
        ..appointment
    }
}

fn appointment_key(appointment: &Appointment) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            "PK".to_owned(),
            AttributeValue::S(format!("BUSINESS#{}", appointment.business_id)),
        ),
        (
            "SK".to_owned(),
            AttributeValue::S(format!("APPOINTMENT#{}", appointment.id)),
        ),
    ])
}

async fn stored_item(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    appointment: &Appointment,
) -> HashMap<String, AttributeValue> {
    client
        .get_item()
        .table_name(table)
        .set_key(Some(appointment_key(appointment)))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap()
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .map(String::as_str)
}

/// A fresh table with three appointments, each of its own business, whose syncs have been pending, failed and
/// synced for ten minutes; `None` when DynamoDB Local is not installed.
struct Fixture {
    store: booking_aws::dynamo_store::DynamoStore,
    table: String,
    client: aws_sdk_dynamodb::Client,
    pending: Appointment,
    failed: Appointment,
    synced: Appointment,
}

impl Fixture {
    /// The appointment's item as the table holds it now.
    async fn item(&self, appointment: &Appointment) -> HashMap<String, AttributeValue> {
        stored_item(&self.client, &self.table, appointment).await
    }
}

async fn fixture() -> Option<Fixture> {
    let emulator = dynamodb_local().await?;
    let (store, table) = emulator.fresh_store().await.unwrap();
    Some(Fixture {
        client: emulator.client().await,
        pending: appointment_in(&store, &sync_at(SyncStatus::Pending, 10)).await,
        failed: appointment_in(&store, &sync_at(SyncStatus::Failed, 10)).await,
        synced: appointment_in(&store, &sync_at(SyncStatus::Synced, 10)).await,
        store,
        table,
    })
}

#[tokio::test]
async fn only_pending_and_failed_syncs_are_in_the_due_index_each_in_its_business_shard() {
    let Some(fixture) = fixture().await else {
        return;
    };

    let synced_item = fixture.item(&fixture.synced).await;
    assert_eq!(
        text(&synced_item, "GSI4PK"),
        None,
        "sparse: a synced appointment is not work"
    );
    for (appointment, status) in [(&fixture.pending, "pending"), (&fixture.failed, "failed")] {
        let item = fixture.item(appointment).await;
        let partition = text(&item, "GSI4PK").unwrap();
        let shard = partition
            .strip_prefix(&format!("SYNC#{status}#"))
            .unwrap_or_else(|| panic!("{partition}"));
        assert_eq!(shard.len(), 2, "{partition}");
        assert_eq!(
            text(&item, "GSI2PK"),
            None,
            "nothing writes the fleet-wide index"
        );
    }
    // Synced again: out of the index.
    let done = sync_at(SyncStatus::Synced, 0);
    let pending = &fixture.pending;
    assert!(
        fixture
            .store
            .update_sync_state(pending.business_id, pending.id, 1, &done)
            .await
            .unwrap()
    );
    assert_eq!(text(&fixture.item(pending).await, "GSI4PK"), None);
}

#[tokio::test]
async fn the_sweep_reads_every_shard_oldest_first() {
    let Some(emulator) = dynamodb_local().await else {
        return;
    };
    let (store, _table) = emulator.fresh_store().await.unwrap();
    // Forty businesses land in many shards; each has one pending change, i minutes old.
    let mut pending = Vec::new();
    for minutes_ago in 6..46 {
        pending.push(appointment_in(&store, &sync_at(SyncStatus::Pending, minutes_ago)).await);
    }
    pending.reverse();
    let cutoff = now() - SignedDuration::from_mins(5);
    let found = store
        .appointments_by_sync_status(SyncStatus::Pending, cutoff, 200)
        .await
        .unwrap();
    assert_eq!(found, pending, "all of them, oldest first");
    let oldest = store
        .appointments_by_sync_status(SyncStatus::Pending, cutoff, 3)
        .await
        .unwrap();
    assert_eq!(oldest, pending[..3].to_vec());
}

/// As the release before the due index wrote an appointment: GSI2's fleet-wide keys, no GSI4 keys.
async fn write_the_old_way(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    appointment: &Appointment,
) {
    let sort_key = format!(
        "{:022}#{}#{}",
        appointment.sync.updated_at.as_nanosecond() + 1_000_000_000_000_000_000_000,
        appointment.business_id,
        appointment.id
    );
    client
        .update_item()
        .table_name(table)
        .set_key(Some(appointment_key(appointment)))
        .update_expression("SET GSI2PK = :pk, GSI2SK = :sk REMOVE GSI4PK, GSI4SK")
        .expression_attribute_values(
            ":pk",
            AttributeValue::S(format!("SYNC#{}", appointment.sync.status.as_str())),
        )
        .expression_attribute_values(":sk", AttributeValue::S(sort_key))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn appointments_and_watches_written_under_fleet_wide_partitions_move_to_the_due_index_once() {
    let Some(fixture) = fixture().await else {
        return;
    };
    let Fixture {
        store,
        table,
        client,
        pending,
        failed,
        synced,
    } = fixture;
    for appointment in [&pending, &failed, &synced] {
        write_the_old_way(&client, &table, appointment).await;
    }
    let watch = watch_of_the_release_before(BusinessId::generate());
    store.put_calendar_watch(&watch, None).await.unwrap();
    // As the release before wrote a watch: in GSI1's one `WATCHES` partition.
    client
        .update_item()
        .table_name(&table)
        .key(
            "PK",
            AttributeValue::S(format!("BUSINESS#{}", watch.business_id)),
        )
        .key("SK", AttributeValue::S("WATCH".into()))
        .update_expression("SET GSI1PK = :pk, GSI1SK = :sk REMOVE GSI4PK, GSI4SK, check_at")
        .expression_attribute_values(":pk", AttributeValue::S("WATCHES".into()))
        .expression_attribute_values(":sk", AttributeValue::S(watch.business_id.to_string()))
        .send()
        .await
        .unwrap();
    assert!(due_watches(&store).await.is_empty());
    let cutoff = now() - SignedDuration::from_mins(5);
    let sweep = async |status| {
        store
            .appointments_by_sync_status(status, cutoff, 10)
            .await
            .unwrap()
    };
    assert!(sweep(SyncStatus::Pending).await.is_empty(), "not moved yet");

    assert_eq!(store.index_existing_scheduled_work().await.unwrap(), 4);
    // The next move (the scheduler runs it right after) keys the watch by its check time.
    assert_eq!(store.index_watches_by_check_time().await.unwrap(), 1);
    assert_eq!(due_watches(&store).await, vec![watch]);
    assert_eq!(sweep(SyncStatus::Pending).await, vec![pending.clone()]);
    assert_eq!(sweep(SyncStatus::Failed).await, vec![failed.clone()]);
    for appointment in [&pending, &failed, &synced] {
        let item = stored_item(&client, &table, appointment).await;
        assert_eq!(text(&item, "GSI2PK"), None, "{item:?}");
        assert_eq!(text(&item, "GSI2SK"), None, "{item:?}");
    }
    assert_eq!(
        text(&stored_item(&client, &table, &synced).await, "GSI4PK"),
        None
    );
    // Its marker is written: every later run is one read.
    assert_eq!(store.index_existing_scheduled_work().await.unwrap(), 0);
}

/// The watches the scheduled walk reads now, all pages.
async fn due_watches(store: &dyn Store) -> Vec<CalendarWatch> {
    let mut found = Vec::new();
    let mut after = None;
    loop {
        let page = store.calendar_watches_due(now(), after, 2).await.unwrap();
        let Some(last) = page.last() else {
            return found;
        };
        after = Some(last.place());
        found.extend(page.into_iter().map(|due| due.watch));
    }
}

fn watch_key(business: BusinessId) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            "PK".to_owned(),
            AttributeValue::S(format!("BUSINESS#{business}")),
        ),
        ("SK".to_owned(), AttributeValue::S("WATCH".into())),
    ])
}

/// As the due index's first release wrote a watch: in its business's `WATCH#shard`, sorted by business, with no
/// check time. Answers the shard (`07`).
async fn write_watch_keyed_by_business(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    business: BusinessId,
) -> String {
    let item = client
        .get_item()
        .table_name(table)
        .set_key(Some(watch_key(business)))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let shard = text(&item, "GSI4PK")
        .unwrap()
        .rsplit('#')
        .next()
        .unwrap()
        .to_owned();
    client
        .update_item()
        .table_name(table)
        .set_key(Some(watch_key(business)))
        .update_expression("SET GSI4PK = :pk, GSI4SK = :sk REMOVE check_at")
        .expression_attribute_values(":pk", AttributeValue::S(format!("WATCH#{shard}")))
        .expression_attribute_values(":sk", AttributeValue::S(business.to_string()))
        .send()
        .await
        .unwrap();
    shard
}

#[tokio::test]
async fn watches_keyed_by_business_move_to_their_check_time_once_and_a_rerun_resumes() {
    let Some(emulator) = dynamodb_local().await else {
        return;
    };
    let (store, table) = emulator.fresh_store().await.unwrap();
    let client = emulator.client().await;
    let watches: Vec<CalendarWatch> = (0..4)
        .map(|_| watch_of_the_release_before(BusinessId::generate()))
        .collect();
    let mut shards = Vec::new();
    for watch in &watches {
        store.put_calendar_watch(watch, None).await.unwrap();
        shards.push(write_watch_keyed_by_business(&client, &table, watch.business_id).await);
    }
    assert!(due_watches(&store).await.is_empty(), "not moved yet");
    // A sync writes its cursor before the move: it sets no check time, so the move still applies.
    let synced = CalendarWatch {
        cursor: Some("cursor-2".into()),
        version: 2,
        ..watches[0].clone()
    };
    store.put_calendar_watch(&synced, Some(1)).await.unwrap();
    // A run that stopped half-way: one watch moved and checked since, by hand, and no marker.
    let moved = watches[1].business_id;
    let checked_at: Timestamp = "2099-01-01T00:00:00Z".parse().unwrap();
    let checked_key = format!(
        "{:022}#{moved}",
        checked_at.as_nanosecond() + 1_000_000_000_000_000_000_000
    );
    client
        .update_item()
        .table_name(&table)
        .set_key(Some(watch_key(moved)))
        .update_expression("SET GSI4PK = :pk, GSI4SK = :sk, check_at = :at")
        .expression_attribute_values(":pk", AttributeValue::S(format!("WATCH#due#{}", shards[1])))
        .expression_attribute_values(":sk", AttributeValue::S(checked_key))
        .expression_attribute_values(":at", AttributeValue::S(checked_at.to_string()))
        .send()
        .await
        .unwrap();
    // A watch removed since: the move does not bring it back.
    store
        .delete_calendar_watch(watches[3].business_id, watches[3].id)
        .await
        .unwrap();

    assert_eq!(store.index_watches_by_check_time().await.unwrap(), 2);
    let mut expected = vec![synced.clone(), watches[2].clone()];
    expected.sort_by_key(|watch| watch.business_id);
    assert_eq!(
        due_watches(&store).await,
        expected,
        "due at once, the one checked later not yet"
    );
    for watch in &expected {
        let item = client
            .get_item()
            .table_name(&table)
            .set_key(Some(watch_key(watch.business_id)))
            .send()
            .await
            .unwrap()
            .item
            .unwrap();
        let partition = text(&item, "GSI4PK").unwrap();
        assert!(partition.starts_with("WATCH#due#"), "{partition}");
        assert!(
            text(&item, "GSI4SK")
                .unwrap()
                .ends_with(&format!("#{}", watch.business_id))
        );
    }
    assert_eq!(
        store
            .get_calendar_watch(watches[3].business_id, watches[3].id)
            .await
            .unwrap(),
        None
    );
    // The marker is written: every later run is one read.
    assert_eq!(store.index_watches_by_check_time().await.unwrap(), 0);
}

/// SQS fair queues: every job goes to the standard queue with its business as the message group. moto accepts a
/// group id on a standard queue and hands it back; it does not reorder by it, so the fairness itself is proven on
/// the in-process queue (`a_backlog_of_one_business_does_not_delay_another`).
#[tokio::test]
async fn sync_jobs_are_sent_with_their_business_as_the_message_group() {
    use aws_sdk_sqs::types::MessageSystemAttributeName;
    use booking_aws::emulators::moto::Moto;
    use booking_aws::emulators::sdk_config;
    use booking_aws::sqs_job_queue::SqsJobQueue;
    use booking_core::ports::{Job, JobQueue, QueueSettings};

    if !support::installed(Moto::shared().await, "moto") {
        return;
    }
    let moto = Moto::shared().await.unwrap().unwrap();
    let (queue_url, dead_url) = moto
        .create_sync_queues(QueueSettings::default())
        .await
        .unwrap();
    let client = aws_sdk_sqs::Client::new(&sdk_config(moto.endpoint()).await);
    let queue = SqsJobQueue::new(client.clone(), queue_url.clone(), dead_url);
    let one = BusinessId::generate();
    let other = BusinessId::generate();
    let job = |business_id| Job::SyncCalendar {
        business_id,
        watch_id: None,
        requested_at: None,
    };
    queue
        .enqueue(&job(one), std::time::Duration::ZERO)
        .await
        .unwrap();
    queue
        .enqueue_many(&[job(other)], std::time::Duration::ZERO)
        .await
        .unwrap();

    let mut groups = Vec::new();
    for _ in 0..5 {
        let received = client
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::MessageGroupId)
            .send()
            .await
            .unwrap();
        for message in received.messages.unwrap_or_default() {
            let group = message.attributes.and_then(|mut attributes| {
                attributes.remove(&MessageSystemAttributeName::MessageGroupId)
            });
            let body: Job = serde_json::from_str(message.body.as_deref().unwrap()).unwrap();
            groups.push((body.group().to_string(), group));
        }
        if groups.len() == 2 {
            break;
        }
    }
    groups.sort();
    let mut expected = vec![
        (one.to_string(), Some(one.to_string())),
        (other.to_string(), Some(other.to_string())),
    ];
    expected.sort();
    assert_eq!(groups, expected);
}

/// The one watch a business had before each checked calendar had its own, kept under the key of that time.
fn watch_of_the_release_before(business: BusinessId) -> CalendarWatch {
    CalendarWatch {
        id: WatchId::of_first_watch(business),
        ..CalendarWatch::new(business, ProviderKind::GOOGLE, "primary".into())
    }
}
