//! Use cases: what the product does, written against the ports only. HTTP handlers, Lambda functions and the local
//! server call these; none of them holds business logic of its own.

pub mod accounts;
mod appointments;
mod availability;
mod businesses;
mod calendar_sync;
mod calendar_tokens;
mod callers;
mod error;
mod holds;
mod inbound_sync;
pub mod integrations;
mod services;
mod sync_maintenance;

use std::sync::Arc;

pub use appointments::{
    AppointmentEdit, BookingOutcome, BookingRequest, IdempotentBooking, book_appointment,
    cancel_appointment, edit_appointment, get_appointment, list_appointments,
};
pub use availability::{
    AvailabilityAnswer, SlotCheck, check_availability, find_availability,
    find_availability_for_move,
};
pub use businesses::{NewBusinessCredentials, create_business};
pub use calendar_sync::{
    MAX_AUTOMATIC_RETRIES, SyncOutcome, queue_upcoming, requeue_failed, retry_failed_automatically,
    retry_sync, run_sync_job,
};
pub use callers::{
    CallerCursor, CallerListing, CallerPage, CallerPhase, SettingsChanges, caller_appointments,
    get_business_settings, index_existing_phone_numbers, normalize_customer_phone,
    phone_country_for, update_business_settings,
};
pub use error::AppError;
pub use holds::{
    HeldBooking, HoldRequest, book_held_appointment, create_hold, get_hold, release_hold,
    remove_expired_holds,
};
pub use inbound_sync::{
    FULL_SYNC_EVERY, GOOGLE_WEBHOOK_PATH, GoogleNotification, GraphNotification,
    MICROSOFT_WEBHOOK_PATH, RENEW_BEFORE, SAFETY_NET_AFTER, accept_google_notification,
    accept_graph_notifications, sync_stale_calendars,
};
pub use integrations::Integrations;
pub use services::{
    ServiceChanges, create_service, deactivate_service, get_service, list_services, update_service,
};
pub use sync_maintenance::{STALE_PENDING_AFTER, give_up_sync, requeue_stale_pending};

use crate::ports::{Clock, JobQueue, Store};

/// The adapters a running instance works with, built once per process and shared by every request. `S` is the store
/// as far as the holder may use it: a use case states the roles it needs (`S: BookingStore + CatalogStore`), so its
/// signature says which records it touches; a process that serves everything holds `dyn Store`.
pub struct App<S: ?Sized = dyn Store> {
    pub store: Arc<S>,
    pub queue: Arc<dyn JobQueue>,
    pub clock: Arc<dyn Clock>,
    /// Calendar providers and token storage; without them, connecting is refused and sync jobs fail visibly.
    pub integrations: Option<Arc<Integrations>>,
}

impl<S: ?Sized> Clone for App<S> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            queue: self.queue.clone(),
            clock: self.clock.clone(),
            integrations: self.integrations.clone(),
        }
    }
}

impl App {
    pub fn new(store: Arc<dyn Store>, queue: Arc<dyn JobQueue>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            queue,
            clock,
            integrations: None,
        }
    }
}

impl<S: ?Sized> App<S> {
    pub fn with_integrations(mut self, integrations: Integrations) -> Self {
        self.integrations = Some(Arc::new(integrations));
        self
    }
}
