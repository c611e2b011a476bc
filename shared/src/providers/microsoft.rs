//! Microsoft Graph v1.0 calendar events. Inbound sync reads `calendarView/delta` (occurrences of recurring series
//! expanded by Graph) and subscribes to change notifications; outbound is the rest of this module. Graph chooses event ids itself, so a lost create response
//! cannot be detected by id as with Google. Two defences take its place: every event carries a single-value extended
//! property holding the appointment id, looked up before anything is created, and every create carries a
//! `transactionId` derived from the appointment id, which makes Graph answer a repeated create with the event it
//! already made (covering a lookup that misses an event the mailbox has not indexed yet).

use std::sync::Arc;

use async_trait::async_trait;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::oauth::{OAuthClient, OAuthSettings};
use super::{ProviderCredentials, ProviderEndpoints, ProviderModule, path_segment, retry_after};
use crate::domain::{AppointmentId, EventTiming, ExternalEvent, ExternalEventChange};
use crate::ports::{
    CalendarChanges, CalendarEvent, CalendarProvider, CalendarSummary, ChangesSince, ProviderError,
    ProviderKind, ProviderProfile, ProviderSetup, ProviderWebhook, PushChannel, PushEvent,
    PushNotification, PushRequest, PushSettings, Trouble, WebhookCall, WebhookReading,
    WebhookRefusal,
};
use utoipa::{IntoParams, OpenApi, ToSchema};

/// How the composition root finds and builds Outlook calendars through Microsoft Graph.
pub const MODULE: ProviderModule = ProviderModule {
    profile: PROFILE,
    default_endpoints,
    setup,
};

/// Where Graph's change and lifecycle notifications arrive (see `api::webhooks`).
pub const WEBHOOK_PATH: &str = "/v1/webhooks/microsoft";

/// Outlook calendars as the rest of the system sees them.
pub const PROFILE: ProviderProfile = ProviderProfile {
    kind: ProviderKind::MICROSOFT,
    display_name: "Outlook Calendar",
    vendor: "Microsoft",
    webhook: ProviderWebhook {
        path: WEBHOOK_PATH,
        read: read_notifications,
        openapi: WebhookDoc::openapi,
    },
};

impl ProviderKind {
    /// Microsoft Graph's name in records, URLs and `MICROSOFT_…` settings.
    pub const MICROSOFT: ProviderKind = ProviderKind::from_static("microsoft");
}

#[derive(OpenApi)]
#[openapi(paths(read_notifications))]
struct WebhookDoc;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct GraphQuery {
    /// Sent once when a subscription is created: echo it to prove the endpoint is ours.
    pub validation_token: Option<String>,
}

/// Graph's notification collection; only what we act on is read.
#[derive(Deserialize, ToSchema)]
pub struct GraphNotificationCollection {
    pub value: Vec<GraphNotificationItem>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GraphNotificationItem {
    pub subscription_id: String,
    pub client_state: Option<String>,
    /// Present on lifecycle notifications: reauthorizationRequired, subscriptionRemoved or missed.
    pub lifecycle_event: Option<String>,
}

/// Change and lifecycle notifications, and the validation handshake when a subscription is created.
#[utoipa::path(post, path = "/v1/webhooks/microsoft", tag = "webhooks", security(()), params(GraphQuery),
    operation_id = "microsoft_notification",
    request_body(content = Option<GraphNotificationCollection>, description = "Absent in the validation handshake"),
    responses(
        (status = 200, description = "Validation handshake: the token, as text/plain", content_type = "text/plain", body = String),
        (status = 202, description = "Accepted; a sync is queued")))]
