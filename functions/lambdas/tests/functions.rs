//! Each function binary, end to end: started as Lambda starts it, fed event JSON as AWS sends it (API Gateway HTTP
//! API v2, SQS, EventBridge Scheduler), against DynamoDB Local and moto.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;

use booking_aws::config::AwsAdapters;
use booking_aws::emulators::sdk_config;
use booking_core::domain::{
    AppointmentId, BookingSource, BusinessId, ConnectionId, StaffId, SyncStatus,
};
use booking_core::ports::{ApiKeyStore, AppointmentStore, ConnectionStore, Job, ProviderKind};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use support::dashboard::{DASHBOARD_ORIGIN, browse, cookie_pair, csrf_in, input_value};
use support::queue::{delivered_job, drain, drain_jobs};
use support::seed::{
    OWNER_PASSWORD, aws_settings, book_ana, on_the_hour, owner_with_password, pending_appointment,
    put_corrupt_appointment, test_app,
};
use support::{Deployment, Function, deploy, http_event, http_response, mcp_event, sqs_event};

const SERVICES: &str = env!("CARGO_BIN_EXE_services-api");
const AVAILABILITY: &str = env!("CARGO_BIN_EXE_availability-api");
const APPOINTMENTS: &str = env!("CARGO_BIN_EXE_appointments-api");
const DEAD_LETTERS: &str = env!("CARGO_BIN_EXE_dead-letter-handler");
const SCHEDULER: &str = env!("CARGO_BIN_EXE_scheduler");
const WEBHOOKS: &str = env!("CARGO_BIN_EXE_webhooks-api");
const DASHBOARD: &str = env!("CARGO_BIN_EXE_dashboard");
const AGENT: &str = env!("CARGO_BIN_EXE_agent-api");
const SYNC_WORKER: &str = env!("CARGO_BIN_EXE_sync-worker");

fn open_every_day() -> String {
    support::open_every_day("00:00", "24:00")
}

async fn create_service(deployment: &Deployment) -> String {
    support::create_service(deployment, &open_every_day()).await
}

/// A deployment with a service open around the clock (its id) and the function `binary` started on it; `None` when
/// the emulators are missing (see [`deploy`]).
async fn deployed_with_service(binary: &str) -> Option<(Deployment, String, Function)> {
    let deployment = deploy().await?;
    let service_id = create_service(&deployment).await;
    let function = Function::start(binary, &deployment).await;
    Some((deployment, service_id, function))
}

#[tokio::test]
async fn services_function_creates_reads_and_refuses_bad_requests() {
    let Some(deployment) = deploy().await else {
        return;
    };
    let services = Function::start(SERVICES, &deployment).await;
    let key = Some(deployment.api_key.as_str());

    let (status, headers, service) = services
        .http(
            "POST",
            "ANY /v1/services",
            "/v1/services",
            key,
            Some(&open_every_day()),
        )
        .await;
    assert_eq!(status, 201, "{service}");
    assert_eq!(headers["content-type"], "application/json");
    let id = service["id"].as_str().unwrap();
    let path = format!("/v1/services/{id}");

    let (status, _, body) = services
        .http("GET", "ANY /v1/services/{proxy+}", &path, key, None)
        .await;
    assert_eq!((status, &body["name"]), (200, &json!("Consultation")));

    let (status, headers, problem) = services
        .http(
            "POST",
            "ANY /v1/services",
            "/v1/services",
            key,
            Some("{\"name\": "),
        )
        .await;
    assert_eq!((status, &problem["code"]), (400, &json!("malformed_json")));
    assert_eq!(headers["content-type"], "application/problem+json");

    let (status, _, problem) = services
        .http("GET", "ANY /v1/services/{proxy+}", &path, None, None)
        .await;
    assert_eq!((status, &problem["code"]), (401, &json!("unauthorized")));

    let logs = services.output().await;
    assert!(
        logs.iter().any(|line| line.contains("\"requestId\"")),
        "log lines carry the invocation's request id: {logs:?}"
    );
    assert!(
        logs.iter().all(|line| !line.contains(&deployment.api_key)),
        "an API key was logged"
    );
}

