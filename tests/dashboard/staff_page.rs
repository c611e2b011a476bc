//! The Staff page: adding a member, their hours, services and limit, time off, deactivating with the choice for
//! their appointments ahead, and who is booked when the caller does not mind. What the forms save is read back
//! through REST, and what the hours mean through REST's availability.

use integration_tests::{TestApp, booking, spawn_app, strings_at};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Visitor, location, signed_in, signed_in_staff};

const OWNER: &str = "owner@clinic.test";

/// The starts REST offers for `service` on `date` with `staff` (anyone when `None`).
async fn starts(app: &TestApp, service: &str, date: &str, staff: Option<&str>) -> Vec<String> {
    let with = staff.map_or(String::new(), |id| format!("&staff_id={id}"));
    let body = app
        .get_json(&format!(
            "/v1/availability?service_id={service}&from={date}&to={date}{with}"
        ))
        .await;
    strings_at(&body["slots"], "start")
}

/// Adds a member through the page; returns their id.
async fn added(owner: &Visitor<'_>, name: &str) -> String {
    let response = owner
        .submit("/dashboard/staff", "/dashboard/staff", &[("name", name)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let went = location(&response);
    let id = went
        .strip_prefix("/dashboard/staff/")
        .and_then(|rest| rest.strip_suffix("?notice=added"))
        .unwrap_or_else(|| panic!("{went}"));
    id.to_owned()
}

fn version_of(page: &str) -> String {
    let marker = "name=\"expected_version\" value=\"";
    let start = page.find(marker).unwrap() + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

fn first_member(staff: &Value) -> String {
    staff["items"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_owner_adds_a_member_and_sets_their_services_hours_and_limit() {
    let app = spawn_app().await;
    let service = app.create_service(json!({})).await;
    let other_service = app.create_service(json!({ "name": "Cleaning" })).await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;

    let refused = owner
        .submit("/dashboard/staff", "/dashboard/staff", &[("name", "  ")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("There is a problem"));

    let tom = added(&owner, "Tom").await;
    let list = owner.page("/dashboard/staff").await;
    assert!(
        list.contains(&format!("href=\"/dashboard/staff/{tom}\">Tom</a>")),
        "{list}"
    );
    assert!(list.contains("All services") && list.contains("Whenever the service is open"));

    let path = format!("/dashboard/staff/{tom}");
    let page = owner.page(&path).await;
    let version = version_of(&page);
    let performs = format!("performs-{service}");
    let form = |monday: &'static str| {
        [
            ("expected_version", version.clone()),
            ("name", "Tom Baker".to_owned()),
            ("max_per_day", "3".to_owned()),
            ("services", "chosen".to_owned()),
            (performs.as_str(), "on".to_owned()),
            ("hours", "own".to_owned()),
            ("monday", monday.to_owned()),
            ("tuesday", String::new()),
        ]
    };
    let send = async |fields: [(&str, String); 8]| {
        let borrowed = fields
            .each_ref()
            .map(|(name, value)| (*name, value.as_str()));
        owner.submit(&path, &path, &borrowed).await
    };

    // A day that cannot be read comes back with the problem beside it and what was typed kept.
    let bad = send(form("10:00-09:00")).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad = bad.text().await.unwrap();
    assert!(bad.contains("href=\"#monday\""), "{bad}");
    assert!(bad.contains("value=\"10:00-09:00\""));
    assert_eq!(
        app.get_json(&format!("/v1/staff/{tom}")).await["name"],
        "Tom"
    );

    let saved = send(form("10:00-12:00")).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), format!("{path}?notice=saved"));
    let stored = app.get_json(&format!("/v1/staff/{tom}")).await;
    assert_eq!(stored["name"], "Tom Baker");
    assert_eq!(stored["max_per_day"], 3);
    assert_eq!(stored["service_ids"], json!([service]));
    assert_eq!(
        stored["weekly_hours"]["monday"],
        json!([{ "start": "10:00", "end": "12:00" }])
    );
    // Within both the service's hours and his: Monday 10:00 to 11:30 only, and not the service he does not do.
    let monday = starts(&app, &service, "2026-12-07", Some(&tom)).await;
    assert_eq!(monday.first().unwrap(), "2026-12-07T10:00:00-05:00");
    assert_eq!(monday.last().unwrap(), "2026-12-07T11:30:00-05:00");
    assert!(
        starts(&app, &service, "2026-12-08", Some(&tom))
            .await
            .is_empty()
    );
    let cleaning = app
        .get(&format!(
            "/v1/availability?service_id={other_service}&from=2026-12-07&to=2026-12-07&staff_id={tom}"
        ))
        .await;
    let cleaning_status = cleaning.status();
    let cleaning: Value = cleaning.json().await.unwrap();
    assert!(
        !cleaning_status.is_success() || cleaning["slots"].as_array().unwrap().is_empty(),
        "{cleaning}"
    );

    // The form filled in before that save is refused rather than saved over it.
    let stale = send(form("13:00-14:00")).await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert!(
        stale
            .text()
            .await
            .unwrap()
            .contains("Someone saved a change")
    );
    assert_eq!(
        app.get_json(&format!("/v1/staff/{tom}")).await["weekly_hours"]["monday"],
        json!([{ "start": "10:00", "end": "12:00" }])
    );
    let page = owner.page(&path).await;
    assert!(page.contains("<h1>Tom Baker</h1>"), "{page}");
    assert!(page.contains("value=\"10:00-12:00\""));
}

#[tokio::test]
async fn time_off_blocks_that_dates_availability_and_removing_it_frees_it() {
    let app = spawn_app().await;
    let service = app.create_service(json!({})).await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    let tom = added(&owner, "Tom").await;
    let path = format!("/dashboard/staff/{tom}");
    let time_off = |fields: Vec<(&'static str, &'static str)>| {
        let owner = &owner;
        let path = &path;
        async move {
            let version = version_of(&owner.page(path).await);
            let mut all = vec![("expected_version", version.as_str())];
            all.extend(fields);
            owner.submit(path, &format!("{path}/time-off"), &all).await
        }
    };
    assert!(
        !starts(&app, &service, "2026-12-01", Some(&tom))
            .await
            .is_empty()
    );

    let off = time_off(vec![("from", "2026-12-01"), ("to", "2026-12-02")]).await;
    assert_eq!(off.status(), StatusCode::SEE_OTHER);
    assert!(
        starts(&app, &service, "2026-12-01", Some(&tom))
            .await
            .is_empty()
    );
    assert!(
        starts(&app, &service, "2026-12-02", Some(&tom))
            .await
            .is_empty()
    );
    assert!(
        !starts(&app, &service, "2026-12-03", Some(&tom))
            .await
            .is_empty()
    );
    // The first member is still there for anyone.
    assert!(!starts(&app, &service, "2026-12-01", None).await.is_empty());

    let special = time_off(vec![
        ("from", "2026-12-03"),
        ("special_hours", "10:00-11:00"),
    ])
    .await;
    assert_eq!(special.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        starts(&app, &service, "2026-12-03", Some(&tom)).await,
        [
            "2026-12-03T10:00:00-05:00",
            "2026-12-03T10:15:00-05:00",
            "2026-12-03T10:30:00-05:00"
        ]
    );
    let page = owner.page(&path).await;
    assert!(page.contains("Tue 1 Dec to Wed 2 Dec: off"), "{page}");
    assert!(page.contains("10:00-11:00"));

    let backwards = time_off(vec![("from", "2026-12-09"), ("to", "2026-12-08")]).await;
    assert_eq!(backwards.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        backwards
            .text()
            .await
            .unwrap()
            .contains("the last day comes on or after the first")
    );

    let version = version_of(&owner.page(&path).await);
    let removed = owner
        .submit(
            &path,
            &format!("{path}/time-off/remove"),
            &[
                ("expected_version", &version),
                ("from", "2026-12-01"),
                ("to", "2026-12-02"),
            ],
        )
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);
    assert!(
        !starts(&app, &service, "2026-12-01", Some(&tom))
            .await
            .is_empty()
    );
    let stored = app.get_json(&format!("/v1/staff/{tom}")).await;
    assert_eq!(stored["date_overrides"].as_array().unwrap().len(), 1);
}

/// Submits `member`'s deactivation form from their page, saying what becomes of their appointments ahead.
async fn deactivate(owner: &Visitor<'_>, member: &str, future: &str) -> reqwest::Response {
    let path = format!("/dashboard/staff/{member}");
    owner
        .submit(&path, &format!("{path}/deactivate"), &[("future", future)])
        .await
}

#[tokio::test]
async fn deactivating_a_member_with_appointments_ahead_asks_first_and_reassign_moves_them() {
    let app = spawn_app().await;
    let service = app.create_service(json!({})).await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    let first = first_member(&app.get_json("/v1/staff").await);
    let tom = added(&owner, "Tom").await;
    let mut body = booking(&service, "2026-12-01T10:00:00-05:00");
    body["staff_id"] = json!(tom);
    let appointment = app.post_json("/v1/appointments", &body).await;
    let appointment = appointment["id"].as_str().unwrap().to_owned();
    let path = format!("/dashboard/staff/{tom}");
    let active = async || app.get_json(&format!("/v1/staff/{tom}")).await["active"].clone();

    let asked = deactivate(&owner, &tom, "refuse").await;
    assert_eq!(asked.status(), StatusCode::CONFLICT);
    let asked = asked.text().await.unwrap();
    assert!(asked.contains("Tom has 1 appointment ahead"), "{asked}");
    assert!(asked.contains("value=\"reassign\"") && asked.contains("value=\"cancel\""));
    assert_eq!(active().await, true);

    let moved = deactivate(&owner, &tom, "reassign").await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    assert_eq!(active().await, false);
    let detail = app
        .get_json(&format!("/v1/appointments/{appointment}"))
        .await;
    assert_eq!(detail["staff"]["id"], json!(first));
    assert_eq!(detail["status"], "booked");

    // The last active member cannot go, and the page says why.
    let refused = deactivate(&owner, &first, "cancel").await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("at least one active staff member")
    );

    let back = owner
        .submit(&path, &format!("{path}/reactivate"), &[])
        .await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    assert_eq!(active().await, true);
}

#[tokio::test]
async fn the_owner_chooses_who_is_booked_when_the_caller_does_not_mind() {
    let app = spawn_app().await;
    let service = app.create_service(json!({})).await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    let tom = added(&owner, "Tom").await;
    let list = owner.page("/dashboard/staff").await;
    assert!(list.contains("When the caller does not mind who"), "{list}");

    let position = format!("position-{tom}");
    let unreadable = owner
        .submit(
            "/dashboard/staff",
            "/dashboard/staff/assignment",
            &[("policy", "priority"), (&position, "first")],
        )
        .await;
    assert_eq!(unreadable.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let chosen = owner
        .submit(
            "/dashboard/staff",
            "/dashboard/staff/assignment",
            &[("policy", "priority"), (&position, "1")],
        )
        .await;
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    let page = owner.page("/dashboard/staff").await;
    assert!(
        page.contains(&format!(
            "name=\"{position}\" type=\"number\" min=\"1\" inputmode=\"numeric\" value=\"1\""
        )),
        "{page}"
    );
    let booked = app.booked(&service, "2026-12-01T10:00:00-05:00").await;
    assert_eq!(booked["staff"]["id"], json!(tom), "Tom is asked first");
}

#[tokio::test]
async fn staff_read_the_staff_pages_and_change_nothing() {
    let app = spawn_app().await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    let tom = added(&owner, "Tom").await;
    let staff = signed_in_staff(&app, &app.business_id, "ana@clinic.test").await;
    let list = staff.page("/dashboard/staff").await;
    assert!(
        list.contains("Tom") && !list.contains("Add member"),
        "{list}"
    );
    assert!(!list.contains("When the caller does not mind who"));
    let page = staff.page(&format!("/dashboard/staff/{tom}")).await;
    assert!(page.contains("Whenever the service is open"));
    assert!(!page.contains("Save changes") && !page.contains("/deactivate"));

    // The sign-in accounts are another page's: the keys page, under its own name.
    let keys = owner.page("/dashboard/api-keys").await;
    assert!(
        keys.contains("People who sign in") && keys.contains("action=\"/dashboard/team/invite\"")
    );
}

#[tokio::test]
async fn book_manually_names_a_member_or_anyone_once_there_are_two() {
    let app = spawn_app().await;
    let service = app.create_service(json!({})).await;
    let other_service = app.create_service(json!({ "name": "Cleaning" })).await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    let day = format!("/dashboard/book?service={service}&date=2026-12-01");
    let alone = owner.page(&day).await;
    assert!(
        !alone.contains("label for=\"staff\""),
        "one diary: today's page"
    );

    let tom = app
        .post_json(
            "/v1/staff",
            &json!({
                "name": "Tom",
                "service_ids": [service],
                "weekly_hours": { "tuesday": [{ "start": "14:00", "end": "15:00" }] }
            }),
        )
        .await;
    let tom = tom["id"].as_str().unwrap().to_owned();
    let page = owner.page(&day).await;
    assert!(
        page.contains("<option value=\"\" selected>Anyone</option>"),
        "{page}"
    );
    assert!(page.contains(&format!("<option value=\"{tom}\">Tom</option>")));
    // Only those who perform the service are offered.
    let cleaning = owner
        .page(&format!(
            "/dashboard/book?service={other_service}&date=2026-12-01"
        ))
        .await;
    assert!(!cleaning.contains(&format!("value=\"{tom}\"")));

    let toms = format!("{day}&staff={tom}");
    let page = owner.page(&toms).await;
    assert!(page.contains("value=\"2026-12-01T14:00:00-05:00\""));
    assert!(
        !page.contains("value=\"2026-12-01T09:00:00-05:00\""),
        "his hours only"
    );
    assert!(page.contains(&format!("name=\"staff\" value=\"{tom}\"")));

    let with_tom = owner
        .submit(
            &toms,
            "/dashboard/book",
            &[
                ("service", &service),
                ("date", "2026-12-01"),
                ("staff", &tom),
                ("start", "2026-12-01T14:00:00-05:00"),
                ("name", "Ben With Tom"),
            ],
        )
        .await;
    assert_eq!(with_tom.status(), StatusCode::SEE_OTHER);
    let confirmation = location(&with_tom);
    let booked = app
        .get_json(
            &confirmation
                .replace("/dashboard/appointments/", "/v1/appointments/")
                .replace("?notice=booked", ""),
        )
        .await;
    assert_eq!(booked["staff"]["id"], json!(tom));
    assert!(owner.page(&confirmation).await.contains("Booked with Tom."));

    // Anyone at 09:00: only the first member works then.
    let anyone = owner
        .submit(
            &day,
            "/dashboard/book",
            &[
                ("service", &service),
                ("date", "2026-12-01"),
                ("staff", ""),
                ("start", "2026-12-01T09:00:00-05:00"),
                ("name", "Ana Anyone"),
            ],
        )
        .await;
    assert_eq!(anyone.status(), StatusCode::SEE_OTHER);
    let confirmation = location(&anyone);
    assert!(
        owner
            .page(&confirmation)
            .await
            .contains("Booked with Test Clinic.")
    );
}

#[tokio::test]
async fn a_services_page_chooses_who_performs_it_and_keeps_one_active_performer() {
    let app = spawn_app().await;
    let service = app.create_service(json!({})).await;
    let other_service = app.create_service(json!({ "name": "Cleaning" })).await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    let path = format!("/dashboard/services/{service}");
    assert!(
        !owner.page(&path).await.contains("Who performs it"),
        "one diary: today's page"
    );

    let first = first_member(&app.get_json("/v1/staff").await);
    let tom = app.post_json("/v1/staff", &json!({ "name": "Tom" })).await;
    let tom = tom["id"].as_str().unwrap().to_owned();
    let page = owner.page(&path).await;
    assert!(page.contains("Who performs it"), "{page}");
    assert!(page.contains(&format!(
        "id=\"performs-{first}\" name=\"performs-{first}\" checked"
    )));

    let action = format!("{path}/performers");
    let nobody = owner.submit(&path, &action, &[]).await;
    assert_eq!(nobody.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        nobody
            .text()
            .await
            .unwrap()
            .contains("tick at least one active staff member")
    );
    assert_eq!(
        app.get_json(&format!("/v1/staff/{first}")).await["service_ids"],
        Value::Null
    );

    let tom_field = format!("performs-{tom}");
    let only_tom = owner.submit(&path, &action, &[(&tom_field, "on")]).await;
    assert_eq!(only_tom.status(), StatusCode::SEE_OTHER);
    // The first member keeps every other service; Tom, who already did all, is unchanged.
    assert_eq!(
        app.get_json(&format!("/v1/staff/{first}")).await["service_ids"],
        json!([other_service])
    );
    assert_eq!(
        app.get_json(&format!("/v1/staff/{tom}")).await["service_ids"],
        Value::Null
    );
    let page = owner.page(&path).await;
    assert!(page.contains(&format!(
        "id=\"performs-{first}\" name=\"performs-{first}\">"
    )));
    // Booking anyone now goes to Tom, the only one who performs it.
    let booked = app.booked(&service, "2026-12-01T10:00:00-05:00").await;
    assert_eq!(booked["staff"]["id"], json!(tom));
}
