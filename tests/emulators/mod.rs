//! Provider emulators for Google Calendar and Microsoft Graph, and the spec checks they run on every request.

pub mod faults;
pub mod google;
pub mod microsoft;
pub mod spec;
