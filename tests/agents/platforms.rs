//! Vapi server tools and Retell custom functions, fed the request bodies of the platforms' documentation (see
//! fixtures/README.md), answered in the shapes those platforms document; and the OpenAI listing.

use integration_tests::{TestApp, spawn_app, spawn_app_with_service};
use serde_json::{Value, json};

const VAPI_CUSTOM_TOOLS: &str = include_str!("fixtures/vapi-custom-tools.json");
const VAPI_SERVER_EVENTS: &str = include_str!("fixtures/vapi-server-events.json");
const RETELL_CUSTOM_FUNCTION: &str = include_str!("fixtures/retell-custom-function.json");

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

async fn post_raw(app: &TestApp, path: &str, key: Option<&str>, body: String) -> (u16, Value) {
    let mut request = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Vapi's answer, checked against its documented shape: HTTP 200, `results` with one entry per tool call, each
/// naming its call and carrying `result` or `error` as a string without line breaks.
async fn vapi(app: &TestApp, key: Option<&str>, message: &Value) -> Vec<Value> {
    let (status, body) = post_raw(app, "/v1/agents/vapi", key, message.to_string()).await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap().clone();
    let calls = message["message"]["toolCallList"].as_array().unwrap();
    assert_eq!(results.len(), calls.len());
    for (result, call) in results.iter().zip(calls) {
        assert_eq!(result["toolCallId"], call["id"]);
        let text = result
            .get("result")
            .or_else(|| result.get("error"))
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("neither result nor error: {result}"));
        assert!(!text.contains('\n') && !text.contains('\r'), "{text}");
        assert!(result["name"].is_string());
    }
    results
}

fn result_json(result: &Value) -> Value {
    serde_json::from_str(
        result["result"]
            .as_str()
            .unwrap_or_else(|| panic!("{result}")),
    )
    .unwrap()
}

/// The documented message with its one tool call made `name(arguments)`, in the shape `shape` rewrites it to.
fn vapi_message(base: &str, name: &str, arguments: Value) -> Value {
    let mut message = fixture(base);
    let call = &mut message["message"]["toolCallList"][0];
    call["name"] = json!(name);
    if call.get("parameters").is_some() {
        call["parameters"] = arguments;
    } else {
        call["arguments"] = arguments;
    }
    message
}

#[tokio::test]
async fn vapi_s_documented_request_is_answered_in_vapi_s_shape() {
    let (app, service_id) = spawn_app_with_service().await;
    let key = Some(app.api_key.as_str());

    // As published: a tool we do not have is an error the model can read, still with HTTP 200.
    let results = vapi(&app, key, &fixture(VAPI_CUSTOM_TOOLS)).await;
    assert_eq!(results[0]["toolCallId"], "toolu_01DTPAzUm5Gk3zxrpJ969oMF");
    assert_eq!(results[0]["name"], "get_weather");
    assert!(results[0]["error"].as_str().unwrap().starts_with(
        "There is no tool named \"get_weather\"; the tools are get_business_context,"
    ));

    let check = vapi_message(
        VAPI_CUSTOM_TOOLS,
        "check_time",
        json!({ "service_id": service_id, "start": "2026-12-01T10:00" }),
    );
    let results = vapi(&app, key, &check).await;
    let answer = result_json(&results[0]);
    assert_eq!(answer["available"], true);
    assert_eq!(
        answer["summary"],
        "Tuesday, December 1 at 10 AM is free for Consultation."
    );

    // The server-events reference writes `parameters`.
    let context = vapi_message(VAPI_SERVER_EVENTS, "get_business_context", json!({}));
    let results = vapi(&app, key, &context).await;
    assert_eq!(result_json(&results[0])["today"], "2026-11-30");

    // The API reference's ToolCall: nested under `function`, arguments as a JSON string.
    let mut nested = fixture(VAPI_CUSTOM_TOOLS);
    nested["message"]["toolCallList"] = json!([{
        "id": "call_nested",
        "type": "function",
        "function": {
            "name": "find_available_times",
            "arguments": json!({ "service_id": service_id, "date": "2026-12-01", "limit": 2 }).to_string()
        }
    }]);
    let results = vapi(&app, key, &nested).await;
    let answer = result_json(&results[0]);
    assert_eq!(answer["days"][0]["times"].as_array().unwrap().len(), 2);

    // Arguments the model got wrong are an `error` it can act on.
    let wrong = vapi_message(
        VAPI_CUSTOM_TOOLS,
        "check_time",
        json!({ "service_id": service_id, "start": "at ten" }),
    );
    let results = vapi(&app, key, &wrong).await;
    assert!(
        results[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("Invalid arguments: start:")
    );
}

#[tokio::test]
async fn vapi_books_the_caller_s_number_once_however_often_the_platform_retries() {
    let (app, service_id) = spawn_app_with_service().await;
    let key = Some(app.api_key.as_str());
    let booking = vapi_message(
        VAPI_SERVER_EVENTS,
        "book_appointment",
        json!({ "service_id": service_id, "start": "2026-12-01T11:00", "customer_name": "Ana Silva" }),
    );
    let first = result_json(&vapi(&app, key, &booking).await[0]);
    assert_eq!(first["booked"], true, "{first}");
    assert_eq!(
        first["summary"],
        "Consultation is booked for Ana Silva on Tuesday, December 1 at 11 AM."
    );
    let retried = result_json(&vapi(&app, key, &booking).await[0]);
    assert_eq!(retried["repeated"], true);
    assert_eq!(retried["appointment"], first["appointment"]);
    let listed = app.get_json("/v1/appointments").await;
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0]["customer"]["phone"], "+14155550199",
        "the call's customer number"
    );

    // The same caller rings again: found by the number they call from.
    let lookup = vapi_message(VAPI_SERVER_EVENTS, "find_caller_appointments", json!({}));
    let found = result_json(&vapi(&app, key, &lookup).await[0]);
    assert_eq!(
        found["appointments"][0]["appointment_id"],
        first["appointment"]["appointment_id"]
    );
}

