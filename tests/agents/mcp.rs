//! `/mcp` through rmcp's own client: a whole call as an agent makes it, on the embedded store and on DynamoDB Local
//! with moto, plus what the transport promises (auth, statelessness, annotations, output schemas).

use booking_core::contract::first_google_connection;
use booking_core::ports::{CalendarConnection, ConnectionHealth};
use integration_tests::{
    TestApp, spawn_app, spawn_app_with_custom_service, spawn_app_with_service,
};
use jiff::Timestamp;
use rmcp::model::ProtocolVersion;
use serde_json::{Value, json};

use crate::{Client, answer, booked_appointment, client, tool_error};

/// `check_time` for one start, as an agent asks it.
async fn check_time(client: &Client, service_id: &str, start: &str) -> Value {
    let arguments = json!({ "service_id": service_id, "start": start });
    answer(client, "check_time", arguments).await
}

/// `hold_time` for one start, as an agent asks it.
async fn hold_time(client: &Client, service_id: &str, start: &str) -> Value {
    let arguments = json!({ "service_id": service_id, "start": start });
    answer(client, "hold_time", arguments).await
}

/// `cancel_appointment`, as an agent asks it.
async fn cancel_appointment(client: &Client, appointment_id: &str) -> Value {
    answer(
        client,
        "cancel_appointment",
        json!({ "appointment_id": appointment_id }),
    )
    .await
}

