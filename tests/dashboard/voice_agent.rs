//! The voice agent page over HTTP, as the owner uses it: the configurations it shows are what the platforms accept
//! (checked against their published schemas) and work with the key it creates; its console answers as the agent's
//! own endpoint does and parses as strictly; the home page's first-run checklist follows the business's real state.

use integration_tests::emulators::google::{self, GoogleEmulator};
use integration_tests::{TestApp, mcp_client, spawn_app};
use reqwest::StatusCode;
use rmcp::model::CallToolRequestParams;
use serde_json::{Value, json};

use crate::platform_schemas::{RETELL_CUSTOM_TOOL, VAPI_FUNCTION_TOOL, errors, validator};
use crate::support::{
    Visitor, api_keys, business_with_key, signed_in, signed_in_staff, spawn_app_with_google,
};

const OWNER: &str = "owner@clinic.test";
const PAGE: &str = "/dashboard/voice-agent";
const CHECKLIST: &str = "Get your voice agent answering calls";

/// Text as the page's HTML escapes it, read back.
fn unescaped(html: &str) -> String {
    html.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The text of the `<pre>` block with `id`, as the owner would copy it.
pub fn block(page: &str, id: &str) -> String {
    let open = format!("<pre id=\"{id}\"");
    let start = page
        .find(&open)
        .unwrap_or_else(|| panic!("no block {id} on the page"));
    let content = &page[start..];
    let content = &content[content.find('>').unwrap() + 1..];
    unescaped(&content[..content.find("</pre>").unwrap()])
}

/// The JSON of the `<pre>` block with `id`.
pub fn json_block(page: &str, id: &str) -> Value {
    serde_json::from_str(&block(page, id)).unwrap_or_else(|error| panic!("{id}: {error}"))
}

/// The page right after "Create a key for the voice agent", and the key it showed.
async fn with_new_key(owner: &Visitor<'_>) -> (String, String) {
    let response = owner.submit(PAGE, "/dashboard/voice-agent/key", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    let key = block(&page, "new-key");
    assert!(key.starts_with("bk_"), "{key}");
    (page, key)
}

#[tokio::test]
async fn the_page_gives_each_platform_its_configuration_with_the_public_url_and_the_key_shown_once()
{
    let app = spawn_app().await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    let before = owner.page(PAGE).await;
    assert_eq!(
        block(&before, "mcp-url"),
        app.url("/mcp"),
        "absolute, on PUBLIC_BASE_URL"
    );
    assert!(before.contains("Bearer YOUR_VOICE_AGENT_KEY"));
    assert!(!before.contains("bk_"), "no key before one is created");

    let (page, key) = with_new_key(&owner).await;
    let business = business_with_key(&app, &key).await;
    assert_eq!(business.id.to_string(), app.business_id);
    assert!(
        api_keys(&app)
            .await
            .iter()
            .any(|record| record.name == "Voice agent" && record.revoked_at.is_none()),
        "made by the API keys page's own use case, listed there"
    );
    let bearer = format!("Bearer {key}");

    // Vapi: every body is what its POST /tool accepts, sends the key, and names our Vapi endpoint.
    let vapi = validator(VAPI_FUNCTION_TOOL);
    let bodies = json_block(&page, "vapi-tools");
    let bodies = bodies.as_array().unwrap();
    assert_eq!(bodies.len(), 8);
    for body in bodies {
        let errors = errors(&vapi, body);
        assert!(
            errors.is_empty(),
            "{}: {errors:#?}",
            body["function"]["name"]
        );
        assert_eq!(body["server"]["url"], app.url("/v1/agents/vapi"));
        assert_eq!(body["server"]["headers"]["Authorization"], bearer);
    }
    // ...and the very bodies the listing endpoint serves, the key added.
    let listed = app.get_json("/v1/agents/tools/vapi").await;
    for (shown, listed) in bodies.iter().zip(listed.as_array().unwrap()) {
        let mut listed = listed.clone();
        listed["server"]["headers"] = json!({ "Authorization": bearer });
        assert_eq!(shown, &listed);
    }

    // Retell: each custom function as its schema accepts it, with the form's switches set.
    let retell = validator(RETELL_CUSTOM_TOOL);
    let functions = json_block(&page, "retell-tools");
    for function in functions.as_array().unwrap() {
        let errors = errors(&retell, function);
        assert!(errors.is_empty(), "{}: {errors:#?}", function["name"]);
        assert_eq!(function["url"], app.url("/v1/agents/retell"));
        assert_eq!(function["headers"]["Authorization"], bearer);
        assert_eq!(function["speak_after_execution"], true);
        let name = function["name"].as_str().unwrap();
        assert_eq!(
            json_block(&page, &format!("retell-{name}")),
            function["parameters"],
            "the form's parameters box"
        );
    }
    let book = functions
        .as_array()
        .unwrap()
        .iter()
        .find(|function| function["name"] == "book_appointment")
        .unwrap();
    assert_eq!(book["speak_during_execution"], true);
    let response = app
        .client
        .post(app.url("/v1/agents/retell"))
        .header("authorization", &bearer)
        .json(&json!({ "name": "get_business_context", "call": {}, "args": {} }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "Retell's calls authenticate with the key shown"
    );

    // Any MCP client: the URL and header of the configuration reach the tools.
    let config = json_block(&page, "mcp-config");
    let server = &config["mcpServers"]["bookings"];
    assert_eq!(server["url"], app.url("/mcp"));
    assert_eq!(server["headers"]["Authorization"], bearer);
    let client = mcp_client(&app.url(""), &key).await;
    assert_eq!(client.list_all_tools().await.unwrap().len(), 8);

    // OpenAI-style tools: the strict definitions the listing serves.
    let openai = app.get_json("/v1/agents/tools").await;
    assert_eq!(json_block(&page, "openai-tools"), openai);

    // Every block selects whole, and its copy button is there for the script to reveal.
    assert_eq!(
        page.matches("class=\"paste\"").count(),
        page.matches("class=\"copy\"").count()
    );
    let later = owner.page(PAGE).await;
    assert!(!later.contains(&key), "the key is shown only once");
}

/// Runs `tool` in the console with `fields`, returning the page.
async fn run(owner: &Visitor<'_>, tool: &str, fields: &[(&str, &str)]) -> String {
    let mut all = vec![("tool", tool)];
    all.extend_from_slice(fields);
    let response = owner
        .submit(
            &format!("{PAGE}?tool={tool}"),
            "/dashboard/voice-agent/try",
            &all,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

/// The console's sentence for the caller.
fn said(page: &str) -> String {
    let start = page.find("<blockquote class=\"said").expect("a sentence");
    let rest = &page[start..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    unescaped(&rest[..rest.find("</blockquote>").unwrap()])
}

#[tokio::test]
async fn the_console_answers_as_the_agents_own_endpoint_does_and_parses_as_strictly() {
    let app = spawn_app().await;
    let service = app.create_service(json!({})).await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;

    // The form is generated from the tool's schema: an enumeration is a list, an integer a number, required marked.
    let form = owner
        .page(&format!("{PAGE}?tool=find_available_times"))
        .await;
    assert!(form.contains("<select id=\"arg-part_of_day\" name=\"part_of_day\""));
    assert!(form.contains("<option value=\"morning\""));
    assert!(form.contains("id=\"arg-limit\" name=\"limit\" type=\"number\""));
    assert!(
        form.contains(&format!("<option value=\"{service}\"")),
        "the business's services to pick"
    );
    assert!(form.contains("<code>service_id</code> (required)"));

    let business = business_with_key(&app, &app.api_key).await;
    let tried = || async {
        booking_core::app::get_business_settings(&app.app, &business)
            .await
            .unwrap()
            .agent_tried_at
    };
    assert_eq!(tried().await, None);

    let page = run(
        &owner,
        "find_available_times",
        &[
            ("service_id", &service),
            ("date", "2026-12-01"),
            ("part_of_day", "morning"),
            ("limit", "3"),
            ("earliest_time", ""),
        ],
    )
    .await;
    let arguments = json!({ "service_id": service, "date": "2026-12-01", "part_of_day": "morning", "limit": 3 });
    let client = mcp_client(&app.url(""), &app.api_key).await;
    let over_mcp = client
        .call_tool(
            CallToolRequestParams::new("find_available_times")
                .with_arguments(arguments.as_object().unwrap().clone()),
        )
        .await
        .unwrap();
    let structured = over_mcp.structured_content.unwrap();
    assert_eq!(said(&page), structured["summary"].as_str().unwrap());
    assert_eq!(json_block(&page, "answer-json"), structured);
    assert!(
        tried().await.is_some(),
        "running a tool is the checklist's \"tried\""
    );

    // A value the agent's parser refuses is refused here with the very words the agent would be told.
    let page = run(
        &owner,
        "find_available_times",
        &[("service_id", &service), ("limit", "three")],
    )
    .await;
    let refused = client
        .call_tool(
            CallToolRequestParams::new("find_available_times").with_arguments(
                json!({ "service_id": service, "limit": "three" })
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(refused.is_error, Some(true));
    let told = refused.content[0].as_text().unwrap().text.clone();
    assert!(told.starts_with("Invalid arguments"), "{told}");
    assert_eq!(said(&page), told);
    let page = run(&owner, "get_business_context", &[("colour", "blue")]).await;
    assert!(
        said(&page).starts_with("Invalid arguments"),
        "{}",
        said(&page)
    );
    assert!(said(&page).contains("colour"), "{}", said(&page));

    // A form from elsewhere runs nothing.
    let forged = owner
        .post(
            "/dashboard/voice-agent/try",
            &[("csrf", "not the token"), ("tool", "get_business_context")],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_console_reaches_only_the_signed_in_owners_business() {
    let app = spawn_app().await;
    let service = app.create_service(json!({})).await;
    let booked = app.booked(&service, "2026-12-01T10:00:00-05:00").await;
    let appointment = booked["id"].as_str().unwrap();
    let other = business_with_key(&app, &app.other_business_key().await).await;
    let intruder = signed_in(&app, &other.id.to_string(), "owner@other.test").await;

    let page = run(
        &intruder,
        "cancel_appointment",
        &[("appointment_id", appointment)],
    )
    .await;
    assert!(!said(&page).contains("cancelled"), "{}", said(&page));
    let page = run(
        &intruder,
        "find_available_times",
        &[("service_id", &service)],
    )
    .await;
    assert!(!page.contains("The agent would say"), "{}", said(&page));
    let detail = app
        .get_json(&format!("/v1/appointments/{appointment}"))
        .await;
    assert_eq!(detail["status"], "booked", "{detail}");
}

/// The steps the checklist shows as done, in order (none when it is gone).
fn done_steps(page: &str) -> Option<Vec<bool>> {
    let start = page.find(CHECKLIST)?;
    let list = &page[start..page[start..].find("</ol>").unwrap() + start];
    Some(
        list.split("<li class=\"")
            .skip(1)
            .map(|item| item.starts_with("done"))
            .collect(),
    )
}

#[tokio::test]
async fn the_checklist_follows_the_businesss_real_state_until_everything_is_done() {
    let emulator = GoogleEmulator::start().await;
    let app: TestApp = spawn_app_with_google(&emulator).await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    let staff = signed_in_staff(&app, &app.business_id, "staff@clinic.test").await;
    let home = || async { owner.page("/dashboard/appointments").await };
    let page = home().await;
    assert_eq!(done_steps(&page), Some(vec![false; 4]));
    for link in [
        "href=\"/dashboard/services/new\"",
        "href=\"/dashboard/integrations\"",
        "href=\"/dashboard/voice-agent\"",
        "href=\"/dashboard/voice-agent#try\"",
    ] {
        assert!(page.contains(link), "{link}");
    }
    assert!(
        done_steps(&staff.page("/dashboard/appointments").await).is_none(),
        "the steps are the owner's to do"
    );

    let service = app.create_service(json!({})).await;
    assert_eq!(
        done_steps(&home().await),
        Some(vec![true, false, false, false])
    );

    app.connect_calendar("google").await;
    assert_eq!(
        done_steps(&home().await),
        Some(vec![true, false, false, false]),
        "connected, but no calendar chosen yet"
    );
    app.select_calendar("google", google::TEAM_CALENDAR).await;
    assert_eq!(
        done_steps(&home().await),
        Some(vec![true, true, false, false])
    );

    with_new_key(&owner).await;
    assert_eq!(
        done_steps(&home().await),
        Some(vec![true, true, true, false])
    );

    // A refusal from the tool's parser is not a try; an answer is.
    run(
        &owner,
        "find_available_times",
        &[("service_id", "not an id")],
    )
    .await;
    assert_eq!(
        done_steps(&home().await),
        Some(vec![true, true, true, false])
    );
    run(&owner, "find_available_times", &[("service_id", &service)]).await;
    let page = home().await;
    assert_eq!(done_steps(&page), None, "gone once everything is done");
    assert!(!page.contains(CHECKLIST));
}
