//! `GET /v1/integrations`: every staff member's calendar connections; `/v1/staff/{staff_id}/integrations`: one
//! member's, connected and chosen against the Google emulator.

use booking_core::domain::{ConnectionId, StaffId};
use booking_core::ports::{CalendarConnection, ProviderKind};
use integration_tests::emulators::google::{self, GoogleEmulator};
use integration_tests::{
    TestApp, assert_problem, google_endpoints, spawn_app, spawn_app_with_provider,
};
use serde_json::{Value, json};

/// The first member's connection leads (today's clients read the first entry), and every other member's follows
/// with whose it is and the calendars checked for them.
#[tokio::test]
async fn every_members_connections_are_listed_the_first_members_first() {
    let app = spawn_app().await;
    let tom = StaffId::generate();
    let toms = CalendarConnection {
        id: ConnectionId::generate(),
        staff_id: tom,
        checked_calendars: vec!["tom-personal".to_owned(), "tom-work".to_owned()],
        ..app.calendar_connection(ProviderKind::MICROSOFT, "tom@clinic.example", "tom-work")
    };
    app.store_calendar_connection(toms.clone()).await;
    let marias = app.calendar_connection(ProviderKind::GOOGLE, "maria@clinic.example", "primary");
    app.store_calendar_connection(marias.clone()).await;

    let listed = app.get_json("/v1/integrations").await;
    let connections = listed["connections"].as_array().unwrap();
    assert_eq!(connections.len(), 2, "{listed}");
    let (first, second) = (&connections[0], &connections[1]);
    assert_eq!(first["id"], marias.id.to_string());
    assert_eq!(first["staff_id"], marias.staff_id.to_string());
    assert_eq!(first["provider"], "google");
    assert_eq!(first["calendar_id"], "primary");
    assert_eq!(first["checked_calendars"], serde_json::json!(["primary"]));
    assert_eq!(first["health"]["state"], "connected");
    assert_eq!(second["id"], toms.id.to_string());
    assert_eq!(second["staff_id"], tom.to_string());
    assert_eq!(second["account"], "tom@clinic.example");
    assert_eq!(
        second["checked_calendars"],
        serde_json::json!(["tom-work", "tom-personal"]),
        "the written calendar first, each once"
    );
}

/// A server whose only calendar provider is Google, served by `emulator`.
async fn spawn_app_with_google(emulator: &GoogleEmulator) -> TestApp {
    spawn_app_with_provider(
        ProviderKind::GOOGLE,
        google_endpoints(emulator),
        google::CLIENT_ID,
        google::CLIENT_SECRET,
    )
    .await
}

/// The first member's id and a new member's, named `name`.
async fn first_and_new_member(app: &TestApp, name: &str) -> (String, String) {
    let staff = app.get_json("/v1/staff").await;
    let first = staff["items"][0]["id"].as_str().unwrap().to_owned();
    let member = app.post_json("/v1/staff", &json!({ "name": name })).await;
    (first, member["id"].as_str().unwrap().to_owned())
}

/// Connects Google for `staff_id` as the member does: our connect URL, the emulator's consent (granted at once),
/// its redirect to the shared callback. Returns the member's new connection's id.
async fn member_connects_google(app: &TestApp, staff_id: &str) -> String {
    let started = app
        .post_json(
            &format!("/v1/staff/{staff_id}/integrations/google/connect"),
            &json!({}),
        )
        .await;
    let authorization_url = started["authorization_url"].as_str().expect("a URL");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let consent = browser.get(authorization_url).send().await.unwrap();
    assert_eq!(consent.status(), 302);
    let callback = consent.headers()["location"].to_str().unwrap().to_owned();
    let landed = browser.get(&callback).send().await.unwrap();
    assert_eq!(landed.status(), 200, "{}", landed.text().await.unwrap());
    let listed = app
        .get_json(&format!("/v1/staff/{staff_id}/integrations"))
        .await;
    let connections = listed["connections"].as_array().unwrap();
    assert_eq!(connections.len(), 1, "{listed}");
    assert_eq!(connections[0]["staff_id"], staff_id);
    connections[0]["id"].as_str().unwrap().to_owned()
}