fn read_notifications(call: &WebhookCall<'_>) -> Result<WebhookReading, WebhookRefusal> {
    let query: GraphQuery = serde_urlencoded::from_str(call.query.unwrap_or_default())
        .map_err(|error| WebhookRefusal::Query(error.to_string()))?;
    if let Some(token) = query.validation_token {
        if !call.body.is_empty() {
            return Err(WebhookRefusal::Body(
                "a validation handshake carries no body".to_owned(),
            ));
        }
        return Ok(WebhookReading::Handshake { token });
    }
    let collection: GraphNotificationCollection = serde_json::from_slice(call.body)
        .map_err(|error| WebhookRefusal::Body(error.to_string()))?;
    let notifications = collection
        .value
        .into_iter()
        .map(|item| PushNotification {
            channel_id: item.subscription_id,
            secret: item.client_state,
            resource_id: None,
            // `missed` and plain change notifications alike mean: read the calendar.
            event: match item.lifecycle_event.as_deref() {
                Some("reauthorizationRequired") => PushEvent::RenewNow,
                Some("subscriptionRemoved") => PushEvent::Removed,
                _ => PushEvent::Changed,
            },
        })
        .collect();
    Ok(WebhookReading::Notifications {
        notifications,
        status: http::StatusCode::ACCEPTED,
    })
}
/// Graph's documented maximum for subscriptions to Outlook events: 4,230 minutes, under three days
/// (change-notifications-subscription-lifetime in Microsoft's Graph docs). Reports of live Graph accepting up to
/// 10,080 exist, but the docs warn that requests beyond the table's value will fail: the stricter one holds.
pub const MAX_SUBSCRIPTION_LIFETIME: SignedDuration = SignedDuration::from_mins(4_230);
/// A little less than the maximum, so that our clock running a few minutes ahead of Graph's is not refused.
pub(crate) const SUBSCRIPTION_LIFETIME: SignedDuration =
    SignedDuration::from_mins(MAX_SUBSCRIPTION_LIFETIME.as_mins() - 10);

/// The real Microsoft identity platform and Graph endpoints.
pub fn default_endpoints() -> ProviderEndpoints {
    ProviderEndpoints {
        api_base: "https://graph.microsoft.com/v1.0/".into(),
        authorize_url: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize".into(),
        token_url: "https://login.microsoftonline.com/common/oauth2/v2.0/token".into(),
        revoke_url: None,
    }
}

/// The scopes sync needs; `offline_access` makes Microsoft issue (and rotate) refresh tokens.
pub fn oauth_settings(
    credentials: ProviderCredentials,
    endpoints: &ProviderEndpoints,
) -> OAuthSettings {
    credentials.settings(endpoints, &["offline_access", "Calendars.ReadWrite"], &[])
}

/// Outlook calendars through Graph and Microsoft's OAuth flow over the shared HTTP client.
pub fn setup(
    credentials: ProviderCredentials,
    endpoints: &ProviderEndpoints,
    http: reqwest::Client,
) -> ProviderSetup {
    ProviderSetup {
        profile: PROFILE,
        oauth: Arc::new(OAuthClient::new(
            oauth_settings(credentials, endpoints),
            http.clone(),
        )),
        calendar: Arc::new(OutlookCalendar::new(http, endpoints.api_base.clone())),
    }
}

/// The single-value extended property (a named MAPI string property in our own property set) that holds the
/// appointment id: it finds an event again without trusting a stored event id, and marks the event as ours so inbound
/// sync can skip it.
pub const APPOINTMENT_PROPERTY_ID: &str =
    "String {8bafe699-bcdd-43b5-bbc2-04c9eec6ca65} Name bookingAppointmentId";

pub struct OutlookCalendar {
    /// Carries the request timeout (see [`super::http_client`]).
    http: reqwest::Client,
    /// e.g. `https://graph.microsoft.com/v1.0/`; configurable so tests and demos can use an emulator.
    api_base: String,
}

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
struct EventBody<'a> {
    subject: &'a str,
    body: ItemBody<'a>,
    start: DateTimeTimeZone,
    end: DateTimeTimeZone,
    show_as: &'static str,
    is_reminder_on: bool,
    single_value_extended_properties: [ExtendedProperty; 1],
    /// Only on create: Graph uses it to recognise a repeated create.
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_id: Option<String>,
}

