//! AWS adapters of the `shared` ports. They live in their own crate so that the local server, and a newcomer's first
//! `cargo run`, never build the AWS SDK, and the core library stays free of AWS types.

pub mod config;
pub mod dynamo_store;
#[cfg(feature = "emulators")]
pub mod emulators;
pub mod iam;
pub mod lambda;
pub mod secrets_manager_store;
pub mod ses_mailer;
pub mod sqs_job_queue;
