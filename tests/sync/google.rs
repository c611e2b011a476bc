//! The Google Calendar emulator as a sync test target.

use integration_tests::emulators::faults::Faults;
use integration_tests::emulators::google::{self, GoogleEmulator};
use serde_json::Value;
use shared::app::integrations::ProviderEndpoints;
use shared::ports::ProviderKind;
use shared::providers::google::APPOINTMENT_PROPERTY;

use crate::harness::{Emulated, SyncedEvent};

impl Emulated for GoogleEmulator {
    const KIND: ProviderKind = ProviderKind::Google;

    async fn start() -> Self {
        GoogleEmulator::start().await
    }

    fn endpoints(&self) -> ProviderEndpoints {
        ProviderEndpoints {
            api_base: self.api_base(),
            authorize_url: self.authorize_url(),
            token_url: self.token_url(),
            revoke_url: Some(self.revoke_url()),
        }
    }

    fn credentials(&self) -> (&'static str, &'static str) {
        (google::CLIENT_ID, google::CLIENT_SECRET)
    }

    fn faults(&self) -> &Faults {
        GoogleEmulator::faults(self)
    }

    fn sync_calendar(&self) -> String {
        google::TEAM_CALENDAR.to_owned()
    }

    fn raw_events(&self, calendar_id: &str) -> Vec<Value> {
        self.events(calendar_id)
    }

    fn parse(&self, raw: &Value) -> SyncedEvent {
        SyncedEvent {
            appointment_id: raw["extendedProperties"]["private"][APPOINTMENT_PROPERTY]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            title: raw["summary"].as_str().unwrap_or_default().to_owned(),
            description: raw["description"].as_str().unwrap_or_default().to_owned(),
            start: raw["start"]["dateTime"].as_str().unwrap().parse().unwrap(),
            end: raw["end"]["dateTime"].as_str().unwrap().parse().unwrap(),
            time_zone: raw["start"]["timeZone"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }
    }

    fn violations(&self) -> Vec<String> {
        GoogleEmulator::violations(self)
    }

    fn token_refresh_count(&self) -> usize {
        GoogleEmulator::token_refresh_count(self)
    }

    fn revocation_count(&self) -> usize {
        self.request_count("revoke")
    }

    fn revoke_grants(&self) {
        GoogleEmulator::revoke_grants(self)
    }

    fn expire_access_tokens(&self) {
        GoogleEmulator::expire_access_tokens(self)
    }
}
