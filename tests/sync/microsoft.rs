//! The Microsoft Graph emulator as a sync test target.

use booking_core::ports::ProviderKind;
use booking_core::providers::ProviderEndpoints;
use booking_core::providers::microsoft::APPOINTMENT_PROPERTY_ID;
use integration_tests::emulators::microsoft::{self, GraphEmulator};
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::{Value, json};

use crate::harness::{Emulated, Kind, SyncedEvent, forward_to_emulator};

const ZONE: &str = "America/New_York";

fn graph_time(instant: Timestamp) -> Value {
    let local = instant.to_zoned_datetime(TimeZone::get(ZONE).unwrap());
    json!({ "dateTime": local.strftime("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": ZONE })
}

fn graph_midnight(date: Date) -> Value {
    json!({ "dateTime": format!("{date}T00:00:00"), "timeZone": ZONE })
}

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
    const KIND: ProviderKind = ProviderKind::MICROSOFT;

    forward_to_emulator!(GraphEmulator, graph_time);

    fn endpoints(&self) -> ProviderEndpoints {
        integration_tests::graph_endpoints(self)
    }

    fn credentials(&self) -> (&'static str, &'static str) {
        (microsoft::CLIENT_ID, microsoft::CLIENT_SECRET)
    }

    fn sync_calendar(&self) -> String {
        self.calendar_id("Team")
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

    fn revocation_count(&self) -> usize {
        0
    }

    fn add_timed(&self, calendar_id: &str, start: Timestamp, end: Timestamp, kind: Kind) -> String {
        let mut event = json!({
            "subject": "Dentist",
            "start": graph_time(start),
            "end": graph_time(end),
        });
        match kind {
            Kind::Busy => {}
            Kind::Tentative => event["showAs"] = json!("tentative"),
            Kind::Free => event["showAs"] = json!("free"),
            Kind::Declined => {
                event["responseStatus"] =
                    json!({ "response": "declined", "time": "2026-11-29T10:00:00Z" })
            }
        }
        self.add_event(calendar_id, event)
    }

    fn add_all_day(&self, calendar_id: &str, first: Date, end: Date, busy: bool) -> String {
        self.add_event(
            calendar_id,
            json!({
                "subject": "Away",
                "isAllDay": true,
                "start": graph_midnight(first),
                "end": graph_midnight(end),
                "showAs": if busy { "busy" } else { "free" },
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
        let first = start.to_zoned_datetime(TimeZone::get(ZONE).unwrap()).date();
        let series = self.add_event(
            calendar_id,
            json!({
                "subject": "Standup",
                "start": graph_time(start),
                "end": graph_time(end),
                "recurrence": {
                    "pattern": { "type": "daily", "interval": 1 },
                    "range": {
                        "type": "numbered",
                        "startDate": first.to_string(),
                        "numberOfOccurrences": count,
                    },
                },
            }),
        );
        (0..count)
            .map(|day| {
                let date = first
                    .checked_add(jiff::Span::new().days(i64::from(day)))
                    .unwrap();
                format!("{series}_occ_{}", date.strftime("%Y%m%d"))
            })
            .collect()
    }

    fn invalidate_cursors(&self) {
        self.invalidate_delta_tokens()
    }

    fn channels(&self) -> Vec<Value> {
        self.subscriptions()
    }

    fn change_listings(&self) -> usize {
        self.request_count("calendarView.delta")
    }
}
