//! Reading the calendar's changes (incremental from the cursor, or a full listing) and applying them to the
//! busy-time cache, keyed by event so applying the same changes twice is harmless.

use std::collections::HashSet;

use futures::{StreamExt, TryStreamExt};
use jiff::{SignedDuration, Timestamp};

use super::FULL_SYNC_EVERY;
use crate::app::context::App;
use crate::app::providers::Integrations;
use crate::app::sync_core::{SyncError, with_fresh_token};
use crate::domain::{Business, ExternalEventChange, Interval, busy_time};
use crate::ports::{
    BusyEvent, CalendarChanges, CalendarWatch, ChangesSince, ProviderError, ProviderSetup,
};
use crate::ports::{BusyTimeStore, CatalogStore, ConnectionStore, LeaseStore};

/// Events that started up to this long ago are kept; an event in progress still blocks.
const PAST_MARGIN: SignedDuration = SignedDuration::from_hours(24);
/// Kept beyond the longest booking horizon, so a service's horizon can grow a little without a resync.
const HORIZON_MARGIN_DAYS: i64 = 14;
/// The horizon used when a business has no services yet.
const DEFAULT_HORIZON_DAYS: i64 = 60;
/// Cache writes of one sync in flight at once.
const APPLY_CONCURRENCY: usize = 16;

/// The span of time the cache holds for a business: from a day ago to its longest booking horizon and a margin.
async fn busy_window<S: CatalogStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    now: Timestamp,
) -> Result<Interval, SyncError> {
    let services = app.store.list_services(business.id).await?;
    let horizon_days = services
        .iter()
        .filter(|service| service.active)
        .map(|service| i64::from(service.settings.booking_horizon_days))
        .max()
        .unwrap_or(DEFAULT_HORIZON_DAYS)
        + HORIZON_MARGIN_DAYS;
    let start = now.checked_sub(PAST_MARGIN).map_err(SyncError::internal)?;
    let end = now
        .checked_add(SignedDuration::from_hours(horizon_days * 24))
        .map_err(SyncError::internal)?;
    Interval::new(start, end).map_err(SyncError::internal)
}

/// Reads the calendar's changes and applies them to the cache; returns the watch with its new cursor.
pub(super) async fn refresh_busy_time<
    S: CatalogStore + ConnectionStore + BusyTimeStore + LeaseStore + ?Sized,
>(
    app: &App<S>,
    integrations: &Integrations,
    setup: &ProviderSetup,
    business: &Business,
    watch: &CalendarWatch,
) -> Result<CalendarWatch, SyncError> {
    let now = app.clock.now();
    let window = busy_window(app, business, now).await?;
    let started_at = now;
    let full_sync_due = watch
        .full_sync_at
        .is_none_or(|at| now.duration_since(at) >= FULL_SYNC_EVERY);
    let incremental = match (&watch.cursor, full_sync_due) {
        (Some(cursor), false) => {
            let read = with_fresh_token(
                app,
                integrations,
                setup,
                watch.connection(),
                |token| async move {
                    let since = ChangesSince::Cursor(cursor);
                    setup
                        .calendar
                        .changes(&token, &watch.calendar_id, since)
                        .await
                },
            )
            .await;
            match read {
                Ok(changes) => Some(changes),
                Err(SyncError::Provider(ProviderError::CursorExpired)) => {
                    tracing::info!(business_id = %business.id, "sync cursor expired; running a full sync");
                    None
                }
                Err(error) => return Err(error),
            }
        }
        _ => None,
    };
    let full = incremental.is_none();
    let changes = match incremental {
        Some(changes) => changes,
        None => {
            with_fresh_token(
                app,
                integrations,
                setup,
                watch.connection(),
                |token| async move {
                    let since = ChangesSince::Start { window };
                    setup
                        .calendar
                        .changes(&token, &watch.calendar_id, since)
                        .await
                },
            )
            .await?
        }
    };
    let zone_name = changes
        .time_zone
        .clone()
        .or_else(|| watch.time_zone.clone());
    apply(
        app,
        business,
        watch,
        &changes,
        zone_name.as_deref(),
        window,
        full,
    )
    .await?;
    let synced_at = app.clock.now();
    Ok(CalendarWatch {
        cursor: Some(changes.cursor),
        time_zone: zone_name,
        full_sync_at: if full {
            Some(synced_at)
        } else {
            watch.full_sync_at
        },
        synced_at: Some(synced_at),
        sync_started_at: Some(started_at),
        ..watch.clone()
    })
}

