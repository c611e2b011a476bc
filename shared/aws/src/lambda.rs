//! What every Lambda function shares: JSON logs with the invocation's request id, business metrics as CloudWatch
//! embedded-metric-format lines, and the SQS handlers (one record loop for the sync worker and the dead letters).

use std::io::Write;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use booking_core::app::{self, App, JobEnd};
use booking_core::metrics;
use booking_core::ports::{DeadLetterStore, SyncWorkerStore};
use booking_core::ports::{Job, Receipt, ReceivedJob};
use futures::StreamExt;
use tracing::Instrument;
use tracing::field::{Field, Visit};
use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, fmt};

/// CloudWatch namespace of the business metrics.
const METRICS_NAMESPACE: &str = "BookingBackend";
/// How many records of one SQS batch are handled at once.
const BATCH_CONCURRENCY: usize = 10;

/// JSON logs (one object per line, with the runtime's `requestId`) and embedded-metric lines. `RUST_LOG`
/// filters, `info` by default.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = fmt::layer()
        .json()
        .flatten_event(true)
        // The span list carries the runtime's `requestId` span as well as the router's own request span.
        .with_current_span(false)
        .with_span_list(true)
        .with_ansi(false)
        .with_filter(filter_fn(|metadata| metadata.target() != metrics::TARGET));
    // `try_init`: a test may have installed a subscriber already, and logging is not worth failing over.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(EmbeddedMetrics)
        .try_init();
}

/// Turns `booking_core::metrics` events into CloudWatch embedded-metric-format lines on stdout, which Lambda ships to
/// CloudWatch Logs, where they become metrics without an API call.
struct EmbeddedMetrics;

#[derive(Default)]
struct MetricFields {
    name: Option<String>,
    value: u64,
    dimensions: Vec<(String, String)>,
}

impl Visit for MetricFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "metric" => self.name = Some(value.to_owned()),
            "message" => {}
            name => self.dimensions.push((name.to_owned(), value.to_owned())),
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "value" {
            self.value = value;
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() != "message" {
            self.record_str(field, &format!("{value:?}"));
        }
    }
}

impl MetricFields {
    fn to_emf(&self, timestamp_ms: i64) -> Option<serde_json::Value> {
        let name = self.name.as_ref()?;
        let mut line = serde_json::json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": METRICS_NAMESPACE,
                    "Dimensions": [self.dimensions.iter().map(|(key, _)| key).collect::<Vec<_>>()],
                    "Metrics": [{"Name": name, "Unit": "Count"}],
                }],
            },
        });
        let fields = line.as_object_mut()?;
        for (key, value) in &self.dimensions {
            fields.insert(key.clone(), value.clone().into());
        }
        fields.insert(name.clone(), self.value.into());
        Some(line)
    }
}

impl<S: tracing::Subscriber> Layer<S> for EmbeddedMetrics {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != metrics::TARGET {
            return;
        }
        let mut fields = MetricFields::default();
        event.record(&mut fields);
        if let Some(line) = fields.to_emf(jiff::Timestamp::now().as_millisecond()) {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{line}");
        }
    }
}

/// Handles each record of an SQS batch and reports the ones `handle` says to deliver again (`true`), so only those
/// are. A body that is not a job is dropped: it never will be one, and redelivering it for days helps nobody.
async fn handle_sqs_batch<F, Fut>(event: SqsEvent, handle: F) -> SqsBatchResponse
where
    F: Fn(ReceivedJob) -> Fut,
    Fut: Future<Output = bool>,
{
    let failures = futures::stream::iter(event.records)
        .map(|record| {
            let message_id = record.message_id.clone().unwrap_or_default();
            // Every line about this record, the use case's own included, carries its message id.
            let span = record_span(&message_id);
            let delivered = delivered_job(record);
            let handled = delivered.map(&handle);
            async move {
                let again = match handled {
                    Some(handled) => handled.await,
                    None => {
                        tracing::error!(%message_id, "dropping an SQS message that is not a job");
                        false
                    }
                };
                again.then_some(message_id)
            }
            .instrument(span)
        })
        .buffer_unordered(BATCH_CONCURRENCY)
        .filter_map(|failed| async move { failed })
        .collect::<Vec<String>>()
        .await;
    batch_response(failures)
}

/// The job a record carries, with its receipt and delivery count; `None` when the body is not a job.
fn delivered_job(record: SqsMessage) -> Option<ReceivedJob> {
    let job = serde_json::from_str::<Job>(record.body.as_deref()?).ok()?;
    let attempt = record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|count| count.parse().ok())
        .unwrap_or(1);
    Some(ReceivedJob {
        job,
        receipt: Receipt(record.receipt_handle.unwrap_or_default()),
        attempt,
    })
}

fn batch_response(failures: Vec<String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures
        .into_iter()
        .map(|item_identifier| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = item_identifier;
            failure
        })
        .collect();
    response
}

/// The dead-letter queue's consumer: each job the sync queue gave up on marks its appointment `failed` (and alerts
/// the business's owners).
pub async fn handle_dead_letters<S: DeadLetterStore + ?Sized>(
    app: &App<S>,
    event: SqsEvent,
) -> SqsBatchResponse {
    handle_sqs_batch(event, |dead| async move {
        match app::give_up_sync(app, &dead.job).await {
            Ok(()) => false,
            Err(error) => {
                tracing::warn!(%error, "dead letter not handled; SQS delivers it again");
                true
            }
        }
    })
    .await
}

/// The sync worker: runs each job of the batch and settles it as booking-core does for every runtime; a job to
/// retry (given back to SQS with its backoff as the message's new visibility timeout) or that failed is reported as
/// a batch item failure, so only it is delivered again.
pub async fn handle_sync_batch<S: SyncWorkerStore + ?Sized>(
    app: &App<S>,
    event: SqsEvent,
) -> SqsBatchResponse {
    handle_sqs_batch(event, |delivered| async move {
        app::run_delivered_job(app, &delivered).await != JobEnd::Done
    })
    .await
}

/// The span of one SQS record, as the runtime's SQS examples wrap each record.
fn record_span(message_id: &str) -> tracing::Span {
    tracing::info_span!("sqs_record", message_id)
}
