//! The Google Calendar client against the Google emulator: exactly-once events through client-chosen ids, removal,
//! error classification, the calendar list, and proof that the discovery checks catch a malformed request.

use std::time::Duration;

use booking_core::domain::AppointmentId;
use booking_core::ports::{CalendarEvent, CalendarProvider, ProviderError};
use booking_core::providers::google::{APPOINTMENT_PROPERTY, GoogleCalendar, event_id};
use booking_core::providers::http_client;
use integration_tests::emulators::faults::{Fault, FaultRule, Matcher, When};
use integration_tests::emulators::google::{
    ACCOUNT, GoogleEmulator, HOLIDAYS_CALENDAR, TEAM_CALENDAR,
};
use secrecy::SecretString;
use serde_json::json;

struct Setup {
    google: GoogleEmulator,
    client: GoogleCalendar,
    token: SecretString,
}

async fn setup() -> Setup {
    let google = GoogleEmulator::start().await;
    let client = GoogleCalendar::new(
        http_client(Duration::from_millis(400)).unwrap(),
        google.api_base(),
    );
    let (access, _) = google.issue_tokens();
    Setup {
        google,
        client,
        token: SecretString::from(access),
    }
}

fn event() -> CalendarEvent {
    CalendarEvent {
        appointment_id: AppointmentId::generate(),
        summary: "Ana Silva – Consultation".into(),
        description: "Phone: +14155550123".into(),
        start: "2026-12-01T15:00:00Z".parse().unwrap(),
        end: "2026-12-01T15:30:00Z".parse().unwrap(),
        time_zone: "America/New_York".into(),
    }
}

impl Setup {
    async fn put(&self, calendar: &str, event: &CalendarEvent) -> Result<String, ProviderError> {
        self.client
            .put_event(&self.token, calendar, event, None)
            .await
    }

    async fn remove(&self, event: &CalendarEvent) -> Result<(), ProviderError> {
        self.client
            .remove_event(&self.token, TEAM_CALENDAR, event.appointment_id, None)
            .await
    }

    fn fault(&self, when: When, fault: Fault) {
        self.google.faults().add(FaultRule {
            matcher: Matcher::any().path("events"),
            when,
            fault,
            times: 1,
        });
    }

    fn assert_clean(&self) {
        assert!(
            self.google.violations().is_empty(),
            "{:#?}",
            self.google.violations()
        );
        assert!(self.google.faults().unused().is_empty());
    }
}

#[tokio::test]
async fn an_event_is_written_in_the_business_zone_with_our_tag() {
    let setup = setup().await;
    let event = event();
    let id = setup.put(TEAM_CALENDAR, &event).await.unwrap();
    assert_eq!(id, event_id(event.appointment_id));
    let stored = setup.google.events(TEAM_CALENDAR);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["start"]["dateTime"], "2026-12-01T10:00:00-05:00");
    assert_eq!(stored[0]["start"]["timeZone"], "America/New_York");
    assert_eq!(
        stored[0]["extendedProperties"]["private"][APPOINTMENT_PROPERTY],
        event.appointment_id.to_string()
    );
    setup.assert_clean();
}

#[tokio::test]
async fn a_lost_insert_response_never_makes_a_second_event() {
    let setup = setup().await;
    let event = event();
    setup.fault(When::After, Fault::ServerError);
    assert!(matches!(
        setup.put(TEAM_CALENDAR, &event).await,
        Err(ProviderError::Transient(_))
    ));
    let moved = CalendarEvent {
        start: "2026-12-01T16:00:00Z".parse().unwrap(),
        end: "2026-12-01T16:30:00Z".parse().unwrap(),
        ..event.clone()
    };
    setup.put(TEAM_CALENDAR, &moved).await.unwrap();
    let stored = setup.google.events(TEAM_CALENDAR);
    assert_eq!(stored.len(), 1, "{stored:#?}");
    assert_eq!(stored[0]["start"]["dateTime"], "2026-12-01T11:00:00-05:00");
    assert_eq!(setup.google.request_count("calendar.events.insert"), 2);
    assert_eq!(setup.google.request_count("calendar.events.patch"), 1);
    setup.assert_clean();
}