impl<'a> EventBody<'a> {
    fn new(event: &'a CalendarEvent) -> Result<Self, ProviderError> {
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

#[derive(Deserialize)]
struct Page<T> {
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GraphCalendar {
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    is_default_calendar: bool,
    #[serde(default)]
    can_edit: bool,
    owner: Option<EmailAddress>,
}

#[derive(Deserialize)]
struct EmailAddress {
    address: Option<String>,
}

#[derive(Deserialize)]
struct EventRef {
    id: String,
}

/// What a write addressed to one event id found.
enum Outcome {
    Done(String),
    /// No such event (any more): the caller looks further.
    Missing,
}

impl OutlookCalendar {
    pub fn new(http: reqwest::Client, api_base: impl Into<String>) -> Self {
        let mut api_base = api_base.into();
        if !api_base.ends_with('/') {
            api_base.push('/');
        }
        Self { http, api_base }
    }

    fn events_url(&self, calendar_id: &str) -> String {
        format!(
            "{}me/calendars/{}/events",
            self.api_base,
            path_segment(calendar_id)
        )
    }

    fn event_url(&self, calendar_id: &str, event_id: &str) -> String {
        format!(
            "{}/{}",
            self.events_url(calendar_id),
            path_segment(event_id)
        )
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        token: &SecretString,
    ) -> Result<reqwest::Response, ProviderError> {
        request
            .bearer_auth(token.expose_secret())
            .send()
            .await
            .map_err(transport)
    }

    /// The ids of the calendar's events that carry the appointment's property (normally none or one).
    async fn find(
        &self,
        token: &SecretString,
        calendar_id: &str,
        appointment: AppointmentId,
    ) -> Result<Vec<String>, ProviderError> {
        let request = self.http.get(self.events_url(calendar_id)).query(&[
            ("$filter", appointment_filter(appointment).as_str()),
            ("$select", "id"),
        ]);
        let response = self.send(request, token).await?;
        if !response.status().is_success() {
            return Err(refusal(response).await);
        }
        let page: Page<EventRef> = response.json().await.map_err(transport)?;
        Ok(page.value.into_iter().map(|event| event.id).collect())
    }

    async fn patch(
        &self,
        token: &SecretString,
        calendar_id: &str,
        event_id: &str,
        body: &EventBody<'_>,
    ) -> Result<Outcome, ProviderError> {
        let request = self
            .http
            .patch(self.event_url(calendar_id, event_id))
            .json(body);
        let response = self.send(request, token).await?;
        if response.status().is_success() {
            let event: EventRef = response.json().await.map_err(transport)?;
            return Ok(Outcome::Done(event.id));
        }
        if is_missing_event(&response) {
            return Ok(Outcome::Missing);
        }
        Err(refusal(response).await)
    }

    async fn delete(
        &self,
        token: &SecretString,
        calendar_id: &str,
        event_id: &str,
    ) -> Result<Outcome, ProviderError> {
        let request = self.http.delete(self.event_url(calendar_id, event_id));
        let response = self.send(request, token).await?;
        if response.status().is_success() {
            return Ok(Outcome::Done(event_id.to_owned()));
        }
        if is_missing_event(&response) || response.status() == StatusCode::GONE {
            return Ok(Outcome::Missing);
        }
        Err(refusal(response).await)
    }
}

fn transport(error: reqwest::Error) -> ProviderError {
    ProviderError::Transient(error.without_url().to_string().into())
}

/// A 404 for an event address: the event is gone, or its calendar is (a lookup in the calendar tells which).
fn is_missing_event(response: &reqwest::Response) -> bool {
    response.status() == StatusCode::NOT_FOUND
}

/// Sorts a refused response into what sync does next. Graph's error body is `{"error": {"code", "message"}}`.
async fn refusal(response: reqwest::Response) -> ProviderError {
    let status = response.status();
    let wait = retry_after(response.headers());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"].as_str().unwrap_or("no code");
    let message = body["error"]["message"].as_str();
    let described = format!("Microsoft Graph answered {status} {code}");
    match status {
        StatusCode::UNAUTHORIZED => ProviderError::Unauthorized,
        StatusCode::TOO_MANY_REQUESTS => ProviderError::RateLimited { retry_after: wait },
        StatusCode::NOT_FOUND => ProviderError::CalendarNotFound,
        StatusCode::GONE => ProviderError::CursorExpired,
        // Graph answers an id it cannot even parse this way rather than with 404.
        StatusCode::BAD_REQUEST if code == "ErrorInvalidIdMalformed" => {
            ProviderError::CalendarNotFound
        }
        status if status.is_server_error() => match wait {
            Some(wait) => ProviderError::Transient(Trouble::said(
                format!("{described}, retry after {}s", wait.as_secs()),
                message,
            )),
            None => ProviderError::Transient(Trouble::said(described, message)),
        },
        _ => ProviderError::Rejected(Trouble::said(described, message)),
    }
}

#[async_trait]
impl CalendarProvider for OutlookCalendar {
    fn push_settings(&self) -> PushSettings {
        PushSettings {
            channel_lifetime: SUBSCRIPTION_LIFETIME,
            we_name_channels: false,
        }
    }

    async fn list_calendars(
        &self,
        access_token: &SecretString,
    ) -> Result<Vec<CalendarSummary>, ProviderError> {
        let mut calendars = Vec::new();
        let mut url = format!("{}me/calendars", self.api_base);
        loop {
            let response = self.send(self.http.get(&url), access_token).await?;
            if !response.status().is_success() {
                return Err(refusal(response).await);
            }
            let page: Page<GraphCalendar> = response.json().await.map_err(transport)?;
            calendars.extend(page.value.into_iter().map(|calendar| CalendarSummary {
                id: calendar.id,
                name: calendar.name,
                primary: calendar.is_default_calendar,
                writable: calendar.can_edit,
                owner: calendar.owner.and_then(|owner| owner.address),
            }));
            match page.next_link {
                Some(next) => url = next,
                None => return Ok(calendars),
            }
        }
    }

    async fn put_event(
        &self,
        access_token: &SecretString,
        calendar_id: &str,
        event: &CalendarEvent,
        known_event_id: Option<&str>,
    ) -> Result<String, ProviderError> {
        let mut body = EventBody::new(event)?;
        if let Some(known) = known_event_id {
            if let Outcome::Done(id) = self.patch(access_token, calendar_id, known, &body).await? {
                return Ok(id);
            }
        }
        // Also finds an event whose create succeeded but whose answer was lost.
        let found = self
            .find(access_token, calendar_id, event.appointment_id)
            .await?;
        for candidate in &found {
            if let Outcome::Done(id) = self
                .patch(access_token, calendar_id, candidate, &body)
                .await?
            {
                return Ok(id);
            }
        }
        body.transaction_id = Some(transaction_id(event.appointment_id));
        let response = self
            .send(
                self.http.post(self.events_url(calendar_id)).json(&body),
                access_token,
            )
            .await?;
        if !response.status().is_success() {
            return Err(refusal(response).await);
        }
        let created: EventRef = response.json().await.map_err(transport)?;
        Ok(created.id)
    }

    async fn remove_event(
        &self,
        access_token: &SecretString,
        calendar_id: &str,
        appointment_id: AppointmentId,
        known_event_id: Option<&str>,
    ) -> Result<(), ProviderError> {
        if let Some(known) = known_event_id {
            if let Outcome::Done(_) = self.delete(access_token, calendar_id, known).await? {
                return Ok(());
            }
        }
        // The known id may be stale while a re-created event still carries the appointment.
        let found = match self.find(access_token, calendar_id, appointment_id).await {
            Ok(found) => found,
            // No calendar, no event: the goal is reached.
            Err(ProviderError::CalendarNotFound) => return Ok(()),
            Err(error) => return Err(error),
        };
        for event_id in &found {
            self.delete(access_token, calendar_id, event_id).await?;
        }
        Ok(())
    }
    async fn changes(
        &self,
        access_token: &SecretString,
        calendar_id: &str,
        since: ChangesSince<'_>,
    ) -> Result<CalendarChanges, ProviderError> {
        let mut next = match since {
            ChangesSince::Start { window } => {
                let mut url = reqwest::Url::parse(&format!(
                    "{}me/calendars/{}/calendarView/delta",
                    self.api_base,
                    path_segment(calendar_id)
                ))
                .map_err(|error| ProviderError::Rejected(error.to_string().into()))?;
                url.query_pairs_mut()
                    .append_pair("startDateTime", &window.start().to_string())
                    .append_pair("endDateTime", &window.end().to_string());
                url.to_string()
            }
            ChangesSince::Cursor(delta_link) => delta_link.to_owned(),
        };
        let mut changes = Vec::new();
        loop {
            // Links come from the provider's answers; the bearer token only ever goes to the configured API.
            if !next.starts_with(&self.api_base) {
                return Err(ProviderError::Rejected(
                    "a delta link points outside the Graph API".into(),
                ));
            }
            let request = self
                .http
                .get(&next)
                .header("Prefer", "odata.maxpagesize=100")
                .header("Prefer", "outlook.timezone=\"UTC\"");
            let response = self.send(request, access_token).await?;
            if !response.status().is_success() {
                return Err(refusal(response).await);
            }
            let page: Value = response.json().await.map_err(transport)?;
            changes.extend(
                page["value"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(event_change),
            );
            if let Some(link) = page["@odata.nextLink"].as_str() {
                next = link.to_owned();
            } else if let Some(link) = page["@odata.deltaLink"].as_str() {
                return Ok(CalendarChanges {
                    changes,
                    cursor: link.to_owned(),
                    time_zone: None,
                });
            } else {
                return Err(ProviderError::Transient(
                    "Graph ended a delta listing without a delta link".into(),
                ));
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
            "changeType": "created,updated,deleted",
            "notificationUrl": request.address,
            "lifecycleNotificationUrl": request.address,
            "resource": format!("me/calendars/{calendar_id}/events"),
            "expirationDateTime": request.expires_at.to_string(),
            "clientState": request.secret.expose_secret(),
        });
        let response = self
            .send(
                self.http
                    .post(format!("{}subscriptions", self.api_base))
                    .json(&body),
                access_token,
            )
            .await?;
        if !response.status().is_success() {
            return Err(refusal(response).await);
        }
        subscription(response, request.expires_at).await
    }

    async fn renew_push_channel(
        &self,
        access_token: &SecretString,
        channel: &PushChannel,
        expires_at: Timestamp,
    ) -> Result<Option<PushChannel>, ProviderError> {
        let response = self
            .send(
                self.http
                    .patch(format!(
                        "{}subscriptions/{}",
                        self.api_base,
                        path_segment(&channel.id)
                    ))
                    .json(&serde_json::json!({ "expirationDateTime": expires_at.to_string() })),
                access_token,
            )
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            // Graph removed it: only a new subscription can take its place.
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(refusal(response).await);
        }
        subscription(response, expires_at).await.map(Some)
    }

    async fn close_push_channel(
        &self,
        access_token: &SecretString,
        channel: &PushChannel,
    ) -> Result<(), ProviderError> {
        let response = self
            .send(
                self.http.delete(format!(
                    "{}subscriptions/{}",
                    self.api_base,
                    path_segment(&channel.id)
                )),
                access_token,
            )
            .await?;
        match response.status() {
            status if status.is_success() => Ok(()),
            StatusCode::NOT_FOUND => Ok(()),
            _ => Err(refusal(response).await),
        }
    }
}

/// A subscription as Graph answered it; Graph may shorten the expiry it was asked for.
async fn subscription(
    response: reqwest::Response,
    asked_expiry: Timestamp,
) -> Result<PushChannel, ProviderError> {
    let body: Value = response.json().await.map_err(transport)?;
    let id = body["id"]
        .as_str()
        .ok_or_else(|| {
            ProviderError::Transient("Graph answered a subscription without an id".into())
        })?
        .to_owned();
    let expires_at = body["expirationDateTime"]
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or(asked_expiry);
    Ok(PushChannel {
        id,
        resource_id: None,
        expires_at,
    })
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
