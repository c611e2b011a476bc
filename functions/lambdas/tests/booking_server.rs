//! The booking-server binary as a container runs it, against DynamoDB Local and moto: a representative subset of
//! the HTTP API (a REST booking, an agent tool over MCP, a dashboard sign-in), its background work (sync jobs and
//! dead letters off SQS, the scheduled work), two instances sharing one table and queue, and SIGTERM under load.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use booking_aws::emulators::sdk_config;
use booking_core::domain::{AppointmentId, BusinessId, SyncStatus};
use booking_core::ports::{AppointmentQuery, AppointmentStore};
use jiff::{SignedDuration, Timestamp};
use reqwest::header::{CONTENT_TYPE, LOCATION, ORIGIN, SET_COOKIE};
use serde_json::{Value, json};
use support::dashboard::{cookie_pair, csrf_in};
use support::seed::{
    OWNER_PASSWORD, on_the_hour, owner_with_password, pending_appointment, stored_appointment,
    sync_job_body,
};
use support::server::Server;
use support::{Deployment, deploy, mcp_event};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `(status, body)` of a JSON request with the deployment's API key.
async fn call(
    deployment: &Deployment,
    server: &Server,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client()
        .request(method, format!("{}{path}", server.url))
        .bearer_auth(&deployment.api_key);
    if let Some(body) = body {
        request = request
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn create_service(deployment: &Deployment, server: &Server) -> String {
    let service: Value = serde_json::from_str(&support::open_every_day("00:00", "24:00")).unwrap();
    let (status, body) = call(
        deployment,
        server,
        reqwest::Method::POST,
        "/v1/services",
        Some(service),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

fn booking(service_id: &str, start: Timestamp) -> Value {
    json!({
        "service_id": service_id,
        "start": start.to_string(),
        "customer": { "name": "Ana Silva", "phone": "+14155550123" },
        "source": "api"
    })
}

/// Books Ana Silva at `start` through the appointments API.
async fn book(
    deployment: &Deployment,
    server: &Server,
    service_id: &str,
    start: Timestamp,
) -> (u16, Value) {
    let body = Some(booking(service_id, start));
    call(
        deployment,
        server,
        reqwest::Method::POST,
        "/v1/appointments",
        body,
    )
    .await
}

/// Sends the MCP request an agent sends (see [`mcp_event`]) to the server's `/mcp`; answers the JSON-RPC response.
async fn mcp(deployment: &Deployment, server: &Server, method: &str, params: Value) -> Value {
    let event = mcp_event(deployment, 1, method, params);
    let mut request = client()
        .post(format!("{}/mcp", server.url))
        .body(event["body"].as_str().unwrap().to_owned());
    for (name, value) in event["headers"].as_object().unwrap() {
        let wanted = ["authorization", "content-type", "accept"].contains(&name.as_str());
        if wanted || name.starts_with("mcp-") {
            request = request.header(name, value.as_str().unwrap());
        }
    }
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn serves_rest_agent_and_dashboard_over_dynamodb_and_sqs() {
    let Some(deployment) = deploy().await else {
        return;
    };
    let server = Server::start(&deployment, &[]).await;
    assert_eq!(
        server.health().await,
        (200, json!({ "store": true, "queue": true }))
    );
    let service_id = create_service(&deployment, &server).await;

    // REST: book, be refused the same time, read it back.
    let start = on_the_hour(Timestamp::now(), 48);
    let (status, created) = book(&deployment, &server, &service_id, start).await;
    assert_eq!(status, 201, "{created}");
    let (status, refused) = book(&deployment, &server, &service_id, start).await;
    assert_eq!(
        (status, &refused["code"]),
        (409, &json!("slot_unavailable")),
        "{refused}"
    );
    let path = format!("/v1/appointments/{}", created["id"].as_str().unwrap());
    let (status, read) = call(&deployment, &server, reqwest::Method::GET, &path, None).await;
    assert_eq!(
        (status, &read["customer"]["phone"]),
        (200, &json!("+14155550123"))
    );

    // An agent tool over MCP, stateless as the agent-api function serves it.
    let later = on_the_hour(Timestamp::now(), 50);
    let arguments = json!({ "service_id": service_id, "start": later.to_string(),
        "customer_name": "Ana Silva", "customer_phone": "+14155550123" });
    let answer = mcp(
        &deployment,
        &server,
        "tools/call",
        json!({ "name": "book_appointment", "arguments": arguments }),
    )
    .await;
    assert_eq!(
        answer["result"]["structuredContent"]["booked"], true,
        "{answer}"
    );

    // A dashboard sign-in, with the form's anti-forgery token and cookie.
    owner_with_password(&deployment).await;
    let password = OWNER_PASSWORD;
    let page = client()
        .get(format!("{}/dashboard/sign-in", server.url))
        .send()
        .await
        .unwrap();
    let form_cookie = cookie_pair(&set_cookies(&page), "__Host-form");
    let form = format!(
        "csrf={}&email=owner%40harbour.test&password={}&next=%2Fdashboard%2Fapi-keys",
        csrf_in(&page.text().await.unwrap()),
        password.replace(' ', "+")
    );
    let signed_in = client()
        .post(format!("{}/dashboard/sign-in", server.url))
        .header("cookie", form_cookie)
        .header(ORIGIN, &server.url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()[LOCATION], "/dashboard/api-keys");
    let session = cookie_pair(&set_cookies(&signed_in), "__Host-session");
    let keys = client()
        .get(format!("{}/dashboard/api-keys", server.url))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(keys.status(), 200);
    assert!(keys.text().await.unwrap().contains("Harbour Physio"));

    let output = server.output().await;
    assert!(
        output
            .iter()
            .all(|line| !line.contains("4155550123") && !line.contains(password)),
        "a phone number or password was logged: {output:?}"
    );
}

fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|cookie| cookie.to_str().unwrap().to_owned())
        .collect()
}

async fn sqs(deployment: &Deployment) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&sdk_config(&deployment.moto_endpoint).await)
}

/// Messages in the queue, visible or not.
async fn messages_in(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> u64 {
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    attributes
        .values()
        .map(|count| count.parse::<u64>().unwrap())
        .sum()
}

/// Sends each of `bodies` to the queue.
async fn send(sqs: &aws_sdk_sqs::Client, queue_url: &str, bodies: &[&str]) {
    for body in bodies {
        sqs.send_message()
            .queue_url(queue_url)
            .message_body(*body)
            .send()
            .await
            .unwrap();
    }
}

/// Waits up to 30 s for `done`.
async fn eventually<F: AsyncFn() -> bool>(what: &str, done: F) {
    for _ in 0..150 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("never happened: {what}");
}

#[tokio::test]
async fn works_sync_jobs_and_drains_dead_letters_as_the_functions_do() {
    let Some(deployment) = deploy().await else {
        return;
    };
    let (business_id, appointment_id, version) =
        pending_appointment(&deployment, SignedDuration::ZERO, 30).await;
    let sqs = sqs(&deployment).await;
    // Drops what the booking queued, so the queue holds only what this test sends.
    support::queue::drain(&sqs, &deployment.queue_url).await;
    let exhausted = sync_job_body(business_id, appointment_id, version);
    send(
        &sqs,
        &deployment.dead_letter_queue_url,
        &[&exhausted, "not a job"],
    )
    .await;
    // A job for an appointment that is gone is done at once; a body that is not a job is dropped.
    let obsolete = sync_job_body(business_id, AppointmentId::generate(), 1);
    send(&sqs, &deployment.queue_url, &[&obsolete, "not a job"]).await;

    let _server = Server::start(&deployment, &[]).await;

    eventually(
        "the dead letter marked its appointment failed",
        async || {
            let stored = stored_appointment(&deployment, business_id, appointment_id).await;
            stored.sync.status == SyncStatus::Failed
        },
    )
    .await;
    eventually("both queues emptied", async || {
        messages_in(&sqs, &deployment.queue_url).await == 0
            && messages_in(&sqs, &deployment.dead_letter_queue_url).await == 0
    })
    .await;
    let stored = stored_appointment(&deployment, business_id, appointment_id).await;
    assert_eq!(stored.sync.error.unwrap().code.as_str(), "sync_gave_up");
}

#[tokio::test]
async fn two_instances_share_one_table_and_queue() {
    let Some(deployment) = deploy().await else {
        return;
    };
    let every_two_seconds = [("SCHEDULE_EVERY_SECONDS", "2")];
    let first = Server::start(&deployment, &every_two_seconds).await;
    let second = Server::start(&deployment, &every_two_seconds).await;
    let service_id = create_service(&deployment, &first).await;

    // Twenty requests for one time, alternating between the instances, all at once: one wins.
    let start = on_the_hour(Timestamp::now(), 72);
    let attempts = (0..20).map(|attempt| {
        let server = if attempt % 2 == 0 { &first } else { &second };
        book(&deployment, server, &service_id, start)
    });
    let statuses: Vec<u16> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect();
    assert_eq!(
        statuses.iter().filter(|status| **status == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|status| **status == 409).count(),
        19,
        "{statuses:?}"
    );

    // Several ticks later, every tick's scheduled work ran exactly once, on one instance or the other.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let mut runs: HashMap<i64, usize> = HashMap::new();
    for line in first
        .logged("scheduled work ran")
        .await
        .into_iter()
        .chain(second.logged("scheduled work ran").await)
    {
        *runs.entry(line["tick"].as_i64().unwrap()).or_default() += 1;
    }
    assert!(runs.len() >= 3, "too few ticks ran: {runs:?}");
    assert!(
        runs.values().all(|count| *count == 1),
        "a tick ran twice: {runs:?}"
    );
    let (first_tick, last_tick) = (runs.keys().min().unwrap(), runs.keys().max().unwrap());
    assert!(
        (*first_tick..=*last_tick).all(|tick| runs.contains_key(&tick)),
        "a tick was skipped: {runs:?}"
    );
}

#[tokio::test]
async fn sigterm_during_fifty_bookings_leaves_every_answered_one_stored_and_none_half_written() {
    let Some(deployment) = deploy().await else {
        return;
    };
    let mut server = Server::start(&deployment, &[]).await;
    let service_id = create_service(&deployment, &server).await;
    let starts: Vec<Timestamp> = (0..50)
        .map(|hour| on_the_hour(Timestamp::now(), 24 + hour))
        .collect();

    let bookings = futures::future::join_all(starts.iter().map(|start| async {
        let response = client()
            .post(format!("{}/v1/appointments", server.url))
            .bearer_auth(&deployment.api_key)
            .header(CONTENT_TYPE, "application/json")
            .body(booking(&service_id, *start).to_string())
            .send()
            .await;
        let booked = match response {
            Ok(response) if response.status() == 201 => {
                let created: Value = response.json().await.unwrap();
                Some(
                    created["id"]
                        .as_str()
                        .unwrap()
                        .parse::<AppointmentId>()
                        .unwrap(),
                )
            }
            Ok(response) => panic!("booking answered {}", response.status()),
            // Refused once the server stopped listening, or reset while still waiting in the listen backlog when
            // the listener closed: never taken, so never answered.
            Err(_) => None,
        };
        (booked, Instant::now())
    }));
    let terminate = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        server.terminate();
        Instant::now()
    };
    let (outcomes, terminated_at) = tokio::join!(bookings, terminate);
    assert!(server.exited_cleanly().await, "{:?}", server.output().await);
    // Bookings answered after SIGTERM were in flight when it came, and were finished rather than dropped.
    assert!(
        outcomes
            .iter()
            .any(|(booked, ended)| booked.is_some() && *ended > terminated_at),
        "no booking was answered after SIGTERM"
    );

    let business_id: BusinessId = deployment.business_id.parse().unwrap();
    let answered: Vec<AppointmentId> = outcomes
        .into_iter()
        .filter_map(|(booked, _)| booked)
        .collect();
    for id in &answered {
        let stored = deployment
            .store
            .get_appointment(business_id, *id)
            .await
            .unwrap();
        assert!(
            stored.is_some(),
            "appointment {id} was answered as booked but is not stored"
        );
    }
    // Nothing half-written: a fresh instance refuses exactly the times that hold a stored appointment, so every
    // appointment has its place in the day's ledger and no ledger entry is without its appointment.
    let stored_starts: Vec<Timestamp> = deployment
        .store
        .list_appointments(&AppointmentQuery::every(business_id))
        .await
        .unwrap()
        .items
        .iter()
        .map(|appointment| appointment.time.start())
        .collect();
    let restarted = Server::start(&deployment, &[]).await;
    for start in &starts {
        let (status, body) = book(&deployment, &restarted, &service_id, *start).await;
        let expected = if stored_starts.contains(start) {
            409
        } else {
            201
        };
        assert_eq!(status, expected, "{start}: {body}");
    }
    assert!(
        !answered.is_empty() && stored_starts.len() >= answered.len(),
        "{} stored, {} answered",
        stored_starts.len(),
        answered.len()
    );
}

#[tokio::test]
async fn is_unhealthy_without_its_table_and_creates_it_on_dynamodb_local_only() {
    let Some(mut deployment) = deploy().await else {
        return;
    };
    deployment.table = format!("created-{}", uuid::Uuid::new_v4());
    // Healthy means a read of the new table answered.
    Server::start_with_arguments(&deployment, &["--create-table"], &[]).await;
    // Starting again on the table it created is no error.
    Server::start_with_arguments(&deployment, &["--create-table"], &[]).await;

    let (status, output) = Server::run_against_aws(&deployment, &["--create-table"]).await;
    assert!(!status.success());
    assert!(
        output
            .iter()
            .any(|line| line.contains("--create-table is for DynamoDB Local")),
        "{output:?}"
    );
}