/// Tom connects his own account, sees its calendars, chooses one written and one more checked, and disconnects;
/// Maria (the first member, connected through the business-level routes) keeps her choice throughout, and those
/// routes keep answering for her.
#[tokio::test]
async fn a_member_connects_chooses_and_disconnects_their_own_calendars_apart_from_the_first_members()
 {
    let emulator = GoogleEmulator::start().await;
    let app = spawn_app_with_google(&emulator).await;
    let (maria, tom) = first_and_new_member(&app, "Tom").await;
    app.connect_calendar("google").await;
    app.select_calendar("google", google::ACCOUNT).await;

    let toms = member_connects_google(&app, &tom).await;
    let calendars = app
        .get_json(&format!("/v1/staff/{tom}/integrations/{toms}/calendars"))
        .await;
    let ids: Vec<&str> = calendars["calendars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|calendar| calendar["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&google::TEAM_CALENDAR), "{calendars}");
    assert!(ids.contains(&google::HOLIDAYS_CALENDAR), "{calendars}");

    let choice = format!("/v1/staff/{tom}/integrations/{toms}/calendars");
    let chosen = app
        .put(
            &choice,
            &json!({ "written": google::TEAM_CALENDAR, "checked": [google::HOLIDAYS_CALENDAR] }),
        )
        .await;
    assert_eq!(chosen.status(), 200);
    let chosen: Value = chosen.json().await.unwrap();
    assert_eq!(chosen["connection"]["staff_id"], tom);
    assert_eq!(chosen["connection"]["calendar_id"], google::TEAM_CALENDAR);
    assert_eq!(
        chosen["connection"]["checked_calendars"],
        json!([google::TEAM_CALENDAR, google::HOLIDAYS_CALENDAR])
    );
    let listed = app.get_json(&format!("/v1/staff/{tom}/integrations")).await;
    assert_eq!(
        listed["connections"][0]["checked_calendars"],
        json!([google::TEAM_CALENDAR, google::HOLIDAYS_CALENDAR])
    );

    // Maria's choice is her own: unchanged by Tom's, and still what the business-level routes answer.
    let marias = app
        .get_json(&format!("/v1/staff/{maria}/integrations"))
        .await;
    assert_eq!(marias["connections"].as_array().unwrap().len(), 1);
    assert_eq!(marias["connections"][0]["calendar_id"], google::ACCOUNT);
    let business_level = app.get_json("/v1/integrations").await;
    assert_eq!(business_level["connections"][0]["staff_id"], maria);
    assert_eq!(
        business_level["connections"][0]["calendar_id"],
        google::ACCOUNT
    );
    assert_eq!(business_level["connections"].as_array().unwrap().len(), 2);

    let disconnected = app
        .delete(&format!("/v1/staff/{tom}/integrations/{toms}"))
        .await;
    assert_eq!(disconnected.status(), 204);
    let listed = app.get_json(&format!("/v1/staff/{tom}/integrations")).await;
    assert_eq!(listed["connections"], json!([]));
    let marias = app
        .get_json(&format!("/v1/staff/{maria}/integrations"))
        .await;
    assert_eq!(marias["connections"][0]["calendar_id"], google::ACCOUNT);
    let business_level = app.get_json("/v1/integrations").await;
    assert_eq!(business_level["connections"].as_array().unwrap().len(), 1);
    assert_eq!(business_level["connections"][0]["staff_id"], maria);
    // Tom's account is Maria's too (the emulator has one): revoking the grant would have ended her access, so only
    // Tom's copy of the tokens went, and her calendars still answer.
    assert_eq!(emulator.request_count("revoke"), 0);
    let still = app.get("/v1/integrations/google/calendars").await;
    assert_eq!(still.status(), 200, "{}", still.text().await.unwrap());
}

