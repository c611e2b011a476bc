//! The booking and calendar-sync library: domain, availability engine, use cases, ports with their local adapters,
//! and the HTTP routers. Lambda functions and the local server are thin binaries over it.

pub mod adapters;
pub mod agent;
pub mod api;
pub mod app;
pub mod availability;
pub mod cli;
#[cfg(feature = "contract-tests")]
pub mod contract;
pub mod dashboard;
pub mod domain;
pub mod local;
pub mod metrics;
pub mod ports;
pub mod providers;
pub mod settings;
