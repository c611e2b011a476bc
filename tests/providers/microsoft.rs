//! The Microsoft Graph client against the Graph emulator: exactly-once events, removal, error classification, and
//! the identity platform's token endpoint.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use booking_core::domain::AppointmentId;
use booking_core::ports::{CalendarEvent, CalendarProvider, ProviderError, ProviderKind};
use booking_core::providers::http_client;
use booking_core::providers::microsoft::{
    APPOINTMENT_PROPERTY_ID, OutlookCalendar, transaction_id,
};
use integration_tests::emulators::faults::{Fault, FaultRule, Matcher, When};
use integration_tests::emulators::microsoft::{ACCOUNT, CLIENT_ID, CLIENT_SECRET, GraphEmulator};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

struct Setup {
    graph: GraphEmulator,
    client: OutlookCalendar,
    token: SecretString,
    calendar: String,
}

async fn setup() -> Setup {
    setup_with_timeout(Duration::from_secs(5)).await
}

async fn setup_with_timeout(timeout: Duration) -> Setup {
    let graph = GraphEmulator::start().await;
    let client = OutlookCalendar::new(http_client(timeout).unwrap(), graph.api_base());
    let (access, _) = graph.issue_tokens();
    let calendar = graph.calendar_id("Calendar");
    Setup {
        graph,
        client,
        token: SecretString::from(access),
        calendar,
    }
}

impl Setup {
    async fn put(
        &self,
        event: &CalendarEvent,
        known: Option<&str>,
    ) -> Result<String, ProviderError> {
        self.client
            .put_event(&self.token, &self.calendar, event, known)
            .await
    }

    async fn remove(
        &self,
        event: &CalendarEvent,
        known: Option<&str>,
    ) -> Result<(), ProviderError> {
        self.client
            .remove_event(&self.token, &self.calendar, event.appointment_id, known)
            .await
    }

    fn events(&self) -> Vec<Value> {
        self.graph.events(&self.calendar)
    }

    /// The calendar holds one event, `id`, created by `creates` requests, and nothing went wrong.
    fn assert_only_event(&self, id: &str, creates: usize) {
        assert_eq!(self.only_event()["id"], id);
        assert_eq!(self.graph.request_count("events.create"), creates);
        self.assert_clean();
    }

    /// The calendar's one event, failing if it holds another number of them.
    fn only_event(&self) -> Value {
        let events = self.events();
        assert_eq!(events.len(), 1, "{events:#?}");
        events[0].clone()
    }

    fn fault(&self, method: &'static str, path: &str, when: When, fault: Fault) {
        self.graph.faults().add(FaultRule {
            matcher: Matcher::method(method).path(path),
            when,
            fault,
            times: 1,
        });
    }

    /// Nothing malformed was sent or answered, and every injected fault fired.
    fn assert_clean(&self) {
        assert_eq!(self.graph.violations(), Vec::<String>::new());
        let unused = self.graph.faults().unused();
        assert!(unused.is_empty(), "faults never fired: {unused:?}");
    }
}

fn consultation() -> CalendarEvent {
    CalendarEvent {
        appointment_id: AppointmentId::generate(),
        summary: "Consultation: Ana Silva".to_owned(),
        description: "first visit\nphone +14155550123".to_owned(),
        start: "2026-12-01T14:00:00Z".parse().unwrap(),
        end: "2026-12-01T14:30:00Z".parse().unwrap(),
        time_zone: "America/New_York".to_owned(),
    }
}

#[tokio::test]
async fn a_put_creates_the_event_with_its_details_and_property() {
    let s = setup().await;
    let event = consultation();
    let id = s.put(&event, None).await.unwrap();

    let only = s.only_event();
    let stored = &only;
    assert_eq!(stored["id"], id.as_str());
    assert_eq!(stored["subject"], "Consultation: Ana Silva");
    assert_eq!(
        stored["body"],
        json!({ "contentType": "text", "content": "first visit\nphone +14155550123" })
    );
    assert_eq!(
        stored["start"],
        json!({ "dateTime": "2026-12-01T09:00:00.0000000", "timeZone": "America/New_York" })
    );
    assert_eq!(
        stored["end"],
        json!({ "dateTime": "2026-12-01T09:30:00.0000000", "timeZone": "America/New_York" })
    );
    assert_eq!(stored["showAs"], "busy");
    assert_eq!(stored["isReminderOn"], false);
    assert_eq!(
        stored["transactionId"],
        transaction_id(event.appointment_id).as_str()
    );
    assert_eq!(
        stored["singleValueExtendedProperties"],
        json!([{ "id": APPOINTMENT_PROPERTY_ID, "value": event.appointment_id.to_string() }])
    );
    assert_eq!(stored["organizer"]["emailAddress"]["address"], ACCOUNT);
    assert_eq!(s.graph.request_count("events.create"), 1);
    assert_eq!(
        booking_core::providers::microsoft::PROFILE.kind,
        ProviderKind::MICROSOFT
    );
    s.assert_clean();
}

