//! `/v1/staff` and the assignment policy in `/v1/settings`, over HTTP. Monday 2026-11-30 08:00 in New York is "now";
//! the business starts with one member (named as the business) and the tests add more.

use integration_tests::{
    TestApp, appointment_path, assert_invalid_field, assert_problem, booking, spawn_app,
    spawn_app_with_custom_service, strings_at,
};
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

#[tokio::test]
async fn a_member_is_created_listed_read_and_updated_by_version_and_only_by_their_business() {
    let app = spawn_app().await;
    let service = app.create_service(json!({})).await;
    let created = app
        .post(
            "/v1/staff",
            &json!({
                "name": "Maria",
                "service_ids": [service],
                "weekly_hours": { "tuesday": [{ "start": "10:00", "end": "14:00" }] },
                "date_overrides": [{ "date": "2026-12-24", "hours": [] }],
                "max_per_day": 6
            }),
        )
        .await;
    assert_eq!(created.status(), 201);
    let maria: Value = created.json().await.unwrap();
    let id = maria["id"].as_str().unwrap().to_owned();
    assert_eq!(maria["name"], "Maria");
    assert_eq!(maria["active"], true);
    assert_eq!(maria["service_ids"], json!([service]));
    assert_eq!(
        maria["weekly_hours"]["tuesday"],
        json!([{ "start": "10:00", "end": "14:00" }])
    );
    assert_eq!(maria["weekly_hours"]["monday"], json!([]));
    assert_eq!(
        maria["date_overrides"],
        json!([{ "date": "2026-12-24", "hours": [] }])
    );
    assert_eq!(maria["max_per_day"], 6);
    assert_eq!(maria["version"], 1);

    let listed = app.get_json("/v1/staff").await;
    // Listed by id: the first member's is derived from the business, so either may come first.
    let mut names = strings_at(&listed["items"], "name");
    names.sort();
    assert_eq!(names, ["Maria", "Test Clinic"]);
    assert_eq!(app.get_json(&format!("/v1/staff/{id}")).await, maria);

    let renamed = app
        .patch_json(
            &format!("/v1/staff/{id}"),
            &json!({ "name": "Maria S.", "max_per_day": null, "expected_version": 1 }),
        )
        .await;
    assert_eq!(renamed["name"], "Maria S.");
    assert_eq!(renamed["max_per_day"], Value::Null);
    assert_eq!(
        renamed["service_ids"],
        json!([service]),
        "untouched fields stay"
    );
    assert_eq!(renamed["version"], 2);
    let stale = app
        .patch(
            &format!("/v1/staff/{id}"),
            &json!({ "name": "Someone else", "expected_version": 1 }),
        )
        .await;
    assert_problem(stale, 409, "version_conflict").await;
    assert_eq!(app.get_json(&format!("/v1/staff/{id}")).await, renamed);

    let intruder = app.other_business_key().await;
    let theirs = app.get_as(&intruder, &format!("/v1/staff/{id}")).await;
    assert_problem(theirs, 404, "staff_not_found").await;
    let changed = app
        .patch_as(
            &intruder,
            &format!("/v1/staff/{id}"),
            &json!({ "name": "Mine" }),
        )
        .await;
    assert_problem(changed, 404, "staff_not_found").await;
    let deactivated = app
        .send_as(
            &intruder,
            reqwest::Method::POST,
            &format!("/v1/staff/{id}/deactivate"),
            Some(&json!({})),
        )
        .await;
    assert_problem(deactivated, 404, "staff_not_found").await;
    let their_list = app.get_json_as(&intruder, "/v1/staff").await;
    assert_eq!(their_list["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.get_json(&format!("/v1/staff/{id}")).await, renamed);
    let unknown = app
        .get("/v1/staff/0190a5c4-0000-7000-8000-000000000000")
        .await;
    assert_problem(unknown, 404, "staff_not_found").await;
}

#[tokio::test]
async fn a_member_with_appointments_ahead_is_deactivated_only_when_told_to_reassign_or_cancel_them()
{
    let app = spawn_app().await;
    let service = app.create_service(json!({})).await;
    let [first, maria, tom] =
        <[String; 3]>::try_from(members(&app, &["Maria", "Tom"]).await).unwrap();
    let with = |member: &str, start: &str| {
        let mut body = booking(&service, start);
        body["staff_id"] = json!(member);
        body
    };
    let mut marias = Vec::new();
    for start in [TUESDAY_TEN, "2026-12-02T11:00:00-05:00"] {
        let booked = app
            .post_json("/v1/appointments", &with(&maria, start))
            .await;
        assert_eq!(staff_of(&booked), maria);
        marias.push(booked);
    }

    let refused = app
        .post(&format!("/v1/staff/{maria}/deactivate"), &json!({}))
        .await;
    let problem = assert_problem(refused, 409, "staff_has_future_appointments").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("has 2 upcoming"),
        "{problem}"
    );
    assert_eq!(
        app.get_json(&format!("/v1/staff/{maria}")).await["active"],
        true
    );

    let reassigned = app
        .post_json(
            &format!("/v1/staff/{maria}/deactivate"),
            &json!({ "future_appointments": "reassign" }),
        )
        .await;
    assert_eq!(reassigned["active"], false);
    for before in &marias {
        let after = app.get_json(&appointment_path(before)).await;
        assert_ne!(staff_of(&after), maria, "{after}");
        assert!([&first, &tom].contains(&&staff_of(&after)), "{after}");
        assert_eq!(after["start"], before["start"], "kept at its time");
        assert_eq!(after["status"], "booked");
    }

    let toms = app
        .post_json("/v1/appointments", &with(&tom, "2026-12-03T09:00:00-05:00"))
        .await;
    let cancelled = app
        .post_json(
            &format!("/v1/staff/{tom}/deactivate"),
            &json!({ "future_appointments": "cancel" }),
        )
        .await;
    assert_eq!(cancelled["active"], false);
    let after = app.get_json(&appointment_path(&toms)).await;
    assert_eq!(after["status"], "cancelled");

    let last = app
        .post(
            &format!("/v1/staff/{first}/deactivate"),
            &json!({ "future_appointments": "cancel" }),
        )
        .await;
    assert_problem(last, 409, "last_active_staff_member").await;
}

#[tokio::test]
async fn a_members_settings_are_validated_before_anything_is_stored() {
    let app = spawn_app().await;
    let service = app.create_service(json!({})).await;
    let unknown_service = "0190a5c4-0000-7000-8000-000000000000";
    let cases = [
        (json!({ "name": "" }), "name"),
        (json!({ "name": "  " }), "name"),
        (
            json!({ "name": "Maria", "service_ids": [service, unknown_service] }),
            "service_ids",
        ),
        (
            json!({ "name": "Maria", "weekly_hours": { "monday": [{ "start": "14:00", "end": "10:00" }] } }),
            "hours",
        ),
        (
            json!({ "name": "Maria", "date_overrides": [{ "date": "2026-02-30" }] }),
            "date_overrides",
        ),
        (json!({ "name": "Maria", "max_per_day": 0 }), "max_per_day"),
    ];
    for (body, field) in &cases {
        let response = app.post("/v1/staff", body).await;
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(problem["field"], *field, "for {body}");
    }
    let first = app.get_json("/v1/staff").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (body, field) in [
        (json!({ "name": "" }), "name"),
        (json!({ "service_ids": [unknown_service] }), "service_ids"),
        (json!({ "max_per_day": 0 }), "max_per_day"),
        (json!({ "active": false }), "active"),
    ] {
        let response = app.patch(&format!("/v1/staff/{first}"), &body).await;
        let problem = assert_problem(response, 422, "validation_failed").await;
        assert_eq!(problem["field"], field, "for {body}");
    }
    let listed = app.get_json("/v1/staff").await;
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        1,
        "nothing was added"
    );
    assert_eq!(listed["items"][0]["version"], 1, "nor changed");
}

