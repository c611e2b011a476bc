//! The business whose future fills up, for the window-cost benchmarks of both stores: the same question ("what is
//! free tomorrow?") asked with 0, 1,000 and 10,000 future busy events, then with 1,000 and 5,000 future appointments.
//! The cost must follow the window asked, so the figures should stay flat.

use std::sync::Arc;

use super::seed;
use booking_core::adapters::InProcessQueue;
use booking_core::app::{self, App};
use booking_core::domain::{
    Business, Interval, LocalTimeRange, Minutes, ServiceName, ServiceSettings, WeeklyHours,
};
use booking_core::ports::{BusyEvent, ManualClock, QueueSettings, Store};
use jiff::{SignedDuration, Timestamp};

/// The sizes the business grows through, in order: busy events first, then appointments on top of them.
pub const BUSY_EVENTS: [usize; 3] = [0, 1_000, 10_000];
pub const APPOINTMENTS: [usize; 2] = [1_000, 5_000];

const DAY: SignedDuration = SignedDuration::from_hours(24);

fn fail(error: impl std::fmt::Display) -> ! {
    panic!("{error}")
}

fn all_week() -> WeeklyHours {
    let day = vec![LocalTimeRange::parse("00:00", "24:00").unwrap_or_else(|e| fail(e))];
    WeeklyHours {
        monday: day.clone(),
        tuesday: day.clone(),
        wednesday: day.clone(),
        thursday: day.clone(),
        friday: day.clone(),
        saturday: day.clone(),
        sunday: day,
    }
}

pub struct Fixture {
    pub app: App,
    business: Business,
    service: booking_core::domain::Service,
    now: Timestamp,
    busy_events: usize,
    appointments: usize,
}

impl Fixture {
    /// A new business with one service open around the clock, in `store`.
    pub async fn new(store: Arc<dyn Store>) -> Self {
        let now: Timestamp = "2027-01-04T12:00:00Z".parse().unwrap_or_else(|e| fail(e));
        let clock = ManualClock::new(now);
        let app = App::new(
            store,
            Arc::new(InProcessQueue::new(QueueSettings::default())),
            Arc::new(clock),
        );
        let created = app::create_business(
            app.store.as_ref(),
            app.clock.as_ref(),
            "Bench".into(),
            "America/New_York".into(),
        )
        .await
        .unwrap_or_else(|e| fail(e));
        let settings = ServiceSettings {
            name: ServiceName::try_from("Visit".to_owned()).unwrap_or_else(|e| fail(e)),
            duration: Minutes::new(15),
            slot_interval: Minutes::new(15),
            weekly_hours: all_week(),
            date_overrides: vec![],
            buffer_before: Minutes::new(0),
            buffer_after: Minutes::new(0),
            max_per_day: None,
            minimum_notice: Minutes::new(0),
            booking_horizon_days: 365,
        };
        let service = app::create_service(&app, &created.business, settings)
            .await
            .unwrap_or_else(|e| fail(e));
        Self {
            app,
            business: created.business,
            service,
            now,
            busy_events: 0,
            appointments: 0,
        }
    }

    /// Busy events of 20 minutes, spread over the next 300 days, one every ~43 minutes at 10,000.
    pub async fn grow_busy_events(&mut self, total: usize) {
        for index in self.busy_events..total {
            let start =
                self.now + SignedDuration::from_mins(60 + (index as i64 * 43) % (300 * 24 * 60));
            let interval = Interval::starting_at(start, SignedDuration::from_mins(20))
                .unwrap_or_else(|| fail("interval"));
            let event = BusyEvent {
                business_id: self.business.id,
                staff_id: booking_core::domain::StaffId::first_of(self.business.id),
                calendar_key: "primary".into(),
                event_id: format!("event-{index}"),
                intervals: vec![interval],
            };
            self.app
                .store
                .put_busy_event(&event)
                .await
                .unwrap_or_else(|e| fail(e));
        }
        self.busy_events = total;
    }

    /// Appointments on distinct quarter hours from the third day on, so tomorrow's question stays the same.
    pub async fn grow_appointments(&mut self, total: usize) {
        for index in self.appointments..total {
            let start = self.now + 2 * DAY + SignedDuration::from_mins(15 * index as i64);
            let time = Interval::starting_at(start, SignedDuration::from_mins(15))
                .unwrap_or_else(|| fail("interval"));
            let appointment = seed::booked_appointment(
                self.business.id,
                self.service.id,
                time,
                self.business.time_zone.zone().clone(),
                "Bench",
                None,
                self.now,
            );
            seed::store_appointment(self.app.store.as_ref(), &appointment)
                .await
                .unwrap_or_else(|e| fail(e));
        }
        self.appointments = total;
    }

    /// "What is free tomorrow?": the number of free slots.
    pub async fn tomorrow(&self) -> usize {
        let window = Interval::starting_at(self.now + DAY, DAY).unwrap_or_else(|| fail("interval"));
        let command = app::FindTimes::in_window(self.service.id, window);
        app::find_times(&self.app, &self.business, command)
            .await
            .unwrap_or_else(|e| fail(e))
            .slots
            .len()
    }
}