/// Monday 2026-11-30 08:00 in New York is "now": the caller asks for Tuesday afternoon.
async fn whole_call(app: TestApp) {
    let service_id = app.create_service(json!({})).await;
    let client = client(&app).await;

    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|tool| tool.name.as_ref()).collect();
    assert_eq!(
        names,
        [
            "get_business_context",
            "find_available_times",
            "check_time",
            "hold_time",
            "book_appointment",
            "find_caller_appointments",
            "reschedule_appointment",
            "cancel_appointment"
        ]
    );

    let context = answer(&client, "get_business_context", json!({})).await;
    assert_eq!(context["today"], "2026-11-30");
    assert_eq!(context["weekday"], "Monday");
    assert_eq!(context["tomorrow"], "2026-12-01");
    assert_eq!(context["time_zone"], "America/New_York");
    assert_eq!(context["locale"], "en-US");
    assert_eq!(context["services"][0]["service_id"], service_id);
    assert_eq!(context["calendar"]["state"], "not_connected");
    assert_eq!(
        context["summary"],
        "Test Clinic. It is now Monday, November 30 at 8 AM in the business's time zone, America/New_York. \
         Services: Consultation (30 minutes). No calendar is connected; free times come from the bookings made here."
    );

    let tuesday_afternoon = answer(
        &client,
        "find_available_times",
        json!({ "service_id": service_id, "date": "2026-12-01", "part_of_day": "afternoon" }),
    )
    .await;
    let times = tuesday_afternoon["days"][0]["times"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(tuesday_afternoon["days"].as_array().unwrap().len(), 1);
    assert_eq!(tuesday_afternoon["days"][0]["date"], "2026-12-01");
    assert_eq!(
        tuesday_afternoon["days"][0]["spoken_date"],
        "Tuesday, December 1"
    );
    // 12:00 to 16:30 every 15 minutes: 19 free, five offered from the first to the last.
    assert_eq!(tuesday_afternoon["matching"], 19);
    let starts: Vec<&str> = times.iter().map(|t| t["start"].as_str().unwrap()).collect();
    assert_eq!(
        starts,
        [
            "2026-12-01T12:00:00-05:00",
            "2026-12-01T13:00:00-05:00",
            "2026-12-01T14:15:00-05:00",
            "2026-12-01T15:15:00-05:00",
            "2026-12-01T16:30:00-05:00"
        ]
    );
    assert_eq!(times[2]["spoken"], "Tuesday, December 1 at 2:15 PM");
    assert_eq!(
        tuesday_afternoon["summary"],
        "Consultation is free on Tuesday, December 1 at noon, or 1, 2:15, 3:15 or 4:30 PM. 14 more times are free on \
         Tuesday, December 1 in the afternoon; ask for a narrower time to hear them."
    );
    assert!(tuesday_afternoon["warning"].is_null());

    let chosen = times[2]["start"].as_str().unwrap().to_owned();
    let check = check_time(&client, &service_id, "2026-12-01T14:15").await;
    assert_eq!(check["available"], true);
    assert_eq!(check["requested"]["start"], chosen);
    assert_eq!(
        check["summary"],
        "Tuesday, December 1 at 2:15 PM is free for Consultation."
    );

    // The caller hesitates: the time is held for them.
    let held = hold_time(&client, &service_id, &chosen).await;
    assert_eq!(held["held"], true);
    assert_eq!(held["expires_at"], "2026-11-30T08:05:00-05:00");
    assert_eq!(
        held["summary"],
        "Tuesday, December 1 at 2:15 PM is held for Consultation for 5 minutes, until 8:05 AM, while the caller \
         decides; book it with the hold_id."
    );
    let hold_id = held["hold_id"].as_str().unwrap().to_owned();
    // Meanwhile another agent and the front desk try for the same time.
    let rival = hold_time(&client, &service_id, &chosen).await;
    assert_eq!(
        (&rival["held"], &rival["reason"]),
        (&json!(false), &json!("taken"))
    );
    assert!(
        rival["summary"].as_str().unwrap().starts_with(
            "Tuesday, December 1 at 2:15 PM was just taken. The nearest free times are Tuesday"
        ),
        "{rival}"
    );
    assert_eq!(app.book(&service_id, &chosen).await.status(), 409);

    // A strict-mode model sends every argument, the held time's too; the caller gives a national number.
    let booking = json!({
        "hold_id": hold_id,
        "service_id": service_id,
        "start": chosen,
        "customer_name": "Ana Silva",
        "customer_phone": "(415) 555-0123",
        "notes": "first visit",
        "idempotency_key": "call-1-booking",
    });
    let booked = answer(&client, "book_appointment", booking.clone()).await;
    assert_eq!(booked["booked"], true);
    assert_eq!(booked["repeated"], false);
    assert_eq!(
        booked["summary"],
        "Consultation is booked for Ana Silva on Tuesday, December 1 at 2:15 PM."
    );
    let (appointment_id, stored) = booked_appointment(&app, &booked).await;
    assert_eq!(stored["start"], chosen);
    assert_eq!(stored["source"], "ai");
    assert_eq!(stored["customer"]["phone"], "+14155550123");
    assert_eq!(stored["customer"]["email"], Value::Null);

    // The platform retries: the same key and details book nothing new; so does booking the hold again.
    let again = answer(&client, "book_appointment", booking).await;
    assert_eq!(again["repeated"], true);
    assert_eq!(again["appointment"]["appointment_id"], appointment_id);
    let converted_twice = answer(
        &client,
        "book_appointment",
        json!({ "hold_id": hold_id, "customer_name": "Ana Silva", "customer_phone": "+14155550123" }),
    )
    .await;
    assert_eq!(converted_twice["repeated"], true);
    assert_eq!(
        converted_twice["appointment"]["appointment_id"],
        appointment_id
    );

    // Another caller wants the same time a moment later.
    let late = answer(
        &client,
        "book_appointment",
        json!({ "service_id": service_id, "start": chosen, "customer_name": "Ben Okafor",
                "customer_phone": "+14155550124" }),
    )
    .await;
    assert_eq!(late["booked"], false);
    assert_eq!(late["reason"], "taken");
    assert_eq!(
        late["summary"],
        "That time was just taken. The nearest free times are Tuesday, December 1 at 1:30, 1:45 or 2:45 PM."
    );

    // The caller rings back to move it: found by the number they call from.
    let found = answer(
        &client,
        "find_caller_appointments",
        json!({ "phone": "+14155550123" }),
    )
    .await;
    assert_eq!(found["phone"], "+14155550123");
    assert_eq!(found["appointments"][0]["appointment_id"], appointment_id);
    assert_eq!(found["appointments"].as_array().unwrap().len(), 1);
    assert_eq!(
        found["summary"],
        "There is one upcoming appointment for this number: Consultation for Ana Silva on Tuesday, December 1 \
         at 2:15 PM."
    );
    let stranger = answer(
        &client,
        "find_caller_appointments",
        json!({ "phone": "+14155550999" }),
    )
    .await;
    assert_eq!(
        stranger["summary"],
        "There are no upcoming appointments for this phone number."
    );

    let moved = answer(
        &client,
        "reschedule_appointment",
        json!({ "appointment_id": found["appointments"][0]["appointment_id"], "start": times[3]["start"] }),
    )
    .await;
    assert_eq!(moved["rescheduled"], true);
    assert_eq!(
        moved["summary"],
        "Consultation for Ana Silva is now on Tuesday, December 1 at 3:15 PM."
    );
    let stored = app
        .get_json(&format!("/v1/appointments/{appointment_id}"))
        .await;
    assert_eq!(stored["start"], "2026-12-01T15:15:00-05:00");

    let closed = answer(
        &client,
        "reschedule_appointment",
        json!({ "appointment_id": appointment_id, "start": "2026-12-01T18:00" }),
    )
    .await;
    assert_eq!(closed["rescheduled"], false);
    assert_eq!(closed["reason"], "outside_hours");
    assert_eq!(
        closed["appointment"]["time"]["start"],
        "2026-12-01T15:15:00-05:00"
    );

    let cancelled = cancel_appointment(&client, &appointment_id).await;
    assert_eq!(cancelled["newly_cancelled"], true);
    assert_eq!(
        cancelled["summary"],
        "Consultation for Ana Silva on Tuesday, December 1 at 3:15 PM is cancelled."
    );
    let twice = cancel_appointment(&client, &appointment_id).await;
    assert_eq!(twice["newly_cancelled"], false);
    let stored = app
        .get_json(&format!("/v1/appointments/{appointment_id}"))
        .await;
    assert_eq!(stored["status"], "cancelled");
    // Cancelling freed the time at once.
    let freed = check_time(&client, &service_id, "2026-12-01T15:15").await;
    assert_eq!(freed["available"], true);
    client.cancel().await.unwrap();
}

