//! Whether the busy time read from the business's calendar can be trusted right now. Pure, so the rule is tested
//! here: an agent that promises a time the owner blocked in their calendar a minute ago is worse than one that says
//! it still has to be confirmed.

use jiff::{SignedDuration, Timestamp};

use crate::app::{SAFETY_NET_AFTER, SCHEDULER_PERIOD};
use crate::ports::{CalendarConnection, CalendarWatch, ConnectionHealth};

use super::answers::{CalendarState, CalendarView};

/// How old the last read of the calendar may be. The scheduled safety net syncs a calendar once its last read is
/// [`SAFETY_NET_AFTER`] old, and on AWS it runs every [`SCHEDULER_PERIOD`], so a quiet calendar is routinely read
/// up to that much later; anything older means syncs are not happening.
pub const BUSY_TIME_FRESH_FOR: SignedDuration = SAFETY_NET_AFTER.saturating_add(SCHEDULER_PERIOD);

/// The calendar's state and, unless it is fresh or absent, the warning an agent repeats before offering times.
pub fn calendar_health(
    connection: Option<&CalendarConnection>,
    watch: Option<&CalendarWatch>,
    now: Timestamp,
) -> (CalendarView, Option<String>) {
    const CONFIRM: &str = "so a time that looks free may still clash with the business's own plans; tell the caller \
                           the business will confirm it";
    let Some(connection) = connection.filter(|connection| connection.syncs_appointments()) else {
        return (
            CalendarView {
                state: CalendarState::NotConnected,
                message: "No calendar is connected; free times come from the bookings made here."
                    .to_owned(),
            },
            None,
        );
    };
    let (state, message) = match &connection.health {
        ConnectionHealth::ReauthRequired { .. } => (
            CalendarState::ReconnectNeeded,
            "The business's calendar needs reconnecting, so its latest events are not seen"
                .to_owned(),
        ),
        ConnectionHealth::Error { .. } => (
            CalendarState::Stale,
            "The business's calendar could not be read lately".to_owned(),
        ),
        ConnectionHealth::Connected => match watch.and_then(|watch| watch.synced_at) {
            Some(read) if now.duration_since(read) <= BUSY_TIME_FRESH_FOR => {
                return (
                    CalendarView {
                        state: CalendarState::Fresh,
                        message: "The calendar is connected and up to date.".to_owned(),
                    },
                    None,
                );
            }
            Some(read) => (
                CalendarState::Stale,
                format!(
                    "The business's calendar was last read {} minutes ago",
                    now.duration_since(read).as_mins()
                ),
            ),
            None => (
                CalendarState::Stale,
                "The business's calendar has not been read yet".to_owned(),
            ),
        },
    };
    let warning = format!("{message}, {CONFIRM}.");
    (
        CalendarView {
            state,
            message: format!("{message}."),
        },
        Some(warning),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BusinessId;
    use crate::ports::ProviderKind;

    fn now() -> Timestamp {
        "2026-12-01T15:00:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn connection(health: ConnectionHealth, calendar: Option<&str>) -> CalendarConnection {
        CalendarConnection {
            business_id: BusinessId::generate(),
            provider: ProviderKind::GOOGLE,
            account: "owner@example.com".to_owned(),
            calendar_id: calendar.map(str::to_owned),
            connected_at: now(),
            health,
            last_synced_at: None,
        }
    }

    fn watch(synced_minutes_ago: Option<i64>) -> CalendarWatch {
        CalendarWatch {
            synced_at: synced_minutes_ago.map(|minutes| now() - SignedDuration::from_mins(minutes)),
            ..CalendarWatch::new(
                BusinessId::generate(),
                ProviderKind::GOOGLE,
                "primary".to_owned(),
            )
        }
    }

    #[test]
    fn without_a_selected_calendar_there_is_nothing_to_warn_about() {
        let (view, warning) = calendar_health(None, None, now());
        assert_eq!((view.state, warning), (CalendarState::NotConnected, None));
        let unselected = connection(ConnectionHealth::Connected, None);
        let (view, warning) = calendar_health(Some(&unselected), None, now());
        assert_eq!((view.state, warning), (CalendarState::NotConnected, None));
    }

    #[test]
    fn a_recent_read_is_fresh_and_an_old_one_is_stale() {
        let connected = connection(ConnectionHealth::Connected, Some("primary"));
        let (view, warning) = calendar_health(Some(&connected), Some(&watch(Some(3))), now());
        assert_eq!((view.state, warning), (CalendarState::Fresh, None));
        let (view, warning) = calendar_health(Some(&connected), Some(&watch(Some(20))), now());
        assert_eq!(
            view.state,
            CalendarState::Fresh,
            "the safety net's own lag is not staleness"
        );
        assert!(warning.is_none());
        let (view, warning) = calendar_health(Some(&connected), Some(&watch(Some(21))), now());
        assert_eq!(view.state, CalendarState::Stale);
        assert!(warning.is_some_and(|text| text.contains("21 minutes ago")));
        let (view, warning) = calendar_health(Some(&connected), Some(&watch(None)), now());
        assert_eq!(view.state, CalendarState::Stale);
        assert!(warning.is_some());
        let (view, _) = calendar_health(Some(&connected), None, now());
        assert_eq!(view.state, CalendarState::Stale);
    }

    #[test]
    fn a_failing_or_revoked_connection_warns_however_recent_its_last_read() {
        let failing = connection(
            ConnectionHealth::Error {
                message: "503 from provider".to_owned(),
            },
            Some("primary"),
        );
        let (view, warning) = calendar_health(Some(&failing), Some(&watch(Some(1))), now());
        assert_eq!(view.state, CalendarState::Stale);
        assert!(
            warning.is_some_and(|text| !text.contains("503")),
            "provider details stay out of speech"
        );
        let revoked = connection(
            ConnectionHealth::ReauthRequired {
                reason: "invalid_grant".to_owned(),
            },
            Some("primary"),
        );
        let (view, warning) = calendar_health(Some(&revoked), Some(&watch(Some(1))), now());
        assert_eq!(view.state, CalendarState::ReconnectNeeded);
        assert!(warning.is_some_and(|text| text.contains("confirm")));
    }
}
