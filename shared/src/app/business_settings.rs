//! The business's settings: its name and zone, the country callers' numbers are read in, how long a hold keeps its
//! time, owner alerts, and who a booking for anyone goes to. One change command for the REST API and the dashboard.

use std::collections::BTreeSet;

use crate::domain::{
    AssignmentPolicy, Business, BusinessName, BusinessSettings, BusinessTimeZone, CountryCode,
    HoldMinutes, StaffMember, ValidationError,
};
use crate::ports::{CatalogStore, StoreError};

use super::context::App;
use super::error::{AppError, Missing};
use super::staff::list_staff;

/// A change to the business's settings, from the REST API or the dashboard's settings page; absent fields stay,
/// `Some(None)` returns a field to its default. The name and zone are the business's own record.
#[derive(Clone, Debug, Default)]
pub struct SettingsChanges {
    pub name: Option<BusinessName>,
    pub time_zone: Option<BusinessTimeZone>,
    pub country: Option<Option<CountryCode>>,
    pub hold_minutes: Option<Option<HoldMinutes>>,
    pub owner_alerts: Option<bool>,
    /// Checked against the business's members when applied: see [`checked_assignment`].
    pub assignment: Option<AssignmentPolicy>,
}

pub async fn get_business_settings<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
) -> Result<BusinessSettings, AppError> {
    Ok(app.store.get_business_settings(business.id).await?)
}

/// Records that the owner has tried the voice agent's tools, once: the first time stays, later runs write nothing.
pub async fn record_agent_tried<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
) -> Result<(), AppError> {
    let mut settings = app.store.get_business_settings(business.id).await?;
    if settings.agent_tried_at.is_none() {
        settings.agent_tried_at = Some(app.clock.now());
        app.store
            .put_business_settings(business.id, &settings)
            .await?;
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(business_id = %business.id))]
pub async fn update_business_settings<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    changes: &SettingsChanges,
) -> Result<BusinessSettings, AppError> {
    let name = changes.name.as_ref().unwrap_or(&business.name);
    let time_zone = changes.time_zone.as_ref().unwrap_or(&business.time_zone);
    if *name != business.name || *time_zone != business.time_zone {
        match app
            .store
            .update_business_profile(business.id, name, time_zone)
            .await
        {
            Ok(()) => {}
            Err(StoreError::NotFound) => {
                return Err(AppError::NotFound(Missing::Business));
            }
            Err(other) => return Err(other.into()),
        }
    }
    let mut settings = app.store.get_business_settings(business.id).await?;
    if let Some(country) = changes.country {
        settings.country = country;
    }
    if let Some(hold_minutes) = changes.hold_minutes {
        settings.hold_minutes = hold_minutes;
    }
    if let Some(owner_alerts) = changes.owner_alerts {
        settings.owner_alerts = Some(owner_alerts);
    }
    if let Some(assignment) = &changes.assignment {
        let staff = list_staff(app, business).await?;
        settings.assignment = checked_assignment(assignment, &staff)?;
    }
    app.store
        .put_business_settings(business.id, &settings)
        .await?;
    Ok(settings)
}

/// A priority order names members of this business, each once. An inactive member may stay listed (they are
/// skipped while inactive, and come back in their place when reactivated), so deactivating never edits the order.
fn checked_assignment(
    policy: &AssignmentPolicy,
    staff: &[StaffMember],
) -> Result<AssignmentPolicy, ValidationError> {
    if let AssignmentPolicy::Priority(order) = policy {
        let mut seen = BTreeSet::new();
        for id in order {
            if !staff.iter().any(|member| member.id == *id) {
                return Err(ValidationError::new(
                    "assignment",
                    format!("{id} is not a staff member of this business"),
                ));
            }
            if !seen.insert(*id) {
                return Err(ValidationError::new(
                    "assignment",
                    format!("{id} is listed twice"),
                ));
            }
        }
    }
    Ok(policy.clone())
}
