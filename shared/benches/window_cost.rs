//! What a one-day availability answer costs on the embedded store as the business's future fills up (see
//! `support/window_cost.rs`; DynamoDB Local's figures come from the `dynamodb` bench of booking-aws).
//!
//! `cargo bench -p booking-core --bench window_cost`

#[path = "support/seed.rs"]
mod seed;
#[path = "support/window_cost.rs"]
mod window_cost_fixture;

use std::sync::Arc;

use booking_core as booking;
use booking_core::adapters::EmbeddedStore;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use window_cost_fixture::{APPOINTMENTS, BUSY_EVENTS, Fixture};

fn fail(error: impl std::fmt::Display) -> ! {
    panic!("{error}")
}

fn window_cost(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap_or_else(|e| fail(e));
    let directory = tempfile::tempdir().unwrap_or_else(|e| fail(e));
    let store =
        EmbeddedStore::open(&directory.path().join("store.redb")).unwrap_or_else(|e| fail(e));
    let mut fixture = runtime.block_on(Fixture::new(Arc::new(store)));
    let mut group = c.benchmark_group("1-day availability, embedded store");
    for busy in BUSY_EVENTS {
        runtime.block_on(fixture.grow_busy_events(busy));
        group.bench_with_input(
            BenchmarkId::new("future busy events", busy),
            &busy,
            |b, _| b.iter(|| runtime.block_on(fixture.tomorrow())),
        );
    }
    for appointments in APPOINTMENTS {
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