on_both_stores!(whole_call: a_whole_call_on_the_embedded_store, a_whole_call_on_dynamodb_local);

#[tokio::test]
async fn tools_are_listed_with_annotations_and_output_schemas_at_the_newest_protocol() {
    let app = spawn_app().await;
    let client = client(&app).await;
    let negotiated = client.peer_info().map(|info| info.protocol_version.clone());
    assert_eq!(negotiated, Some(ProtocolVersion::LATEST));
    assert_eq!(ProtocolVersion::LATEST.as_str(), "2026-07-28");
    for tool in client.list_all_tools().await.unwrap() {
        let annotations = tool.annotations.clone().unwrap();
        let (read_only, destructive) = match tool.name.as_ref() {
            "get_business_context"
            | "find_available_times"
            | "check_time"
            | "find_caller_appointments" => (true, false),
            "book_appointment" | "hold_time" => (false, false),
            "reschedule_appointment" | "cancel_appointment" => (false, true),
            other => panic!("unexpected tool {other}"),
        };
        assert_eq!(annotations.read_only_hint, Some(read_only), "{}", tool.name);
        assert_eq!(
            annotations.destructive_hint,
            Some(destructive),
            "{}",
            tool.name
        );
        let idempotent = tool.name != "hold_time";
        assert_eq!(
            annotations.idempotent_hint,
            Some(idempotent),
            "{}",
            tool.name
        );
        assert_eq!(annotations.open_world_hint, Some(false), "{}", tool.name);
        assert_eq!(tool.input_schema["additionalProperties"], false);
        let output = tool.output_schema.clone().unwrap();
        assert_eq!(output["type"], "object");
        assert!(
            output["required"]
                .as_array()
                .unwrap()
                .contains(&json!("summary"))
        );
        assert!(tool.description.as_ref().is_some_and(|d| d.len() > 100));
    }
}

#[tokio::test]
async fn arguments_the_model_got_wrong_come_back_as_tool_errors_it_can_correct() {
    let (app, service_id) = spawn_app_with_service().await;
    let client = client(&app).await;
    /// Whether an error message reads as expected: it contains, or starts with, the expected part.
    type Reads = fn(&str, &str) -> bool;
    let contains: Reads = |text, part| text.contains(part);
    let starts_with: Reads = |text, part| text.starts_with(part);
    let wrong = [
        (
            "check_time",
            json!({ "service_id": service_id, "start": "2026-12-01T10:00", "when": "tomorrow" }),
            contains,
            "unknown field `when`",
        ),
        (
            "check_time",
            json!({ "service_id": service_id, "start": "tomorrow at 3" }),
            starts_with,
            "Invalid arguments: start:",
        ),
        (
            "find_available_times",
            json!({ "service_id": "0190f0b4-0000-7000-8000-000000000000" }),
            contains,
            "get_business_context",
        ),
        (
            "book_appointment",
            json!({ "service_id": service_id, "start": "2026-12-01T10:00", "customer_name": "Ana" }),
            contains,
            "customer_phone",
        ),
        (
            "book_appointment",
            json!({ "service_id": service_id, "start": "2026-12-01T10:00", "customer_name": "Ana",
                    "customer_phone": "call me maybe" }),
            contains,
            "international form",
        ),
    ];
    for (tool, arguments, says, expected) in wrong {
        let error = tool_error(&client, tool, arguments).await;
        assert!(says(&error, expected), "{tool}: {error}");
    }
    let unknown_tool = client
        .call_tool(rmcp::model::CallToolRequestParams::new("book_a_table"))
        .await;
    assert!(unknown_tool.is_err(), "an unknown tool is a protocol error");
    let listed = app.get_json("/v1/appointments").await;
    assert_eq!(listed["items"], json!([]), "nothing was booked");
}

