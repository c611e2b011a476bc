//! The calendar page: a day as a grid with a column per staff member (appointments, holds and busy time placed on
//! their rows), a week as a table, DST days with their 23 or 25 hour rows, refused queries as problems; and, in
//! headless Chromium, both views at laptop and phone width checked with axe-core.

use booking_core::domain::{Interval, StaffId};
use booking_core::ports::BusyEvent;
use integration_tests::{TestApp, every_day, spawn_app};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::browser::Owner;
use crate::staff::booked_with;
use crate::support::signed_in;
use crate::webdriver::browser_available;

const OWNER: &str = "owner@clinic.test";
/// Tuesday 1 December 2026, when the test service (09:00–17:00 on weekdays) is open.
const TUESDAY: &str = "/dashboard/calendar?date=2026-12-01";

/// The business's first member renamed Maria, and Tom added: their ids.
async fn maria_and_tom(app: &TestApp) -> (String, String) {
    let maria = app.get_json("/v1/staff").await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch_json(&format!("/v1/staff/{maria}"), &json!({ "name": "Maria" }))
        .await;
    let tom = app.post_json("/v1/staff", &json!({ "name": "Tom" })).await;
    (maria, tom["id"].as_str().unwrap().to_owned())
}

/// The part of a day page that is `name`'s column.
fn column<'a>(page: &'a str, name: &str) -> &'a str {
    let start = page
        .find(&format!(
            "<section class=\"cal-col\" aria-label=\"{name}\">"
        ))
        .unwrap_or_else(|| panic!("no column for {name}:\n{page}"));
    let rest = &page[start..];
    &rest[..rest.find("</section>").unwrap()]
}

