//! `booking-admin` as an operator runs it against a deployed stack: the binary, with the Lambda functions'
//! environment, on DynamoDB Local and moto; what it prints is then used on the dashboard and the API served from the
//! same table.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code)]
#[path = "../../../tests/dashboard/support.rs"]
mod visitor;

use std::sync::Arc;

use booking_aws::config::{AwsAdapters, AwsSettings};
use booking_aws::emulators::sdk_config;
use booking_core::ports::{SecretName, SecretStore};
use integration_tests::{TestApp, booking, spawn_app_on, weekday_service};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::Value;
use visitor::{PASSWORD, Visitor};

const ADMIN: &str = env!("CARGO_BIN_EXE_booking-admin");
const SECRET_PREFIX: &str = "booking/calendar";
const OWNER: &str = "owner@harbour.test";

/// A stack on the emulators: the server (API and dashboard) over a fresh table, the environment a Lambda function
/// of it would have, and its secret store.
struct Stack {
    server: TestApp,
    environment: Vec<(&'static str, String)>,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    moto_endpoint: String,
    settings: AwsSettings,
}

async fn stack() -> Option<Stack> {
    let aws = integration_tests::fresh_aws().await?;
    let settings = AwsSettings {
        table_name: aws.table.clone(),
        sync_queue_url: aws.sync_queue_url.clone(),
        sync_dead_letter_queue_url: aws.sync_dead_letter_queue_url.clone(),
        secret_prefix: SECRET_PREFIX.to_owned(),
    };
    let moto = AwsAdapters::new(&sdk_config(aws.moto.endpoint()).await, &settings);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk_config(aws.dynamodb.endpoint()).await);
    let server = spawn_app_on(
        Arc::new(aws.store),
        moto.queue.clone(),
        tempfile::tempdir().unwrap(),
        |app, _, _| app,
    )
    .await;
    let environment = vec![
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        (
            "AWS_ENDPOINT_URL_DYNAMODB",
            aws.dynamodb.endpoint().to_owned(),
        ),
        ("AWS_ENDPOINT_URL_SQS", aws.moto.endpoint().to_owned()),
        (
            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            aws.moto.endpoint().to_owned(),
        ),
        ("TABLE_NAME", aws.table.clone()),
        ("SYNC_QUEUE_URL", aws.sync_queue_url),
        ("SYNC_DEAD_LETTER_QUEUE_URL", aws.sync_dead_letter_queue_url),
        ("SECRET_PREFIX", SECRET_PREFIX.to_owned()),
        ("PUBLIC_BASE_URL", server.url("")),
    ];
    Some(Stack {
        server,
        environment,
        dynamodb,
        table: aws.table,
        moto_endpoint: aws.moto.endpoint().to_owned(),
        settings,
    })
}

impl Stack {
    /// The stack's secret store as a new process sees it (the adapter caches what it read or wrote).
    async fn secrets(&self) -> Arc<dyn SecretStore> {
        AwsAdapters::new(&sdk_config(&self.moto_endpoint).await, &self.settings).secrets
    }

    /// Runs `booking-admin` with only the stack's environment; what it printed, a JSON value a line.
    async fn admin(&self, arguments: &[&str]) -> Vec<Value> {
        let output = tokio::process::Command::new(ADMIN)
            .args(arguments)
            .env_clear()
            .envs(self.environment.iter().map(|(name, value)| (name, value)))
            .output()
            .await
            .unwrap();
        printed(output, arguments)
    }

    async fn create_business(&self) -> Value {
        let mut printed = self
            .admin(&[
                "create-business",
                "--name",
                "Harbour Dental",
                "--time-zone",
                "Europe/Berlin",
                "--owner-email",
                OWNER,
            ])
            .await;
        assert_eq!(printed.len(), 1);
        printed.remove(0)
    }

    /// Follows a printed set-password link in the dashboard and signs in with the password it set.
    async fn sign_in_from_link<'a>(&'a self, url: &str) -> Visitor<'a> {
        let path = url.strip_prefix(&self.server.url("")).unwrap();
        let token = path.split("token=").nth(1).unwrap();
        assert_eq!(path, format!("/dashboard/set-password?token={token}"));
        let visitor = Visitor::new(&self.server);
        let set = visitor
            .choose_password("/dashboard/set-password", token, PASSWORD)
            .await;
        assert_eq!(set.status(), StatusCode::SEE_OTHER);
        let signed = visitor.sign_in(OWNER, PASSWORD).await;
        assert_eq!(signed.status(), StatusCode::SEE_OTHER);
        visitor
    }

    async fn services_status(&self, key: &str) -> StatusCode {
        self.server.get_as(key, "/v1/services").await.status()
    }

    /// Every item of the table, as text.
    async fn items(&self) -> Vec<String> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .dynamodb
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            items.extend(page.items().iter().map(|item| format!("{item:?}")));
            match page.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return items,
            }
        }
    }
}

