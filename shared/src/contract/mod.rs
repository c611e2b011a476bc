//! Contract suites: one per port, run unchanged against every adapter of that port (the local ones here, the AWS
//! ones in `booking-aws`). Behaviour that differs between adapters fails one of them.
//!
//! An adapter's test file is a few lines:
//!
//! ```text
//! async fn store() -> (std::sync::Arc<dyn booking_core::ports::Store>, impl Send) { /* fresh, empty store + guard */ }
//! booking_core::store_contract_tests!(store);
//! ```
//!
//! The factory returns the adapter and a guard that keeps its resources (a temp dir, a table) alive for the test.
//! Adapters that need an emulator add `available = path::to::async_fn_returning_bool`: when it answers false (the
//! emulator is not installed and this is not CI) the tests return early, after the function has said why.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::domain::{BusinessId, ConnectionId, StaffId};
use crate::ports::{CalendarConnection, ConnectionHealth, ProviderKind};

pub mod accounts;
pub mod mail;
pub mod migration;
pub mod queue;
pub mod secrets;
pub mod store;

/// What every contract macro expands to: one test per contract named, which returns early when `$available` says
/// the adapter's emulator is missing, then runs `contract::<suite>::<name>` on what `$factory` makes. A `fresh`
/// factory makes the adapter and a guard for its resources; a `configured` one (the queue) is handed to the contract,
/// which calls it with the settings it needs.
#[doc(hidden)]
#[macro_export]
macro_rules! __contract_tests {
    ($suite:ident, $kind:ident, $factory:path, [], #[$test:meta], $($name:ident),+ $(,)?) => {
        $crate::__contract_tests!(
            $suite, $kind, $factory, [$crate::contract::always_available], #[$test], $($name),+
        );
    };
    ($suite:ident, fresh, $factory:path, [$available:path], #[$test:meta], $($name:ident),+ $(,)?) => {
        $(
            #[$test]
            async fn $name() {
                if !$available().await {
                    return;
                }
                let (adapter, _guard) = $factory().await;
                $crate::contract::$suite::$name(adapter).await;
            }
        )+
    };
    ($suite:ident, delivered, $factory:path, [$available:path], #[$test:meta], $($name:ident),+ $(,)?) => {
        $(
            #[$test]
            async fn $name() {
                if !$available().await {
                    return;
                }
                let (adapter, delivered) = $factory().await;
                $crate::contract::$suite::$name(adapter, delivered).await;
            }
        )+
    };
    ($suite:ident, configured, $factory:path, [$available:path], #[$test:meta], $($name:ident),+ $(,)?) => {
        $(
            #[$test]
            async fn $name() {
                if !$available().await {
                    return;
                }
                $crate::contract::$suite::$name(|settings| $factory(settings)).await;
            }
        )+
    };
}

/// One `#[tokio::test]` per store contract, each on a fresh store from `$factory`, grouped by the role of the store
/// it covers (`contract/store/<role>.rs`).
#[macro_export]
macro_rules! store_contract_tests {
    ($factory:path $(, available = $available:path)? $(,)?) => {
        $crate::__contract_tests!(store, fresh, $factory, [$($available)?],
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)],
            // catalog
            businesses_are_created_once_and_found_by_key,
            services_are_created_listed_and_updated_by_version,
            business_settings_default_and_are_replaced,
            a_renamed_business_authenticates_by_its_keys_with_its_new_name_and_zone,
            a_service_the_connection_and_the_staff_are_read_together,
            // staff
            staff_members_are_created_listed_and_updated_by_version,
            two_members_are_booked_at_once_and_one_member_never_twice,
            a_members_daily_maximum_counts_their_services,
            a_members_daily_maximum_holds_under_a_race_across_utc_dates,
            fifty_concurrent_bookings_for_anyone_of_three_members_make_three_with_each,
            twenty_concurrent_bookings_naming_one_member_make_one,
            holds_for_anyone_racing_bookings_of_the_last_member_never_exceed_the_members,
            a_reschedule_keeps_its_member_and_is_refused_with_their_alternatives,
            deactivating_a_member_with_appointments_ahead_needs_to_be_told_what_to_do,
            random_bookings_holds_reschedules_and_cancels_keep_every_members_rules,
            // booking
            appointments_are_created_once_and_read_back,
            overlapping_live_appointments_conflict_across_services,
            touching_appointments_do_not_conflict,
            buffers_are_part_of_the_occupied_time,
            businesses_never_conflict_with_each_other,
            cancelling_frees_the_time_at_once,
            rescheduling_is_checked_against_others_but_not_itself,
            the_daily_limit_counts_one_service_on_one_local_date,
            an_idempotency_record_is_written_with_its_booking_only,
            an_expired_idempotency_record_is_absent_and_reusable,
            fifty_concurrent_bookings_of_one_slot_make_one,
            concurrent_bookings_never_exceed_the_daily_limit,
            concurrent_reschedules_into_one_slot_move_one,
            a_booking_checked_against_a_stale_read_still_conflicts,
            // booking: holds
            a_hold_blocks_its_time_for_bookings_and_other_holds,
            a_hold_counts_toward_the_daily_limit_while_it_lives,
            a_hold_converts_into_its_appointment_exactly_once,
            concurrent_conversions_of_one_hold_make_one_appointment,
            a_released_hold_frees_its_time_and_cannot_be_converted,
            an_expired_hold_blocks_nothing_without_any_cleanup,
            removing_expired_holds_keeps_the_live_ones,
            fifty_concurrent_holds_of_one_time_make_one,
            a_hold_racing_a_booking_lets_exactly_one_win,
            // appointments
            listing_filters_orders_and_paginates_exactly_once,
            live_occupancies_are_the_live_appointments_starting_in_range,
            sync_state_changes_only_at_the_matching_version,
            appointments_are_found_by_sync_status_across_businesses,
            a_callers_appointments_are_found_by_phone_and_only_in_their_business,
            the_phone_index_follows_changes_of_number_and_time,
            // connections
            calendar_connections_are_stored_and_replaced,
            every_members_connections_are_listed_and_removed_one_by_one,
            an_oauth_attempt_is_taken_once_and_not_after_it_expires,
            a_calendar_watch_advances_only_from_the_version_it_read,
            calendar_watches_are_read_when_their_check_is_due,
            each_checked_calendar_has_a_watch_of_its_own,
            // busy time
            busy_events_are_replaced_deleted_and_found_by_overlap,
            busy_intervals_of_every_length_are_found_by_overlap,
            busy_event_ids_are_listed_per_calendar,
            busy_time_is_read_back_with_the_member_whose_calendar_it_is,
            // leases
            a_lease_has_one_holder_until_it_ends_or_is_released,
            // operator
            businesses_are_listed_and_disabled_with_their_keys,
            every_record_of_a_business_is_listed_and_removed_and_no_other,
        );
    };
}

