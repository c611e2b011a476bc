//! What each deployed function may touch: one trait per function, the sum of the store roles its handlers use, so a
//! function's type names its roles, and the AWS crate derives its IAM policy from them. Each view is a supertrait of
//! [`super::Store`], so a process that holds the whole store (the local server, the tests) hands each area its own
//! view of that one store.

use std::sync::Arc;

use super::StoreRole;
use crate::ports::{
    ApiKeyStore, AppointmentStore, BookingReads, BookingStore, BusyTimeStore, CatalogStore,
    ConnectionStore, LeaseStore, SignInStore,
};

/// A store seen as the view `V`: any adapter (an `Arc` of it coerces), the whole store (`dyn Store`, by
/// upcasting) and the view itself.
pub trait StoreView<V: ?Sized> {
    fn view(self: Arc<Self>) -> Arc<V>;
}

/// Declares a view: the trait, its blanket implementation, its [`StoreRole`]s and its [`StoreView`]s. A view that
/// `sees` another (whose roles it all has) is also that view, so its function can run the other's use cases.
macro_rules! store_view {
    ($(#[$doc:meta])* $view:ident $(sees $seen:ident)?: $($role:ident),+ $(,)?) => {
        $(#[$doc])*
        pub trait $view: $($role +)+ $($seen +)? {}

        impl<T: $($role +)+ ?Sized> $view for T {}

        impl dyn $view {
            /// The roles this view is made of.
            pub const ROLES: &'static [StoreRole] = &[$(StoreRole::$role),+];
        }

        impl<T: super::Store> StoreView<dyn $view> for T {
            fn view(self: Arc<Self>) -> Arc<dyn $view> {
                self
            }
        }

        impl StoreView<dyn $view> for dyn super::Store {
            fn view(self: Arc<Self>) -> Arc<dyn $view> {
                self
            }
        }

        impl StoreView<dyn $view> for dyn $view {
            fn view(self: Arc<Self>) -> Arc<dyn $view> {
                self
            }
        }

        $(
            impl StoreView<dyn $seen> for dyn $view {
                fn view(self: Arc<Self>) -> Arc<dyn $seen> {
                    self
                }
            }
        )?
    };
}

/// The whole store, for a process that may touch every record (the local server, the operator's `booking-admin`, the
/// `booking-server` serving every area over the AWS adapters).
impl StoreView<dyn super::Store> for dyn super::Store {
    fn view(self: Arc<Self>) -> Arc<dyn super::Store> {
        self
    }
}

store_view!(
    /// `services-api`: services and the business's settings.
    ServicesApiStore: ApiKeyStore, CatalogStore
);

store_view!(
    /// `availability-api`: free slots from hours, appointments and calendar busy time (its routes only read).
    AvailabilityApiStore: ApiKeyStore, CatalogStore, AppointmentStore, BusyTimeStore
);

store_view!(
    /// `appointments-api`: booking, holds, moving, cancelling and sync retries.
    AppointmentsApiStore: ApiKeyStore, CatalogStore, BookingReads, BookingStore, AppointmentStore,
        ConnectionStore, BusyTimeStore
);

store_view!(
    /// `integrations-api`: connecting, choosing and disconnecting a calendar; the staff members whose calendars they are.
    IntegrationsApiStore: ApiKeyStore, CatalogStore, AppointmentStore, ConnectionStore, BusyTimeStore, LeaseStore
);

store_view!(
    /// `webhooks-api`: a provider's push notification, checked against its channel and queued as a sync.
    WebhooksApiStore: ConnectionStore
);

store_view!(
    /// `agent-api`: the voice agent's tools, which find times, hold, book, move and cancel.
    AgentApiStore: ApiKeyStore, CatalogStore, BookingReads, BookingStore, AppointmentStore, ConnectionStore,
        BusyTimeStore
);

store_view!(
    /// `dashboard`: the owner's pages, which sign people in and do everything the API does; its voice agent page runs
    /// the agent's own tools for the owner to try, so it sees the store as the agent does.
    DashboardStore sees AgentApiStore: SignInStore, ApiKeyStore, CatalogStore, BookingReads, BookingStore, AppointmentStore,
        ConnectionStore, BusyTimeStore, LeaseStore
);

store_view!(
    /// `sync-worker`: makes a calendar match an appointment, and our busy time match a calendar; reads the
    /// business's accounts to alert its owners when sync needs them.
    SyncWorkerStore: CatalogStore, AppointmentStore, ConnectionStore, BusyTimeStore, LeaseStore, SignInStore
);

store_view!(
    /// `dead-letter-handler`: marks the sync of an appointment `failed` and alerts the business's owners (their
    /// settings, their addresses, the lease that sends one alert a day).
    DeadLetterStore: AppointmentStore, CatalogStore, SignInStore, LeaseStore
);

store_view!(
    /// `scheduler`: re-queues syncs that went missing and calendars whose busy time went stale, and runs the one-off
    /// back-fills (the first staff member of businesses stored before staff members is a catalog record).
    SchedulerStore: AppointmentStore, ConnectionStore, CatalogStore
);
