//! Outbound calendar sync end to end: the HTTP API, the sync worker and the provider emulators, for both providers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

/// One `#[tokio::test]` per scenario and provider.
macro_rules! for_providers {
    ($($scenario:ident),+ $(,)?) => {
        mod google_calendar {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    super::$scenario::<integration_tests::emulators::google::GoogleEmulator>().await;
                }
            )+
        }
        mod microsoft_graph {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $scenario() {
                    super::$scenario::<integration_tests::emulators::microsoft::GraphEmulator>().await;
                }
            )+
        }
    };
}

mod faults;
mod flows;
mod google;
mod harness;
mod microsoft;