#[tokio::test]
async fn create_business_prints_a_key_and_a_link_the_owner_signs_in_with() {
    let Some(stack) = stack().await else {
        return;
    };
    let created = stack.create_business().await;
    assert_eq!(created["name"], "Harbour Dental");
    assert_eq!(created["owner_email"], OWNER);
    let key = created["api_key"].as_str().unwrap();
    assert_eq!(stack.services_status(key).await, StatusCode::OK);

    let visitor = stack
        .sign_in_from_link(created["set_password_url"].as_str().unwrap())
        .await;
    assert_eq!(
        visitor.get("/dashboard/appointments").await.status(),
        StatusCode::OK
    );

    let listed = stack.admin(&["list-businesses"]).await;
    let names: Vec<&str> = listed
        .iter()
        .filter_map(|business| business["name"].as_str())
        .collect();
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(names.contains(&"Harbour Dental") && names.contains(&"Test Clinic"));

    // A locked-out owner gets a new link from the operator; it sets a new password.
    let business_id = created["business_id"].as_str().unwrap();
    let link = stack.admin(&["owner-link", business_id]).await.remove(0);
    assert_eq!(link["owner_email"], OWNER);
    let url = link["set_password_url"].as_str().unwrap();
    stack.sign_in_from_link(url).await;
}

