//! Provider emulators for Google Calendar and Microsoft Graph, and the spec checks they run on every request.

pub mod spec;
