//! How the dashboard writes times and states: in the business's zone, in words a person reads at a glance.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::domain::{AppointmentStatus, BookingSource, SyncStatus};

/// "Tue 8 Dec, 10:30 EST": the day named, the zone's abbreviation for that instant.
pub fn when(instant: Timestamp, zone: &TimeZone) -> String {
    instant
        .to_zoned_datetime(zone.clone())
        .strftime("%a %-d %b, %H:%M %Z")
        .to_string()
}

/// "10:30", for a list of times on one day.
pub fn clock_time(instant: Timestamp, zone: &TimeZone) -> String {
    instant
        .to_zoned_datetime(zone.clone())
        .strftime("%H:%M")
        .to_string()
}

/// "Tue 8 Dec".
pub fn day(date: Date) -> String {
    date.strftime("%a %-d %b").to_string()
}

pub fn today(now: Timestamp, zone: &TimeZone) -> Date {
    now.to_zoned_datetime(zone.clone()).date()
}

pub fn source(source: BookingSource) -> &'static str {
    match source {
        BookingSource::Ai => "AI",
        BookingSource::Manual => "Manual",
        BookingSource::Api => "API",
    }
}

pub fn status(status: AppointmentStatus) -> &'static str {
    match status {
        AppointmentStatus::Booked => "Booked",
        AppointmentStatus::Cancelled => "Cancelled",
    }
}

pub fn sync_status(status: SyncStatus) -> &'static str {
    match status {
        SyncStatus::Synced => "Synced",
        SyncStatus::Pending => "Pending",
        SyncStatus::Failed => "Failed",
        SyncStatus::NotConnected => "Not connected",
    }
}

/// The badge's CSS class, so colour is never the only signal (the word is always there too).
pub fn sync_class(status: SyncStatus) -> &'static str {
    match status {
        SyncStatus::Synced => "badge ok",
        SyncStatus::Pending => "badge wait",
        SyncStatus::Failed => "badge bad",
        SyncStatus::NotConnected => "badge off",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_the_zone_with_the_day_named() {
        let zone = TimeZone::get("America/New_York").ok();
        let instant = "2026-12-08T15:30:00Z".parse::<Timestamp>().ok();
        let written = zone
            .zip(instant)
            .map(|(zone, instant)| when(instant, &zone));
        assert_eq!(written.as_deref(), Some("Tue 8 Dec, 10:30 EST"));
    }
}