#[tokio::test]
async fn availability_function_answers_from_dynamodb() {
    let Some((deployment, service_id, availability)) = deployed_with_service(AVAILABILITY).await
    else {
        return;
    };
    let key = Some(deployment.api_key.as_str());
    let from = Timestamp::now() + SignedDuration::from_hours(24);
    let to = from + SignedDuration::from_hours(24);
    let query = format!("service_id={service_id}&from={from}&to={to}");

    let (status, _, body) = availability
        .http(
            "GET",
            "ANY /v1/availability",
            &format!("/v1/availability?{query}"),
            key,
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["time_zone"], "America/New_York");
    let slots = body["slots"].as_array().unwrap();
    assert!(slots.len() >= 40, "a whole open day has many slots: {body}");

    let check = json!({ "service_id": service_id, "start": slots[0]["start"] }).to_string();
    let (status, _, body) = availability
        .http(
            "POST",
            "ANY /v1/availability/{proxy+}",
            "/v1/availability/check",
            key,
            Some(&check),
        )
        .await;
    assert_eq!((status, &body["available"]), (200, &json!(true)), "{body}");
}

#[tokio::test]
async fn appointments_function_books_once_and_counts_the_conflict() {
    let Some((deployment, service_id, appointments)) = deployed_with_service(APPOINTMENTS).await
    else {
        return;
    };
    let key = Some(deployment.api_key.as_str());
    let start = on_the_hour(Timestamp::now(), 48);
    let booking = json!({
        "service_id": service_id,
        "start": start.to_string(),
        "customer": { "name": "Ana Silva", "phone": "+14155550123" },
        "source": "api"
    })
    .to_string();
    let book = || {
        http_event(
            "POST",
            "ANY /v1/appointments",
            "/v1/appointments",
            "",
            key,
            Some(&booking),
        )
    };

    let (status, _, created) = http_response(&appointments.invoke(book()).await.unwrap());
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["sync"]["status"], "not_connected");
    let (status, _, refused) = http_response(&appointments.invoke(book()).await.unwrap());
    assert_eq!(
        (status, &refused["code"]),
        (409, &json!("slot_unavailable")),
        "{refused}"
    );

    let path = format!("/v1/appointments/{}", created["id"].as_str().unwrap());
    let (status, _, body) = appointments
        .http("GET", "ANY /v1/appointments/{proxy+}", &path, key, None)
        .await;
    assert_eq!(
        (status, &body["customer"]["phone"]),
        (200, &json!("+14155550123"))
    );

    let (status, _, openapi) = appointments
        .http("GET", "GET /openapi.json", "/openapi.json", None, None)
        .await;
    let published: Value = serde_json::from_str(booking_core::api::PUBLISHED_OPENAPI).unwrap();
    assert_eq!((status, &openapi), (200, &published));

    let output = appointments.output().await;
    let metric: Value = output
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line.get("_aws").is_some() && line.get("BookingConflict").is_some())
        .unwrap_or_else(|| panic!("no BookingConflict metric in {output:?}"));
    assert_eq!(metric["BookingConflict"], 1);
    assert_eq!(metric["reason"], "taken");
    assert_eq!(
        metric["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
        "BookingConflict"
    );
    assert!(
        output.iter().all(|line| !line.contains("4155550123")),
        "a customer phone number was logged: {output:?}"
    );
}

#[tokio::test]
async fn dead_letter_handler_marks_failed_and_reports_only_the_broken_record() {
    let Some(deployment) = deploy().await else {
        return;
    };
    let (business_id, appointment_id, version) =
        pending_appointment(&deployment, SignedDuration::ZERO, 30).await;
    let exhausted = Job::SyncAppointment {
        business_id,
        appointment_id,
        version,
    };

    // An appointment item that cannot be read: handling its job fails, and only its record is retried.
    let corrupt_id = AppointmentId::generate();
    put_corrupt_appointment(&deployment, business_id, corrupt_id).await;
    let unreadable = Job::SyncAppointment {
        business_id,
        appointment_id: corrupt_id,
        version: 1,
    };

    let (event, message_ids) = sqs_event(&[
        serde_json::to_string(&exhausted).unwrap(),
        "not a job".to_owned(),
        serde_json::to_string(&unreadable).unwrap(),
    ]);
    let handler = Function::start(DEAD_LETTERS, &deployment).await;
    let response = handler.invoke(event).await.unwrap();
    assert_eq!(
        response,
        json!({ "batchItemFailures": [{ "itemIdentifier": message_ids[2] }] }),
        "only the record that can succeed later is reported"
    );

    let stored = deployment
        .store
        .get_appointment(business_id, appointment_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.sync.status, SyncStatus::Failed);
    let error = stored.sync.error.unwrap();
    assert_eq!(error.code.as_str(), "sync_gave_up");
    let metric = handler
        .output()
        .await
        .into_iter()
        .filter_map(|line| serde_json::from_str::<Value>(&line).ok())
        .find(|line| line.get("SyncOutcome").is_some());
    assert_eq!(
        metric.map(|line| line["outcome"].clone()),
        Some(json!("gave_up"))
    );
}

