//! The Microsoft Graph emulator as a sync test target.

use integration_tests::emulators::faults::Faults;
use integration_tests::emulators::microsoft::{self, GraphEmulator};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::Value;
use shared::app::integrations::ProviderEndpoints;
use shared::ports::ProviderKind;
use shared::providers::microsoft::APPOINTMENT_PROPERTY_ID;

use crate::harness::{Emulated, SyncedEvent};

/// Graph's `dateTimeTimeZone`: a wall time and the zone it is read in.
fn instant(time: &Value) -> Timestamp {
    let wall: DateTime = time["dateTime"]
        .as_str()
        .unwrap()
        .trim_end_matches('Z')
        .parse()
        .unwrap();
    let zone = TimeZone::get(time["timeZone"].as_str().unwrap()).unwrap();
    zone.to_ambiguous_timestamp(wall).compatible().unwrap()
}

impl Emulated for GraphEmulator {
    const KIND: ProviderKind = ProviderKind::Microsoft;

    async fn start() -> Self {
        GraphEmulator::start().await
    }

    fn endpoints(&self) -> ProviderEndpoints {
        ProviderEndpoints {
            api_base: self.api_base(),
            authorize_url: self.authorize_url(),
            token_url: self.token_url(),
            revoke_url: None,
        }
    }

    fn credentials(&self) -> (&'static str, &'static str) {
        (microsoft::CLIENT_ID, microsoft::CLIENT_SECRET)
    }

    fn faults(&self) -> &Faults {
        GraphEmulator::faults(self)
    }

    fn sync_calendar(&self) -> String {
        self.calendar_id("Team")
    }

    fn raw_events(&self, calendar_id: &str) -> Vec<Value> {
        self.events(calendar_id)
    }

    fn parse(&self, raw: &Value) -> SyncedEvent {
        let appointment_id = raw["singleValueExtendedProperties"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|property| {
                property["id"]
                    .as_str()
                    .is_some_and(|id| id.eq_ignore_ascii_case(APPOINTMENT_PROPERTY_ID))
            })
            .and_then(|property| property["value"].as_str())
            .unwrap_or_default()
            .to_owned();
        SyncedEvent {
            appointment_id,
            title: raw["subject"].as_str().unwrap_or_default().to_owned(),
            description: raw["body"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            start: instant(&raw["start"]),
            end: instant(&raw["end"]),
            time_zone: raw["start"]["timeZone"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        }
    }

    fn violations(&self) -> Vec<String> {
        GraphEmulator::violations(self)
    }

    fn token_refresh_count(&self) -> usize {
        GraphEmulator::token_refresh_count(self)
    }

    fn revocation_count(&self) -> usize {
        0
    }

    fn revoke_grants(&self) {
        GraphEmulator::revoke_grants(self)
    }

    fn expire_access_tokens(&self) {
        GraphEmulator::expire_access_tokens(self)
    }
}
