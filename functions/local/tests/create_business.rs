//! The local server's `create-business`, the same command as `booking-admin create-business`: one JSON object with
//! the business, its key and the owner's link, and nothing written when the owner cannot be made.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

fn create_business(data: &Path, name: &str, owner_email: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_local-server"))
        .arg("--data-dir")
        .arg(data)
        .args([
            "create-business",
            "--name",
            name,
            "--time-zone",
            "Europe/Berlin",
        ])
        .args(["--owner-email", owner_email])
        .env_remove("PUBLIC_BASE_URL")
        .output()
        .unwrap()
}

#[test]
fn create_business_prints_the_key_and_the_owners_link_and_refuses_a_taken_owner() {
    let data = tempfile::tempdir().unwrap();
    let output = create_business(data.path(), "Downtown Dental", "owner@dental.test");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut fields: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "api_key",
            "business_id",
            "name",
            "owner_email",
            "set_password_url",
            "time_zone"
        ]
    );
    assert!(
        created["set_password_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:3000/dashboard/set-password?token=")
    );

    // The owner already has an account: refused before a second business is written.
    let refused = create_business(data.path(), "Uptown Dental", "owner@dental.test");
    assert!(!refused.status.success());
    assert!(refused.stdout.is_empty());
    let store = std::fs::read(data.path().join("store.redb")).unwrap();
    let needle = b"Uptown Dental";
    assert!(!store.windows(needle.len()).any(|window| window == needle));
}
