//! The emulators' inbound sync, driven with plain HTTP as a client would: Google's `events.list` with paging, sync
//! tokens and recurring instances, push channels; Graph's `calendarView/delta` and change-notification
//! subscriptions with their validation handshake and lifecycle notifications. A file of tests per provider; how they
//! call each emulator and receive its notifications is in the client modules beside them.

mod client;
mod google;
mod google_client;
mod graph;
mod graph_client;
