//! The MCP Inspector's CLI (`@modelcontextprotocol/inspector`, installed into `.tools/` by
//! scripts/install-test-tools.sh), a client nobody here wrote, lists the tools and calls each one against the
//! server, at the legacy (`initialize`) and the modern (2026-07-28) protocol. Missing under `CI=true` is a failure.

use std::path::PathBuf;
use std::time::Duration;

use integration_tests::{TestApp, spawn_app_with_service};
use serde_json::{Value, json};

fn inspector() -> Option<PathBuf> {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../.tools/mcp-inspector/node_modules/.bin/mcp-inspector"
    ));
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the MCP Inspector is not installed (scripts/install-test-tools.sh)"
    );
    eprintln!("skipped: the MCP Inspector is not installed (scripts/install-test-tools.sh)");
    None
}

struct Inspector<'a> {
    binary: PathBuf,
    app: &'a TestApp,
    era: &'static str,
    scratch: tempfile::TempDir,
}

impl Inspector<'_> {
    /// Runs the CLI against `/mcp` and returns its exit status and the JSON it printed.
    async fn run(&self, arguments: &[&str]) -> (i32, Value) {
        let output = tokio::time::timeout(
            Duration::from_secs(60),
            tokio::process::Command::new(&self.binary)
                .arg("--cli")
                .arg(self.app.url("/mcp"))
                .args(["--transport", "http", "--protocol-era", self.era])
                .args([
                    "--header",
                    &format!("Authorization: Bearer {}", self.app.api_key),
                ])
                .args(["--format", "json", "--quiet"])
                .args(arguments)
                .env("HOME", self.scratch.path())
                .env("MCP_CATALOG_PATH", self.scratch.path().join("mcp.json"))
                .kill_on_drop(true)
                .output(),
        )
        .await
        .expect("the Inspector did not finish within a minute")
        .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let parsed: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| {
            panic!("not JSON from the Inspector ({arguments:?}): {stdout} / {stderr}")
        });
        // `--format json` wraps the method's result.
        let result = parsed.get("result").cloned().unwrap_or(parsed);
        (output.status.code().unwrap_or(-1), result)
    }

    async fn call(&self, tool: &str, arguments: Value) -> Value {
        let (status, result) = self
            .run(&[
                "--method",
                "tools/call",
                "--tool-name",
                tool,
                "--tool-args-json",
                &arguments.to_string(),
            ])
            .await;
        assert_eq!(status, 0, "{tool}: {result}");
        assert_ne!(result["isError"], true, "{tool}: {result}");
        let structured = result["structuredContent"].clone();
        assert!(structured.is_object(), "{tool}: {result}");
        assert_eq!(
            result["content"][0]["text"], structured["summary"],
            "{tool}"
        );
        structured
    }
}

async fn lists_and_calls_every_tool(era: &'static str) {
    let Some(binary) = inspector() else {
        return;
    };
    let (app, service_id) = spawn_app_with_service().await;
    let inspector = Inspector {
        binary,
        app: &app,
        era,
        scratch: tempfile::tempdir().unwrap(),
    };

    let (status, listed) = inspector.run(&["--method", "tools/list", "--strict"]).await;
    assert_eq!(status, 0, "schema portability problems: {listed}");
    let tools = listed["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools listed: {listed}"));
    assert_eq!(tools.len(), 8, "{listed}");
    for tool in tools {
        assert!(tool["annotations"]["readOnlyHint"].is_boolean(), "{tool}");
        assert_eq!(tool["outputSchema"]["type"], "object", "{tool}");
    }

    let context = inspector.call("get_business_context", json!({})).await;
    assert_eq!(context["services"][0]["service_id"], service_id);
    let found = inspector
        .call(
            "find_available_times",
            json!({ "service_id": service_id, "date": context["tomorrow"], "part_of_day": "afternoon" }),
        )
        .await;
    let times = found["days"][0]["times"].as_array().unwrap();
    let first_time = json!({ "service_id": service_id, "start": times[0]["start"] });
    let checked = inspector.call("check_time", first_time.clone()).await;
    assert_eq!(checked["available"], true);
    let held = inspector.call("hold_time", first_time).await;
    assert_eq!(held["held"], true);
    let booked = inspector
        .call(
            "book_appointment",
            json!({ "hold_id": held["hold_id"], "customer_name": "Ana Silva",
                    "customer_phone": "+14155550123" }),
        )
        .await;
    assert_eq!(booked["booked"], true);
    let found = inspector
        .call(
            "find_caller_appointments",
            json!({ "phone": "+14155550123" }),
        )
        .await;
    let id = found["appointments"][0]["appointment_id"].clone();
    assert_eq!(id, booked["appointment"]["appointment_id"]);
    let moved = inspector
        .call(
            "reschedule_appointment",
            json!({ "appointment_id": id, "start": times[1]["start"] }),
        )
        .await;
    assert_eq!(moved["rescheduled"], true);
    let cancelled = inspector
        .call("cancel_appointment", json!({ "appointment_id": id }))
        .await;
    assert_eq!(cancelled["newly_cancelled"], true);
}

#[tokio::test]
async fn the_inspector_lists_and_calls_every_tool_with_initialize() {
    lists_and_calls_every_tool("legacy").await;
}

#[tokio::test]
async fn the_inspector_lists_and_calls_every_tool_at_2026_07_28() {
    lists_and_calls_every_tool("modern").await;
}
