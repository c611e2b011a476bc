//! The Google Calendar emulator as a sync test target.

use booking_core::ports::ProviderKind;
use booking_core::providers::ProviderEndpoints;
use booking_core::providers::google::APPOINTMENT_PROPERTY;
use integration_tests::emulators::google::{self, GoogleEmulator};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

use crate::harness::{Emulated, Kind, SyncedEvent, forward_to_emulator};

const ZONE: &str = "America/New_York";

fn google_time(instant: Timestamp) -> Value {
    let local = instant.to_zoned_datetime(TimeZone::get(ZONE).unwrap());
    json!({ "dateTime": local.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(), "timeZone": ZONE })
}

impl Emulated for GoogleEmulator {
    const KIND: ProviderKind = ProviderKind::GOOGLE;

    forward_to_emulator!(GoogleEmulator, google_time);

    fn endpoints(&self) -> ProviderEndpoints {
        integration_tests::google_endpoints(self)
    }

    fn credentials(&self) -> (&'static str, &'static str) {
        (google::CLIENT_ID, google::CLIENT_SECRET)
    }

    fn sync_calendar(&self) -> String {
        google::TEAM_CALENDAR.to_owned()
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

    fn revocation_count(&self) -> usize {
        self.request_count("revoke")
    }

    fn add_timed(&self, calendar_id: &str, start: Timestamp, end: Timestamp, kind: Kind) -> String {
        let mut event = json!({
            "summary": "Dentist",
            "start": google_time(start),
            "end": google_time(end),
        });
        match kind {
            Kind::Busy => {}
            Kind::Tentative => event["status"] = json!("tentative"),
            Kind::Free => event["transparency"] = json!("transparent"),
            Kind::Declined => {
                event["attendees"] = json!([
                    { "email": "boss@example.com", "organizer": true, "responseStatus": "accepted" },
                    { "email": calendar_id, "self": true, "responseStatus": "declined" },
                ])
            }
        }
        self.add_event(calendar_id, event)
    }

    fn add_all_day(&self, calendar_id: &str, first: Date, end: Date, busy: bool) -> String {
        self.add_event(
            calendar_id,
            json!({
                "summary": "Away",
                "start": { "date": first.to_string() },
                "end": { "date": end.to_string() },
                "transparency": if busy { "opaque" } else { "transparent" },
            }),
        )
    }

    fn add_daily_series(
        &self,
        calendar_id: &str,
        start: Timestamp,
        end: Timestamp,
        count: u32,
    ) -> Vec<String> {
        let series = self.add_event(
            calendar_id,
            json!({
                "summary": "Standup",
                "start": google_time(start),
                "end": google_time(end),
                "recurrence": [format!("RRULE:FREQ=DAILY;COUNT={count}")],
            }),
        );
        (0..count)
            .map(|day| {
                let instance = start
                    .to_zoned_datetime(TimeZone::get(ZONE).unwrap())
                    .checked_add(jiff::Span::new().days(i64::from(day)))
                    .unwrap()
                    .timestamp();
                format!("{series}_{}", instance.strftime("%Y%m%dT%H%M%SZ"))
            })
            .collect()
    }

    fn invalidate_cursors(&self) {
        self.invalidate_sync_tokens()
    }

    fn channels(&self) -> Vec<Value> {
        GoogleEmulator::channels(self)
    }

    fn change_listings(&self) -> usize {
        self.request_count("calendar.events.list")
    }
}