#[tokio::test]
async fn scheduler_requeues_syncs_left_pending() {
    let Some(deployment) = deploy().await else {
        return;
    };
    let (_, stale_id, _) =
        pending_appointment(&deployment, SignedDuration::from_mins(10), 30).await;
    let (_, fresh_id, _) = pending_appointment(&deployment, SignedDuration::ZERO, 40).await;
    // Drain the jobs the bookings enqueued themselves, so that what follows is the scheduler's doing.
    let sqs = support::sqs_client(&deployment).await;
    drain(&sqs, &deployment.queue_url).await;

    let scheduler = Function::start(SCHEDULER, &deployment).await;
    let event: Value = serde_json::from_str(include_str!("events/scheduled-event.json")).unwrap();
    let report = scheduler.invoke(event).await.unwrap();
    assert_eq!(
        report,
        json!({
            "requeued_stale_pending": 1,
            "retried_failed": 0,
            "calendars_queued": 0,
            "phone_numbers_indexed": 0,
            "scheduled_work_indexed": 0,
            "first_staff_members_stored": 0
        })
    );

    let requeued: Vec<Job> = drain_jobs(&sqs, &deployment.queue_url).await;
    let ids: Vec<AppointmentId> = requeued
        .iter()
        .filter_map(|job| match job {
            Job::SyncAppointment { appointment_id, .. } => Some(*appointment_id),
            Job::SyncCalendar { .. } | Job::SendEmail { .. } => None,
        })
        .collect();
    assert_eq!(ids, vec![stale_id], "only the stale one, not {fresh_id}");
}

