//! Outbound calendar sync end to end: the HTTP API, the sync worker and the provider emulators, for both providers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

/// One `#[tokio::test]` per scenario and provider: `local` scenarios on the embedded store and in-process queue,
/// `aws` ones on those and on DynamoDB Local, moto's SQS and Secrets Manager too.
macro_rules! for_providers {
    (local: [$($local:ident),* $(,)?], aws: [$($aws:ident),* $(,)?] $(,)?) => {
        for_providers!(@provider google_calendar, integration_tests::emulators::google::GoogleEmulator, [$($local),*], [$($aws),*]);
        for_providers!(@provider microsoft_graph, integration_tests::emulators::microsoft::GraphEmulator, [$($local),*], [$($aws),*]);
    };
    (@provider $module:ident, $emulator:ty, [$($local:ident),*], [$($aws:ident),*]) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $local() {
                    super::$local::<$emulator>($crate::harness::Backend::Local).await;
                }
            )*
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $aws() {
                    super::$aws::<$emulator>($crate::harness::Backend::Local).await;
                }
            )*
            mod on_aws {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $aws() {
                        if $crate::harness::Backend::aws_available().await {
                            super::super::$aws::<$emulator>($crate::harness::Backend::Aws).await;
                        }
                    }
                )*
            }
        }
    };
}

mod alerts;
mod faults;
mod flows;
mod google;
mod harness;
mod inbound;
mod members;
mod microsoft;
mod moves;
mod upgrade;
