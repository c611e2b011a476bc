//! A business's services: created, read, listed, changed field by field (concurrent edits of different fields both
//! land) and deactivated, always scoped by the business that asks.

use crate::domain::{
    Business, DateOverride, Minutes, Service, ServiceId, ServiceName, ServiceSettings, WeeklyHours,
};
use crate::ports::CatalogStore;
use crate::ports::StoreError;

use super::context::App;
use super::error::{AppError, Missing};

const MAX_UPDATE_ATTEMPTS: usize = 3;

#[tracing::instrument(skip_all, fields(business_id = %business.id))]
pub async fn create_service<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    settings: ServiceSettings,
) -> Result<Service, AppError> {
    let now = app.clock.now();
    let service = Service {
        id: ServiceId::generate(),
        business_id: business.id,
        settings: settings.validated()?,
        active: true,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    app.store.create_service(&service).await?;
    Ok(service)
}

pub async fn get_service<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    id: ServiceId,
) -> Result<Service, AppError> {
    app.store
        .get_service(business.id, id)
        .await?
        .ok_or(AppError::NotFound(Missing::Service))
}

pub async fn list_services<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
) -> Result<Vec<Service>, AppError> {
    Ok(app.store.list_services(business.id).await?)
}

/// A partial update: absent fields keep their value. `Some(None)` clears an optional setting.
#[derive(Clone, Debug, Default)]
pub struct ServiceChanges {
    pub name: Option<ServiceName>,
    pub duration: Option<Minutes>,
    pub slot_interval: Option<Minutes>,
    pub weekly_hours: Option<WeeklyHours>,
    pub date_overrides: Option<Vec<DateOverride>>,
    pub buffer_before: Option<Minutes>,
    pub buffer_after: Option<Minutes>,
    pub max_per_day: Option<Option<u32>>,
    pub minimum_notice: Option<Minutes>,
    pub booking_horizon_days: Option<u32>,
    pub active: Option<bool>,
}

impl ServiceChanges {
    fn apply_to(&self, service: &Service) -> Result<(ServiceSettings, bool), AppError> {
        let mut settings = service.settings.clone();
        change(&mut settings.name, &self.name);
        change(&mut settings.duration, &self.duration);
        change(&mut settings.slot_interval, &self.slot_interval);
        change(&mut settings.weekly_hours, &self.weekly_hours);
        change(&mut settings.date_overrides, &self.date_overrides);
        change(&mut settings.buffer_before, &self.buffer_before);
        change(&mut settings.buffer_after, &self.buffer_after);
        change(&mut settings.max_per_day, &self.max_per_day);
        change(&mut settings.minimum_notice, &self.minimum_notice);
        change(
            &mut settings.booking_horizon_days,
            &self.booking_horizon_days,
        );
        Ok((settings.validated()?, self.active.unwrap_or(service.active)))
    }
}

/// Overwrites `field` with the change asked for, if one was.
fn change<T: Clone>(field: &mut T, asked: &Option<T>) {
    if let Some(value) = asked {
        *field = value.clone();
    }
}

/// Applies `changes` to the current version, retrying on a concurrent update so two edits of different fields
/// both land.
#[tracing::instrument(skip_all, fields(business_id = %business.id, service_id = %id))]
pub async fn update_service<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    id: ServiceId,
    changes: &ServiceChanges,
) -> Result<Service, AppError> {
    for _ in 0..MAX_UPDATE_ATTEMPTS {
        let current = get_service(app, business, id).await?;
        let (settings, active) = changes.apply_to(&current)?;
        let updated = Service {
            settings,
            active,
            version: current.version + 1,
            updated_at: app.clock.now(),
            ..current
        };
        match app.store.update_service(&updated, current.version).await {
            Ok(()) => return Ok(updated),
            Err(StoreError::VersionMismatch) => continue,
            Err(StoreError::NotFound) => return Err(AppError::NotFound(Missing::Service)),
            Err(other) => return Err(other.into()),
        }
    }
    Err(AppError::VersionConflict)
}

/// Stops new bookings for the service; existing appointments stay as they are.
#[tracing::instrument(skip_all, fields(business_id = %business.id, service_id = %id))]
pub async fn deactivate_service<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    id: ServiceId,
) -> Result<Service, AppError> {
    update_service(
        app,
        business,
        id,
        &ServiceChanges {
            active: Some(false),
            ..ServiceChanges::default()
        },
    )
    .await
}
