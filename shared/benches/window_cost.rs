//! What a one-day availability answer costs on the embedded store as the business's future fills up: the same
//! question ("what is free tomorrow?") with 0, 1,000 and 10,000 future busy events, then with 1,000 and 5,000
//! future appointments. The cost must follow the window asked, so the figures should stay flat.
//!
//! `cargo bench -p booking-core --bench window_cost`

use std::sync::Arc;

use booking_core as booking;
use booking_core::adapters::{EmbeddedStore, InProcessQueue};
use booking_core::app::{self, App};
use booking_core::domain::{
    Business, Interval, LocalTimeRange, Minutes, ServiceName, ServiceSettings, WeeklyHours,
};
use booking_core::ports::{BusyEvent, ManualClock, QueueSettings, Store};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use jiff::{SignedDuration, Timestamp};

#[path = "support/seed.rs"]
mod seed;

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

struct Fixture {
    app: App,
    business: Business,
    service: booking_core::domain::Service,
    now: Timestamp,
    busy_events: usize,
    appointments: usize,
    _directory: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Self {
        let directory = tempfile::tempdir().unwrap_or_else(|e| fail(e));
        let store: Arc<dyn Store> = Arc::new(
            EmbeddedStore::open(&directory.path().join("store.redb")).unwrap_or_else(|e| fail(e)),
        );
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
            _directory: directory,
        }
    }

    /// Busy events of 20 minutes, spread over the next 300 days, one every ~43 minutes at 10,000.
    async fn grow_busy_events(&mut self, total: usize) {
        for index in self.busy_events..total {
            let start =
                self.now + SignedDuration::from_mins(60 + (index as i64 * 43) % (300 * 24 * 60));
            let interval = Interval::starting_at(start, SignedDuration::from_mins(20))
                .unwrap_or_else(|| fail("interval"));
            let event = BusyEvent {
                business_id: self.business.id,
                calendar_id: "primary".into(),
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
    async fn grow_appointments(&mut self, total: usize) {
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

    async fn tomorrow(&self) -> usize {
        let window = Interval::starting_at(self.now + DAY, DAY).unwrap_or_else(|| fail("interval"));
        app::find_availability(&self.app, &self.business, self.service.id, window)
            .await
            .unwrap_or_else(|e| fail(e))
            .slots
            .len()
    }
}

fn window_cost(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| fail(e));
    let mut fixture = runtime.block_on(Fixture::new());
    let mut group = c.benchmark_group("1-day availability, embedded store");
    for busy in [0, 1_000, 10_000] {
        runtime.block_on(fixture.grow_busy_events(busy));
        group.bench_with_input(
            BenchmarkId::new("future busy events", busy),
            &busy,
            |b, _| b.iter(|| runtime.block_on(fixture.tomorrow())),
        );
    }
    for appointments in [1_000, 5_000] {
        runtime.block_on(fixture.grow_appointments(appointments));
        group.bench_with_input(
            BenchmarkId::new("and future appointments", appointments),
            &appointments,
            |b, _| b.iter(|| runtime.block_on(fixture.tomorrow())),
        );
    }
    group.finish();
}

criterion_group!(benches, window_cost);
criterion_main!(benches);