#[tokio::test]
async fn a_stale_calendar_makes_every_offer_carry_a_warning() {
    let (app, service_id) = spawn_app_with_service().await;
    let business_id = app.business_id.parse().unwrap();
    app.store
        .put_calendar_connection(&CalendarConnection {
            health: ConnectionHealth::Error {
                message: "provider answered 503".to_owned(),
            },
            ..first_google_connection(business_id, "owner@example.com", Timestamp::UNIX_EPOCH)
        })
        .await
        .unwrap();
    let client = client(&app).await;
    let context = answer(&client, "get_business_context", json!({})).await;
    assert_eq!(context["calendar"]["state"], "stale");
    let found = answer(
        &client,
        "find_available_times",
        json!({ "service_id": service_id, "date": "2026-12-01", "limit": 1 }),
    )
    .await;
    let warning = found["warning"].as_str().unwrap();
    assert!(
        warning.contains("the business will confirm it"),
        "{warning}"
    );
    assert!(!warning.contains("503"));
    assert!(found["summary"].as_str().unwrap().ends_with(warning));
    let check = check_time(&client, &service_id, "2026-12-01T10:00").await;
    assert_eq!(check["warning"], found["warning"]);
}

#[tokio::test]
async fn nothing_free_offers_the_next_free_times_and_a_clipped_window_says_so() {
    let (app, service_id) =
        spawn_app_with_custom_service(json!({ "booking_horizon_days": 10 })).await;
    let client = client(&app).await;
    // Saturday: the service only runs on weekdays.
    let weekend = answer(
        &client,
        "find_available_times",
        json!({ "service_id": service_id, "date": "2026-12-05", "part_of_day": "morning" }),
    )
    .await;
    assert_eq!(weekend["matching"], 0);
    assert_eq!(
        weekend["summary"],
        "Consultation has nothing free on Saturday, December 5 in the morning. The next free times are Monday, \
         December 7 at 9, 9:15 or 9:30 AM."
    );
    let far = answer(
        &client,
        "find_available_times",
        json!({ "service_id": service_id, "from_date": "2026-12-09", "to_date": "2026-12-11", "limit": 1 }),
    )
    .await;
    assert_eq!(
        far["window_note"],
        "Bookings are taken only up to Thursday, December 10 at 8 AM."
    );
}

/// Fifty agents ask `tool` for the same time at once, each with the arguments `caller` gives it: exactly one answer
/// says `granted`, every other is told the time was taken and offered alternatives.
async fn fifty_agents_at_once(
    tool: &'static str,
    granted: &str,
    caller: impl Fn(&str, u32) -> Value,
) -> TestApp {
    let (app, service_id) = spawn_app_with_service().await;
    let client = client(&app).await;
    let attempts = (0..50).map(|number| {
        let arguments = caller(&service_id, number);
        let client = &client;
        async move { answer(client, tool, arguments).await }
    });
    let answers = futures::future::join_all(attempts).await;
    assert_eq!(answers.iter().filter(|a| a[granted] == true).count(), 1);
    for refused in answers.iter().filter(|a| a[granted] == false) {
        assert_eq!(refused["reason"], "taken");
        assert!(!refused["alternatives"].as_array().unwrap().is_empty());
    }
    app
}

