//! Example-based tests of the engine: slot grids, buffers, limits, notice, horizons, busy time and DST days.

use jiff::civil::{Date, date};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::*;
use crate as booking;
use crate::domain::{
    AppointmentId, BusinessId, DateOverride, LocalTimeRange, Minutes, ServiceId, ServiceName,
    ServiceSettings, WeeklyHours,
};

// The embedded store's tests load these fixtures too, from a module this one cannot reach.
#[allow(clippy::duplicate_mod)]
#[path = "../../benches/support/seed.rs"]
pub(super) mod seed;

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn range(start: &str, end: &str) -> LocalTimeRange {
    let time = |text: &str| {
        text.parse::<jiff::civil::Time>()
            .unwrap_or_else(|e| panic!("{text}: {e}"))
    };
    let end = (end != "24:00").then(|| time(end));
    LocalTimeRange::new(time(start), end).unwrap_or_else(|e| panic!("{e}"))
}

/// 30-minute slots every 15 minutes, no buffers, notice, limit; open the given ranges every day of the week.
fn service(hours: &[LocalTimeRange], configure: impl FnOnce(&mut ServiceSettings)) -> Service {
    let every_day = hours.to_vec();
    let mut settings = ServiceSettings {
        name: ServiceName::try_from("Haircut".to_owned()).unwrap_or_else(|e| panic!("{e}")),
        duration: Minutes::new(30),
        slot_interval: Minutes::new(15),
        weekly_hours: WeeklyHours {
            monday: every_day.clone(),
            tuesday: every_day.clone(),
            wednesday: every_day.clone(),
            thursday: every_day.clone(),
            friday: every_day.clone(),
            saturday: every_day.clone(),
            sunday: every_day,
        },
        date_overrides: vec![],
        buffer_before: Minutes::new(0),
        buffer_after: Minutes::new(0),
        max_per_day: None,
        minimum_notice: Minutes::new(0),
        booking_horizon_days: 366,
    };
    configure(&mut settings);
    seed::new_service(settings)
}

fn instant(text: &str) -> Timestamp {
    text.parse()
        .unwrap_or_else(|e| panic!("{text} is not an instant: {e}"))
}

fn span(from: &str, to: &str) -> Interval {
    Interval::new(instant(from), instant(to)).unwrap_or_else(|e| panic!("{e}"))
}

/// A wall time in `zone`, which must exist and be unambiguous.
fn local(zone: &TimeZone, text: &str) -> Timestamp {
    let civil: jiff::civil::DateTime = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
    zone.to_ambiguous_timestamp(civil)
        .unambiguous()
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// An occupancy of the one staff member every example business has: theirs is every occupancy.
fn occupancy(service_id: ServiceId, occupied: Interval, local_date: Date) -> Occupancy {
    Occupancy {
        appointment_id: AppointmentId::generate(),
        service_id,
        staff_id: only_member().id,
        occupied,
        local_date,
    }
}

/// Busy time in the calendar of the one staff member every example business has.
fn busy(interval: Interval) -> MemberBusy {
    MemberBusy {
        staff_id: only_member().id,
        interval,
    }
}

/// The one staff member of the example businesses: every service, whenever it is open, no limit; the same for every
/// business, since the examples never have two.
pub(super) fn only_member() -> StaffMember {
    StaffMember::first_of(
        BusinessId::from(uuid::Uuid::nil()),
        booking::domain::StaffName::try_from("Anyone".to_owned()).unwrap_or_else(|e| panic!("{e}")),
        Timestamp::UNIX_EPOCH,
    )
}

/// What the engine is asked about: also the inputs of the property tests' scenarios.
#[derive(Debug)]
pub(super) struct Case {
    pub(super) service: Service,
    pub(super) zone: TimeZone,
    pub(super) now: Timestamp,
    pub(super) occupancies: Vec<Occupancy>,
    pub(super) busy: Vec<MemberBusy>,
    pub(super) staff: Vec<StaffMember>,
}

impl Case {
    fn new(service: Service, zone_name: &str) -> Self {
        Self {
            service,
            zone: zone(zone_name),
            now: instant("2026-01-01T00:00:00Z"),
            occupancies: vec![],
            busy: vec![],
            staff: vec![only_member()],
        }
    }

    pub(super) fn input(&self) -> AvailabilityInput<'_> {
        AvailabilityInput {
            service: &self.service,
            zone: &self.zone,
            now: self.now,
            occupancies: &self.occupancies,
            busy: &self.busy,
            staff: &self.staff,
        }
    }

    fn starts(&self, window: Interval) -> Vec<Timestamp> {
        available_slots(&self.input(), window)
            .iter()
            .map(Interval::start)
            .collect()
    }

    /// Start times offered on a local date, as local wall times "HH:MM".
    fn local_starts(&self, day: Date) -> Vec<String> {
        let from = local(&self.zone, &format!("{day}T00:00"));
        let to = from
            .checked_add(SignedDuration::from_hours(30))
            .unwrap_or_else(|e| panic!("{e}"));
        let window = Interval::new(from, to).unwrap_or_else(|e| panic!("{e}"));
        available_slots(&self.input(), window)
            .iter()
            .map(|slot| self.zone.to_datetime(slot.start()))
            .filter(|wall| wall.date() == day)
            .map(|wall| wall.time().strftime("%H:%M").to_string())
            .collect()
    }

    fn check(&self, start: Timestamp) -> Result<Interval, Unavailability> {
        check_slot(&self.input(), start)
    }
}

