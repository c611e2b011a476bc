//! The integrations page in every state a connection can be in: each link and form it offers works, and a lost
//! grant is explained as the owner knows the provider.

use booking_core::domain::{BusinessId, ConnectionId, StaffId};
use booking_core::ports::{CalendarConnection, ConnectionHealth, ProviderKind};
use integration_tests::TestApp;
use integration_tests::emulators::google::{self, GoogleEmulator};

use crate::support::{Visitor, signed_in, spawn_app_with_google};

const PAGE: &str = "/dashboard/integrations";

/// The values of `attribute` in the page's main part (the shell's navigation and sign-out are tested elsewhere).
fn attribute_values(page: &str, attribute: &str) -> Vec<String> {
    let main = page.find("<main").map_or(page, |start| &page[start..]);
    main.split(&format!("{attribute}=\""))
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|value| value.replace("&amp;", "&"))
        .collect()
}

/// Follows every dashboard link on the page and submits every form, as the owner would; each must answer 2xx or 3xx.
async fn every_link_and_form_works(owner: &Visitor<'_>, state: &str) -> String {
    let page = owner.page(PAGE).await;
    let links: Vec<String> = attribute_values(&page, "href")
        .into_iter()
        .filter(|href| href.starts_with("/dashboard"))
        .collect();
    let forms = attribute_values(&page, "action");
    assert!(!forms.is_empty(), "{state}: no form on {page}");
    for link in &links {
        let path = link.split('#').next().unwrap_or(link);
        let status = owner.get(path).await.status();
        assert!(
            status.is_success() || status.is_redirection(),
            "{state}: the link {link} answers {status}"
        );
    }
    for action in &forms {
        let status = owner.submit(PAGE, action, &[]).await.status();
        assert!(
            status.is_success() || status.is_redirection(),
            "{state}: the form {action} answers {status}"
        );
    }
    page
}

fn business(app: &TestApp) -> BusinessId {
    app.business_id.parse().unwrap()
}

#[tokio::test]
async fn every_action_offered_for_a_connection_works_in_its_state() {
    let emulator = GoogleEmulator::start().await;
    let app = spawn_app_with_google(&emulator).await;
    let owner = signed_in(&app, &app.business_id, "owner@clinic.test").await;
    every_link_and_form_works(&owner, "not connected").await;

    app.connect_calendar("google").await;
    let page = every_link_and_form_works(&owner, "connected, no calendar chosen").await;
    assert!(page.contains("choose one"), "{page}");

    app.select_calendar("google", google::TEAM_CALENDAR).await;
    let page = every_link_and_form_works(&owner, "connected").await;
    assert!(page.contains("Change calendar"), "{page}");

    let failing = ConnectionHealth::Error {
        message: "Busy times could not be read: Google Calendar asked us to slow down.".to_owned(),
    };
    app.store
        .update_connection_health(
            business(&app),
            ConnectionId::of_first_connection(business(&app)),
            &failing,
            None,
        )
        .await
        .unwrap();
    every_link_and_form_works(&owner, "error").await;

    // The owner revokes our access at Google; the next refresh of the grant finds out, as a sync would.
    emulator.revoke_grants();
    app.clock.advance(jiff::SignedDuration::from_hours(2));
    let stored = app
        .store
        .get_business(business(&app))
        .await
        .unwrap()
        .unwrap();
    let listed =
        booking_core::app::integrations::list_calendars(&app.app, &stored, ProviderKind::GOOGLE)
            .await;
    assert!(listed.is_err());
    let page = every_link_and_form_works(&owner, "reconnect needed").await;
    let explained = "Google Calendar needs reconnecting: Google says the access was revoked or has expired \
                     ('Token has been expired or revoked.')";
    // Once in the banner, once on the card.
    assert_eq!(
        page.replace("&#39;", "'").matches(explained).count(),
        2,
        "{page}"
    );
    assert!(!page.contains("Change calendar"), "{page}");
    assert!(!page.contains("choose one"), "{page}");
}

/// The connection of `staff_id` as stored (the only one they have).
async fn connection_of(app: &TestApp, staff_id: StaffId) -> CalendarConnection {
    let connections = app.store.calendar_connections(business(app)).await.unwrap();
    connections
        .into_iter()
        .find(|connection| connection.staff_id == staff_id)
        .unwrap()
}

