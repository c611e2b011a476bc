//! A third calendar provider, defined only in this file, plugs in with no change to the library: its module (a
//! `ProviderModule` value with its own name, display name, webhook and notification format) and its entry in the
//! registry the app is given are all it takes. It is listed on the integrations page, Connect runs its OAuth flow,
//! and its webhook accepts its own notifications. Its calendar speaks Google's protocol, so the Google emulator
//! stands in for its servers.

use std::sync::Arc;

use booking_core::adapters::FileSecretStore;
use booking_core::app::Integrations;
use booking_core::domain::{BusinessId, ConnectionId, WatchId};
use booking_core::ports::{
    CalendarWatch, Job, ProviderKind, ProviderProfile, ProviderRegistry, ProviderSetup,
    ProviderWebhook, PushChannel, PushEvent, PushNotification, WebhookCall, WebhookReading,
    WebhookRefusal,
};
use booking_core::providers::{self, ProviderCredentials, ProviderEndpoints, ProviderModule};
use integration_tests::emulators::google::{self, GoogleEmulator};
use integration_tests::{TestApp, spawn_app_with};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::support::{Visitor, location, signed_in};

const ACME: ProviderKind = ProviderKind::from_static("acme");
const ACME_WEBHOOK: &str = "/v1/webhooks/acme";

/// Acme Calendar as the rest of the system sees it.
const ACME_PROFILE: ProviderProfile = ProviderProfile {
    kind: ACME,
    display_name: "Acme Calendar",
    vendor: "Acme",
    webhook: ProviderWebhook {
        path: ACME_WEBHOOK,
        read: read_acme_notification,
        openapi: Default::default,
    },
};

/// Acme Calendar's module, as a provider crate of its own would export it.
const ACME_MODULE: ProviderModule = ProviderModule {
    profile: ACME_PROFILE,
    default_endpoints: acme_endpoints,
    setup: acme_setup,
};

fn acme_endpoints() -> ProviderEndpoints {
    ProviderEndpoints {
        api_base: "https://calendar.acme.test/v3/".to_owned(),
        authorize_url: "https://login.acme.test/authorize".to_owned(),
        token_url: "https://login.acme.test/token".to_owned(),
        revoke_url: None,
    }
}

/// Acme's OAuth flow and API are Google's; only the name it goes by and its webhook differ.
fn acme_setup(
    credentials: ProviderCredentials,
    endpoints: &ProviderEndpoints,
    http: reqwest::Client,
) -> ProviderSetup {
    ProviderSetup {
        profile: ACME_PROFILE,
        ..providers::google::setup(credentials, endpoints, http)
    }
}

/// Acme posts JSON: `{"channel": …, "token": …, "change": "hello" | "updated"}`.
#[derive(Deserialize)]
struct AcmeNotification {
    channel: String,
    token: Option<String>,
    change: String,
}

fn read_acme_notification(call: &WebhookCall<'_>) -> Result<WebhookReading, WebhookRefusal> {
    let notification: AcmeNotification = serde_json::from_slice(call.body)
        .map_err(|error| WebhookRefusal::Body(error.to_string()))?;
    Ok(WebhookReading::Notifications {
        notifications: vec![PushNotification {
            channel_id: notification.channel,
            secret: notification.token,
            resource_id: None,
            event: if notification.change == "hello" {
                PushEvent::Opened
            } else {
                PushEvent::Changed
            },
        }],
        status: StatusCode::NO_CONTENT,
    })
}

/// A server whose composition root registers the two built-in providers and Acme, with Acme configured against
/// the Google emulator.
async fn spawn_with_acme(emulator: &GoogleEmulator) -> TestApp {
    let endpoints = ProviderEndpoints {
        api_base: emulator.api_base(),
        authorize_url: emulator.authorize_url(),
        token_url: emulator.token_url(),
        revoke_url: Some(emulator.revoke_url()),
    };
    spawn_app_with(move |app, base_url, data_dir| {
        let registry = ProviderRegistry::new(
            providers::REGISTERED
                .iter()
                .chain([&ACME_MODULE])
                .map(|module| module.profile),
        );
        let credentials = ProviderCredentials {
            client_id: google::CLIENT_ID.to_owned(),
            client_secret: SecretString::from(google::CLIENT_SECRET.to_owned()),
        };
        let acme = (ACME_MODULE.setup)(
            credentials,
            &endpoints,
            providers::http_client(providers::PROVIDER_TIMEOUT).unwrap(),
        );
        app.with_registry(registry).with_integrations(
            Integrations::new(
                Arc::new(FileSecretStore::open(&data_dir.join("secrets")).unwrap()),
                SecretString::from("test state key".to_owned()),
                base_url,
            )
            .with_provider(acme),
        )
    })
    .await
}

