//! HTTP tests through a spawned server, one module per area.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod appointments;
mod auth;
mod availability;
mod callers;
mod concurrency;
mod edge;
mod errors;
mod holds;
mod idempotency;
mod integrations;
mod maintenance;
mod openapi;
mod services;
mod staff;