/// Every calendar of a choice is checked against the account's list, the written one must be writable, the body
/// is read strictly, and a connection answers only under its own member.
#[tokio::test]
async fn a_members_choice_is_checked_and_their_connection_is_theirs_alone() {
    let emulator = GoogleEmulator::start().await;
    let app = spawn_app_with_google(&emulator).await;
    let (maria, tom) = first_and_new_member(&app, "Tom").await;
    let toms = member_connects_google(&app, &tom).await;
    let choice = format!("/v1/staff/{tom}/integrations/{toms}/calendars");

    let read_only = app
        .put(&choice, &json!({ "written": google::HOLIDAYS_CALENDAR }))
        .await;
    assert_problem(read_only, 422, "calendar_not_writable").await;
    let unknown = app
        .put(
            &choice,
            &json!({ "written": null, "checked": ["not-a-calendar"] }),
        )
        .await;
    assert_problem(unknown, 404, "calendar_not_found").await;
    let extra_field = app
        .put(
            &choice,
            &json!({ "written": null, "calendar_id": "primary" }),
        )
        .await;
    assert_eq!(extra_field.status(), 400);

    let under_maria = app
        .get(&format!("/v1/staff/{maria}/integrations/{toms}/calendars"))
        .await;
    assert_problem(under_maria, 409, "calendar_not_connected").await;
    let removed_under_maria = app
        .delete(&format!("/v1/staff/{maria}/integrations/{toms}"))
        .await;
    assert_problem(removed_under_maria, 409, "calendar_not_connected").await;
    assert_eq!(
        app.get_json(&format!("/v1/staff/{tom}/integrations")).await["connections"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "still Tom's"
    );
}

/// A member of another business is no member here, and an inactive member connects nothing.
#[tokio::test]
async fn members_of_other_businesses_are_not_found_and_inactive_members_cannot_connect() {
    let emulator = GoogleEmulator::start().await;
    let app = spawn_app_with_google(&emulator).await;
    let other_key = app.other_business_key().await;
    let others = app.get_json_as(&other_key, "/v1/staff").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for response in [
        app.get(&format!("/v1/staff/{others}/integrations")).await,
        app.post(
            &format!("/v1/staff/{others}/integrations/google/connect"),
            &json!({}),
        )
        .await,
        app.delete(&format!(
            "/v1/staff/{others}/integrations/{}",
            ConnectionId::generate()
        ))
        .await,
    ] {
        assert_problem(response, 404, "staff_not_found").await;
    }

    let (_, tom) = first_and_new_member(&app, "Tom").await;
    let deactivated = app
        .post(&format!("/v1/staff/{tom}/deactivate"), &json!({}))
        .await;
    assert_eq!(deactivated.status(), 200);
    let connect = app
        .post(
            &format!("/v1/staff/{tom}/integrations/google/connect"),
            &json!({}),
        )
        .await;
    assert_problem(connect, 422, "staff_inactive").await;
}

/// A member keeps one written calendar: choosing one on a connection stops writing through their other
/// connection, whose calendar stays checked for conflicts.
#[tokio::test]
async fn choosing_a_written_calendar_stops_writing_through_the_members_other_connection() {
    let emulator = GoogleEmulator::start().await;
    let app = spawn_app_with_google(&emulator).await;
    let (_, tom) = first_and_new_member(&app, "Tom").await;
    let toms_google = member_connects_google(&app, &tom).await;
    let toms_outlook = CalendarConnection {
        id: ConnectionId::generate(),
        staff_id: tom.parse().unwrap(),
        ..app.calendar_connection(ProviderKind::MICROSOFT, "tom@outlook.example", "tom-work")
    };
    app.store_calendar_connection(toms_outlook.clone()).await;

    let chosen = app
        .put(
            &format!("/v1/staff/{tom}/integrations/{toms_google}/calendars"),
            &json!({ "written": google::TEAM_CALENDAR }),
        )
        .await;
    assert_eq!(chosen.status(), 200);

    let outlook = app
        .store
        .get_calendar_connection(toms_outlook.business_id, toms_outlook.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outlook.calendar_id, None, "no longer written to");
    assert_eq!(outlook.checked_calendars, ["tom-work"], "still checked");
}
