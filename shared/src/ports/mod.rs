//! Ports: the small traits behind which all I/O sits. Each has a production adapter and a local one, and one
//! contract suite (`crate::contract`, feature `contract-tests`) that every adapter must pass.

mod accounts;
mod calendar;
mod clock;
mod mail;
mod oauth;
mod provider;
mod queue;
mod secrets;
mod store;

pub use accounts::{
    Account, ApiKeyRecord, ApiKeyStore, FIRST_API_KEY_NAME, LinkPurpose, PasswordLink, Session,
    SignInEmail, SignInStore, StaffRole, first_api_key_record,
};
pub use calendar::{
    CalendarChanges, CalendarEvent, CalendarProvider, CalendarSummary, ChangesSince, ProviderError,
    ProviderSetup, PushChannel, PushRequest, PushSettings, Trouble,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use mail::{Email, MailError, Mailer};
pub use oauth::{OAuthError, OAuthFlow, TokenGrant};
pub use provider::{
    InvalidProviderKind, ProviderKind, ProviderProfile, ProviderRegistry, ProviderWebhook,
    PushEvent, PushNotification, WebhookCall, WebhookReading, WebhookRefusal,
};
pub use queue::{Job, JobGroup, JobQueue, QueueError, QueueSettings, Receipt, ReceivedJob};
pub use secrets::{SecretError, SecretName, SecretStore};
pub use store::{
    AgentApiStore, AppointmentsApiStore, AvailabilityApiStore, DashboardStore, DeadLetterStore,
    IntegrationsApiStore, SchedulerStore, ServicesApiStore, StoreRole, StoreView, SyncWorkerStore,
    WebhooksApiStore,
};
pub use store::{
    AppointmentChange, AppointmentQuery, AppointmentStore, BookingReads, BookingStore, BusyEvent,
    BusyTimeStore, CalendarConnection, CalendarWatch, CallerQuery, CatalogStore, ConnectionHealth,
    ConnectionRef, ConnectionStore, IdempotencyKey, IdempotencyRecord, LeaseStore, LedgerSnapshot,
    ListOrder, NewBooking, NewHold, OAuthAttempt, OccupancyRead, OpeningChannel, OperatorStore,
    Page, PageCursor, ReadMark, RecordLocation, ScheduledWatch, SeenEntry, SeenLedger, Store,
    StoreError, StoredRecord, WatchPlace,
};
