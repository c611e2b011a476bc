//! Staff members: the people or resources (a room, a van) a service is performed by, each a diary of its own. Every
//! business has at least one; a business that never adds a second sees no difference from a business with one diary.
//!
//! # Rules
//!
//! - A time is offered with a staff member when it lies within both the service's hours and theirs
//!   ([`StaffMember::hours_on`]; a member without weekly hours works whenever the service is open, and a date override
//!   of theirs, such as time off, wins over both).
//! - The occupied intervals (buffers included) of one member never overlap; two members may be booked at once.
//! - A service's maximum per day counts the whole business; a member's own maximum counts their appointments of
//!   every service.
//! - When the caller does not mind who, the business's [`AssignmentPolicy`] picks among the qualified members free at
//!   that time, deterministically.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::service::{checked_max_per_day, override_on, validated_overrides};
use super::{
    AppointmentId, BusinessId, DateOverride, DisplayName, LocalTimeRange, Occupancy, ServiceId,
    StaffId, ValidationError, WeeklyHours,
};

/// A staff member's name as callers say it ("Dr. Patel", "Maria", "Van 2").
pub type StaffName = DisplayName;

/// The services a member performs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", content = "service_ids", rename_all = "snake_case")]
pub enum StaffServices {
    /// Every service of the business, present and future: what a business's first member does.
    #[default]
    All,
    /// Only these.
    Only(BTreeSet<ServiceId>),
}

impl StaffServices {
    pub fn includes(&self, service: ServiceId) -> bool {
        match self {
            Self::All => true,
            Self::Only(services) => services.contains(&service),
        }
    }
}

/// What a business configures about a staff member: the validated body of a create or an update.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffSettings {
    pub name: StaffName,
    pub services: StaffServices,
    /// `None`: whenever the service is open (the first member of a business that existed before staff members).
    pub weekly_hours: Option<WeeklyHours>,
    /// Dates whose hours replace the weekly ones (no ranges: time off); sorted, one per date.
    pub date_overrides: Vec<DateOverride>,
    /// The member's live appointments of any service per local date; `None` is unlimited.
    pub max_per_day: Option<u32>,
}

impl StaffSettings {
    /// The settings of the member a business starts with: every service, whenever the service is open, no limit.
    pub fn first_member(name: StaffName) -> Self {
        Self {
            name,
            services: StaffServices::All,
            weekly_hours: None,
            date_overrides: Vec::new(),
            max_per_day: None,
        }
    }

    /// Checks the hours and the limit, and sorts the overrides by date.
    pub fn validated(mut self) -> Result<Self, ValidationError> {
        if let Some(hours) = &self.weekly_hours {
            hours.validate()?;
        }
        self.date_overrides = validated_overrides(std::mem::take(&mut self.date_overrides))?;
        checked_max_per_day(self.max_per_day)?;
        Ok(self)
    }
}

/// A staff member of a business, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    pub id: StaffId,
    pub business_id: BusinessId,
    #[serde(flatten)]
    pub settings: StaffSettings,
    /// An inactive member is offered and assigned nothing; their past appointments keep them.
    pub active: bool,
    /// Bumped on every change; updates are conditional on it.
    pub version: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl StaffMember {
    /// The member a business starts with, carrying the behaviour of a business with one diary exactly: every
    /// service, whenever the service is open, no limit of their own. Its id is [`StaffId::first_of`] the business.
    pub fn first_of(business: BusinessId, name: StaffName, at: Timestamp) -> Self {
        Self {
            id: StaffId::first_of(business),
            business_id: business,
            settings: StaffSettings::first_member(name),
            active: true,
            version: 1,
            created_at: at,
            updated_at: at,
        }
    }

    /// Whether the member can be booked for `service` at all.
    pub fn performs(&self, service: ServiceId) -> bool {
        self.active && self.settings.services.includes(service)
    }

    /// The member's own ranges on a local date: their override of that date if any, else their weekday's hours;
    /// `None` when they keep no hours of their own (whenever the service is open).
    pub fn hours_on(&self, date: Date) -> Option<&[LocalTimeRange]> {
        override_on(&self.settings.date_overrides, date).or_else(|| {
            self.settings
                .weekly_hours
                .as_ref()
                .map(|hours| hours.on(date.weekday()))
        })
    }
}

/// Who gets an appointment when the caller does not mind: a business setting, deterministic so a test (and an owner)
/// can say in advance who will be booked.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", content = "order", rename_all = "snake_case")]
pub enum AssignmentPolicy {
    /// The free member with the fewest live appointments (and holds) that local day; ties go to the one booked least
    /// recently (whose newest appointment in the read window was created earliest: ids are time-ordered, and a member
    /// with none there comes first), then to the smallest id.
    #[default]
    Balanced,
    /// The first free member of this list; free members the list leaves out come after it, by id.
    Priority(Vec<StaffId>),
}

