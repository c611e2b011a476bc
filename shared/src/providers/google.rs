//! Google Calendar v3 events. Outbound: every event we create gets an id derived from the appointment id
//! (base32hex, which Google accepts for client-chosen ids), so creating it twice answers 409 and becomes an update:
//! a lost response can never leave two events. Inbound: `events.list` with `singleEvents` (Google expands recurring
//! series, exceptions and cancelled instances included) and sync tokens, and `events.watch` push channels.

use async_trait::async_trait;
use jiff::SignedDuration;
use jiff::tz::TimeZone;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::api::ProviderApi;
use super::oauth::OAuthSettings;
use super::{ProviderCredentials, ProviderEndpoints, path_segment, retry_after};
use crate::domain::{AppointmentId, EventTiming, ExternalEvent, ExternalEventChange};
use crate::ports::{
    CalendarChanges, CalendarEvent, CalendarProvider, CalendarSummary, ChangesSince, ProviderError,
    PushChannel, PushEvent, PushNotification, PushRequest, PushSettings, Trouble, WebhookCall,
    WebhookReading, WebhookRefusal,
};
use utoipa::OpenApi;

super::provider_module! {
    /// Google Calendar's name in records, URLs and `GOOGLE_…` settings.
    kind: GOOGLE = "google",
    display_name: "Google Calendar",
    vendor: "Google",
    webhook: "/v1/webhooks/google" read by read_notification, documented by WebhookDoc,
    calendar: GoogleCalendar,
}

#[derive(OpenApi)]
#[openapi(paths(read_notification))]
struct WebhookDoc;

/// Google sends an empty body; everything is in the `X-Goog-*` headers.
#[utoipa::path(post, path = "/v1/webhooks/google", tag = "webhooks", security(()),
    operation_id = "google_notification",
    params(
        ("X-Goog-Channel-ID" = String, Header, description = "The channel the notification is for"),
        ("X-Goog-Channel-Token" = Option<String>, Header, description = "The secret given when the channel was opened"),
        ("X-Goog-Resource-ID" = Option<String>, Header, description = "The watched resource"),
        ("X-Goog-Resource-State" = String, Header, description = "sync, exists or not_exists"),
    ),
    responses((status = 200, description = "Accepted; a sync is queued when the calendar changed")))]
fn read_notification(call: &WebhookCall<'_>) -> Result<WebhookReading, WebhookRefusal> {
    let (Some(channel_id), Some(resource_state)) = (
        call.header("x-goog-channel-id"),
        call.header("x-goog-resource-state"),
    ) else {
        return Err(WebhookRefusal::Header {
            field: "X-Goog-Channel-ID",
            message: "a Google notification names its channel and resource state".to_owned(),
        });
    };
    let notification = PushNotification {
        channel_id,
        secret: call.header("x-goog-channel-token"),
        resource_id: call.header("x-goog-resource-id"),
        // `sync` when the channel opens, then `exists` (or `not_exists`) on changes.
        event: match resource_state.as_str() {
            "sync" => PushEvent::Opened,
            _ => PushEvent::Changed,
        },
    };
    Ok(WebhookReading::Notifications {
        notifications: vec![notification],
        status: http::StatusCode::OK,
    })
}
/// Google channels may last longer, but a week keeps an abandoned one from lingering.
pub(crate) const CHANNEL_LIFETIME: SignedDuration = SignedDuration::from_hours(7 * 24);

/// The real Google endpoints.
pub fn default_endpoints() -> ProviderEndpoints {
    ProviderEndpoints {
        api_base: "https://www.googleapis.com/calendar/v3/".into(),
        authorize_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
        token_url: "https://oauth2.googleapis.com/token".into(),
        revoke_url: Some("https://oauth2.googleapis.com/revoke".into()),
    }
}

/// The scopes sync needs, with offline access and consent, so that Google issues a refresh token every time.
pub fn oauth_settings(
    credentials: ProviderCredentials,
    endpoints: &ProviderEndpoints,
) -> OAuthSettings {
    credentials.settings(
        endpoints,
        &[
            "https://www.googleapis.com/auth/calendar.events",
            "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
            "https://www.googleapis.com/auth/calendar.freebusy",
        ],
        &[("access_type", "offline"), ("prompt", "consent")],
    )
}

/// The private extended property that marks an event as ours, so inbound sync can skip it.
pub const APPOINTMENT_PROPERTY: &str = "bookingAppointmentId";

/// Our events have no attendees, but a write must never e-mail anyone.
const NO_INVITATIONS: &[(&str, &str)] = &[("sendUpdates", "none")];

pub struct GoogleCalendar {
    /// Google Calendar's API, e.g. at `https://www.googleapis.com/calendar/v3/`.
    api: ProviderApi,
}