/// Tom connects his own Google account from the page, ticks the calendars that block him and picks the one his
/// appointments go to; Maria's choice stays hers, the page's every action still works with two members, and a grant
/// Tom loses is announced in his name.
#[tokio::test]
async fn each_member_connects_and_chooses_their_own_calendars_on_the_page() {
    let emulator = GoogleEmulator::start().await;
    let app = spawn_app_with_google(&emulator).await;
    let tom: StaffId = app
        .post_json("/v1/staff", &serde_json::json!({ "name": "Tom" }))
        .await["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let maria = StaffId::first_of(business(&app));
    app.connect_calendar("google").await;
    app.select_calendar("google", google::ACCOUNT).await;
    let owner = signed_in(&app, &app.business_id, "owner@clinic.test").await;

    let page = owner.page(PAGE).await;
    assert!(page.contains("Connect Google Calendar for Tom"), "{page}");
    let connect = owner
        .submit(
            PAGE,
            &format!("/dashboard/integrations/staff/{tom}/google/connect"),
            &[],
        )
        .await;
    assert_eq!(connect.status(), 303);
    // The emulator consents at once; the shared callback sends the browser back to Tom's part of the page.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let authorize = connect.headers()["location"].to_str().unwrap().to_owned();
    let consent = browser.get(&authorize).send().await.unwrap();
    let callback = consent.headers()["location"].to_str().unwrap().to_owned();
    let landed = browser.get(&callback).send().await.unwrap();
    assert_eq!(
        landed.headers()["location"].to_str().unwrap(),
        format!("/dashboard/integrations?notice=connected#staff-{tom}")
    );
    let toms = connection_of(&app, tom).await;
    assert_eq!(toms.calendar_id, None);

    let page = owner.page("/dashboard/integrations?notice=connected").await;
    assert!(page.contains("Choose the calendars below"), "{page}");
    assert!(page.contains("Save Tom's calendars"), "{page}");
    let action = format!("/dashboard/integrations/staff/{tom}/{}/calendars", toms.id);
    assert!(page.contains(&action), "{page}");
    let chosen = owner
        .submit(
            PAGE,
            &action,
            &[
                ("checked", google::TEAM_CALENDAR),
                ("checked", google::HOLIDAYS_CALENDAR),
                ("written", google::TEAM_CALENDAR),
            ],
        )
        .await;
    assert_eq!(chosen.status(), 303);
    let toms = connection_of(&app, tom).await;
    assert_eq!(toms.calendar_id.as_deref(), Some(google::TEAM_CALENDAR));
    assert_eq!(toms.checked_calendars, [google::HOLIDAYS_CALENDAR]);
    let marias = connection_of(&app, maria).await;
    assert_eq!(marias.calendar_id.as_deref(), Some(google::ACCOUNT));
    assert!(marias.checked_calendars.is_empty());

    let read_only = owner
        .submit(PAGE, &action, &[("written", google::HOLIDAYS_CALENDAR)])
        .await;
    assert_eq!(
        read_only.status(),
        422,
        "a read-only calendar receives nothing"
    );

    let lost = ConnectionHealth::ReauthRequired {
        reason: "Google says the access was revoked or has expired".to_owned(),
    };
    app.store
        .update_connection_health(business(&app), toms.id, &lost, None)
        .await
        .unwrap();
    let banner = owner.page("/dashboard/appointments").await;
    assert!(
        banner.contains("Tom's Google Calendar needs reconnecting"),
        "{banner}"
    );
    assert!(
        banner.contains(&format!("/dashboard/integrations#connection-{}", toms.id)),
        "{banner}"
    );
    assert_eq!(
        banner.matches("needs reconnecting").count(),
        1,
        "Tom's only"
    );

    every_link_and_form_works(&owner, "two members, Tom's to reconnect").await;
}

/// A first member may hold further accounts beside the one the business-level cards show (connected for them from
/// their part of the page, or by a link): each has a card of its own, and the provider it is at is not offered as
/// "not connected".
#[tokio::test]
async fn the_first_members_further_accounts_have_cards_of_their_own() {
    let emulator = GoogleEmulator::start().await;
    let app = spawn_app_with_google(&emulator).await;
    app.connect_calendar("google").await;
    app.select_calendar("google", google::ACCOUNT).await;
    let further = CalendarConnection {
        id: ConnectionId::generate(),
        business_id: business(&app),
        staff_id: StaffId::first_of(business(&app)),
        provider: ProviderKind::MICROSOFT,
        account: "maria@outlook.example".to_owned(),
        calendar_id: None,
        checked_calendars: Vec::new(),
        connected_at: app.clock_now(),
        health: ConnectionHealth::ReauthRequired {
            reason: "Microsoft says the access was revoked".to_owned(),
        },
        last_synced_at: None,
    };
    app.store.put_calendar_connection(&further).await.unwrap();
    let owner = signed_in(&app, &app.business_id, "owner@clinic.test").await;

    let page = owner.page(PAGE).await;
    assert!(page.contains(google::ACCOUNT), "{page}");
    assert!(
        page.contains("Outlook Calendar: maria@outlook.example"),
        "{page}"
    );
    assert!(
        page.contains(&format!("connection-{}", further.id)),
        "{page}"
    );
    assert!(!page.contains("Not connected"), "{page}");
}
