//! Whether the busy time read from each staff member's calendar can be trusted right now. Pure, so the rule is tested
//! here: an agent that promises a time the owner blocked in their calendar a minute ago is worse than one that says
//! it still has to be confirmed.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

use crate::app::{SAFETY_NET_AFTER, SCHEDULER_PERIOD};
use crate::domain::StaffId;
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
    let Some(connection) = connection.filter(|connection| checks_calendars(connection)) else {
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

/// Each member's calendar health, for the members whose own calendars block their time: the state and,
/// unless fresh, the warning their offers carry. A member without one is as fresh as the bookings made here.
pub type MembersHealth = BTreeMap<StaffId, (CalendarView, Option<String>)>;

/// Whether any of the connection's calendars blocks its member's time: only then can it hide busy time.
fn checks_calendars(connection: &CalendarConnection) -> bool {
    !connection.calendars_checked().is_empty()
}

/// [`calendar_health`] of every member's connection whose calendars block their time, with the watch of its
/// calendars read longest ago; a member with several keeps the first that warns.
pub fn members_health(
    connections: &[(CalendarConnection, Option<CalendarWatch>)],
    now: Timestamp,
) -> MembersHealth {
    let mut members = MembersHealth::new();
    for (connection, watch) in connections {
        if !checks_calendars(connection) {
            continue;
        }
        let health = calendar_health(Some(connection), watch.as_ref(), now);
        let warned = members
            .get(&connection.staff_id)
            .is_some_and(|(_, warning)| warning.is_some());
        if !warned {
            members.insert(connection.staff_id, health);
        }
    }
    members
}

/// The warning for an answer about `asked` (`None`: anyone) that offers times with the members in `offered_with`.
/// Only a member's own calendar can hide their busy time: an answer warns when it offers a time with a member whose
/// calendar warns, or when it offers nothing and the member asked about (anyone: any member) has a warning, since
/// their stale calendar may be what hides a time. Offers only with members whose calendars are fresh (or who have
/// none) carry nothing.
pub fn warning_for_offers<'a>(
    members: &MembersHealth,
    asked: Option<StaffId>,
    offered_with: impl IntoIterator<Item = &'a StaffId>,
) -> Option<String> {
    let warning_of =
        |member: &StaffId| members.get(member).and_then(|(_, warning)| warning.clone());
    let mut offered_with = offered_with.into_iter().peekable();
    if offered_with.peek().is_none() {
        return match asked {
            Some(asked) => warning_of(&asked),
            None => members.values().find_map(|(_, warning)| warning.clone()),
        };
    }
    offered_with.find_map(warning_of)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BusinessId, ConnectionId};
    use crate::ports::ProviderKind;

    fn now() -> Timestamp {
        "2026-12-01T15:00:00Z"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn connection(health: ConnectionHealth, calendar: Option<&str>) -> CalendarConnection {
        let business_id = BusinessId::generate();
        CalendarConnection {
            id: ConnectionId::of_first_connection(business_id),
            business_id,
            staff_id: StaffId::first_of(business_id),
            checked_calendars: Vec::new(),
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
    fn only_offers_with_the_calendars_owner_carry_its_warning() {
        let stale = connection(ConnectionHealth::Connected, Some("primary"));
        let (maria, tom) = (stale.staff_id, StaffId::generate());
        let marias_stale = members_health(&[(stale, Some(watch(Some(60))))], now());
        let warned = |asked, offered: &[StaffId]| {
            warning_for_offers(&marias_stale, asked, offered).is_some()
        };
        assert!(warned(None, &[tom, maria]), "anyone, offered with Maria");
        assert!(warned(Some(maria), &[maria]), "Maria by name");
        assert!(warned(Some(maria), &[]), "Maria by name, nothing offered");
        assert!(warned(None, &[]), "anyone, nothing offered");
        assert!(!warned(None, &[tom, tom]), "anyone, offered only with Tom");
        assert!(!warned(Some(tom), &[tom]), "Tom by name");
        assert!(!warned(Some(tom), &[]), "Tom by name, nothing offered");
        assert_eq!(
            warning_for_offers(&MembersHealth::new(), None, &[maria]),
            None
        );
    }

    /// Tom's calendar needs reconnecting and Maria's is fresh: only offers with Tom, or answers about Tom (or
    /// anyone) that offer nothing, carry the warning.
    #[test]
    fn a_members_stale_calendar_warns_on_their_offers_only() {
        let marias = connection(ConnectionHealth::Connected, Some("primary"));
        let maria = marias.staff_id;
        let tom = StaffId::generate();
        let toms = CalendarConnection {
            id: ConnectionId::generate(),
            staff_id: tom,
            health: ConnectionHealth::ReauthRequired {
                reason: "invalid_grant".to_owned(),
            },
            ..marias.clone()
        };
        let members = members_health(
            &[(marias, Some(watch(Some(2)))), (toms, Some(watch(Some(2))))],
            now(),
        );
        assert_eq!(members[&maria].0.state, CalendarState::Fresh);
        assert_eq!(members[&tom].0.state, CalendarState::ReconnectNeeded);
        let warned =
            |asked, offered: &[StaffId]| warning_for_offers(&members, asked, offered).is_some();
        assert!(!warned(None, &[maria]), "anyone, offered only with Maria");
        assert!(!warned(Some(maria), &[]), "Maria by name, nothing offered");
        assert!(warned(None, &[maria, tom]), "anyone, offered with Tom");
        assert!(warned(Some(tom), &[tom]), "Tom by name");
        assert!(warned(Some(tom), &[]), "Tom by name, nothing offered");
        assert!(warned(None, &[]), "anyone, nothing offered");
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
