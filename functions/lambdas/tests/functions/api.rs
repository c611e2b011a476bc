//! The HTTP API functions (services, availability, appointments) and the agent function, each invoked with API
//! Gateway HTTP API v2 events.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::support::seed::on_the_hour;
use crate::support::{Function, deploy, http_event, http_response, mcp_event};
use crate::{AGENT, APPOINTMENTS, AVAILABILITY, SERVICES, deployed_with_service, open_every_day};

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