#[tokio::test]
async fn vapi_without_the_key_is_refused_in_vapi_s_shape_and_changes_nothing() {
    let (app, service_id) = spawn_app_with_service().await;
    let booking = vapi_message(
        VAPI_SERVER_EVENTS,
        "book_appointment",
        json!({ "service_id": service_id, "start": "2026-12-01T11:00", "customer_name": "Ana Silva" }),
    );
    for key in [None, Some("bk_not_a_key")] {
        let results = vapi(&app, key, &booking).await;
        let error = results[0]["error"].as_str().unwrap();
        assert!(error.contains("Authorization: Bearer"), "{error}");
    }
    let listed = app.get_json("/v1/appointments").await;
    assert_eq!(listed["items"], json!([]));

    // Other server messages and broken bodies still get a 200.
    let status_update = json!({ "message": { "type": "status-update", "status": "in-progress" } });
    let (status, body) = post_raw(
        &app,
        "/v1/agents/vapi",
        Some(&app.api_key),
        status_update.to_string(),
    )
    .await;
    assert_eq!((status, body), (200, json!({})));
    let (status, body) = post_raw(
        &app,
        "/v1/agents/vapi",
        Some(&app.api_key),
        "{\"message\":".to_owned(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["results"], json!([]));
    assert!(body["error"].is_string());
}

fn retell_request(name: &str, args: Value) -> Value {
    let mut request = fixture(RETELL_CUSTOM_FUNCTION);
    request["name"] = json!(name);
    request["args"] = args;
    request
}

/// Retell's answer: a 2xx with a JSON body of at most 15,000 characters (what Retell passes to its model).
async fn retell(app: &TestApp, key: Option<&str>, request: &Value) -> Value {
    let (status, body) = post_raw(app, "/v1/agents/retell", key, request.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.to_string().len() <= 15_000);
    body
}

#[tokio::test]
async fn retell_s_documented_request_is_answered_and_books_the_caller_once() {
    let (app, service_id) = spawn_app_with_service().await;
    let key = Some(app.api_key.as_str());

    let weather = retell(&app, key, &fixture(RETELL_CUSTOM_FUNCTION)).await;
    assert!(
        weather["error"]
            .as_str()
            .unwrap()
            .starts_with("There is no tool named \"get_weather\"")
    );

    let most = retell(
        &app,
        key,
        &retell_request(
            "find_available_times",
            json!({ "service_id": service_id, "from_date": "2026-12-01", "to_date": "2026-12-31", "limit": 20 }),
        ),
    )
    .await;
    assert_eq!(
        most["days"].as_array().map(|days| days
            .iter()
            .map(|d| d["times"].as_array().unwrap().len())
            .sum::<usize>()),
        Some(20)
    );

    let booking = retell_request(
        "book_appointment",
        json!({ "service_id": service_id, "start": "2026-12-02T09:30", "customer_name": "John Doe" }),
    );
    let booked = retell(&app, key, &booking).await;
    assert_eq!(booked["booked"], true, "{booked}");
    assert_eq!(
        booked["summary"],
        "Consultation is booked for John Doe on Wednesday, December 2 at 9:30 AM."
    );
    // Retell retries a request that failed on its side with the same body.
    let retried = retell(&app, key, &booking).await;
    assert_eq!(retried["repeated"], true);
    let listed = app.get_json("/v1/appointments").await;
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0]["customer"]["phone"], "+12137771234",
        "the inbound call's from_number"
    );
    let found = retell(
        &app,
        key,
        &retell_request("find_caller_appointments", json!({})),
    )
    .await;
    assert_eq!(
        found["appointments"][0]["appointment_id"],
        booked["appointment"]["appointment_id"]
    );
    // On an outbound call the caller is the number Retell rang.
    let mut outbound = retell_request("find_caller_appointments", json!({}));
    outbound["call"]["direction"] = json!("outbound");
    let nobody = retell(&app, key, &outbound).await;
    assert_eq!(nobody["phone"], "+12137771235");
    assert_eq!(nobody["appointments"], json!([]));

    let wrong = retell(
        &app,
        key,
        &retell_request("check_time", json!({ "service_id": service_id })),
    )
    .await;
    assert!(
        wrong["error"]
            .as_str()
            .unwrap()
            .contains("missing field `start`"),
        "{wrong}"
    );

    for key in [None, Some("bk_not_a_key")] {
        let (status, problem) = post_raw(&app, "/v1/agents/retell", key, booking.to_string()).await;
        assert_eq!((status, &problem["code"]), (401, &json!("unauthorized")));
    }
}

