use integration_tests::spawn_app;
use serde_json::Value;

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