#[tokio::test]
async fn fifty_agents_booking_one_time_at_once_get_one_booking_and_alternatives() {
    let app = fifty_agents_at_once("book_appointment", "booked", |service_id, caller| {
        json!({
            "service_id": service_id,
            "start": "2026-12-01T10:00",
            "customer_name": format!("Caller {caller}"),
            "customer_phone": format!("+1415555{caller:04}"),
        })
    })
    .await;
    let listed = app.get_json("/v1/appointments").await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_mcp_endpoint_requires_the_business_key_and_keeps_businesses_apart() {
    let (app, service_id) = spawn_app_with_service().await;
    let list = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
    for authorization in [None, Some("Bearer bk_not_a_key")] {
        let mut request = app
            .client
            .post(app.url("/mcp"))
            .header("accept", "application/json, text/event-stream")
            .json(&list);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(status, 401);
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
    }

    let ours = client(&app).await;
    let booked = answer(
        &ours,
        "book_appointment",
        json!({ "service_id": service_id, "start": "2026-12-01T10:00", "customer_name": "Ana",
                "customer_phone": "+14155550123" }),
    )
    .await;
    let appointment_id = booked["appointment"]["appointment_id"].clone();
    let other_key = app.other_business_key().await;
    let theirs = integration_tests::mcp_client(&app.url(""), &other_key).await;
    let refused = tool_error(
        &theirs,
        "cancel_appointment",
        json!({ "appointment_id": appointment_id }),
    )
    .await;
    assert!(refused.contains("no such appointment"), "{refused}");
    let stored = app
        .get_json(&format!(
            "/v1/appointments/{}",
            appointment_id.as_str().unwrap()
        ))
        .await;
    assert_eq!(stored["status"], "booked");
}

#[tokio::test]
async fn an_older_client_is_served_without_a_session() {
    let app = spawn_app().await;
    let post = |body: Value, version: Option<&str>| {
        let mut request = app
            .client
            .post(app.url("/mcp"))
            .bearer_auth(&app.api_key)
            .header("accept", "application/json, text/event-stream")
            .json(&body);
        if let Some(version) = version {
            request = request.header("mcp-protocol-version", version);
        }
        request.send()
    };
    let initialized = post(
        json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": { "name": "legacy", "version": "1.0" } } }),
        None,
    )
    .await
    .unwrap();
    assert_eq!(initialized.status(), 200);
    assert!(initialized.headers().get("mcp-session-id").is_none());
    assert!(
        initialized.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = initialized.json().await.unwrap();
    assert_eq!(body["result"]["protocolVersion"], "2025-11-25");
    assert_eq!(body["result"]["serverInfo"]["name"], "booking-tools");
    // After the handshake, every request names the version the client speaks.
    let answered = |body: Value| async {
        let response = post(body, Some("2025-11-25")).await.unwrap();
        response.json::<Value>().await.unwrap()
    };
    let listed = answered(json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/list" })).await;
    assert_eq!(listed["result"]["tools"].as_array().unwrap().len(), 8);
    let called = answered(json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": { "name": "get_business_context", "arguments": {} } }))
    .await;
    assert_eq!(called["result"]["isError"], false);
    assert_eq!(called["result"]["structuredContent"]["today"], "2026-11-30");
    let text = called["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("Test Clinic. It is now Monday"), "{text}");
}

#[tokio::test]
async fn fifty_agents_holding_one_time_at_once_get_one_hold_and_alternatives() {
    fifty_agents_at_once(
        "hold_time",
        "held",
        |service_id, _| json!({ "service_id": service_id, "start": "2026-12-01T10:00" }),
    )
    .await;
}

#[tokio::test]
async fn an_expired_hold_blocks_nothing_and_cannot_be_booked() {
    let (app, service_id) = spawn_app_with_service().await;
    let client = client(&app).await;
    let held = hold_time(&client, &service_id, "2026-12-01T10:00").await;
    let blocked = check_time(&client, &service_id, "2026-12-01T10:00").await;
    assert_eq!(blocked["available"], false, "a live hold blocks the time");
    app.clock.advance(jiff::SignedDuration::from_mins(6));
    let free = check_time(&client, &service_id, "2026-12-01T10:00").await;
    assert_eq!(
        free["available"], true,
        "an expired hold blocks nothing, swept or not"
    );
    let too_late = tool_error(
        &client,
        "book_appointment",
        json!({ "hold_id": held["hold_id"], "customer_name": "Ana", "customer_phone": "+14155550123" }),
    )
    .await;
    assert!(
        too_late.starts_with("The hold on that time ran out"),
        "{too_late}"
    );
    let no_phone = tool_error(&client, "find_caller_appointments", json!({})).await;
    assert!(no_phone.contains("phone"), "{no_phone}");
}