/// Writes each changed event's busy time (or its absence) to the cache, as the time of the member whose connection
/// checks the calendar: its events block them and nobody else. After a full listing, events the cache holds that
/// the listing no longer has are removed too.
async fn apply<S: BusyTimeStore + ?Sized>(
    app: &App<S>,
    business: &Business,
    watch: &CalendarWatch,
    changes: &CalendarChanges,
    zone_name: Option<&str>,
    window: Interval,
    full: bool,
) -> Result<(), SyncError> {
    // All-day events block the calendar's own dates; the business's zone stands in when the provider does not say.
    let zone = zone_name
        .and_then(|name| jiff::tz::TimeZone::get(name).ok())
        .unwrap_or_else(|| business.time_zone.zone().clone());
    let calendar_key = watch.busy_time_key();
    let calendar_key = calendar_key.as_str();
    let stored: HashSet<String> = if full {
        app.store
            .busy_event_ids(business.id, calendar_key)
            .await?
            .into_iter()
            .collect()
    } else {
        HashSet::new()
    };
    // The calendar's busy time blocks its connection's member only.
    let owner = watch.staff_id;
    let mut writes = Vec::new();
    for change in &changes.changes {
        let busy = match change {
            ExternalEventChange::Changed { event, .. } => busy_time(event, &zone, window),
            ExternalEventChange::Removed { .. } => None,
        };
        let id = change.id().to_owned();
        // A full listing names every event; one that blocks nothing and is not cached needs no write.
        if busy.is_some() || !full || stored.contains(&id) {
            writes.push((id, busy));
        }
    }
    if full {
        let listed: HashSet<&str> = changes
            .changes
            .iter()
            .map(ExternalEventChange::id)
            .collect();
        writes.extend(
            stored
                .iter()
                .filter(|id| !listed.contains(id.as_str()))
                .map(|id| (id.clone(), None)),
        );
    }
    futures::stream::iter(writes)
        .map(|(event_id, busy)| async move {
            match busy {
                Some(interval) => {
                    app.store
                        .put_busy_event(&BusyEvent {
                            business_id: business.id,
                            staff_id: owner,
                            calendar_key: calendar_key.to_owned(),
                            event_id,
                            intervals: vec![interval],
                        })
                        .await
                }
                None => {
                    app.store
                        .delete_busy_event(business.id, calendar_key, &event_id)
                        .await
                }
            }
        })
        .buffer_unordered(APPLY_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::adapters::{EmbeddedStore, InProcessQueue};
    use crate::app::inbound_sync::watching::forget_busy_time;
    use crate::domain::{ConnectionId, EventTiming, ExternalEvent, MemberBusy, StaffId};
    use crate::ports::{
        CalendarConnection, ConnectionHealth, ManualClock, ProviderKind, QueueSettings,
    };

    const NOW: &str = "2027-01-20T08:00:00Z";

    /// An app on a fresh embedded store at [`NOW`], with a business in Berlin; the directory keeps the store.
    fn app_and_business() -> (App, Business, tempfile::TempDir) {
        let directory = tempfile::tempdir().unwrap();
        let now: Timestamp = NOW.parse().unwrap();
        let app = App::new(
            Arc::new(EmbeddedStore::open(&directory.path().join("store.redb")).unwrap()),
            Arc::new(InProcessQueue::new(QueueSettings::default())),
            Arc::new(ManualClock::new(now)),
        );
        let business = Business {
            id: crate::domain::BusinessId::generate(),
            name: "Harbour Dental".to_owned().try_into().unwrap(),
            time_zone: "Europe/Berlin".to_owned().try_into().unwrap(),
            created_at: now,
            disabled_at: None,
        };
        (app, business, directory)
    }

    /// One timed event, `id`, over `interval`.
    fn one_event(id: &str, interval: Interval) -> CalendarChanges {
        CalendarChanges {
            changes: vec![ExternalEventChange::Changed {
                id: id.to_owned(),
                event: ExternalEvent {
                    timing: EventTiming::Timed {
                        start: interval.start(),
                        end: interval.end(),
                    },
                    cancelled: false,
                    shown_as_free: false,
                    declined: false,
                    ours: false,
                },
            }],
            cursor: "next".to_owned(),
            time_zone: None,
        }
    }

    fn dentist() -> Interval {
        Interval::new(
            "2027-01-20T10:00:00Z".parse().unwrap(),
            "2027-01-20T11:00:00Z".parse().unwrap(),
        )
        .unwrap()
    }

    fn around(interval: Interval) -> Interval {
        interval.widened(
            SignedDuration::from_hours(24),
            SignedDuration::from_hours(24),
        )
    }

    /// The business's one connection is its first member's: its events block them, and no one else.
    #[tokio::test]
    async fn the_connected_calendars_events_are_its_owners_the_first_member() {
        let (app, business, _directory) = app_and_business();
        let watch = CalendarWatch::new(business.id, ProviderKind::GOOGLE, "primary".to_owned());
        let window = around(dentist());

        apply(
            &app,
            &business,
            &watch,
            &one_event("dentist", dentist()),
            None,
            window,
            false,
        )
        .await
        .unwrap();

        assert_eq!(
            app.store
                .busy_intervals_overlapping(business.id, window)
                .await
                .unwrap(),
            vec![MemberBusy {
                staff_id: StaffId::first_of(business.id),
                interval: dentist(),
            }]
        );
    }

    /// A salon's shared account: Maria and Tom each connect it and check its team calendar. The same event read
    /// through each watch blocks each of them, and forgetting one watch's busy time (Tom unchecks the calendar)
    /// leaves Maria's.
    #[tokio::test]
    async fn two_members_checking_one_calendar_keep_their_busy_time_apart() {
        let (app, business, _directory) = app_and_business();
        let (maria, tom) = (StaffId::first_of(business.id), StaffId::generate());
        let watch_of = |id: ConnectionId, staff_id: StaffId| {
            CalendarWatch::of_connection(
                &CalendarConnection {
                    id,
                    business_id: business.id,
                    staff_id,
                    provider: ProviderKind::GOOGLE,
                    account: "salon@example.com".to_owned(),
                    calendar_id: None,
                    checked_calendars: vec!["team".to_owned()],
                    connected_at: NOW.parse().unwrap(),
                    health: ConnectionHealth::Connected,
                    last_synced_at: None,
                },
                "team".to_owned(),
            )
        };
        let marias = watch_of(ConnectionId::of_first_connection(business.id), maria);
        let toms = watch_of(ConnectionId::generate(), tom);
        let window = around(dentist());
        for watch in [&marias, &toms] {
            apply(
                &app,
                &business,
                watch,
                &one_event("staff-meeting", dentist()),
                None,
                window,
                false,
            )
            .await
            .unwrap();
        }
        let blocked = || async {
            let mut members: Vec<StaffId> = app
                .store
                .busy_intervals_overlapping(business.id, window)
                .await
                .unwrap()
                .into_iter()
                .map(|busy| busy.staff_id)
                .collect();
            members.sort();
            members
        };
        let mut both = vec![maria, tom];
        both.sort();
        assert_eq!(blocked().await, both);

        forget_busy_time(&app, &toms).await.unwrap();
        assert_eq!(blocked().await, vec![maria]);
    }
}
