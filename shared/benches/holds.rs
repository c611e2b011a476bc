//! Holds and caller lookup on the embedded store (redb), through the router the local server runs: hold + book
//! from the hold, and a phone lookup among 10,000 appointments. `cargo bench -p booking-core --bench holds`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "support/holds_and_callers.rs"]
mod holds_and_callers;
#[path = "support/seed.rs"]
mod seed;

use std::sync::Arc;

use booking_core as booking;
use booking_core::adapters::EmbeddedStore;

#[tokio::main]
async fn main() {
    let directory = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&directory.path().join("store.redb")).unwrap();
    holds_and_callers::run(Arc::new(store), || None).await;
}
