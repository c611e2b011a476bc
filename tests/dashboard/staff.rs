//! The dashboard with staff members: the appointment list says with whom and filters by member once the business
//! has more than one, and stays as it was while it has one.

use integration_tests::{TestApp, booking, spawn_app};
use serde_json::{Value, json};

use crate::support::signed_in;

/// Books `start` with `staff_id` (anyone when `None`) for a customer of that name; returns the appointment's id.
pub(crate) async fn booked_with(
    app: &TestApp,
    service_id: &str,
    start: &str,
    staff_id: Option<&str>,
    customer: &str,
) -> String {
    let mut body = booking(service_id, start);
    body["customer"]["name"] = json!(customer);
    if let Some(staff_id) = staff_id {
        body["staff_id"] = json!(staff_id);
    }
    let response = app.post("/v1/appointments", &body).await;
    let status = response.status();
    let appointment: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "booking {start} failed: {appointment}");
    appointment["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_appointment_list_says_with_whom_and_filters_by_member_once_there_are_two() {
    let app = spawn_app().await;
    let service_id = app.create_service(json!({})).await;
    booked_with(
        &app,
        &service_id,
        "2026-12-01T09:00:00-05:00",
        None,
        "Ana Alone",
    )
    .await;
    let owner = signed_in(&app, &app.business_id, "owner@clinic.test").await;
    let list_path = "/dashboard/appointments?from=2026-12-01&to=2026-12-01";
    let one_member = owner.page(list_path).await;
    assert!(one_member.contains("Ana Alone"));
    assert!(!one_member.contains(">With<"), "one diary names nobody");

    let first = app.get_json("/v1/staff").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch_json(&format!("/v1/staff/{first}"), &json!({ "name": "Maria" }))
        .await;
    let tom = app.post_json("/v1/staff", &json!({ "name": "Tom" })).await;
    let tom = tom["id"].as_str().unwrap();
    booked_with(
        &app,
        &service_id,
        "2026-12-01T10:00:00-05:00",
        Some(tom),
        "Ben With Tom",
    )
    .await;

    let everyone = owner.page(list_path).await;
    assert!(everyone.contains(">With<"), "{everyone}");
    assert!(everyone.contains("<td>Maria</td>") && everyone.contains("<td>Tom</td>"));
    assert!(everyone.contains(&format!("<option value=\"{tom}\">Tom</option>")));

    let toms = owner.page(&format!("{list_path}&staff={tom}")).await;
    assert!(toms.contains("Ben With Tom"));
    assert!(!toms.contains("Ana Alone"), "filtered to Tom");
    assert!(toms.contains(&format!("<option value=\"{tom}\" selected>Tom</option>")));
}
