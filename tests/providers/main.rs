//! Calendar provider clients against the provider emulators.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod google;
mod inbound_emulators;
mod microsoft;
