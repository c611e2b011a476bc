//! `GET /v1/integrations`: every staff member's calendar connections.

use booking_core::domain::{ConnectionId, StaffId};
use booking_core::ports::{CalendarConnection, ProviderKind};
use integration_tests::spawn_app;

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