/// The event id of an appointment: its 16 UUID bytes in base32hex (`0-9a-v`), 26 characters.
pub fn event_id(appointment: AppointmentId) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let bytes = appointment.as_uuid().as_u128();
    (0..26)
        .map(|index| {
            // 128 bits in 5-bit groups from the top; the last group is the 3 remaining bits, shifted up.
            let shift = 128_i32 - 5 * (index + 1);
            let group = if shift >= 0 {
                (bytes >> shift) & 0x1f
            } else {
                (bytes << -shift) & 0x1f
            };
            char::from(ALPHABET[group as usize])
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CalendarListPage {
    #[serde(default)]
    items: Vec<CalendarListEntry>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CalendarListEntry {
    id: String,
    #[serde(default)]
    summary: String,
    summary_override: Option<String>,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    access_role: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventTime {
    date_time: String,
    time_zone: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    summary: &'a str,
    description: &'a str,
    start: EventTime,
    end: EventTime,
    /// A patch of an event that was deleted (Google keeps it as `cancelled`) brings it back.
    status: &'static str,
    transparency: &'static str,
    extended_properties: Value,
}

fn event_time(instant: jiff::Timestamp, zone: &str) -> Result<EventTime, ProviderError> {
    let tz =
        TimeZone::get(zone).map_err(|error| ProviderError::Rejected(error.to_string().into()))?;
    Ok(EventTime {
        date_time: instant
            .to_zoned_datetime(tz)
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
        time_zone: zone.to_owned(),
    })
}

impl GoogleCalendar {
    pub fn new(http: reqwest::Client, api_base: impl Into<String>) -> Self {
        Self {
            api: ProviderApi::new(http, api_base),
        }
    }

    fn events_url(&self, calendar_id: &str) -> String {
        format!(
            "{}calendars/{}/events",
            self.api.base,
            path_segment(calendar_id)
        )
    }

    /// One page of a listing at `url`: the first without a page token, each further one with the token the page
    /// before it answered.
    fn listing_page<Query: Serialize + ?Sized>(
        &self,
        url: String,
        query: &Query,
        page_token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let request = self.api.http.get(url).query(query);
        match page_token {
            Some(token) => request.query(&[("pageToken", token)]),
            None => request,
        }
    }
}

/// One page of `events.list`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventsPage {
    #[serde(default)]
    items: Vec<Value>,
    next_page_token: Option<String>,
    next_sync_token: Option<String>,
    time_zone: Option<String>,
}

/// Reads one event of a listing; `None` for an item that is not a readable event (it is skipped, not fatal: one
/// odd event must not stop the whole calendar from syncing).
pub fn event_change(item: &Value) -> Option<ExternalEventChange> {
    let id = item["id"].as_str()?.to_owned();
    if item["status"] == "cancelled" {
        return Some(ExternalEventChange::Removed { id });
    }
    let timing = match (item["start"]["date"].as_str(), item["end"]["date"].as_str()) {
        (Some(start), Some(end)) => EventTiming::AllDay {
            start: start.parse().ok()?,
            end: end.parse().ok()?,
        },
        _ => EventTiming::Timed {
            start: item["start"]["dateTime"].as_str()?.parse().ok()?,
            end: item["end"]["dateTime"].as_str()?.parse().ok()?,
        },
    };
    let declined = item["attendees"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|attendee| attendee["self"] == true && attendee["responseStatus"] == "declined");
    let event = ExternalEvent {
        timing,
        cancelled: false,
        shown_as_free: item["transparency"] == "transparent",
        declined,
        ours: item["extendedProperties"]["private"][APPOINTMENT_PROPERTY].is_string(),
    };
    Some(ExternalEventChange::Changed { id, event })
}

/// Sorts a refused response into what sync does next.
async fn refusal(response: reqwest::Response) -> ProviderError {
    let status = response.status();
    let wait = retry_after(response.headers());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let message = body["error"]["message"].as_str();
    let rate_limit_reason = body["error"]["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|error| {
            matches!(
                error["reason"].as_str(),
                Some("rateLimitExceeded" | "userRateLimitExceeded")
            )
        });
    match status {
        StatusCode::UNAUTHORIZED => ProviderError::Unauthorized,
        StatusCode::TOO_MANY_REQUESTS => ProviderError::RateLimited { retry_after: wait },
        StatusCode::FORBIDDEN if rate_limit_reason => {
            ProviderError::RateLimited { retry_after: wait }
        }
        StatusCode::NOT_FOUND => ProviderError::CalendarNotFound,
        StatusCode::GONE => ProviderError::CursorExpired,
        status if status.is_server_error() => {
            ProviderError::Transient(Trouble::said(format!("Google answered {status}"), message))
        }
        status => {
            ProviderError::Rejected(Trouble::said(format!("Google answered {status}"), message))
        }
    }
}

#[async_trait]
impl CalendarProvider for GoogleCalendar {
    fn push_settings(&self) -> PushSettings {
        PushSettings {
            channel_lifetime: CHANNEL_LIFETIME,
            we_name_channels: true,
        }
    }

    async fn list_calendars(
        &self,
        access_token: &SecretString,
    ) -> Result<Vec<CalendarSummary>, ProviderError> {
        let mut calendars = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let request = self.listing_page(
                format!("{}users/me/calendarList", self.api.base),
                &[("maxResults", "250")],
                page_token.as_deref(),
            );
            let page: CalendarListPage = self.api.fetch(request, access_token, refusal).await?;
            calendars.extend(page.items.into_iter().map(|entry| CalendarSummary {
                // A primary calendar's id is its owner's e-mail address.
                owner: entry.primary.then(|| entry.id.clone()),
                writable: matches!(entry.access_role.as_str(), "owner" | "writer"),
                primary: entry.primary,
                name: entry.summary_override.unwrap_or(entry.summary),
                id: entry.id,
            }));
            match page.next_page_token {
                Some(next) => page_token = Some(next),
                None => return Ok(calendars),
            }
        }
    }

    async fn put_event(
        &self,
        access_token: &SecretString,
        calendar_id: &str,
        event: &CalendarEvent,
        _known_event_id: Option<&str>,
    ) -> Result<String, ProviderError> {
        let id = event_id(event.appointment_id);
        let mut body = EventBody {
            id: Some(&id),
            summary: &event.summary,
            description: &event.description,
            start: event_time(event.start, &event.time_zone)?,
            end: event_time(event.end, &event.time_zone)?,
            status: "confirmed",
            transparency: "opaque",
            extended_properties: serde_json::json!({
                "private": { APPOINTMENT_PROPERTY: event.appointment_id.to_string() }
            }),
        };
        let created = self
            .api
            .send(
                self.api
                    .http
                    .post(self.events_url(calendar_id))
                    .query(NO_INVITATIONS)
                    .json(&body),
                access_token,
            )
            .await?;
        if created.status().is_success() {
            return Ok(id);
        }
        if created.status() != StatusCode::CONFLICT {
            return Err(refusal(created).await);
        }
        // The event exists (created by an earlier attempt whose answer was lost, or synced before): update it.
        body.id = None;
        let url = format!("{}/{}", self.events_url(calendar_id), id);
        let patched = self
            .api
            .send(
                self.api.http.patch(url).query(NO_INVITATIONS).json(&body),
                access_token,
            )
            .await?;
        if patched.status().is_success() {
            Ok(id)
        } else {
            Err(refusal(patched).await)
        }
    }

    async fn remove_event(
        &self,
        access_token: &SecretString,
        calendar_id: &str,
        appointment_id: AppointmentId,
        _known_event_id: Option<&str>,
    ) -> Result<(), ProviderError> {
        let url = format!(
            "{}/{}",
            self.events_url(calendar_id),
            event_id(appointment_id)
        );
        let request = self.api.http.delete(url).query(NO_INVITATIONS);
        // Already gone: the goal is reached.
        let gone = [StatusCode::NOT_FOUND, StatusCode::GONE];
        self.api.settle(request, access_token, &gone, refusal).await
    }
    async fn changes(
        &self,
        access_token: &SecretString,
        calendar_id: &str,
        since: ChangesSince<'_>,
    ) -> Result<CalendarChanges, ProviderError> {
        // Google refuses time bounds together with a sync token; the token remembers the first request's.
        let mut query: Vec<(&str, String)> = vec![
            ("singleEvents", "true".to_owned()),
            ("maxResults", "250".to_owned()),
        ];
        match since {
            ChangesSince::Start { window } => {
                query.push(("timeMin", window.start().to_string()));
                query.push(("showDeleted", "false".to_owned()));
            }
            ChangesSince::Cursor(token) => query.push(("syncToken", token.to_owned())),
        }
        let mut changes = Vec::new();
        let mut page_token: Option<String> = None;
        loop {
            let request =
                self.listing_page(self.events_url(calendar_id), &query, page_token.as_deref());
            let page: EventsPage = self.api.fetch(request, access_token, refusal).await?;
            changes.extend(page.items.iter().filter_map(event_change));
            match (page.next_page_token, page.next_sync_token) {
                (Some(next), _) => page_token = Some(next),
                (None, Some(cursor)) => {
                    return Ok(CalendarChanges {
                        changes,
                        cursor,
                        time_zone: page.time_zone,
                    });
                }
                (None, None) => {
                    return Err(ProviderError::Transient(
                        "Google ended a listing without a sync token".into(),
                    ));
                }
            }
        }
    }

    async fn open_push_channel(
        &self,
        access_token: &SecretString,
        calendar_id: &str,
        request: &PushRequest<'_>,
    ) -> Result<PushChannel, ProviderError> {
        let body = serde_json::json!({
            "id": request.channel_id,
            "type": "web_hook",
            "address": request.address,
            "token": request.secret.expose_secret(),
            "expiration": request.expires_at.as_millisecond().to_string(),
        });
        let watch = self
            .api
            .http
            .post(format!("{}/watch", self.events_url(calendar_id)))
            .json(&body);
        let channel: Value = self.api.fetch(watch, access_token, refusal).await?;
        let expires_at = channel["expiration"]
            .as_str()
            .and_then(|millis| millis.parse::<i64>().ok())
            .and_then(|millis| jiff::Timestamp::from_millisecond(millis).ok())
            .unwrap_or(request.expires_at);
        Ok(PushChannel {
            id: channel["id"]
                .as_str()
                .unwrap_or(request.channel_id)
                .to_owned(),
            resource_id: channel["resourceId"].as_str().map(str::to_owned),
            expires_at,
        })
    }

    async fn renew_push_channel(
        &self,
        _access_token: &SecretString,
        _channel: &PushChannel,
        _expires_at: jiff::Timestamp,
    ) -> Result<Option<PushChannel>, ProviderError> {
        // Google channels cannot be extended: a new one replaces the old.
        Ok(None)
    }

    async fn close_push_channel(
        &self,
        access_token: &SecretString,
        channel: &PushChannel,
    ) -> Result<(), ProviderError> {
        let body = serde_json::json!({ "id": channel.id, "resourceId": channel.resource_id });
        let stop = self
            .api
            .http
            .post(format!("{}channels/stop", self.api.base))
            .json(&body);
        // Expired or stopped already.
        self.api
            .settle(stop, access_token, &[StatusCode::NOT_FOUND], refusal)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_26_base32hex_characters_and_distinct() {
        let first = AppointmentId::generate();
        let second = AppointmentId::generate();
        let id = event_id(first);
        assert_eq!(id.len(), 26);
        assert!(
            id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'v')),
            "{id}"
        );
        assert_eq!(id, event_id(first));
        assert_ne!(id, event_id(second));
    }

    #[test]
    fn event_ids_encode_every_bit() {
        let all_ones = AppointmentId::from(uuid::Uuid::from_u128(u128::MAX));
        // 128 bits fill 25 full characters; the last carries 3 bits padded with zeros (0b11100 = 's').
        assert_eq!(event_id(all_ones), "vvvvvvvvvvvvvvvvvvvvvvvvvs");
        let zero = AppointmentId::from(uuid::Uuid::from_u128(0));
        assert_eq!(event_id(zero), "00000000000000000000000000");
    }

    fn change(item: Value) -> Option<ExternalEventChange> {
        event_change(&item)
    }

    #[test]
    fn cancelled_items_are_removals_and_timed_items_carry_their_instants() {
        assert_eq!(
            change(serde_json::json!({"id": "x", "status": "cancelled"})),
            Some(ExternalEventChange::Removed { id: "x".into() })
        );
        let Some(ExternalEventChange::Changed { event, .. }) = change(serde_json::json!({
            "id": "y", "status": "tentative",
            "start": {"dateTime": "2026-06-01T10:00:00+02:00"},
            "end": {"dateTime": "2026-06-01T11:00:00+02:00"},
        })) else {
            panic!("a timed event is a change");
        };
        assert_eq!(
            event.timing,
            EventTiming::Timed {
                start: "2026-06-01T08:00:00Z"
                    .parse()
                    .unwrap_or_else(|e| panic!("{e}")),
                end: "2026-06-01T09:00:00Z"
                    .parse()
                    .unwrap_or_else(|e| panic!("{e}")),
            }
        );
        assert!(!event.shown_as_free && !event.declined && !event.ours);
    }

    #[test]
    fn free_declined_all_day_and_own_events_are_recognised() {
        let Some(ExternalEventChange::Changed { event, .. }) = change(serde_json::json!({
            "id": "z",
            "start": {"date": "2026-06-01"}, "end": {"date": "2026-06-03"},
            "transparency": "transparent",
            "attendees": [{"email": "a@example.com", "self": true, "responseStatus": "declined"}],
            "extendedProperties": {"private": {APPOINTMENT_PROPERTY: "00000000-0000-0000-0000-000000000001"}},
        })) else {
            panic!("an all-day event is a change");
        };
        assert_eq!(
            event.timing,
            EventTiming::AllDay {
                start: jiff::civil::date(2026, 6, 1),
                end: jiff::civil::date(2026, 6, 3)
            }
        );
        assert!(event.shown_as_free && event.declined && event.ours);
        assert_eq!(
            change(serde_json::json!({"id": "broken", "start": {}})),
            None
        );
    }
}
