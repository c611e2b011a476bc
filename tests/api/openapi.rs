use booking_core::{api, providers};
use integration_tests::spawn_app;
use serde_json::Value;

/// Where the published document lives, and the command that rewrites it from the handlers.
const PUBLISHED_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/openapi.json");
const REGENERATE: &str = "UPDATE_OPENAPI=1 cargo test -p integration-tests --test api openapi";

/// The deployed API serves `shared/openapi.json` (so that no function links other areas' handlers to describe
/// them); it must be exactly what the handlers' annotations generate for the registered providers.
#[test]
fn the_published_document_is_the_generated_one() {
    let generated = api::openapi(&providers::registry())
        .to_pretty_json()
        .unwrap()
        + "\n";
    // Under CI the copy is only ever checked: a stray UPDATE_OPENAPI must not turn the check into a rewrite.
    let rewrite = std::env::var_os("UPDATE_OPENAPI").is_some()
        && std::env::var("CI").as_deref() != Ok("true");
    if rewrite {
        std::fs::write(PUBLISHED_PATH, &generated).unwrap();
        return;
    }
    assert!(
        generated == api::PUBLISHED_OPENAPI,
        "shared/openapi.json differs from the document the handlers generate; rewrite it with `{REGENERATE}`"
    );
}

/// The local server generates its document for its own registry; with the registered providers it is the
/// published one.
#[tokio::test]
async fn the_local_server_serves_the_published_document() {
    let app = spawn_app().await;
    let served = app.get_json("/openapi.json").await;
    let published: Value = serde_json::from_str(api::PUBLISHED_OPENAPI).unwrap();
    assert_eq!(served, published);
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_describes_every_route() {
    let app = spawn_app().await;
    let response = app.anonymous("GET", "/openapi.json").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let document: Value = response.json().await.unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = document["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/v1/services", &["get", "post"][..]),
        ("/v1/services/{service_id}", &["get", "patch"]),
        ("/v1/services/{service_id}/deactivate", &["post"]),
        ("/v1/availability", &["get"]),
        ("/v1/availability/check", &["post"]),
        ("/v1/appointments", &["get", "post"]),
        ("/v1/appointments/{appointment_id}", &["get", "patch"]),
        ("/v1/appointments/{appointment_id}/cancel", &["post"]),
        ("/v1/holds", &["post"]),
        ("/v1/holds/{hold_id}", &["get", "delete"]),
        ("/v1/settings", &["get", "patch"]),
        ("/v1/staff", &["get", "post"]),
        ("/v1/staff/{staff_id}", &["get", "patch"]),
        ("/v1/staff/{staff_id}/deactivate", &["post"]),
        ("/v1/staff/{staff_id}/integrations", &["get"]),
        (
            "/v1/staff/{staff_id}/integrations/{provider}/connect",
            &["post"],
        ),
        (
            "/v1/staff/{staff_id}/integrations/{connection_id}/calendars",
            &["get", "put"],
        ),
        (
            "/v1/staff/{staff_id}/integrations/{connection_id}",
            &["delete"],
        ),
    ] {
        for method in methods {
            assert!(
                paths[path].get(*method).is_some(),
                "{method} {path} undocumented"
            );
        }
    }
    assert_eq!(
        document["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
}
