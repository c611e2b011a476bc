//! Domain-level persistence, split by role: each use case and each function takes only the roles it uses, so its
//! type says which records it touches (and so what its IAM policy must allow). [`Store`] is their sum; every adapter
//! implements all of them.

mod appointments;
mod booking;
mod busy_time;
mod catalog;
mod connections;
mod leases;
mod operator;
mod views;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::{Appointment, AppointmentId, BookingConflict, ValidationError};
use crate::ports::{ApiKeyStore, SignInStore};

pub use appointments::{
    AppointmentQuery, AppointmentStore, CallerQuery, LedgerSnapshot, ListOrder, OccupancyRead,
    ReadMark, SeenEntry, SeenLedger,
};
pub use booking::{
    AppointmentChange, BookingReads, BookingStore, IdempotencyKey, IdempotencyRecord, NewBooking,
    NewHold,
};
pub use busy_time::{BusyEvent, BusyTimeStore};
pub use catalog::CatalogStore;
pub use connections::{
    CalendarConnection, CalendarWatch, ConnectionHealth, ConnectionRef, ConnectionStore,
    OAuthAttempt, OpeningChannel, ScheduledWatch, WatchPlace,
};
pub use leases::LeaseStore;
pub use operator::{OperatorStore, RecordLocation, StoredRecord};
pub use views::{
    AgentApiStore, AppointmentsApiStore, AvailabilityApiStore, DashboardStore, DeadLetterStore,
    IntegrationsApiStore, SchedulerStore, ServicesApiStore, StoreView, SyncWorkerStore,
    WebhooksApiStore,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    AlreadyExists,
    /// The record changed since it was read; re-read and decide again.
    #[error("the record was changed by someone else")]
    VersionMismatch,
    #[error(transparent)]
    Conflict(#[from] BookingConflict),
    /// The idempotency key of a booking was recorded by another request first.
    #[error("idempotency key already used")]
    IdempotencyKeyTaken,
    /// The write would pass a limit of the store's own (a DynamoDB staff roster holds at most 100 members).
    #[error(transparent)]
    Refused(ValidationError),
    #[error("store backend failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where a listing resumes: strictly after this `(start, id)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PageCursor {
    pub start: Timestamp,
    pub id: AppointmentId,
}

/// Items ordered by `(start, id)`. A page may be shorter than the limit even when more follow (DynamoDB filters
/// after it reads); following `next` until it is `None` yields every match exactly once.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<PageCursor>,
}

impl Page<Appointment> {
    /// A page of appointments in listing order; when `more_follow`, the next page resumes after its last item.
    pub fn of_appointments(items: Vec<Appointment>, more_follow: bool) -> Self {
        let next = if more_follow {
            items.last().map(|last| PageCursor {
                start: last.time.start(),
                id: last.id,
            })
        } else {
            None
        };
        Self { items, next }
    }
}

/// Declares the store's roles once: [`StoreRole`], naming each role trait, and [`Store`], the sum of the roles and
/// of the functions' views, implemented for every type that has them all. The list cannot differ between the enum,
/// the trait and its blanket impl.
macro_rules! store_of_roles {
    ($(#[$doc:meta])* roles: $($role:ident),+; views: $($view:ident),+ $(,)?) => {
        /// A role of the store, named as its trait is.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum StoreRole {
            $($role),+
        }

        $(#[$doc])*
        pub trait Store: $($role +)+ $($view +)+ {}

        impl<T> Store for T where T: $($role +)+ $($view +)+ ?Sized {}
    };
}

store_of_roles!(
    /// Every role of the store: what an adapter implements and what a process that serves everything (the local
    /// server) holds. A use case asks for the roles it needs instead, and a function holds its view (see [`views`]);
    /// the views are supertraits so that the whole store can be handed to each as that view.
    roles: CatalogStore, BookingReads, BookingStore, AppointmentStore, ConnectionStore, BusyTimeStore, LeaseStore,
        SignInStore, ApiKeyStore, OperatorStore;
    views: ServicesApiStore, AvailabilityApiStore, AppointmentsApiStore, IntegrationsApiStore, WebhooksApiStore,
        AgentApiStore, DashboardStore, SyncWorkerStore, DeadLetterStore, SchedulerStore,
);
