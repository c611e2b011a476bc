//! Provider emulators for Google Calendar and Microsoft Graph, and the spec checks they run on every request.
//!
//! Each provider is a folder with a file a concern; what they do alike lives beside them: `server` (the loopback
//! server, the request gate's fault plumbing, the ledger of requests and violations), `oauth` (codes, PKCE, tokens),
//! `push` (background delivery of notifications), `recurrence` (daily and weekly series), `faults` and `spec`.

pub mod faults;
pub mod google;
pub mod microsoft;
mod oauth;
mod push;
mod recurrence;
mod server;
pub mod spec;
