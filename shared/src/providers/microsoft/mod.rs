//! Microsoft Graph v1.0 calendar events. Inbound sync reads `calendarView/delta` (occurrences of recurring series
//! expanded by Graph) and subscribes to change notifications; outbound is the rest of this module. Graph chooses
//! event ids itself, so a lost create response cannot be detected by id as with Google. Two defences take its place: every event carries a single-value extended
//! property holding the appointment id, looked up before anything is created, and every create carries a
//! `transactionId` derived from the appointment id, which makes Graph answer a repeated create with the event it
//! already made (covering a lookup that misses an event the mailbox has not indexed yet).
//!
//! [`events`] translates between appointments and Graph's event shapes (the property, the transaction id, the delta
//! items); [`webhook`] reads Graph's notifications; this file is the HTTP client and the module's wiring.

mod events;
mod webhook;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

use super::api::{ProviderApi, json_of};
use super::oauth::OAuthSettings;
use super::{ProviderCredentials, ProviderEndpoints, path_segment, retry_after};
use crate::domain::AppointmentId;
use crate::ports::{
    CalendarChanges, CalendarEvent, CalendarProvider, CalendarSummary, ChangesSince, ProviderError,
    PushChannel, PushRequest, PushSettings, Trouble,
};

use events::EventBody;
pub use events::{
    APPOINTMENT_PROPERTY_ID, appointment_filter, event_change, is_our_transaction_id,
    transaction_id,
};
use webhook::{WebhookDoc, read_notifications};

super::provider_module! {
    /// Microsoft Graph's name in records, URLs and `MICROSOFT_…` settings.
    kind: MICROSOFT = "microsoft",
    display_name: "Outlook Calendar",
    vendor: "Microsoft",
    webhook: "/v1/webhooks/microsoft" read by read_notifications, documented by WebhookDoc,
    calendar: OutlookCalendar,
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

pub struct OutlookCalendar {
    /// Microsoft Graph, e.g. at `https://graph.microsoft.com/v1.0/`.
    api: ProviderApi,
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
        Self {
            api: ProviderApi::new(http, api_base),
        }
    }

    fn events_url(&self, calendar_id: &str) -> String {
        format!(
            "{}me/calendars/{}/events",
            self.api.base,
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

    /// The ids of the calendar's events that carry the appointment's property (normally none or one).
    async fn find(
        &self,
        token: &SecretString,
        calendar_id: &str,
        appointment: AppointmentId,
    ) -> Result<Vec<String>, ProviderError> {
        let request = self.api.http.get(self.events_url(calendar_id)).query(&[
            ("$filter", appointment_filter(appointment).as_str()),
            ("$select", "id"),
        ]);
        let page: Page<EventRef> = self.api.fetch(request, token, refusal).await?;
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
            .api
            .http
            .patch(self.event_url(calendar_id, event_id))
            .json(body);
        let response = self.api.send(request, token).await?;
        if response.status().is_success() {
            let event: EventRef = json_of(response).await?;
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
        let request = self.api.http.delete(self.event_url(calendar_id, event_id));
        let response = self.api.send(request, token).await?;
        if response.status().is_success() {
            return Ok(Outcome::Done(event_id.to_owned()));
        }
        if is_missing_event(&response) || response.status() == StatusCode::GONE {
            return Ok(Outcome::Missing);
        }
        Err(refusal(response).await)
    }
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
        let mut url = format!("{}me/calendars", self.api.base);
        loop {
            let request = self.api.http.get(&url);
            let page: Page<GraphCalendar> = self.api.fetch(request, access_token, refusal).await?;
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
        let create = self.api.http.post(self.events_url(calendar_id)).json(&body);
        let created: EventRef = self.api.fetch(create, access_token, refusal).await?;
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
                    self.api.base,
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
            if !next.starts_with(&self.api.base) {
                return Err(ProviderError::Rejected(
                    "a delta link points outside the Graph API".into(),
                ));
            }
            let request = self
                .api
                .http
                .get(&next)
                .header("Prefer", "odata.maxpagesize=100")
                .header("Prefer", "outlook.timezone=\"UTC\"");
            let page: Value = self.api.fetch(request, access_token, refusal).await?;
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
        let subscribe = self
            .api
            .http
            .post(format!("{}subscriptions", self.api.base))
            .json(&body);
        let answer: Value = self.api.fetch(subscribe, access_token, refusal).await?;
        subscription(&answer, request.expires_at)
    }

    async fn renew_push_channel(
        &self,
        access_token: &SecretString,
        channel: &PushChannel,
        expires_at: Timestamp,
    ) -> Result<Option<PushChannel>, ProviderError> {
        let response = self
            .api
            .send(
                self.api
                    .http
                    .patch(format!(
                        "{}subscriptions/{}",
                        self.api.base,
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
        let answer: Value = json_of(response).await?;
        subscription(&answer, expires_at).map(Some)
    }

    async fn close_push_channel(
        &self,
        access_token: &SecretString,
        channel: &PushChannel,
    ) -> Result<(), ProviderError> {
        let unsubscribe = self.api.http.delete(format!(
            "{}subscriptions/{}",
            self.api.base,
            path_segment(&channel.id)
        ));
        // Expired or removed already.
        self.api
            .settle(unsubscribe, access_token, &[StatusCode::NOT_FOUND], refusal)
            .await
    }
}

/// A subscription as Graph answered it; Graph may shorten the expiry it was asked for.
fn subscription(body: &Value, asked_expiry: Timestamp) -> Result<PushChannel, ProviderError> {
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