/// One `#[tokio::test]` per contract of the dashboard's records ([`crate::ports::SignInStore`],
/// [`crate::ports::ApiKeyStore`]), each on a fresh store from `$factory`.
#[macro_export]
macro_rules! account_store_contract_tests {
    ($factory:path $(, available = $available:path)? $(,)?) => {
        $crate::__contract_tests!(accounts, fresh, $factory, [$($available)?],
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)],
            staff_are_created_once_listed_per_business_and_get_passwords,
            a_password_link_is_taken_once_and_not_after_it_expires,
            concurrent_takers_of_a_password_link_get_it_once,
            an_account_moves_to_a_free_email_whole_and_never_onto_a_taken_one,
            sessions_are_found_until_they_expire_or_end,
            sign_in_failures_are_kept_one_by_one_and_read_newest_first,
            sign_in_throttling_counts_each_failure_for_fifteen_minutes,
            api_keys_are_listed_and_a_revoked_key_stops_authenticating_at_once,
        );
    };
}

/// One `#[tokio::test]` per queue contract; `$factory` takes the [`crate::ports::QueueSettings`] to create the
/// queue with.
#[macro_export]
macro_rules! queue_contract_tests {
    ($factory:path $(, available = $available:path)? $(,)?) => {
        $crate::__contract_tests!(queue, configured, $factory, [$($available)?],
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)],
            jobs_are_received_and_acknowledged,
            a_delayed_job_stays_invisible_until_its_delay_passes,
            an_unacknowledged_job_is_redelivered_with_its_attempt_counted,
            retry_later_redelivers_after_the_delay,
            a_job_received_too_often_moves_to_the_dead_letter_queue,
            a_receive_returns_at_most_ten_jobs,
            acknowledging_twice_is_harmless,
            many_jobs_are_enqueued_at_once,
        );
    };
}

/// One `#[tokio::test]` per mailer contract; `$factory` returns the mailer and what reads back the messages its
/// service received ([`mail::Delivered`]).
#[macro_export]
macro_rules! mailer_contract_tests {
    ($factory:path $(, available = $available:path)? $(,)?) => {
        $crate::__contract_tests!(mail, delivered, $factory, [$($available)?],
            #[tokio::test],
            a_message_arrives_once_as_text_and_html_from_the_sender,
            each_recipient_gets_only_their_own_message,
        );
    };
}

/// One `#[tokio::test]` per secret store contract.
#[macro_export]
macro_rules! secret_store_contract_tests {
    ($factory:path $(, available = $available:path)? $(,)?) => {
        $crate::__contract_tests!(secrets, fresh, $factory, [$($available)?],
            #[tokio::test],
            secrets_are_put_read_replaced_and_deleted,
            missing_secrets_are_absent_and_deleting_them_is_fine,
            names_that_differ_only_in_punctuation_stay_apart,
        );
    };
}

/// Monday 2027-03-01 09:00 UTC (10:00 in Berlin): the base of every fixture time.
fn base() -> jiff::Timestamp {
    "2027-03-01T09:00:00Z".parse().unwrap()
}

fn at(minutes: i64) -> jiff::Timestamp {
    base()
        .checked_add(jiff::SignedDuration::from_mins(minutes))
        .unwrap()
}

/// The business's first Google calendar connection (the one from before connections belonged to staff members),
/// writing to `primary`, healthy and never synced: what a fixture stores when it needs "a connected calendar".
pub fn first_google_connection(
    business_id: BusinessId,
    account: &str,
    connected_at: jiff::Timestamp,
) -> CalendarConnection {
    CalendarConnection {
        id: ConnectionId::of_first_connection(business_id),
        business_id,
        staff_id: StaffId::first_of(business_id),
        checked_calendars: Vec::new(),
        provider: ProviderKind::GOOGLE,
        account: account.to_owned(),
        calendar_id: Some("primary".to_owned()),
        connected_at,
        health: ConnectionHealth::Connected,
        last_synced_at: None,
    }
}

/// The default precondition: local adapters are always there.
pub async fn always_available() -> bool {
    true
}
