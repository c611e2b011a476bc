//! Outbound calendar sync end to end: the HTTP API, the sync worker and the provider emulators, for both providers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod flows;
mod harness;
mod microsoft;