impl AssignmentPolicy {
    /// The member to book among `free` (those qualified and free at the time), given the business's live
    /// `occupancies` around it; `None` when nobody is free.
    pub fn choose(
        &self,
        free: &[StaffId],
        occupancies: &[Occupancy],
        date: Date,
    ) -> Option<StaffId> {
        match self {
            Self::Balanced => free.iter().copied().min_by_key(|&member| {
                let mine = occupancies.iter().filter(|o| o.staff_id == member);
                let that_day = mine.clone().filter(|o| o.local_date == date).count();
                let newest: Option<AppointmentId> = mine.map(|o| o.appointment_id).max();
                (that_day, newest, member)
            }),
            Self::Priority(order) => order
                .iter()
                .find(|member| free.contains(member))
                .copied()
                .or_else(|| free.iter().copied().min()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use jiff::civil::date;

    use super::*;
    use crate::domain::{Interval, occupied_time};

    fn occupancy(staff: StaffId, day: i8, minute: i64) -> Occupancy {
        let start: Timestamp = "2027-03-01T09:00:00Z".parse().unwrap();
        let start = start
            .checked_add(jiff::SignedDuration::from_mins(minute))
            .unwrap();
        let end = start
            .checked_add(jiff::SignedDuration::from_mins(30))
            .unwrap();
        Occupancy {
            appointment_id: AppointmentId::generate(),
            service_id: ServiceId::generate(),
            staff_id: staff,
            occupied: occupied_time(
                Interval::new(start, end).unwrap(),
                super::super::Minutes::new(0),
                super::super::Minutes::new(0),
            ),
            local_date: date(2027, 3, day),
        }
    }

    #[test]
    fn balanced_picks_the_fewest_that_day_then_the_least_recently_booked_then_the_smallest_id() {
        let (a, b, c) = (
            StaffId::generate(),
            StaffId::generate(),
            StaffId::generate(),
        );
        let day = date(2027, 3, 1);
        // a has two that day, b one, c one booked after b's: b wins.
        let booked = vec![
            occupancy(a, 1, 0),
            occupancy(a, 1, 60),
            occupancy(b, 1, 120),
            occupancy(c, 1, 180),
        ];
        assert_eq!(
            AssignmentPolicy::Balanced.choose(&[a, b, c], &booked, day),
            Some(b)
        );
        // Another day's appointments do not count toward the day, only toward who was booked recently.
        assert_eq!(
            AssignmentPolicy::Balanced.choose(&[a, c], &booked, date(2027, 3, 2)),
            Some(a)
        );
        // Nobody booked: the smallest id.
        assert_eq!(
            AssignmentPolicy::Balanced.choose(&[c, b, a], &[], day),
            Some(a.min(b).min(c))
        );
        assert_eq!(AssignmentPolicy::Balanced.choose(&[], &booked, day), None);
    }

    #[test]
    fn priority_picks_the_first_free_of_its_order_then_the_others_by_id() {
        let (a, b, c) = (
            StaffId::generate(),
            StaffId::generate(),
            StaffId::generate(),
        );
        let policy = AssignmentPolicy::Priority(vec![c, a]);
        let day = date(2027, 3, 1);
        assert_eq!(policy.choose(&[a, b, c], &[], day), Some(c));
        assert_eq!(policy.choose(&[a, b], &[], day), Some(a));
        assert_eq!(policy.choose(&[b], &[], day), Some(b));
    }

    #[test]
    fn a_member_override_wins_over_their_week_and_no_hours_means_the_services() {
        let business = BusinessId::generate();
        let mut member = StaffMember::first_of(
            business,
            StaffName::try_from("Maria".to_owned()).unwrap(),
            Timestamp::UNIX_EPOCH,
        );
        assert_eq!(member.hours_on(date(2027, 3, 1)), None);
        member.settings.date_overrides = vec![DateOverride {
            date: date(2027, 3, 2),
            hours: vec![],
        }];
        assert_eq!(member.hours_on(date(2027, 3, 2)), Some(&[][..]));
        member.settings.weekly_hours = Some(WeeklyHours::default());
        assert_eq!(member.hours_on(date(2027, 3, 1)), Some(&[][..]));
        assert!(member.performs(ServiceId::generate()));
        member.active = false;
        assert!(!member.performs(ServiceId::generate()));
    }
}