#[tokio::test]
async fn putting_twice_keeps_one_event_and_updates_it() {
    let s = setup().await;
    let mut event = consultation();
    let first = s.put(&event, None).await.unwrap();
    event.summary = "Consultation: Ana Silva (moved)".to_owned();
    event.start = "2026-12-01T15:00:00Z".parse().unwrap();
    event.end = "2026-12-01T15:30:00Z".parse().unwrap();
    let second = s.put(&event, None).await.unwrap();
    let third = s.put(&event, Some(&first)).await.unwrap();

    assert_eq!(first, second);
    assert_eq!(first, third);
    let only = s.only_event();
    assert_eq!(only["subject"], "Consultation: Ana Silva (moved)");
    assert_eq!(only["start"]["dateTime"], "2026-12-01T10:00:00.0000000");
    assert_eq!(s.graph.request_count("events.create"), 1);
    // The known id saves the lookup.
    assert_eq!(s.graph.request_count("events.list"), 2);
    s.assert_clean();
}

#[tokio::test]
async fn a_lost_create_response_is_found_on_the_retry() {
    let s = setup().await;
    let event = consultation();
    s.fault("POST", "/events", When::After, Fault::ServerError);
    let lost = s.put(&event, None).await;
    assert!(matches!(lost, Err(ProviderError::Transient(_))), "{lost:?}");
    assert_eq!(s.events().len(), 1, "the create took effect");

    let id = s.put(&event, None).await.unwrap();
    s.assert_only_event(&id, 1);
}

#[tokio::test]
async fn a_lost_create_missed_by_the_lookup_is_caught_by_the_transaction_id() {
    let s = setup().await;
    let event = consultation();
    s.fault("POST", "/events", When::After, Fault::ConnectionReset);
    assert!(s.put(&event, None).await.is_err());
    s.graph.set_search_lag(true);

    let id = s.put(&event, None).await.unwrap();
    s.assert_only_event(&id, 2);
}

#[tokio::test]
async fn a_lost_update_response_with_a_known_id_is_retried_in_place() {
    let s = setup().await;
    let mut event = consultation();
    let id = s.put(&event, None).await.unwrap();
    event.description = "second visit".to_owned();
    s.fault("PATCH", "/events/", When::After, Fault::Unavailable);
    let lost = s.put(&event, Some(&id)).await;
    assert!(matches!(lost, Err(ProviderError::Transient(_))), "{lost:?}");

    assert_eq!(s.put(&event, Some(&id)).await.unwrap(), id);
    let only = s.only_event();
    assert_eq!(only["body"]["content"], "second visit");
    s.assert_clean();
}

#[tokio::test]
async fn a_stale_known_id_leads_to_a_new_event() {
    let s = setup().await;
    let event = consultation();
    let old = s.put(&event, None).await.unwrap();
    // The business deletes the event in Outlook.
    let deleted = reqwest::Client::new()
        .delete(format!("{}me/events/{old}", s.graph.api_base()))
        .bearer_auth(secrecy::ExposeSecret::expose_secret(&s.token))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let new = s.put(&event, Some(&old)).await.unwrap();
    assert_ne!(new, old);
    let only = s.only_event();
    assert_eq!(only["id"], new.as_str());
    s.assert_clean();
}

#[tokio::test]
async fn remove_deletes_and_a_second_remove_succeeds() {
    let s = setup().await;
    let first = consultation();
    let second = consultation();
    let first_id = s.put(&first, None).await.unwrap();
    s.put(&second, None).await.unwrap();

    s.remove(&first, Some(&first_id)).await.unwrap();
    s.remove(&second, None).await.unwrap();
    assert_eq!(s.events(), Vec::<Value>::new());
    s.remove(&first, Some(&first_id)).await.unwrap();
    s.remove(&second, None).await.unwrap();
    assert_eq!(s.graph.request_count("events.delete"), 3);
    s.assert_clean();
}

