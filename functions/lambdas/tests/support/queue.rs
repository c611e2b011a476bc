//! The real sync queue (moto's SQS) as the tests read it: emptied, or one job as the SQS event source delivers it.

use serde_json::{Value, json};

use super::{Deployment, sqs_client, sqs_event};

/// Receives and deletes every visible message, returning their bodies.
pub async fn drain(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let messages = received.messages.unwrap_or_default();
        if messages.is_empty() {
            return bodies;
        }
        for message in messages {
            bodies.push(message.body.unwrap_or_default());
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle.unwrap_or_default())
                .send()
                .await
                .unwrap();
        }
    }
}

/// Every job on the queue, read and deleted.
pub async fn drain_jobs(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Vec<booking_core::ports::Job> {
    drain(sqs, queue_url)
        .await
        .iter()
        .map(|body| serde_json::from_str(body).unwrap())
        .collect()
}

/// The sync job a booking put on the real queue, as the SQS event source would deliver it (receipt handle and
/// receive count included).
pub async fn delivered_job(deployment: &Deployment) -> Value {
    let sqs = sqs_client(deployment).await;
    let received = sqs
        .receive_message()
        .queue_url(&deployment.queue_url)
        .max_number_of_messages(1)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap();
    let message = &received.messages()[0];
    let (mut event, _) = sqs_event(&[message.body().unwrap().to_owned()]);
    let record = &mut event["Records"][0];
    record["messageId"] = json!(message.message_id().unwrap());
    record["receiptHandle"] = json!(message.receipt_handle().unwrap());
    record["attributes"]["ApproximateReceiveCount"] = json!("1");
    event
}