#[tokio::test]
async fn the_openai_listing_is_strict_function_calling_json() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/v1/agents/tools"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let tools: Vec<Value> = response.json().await.unwrap();
    assert_eq!(tools.len(), 8);
    for tool in &tools {
        assert_eq!(tool["type"], "function");
        let function = &tool["function"];
        assert_eq!(function["strict"], true);
        let parameters = &function["parameters"];
        assert_eq!(parameters["type"], "object");
        assert_eq!(parameters["additionalProperties"], false);
        let mut properties: Vec<&String> = parameters["properties"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        let mut required: Vec<&str> = parameters["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|name| name.as_str().unwrap())
            .collect();
        properties.sort();
        required.sort_unstable();
        assert_eq!(properties, required, "strict mode requires every property");
        assert!(function["description"].as_str().unwrap().len() > 100);
    }
    let book = tools
        .iter()
        .find(|tool| tool["function"]["name"] == "book_appointment")
        .unwrap();
    assert_eq!(
        book["function"]["parameters"]["properties"]["customer_phone"]["type"],
        json!(["string", "null"])
    );
}

/// A Vapi booking whose call reports `number` as the caller's (`None`: no number at all, as for a withheld caller).
fn vapi_booking_from(number: Option<&str>, service_id: &str, start: &str) -> Value {
    let mut booking = vapi_message(
        VAPI_SERVER_EVENTS,
        "book_appointment",
        json!({ "service_id": service_id, "start": start, "customer_name": "Ana Silva" }),
    );
    // Each booking is a tool call of its own (the platform's ids make the idempotency key).
    booking["message"]["toolCallList"][0]["id"] = json!(format!("call-at-{start}"));
    match number {
        Some(number) => booking["message"]["call"]["customer"]["number"] = json!(number),
        None => {
            booking["message"]["call"]
                .as_object_mut()
                .unwrap()
                .remove("customer");
        }
    }
    booking
}

#[tokio::test]
async fn a_caller_id_the_platform_gives_never_stops_a_booking() {
    let (app, service_id) = spawn_app_with_service().await;
    let key = Some(app.api_key.as_str());
    // Withheld, anonymous, a SIP address without a number: booked without a number, and the agent is told to ask.
    let withheld = [
        None,
        Some("anonymous"),
        Some("sip:anonymous@anonymous.invalid"),
        Some("sip:reception@pbx.clinic.example"),
    ];
    for (hour, number) in withheld.into_iter().enumerate() {
        let start = format!("2026-12-01T{:02}:00", 9 + hour);
        let booking = vapi_booking_from(number, &service_id, &start);
        let answer = result_json(&vapi(&app, key, &booking).await[0]);
        assert_eq!(answer["booked"], true, "{number:?}: {answer}");
        assert_eq!(answer["callback_number_needed"], true, "{number:?}");
        let summary = answer["summary"].as_str().unwrap();
        assert!(
            summary.ends_with(
                "so the booking has no number to call them back on: ask the caller for one."
            ),
            "{summary}"
        );
        let id = answer["appointment"]["appointment_id"].as_str().unwrap();
        let stored = app.get_json(&format!("/v1/appointments/{id}")).await;
        assert_eq!(stored["customer"]["phone"], Value::Null, "{number:?}");
    }

    // A range libphonenumber's metadata does not know (here Ofcom's drama range): kept as given, and flagged.
    let unknown_range = vapi_booking_from(Some("+447700900101"), &service_id, "2026-12-01T14:00");
    let answer = result_json(&vapi(&app, key, &unknown_range).await[0]);
    assert_eq!(answer["booked"], true, "{answer}");
    assert_eq!(answer["callback_number_needed"], true);
    assert!(
        answer["summary"]
            .as_str()
            .unwrap()
            .contains("could not be confirmed as a working number"),
        "{answer}"
    );
    let id = answer["appointment"]["appointment_id"].as_str().unwrap();
    let stored = app.get_json(&format!("/v1/appointments/{id}")).await;
    assert_eq!(stored["customer"]["phone"], "+447700900101");

    // A SIP URI carrying a number is that number, known and not flagged.
    let sip = vapi_booking_from(
        Some("sip:+14155550123@carrier.example;user=phone"),
        &service_id,
        "2026-12-01T15:00",
    );
    let answer = result_json(&vapi(&app, key, &sip).await[0]);
    assert_eq!(answer["callback_number_needed"], false, "{answer}");
    let id = answer["appointment"]["appointment_id"].as_str().unwrap();
    let stored = app.get_json(&format!("/v1/appointments/{id}")).await;
    assert_eq!(stored["customer"]["phone"], "+14155550123");

    // Retell's anonymous caller: the same.
    let mut anonymous = retell_request(
        "book_appointment",
        json!({ "service_id": service_id, "start": "2026-12-02T09:00", "customer_name": "John Doe" }),
    );
    anonymous["call"]["from_number"] = json!("anonymous");
    let booked = retell(&app, key, &anonymous).await;
    assert_eq!(booked["booked"], true, "{booked}");
    assert_eq!(booked["callback_number_needed"], true);
}

#[tokio::test]
async fn the_agent_is_told_to_ask_for_a_callback_number_before_booking() {
    let (app, _) = spawn_app_with_service().await;
    let key = Some(app.api_key.as_str());
    let mut context = vapi_message(VAPI_SERVER_EVENTS, "get_business_context", json!({}));
    context["message"]["call"]["customer"]["number"] = json!("anonymous");
    let answer = result_json(&vapi(&app, key, &context).await[0]);
    assert_eq!(answer["callback_number_needed"], true);
    assert!(
        answer["summary"].as_str().unwrap().ends_with(
            "ask for a number to call them back on, and give it as customer_phone when booking."
        ),
        "{answer}"
    );
    let known = vapi_message(VAPI_SERVER_EVENTS, "get_business_context", json!({}));
    let answer = result_json(&vapi(&app, key, &known).await[0]);
    assert_eq!(answer["callback_number_needed"], false);
}

#[tokio::test]
async fn a_number_a_person_typed_is_still_checked_strictly_and_told_precisely() {
    let (app, service_id) = spawn_app_with_service().await;
    let key = Some(app.api_key.as_str());
    let typed = vapi_message(
        VAPI_SERVER_EVENTS,
        "book_appointment",
        json!({ "service_id": service_id, "start": "2026-12-01T11:00", "customer_name": "Ana Silva",
                "customer_phone": "+447700900101" }),
    );
    let results = vapi(&app, key, &typed).await;
    let error = results[0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("Invalid arguments: customer_phone:"),
        "{error}"
    );
    assert!(
        error.contains("this international number is not in a range"),
        "{error}"
    );
    assert!(
        !error.contains("national in") && !error.contains("country for national"),
        "{error}"
    );
    let listed = app.get_json("/v1/appointments").await;
    assert_eq!(listed["items"], json!([]));

    // REST: the same number is refused, with a message about the number, not about the business's country.
    let response = app
        .client
        .post(app.url("/v1/appointments"))
        .bearer_auth(&app.api_key)
        .json(
            &json!({ "service_id": service_id, "start": "2026-12-01T11:00:00-05:00",
                       "customer": { "name": "Ana Silva", "phone": "+447700900101" } }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["field"], "customer.phone");
    let detail = problem["detail"].as_str().unwrap();
    assert!(!detail.contains("country for national numbers"), "{detail}");
}