#[tokio::test]
async fn a_disabled_business_gets_401_on_its_keys_and_no_sign_in_until_enabled() {
    let Some(stack) = stack().await else {
        return;
    };
    let created = stack.create_business().await;
    let business_id = created["business_id"].as_str().unwrap();
    let key = created["api_key"].as_str().unwrap();
    let visitor = stack
        .sign_in_from_link(created["set_password_url"].as_str().unwrap())
        .await;

    let disabled = stack.admin(&["disable", business_id]).await.remove(0);
    assert!(disabled["disabled_at"].is_string(), "{disabled}");
    assert_eq!(stack.services_status(key).await, StatusCode::UNAUTHORIZED);
    let signed_in_before = visitor.get("/dashboard/appointments").await;
    assert_eq!(
        signed_in_before.status(),
        StatusCode::SEE_OTHER,
        "the session is over"
    );
    let again = Visitor::new(&stack.server);
    assert_ne!(
        again.sign_in(OWNER, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let other_key = stack.server.api_key.clone();
    assert_eq!(
        stack.services_status(&other_key).await,
        StatusCode::OK,
        "other businesses are served"
    );

    let enabled = stack.admin(&["enable", business_id]).await.remove(0);
    assert!(enabled["disabled_at"].is_null(), "{enabled}");
    assert_eq!(stack.services_status(key).await, StatusCode::OK);
    assert_eq!(
        again.sign_in(OWNER, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn delete_leaves_no_item_of_the_business_and_no_secret() {
    let Some(stack) = stack().await else {
        return;
    };
    let created = stack.create_business().await;
    let business_id = created["business_id"].as_str().unwrap();
    let key = created["api_key"].as_str().unwrap();
    stack
        .sign_in_from_link(created["set_password_url"].as_str().unwrap())
        .await;
    let service = stack
        .server
        .post_as(key, "/v1/services", &weekday_service())
        .await;
    assert_eq!(service.status(), StatusCode::CREATED);
    let service: Value = service.json().await.unwrap();
    let booked = stack
        .server
        .post_as(
            key,
            "/v1/appointments",
            &booking(service["id"].as_str().unwrap(), "2026-12-01T10:00:00+01:00"),
        )
        .await;
    assert_eq!(booked.status(), StatusCode::CREATED);
    let token = SecretName::new(format!("calendar/{business_id}/google")).unwrap();
    stack
        .secrets()
        .await
        .put(&token, &SecretString::from("refresh-token".to_owned()))
        .await
        .unwrap();
    let others_before = stack.items().await.len();

    let export = stack.admin(&["export", business_id]).await.remove(0);
    assert_eq!(export["business"]["name"], "Harbour Dental");
    let exported = export.to_string();
    for expected in ["Consultation", "Ana Silva", OWNER] {
        assert!(exported.contains(expected), "{expected} is exported");
    }

    let report = stack.admin(&["delete", business_id]).await.remove(0);
    assert!(report["records_deleted"].as_u64().unwrap() > 5, "{report}");
    let left: Vec<String> = stack
        .items()
        .await
        .into_iter()
        .filter(|item| item.contains(business_id))
        .collect();
    assert!(left.is_empty(), "left behind: {left:#?}");
    assert!(stack.items().await.len() < others_before);
    assert!(stack.secrets().await.get(&token).await.unwrap().is_none());
    assert_eq!(stack.services_status(key).await, StatusCode::UNAUTHORIZED);
    let other_key = stack.server.api_key.clone();
    assert_eq!(stack.services_status(&other_key).await, StatusCode::OK);

    let again = stack.admin(&["delete", business_id]).await.remove(0);
    assert_eq!(
        again["records_deleted"], 0,
        "deleting again finds nothing and succeeds"
    );
}

/// Runs `booking-admin --data-dir` on a local data folder, with no AWS setting at all.
fn admin_on_folder(folder: &std::path::Path, arguments: &[&str]) -> Vec<Value> {
    let output = std::process::Command::new(ADMIN)
        .arg("--data-dir")
        .arg(folder)
        .args(arguments)
        .env_clear()
        .output()
        .unwrap();
    printed(output, arguments)
}

/// The arguments that create the Corner Salon with `OWNER` as its owner, on a local data folder.
const CREATE_CORNER_SALON: [&str; 7] = [
    "create-business",
    "--name",
    "Corner Salon",
    "--time-zone",
    "Europe/Lisbon",
    "--owner-email",
    OWNER,
];

#[test]
fn a_local_data_folder_is_operated_with_the_same_commands() {
    let folder = tempfile::tempdir().unwrap();
    let created = admin_on_folder(folder.path(), &CREATE_CORNER_SALON).remove(0);
    assert!(created["api_key"].as_str().unwrap().starts_with("bk_"));
    assert!(
        created["set_password_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:3000/dashboard/set-password?token="),
        "{created}"
    );
    let business_id = created["business_id"].as_str().unwrap();
    let listed = admin_on_folder(folder.path(), &["list-businesses"]);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "Corner Salon");
    assert!(
        admin_on_folder(folder.path(), &["disable", business_id])[0]["disabled_at"].is_string()
    );
    assert!(admin_on_folder(folder.path(), &["enable", business_id])[0]["disabled_at"].is_null());
    let link = admin_on_folder(folder.path(), &["owner-link", business_id]).remove(0);
    assert_eq!(link["owner_email"], OWNER);
    let export = admin_on_folder(folder.path(), &["export", business_id]).remove(0);
    assert_eq!(export["business"]["name"], "Corner Salon");
    let report = admin_on_folder(folder.path(), &["delete", business_id]).remove(0);
    assert!(report["records_deleted"].as_u64().unwrap() >= 5, "{report}");
    assert!(admin_on_folder(folder.path(), &["list-businesses"]).is_empty());
}

/// What a successful run printed, a JSON value a line.
fn printed(output: std::process::Output, arguments: &[&str]) -> Vec<Value> {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "booking-admin {arguments:?}: {stderr}"
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn create_business_send_emails_the_owner_link_and_never_prints_it() {
    let folder = tempfile::tempdir().unwrap();
    let lines = admin_on_folder(
        folder.path(),
        &[&CREATE_CORNER_SALON[..], &["--send"]].concat(),
    );
    let printed = serde_json::to_string(&lines).unwrap();
    assert!(!printed.contains("token="), "no link printed: {printed}");
    assert!(lines[0]["api_key"].as_str().unwrap().starts_with("bk_"));
    assert!(lines[0].get("set_password_url").is_none(), "{printed}");
    assert_eq!(lines.last().unwrap()["owner_link_sent_to"], OWNER);
    let written = lines
        .iter()
        .find_map(|line| line["email_written"].as_str())
        .unwrap_or_else(|| panic!("no email written: {printed}"));
    let message = std::fs::read_to_string(written).unwrap();
    assert!(message.contains(&format!("To: {OWNER}")), "{message}");
    assert!(
        message.contains("Corner Salon is ready for bookings"),
        "{message}"
    );
    // The link, as the owner's mail client shows it (quoted-printable may wrap it), is on the public base URL.
    let unwrapped = message
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    assert!(
        unwrapped.contains("http://127.0.0.1:3000/dashboard/set-password?token="),
        "{message}"
    );
    let listed = admin_on_folder(folder.path(), &["list-businesses"]);
    assert_eq!(listed.len(), 1);
}

#[test]
fn send_without_an_owner_is_refused_before_anything_is_created() {
    let folder = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(ADMIN)
        .arg("--data-dir")
        .arg(folder.path())
        .args([
            "create-business",
            "--name",
            "Corner Salon",
            "--time-zone",
            "Europe/Lisbon",
            "--send",
        ])
        .env_clear()
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(admin_on_folder(folder.path(), &["list-businesses"]).is_empty());
}