#[tokio::test]
async fn removing_is_idempotent_and_a_removed_event_can_come_back() {
    let setup = setup().await;
    let event = event();
    setup.remove(&event).await.unwrap();
    setup.put(TEAM_CALENDAR, &event).await.unwrap();
    setup.remove(&event).await.unwrap();
    setup.remove(&event).await.unwrap();
    assert!(setup.google.events(TEAM_CALENDAR).is_empty());
    setup.put(TEAM_CALENDAR, &event).await.unwrap();
    assert_eq!(setup.google.events(TEAM_CALENDAR).len(), 1);
    assert_eq!(setup.google.all_events(TEAM_CALENDAR).len(), 1);
    setup.assert_clean();
}

#[tokio::test]
async fn provider_errors_are_classified_for_retry_or_failure() {
    let setup = setup().await;
    let cases = [
        (Fault::ServerError, "transient"),
        (Fault::Unavailable, "transient"),
        (Fault::ConnectionReset, "transient"),
        (Fault::Delay(Duration::from_millis(800)), "transient"),
        (
            Fault::TooManyRequests {
                retry_after_secs: 7,
            },
            "rate limited 7",
        ),
        (Fault::RateLimitForbidden, "rate limited"),
        (Fault::Unauthorized, "unauthorized"),
        (Fault::NotFound, "calendar not found"),
    ];
    for (fault, expected) in cases {
        setup.fault(When::Before, fault.clone());
        let outcome = match setup.put(TEAM_CALENDAR, &event()).await {
            Err(ProviderError::Transient(_)) => "transient".to_owned(),
            Err(ProviderError::RateLimited {
                retry_after: Some(wait),
            }) => {
                format!("rate limited {}", wait.as_secs())
            }
            Err(ProviderError::RateLimited { retry_after: None }) => "rate limited".to_owned(),
            Err(ProviderError::Unauthorized) => "unauthorized".to_owned(),
            Err(ProviderError::CalendarNotFound) => "calendar not found".to_owned(),
            other => format!("{other:?}"),
        };
        assert_eq!(outcome, expected, "{fault:?}");
    }
    assert!(matches!(
        setup.put(HOLIDAYS_CALENDAR, &event()).await,
        Err(ProviderError::Rejected(_))
    ));
    assert!(matches!(
        setup.put("nobody@example.com", &event()).await,
        Err(ProviderError::CalendarNotFound)
    ));
    setup.assert_clean();
}

#[tokio::test]
async fn the_calendar_list_names_the_account_and_what_is_writable() {
    let setup = setup().await;
    let calendars = setup.client.list_calendars(&setup.token).await.unwrap();
    assert_eq!(calendars.len(), 3);
    let primary = calendars.iter().find(|c| c.primary).unwrap();
    assert_eq!(primary.owner.as_deref(), Some(ACCOUNT));
    assert!(
        calendars
            .iter()
            .find(|c| c.id == TEAM_CALENDAR)
            .unwrap()
            .writable
    );
    assert!(
        !calendars
            .iter()
            .find(|c| c.id == HOLIDAYS_CALENDAR)
            .unwrap()
            .writable
    );
    setup.assert_clean();
}

#[tokio::test]
async fn the_discovery_check_catches_a_misspelled_field_and_a_bad_id() {
    let setup = setup().await;
    let url = format!(
        "{}calendars/{TEAM_CALENDAR}/events",
        setup.google.api_base()
    );
    let http = reqwest::Client::new();
    let misspelled = json!({
        "summary": "x",
        "colour": "red",
        "start": { "dateTime": "2026-12-01T10:00:00-05:00" },
        "end": { "dateTime": "2026-12-01T10:30:00-05:00" },
    });
    let response = http
        .post(&url)
        .bearer_auth(secrecy::ExposeSecret::expose_secret(&setup.token))
        .json(&misspelled)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let bad_id = json!({
        "id": "has-dashes-and-UPPER",
        "start": { "dateTime": "2026-12-01T10:00:00-05:00" },
        "end": { "dateTime": "2026-12-01T10:30:00-05:00" },
    });
    http.post(&url)
        .bearer_auth(secrecy::ExposeSecret::expose_secret(&setup.token))
        .json(&bad_id)
        .send()
        .await
        .unwrap();
    let violations = setup.google.violations();
    assert!(
        violations.iter().any(|v| v.contains("colour")),
        "{violations:#?}"
    );
    assert!(
        violations.iter().any(|v| v.contains("id")),
        "{violations:#?}"
    );
}