/// A business that never adds a second member sees availability as before staff members: the same slots, each with
/// its one member, whether it asks for anyone or for that member.
#[tokio::test]
async fn a_one_member_business_is_offered_the_times_it_was_offered_before() {
    let (app, service) = spawn_app_with_custom_service(json!({ "buffer_after_minutes": 15 })).await;
    app.booked(&service, TUESDAY_TEN).await;
    let first = app.get_json("/v1/staff").await["items"][0].clone();
    let url = format!("/v1/availability?service_id={service}&from=2026-12-01&to=2026-12-01");
    let anyone = app.get_json(&url).await;
    let starts = strings_at(&anyone["slots"], "start");
    // 09:00 to 16:30 every 15 minutes, but for the occupied [10:00, 10:45).
    let mut expected = Vec::new();
    for minutes in (9 * 60..=16 * 60 + 30).step_by(15) {
        if (9 * 60 + 30..=10 * 60 + 30).contains(&minutes) {
            continue;
        }
        expected.push(format!(
            "2026-12-01T{:02}:{:02}:00-05:00",
            minutes / 60,
            minutes % 60
        ));
    }
    assert_eq!(starts, expected);
    for slot in anyone["slots"].as_array().unwrap() {
        assert_eq!(
            slot["staff"],
            json!([{ "id": first["id"], "name": first["name"] }]),
            "{slot}"
        );
    }
    let named = app
        .get_json(&format!("{url}&staff_id={}", first["id"].as_str().unwrap()))
        .await;
    assert_eq!(named, anyone);
}
