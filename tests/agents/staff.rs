//! A business with two staff members, Maria and Tom, through `/mcp` as an agent calls it: a caller asks for Maria by
//! name (however it is spelled), another for whoever is free; every time offered and every appointment says with
//! whom, and a name that fits several members is answered with the candidates.

use integration_tests::TestApp;
use serde_json::{Value, json};

use crate::{answer, booked_appointment, client, tool_error};

/// Renames the business's first member to Maria and adds Tom; returns their ids.
async fn maria_and_tom(app: &TestApp) -> (String, String) {
    let staff = app.get_json("/v1/staff").await;
    let first = staff["items"][0]["id"].as_str().unwrap().to_owned();
    let maria = app
        .patch_json(&format!("/v1/staff/{first}"), &json!({ "name": "Maria" }))
        .await;
    assert_eq!(maria["name"], "Maria");
    let tom = app.post_json("/v1/staff", &json!({ "name": "Tom" })).await;
    (first, tom["id"].as_str().unwrap().to_owned())
}

fn staff_ids(time: &Value) -> Vec<&str> {
    time["staff"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| member["staff_id"].as_str().unwrap())
        .collect()
}

/// Monday 2026-11-30 08:00 in New York is "now".
async fn two_members_call(app: TestApp) {
    let service_id = app.create_service(json!({})).await;
    let (maria, tom) = maria_and_tom(&app).await;
    let client = client(&app).await;

    let context = answer(&client, "get_business_context", json!({})).await;
    // Each member's own calendar: neither has connected one.
    let no_calendar = json!({
        "state": "not_connected",
        "message": "No calendar is connected; free times come from the bookings made here.",
    });
    assert_eq!(
        context["staff"],
        json!([
            { "staff_id": maria, "name": "Maria", "services": ["Consultation"], "calendar": no_calendar },
            { "staff_id": tom, "name": "Tom", "services": ["Consultation"], "calendar": no_calendar },
        ])
    );
    assert!(
        context["summary"].as_str().unwrap().contains(
            "Services: Consultation (30 minutes). Staff: Maria (Consultation); Tom (Consultation)."
        ),
        "{context}"
    );

    // "With Maria on Tuesday afternoon."
    let afternoon = answer(
        &client,
        "find_available_times",
        json!({ "service_id": service_id, "date": "2026-12-01", "part_of_day": "afternoon", "staff": "with Maria" }),
    )
    .await;
    assert_eq!(
        afternoon["summary"],
        "Consultation is free on Tuesday, December 1 at noon, or 1, 2:15, 3:15 or 4:30 PM with Maria. 14 more \
         times are free on Tuesday, December 1 in the afternoon; ask for a narrower time to hear them."
    );
    let offered = &afternoon["days"][0]["times"][2];
    assert_eq!(staff_ids(offered), [maria.as_str()]);
    assert_eq!(offered["staff"][0]["name"], "Maria");

    let held = answer(
        &client,
        "hold_time",
        json!({ "service_id": service_id, "start": offered["start"], "staff": "maria" }),
    )
    .await;
    assert_eq!(
        held["summary"],
        "Tuesday, December 1 at 2:15 PM is held for Consultation with Maria for 5 minutes, until 8:05 AM, while \
         the caller decides; book it with the hold_id."
    );
    assert_eq!(held["staff"]["staff_id"], maria);
    let booked = answer(
        &client,
        "book_appointment",
        json!({ "hold_id": held["hold_id"], "customer_name": "Ana Silva", "customer_phone": "+14155550123" }),
    )
    .await;
    assert_eq!(
        booked["summary"],
        "Consultation is booked for Ana Silva with Maria on Tuesday, December 1 at 2:15 PM."
    );
    let (appointment_id, stored) = booked_appointment(&app, &booked).await;
    assert_eq!(stored["staff"]["id"], maria);

    let found = answer(
        &client,
        "find_caller_appointments",
        json!({ "phone": "+14155550123" }),
    )
    .await;
    assert_eq!(
        found["summary"],
        "There is one upcoming appointment for this number: Consultation for Ana Silva with Maria on Tuesday, \
         December 1 at 2:15 PM."
    );
    assert_eq!(found["appointments"][0]["staff"]["name"], "Maria");

    // Moving it keeps Maria; moving it "to Tom" gives it to Tom.
    let moved = answer(
        &client,
        "reschedule_appointment",
        json!({ "appointment_id": appointment_id, "start": "2026-12-01T15:00" }),
    )
    .await;
    assert_eq!(
        moved["summary"],
        "Consultation for Ana Silva is now with Maria on Tuesday, December 1 at 3 PM."
    );
    let to_tom = answer(
        &client,
        "reschedule_appointment",
        json!({ "appointment_id": appointment_id, "start": "2026-12-01T15:00", "staff": "Tom" }),
    )
    .await;
    assert_eq!(
        to_tom["summary"],
        "Consultation for Ana Silva is now with Tom on Tuesday, December 1 at 3 PM."
    );
    assert_eq!(
        app.get_json(&format!("/v1/appointments/{appointment_id}"))
            .await["staff"]["id"],
        tom
    );

    // Wednesday at ten: Maria (her 30 minutes keep her busy until 10:30) (spelled as a caller's accent would have it) is booked, so "anyone" gets Tom.
    let with_maria = answer(
        &client,
        "book_appointment",
        json!({ "service_id": service_id, "start": "2026-12-02T10:00", "staff": "MARÍA",
                "customer_name": "Ben Okafor", "customer_phone": "+14155550124" }),
    )
    .await;
    assert_eq!(with_maria["appointment"]["staff"]["staff_id"], maria);
    let at_ten = answer(
        &client,
        "find_available_times",
        json!({ "service_id": service_id, "date": "2026-12-02", "earliest_time": "10:00", "latest_time": "10:30" }),
    )
    .await;
    assert_eq!(
        at_ten["summary"],
        "Consultation is free on Wednesday, December 2 at 10 or 10:15 AM with Tom, or 10:30 AM with Maria or Tom."
    );
    assert_eq!(staff_ids(&at_ten["days"][0]["times"][0]), [tom.as_str()]);
    let check = answer(
        &client,
        "check_time",
        json!({ "service_id": service_id, "start": "2026-12-02T10:00" }),
    )
    .await;
    assert_eq!(
        check["summary"],
        "Wednesday, December 2 at 10 AM is free for Consultation with Tom."
    );
    let maria_busy = answer(
        &client,
        "check_time",
        json!({ "service_id": service_id, "start": "2026-12-02T10:00", "staff": maria }),
    )
    .await;
    assert_eq!(maria_busy["available"], false);
    assert!(
        maria_busy["summary"]
            .as_str()
            .unwrap()
            .starts_with("Wednesday, December 2 at 10 AM is not available with Maria: that time is already booked. The nearest free times with Maria are"),
        "{maria_busy}"
    );
    let anyone = answer(
        &client,
        "book_appointment",
        json!({ "service_id": service_id, "start": "2026-12-02T10:00",
                "customer_name": "Cleo Diaz", "customer_phone": "+14155550125" }),
    )
    .await;
    assert_eq!(
        anyone["summary"],
        "Consultation is booked for Cleo Diaz with Tom on Wednesday, December 2 at 10 AM."
    );

    // A second María: the name alone no longer says who, so the agent is given both to ask about.
    let other = app
        .post_json("/v1/staff", &json!({ "name": "María José" }))
        .await;
    let refused = tool_error(
        &client,
        "check_time",
        json!({ "service_id": service_id, "start": "2026-12-03T10:00", "staff": "maria" }),
    )
    .await;
    assert!(
        refused.contains(&format!("Maria (staff_id {maria})"))
            && refused.contains(&format!(
                "María José (staff_id {})",
                other["id"].as_str().unwrap()
            ))
            && refused.contains("ask the caller which one"),
        "{refused}"
    );
    let unknown = tool_error(
        &client,
        "find_available_times",
        json!({ "service_id": service_id, "staff": "Dr. Patel" }),
    )
    .await;
    assert!(
        unknown.contains("nobody here is called \"Dr. Patel\"")
            && unknown.contains(&format!("Tom (staff_id {tom})")),
        "{unknown}"
    );
    client.cancel().await.unwrap();
}

on_both_stores!(two_members_call: two_members_on_the_embedded_store, two_members_on_dynamodb_local);