#[tokio::test]
async fn remove_with_a_stale_id_finds_the_re_created_event() {
    let s = setup().await;
    let event = consultation();
    let old = s.put(&event, None).await.unwrap();
    s.remove(&event, Some(&old)).await.unwrap();
    s.put(&event, None).await.unwrap();

    s.remove(&event, Some(&old)).await.unwrap();
    assert_eq!(s.events(), Vec::<Value>::new());
    s.assert_clean();
}

#[tokio::test]
async fn faults_are_classified() {
    let s = setup().await;
    let event = consultation();
    type Expected = fn(&ProviderError) -> bool;
    let cases: Vec<(Fault, Expected)> = vec![
        (Fault::ServerError, |e| {
            matches!(e, ProviderError::Transient(_))
        }),
        (
            Fault::Unavailable,
            |e| matches!(e, ProviderError::Transient(m) if m.detail.contains("retry after 2s")),
        ),
        (
            Fault::TooManyRequests {
                retry_after_secs: 7,
            },
            |e| matches!(e, ProviderError::RateLimited { retry_after: Some(d) } if *d == Duration::from_secs(7)),
        ),
        (Fault::Unauthorized, |e| {
            matches!(e, ProviderError::Unauthorized)
        }),
        (Fault::ConnectionReset, |e| {
            matches!(e, ProviderError::Transient(_))
        }),
    ];
    for (fault, expected) in cases {
        s.fault("GET", "/events", When::Before, fault.clone());
        let put = s.put(&event, None).await.unwrap_err();
        assert!(expected(&put), "{fault:?} on put gave {put:?}");
        s.fault("GET", "/calendars", When::Before, fault.clone());
        let listed = s.client.list_calendars(&s.token).await.unwrap_err();
        assert!(expected(&listed), "{fault:?} on list gave {listed:?}");
        s.fault("GET", "/events", When::Before, fault.clone());
        let removed = s.remove(&event, None).await.unwrap_err();
        assert!(expected(&removed), "{fault:?} on remove gave {removed:?}");
        assert!(put.is_transient() && listed.is_transient());
    }
    assert_eq!(s.events(), Vec::<Value>::new());
    s.assert_clean();
}

#[tokio::test]
async fn an_expired_token_is_unauthorized() {
    let s = setup().await;
    s.graph.expire_access_tokens();
    let error = s.put(&consultation(), None).await.unwrap_err();
    assert!(matches!(error, ProviderError::Unauthorized), "{error:?}");
    s.assert_clean();
}

#[tokio::test]
async fn an_answer_slower_than_the_client_timeout_is_transient() {
    let s = setup_with_timeout(Duration::from_millis(300)).await;
    s.fault(
        "POST",
        "/events",
        When::Before,
        Fault::Delay(Duration::from_secs(2)),
    );
    let error = s.put(&consultation(), None).await.unwrap_err();
    assert!(matches!(error, ProviderError::Transient(_)), "{error:?}");
    s.assert_clean();
}

#[tokio::test]
async fn a_read_only_calendar_is_rejected_and_an_unknown_one_not_found() {
    let s = setup().await;
    let event = consultation();
    let birthdays = s.graph.calendar_id("Birthdays");
    let error = s
        .client
        .put_event(&s.token, &birthdays, &event, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Rejected(m) if m.detail.contains("ErrorAccessDenied")),
        "{error:?}"
    );
    assert!(!error.is_transient());

    for unknown in ["AAMkAGI2bm9zdWNoY2FsZW5kYXI=", "not-a-graph-id"] {
        let error = s
            .client
            .put_event(&s.token, unknown, &event, None)
            .await
            .unwrap_err();
        assert!(
            matches!(error, ProviderError::CalendarNotFound),
            "{unknown}: {error:?}"
        );
        s.client
            .remove_event(&s.token, unknown, event.appointment_id, None)
            .await
            .unwrap();
    }
    s.assert_clean();
}

#[tokio::test]
async fn calendars_are_listed_across_pages() {
    let s = setup().await;
    let calendars = s.client.list_calendars(&s.token).await.unwrap();
    let summary: Vec<(&str, bool, bool, Option<&str>)> = calendars
        .iter()
        .map(|c| (c.name.as_str(), c.primary, c.writable, c.owner.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            ("Calendar", true, true, Some(ACCOUNT)),
            ("Team", false, true, Some(ACCOUNT)),
            ("Birthdays", false, false, Some(ACCOUNT)),
        ]
    );
    assert_eq!(calendars[0].id, s.calendar);
    assert_eq!(s.graph.request_count("calendars.list"), 2);
    s.assert_clean();
}