fn instant(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Holds `start` with `staff_id`, and makes their calendar busy 12:00–13:00 on Tuesday 1 December.
async fn held_over_lunch(app: &TestApp, service: &str, start: &str, staff_id: &str) {
    let response = app
        .post(
            "/v1/holds",
            &json!({ "service_id": service, "start": start, "staff_id": staff_id }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let member = staff_id.parse().unwrap();
    busy(app, member, "2026-12-01T17:00:00Z", "2026-12-01T18:00:00Z").await;
}

/// Makes `member`'s calendar busy from `from` to `to`.
async fn busy(app: &TestApp, member: StaffId, from: &str, to: &str) {
    app.store
        .put_busy_event(&BusyEvent {
            business_id: app.business_id.parse().unwrap(),
            staff_id: member,
            calendar_key: "primary".into(),
            event_id: format!("busy from {from}"),
            intervals: vec![Interval::new(instant(from), instant(to)).unwrap()],
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_day_has_a_column_per_member_with_each_appointment_on_its_rows_linking_to_its_page() {
    let app = spawn_app().await;
    let service = app.create_service(json!({})).await;
    let (maria, tom) = maria_and_tom(&app).await;
    let at_nine = booked_with(
        &app,
        &service,
        "2026-12-01T09:00:00-05:00",
        Some(&maria),
        "Ana Early",
    )
    .await;
    let at_ten = booked_with(
        &app,
        &service,
        "2026-12-01T10:15:00-05:00",
        Some(&tom),
        "Ben Later",
    )
    .await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;

    let page = owner.page(TUESDAY).await;
    assert!(
        page.contains("<h2 id=\"cal-title\">Tue 1 Dec</h2>"),
        "{page}"
    );
    // The service's hours, 09:00 to 17:00: eight hour rows of twelve five-minute rows.
    assert_eq!(page.matches("class=\"cal-hour ").count(), 8, "{page}");
    assert!(page.contains("class=\"cal-hour at-0 span-12\">09:00<"));
    assert!(page.contains("class=\"cal-hour at-84 span-12\">16:00<"));
    let marias = column(&page, "Maria");
    assert!(
        marias.contains(&format!(
            "class=\"cal-block cal-appointment at-0 span-6\" href=\"/dashboard/appointments/{at_nine}\""
        )),
        "{marias}"
    );
    assert!(marias.contains("09:00–09:30</strong> Ana Early") && marias.contains("Consultation"));
    assert!(!marias.contains("Ben Later"));
    let toms = column(&page, "Tom");
    assert!(
        toms.contains(&format!(
            "class=\"cal-block cal-appointment at-15 span-6\" href=\"/dashboard/appointments/{at_ten}\""
        )),
        "{toms}"
    );
    assert!(
        !page.contains("4155550123"),
        "the caller's number is not shown"
    );
    assert!(page.contains("<a href=\"/dashboard/calendar\" aria-current=\"page\">Calendar</a>"));

    // Opening later than an appointment widens the day to that appointment's whole hour.
    app.patch_json(
        &format!("/v1/services/{service}"),
        &json!({ "weekly_hours": every_day("10:00", "16:00") }),
    )
    .await;
    let widened = owner.page(TUESDAY).await;
    assert_eq!(widened.matches("class=\"cal-hour ").count(), 7, "{widened}");
    assert!(
        widened.contains("class=\"cal-hour at-0 span-12\">09:00<"),
        "{widened}"
    );
    assert!(
        widened.contains("class=\"cal-hour at-72 span-12\">15:00<"),
        "{widened}"
    );
    assert!(column(&widened, "Tom").contains("cal-appointment at-15 span-6"));
}

#[tokio::test]
async fn a_live_hold_and_the_calendars_busy_time_are_shown_and_the_hold_goes_when_it_expires() {
    let app = spawn_app().await;
    let service = app.create_service(json!({})).await;
    let (_, tom) = maria_and_tom(&app).await;
    held_over_lunch(&app, &service, "2026-12-01T11:00:00-05:00", &tom).await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;

    let page = owner.page(TUESDAY).await;
    let toms = column(&page, "Tom");
    assert!(
        toms.contains("class=\"cal-block cal-hold at-24 span-6\""),
        "{toms}"
    );
    assert!(
        toms.contains("11:00–11:30</strong> Held until 08:05"),
        "{toms}"
    );
    assert!(!column(&page, "Maria").contains("cal-hold"));
    // Tom's calendar keeps Tom busy, and nobody else.
    assert!(
        toms.contains("class=\"cal-block cal-busy at-36 span-12\""),
        "{toms}"
    );
    assert!(toms.contains("Busy 12:00–13:00"), "{toms}");
    assert!(!column(&page, "Maria").contains("cal-busy"));

    app.clock.advance(SignedDuration::from_mins(6));
    let later = owner.page(TUESDAY).await;
    assert!(
        !later.contains("cal-hold at-"),
        "an expired hold keeps nothing"
    );
}

#[tokio::test]
async fn a_week_lists_each_members_blocks_under_their_day() {
    let app = spawn_app().await;
    let service = app.create_service(json!({})).await;
    let (maria, tom) = maria_and_tom(&app).await;
    let booked = booked_with(
        &app,
        &service,
        "2026-12-03T14:00:00-05:00",
        Some(&tom),
        "Dee Thursday",
    )
    .await;
    booked_with(
        &app,
        &service,
        "2026-12-07T09:00:00-05:00",
        Some(&maria),
        "Next Week",
    )
    .await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;

    let page = owner
        .page("/dashboard/calendar?date=2026-12-03&view=week")
        .await;
    assert!(page.contains("Mon 30 Nov – Sun 6 Dec"), "{page}");
    assert!(!page.contains("Next Week"), "the week ends on Sunday");
    let toms_row = &page[page.find("<th scope=\"row\">Tom</th>").unwrap()..];
    let toms_row = &toms_row[..toms_row.find("</tr>").unwrap()];
    let cells: Vec<&str> = toms_row.split("<td>").skip(1).collect();
    assert_eq!(cells.len(), 7);
    assert!(
        cells[3].contains(&format!("href=\"/dashboard/appointments/{booked}\""))
            && cells[3].contains("14:00–14:30</strong> Dee Thursday"),
        "Thursday's cell: {}",
        cells[3]
    );
    assert!(
        page.contains("<a href=\"/dashboard/calendar?date=2026-12-03&amp;view=day\">Thu 3 Dec</a>")
    );
    assert!(
        page.contains("href=\"/dashboard/calendar?date=2026-11-26&amp;view=week\" rel=\"prev\"")
    );
    assert!(
        page.contains("href=\"/dashboard/calendar?date=2026-12-10&amp;view=week\" rel=\"next\"")
    );

    // Without a query: today, as a day, in the business's zone.
    let today = owner.page("/dashboard/calendar").await;
    assert!(
        today.contains("<h2 id=\"cal-title\">Mon 30 Nov</h2>"),
        "{today}"
    );
}

#[tokio::test]
async fn a_25_hour_and_a_23_hour_day_have_their_hour_rows_and_blocks_at_their_local_times() {
    let app = spawn_app().await;
    let service = app
        .create_service(json!({ "weekly_hours": every_day("00:00", "24:00") }))
        .await;

    // New York falls back on 7 November 2027: 01:00–02:00 happens twice.
    app.clock.set(instant("2027-11-01T12:00:00Z"));
    booked_with(
        &app,
        &service,
        "2027-11-07T01:30:00-04:00",
        None,
        "First Half Past One",
    )
    .await;
    // The engine offers a wall time once, so the repeated hour's block is the calendar's busy time.
    let first = StaffId::first_of(app.business_id.parse().unwrap());
    busy(&app, first, "2027-11-07T06:30:00Z", "2027-11-07T07:00:00Z").await;
    // Signed in at the test's moment: a session from the default "now" would have expired.
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    let fall = owner.page("/dashboard/calendar?date=2027-11-07").await;
    assert_eq!(fall.matches("class=\"cal-hour ").count(), 25, "{fall}");
    assert!(fall.contains("class=\"cal-hour at-12 span-12\">01:00<"));
    assert!(fall.contains("class=\"cal-hour at-24 span-12\">01:00 EST<"));
    assert!(fall.contains("cal-appointment at-18 span-6\""), "{fall}");
    assert!(fall.contains("cal-busy at-30 span-6\""), "{fall}");
    assert!(fall.contains("Busy 01:30–02:00"));
    assert!(fall.contains("01:30 EDT–01:00 EST</strong> First Half Past One"));

    // And springs forward on 14 March 2027: 02:00–03:00 never happens.
    app.clock.set(instant("2027-03-01T12:00:00Z"));
    booked_with(
        &app,
        &service,
        "2027-03-14T03:30:00-04:00",
        None,
        "Half Past Three",
    )
    .await;
    let owner = signed_in(&app, &app.business_id, "spring@clinic.test").await;
    let spring = owner.page("/dashboard/calendar?date=2027-03-14").await;
    assert_eq!(spring.matches("class=\"cal-hour ").count(), 23, "{spring}");
    assert!(
        spring.contains("class=\"cal-hour at-24 span-12\">03:00 EDT<"),
        "{spring}"
    );
    assert!(
        spring.contains("cal-appointment at-30 span-6\""),
        "{spring}"
    );
    assert!(spring.contains("03:30–04:00</strong> Half Past Three"));
}

#[tokio::test]
async fn a_date_or_view_that_cannot_be_read_is_a_problem_page_not_an_error() {
    let app = spawn_app().await;
    let owner = signed_in(&app, &app.business_id, OWNER).await;
    for (query, says) in [
        ("date=2026-13-45", "YYYY-MM-DD"),
        ("date=tomorrow", "YYYY-MM-DD"),
        ("date=9999-12-31", "YYYY-MM-DD"),
        ("view=month", "must be day or week"),
    ] {
        let response = owner.get(&format!("/dashboard/calendar?{query}")).await;
        assert_eq!(response.status(), 422, "{query}");
        let body = response.text().await.unwrap();
        assert!(body.contains(says), "{query}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_day_and_the_week_read_well_and_pass_axe_at_laptop_and_phone_width() {
    if !browser_available() {
        return;
    }
    let app = spawn_app().await;
    let mut owner = Owner::start(&app, "calendar").await;
    owner.set_password_and_sign_in().await;
    let service = app.create_service(json!({})).await;
    let (maria, tom) = maria_and_tom(&app).await;
    let sam = app
        .post_json(
            "/v1/staff",
            &json!({ "name": "Dr. Samantha Okonkwo-Reyes" }),
        )
        .await;
    let sam = sam["id"].as_str().unwrap().to_owned();
    for (start, who, customer) in [
        ("2026-12-01T09:00:00-05:00", &maria, "Ana Silva"),
        ("2026-12-01T09:30:00-05:00", &maria, "Bruno Costa"),
        ("2026-12-01T10:00:00-05:00", &maria, "Chidi Okafor"),
        (
            "2026-12-01T13:00:00-05:00",
            &maria,
            "Maximilian Alexander Whitfield-Brown",
        ),
        ("2026-12-01T09:15:00-05:00", &tom, "Dana Lee"),
        ("2026-12-01T14:00:00-05:00", &tom, "Eli Novak"),
        ("2026-12-01T11:00:00-05:00", &sam, "Fatima Zahra"),
        ("2026-12-02T10:00:00-05:00", &tom, "Gus Ward"),
        ("2026-12-03T15:30:00-05:00", &sam, "Hana Sato"),
    ] {
        booked_with(&app, &service, start, Some(who.as_str()), customer).await;
    }
    held_over_lunch(&app, &service, "2026-12-01T10:30:00-05:00", &tom).await;

    owner
        .browser
        .click("nav a[href='/dashboard/calendar']")
        .await;
    owner.expect_text("Calendar").await;
    owner.open(TUESDAY).await;
    owner.expect_text("Held until").await;
    owner.look("calendar-day").await;
    owner.look_on_phone("calendar-day").await;
    owner.browser.set_size(390, 844).await;
    let page_scrolls = owner
        .browser
        .script(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            json!([]),
        )
        .await;
    owner.browser.set_size(1280, 900).await;
    assert_eq!(
        page_scrolls,
        json!(false),
        "the grid scrolls inside its box, not the page"
    );

    owner.browser.click(".cal-views a[href$='view=week']").await;
    owner.expect_text("Gus Ward").await;
    owner.look("calendar-week").await;
    owner.look_on_phone("calendar-week").await;

    owner.report_screenshots();
    owner.assert_accessible();
}