#[tokio::test]
async fn sync_worker_writes_the_event_and_gives_a_failing_job_back_with_backoff() {
    use booking_core::app::integrations::{self, CallbackParameters};
    use integration_tests::emulators::faults::{Fault, FaultRule, Matcher, When};
    use integration_tests::emulators::google::{self, GoogleEmulator};

    let Some(deployment) = deploy().await else {
        return;
    };
    let google = GoogleEmulator::start().await;
    let endpoints = integration_tests::google_endpoints(&google);
    let environment = [
        ("GOOGLE_CLIENT_ID", google::CLIENT_ID.to_owned()),
        ("GOOGLE_CLIENT_SECRET", google::CLIENT_SECRET.to_owned()),
        ("GOOGLE_API_BASE", endpoints.api_base.clone()),
        ("GOOGLE_TOKEN_URL", endpoints.token_url.clone()),
        ("PUBLIC_BASE_URL", "https://api.example.test".to_owned()),
    ]
    .map(|(name, value)| (name.to_owned(), value));

    // Connect in the test's process through the same table and Secrets Manager the function uses.
    let moto = sdk_config(&deployment.moto_endpoint).await;
    let secrets = AwsAdapters::new(&moto, &aws_settings(&deployment)).secrets;
    let app = test_app(&deployment, Timestamp::now())
        .await
        .with_integrations(
            booking_core::app::Integrations::new(
                secrets,
                secrecy::SecretString::from("state key of this test".to_owned()),
                "https://api.example.test",
            )
            .with_provider(
                booking_core::providers::provider_setup(
                    ProviderKind::GOOGLE,
                    google::CLIENT_ID.to_owned(),
                    secrecy::SecretString::from(google::CLIENT_SECRET.to_owned()),
                    &endpoints,
                    std::time::Duration::from_secs(5),
                )
                .unwrap(),
            ),
        );
    let business_id: BusinessId = deployment.business_id.parse().unwrap();
    let business = app.store.get_business(business_id).await.unwrap().unwrap();
    let authorization = integrations::start_connect(&app, &business, ProviderKind::GOOGLE, false)
        .await
        .unwrap();
    let consent = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(&authorization)
        .send()
        .await
        .unwrap();
    let redirect = reqwest::Url::parse(consent.headers()["location"].to_str().unwrap()).unwrap();
    let parameters: HashMap<String, String> = redirect.query_pairs().into_owned().collect();
    integrations::finish_connect(
        &app,
        ProviderKind::GOOGLE,
        CallbackParameters {
            code: parameters.get("code").cloned(),
            state: parameters.get("state").cloned(),
            error: None,
            error_description: None,
        },
    )
    .await
    .unwrap();
    integrations::select_calendar(&app, &business, ProviderKind::GOOGLE, google::TEAM_CALENDAR)
        .await
        .unwrap();

    // Choosing the calendar queued its first busy-time sync: the worker reads the calendar and opens a channel.
    let worker = Function::start_with(SYNC_WORKER, &deployment, &environment).await;
    let calendar_job = delivered_job(&deployment).await;
    let body = calendar_job["Records"][0]["body"].as_str().unwrap();
    assert!(body.contains("sync_calendar"), "{body}");
    let response = worker.invoke(calendar_job).await.unwrap();
    assert_eq!(response, json!({ "batchItemFailures": [] }));
    assert_eq!(google.channels().len(), 1, "a push channel is open");
    let watch = deployment
        .store
        .get_calendar_watch(business_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        watch.cursor.is_some() && watch.synced_at.is_some(),
        "{watch:?}"
    );

    let service_id = create_service(&deployment).await;
    let start = on_the_hour(Timestamp::now(), 30);
    let appointment = book_ana(&app, &business, &service_id, start, BookingSource::Ai).await;
    let event = delivered_job(&deployment).await;
    let message_id = event["Records"][0]["messageId"].clone();

    // First delivery: Google is down; the record is reported failed and the appointment says why.
    google.faults().add(FaultRule {
        matcher: Matcher::any().path("events"),
        when: When::Before,
        fault: Fault::Unavailable,
        times: 1,
    });
    let response = worker.invoke(event.clone()).await.unwrap();
    assert_eq!(
        response,
        json!({ "batchItemFailures": [{ "itemIdentifier": message_id }] })
    );
    let pending = deployment
        .store
        .get_appointment(business_id, appointment.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(pending.sync.status, SyncStatus::Pending);
    assert_eq!(
        pending.sync.error.unwrap().code.as_str(),
        "provider_unavailable"
    );
    assert!(
        !worker
            .output()
            .await
            .iter()
            .any(|line| line.contains("backoff not applied")),
        "the backoff went to SQS as the message's visibility timeout"
    );

    // Redelivered: the event is written and the appointment is synced.
    let response = worker.invoke(event).await.unwrap();
    assert_eq!(response, json!({ "batchItemFailures": [] }));
    let synced = deployment
        .store
        .get_appointment(business_id, appointment.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(synced.sync.status, SyncStatus::Synced);
    let events = google.events(google::TEAM_CALENDAR);
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0]["start"]["dateTime"]
            .as_str()
            .map(|t| t.parse::<Timestamp>().unwrap()),
        Some(start)
    );
    assert!(google.violations().is_empty(), "{:#?}", google.violations());
}