const MONDAY: Date = date(2026, 6, 1);

#[test]
fn starts_step_by_the_interval_from_each_range_start() {
    let case = Case::new(
        service(&[range("09:00", "10:00"), range("13:10", "14:00")], |_| {}),
        "Europe/London",
    );
    assert_eq!(
        case.local_starts(MONDAY),
        ["09:00", "09:15", "09:30", "13:10", "13:25"]
    );
    let slot = case
        .check(local(&case.zone, "2026-06-01T13:25"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(slot.length(), SignedDuration::from_mins(30));
    assert_eq!(
        case.check(local(&case.zone, "2026-06-01T13:20")),
        Err(Unavailability::OutsideHours)
    );
}

#[test]
fn sub_second_range_times_round_inward() {
    let time = |text: &str| {
        text.parse::<jiff::civil::Time>()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let odd = LocalTimeRange::new(time("09:00:00.5"), Some(time("10:00:59.5")))
        .unwrap_or_else(|e| panic!("{e}"));
    let case = Case::new(service(&[odd], |_| {}), "UTC");
    assert_eq!(
        case.starts(span("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z")),
        [
            instant("2026-06-01T09:00:01Z"),
            instant("2026-06-01T09:15:01Z"),
            instant("2026-06-01T09:30:01Z"),
        ]
    );
}

#[test]
fn a_slot_must_fit_in_one_range_even_when_ranges_touch() {
    let case = Case::new(
        service(&[range("09:00", "10:00"), range("10:00", "11:00")], |s| {
            s.duration = Minutes::new(60);
            s.slot_interval = Minutes::new(30);
        }),
        "Asia/Kolkata",
    );
    assert_eq!(case.local_starts(MONDAY), ["09:00", "10:00"]);
    assert_eq!(
        case.check(local(&case.zone, "2026-06-01T09:30")),
        Err(Unavailability::OutsideHours)
    );
}

#[test]
fn a_range_ending_at_midnight_holds_its_last_hour() {
    let hour = |minutes| {
        Case::new(
            service(&[range("23:00", "24:00")], |s| {
                s.duration = Minutes::new(minutes)
            }),
            "America/New_York",
        )
    };
    assert_eq!(hour(60).local_starts(MONDAY), ["23:00"]);
    assert!(hour(61).local_starts(MONDAY).is_empty());
}

#[test]
fn spring_forward_skips_missing_grid_times_and_slots_may_cross_the_gap() {
    let new_york = zone("America/New_York");
    let sunday = date(2026, 3, 8);
    let window = span("2026-03-08T00:00:00Z", "2026-03-09T00:00:00Z");
    let half_hours = Case::new(
        service(&[range("01:00", "04:00")], |s| {
            s.slot_interval = Minutes::new(30)
        }),
        "America/New_York",
    );
    // 02:00 and 02:30 do not exist that night; 01:30 EST + 30 min is exactly 03:00 EDT.
    assert_eq!(
        half_hours.starts(window),
        [
            instant("2026-03-08T06:00:00Z"),
            instant("2026-03-08T06:30:00Z"),
            instant("2026-03-08T07:00:00Z"),
            instant("2026-03-08T07:30:00Z"),
        ]
    );
    assert_eq!(
        half_hours.local_starts(sunday),
        ["01:00", "01:30", "03:00", "03:30"]
    );
    let hour_long = Case::new(
        service(&[range("01:00", "04:00")], |s| {
            s.duration = Minutes::new(60);
            s.slot_interval = Minutes::new(30);
        }),
        "America/New_York",
    );
    // Two hours of wall time but only two hours of real time: 01:30 EST runs to 03:30 EDT.
    assert_eq!(hour_long.local_starts(sunday), ["01:00", "01:30", "03:00"]);
    let slot = hour_long
        .check(local(&new_york, "2026-03-08T01:30"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(slot.end(), instant("2026-03-08T07:30:00Z"));
}

#[test]
fn fall_back_offers_the_first_occurrence_of_a_repeated_grid_time_only() {
    let window = span("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z");
    let case = Case::new(
        service(&[range("01:00", "04:00")], |s| {
            s.slot_interval = Minutes::new(30)
        }),
        "America/New_York",
    );
    assert_eq!(
        case.starts(window),
        [
            instant("2026-11-01T05:00:00Z"), // 01:00 EDT
            instant("2026-11-01T05:30:00Z"), // 01:30 EDT
            instant("2026-11-01T07:00:00Z"), // 02:00 EST
            instant("2026-11-01T07:30:00Z"),
            instant("2026-11-01T08:00:00Z"),
            instant("2026-11-01T08:30:00Z"),
        ]
    );
    // The second 01:00 and 01:30 (EST) are inside the hours but are not grid points.
    assert_eq!(
        case.check(instant("2026-11-01T06:00:00Z")),
        Err(Unavailability::OutsideHours)
    );
    assert!(case.check(instant("2026-11-01T05:00:00Z")).is_ok());
}

#[test]
fn a_slot_may_run_through_the_repeated_hour_of_its_range() {
    // 01:00 EDT + 90 min ends at 01:30 EST and 01:30 EDT + 90 min at 02:00 EST: every instant of either has a
    // wall time in 01:00–02:00, so a 90-minute slot fits a one-hour range that night.
    let case = Case::new(
        service(&[range("01:00", "02:00")], |s| {
            s.duration = Minutes::new(90);
            s.slot_interval = Minutes::new(30);
        }),
        "America/New_York",
    );
    assert_eq!(
        case.starts(span("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z")),
        [
            instant("2026-11-01T05:00:00Z"),
            instant("2026-11-01T05:30:00Z")
        ]
    );
}

#[test]
fn lord_howe_skips_its_missing_half_hour() {
    let case = Case::new(
        service(&[range("01:00", "04:00")], |_| {}),
        "Australia/Lord_Howe",
    );
    let starts = case.local_starts(date(2026, 10, 4));
    // 01:45 + 30 min of real time ends at 02:45.
    assert_eq!(
        starts,
        [
            "01:00", "01:15", "01:30", "01:45", "02:30", "02:45", "03:00", "03:15", "03:30"
        ]
    );
}

#[test]
fn overrides_replace_the_weekly_hours_of_their_date() {
    let closed = date(2026, 6, 2);
    let short = date(2026, 6, 3);
    let case = Case::new(
        service(&[range("09:00", "10:00")], |s| {
            s.date_overrides = vec![
                DateOverride {
                    date: closed,
                    hours: vec![],
                },
                DateOverride {
                    date: short,
                    hours: vec![range("15:00", "15:45")],
                },
            ];
        }),
        "Europe/London",
    );
    assert!(case.local_starts(closed).is_empty());
    assert_eq!(
        case.check(local(&case.zone, "2026-06-02T09:00")),
        Err(Unavailability::OutsideHours)
    );
    assert_eq!(case.local_starts(short), ["15:00", "15:15"]);
    assert_eq!(case.local_starts(MONDAY), ["09:00", "09:15", "09:30"]);
}

#[test]
fn buffers_may_touch_but_not_overlap_appointments_and_busy_time() {
    let hours = [range("09:00", "12:00")];
    let mut case = Case::new(
        service(&hours, |s| {
            s.buffer_before = Minutes::new(15);
            s.buffer_after = Minutes::new(10);
        }),
        "UTC",
    );
    // The 10:15 slot occupies [10:00, 10:55).
    let slot = instant("2026-06-01T10:15:00Z");
    case.occupancies = vec![occupancy(
        ServiceId::generate(),
        span("2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z"),
        MONDAY,
    )];
    case.busy = vec![busy(span("2026-06-01T10:55:00Z", "2026-06-01T11:30:00Z"))];
    assert!(case.check(slot).is_ok());
    assert!(case.local_starts(MONDAY).contains(&"10:15".to_owned()));

    case.occupancies = vec![occupancy(
        ServiceId::generate(),
        span("2026-06-01T09:00:00Z", "2026-06-01T10:01:00Z"),
        MONDAY,
    )];
    assert_eq!(case.check(slot), Err(Unavailability::Taken));
    assert!(!case.local_starts(MONDAY).contains(&"10:15".to_owned()));

    case.occupancies.clear();
    case.busy = vec![busy(span("2026-06-01T10:54:00Z", "2026-06-01T11:30:00Z"))];
    assert_eq!(case.check(slot), Err(Unavailability::CalendarBusy));
    assert!(!case.local_starts(MONDAY).contains(&"10:15".to_owned()));
}

#[test]
fn busy_time_in_one_members_calendar_blocks_that_member_only() {
    let mut case = Case::new(service(&[range("09:00", "10:00")], |_| {}), "UTC");
    let maria = only_member();
    let mut tom = only_member();
    tom.id = StaffId::generate();
    case.staff = vec![maria.clone(), tom.clone()];
    case.busy = vec![MemberBusy {
        staff_id: maria.id,
        interval: span("2026-06-01T09:00:00Z", "2026-06-01T09:30:00Z"),
    }];
    let nine = instant("2026-06-01T09:00:00Z");
    let window = span("2026-06-01T09:00:00Z", "2026-06-01T09:01:00Z");

    let anyone = offered_slots(&case.input(), window);
    assert_eq!(anyone.len(), 1, "{anyone:?}");
    assert_eq!(*anyone[0].staff, [tom.id]);
    assert_eq!(
        check_slot_with_staff(&case.input(), nine).map(|(_, staff)| staff),
        Ok(vec![tom.id])
    );

    let maria_only = AvailabilityInput {
        staff: std::slice::from_ref(&maria),
        ..case.input()
    };
    assert!(offered_slots(&maria_only, window).is_empty());
    assert_eq!(
        check_slot(&maria_only, nine),
        Err(Unavailability::CalendarBusy)
    );
}

/// Seventy members (more than a machine word has bits, and enough that looking them up collides), each busy for an
/// hour of their own, some booked, some at their maximum: "anyone" names for each slot exactly the members whose own
/// answer has it, in the order asked.
#[test]
fn seventy_members_each_answer_for_themselves() {
    let mut case = Case::new(service(&[range("09:00", "17:00")], |_| {}), "UTC");
    case.staff = (0..70)
        .map(|index| {
            let mut member = only_member();
            member.id = StaffId::generate();
            if index % 7 == 0 {
                member.settings.max_per_day = Some(1);
            }
            member
        })
        .collect();
    let nine = instant("2026-06-01T09:00:00Z");
    let after_nine = |minutes: i64| {
        nine.checked_add(SignedDuration::from_mins(minutes))
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let lasting = |from: Timestamp, minutes: i64| {
        Interval::new(
            from,
            from.checked_add(SignedDuration::from_mins(minutes))
                .unwrap_or(from),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    for (index, member) in (0_i64..).zip(&case.staff) {
        case.busy.push(MemberBusy {
            staff_id: member.id,
            interval: lasting(after_nine(index * 7), 60),
        });
        if index % 3 == 0 {
            case.occupancies.push(Occupancy {
                staff_id: member.id,
                ..occupancy(
                    case.service.id,
                    lasting(after_nine(300 + index), 30),
                    MONDAY,
                )
            });
        }
    }
    let window = span("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z");

    let offered = offered_slots(&case.input(), window);

    let each: Vec<(StaffId, Vec<Interval>)> = case
        .staff
        .iter()
        .map(|member| {
            let alone = AvailabilityInput {
                staff: std::slice::from_ref(member),
                ..case.input()
            };
            (member.id, available_slots(&alone, window))
        })
        .collect();
    let mut union: Vec<Interval> = each.iter().flat_map(|(_, slots)| slots.clone()).collect();
    union.sort_by_key(Interval::start);
    union.dedup();
    assert_eq!(offered.iter().map(|o| o.slot).collect::<Vec<_>>(), union);
    for slot in &offered {
        let free: Vec<StaffId> = each
            .iter()
            .filter(|(_, slots)| slots.contains(&slot.slot))
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(*slot.staff, *free, "at {}", slot.slot.start());
    }
    // Booked once and at a maximum of one (every 21st): never offered; everyone else somewhere.
    let offered_with = |id: StaffId| offered.iter().any(|slot| slot.staff.contains(&id));
    for (index, member) in case.staff.iter().enumerate() {
        assert_eq!(offered_with(member.id), index % 21 != 0, "member {index}");
    }
    assert!(offered.iter().any(|slot| slot.staff.len() < 60));
}

/// Ten members, as many as "anyone" asks about at a busy salon, are each found in the slot their hash names, with
/// no probing past another member (every appointment and busy interval is looked up), and nobody else is found.
#[test]
fn ten_members_are_each_found_without_probing() {
    for _ in 0..200 {
        let members: Vec<StaffMember> = (0..10)
            .map(|_| {
                let mut member = only_member();
                member.id = StaffId::generate();
                member
            })
            .collect();
        let asked: Vec<&StaffMember> = members.iter().collect();
        let index = MemberIndex::new(&asked);
        assert!(index.finds_everyone_at_home());
        for (position, member) in members.iter().enumerate() {
            assert_eq!(index.position(member.id), Some(position));
        }
        assert_eq!(index.position(StaffId::generate()), None);
    }
}

#[test]
fn daily_limit_counts_the_service_on_the_local_date() {
    let mut case = Case::new(
        service(&[range("09:00", "10:00")], |s| s.max_per_day = Some(2)),
        "America/New_York",
    );
    let tuesday = date(2026, 6, 2);
    let elsewhere = span("2026-06-01T20:00:00Z", "2026-06-01T21:00:00Z");
    case.occupancies = vec![
        occupancy(case.service.id, elsewhere, MONDAY),
        occupancy(ServiceId::generate(), elsewhere, MONDAY),
        occupancy(case.service.id, elsewhere, tuesday),
    ];
    assert_eq!(case.local_starts(MONDAY).len(), 3);
    case.occupancies
        .push(occupancy(case.service.id, elsewhere, MONDAY));
    assert!(case.local_starts(MONDAY).is_empty());
    assert_eq!(
        case.check(local(&case.zone, "2026-06-01T09:00")),
        Err(Unavailability::DailyLimitReached)
    );
    assert_eq!(case.local_starts(tuesday).len(), 3);
}

#[test]
fn notice_and_horizon_include_their_exact_boundaries() {
    let mut case = Case::new(
        service(&[range("08:00", "18:00")], |s| {
            s.minimum_notice = Minutes::new(60);
            s.booking_horizon_days = 1;
        }),
        "UTC",
    );
    case.now = instant("2026-06-01T09:00:00Z");
    let window = booking_window(&case.service, case.now);
    assert_eq!(window.earliest, instant("2026-06-01T10:00:00Z"));
    assert_eq!(window.latest, instant("2026-06-02T09:00:00Z"));
    assert_eq!(
        case.check(instant("2026-06-01T09:45:00Z")),
        Err(Unavailability::TooSoon)
    );
    assert!(case.check(instant("2026-06-01T10:00:00Z")).is_ok());
    assert!(case.check(instant("2026-06-02T09:00:00Z")).is_ok());
    assert_eq!(
        case.check(instant("2026-06-02T09:15:00Z")),
        Err(Unavailability::TooFar)
    );
    let starts = case.starts(span("2026-06-01T00:00:00Z", "2026-06-03T00:00:00Z"));
    assert_eq!(starts.first(), Some(&instant("2026-06-01T10:00:00Z")));
    assert_eq!(starts.last(), Some(&instant("2026-06-02T09:00:00Z")));

    // One nanosecond later and both boundaries move past the grid point.
    case.now = instant("2026-06-01T09:00:00.000000001Z");
    assert_eq!(
        case.check(instant("2026-06-01T10:00:00Z")),
        Err(Unavailability::TooSoon)
    );
    let starts = case.starts(span("2026-06-01T00:00:00Z", "2026-06-03T00:00:00Z"));
    assert_eq!(starts.first(), Some(&instant("2026-06-01T10:15:00Z")));
    assert_eq!(starts.last(), Some(&instant("2026-06-02T09:00:00Z")));
}

#[test]
fn the_window_bounds_starts_half_open() {
    let case = Case::new(service(&[range("09:00", "10:00")], |_| {}), "UTC");
    assert_eq!(
        case.starts(span("2026-06-01T09:15:00Z", "2026-06-01T09:30:00Z")),
        [instant("2026-06-01T09:15:00Z")]
    );
}

#[test]
fn check_slot_reports_the_first_reason_in_order() {
    let mut case = Case::new(
        service(&[range("09:00", "12:00")], |s| {
            s.minimum_notice = Minutes::new(24 * 60);
            s.max_per_day = Some(1);
        }),
        "UTC",
    );
    case.now = instant("2026-05-31T10:00:00Z");
    let everything = span("2026-06-01T00:00:00Z", "2026-06-02T00:00:00Z");
    case.busy = vec![busy(everything)];
    case.occupancies = vec![occupancy(case.service.id, everything, MONDAY)];
    assert_eq!(
        case.check(instant("2026-06-01T08:00:00Z")),
        Err(Unavailability::OutsideHours)
    );
    assert_eq!(
        case.check(instant("2026-06-01T09:30:00.5Z")),
        Err(Unavailability::OutsideHours)
    );
    assert_eq!(
        case.check(instant("2026-06-01T09:45:00Z")),
        Err(Unavailability::TooSoon)
    );
    assert_eq!(
        case.check(instant("2027-06-01T10:30:00Z")),
        Err(Unavailability::TooFar)
    );
    assert_eq!(
        case.check(instant("2026-06-01T11:00:00Z")),
        Err(Unavailability::DailyLimitReached)
    );
    case.service.settings.max_per_day = None;
    assert_eq!(
        case.check(instant("2026-06-01T11:00:00Z")),
        Err(Unavailability::Taken)
    );
    case.occupancies.clear();
    assert_eq!(
        case.check(instant("2026-06-01T11:00:00Z")),
        Err(Unavailability::CalendarBusy)
    );
}

#[test]
fn reasons_have_stable_codes() {
    let codes = [
        Unavailability::OutsideHours,
        Unavailability::TooSoon,
        Unavailability::TooFar,
        Unavailability::DailyLimitReached,
        Unavailability::Taken,
        Unavailability::CalendarBusy,
    ]
    .map(Unavailability::code);
    assert_eq!(
        codes,
        [
            "outside_hours",
            "too_soon",
            "too_far",
            "daily_limit",
            "taken",
            "calendar_busy"
        ]
    );
    assert!(!Unavailability::Taken.to_string().is_empty());
}

#[test]
fn nearest_slots_take_the_closest_on_either_side_and_the_earlier_on_a_tie() {
    let mut case = Case::new(
        service(&[range("09:00", "10:00"), range("14:00", "15:00")], |s| {
            s.slot_interval = Minutes::new(30);
        }),
        "UTC",
    );
    let nearest = |case: &Case, around: &str, count| -> Vec<Timestamp> {
        nearest_slots(&case.input(), instant(around), count)
            .iter()
            .map(Interval::start)
            .collect()
    };
    // Starts that day: 09:00, 09:30, 14:00, 14:30. 11:45 is 2h15 after 09:30 and before 14:00, 2h45 after 09:00
    // and before 14:30.
    assert_eq!(
        nearest(&case, "2026-06-01T11:45:00Z", 1),
        [instant("2026-06-01T09:30:00Z")]
    );
    assert_eq!(
        nearest(&case, "2026-06-01T11:45:00Z", 3),
        [
            instant("2026-06-01T09:00:00Z"),
            instant("2026-06-01T09:30:00Z"),
            instant("2026-06-01T14:00:00Z"),
        ]
    );
    assert!(nearest(&case, "2026-06-01T11:45:00Z", 0).is_empty());

    // Open one day only: everything within reach is returned, and no more.
    case.service.settings.weekly_hours = WeeklyHours::default();
    case.service.settings.date_overrides = vec![DateOverride {
        date: date(2026, 6, 10),
        hours: vec![range("09:00", "10:00")],
    }];
    assert_eq!(nearest(&case, "2026-06-01T11:45:00Z", 5).len(), 2);
    assert!(nearest(&case, "2026-05-20T11:45:00Z", 5).is_empty());
}