/// The checks must be able to fail: a misspelled property, an offset in a local time and a malformed filter are all
/// reported.
#[tokio::test]
async fn the_spec_checks_catch_malformed_requests() {
    let s = setup().await;
    let http = reqwest::Client::new();
    let token = secrecy::ExposeSecret::expose_secret(&s.token).to_owned();
    let events_url = format!("{}me/calendars/{}/events", s.graph.api_base(), s.calendar);
    let created = http
        .post(&events_url)
        .bearer_auth(&token)
        .json(&json!({
            "subjct": "typo",
            "start": { "dateTime": "2026-12-01T09:00:00-05:00", "timeZone": "America/New_York" },
            "end": { "dateTime": "2026-12-01T09:30:00", "timeZone": "America/New_York" },
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::BAD_REQUEST);
    let filtered = http
        .get(&events_url)
        .bearer_auth(&token)
        .query(&[(
            "$filter",
            "singleValueExtendedProperties/Any(ep: ep/id eq 'x')",
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(filtered.status(), StatusCode::BAD_REQUEST);
    let body: Value = filtered.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BadRequest");

    let violations = s.graph.violations().join("\n");
    for expected in [
        "Event.subjct: no such property",
        "start.dateTime",
        "Invalid filter clause",
    ] {
        assert!(
            violations.contains(expected),
            "{expected} missing from:\n{violations}"
        );
    }
}

#[tokio::test]
async fn answers_hide_extended_properties_unless_expanded() {
    let s = setup().await;
    let event = consultation();
    let id = s.put(&event, None).await.unwrap();
    let http = reqwest::Client::new();
    let token = secrecy::ExposeSecret::expose_secret(&s.token).to_owned();
    let url = format!("{}me/events/{id}", s.graph.api_base());
    let plain = integration_tests::json_of(
        http.get(&url)
            .bearer_auth(&token)
            .header("Prefer", "outlook.timezone=\"America/New_York\""),
    )
    .await;
    assert_eq!(plain.get("singleValueExtendedProperties"), None);
    assert_eq!(
        plain["start"],
        json!({ "dateTime": "2026-12-01T09:00:00.0000000", "timeZone": "America/New_York" })
    );
    let expand =
        format!("singleValueExtendedProperties($filter=id eq '{APPOINTMENT_PROPERTY_ID}')");
    let expanded = integration_tests::json_of(
        http.get(&url)
            .bearer_auth(&token)
            .query(&[("$expand", expand.as_str())]),
    )
    .await;
    assert_eq!(
        expanded["singleValueExtendedProperties"][0]["value"],
        event.appointment_id.to_string()
    );
    assert_eq!(
        expanded["start"],
        json!({ "dateTime": "2026-12-01T14:00:00.0000000", "timeZone": "UTC" })
    );
    s.assert_clean();
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut url = reqwest::Url::parse("http://form/").unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or_default().to_owned()
}

async fn post_form(
    http: &reqwest::Client,
    url: &str,
    basic: bool,
    pairs: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut pairs = pairs.to_vec();
    let mut request = http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded");
    if basic {
        request = request.basic_auth(CLIENT_ID, Some(CLIENT_SECRET));
    } else {
        pairs.extend([("client_id", CLIENT_ID), ("client_secret", CLIENT_SECRET)]);
    }
    let response = request.body(form(&pairs)).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn the_token_endpoint_checks_pkce_and_rotates_refresh_tokens() {
    let graph = GraphEmulator::start().await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect_uri = "http://127.0.0.1:9/oauth/microsoft/callback";
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-emulator-verifier";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let authorize = |state: &'static str| {
        let http = http.clone();
        let url = graph.authorize_url();
        let challenge = challenge.clone();
        async move {
            let response = http
                .get(url)
                .query(&[
                    ("client_id", CLIENT_ID),
                    ("response_type", "code"),
                    ("redirect_uri", redirect_uri),
                    ("response_mode", "query"),
                    (
                        "scope",
                        "offline_access https://graph.microsoft.com/Calendars.ReadWrite",
                    ),
                    ("state", state),
                    ("code_challenge", challenge.as_str()),
                    ("code_challenge_method", "S256"),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::FOUND);
            let location = response.headers()["location"].to_str().unwrap();
            let location = reqwest::Url::parse(location).unwrap();
            assert!(location.as_str().starts_with(redirect_uri), "{location}");
            let param = |name: &str| {
                location
                    .query_pairs()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.into_owned())
            };
            assert_eq!(param("state").as_deref(), Some(state));
            param("code").unwrap()
        }
    };
    let token_url = graph.token_url();

    // A wrong verifier fails and uses the code up.
    let code = authorize("first").await;
    let exchange = |code: &str, verifier: &str| {
        [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ]
        .map(|(k, v)| (k, v.to_owned()))
    };
    let wrong = exchange(&code, "not-the-verifier");
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, body) = post_form(&http, &token_url, false, &wrong).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");

    let code = authorize("second").await;
    let right = exchange(&code, verifier);
    let right: Vec<(&str, &str)> = right.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, tokens) = post_form(&http, &token_url, false, &right).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["expires_in"].as_u64().unwrap() > 0);
    assert!(tokens["ext_expires_in"].is_u64());
    assert!(
        tokens["scope"]
            .as_str()
            .unwrap()
            .contains("Calendars.ReadWrite")
    );
    let first_refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    // A code is good once.
    let (status, body) = post_form(&http, &token_url, false, &right).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let refresh = |token: String| {
        let http = http.clone();
        let url = token_url.clone();
        async move {
            post_form(
                &http,
                &url,
                true,
                &[("grant_type", "refresh_token"), ("refresh_token", &token)],
            )
            .await
        }
    };
    let (status, rotated) = refresh(first_refresh.clone()).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let second_refresh = rotated["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first_refresh);
    assert_ne!(rotated["access_token"], tokens["access_token"]);
    let (status, body) = refresh(first_refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_codes"], json!([70000]));
    assert_eq!(graph.token_refresh_count(), 1);

    // The new access token works against Graph.
    let client = OutlookCalendar::new(
        http_client(Duration::from_secs(5)).unwrap(),
        graph.api_base(),
    );
    let access = SecretString::from(rotated["access_token"].as_str().unwrap().to_owned());
    assert_eq!(client.list_calendars(&access).await.unwrap().len(), 3);

    graph.revoke_grants();
    let (status, body) = refresh(second_refresh).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    assert_eq!(
        graph.violations(),
        vec!["token: code_verifier does not match code_challenge".to_owned()]
    );
}

#[tokio::test]
async fn an_injected_invalid_grant_answers_like_microsoft() {
    let graph = GraphEmulator::start().await;
    let (_, refresh) = graph.issue_tokens();
    graph.faults().add(FaultRule {
        matcher: Matcher::method("POST").path("/token"),
        when: When::Before,
        fault: Fault::InvalidGrant,
        times: 1,
    });
    let (status, body) = post_form(
        &reqwest::Client::new(),
        &graph.token_url(),
        false,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS70000:")
    );
    assert_eq!(graph.token_refresh_count(), 0);
    assert_eq!(graph.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn a_delta_link_outside_the_api_never_receives_the_token() {
    let setup = setup().await;
    let window = booking_core::domain::Interval::new(
        "2026-12-01T00:00:00Z".parse().unwrap(),
        "2027-01-01T00:00:00Z".parse().unwrap(),
    )
    .unwrap();
    let first = setup
        .client
        .changes(
            &setup.token,
            &setup.calendar,
            booking_core::ports::ChangesSince::Start { window },
        )
        .await
        .unwrap();
    assert!(
        first.cursor.starts_with(&setup.graph.api_base()),
        "{}",
        first.cursor
    );
    let foreign = "https://collector.example.test/v1.0/me/calendarView/delta?$deltatoken=x";
    let refused = setup
        .client
        .changes(
            &setup.token,
            &setup.calendar,
            booking_core::ports::ChangesSince::Cursor(foreign),
        )
        .await;
    assert!(
        matches!(refused, Err(ProviderError::Rejected(_))),
        "{refused:?}"
    );

    // An expired delta link is the provider telling us to start over.
    setup.graph.invalidate_delta_tokens();
    let expired = setup
        .client
        .changes(
            &setup.token,
            &setup.calendar,
            booking_core::ports::ChangesSince::Cursor(&first.cursor),
        )
        .await;
    assert!(
        matches!(expired, Err(ProviderError::CursorExpired)),
        "{expired:?}"
    );
    assert!(
        setup.graph.violations().is_empty(),
        "{:#?}",
        setup.graph.violations()
    );
}
