//! How an appointment and a Graph event translate: the extended property and the `transactionId` that make a
//! create happen once, the `dateTimeTimeZone` times, the OData lookup, and a delta listing's items as changes.

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::{AppointmentId, EventTiming, ExternalEvent, ExternalEventChange};
use crate::ports::{CalendarEvent, ProviderError};

/// The single-value extended property (a named MAPI string property in our own property set) that holds the
/// appointment id: it finds an event again without trusting a stored event id, and marks the event as ours so inbound
/// sync can skip it.
pub const APPOINTMENT_PROPERTY_ID: &str =
    "String {8bafe699-bcdd-43b5-bbc2-04c9eec6ca65} Name bookingAppointmentId";
/// The first bytes of every `transactionId` we give an event, so inbound sync recognises our events in a delta
/// listing, which does not carry extended properties.
const TRANSACTION_MARK: [u8; 4] = [0xb0, 0x0c, 0x1d, 0x5a];

/// The `transactionId` of an appointment's event: a UUID (version 8: our mark, then a SHA-256 of the appointment id)
/// so that every attempt to create the same event names the same transaction.
pub fn transaction_id(appointment: AppointmentId) -> String {
    let digest = Sha256::new()
        .chain_update(b"booking calendar event ")
        .chain_update(appointment.as_uuid().as_bytes())
        .finalize();
    let mut bytes = [0_u8; 16];
    bytes[..4].copy_from_slice(&TRANSACTION_MARK);
    bytes[4..].copy_from_slice(&digest[..12]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// Whether a `transactionId` is one of ours.
pub fn is_our_transaction_id(text: &str) -> bool {
    uuid::Uuid::parse_str(text).is_ok_and(|id| id.as_bytes()[..4] == TRANSACTION_MARK)
}

/// Reads one item of a delta listing; `None` for an item that is not a readable event (skipped, so one odd event
/// cannot stop a calendar from syncing). Times are asked for in UTC (`Prefer: outlook.timezone`).
pub fn event_change(item: &Value) -> Option<ExternalEventChange> {
    let id = item["id"].as_str()?.to_owned();
    if !item["@removed"].is_null() || item["isCancelled"] == true {
        return Some(ExternalEventChange::Removed { id });
    }
    if item["type"] == "seriesMaster" {
        return None;
    }
    let start = item["start"]["dateTime"].as_str()?;
    let end = item["end"]["dateTime"].as_str()?;
    let timing = if item["isAllDay"] == true {
        EventTiming::AllDay {
            start: start.get(..10)?.parse().ok()?,
            end: end.get(..10)?.parse().ok()?,
        }
    } else {
        EventTiming::Timed {
            start: graph_instant(start, item["start"]["timeZone"].as_str()?)?,
            end: graph_instant(end, item["end"]["timeZone"].as_str()?)?,
        }
    };
    let ours = item["transactionId"]
        .as_str()
        .is_some_and(is_our_transaction_id)
        || item["singleValueExtendedProperties"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|property| property["id"] == APPOINTMENT_PROPERTY_ID);
    let event = ExternalEvent {
        timing,
        cancelled: false,
        shown_as_free: item["showAs"] == "free",
        declined: item["responseStatus"]["response"] == "declined",
        ours,
    };
    Some(ExternalEventChange::Changed { id, event })
}

/// A Graph `dateTime` (local, no offset, up to seven fractional digits) in `zone` as an instant.
fn graph_instant(date_time: &str, zone: &str) -> Option<Timestamp> {
    let civil: jiff::civil::DateTime = date_time.parse().ok()?;
    let zone = TimeZone::get(zone).ok()?;
    zone.to_ambiguous_timestamp(civil).compatible().ok()
}

/// The OData `$filter` that finds the events carrying this appointment's property.
pub fn appointment_filter(appointment: AppointmentId) -> String {
    format!(
        "singleValueExtendedProperties/Any(ep: ep/id eq {} and ep/value eq {})",
        odata_string(APPOINTMENT_PROPERTY_ID),
        odata_string(&appointment.to_string())
    )
}

/// An OData string literal: single-quoted, with quotes inside doubled.
fn odata_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
struct DateTimeTimeZone {
    date_time: String,
    time_zone: String,
}

/// Graph's `dateTimeTimeZone`: the wall-clock time in `zone`, without offset. A wall time that occurs twice (the hour
/// repeated when clocks go back) would let Graph pick the wrong one, so such an instant is given in UTC instead.
fn date_time_time_zone(instant: Timestamp, zone: &str) -> Result<DateTimeTimeZone, ProviderError> {
    let tz =
        TimeZone::get(zone).map_err(|error| ProviderError::Rejected(error.to_string().into()))?;
    let wall = instant.to_zoned_datetime(tz.clone()).datetime();
    let (wall, zone) = if tz.to_ambiguous_timestamp(wall).is_ambiguous() {
        (instant.to_zoned_datetime(TimeZone::UTC).datetime(), "UTC")
    } else {
        (wall, zone)
    };
    Ok(DateTimeTimeZone {
        date_time: wall.strftime("%Y-%m-%dT%H:%M:%S").to_string(),
        time_zone: zone.to_owned(),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemBody<'a> {
    content_type: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct ExtendedProperty {
    id: &'static str,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct EventBody<'a> {
    subject: &'a str,
    body: ItemBody<'a>,
    start: DateTimeTimeZone,
    end: DateTimeTimeZone,
    show_as: &'static str,
    is_reminder_on: bool,
    single_value_extended_properties: [ExtendedProperty; 1],
    /// Only on create: Graph uses it to recognise a repeated create.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) transaction_id: Option<String>,
}

impl<'a> EventBody<'a> {
    pub(super) fn new(event: &'a CalendarEvent) -> Result<Self, ProviderError> {
        Ok(Self {
            subject: &event.summary,
            body: ItemBody {
                content_type: "text",
                content: &event.description,
            },
            start: date_time_time_zone(event.start, &event.time_zone)?,
            end: date_time_time_zone(event.end, &event.time_zone)?,
            show_as: "busy",
            is_reminder_on: false,
            single_value_extended_properties: [ExtendedProperty {
                id: APPOINTMENT_PROPERTY_ID,
                value: event.appointment_id.to_string(),
            }],
            transaction_id: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instant(text: &str) -> Timestamp {
        text.parse()
            .unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    fn local(date_time: &str, zone: &str) -> DateTimeTimeZone {
        DateTimeTimeZone {
            date_time: date_time.to_owned(),
            time_zone: zone.to_owned(),
        }
    }

    #[test]
    fn times_are_wall_clock_in_the_zone_without_offset() {
        let start = date_time_time_zone(instant("2026-12-01T14:00:00Z"), "America/New_York");
        assert_eq!(
            start.ok(),
            Some(local("2026-12-01T09:00:00", "America/New_York"))
        );
        let summer = date_time_time_zone(instant("2026-07-01T07:30:15Z"), "Europe/Lisbon");
        assert_eq!(
            summer.ok(),
            Some(local("2026-07-01T08:30:15", "Europe/Lisbon"))
        );
    }

    #[test]
    fn the_spring_forward_day_uses_each_instants_own_offset() {
        // 2026-03-08 in New York: 02:00 EST jumps to 03:00 EDT.
        let zone = "America/New_York";
        let before = date_time_time_zone(instant("2026-03-08T06:30:00Z"), zone);
        let after = date_time_time_zone(instant("2026-03-08T07:30:00Z"), zone);
        assert_eq!(before.ok(), Some(local("2026-03-08T01:30:00", zone)));
        assert_eq!(after.ok(), Some(local("2026-03-08T03:30:00", zone)));
    }

    #[test]
    fn a_repeated_wall_time_is_given_in_utc() {
        // 2026-11-01 in New York: 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST).
        let zone = "America/New_York";
        for utc in ["2026-11-01T05:30:00", "2026-11-01T06:30:00"] {
            let time = date_time_time_zone(instant(&format!("{utc}Z")), zone);
            assert_eq!(time.ok(), Some(local(utc, "UTC")));
        }
        let later = date_time_time_zone(instant("2026-11-01T07:30:00Z"), zone);
        assert_eq!(later.ok(), Some(local("2026-11-01T02:30:00", zone)));
    }

    #[test]
    fn an_unknown_zone_is_rejected() {
        let result = date_time_time_zone(instant("2026-12-01T14:00:00Z"), "Mars/Olympus_Mons");
        assert!(matches!(result, Err(ProviderError::Rejected(_))));
    }

    #[test]
    fn the_filter_matches_property_and_appointment() {
        let appointment = AppointmentId::from(uuid::Uuid::from_u128(0x0190_abcd));
        assert_eq!(
            appointment_filter(appointment),
            "singleValueExtendedProperties/Any(ep: ep/id eq \
             'String {8bafe699-bcdd-43b5-bbc2-04c9eec6ca65} Name bookingAppointmentId' \
             and ep/value eq '00000000-0000-0000-0000-00000190abcd')"
        );
        assert_eq!(odata_string("O'Brien"), "'O''Brien'");
    }

    #[test]
    fn transaction_ids_are_stable_uuids_per_appointment() {
        let first = AppointmentId::generate();
        let second = AppointmentId::generate();
        let id = transaction_id(first);
        let parsed = uuid::Uuid::parse_str(&id).ok();
        assert_eq!(parsed.map(|uuid| uuid.get_version_num()), Some(8));
        assert_eq!(id, transaction_id(first));
        assert_ne!(id, transaction_id(second));
        assert_ne!(id, first.to_string());
    }

    #[test]
    fn the_body_names_only_graph_event_properties() {
        let event = CalendarEvent {
            appointment_id: AppointmentId::from(uuid::Uuid::from_u128(7)),
            summary: "Consultation: Ana Silva".to_owned(),
            description: "first visit".to_owned(),
            start: instant("2026-12-01T14:00:00Z"),
            end: instant("2026-12-01T14:30:00Z"),
            time_zone: "America/New_York".to_owned(),
        };
        let body = EventBody::new(&event).map(|body| serde_json::to_value(body).ok());
        let body = body.ok().flatten().unwrap_or_default();
        assert_eq!(
            body,
            serde_json::json!({
                "subject": "Consultation: Ana Silva",
                "body": { "contentType": "text", "content": "first visit" },
                "start": { "dateTime": "2026-12-01T09:00:00", "timeZone": "America/New_York" },
                "end": { "dateTime": "2026-12-01T09:30:00", "timeZone": "America/New_York" },
                "showAs": "busy",
                "isReminderOn": false,
                "singleValueExtendedProperties": [
                    { "id": APPOINTMENT_PROPERTY_ID, "value": "00000000-0000-0000-0000-000000000007" }
                ]
            })
        );
    }

    #[test]
    fn our_transaction_ids_are_recognised_and_others_are_not() {
        assert!(is_our_transaction_id(&transaction_id(
            AppointmentId::generate()
        )));
        assert!(!is_our_transaction_id(&uuid::Uuid::new_v4().to_string()));
        assert!(!is_our_transaction_id("not a uuid"));
    }

    #[test]
    fn delta_items_become_changes() {
        let removed = serde_json::json!({"@removed": {"reason": "deleted"}, "id": "gone"});
        assert_eq!(
            event_change(&removed),
            Some(ExternalEventChange::Removed { id: "gone".into() })
        );
        let item = serde_json::json!({
            "id": "e1", "type": "exception", "showAs": "tentative", "isAllDay": false,
            "start": {"dateTime": "2026-06-01T08:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-06-01T09:30:00.0000000", "timeZone": "UTC"},
            "responseStatus": {"response": "declined"},
            "transactionId": transaction_id(AppointmentId::generate()),
        });
        let Some(ExternalEventChange::Changed { event, .. }) = event_change(&item) else {
            panic!("a timed item is a change");
        };
        assert_eq!(
            event.timing,
            EventTiming::Timed {
                start: instant("2026-06-01T08:00:00Z"),
                end: instant("2026-06-01T09:30:00Z"),
            }
        );
        assert!(event.declined && event.ours && !event.shown_as_free);
        let all_day = serde_json::json!({
            "id": "e2", "isAllDay": true, "showAs": "free",
            "start": {"dateTime": "2026-06-01T00:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-06-02T00:00:00.0000000", "timeZone": "UTC"},
        });
        let Some(ExternalEventChange::Changed { event, .. }) = event_change(&all_day) else {
            panic!("an all-day item is a change");
        };
        assert!(event.shown_as_free);
        assert_eq!(
            event.timing,
            EventTiming::AllDay {
                start: jiff::civil::date(2026, 6, 1),
                end: jiff::civil::date(2026, 6, 2)
            }
        );
    }
}
