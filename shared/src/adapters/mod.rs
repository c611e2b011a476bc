//! Local adapters of the ports: what the product runs on outside AWS (and SMTP, for anyone self-hosting). Each passes
//! the same contract suites (`crate::contract`) as its AWS counterpart.

mod embedded_store;
mod file_secrets;
mod in_process_queue;
pub mod mail;

pub use embedded_store::EmbeddedStore;
pub use file_secrets::FileSecretStore;
pub use in_process_queue::InProcessQueue;
pub use mail::{OutboxMailer, Sender, SmtpMailer, mime_message};
