//! Use cases: what the product does, written against the ports only. HTTP handlers, Lambda functions and the local
//! server call these; none of them holds business logic of its own.
//!
//! The modules form layers, each importing only from those below it (no circles):
//! `error`, `commands` (the typed input every front door builds), `providers` (the registry of configured calendar
//! providers), `context` (`App`); `calendar_tokens`; `sync_core` (what both sync directions share); the use cases
//! (`appointments`, `holds`, … and the two sync directions, `calendar_sync` outbound and `inbound_sync` inbound);
//! on top `booking` (a `BookAppointment` of a slot or a hold), `sync_jobs` (where a job goes) and `integrations`
//! (connecting a calendar) with `member_integrations` (a staff member's connections and calendar choices) beside it. Mail: `emails` (the messages' words) and `mail` (queueing one, sending a queued one)
//! sit above `sync_core` (its backoff); `accounts` uses them, and `sign_up`, `password_reset` and `account_settings` build on `accounts`;
//! `connect_links` builds on `accounts` and `integrations`.
//! This file only declares them and re-exports their public face.

pub mod account_settings;
pub mod accounts;
mod alerts;
mod appointments;
mod assignment;
mod availability;
mod booking;
mod business_settings;
mod businesses;
mod calendar_sync;
mod calendar_tokens;
mod callers;
mod commands;
pub mod connect_links;
mod context;
pub mod emails;
mod error;
mod holds;
mod inbound_sync;
pub mod integrations;
mod lease;
mod mail;
pub mod member_integrations;
pub mod operator;
pub mod password_reset;
mod providers;
mod schedule;
mod services;
pub mod sign_up;
mod staff;
pub mod staff_calendars;
mod sync_core;
mod sync_jobs;
mod sync_maintenance;
mod sync_wording;

pub use appointments::{
    BookingOutcome, cancel_appointment, edit_appointment, get_appointment, list_appointments,
};
pub use availability::{AvailabilityAnswer, SlotCheck, check_availability, find_times};
pub use booking::book;
pub use business_settings::{
    SettingsChanges, get_business_settings, record_agent_tried, update_business_settings,
};
pub use businesses::{NewBusinessCredentials, create_business};
pub use calendar_sync::{
    MAX_AUTOMATIC_RETRIES, queue_upcoming, requeue_failed, retry_failed_automatically, retry_sync,
};
pub use callers::{
    CallerCursor, CallerListing, CallerPage, CallerPhase, caller_appointments,
    index_existing_phone_numbers, normalize_customer_phone, phone_country_for, read_customer,
    read_platform_caller,
};
pub use commands::{
    AppointmentEdit, BookAppointment, BookingTarget, FindTimes, HoldTime, IdempotentBooking,
};
pub use context::App;
pub use error::{AppError, ConnectFailure, Missing};
pub use holds::{create_hold, get_hold, release_hold, remove_expired_holds};
pub use inbound_sync::{
    FULL_SYNC_EVERY, LONGEST_UNCHECKED, RENEW_BEFORE, SAFETY_NET_AFTER, SCHEDULER_PERIOD,
    accept_notifications, sync_stale_calendars,
};
pub use providers::{Integrations, random_state_key};
pub use schedule::{Schedule, read_schedule};
pub use services::{
    ServiceChanges, create_service, deactivate_service, get_service, list_services, update_service,
};
pub use staff::{
    FutureAppointments, StaffChanges, create_staff_member, deactivate_staff_member,
    get_staff_member, list_staff, update_staff_member,
};
pub use sync_core::SyncOutcome;
pub use sync_jobs::{JobEnd, give_up_sync, run_delivered_job, run_sync_job};
pub use sync_maintenance::{
    MaintenanceReport, STALE_PENDING_AFTER, requeue_stale_pending, run_scheduled_work,
};
pub use sync_wording::{ProviderNames, connect_not_finished, needs_reconnecting, what_to_do};
