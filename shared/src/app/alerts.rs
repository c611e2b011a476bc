//! Owner alerts: when calendar sync needs a person (the connection must be authorized again, or an appointment could
//! not be written to the calendar for good), the business's owners get an email saying what happened, with a link to
//! the page that fixes it. Recovery sends nothing; an owner who turned alerts off in Settings gets nothing.
//!
//! One email per incident, and at most one per connection every [`ALERT_EVERY`]: an alert takes a lease in the
//! store named after the connection for that long, and one named after the incident (the connection made at a given
//! moment losing its grant, or one version of an appointment failing for good) for [`INCIDENT_REMEMBERED`]; alerts
//! while either is held are dropped. So a connection left broken is not reported again every day, and an incident
//! that came while the day's email was already sent is reported once the day is over. The lease is a conditional write in both
//! adapters, so the rule holds across restarts and between concurrent workers (the lease contract in
//! `contract/store/leases.rs` proves both). An alert is sent at most once: a failure after the lease is taken loses
//! that alert, never doubles it; the connection's health and the appointment's status still show the problem.

use jiff::{SignedDuration, Timestamp};

use super::context::App;
use super::emails::{self, Links};
use super::error::AppError;
use super::mail::queue_email;
use super::sync_wording::ProviderNames;
use crate::domain::{Appointment, Business, BusinessId};
use crate::ports::{CatalogStore, LeaseStore, ProviderKind, SignInEmail, SignInStore, StaffRole};

/// The shortest time between two alerts about one connection.
pub const ALERT_EVERY: SignedDuration = SignedDuration::from_hours(24);
/// How long an incident is remembered as told: longer than any connection stays broken unattended.
const INCIDENT_REMEMBERED: SignedDuration = SignedDuration::from_hours(24 * 400);

/// What needs the owner.
pub enum Incident<'a> {
    /// The connection's grant can no longer be used; `reason` is what its health says.
    Reconnect {
        provider: ProviderKind,
        reason: &'a str,
        /// When the broken connection was made: reconnecting makes another, whose loss is a new incident.
        connected_at: Timestamp,
    },
    /// The appointment's sync failed and will not be retried by itself; `reason` is what its status says.
    SyncFailed {
        appointment: &'a Appointment,
        reason: &'a str,
    },
}

/// Emails the business's owners about `incident` on its calendar connection (a business has one), unless they turned
/// alerts off or were alerted about it less than [`ALERT_EVERY`] ago. Never fails the caller: the sync's own outcome is
/// already recorded, so a failure here is logged and the alert dropped.
pub async fn alert_owners<S: CatalogStore + SignInStore + LeaseStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
    incident: Incident<'_>,
) {
    match send_alert(app, business_id, &incident).await {
        Ok(sent_to) if sent_to > 0 => {
            tracing::info!(%business_id, owners = sent_to, "owners alerted about calendar sync");
        }
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(%business_id, %error, "owner alert not sent");
        }
    }
}

/// How many owners the alert was queued for.
async fn send_alert<S: CatalogStore + SignInStore + LeaseStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
    incident: &Incident<'_>,
) -> Result<usize, AppError> {
    let Some(integrations) = app.integrations.as_deref() else {
        return Ok(0);
    };
    if !app
        .store
        .get_business_settings(business_id)
        .await?
        .owner_alerts()
    {
        return Ok(0);
    }
    let Some(business) = app
        .store
        .get_business(business_id)
        .await?
        .filter(|business| !business.is_disabled())
    else {
        return Ok(0);
    };
    let owners: Vec<SignInEmail> = app
        .store
        .list_accounts(business_id)
        .await?
        .into_iter()
        // An address nobody confirmed may be someone else's: it hears nothing about the business.
        .filter(|account| account.role == StaffRole::Owner && !account.awaiting_verification())
        .map(|account| account.email)
        .collect();
    if owners.is_empty() || !claim_alert(app, business_id, &incident.key()).await? {
        return Ok(0);
    }
    let links = Links::new(integrations.public_base_url());
    for owner in &owners {
        let email = email(app, owner, &business, &links, incident);
        queue_email(app, email).await?;
    }
    Ok(owners.len())
}

impl Incident<'_> {
    /// What names the incident among the business's: the same failure seen again has the same key.
    fn key(&self) -> String {
        match self {
            Incident::Reconnect {
                provider,
                connected_at,
                ..
            } => format!("reconnect/{provider}/{}", connected_at.as_nanosecond()),
            Incident::SyncFailed { appointment, .. } => {
                format!("sync-failed/{}/{}", appointment.id, appointment.version)
            }
        }
    }
}

/// Takes the connection's day lease for [`ALERT_EVERY`] and the incident's for [`INCIDENT_REMEMBERED`]; false, with
/// neither kept, when an earlier alert holds either. Each claim has its own holder, so no claim extends another's.
async fn claim_alert<S: LeaseStore + ?Sized>(
    app: &App<S>,
    business_id: BusinessId,
    incident: &str,
) -> Result<bool, AppError> {
    let now = app.clock.now();
    let holder = uuid::Uuid::new_v4().to_string();
    let day = format!("owner-alert/{business_id}/calendar");
    let day_until = now.checked_add(ALERT_EVERY).unwrap_or(Timestamp::MAX);
    if !app
        .store
        .try_acquire_lease(&day, &holder, day_until, now)
        .await?
    {
        return Ok(false);
    }
    let told = format!("owner-alert/{business_id}/{incident}");
    let told_until = now
        .checked_add(INCIDENT_REMEMBERED)
        .unwrap_or(Timestamp::MAX);
    if app
        .store
        .try_acquire_lease(&told, &holder, told_until, now)
        .await?
    {
        return Ok(true);
    }
    // Told about this one already: the day stays free for the next incident.
    app.store.release_lease(&day, &holder).await?;
    Ok(false)
}

fn email<S: ?Sized>(
    app: &App<S>,
    to: &SignInEmail,
    business: &Business,
    links: &Links,
    incident: &Incident<'_>,
) -> crate::ports::Email {
    let business_name = business.name.as_ref();
    match incident {
        Incident::Reconnect {
            provider, reason, ..
        } => emails::calendar_needs_reconnecting(
            to,
            business_name,
            &ProviderNames::of(&app.registry, *provider).calendar,
            reason,
            &links.page("/dashboard/integrations"),
        ),
        Incident::SyncFailed {
            appointment,
            reason,
        } => {
            let starts = appointment
                .time
                .start()
                .to_zoned_datetime(business.time_zone.zone().clone())
                .strftime("%A %-d %B %Y at %H:%M");
            emails::appointment_not_synced(
                to,
                business_name,
                &format!("of {} on {starts}", appointment.customer.name.as_ref()),
                reason,
                &links.page(&format!("/dashboard/appointments/{}", appointment.id)),
            )
        }
    }
}