#[tokio::test]
async fn a_provider_defined_outside_the_library_is_listed_connected_and_notified() {
    let emulator = GoogleEmulator::start().await;
    let app = spawn_with_acme(&emulator).await;
    let owner = signed_in(&app, &app.business_id, "owner@clinic.test").await;

    // Listed beside the built-in providers, with its own name and Connect button.
    let page = owner.page("/dashboard/integrations").await;
    for shown in [
        "Google Calendar",
        "Outlook Calendar",
        "Acme Calendar",
        "Connect Acme Calendar",
        "action=\"/dashboard/integrations/acme/connect\"",
    ] {
        assert!(page.contains(shown), "{shown} missing from {page}");
    }

    // Connect runs its OAuth flow: the authorization at its servers, back to its callback, on to the picker.
    let started = press_connect(&owner, "acme").await;
    assert_eq!(started.status(), StatusCode::SEE_OTHER);
    let authorization = location(&started);
    for part in [
        emulator.authorize_url().as_str(),
        "redirect_uri=http%3A%2F%2F127.0.0.1",
        "%2Fv1%2Fintegrations%2Facme%2Fcallback",
    ] {
        assert!(
            authorization.contains(part),
            "{part} not in {authorization}"
        );
    }
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let consent = browser.get(&authorization).send().await.unwrap();
    assert_eq!(consent.status(), StatusCode::FOUND);
    let callback = location(&consent);
    assert!(
        callback.starts_with(&app.url("/v1/integrations/acme/callback")),
        "{callback}"
    );
    let landed = browser.get(&callback).send().await.unwrap();
    assert_eq!(landed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&landed), "/dashboard/integrations/acme/calendar");
    let picker = owner.page("/dashboard/integrations/acme/calendar").await;
    assert!(picker.contains("Signed in to Acme Calendar as"), "{picker}");
    assert!(picker.contains(google::TEAM_CALENDAR), "{picker}");
    let business_id: BusinessId = app.business_id.parse().unwrap();
    let connection = app
        .store
        .get_calendar_connection(business_id, ConnectionId::of_first_connection(business_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(connection.provider, ACME);

    // Its webhook reads its own format; the channel and secret checks are the app's, as for every provider.
    let secret = format!("{business_id}.acme-secret");
    let channel_id = format!("{business_id}_acme-channel");
    let now = app.clock_now();
    app.store
        .put_calendar_watch(
            &CalendarWatch {
                id: WatchId::of(connection.id, google::TEAM_CALENDAR),
                business_id,
                connection_id: connection.id,
                staff_id: connection.staff_id,
                provider: ACME,
                calendar_id: google::TEAM_CALENDAR.to_owned(),
                cursor: Some("cursor".to_owned()),
                time_zone: None,
                channel: Some(PushChannel {
                    id: channel_id.clone(),
                    resource_id: None,
                    expires_at: now + jiff::SignedDuration::from_hours(24),
                }),
                secret_hash: hex(&Sha256::digest(secret.as_bytes())),
                opening: None,
                full_sync_at: Some(now),
                synced_at: Some(now),
                sync_started_at: Some(now),
                version: 1,
            },
            None,
        )
        .await
        .unwrap();
    let notify = |token: &str| {
        app.client
            .post(app.url(ACME_WEBHOOK))
            .header("content-type", "application/json")
            .body(
                serde_json::json!({ "channel": channel_id, "token": token, "change": "updated" })
                    .to_string(),
            )
            .send()
    };
    let forged = notify("not-the-secret").await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let accepted = notify(&secret).await.unwrap();
    assert_eq!(accepted.status(), StatusCode::NO_CONTENT);
    let jobs = app
        .queue
        .receive(10, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert!(
        jobs.iter().any(|job| matches!(
            job.job,
            Job::SyncCalendar { business_id: id, .. } if id == business_id
        )),
        "the notification queued a sync of the calendar"
    );
    let garbled = app
        .client
        .post(app.url(ACME_WEBHOOK))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbled.status(), StatusCode::BAD_REQUEST);
    assert!(
        emulator.violations().is_empty(),
        "{:?}",
        emulator.violations()
    );
}

#[tokio::test]
async fn an_unknown_provider_is_not_found_at_every_edge() {
    let emulator = GoogleEmulator::start().await;
    let app = spawn_with_acme(&emulator).await;
    let owner = signed_in(&app, &app.business_id, "owner@clinic.test").await;
    for path in [
        "/v1/integrations/nosuch/connect",
        "/v1/integrations/nosuch/calendars",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let problem: serde_json::Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "provider_not_found", "{path}");
    }
    let malformed = app.get("/v1/integrations/No%20Such/connect").await;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let connect = press_connect(&owner, "nosuch").await;
    assert_eq!(connect.status(), StatusCode::NOT_FOUND);
    let webhook = app
        .client
        .post(app.url("/v1/webhooks/nosuch"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(webhook.status(), StatusCode::NOT_FOUND);
}

/// Presses a provider's Connect button on the integrations page.
async fn press_connect(owner: &Visitor<'_>, provider: &str) -> reqwest::Response {
    owner
        .submit(
            "/dashboard/integrations",
            &format!("/dashboard/integrations/{provider}/connect"),
            &[],
        )
        .await
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
