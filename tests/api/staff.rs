//! `/v1/staff` and the assignment policy in `/v1/settings`, over HTTP. Monday 2026-11-30 08:00 in New York is "now";
//! the business starts with one member (named as the business) and the tests add more.

use integration_tests::{TestApp, assert_invalid_field, spawn_app};
use serde_json::{Value, json};

/// Tuesday 10:00 in New York: inside the test service's hours.
const TUESDAY_TEN: &str = "2026-12-01T10:00:00-05:00";

/// The business's first member's id, then a new member per name, in order.
async fn members(app: &TestApp, names: &[&str]) -> Vec<String> {
    let staff = app.get_json("/v1/staff").await;
    let mut ids = vec![staff["items"][0]["id"].as_str().unwrap().to_owned()];
    for name in names {
        let member = app.post_json("/v1/staff", &json!({ "name": name })).await;
        ids.push(member["id"].as_str().unwrap().to_owned());
    }
    ids
}

fn staff_of(appointment: &Value) -> String {
    appointment["staff"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_assignment_policy_is_balanced_until_an_order_is_chosen_and_then_decides_who_anyone_gets()
 {
    let app = spawn_app().await;
    let service = app.create_service(json!({})).await;
    let [first, maria, tom] =
        <[String; 3]>::try_from(members(&app, &["Maria", "Tom"]).await).unwrap();

    let defaults = app.get_json("/v1/settings").await;
    assert_eq!(defaults["assignment"], json!({ "policy": "balanced" }));

    let chosen = app
        .patch_json(
            "/v1/settings",
            &json!({ "assignment": { "policy": "priority", "order": [tom, maria] } }),
        )
        .await;
    assert_eq!(
        chosen["assignment"],
        json!({ "policy": "priority", "order": [tom, maria] })
    );
    assert_eq!(
        app.get_json("/v1/settings").await["assignment"],
        chosen["assignment"]
    );
    assert_eq!(chosen["hold_minutes"], 5, "other settings stay");

    // Tom first, then Maria; the first member, left out of the order, after them.
    let mut assigned = Vec::new();
    for _ in 0..3 {
        assigned.push(staff_of(&app.booked(&service, TUESDAY_TEN).await));
    }
    assert_eq!(assigned, [tom.clone(), maria.clone(), first.clone()]);

    let back = app
        .patch_json("/v1/settings", &json!({ "assignment": null }))
        .await;
    assert_eq!(back["assignment"], json!({ "policy": "balanced" }));
}

#[tokio::test]
async fn a_priority_order_lists_members_of_this_business_each_once_and_may_keep_an_inactive_one() {
    let app = spawn_app().await;
    let service = app.create_service(json!({})).await;
    let [first, maria] = <[String; 2]>::try_from(members(&app, &["Maria"]).await).unwrap();
    let priority = |order: Value| json!({ "assignment": { "policy": "priority", "order": order } });

    let unknown = "0190a5c4-0000-7000-8000-000000000000";
    for refused in [
        priority(json!([maria, unknown])),
        priority(json!([maria, first, maria])),
    ] {
        assert_invalid_field(app.patch("/v1/settings", &refused).await, "assignment").await;
    }
    let other_business = app.other_business_key().await;
    let theirs = app.get_json_as(&other_business, "/v1/staff").await["items"][0]["id"].clone();
    assert_invalid_field(
        app.patch("/v1/settings", &priority(json!([theirs]))).await,
        "assignment",
    )
    .await;
    for malformed in [
        json!({ "assignment": { "policy": "round_robin" } }),
        json!({ "assignment": { "policy": "priority", "order": ["not-an-id"] } }),
        json!({ "assignment": { "policy": "priority" } }),
    ] {
        let response = app.patch("/v1/settings", &malformed).await;
        assert!(
            [400, 422].contains(&response.status().as_u16()),
            "{malformed}: {}",
            response.status()
        );
    }
    assert_eq!(
        app.get_json("/v1/settings").await["assignment"],
        json!({ "policy": "balanced" }),
        "a refused change changes nothing"
    );

    // Maria is deactivated but stays listed: skipped while inactive.
    let deactivated = app
        .post(&format!("/v1/staff/{maria}/deactivate"), &json!({}))
        .await;
    assert_eq!(deactivated.status(), 200);
    let kept = app
        .patch_json("/v1/settings", &priority(json!([maria, first])))
        .await;
    assert_eq!(kept["assignment"]["order"], json!([maria, first]));
    let booked = app.booked(&service, TUESDAY_TEN).await;
    assert_eq!(staff_of(&booked), first);
}
