//! Domain-level persistence, split by role: each use case and each function takes only the roles it uses, so its
//! type says which records it touches (and so what its IAM policy must allow). [`Store`] is their sum; every adapter
//! implements all of them.

mod appointments;
mod booking;
mod busy_time;
mod catalog;
mod connections;
mod leases;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::domain::{Appointment, AppointmentId, BookingConflict};
use crate::ports::{ApiKeyStore, SignInStore};

pub use appointments::{
    AppointmentQuery, AppointmentStore, CallerQuery, ListOrder, OccupancyRead, ReadMark,
};
pub use booking::{
    AppointmentChange, BookingReads, BookingStore, IdempotencyKey, IdempotencyRecord, NewBooking,
    NewHold,
};
pub use busy_time::{BusyEvent, BusyTimeStore};
pub use catalog::CatalogStore;
pub use connections::{
    CalendarConnection, CalendarWatch, ConnectionHealth, ConnectionStore, OAuthAttempt,
    OpeningChannel,
};
pub use leases::LeaseStore;

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

/// Declares [`Store`] as the sum of the roles named once, and implements it for every type that has them all, so
/// the list of roles cannot differ between the trait and its blanket impl.
macro_rules! store_of_roles {
    ($(#[$doc:meta])* $($role:ident),+ $(,)?) => {
        $(#[$doc])*
        pub trait Store: $($role +)+ {}

        impl<T> Store for T where T: $($role +)+ ?Sized {}
    };
}

store_of_roles!(
    /// Every role of the store: what an adapter implements and what a process that serves everything (the local
    /// server) holds. A use case asks for the roles it needs instead.
    CatalogStore,
    BookingReads,
    BookingStore,
    AppointmentStore,
    ConnectionStore,
    BusyTimeStore,
    LeaseStore,
    SignInStore,
    ApiKeyStore,
);