#[tokio::test]
async fn webhooks_function_answers_the_handshake_refuses_forgeries_and_queues_genuine_notifications()
 {
    use booking_core::ports::{CalendarWatch, PushChannel};
    use sha2::Digest;

    let Some(deployment) = deploy().await else {
        return;
    };
    let business_id: BusinessId = deployment.business_id.parse().unwrap();
    let client_state = format!("{business_id}.a-secret-only-graph-and-we-know");
    let now = Timestamp::now();
    let watch = CalendarWatch {
        business_id,
        connection_id: ConnectionId::of_first_connection(business_id),
        staff_id: StaffId::first_of(business_id),
        provider: ProviderKind::MICROSOFT,
        calendar_id: "team-calendar".into(),
        cursor: Some("https://graph.example.test/delta".into()),
        time_zone: None,
        channel: Some(PushChannel {
            id: "subscription-1".into(),
            resource_id: None,
            expires_at: now + SignedDuration::from_hours(72),
        }),
        secret_hash: hex::encode(sha2::Sha256::digest(client_state.as_bytes())),
        opening: None,
        full_sync_at: Some(now),
        synced_at: Some(now),
        sync_started_at: Some(now),
        version: 1,
    };
    deployment
        .store
        .put_calendar_watch(&watch, None)
        .await
        .unwrap();
    let sqs = support::sqs_client(&deployment).await;
    drain(&sqs, &deployment.queue_url).await;
    let webhooks = Function::start(WEBHOOKS, &deployment).await;
    let notify = |body: &Value| {
        http_event(
            "POST",
            "POST /v1/webhooks/{proxy+}",
            "/v1/webhooks/microsoft",
            "",
            None,
            Some(&body.to_string()),
        )
    };
    let notification = |state: &str| {
        json!({ "value": [{
            "subscriptionId": "subscription-1",
            "clientState": state,
            "changeType": "updated",
            "resource": "Users/u/Events/e",
        }] })
    };

    let handshake = webhooks
        .invoke(http_event(
            "POST",
            "POST /v1/webhooks/{proxy+}",
            "/v1/webhooks/microsoft",
            "validationToken=token-from-graph",
            None,
            None,
        ))
        .await
        .unwrap();
    assert_eq!(handshake["statusCode"], 200, "{handshake}");
    assert_eq!(handshake["body"], "token-from-graph");
    assert!(
        handshake["headers"]["content-type"]
            .as_str()
            .unwrap()
            .starts_with("text/plain")
    );

    let forged = webhooks
        .invoke(notify(&notification(&format!("{business_id}.guessed"))))
        .await
        .unwrap();
    let (status, _, problem) = http_response(&forged);
    assert_eq!(
        (status, &problem["code"]),
        (403, &json!("webhook_rejected"))
    );
    assert!(
        drain(&sqs, &deployment.queue_url).await.is_empty(),
        "a forgery queues nothing"
    );

    let genuine = webhooks
        .invoke(notify(&notification(&client_state)))
        .await
        .unwrap();
    assert_eq!(genuine["statusCode"], 202, "{genuine}");
    let queued: Vec<Job> = drain_jobs(&sqs, &deployment.queue_url).await;
    assert!(
        matches!(
            queued.as_slice(),
            [Job::SyncCalendar { business_id: queued_for, requested_at: Some(_) }] if *queued_for == business_id
        ),
        "{queued:?}"
    );
    let logs = webhooks.output().await;
    assert!(
        logs.iter()
            .all(|line| !line.contains("a-secret-only-graph-and-we-know")),
        "a client state was logged"
    );
}

#[tokio::test]
async fn dashboard_function_signs_in_with_secure_cookies_and_serves_pages_from_dynamodb() {
    let Some(deployment) = deploy().await else {
        return;
    };
    let business_id = owner_with_password(&deployment).await;
    let password = OWNER_PASSWORD;
    let dashboard = Function::start_with(
        DASHBOARD,
        &deployment,
        &[
            ("PUBLIC_BASE_URL".to_owned(), DASHBOARD_ORIGIN.to_owned()),
            ("OAUTH_STATE_KEY".to_owned(), "k".repeat(32)),
        ],
    )
    .await;

    let page = browse(&dashboard, "GET", "/dashboard/appointments", "", None).await;
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/dashboard/sign-in?next=%2Fdashboard%2Fappointments")
    );

    let page = browse(&dashboard, "GET", "/dashboard/sign-in", "", None).await;
    assert_eq!(page.status, 200);
    let form_cookie = cookie_pair(&page.cookies, "__Host-form");
    let form = format!(
        "csrf={}&email=owner%40harbour.test&password={}&next=%2Fdashboard%2Fapi-keys",
        csrf_in(&page.html),
        password.replace(' ', "+")
    );
    let page = browse(
        &dashboard,
        "POST",
        "/dashboard/sign-in",
        &form_cookie,
        Some(&form),
    )
    .await;
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/dashboard/api-keys")
    );
    let session = cookie_pair(&page.cookies, "__Host-session");

    let page = browse(&dashboard, "GET", "/dashboard/api-keys", &session, None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.html.contains("Harbour Physio") && page.html.contains("First key"),
        "{}",
        page.html
    );
    let csrf = csrf_in(&page.html);

    // A key made on the page authenticates; a form without the session's token changes nothing.
    let forged = Some("csrf=forged&name=Agent");
    let page = browse(&dashboard, "POST", "/dashboard/api-keys", &session, forged).await;
    assert_eq!(page.status, 403);
    let form = format!("csrf={csrf}&name=Agent");
    let page = browse(
        &dashboard,
        "POST",
        "/dashboard/api-keys",
        &session,
        Some(&form),
    )
    .await;
    assert_eq!(page.status, 200);
    let key = input_value(&page.html, "id=\"new-key\" type=\"text\" readonly value=\"");
    let hash = booking_core::domain::ApiKeyHash::of(&key);
    assert!(
        deployment
            .store
            .business_by_api_key(&hash)
            .await
            .unwrap()
            .is_some()
    );
    let records = ApiKeyStore::list_api_keys(&deployment.store, business_id)
        .await
        .unwrap();
    assert_eq!(records.len(), 2);
    let agent = records
        .iter()
        .find(|record| record.name == "Agent")
        .unwrap();
    let revoke = format!("/dashboard/api-keys/{}/revoke", agent.id);
    let csrf_only = format!("csrf={csrf}");
    let page = browse(&dashboard, "POST", &revoke, &session, Some(&csrf_only)).await;
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/dashboard/api-keys?notice=revoked")
    );
    assert!(
        deployment
            .store
            .business_by_api_key(&hash)
            .await
            .unwrap()
            .is_none()
    );

    // Signing out ends the session in DynamoDB.
    let page = browse(
        &dashboard,
        "POST",
        "/dashboard/sign-out",
        &session,
        Some(&csrf_only),
    )
    .await;
    assert_eq!(page.status, 303);
    let page = browse(&dashboard, "GET", "/dashboard/api-keys", &session, None).await;
    assert_eq!(page.status, 303);
    assert!(page.location.starts_with("/dashboard/sign-in"));
    let logs = dashboard.output().await.join("\n");
    assert!(
        !logs.contains(password) && !logs.contains(&key),
        "no secret in the logs"
    );
}

/// An MCP request as a 2026-07-28 client sends it: no session, the protocol version in a header and in `_meta`.
#[tokio::test]
async fn agent_function_serves_mcp_vapi_and_retell_without_a_session() {
    let Some((deployment, service_id, agent)) = deployed_with_service(AGENT).await else {
        return;
    };

    let listed = agent
        .invoke(mcp_event(&deployment, 1, "tools/list", json!({})))
        .await
        .unwrap();
    let (status, headers, body) = http_response(&listed);
    assert_eq!(status, 200, "{body}");
    assert!(
        headers["content-type"]
            .as_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert!(headers.get("mcp-session-id").is_none());
    assert_eq!(body["result"]["tools"].as_array().unwrap().len(), 8);

    // A second invocation, as another Lambda instance would get it, needs nothing from the first.
    let start = on_the_hour(Timestamp::now(), 48);
    let booked = agent
        .invoke(mcp_event(
            &deployment,
            2,
            "tools/call",
            json!({ "name": "book_appointment", "arguments": {
                "service_id": service_id, "start": start.to_string(), "customer_name": "Ana Silva",
                "customer_phone": "+14155550123" } }),
        ))
        .await
        .unwrap();
    let (status, _, body) = http_response(&booked);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["isError"], false, "{body}");
    assert_eq!(
        body["result"]["structuredContent"]["booked"], true,
        "{body}"
    );

    let vapi = json!({ "message": { "type": "tool-calls", "call": { "id": "call-1" },
        "toolCallList": [{ "id": "t1", "type": "function", "function": {
            "name": "check_time",
            "arguments": json!({ "service_id": service_id, "start": start.to_string() }).to_string() } }] } })
    .to_string();
    let (status, _, body) = agent
        .http(
            "POST",
            "ANY /v1/agents/{proxy+}",
            "/v1/agents/vapi",
            Some(&deployment.api_key),
            Some(&vapi),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let answer: Value =
        serde_json::from_str(body["results"][0]["result"].as_str().unwrap()).unwrap();
    assert_eq!(
        answer["available"], false,
        "the time was just booked: {answer}"
    );
    assert_eq!(answer["reason"], "taken");

    let (status, _, problem) = agent
        .http(
            "POST",
            "ANY /v1/agents/{proxy+}",
            "/v1/agents/retell",
            None,
            Some("{}"),
        )
        .await;
    assert_eq!((status, &problem["code"]), (401, &json!("unauthorized")));

    let output = agent.output().await;
    assert!(
        output
            .iter()
            .any(|line| line.contains("\"agent tool call\"")),
        "tool calls are logged: {output:?}"
    );
    assert!(
        output
            .iter()
            .all(|line| !line.contains("4155550123") && !line.contains(&deployment.api_key)),
        "a phone number or key was logged: {output:?}"
    );
}

#[tokio::test]
async fn a_business_signs_up_on_aws_and_confirms_through_the_link_ses_sent() {
    use booking_aws::emulators::moto::ses_messages;
    use booking_core::contract::mail::{link_in, messages_to};

    let Some(deployment) = deploy().await else {
        return;
    };
    let dashboard_environment = |sign_up: Option<&str>| {
        let mut environment = vec![
            ("PUBLIC_BASE_URL".to_owned(), DASHBOARD_ORIGIN.to_owned()),
            ("OAUTH_STATE_KEY".to_owned(), "k".repeat(32)),
        ];
        environment.extend(sign_up.map(|policy| ("SIGNUP".to_owned(), policy.to_owned())));
        environment
    };
    // A deployed stack takes no sign-ups unless its template parameter opens them.
    let closed = Function::start_with(DASHBOARD, &deployment, &dashboard_environment(None)).await;
    assert_eq!(
        browse(&closed, "GET", "/dashboard/sign-up", "", None)
            .await
            .status,
        404
    );

    let dashboard =
        Function::start_with(DASHBOARD, &deployment, &dashboard_environment(Some("open"))).await;
    let owner = format!("owner-{}@salon.example.test", uuid::Uuid::new_v4().simple());
    let password = "harbour salon password";
    let page = browse(&dashboard, "GET", "/dashboard/sign-up", "", None).await;
    assert_eq!(page.status, 200);
    let form = format!(
        "csrf={}&business_name=Harbour+Salon&time_zone=Europe%2FLisbon&email={}&password={}",
        csrf_in(&page.html),
        owner.replace('@', "%40"),
        password.replace(' ', "+")
    );
    let form_cookie = cookie_pair(&page.cookies, "__Host-form");
    let page = browse(
        &dashboard,
        "POST",
        "/dashboard/sign-up",
        &form_cookie,
        Some(&form),
    )
    .await;
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/dashboard/check-email?notice=signed_up")
    );

    // The confirmation went onto the real queue; the sync worker, given it as the SQS event source would, sends it.
    let job = delivered_job(&deployment).await;
    assert!(
        job["Records"][0]["body"]
            .as_str()
            .unwrap()
            .contains("send_email"),
        "{job}"
    );
    let worker = Function::start(SYNC_WORKER, &deployment).await;
    let response = worker.invoke(job).await.unwrap();
    assert_eq!(response["batchItemFailures"], json!([]), "{response}");

    let sent = ses_messages(&deployment.moto_endpoint).await.unwrap();
    let sent = messages_to(&sent, &owner);
    assert_eq!(sent.len(), 1, "one confirmation through SES");
    assert!(sent[0].contains("no-reply@bookings.example.test"));
    let link = link_in(
        &sent[0],
        &format!("{DASHBOARD_ORIGIN}/dashboard/verify-email?token="),
    )
    .unwrap_or_else(|| panic!("no confirmation link in {}", sent[0]));
    let path = link.trim_start_matches(DASHBOARD_ORIGIN);
    let token = link.split("token=").nth(1).unwrap();

    // Following the link opens the confirmation page; its button confirms, and the owner signs in.
    let page = browse(&dashboard, "GET", path, "", None).await;
    assert_eq!(page.status, 200);
    let form_cookie = cookie_pair(&page.cookies, "__Host-form");
    let form = format!("csrf={}&token={token}", csrf_in(&page.html));
    let page = browse(
        &dashboard,
        "POST",
        "/dashboard/verify-email",
        &form_cookie,
        Some(&form),
    )
    .await;
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/dashboard/sign-in?notice=email_verified")
    );
    let page = browse(&dashboard, "GET", "/dashboard/sign-in", "", None).await;
    let form = format!(
        "csrf={}&email={}&password={}&next=%2Fdashboard%2Fservices",
        csrf_in(&page.html),
        owner.replace('@', "%40"),
        password.replace(' ', "+")
    );
    let page = browse(
        &dashboard,
        "POST",
        "/dashboard/sign-in",
        &cookie_pair(&page.cookies, "__Host-form"),
        Some(&form),
    )
    .await;
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/dashboard/services")
    );
    let logs = [dashboard.output().await, worker.output().await]
        .concat()
        .join("\n");
    assert!(!logs.contains(token), "the link's token is not logged");
}
