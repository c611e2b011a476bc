//! The engine against a naive reference that follows the rules word for word: it walks every minute of a slot
//! through the time zone and scans every appointment and busy interval. Windows sit around the real DST changes
//! of 2026–2027 of zones with whole-hour, half-hour, midnight and 45-minute shifts.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use super::blocks::sort_by_start;
use super::tests::{Case, only_member, seed};
use super::*;
use crate::domain::{
    AppointmentId, DateOverride, LocalTimeRange, Minutes, ServiceId, ServiceName, ServiceSettings,
    StaffId, StaffMember, StaffServices, WeeklyHours,
};

const ZONES: [&str; 6] = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Pacific/Chatham",
    "Asia/Kolkata",
];
const DAY_MINUTES: i64 = 24 * 60;

fn instant(second: i64) -> Timestamp {
    Timestamp::from_second(second).unwrap_or_else(|e| panic!("{e}"))
}

fn plus_minutes(t: Timestamp, minutes: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_mins(minutes))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn span(start: Timestamp, minutes: i64) -> Interval {
    Interval::new(start, plus_minutes(start, minutes)).unwrap_or_else(|e| panic!("{e}"))
}

/// The zone's transitions in 2026–2027, or (for a zone without DST) the New York ones as plain anchors.
fn anchors(zone: &TimeZone) -> Vec<Timestamp> {
    let from = instant(1_767_225_600); // 2026-01-01T00:00:00Z
    let until = instant(1_830_297_600); // 2028-01-01T00:00:00Z
    let found: Vec<Timestamp> = zone
        .following(from)
        .map(|t| t.timestamp())
        .take_while(|&t| t < until)
        .collect();
    if found.is_empty() {
        vec![instant(1_772_953_200), instant(1_793_512_800)]
    } else {
        found
    }
}

#[derive(Debug)]
struct Scenario {
    case: Case,
    window: Interval,
}

impl Scenario {
    fn input(&self) -> AvailabilityInput<'_> {
        self.case.input()
    }
}

fn wall_time(minute: u16) -> Time {
    Time::new(
        i8::try_from(minute / 60).unwrap_or(0),
        i8::try_from(minute % 60).unwrap_or(0),
        0,
        0,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn hours_range(start: u16, end: u16) -> LocalTimeRange {
    let end = (end < 1440).then(|| wall_time(end));
    LocalTimeRange::new(wall_time(start), end).unwrap_or_else(|e| panic!("{e}"))
}

/// Opening ranges of a day. Cut points in minutes of the day become either pairs (gaps between ranges) or every
/// consecutive two (ranges that touch); a third of days get one early range, where DST changes happen, or the
/// whole day, where Santiago's midnight changes happen.
fn day_hours() -> impl Strategy<Value = Vec<LocalTimeRange>> {
    let cut = prop_oneof![3 => (0u16..=96).prop_map(|q| q * 15), 1 => 0u16..=1440];
    let cuts =
        (prop::collection::vec(cut, 0..=5), any::<bool>()).prop_map(|(mut cuts, touching)| {
            cuts.sort_unstable();
            cuts.dedup();
            let pairs: Vec<(u16, u16)> = if touching {
                cuts.windows(2).map(|w| (w[0], w[1])).collect()
            } else {
                cuts.chunks_exact(2).map(|c| (c[0], c[1])).collect()
            };
            pairs
                .into_iter()
                .map(|(start, end)| hours_range(start, end))
                .collect()
        });
    let night = (
        prop::sample::select(vec![0u16, 60, 90, 120]),
        prop::sample::select(vec![180u16, 240, 300, 1440]),
    )
        .prop_map(|(start, end)| vec![hours_range(start, end)]);
    prop_oneof![2 => cuts, 1 => night]
}

/// Minutes that are mostly on a 15-minute grid, so that intervals often touch slots exactly.
fn minutes(range: std::ops::Range<i64>) -> impl Strategy<Value = i64> {
    let quarters = (range.start + 14).div_euclid(15)..range.end.div_euclid(15);
    prop_oneof![3 => quarters.prop_map(|q| q * 15), 1 => range]
}

prop_compose! {
    fn settings()(
        duration in prop_oneof![2 => prop::sample::select(vec![15u32, 30, 45, 60, 90, 120]), 1 => 1u32..=300],
        slot_interval in prop_oneof![2 => prop::sample::select(vec![15u32, 30, 60]), 1 => 5u32..=120],
        buffer_before in prop_oneof![Just(0u32), prop::sample::select(vec![5u32, 10, 15, 30]), 0u32..=60],
        buffer_after in prop_oneof![Just(0u32), prop::sample::select(vec![5u32, 10, 15, 30]), 0u32..=60],
        max_per_day in prop::option::of(1u32..=3),
        minimum_notice in prop_oneof![Just(0u32), 0u32..=2 * 24 * 60],
        booking_horizon_days in 1u32..=4,
        week in prop::collection::vec(day_hours(), 7),
    ) -> ServiceSettings {
        let day = |index: usize| week.get(index).cloned().unwrap_or_default();
        ServiceSettings {
            name: ServiceName::try_from("Service".to_owned()).unwrap_or_else(|e| panic!("{e}")),
            duration: Minutes::new(duration),
            slot_interval: Minutes::new(slot_interval),
            weekly_hours: WeeklyHours {
                monday: day(0),
                tuesday: day(1),
                wednesday: day(2),
                thursday: day(3),
                friday: day(4),
                saturday: day(5),
                sunday: day(6),
            },
            date_overrides: vec![],
            buffer_before: Minutes::new(buffer_before),
            buffer_after: Minutes::new(buffer_after),
            max_per_day,
            minimum_notice: Minutes::new(minimum_notice),
            booking_horizon_days,
        }
    }
}

/// A generated appointment: `(minutes from the window start, length, of this service?, (buffer before, after))`.
type Booked = (i64, i64, bool, (i64, i64));

prop_compose! {
    fn scenario()(
        zone_index in 0..ZONES.len(),
        anchor_index in 0usize..8,
        window_offset in -2 * DAY_MINUTES..DAY_MINUTES,
        window_length in 60i64..=3 * DAY_MINUTES,
        window_seconds in prop_oneof![3 => Just(0i64), 1 => Just(1i64), 1 => Just(59i64), 1 => 1i64..60],
        now_offset in -3 * DAY_MINUTES..2 * DAY_MINUTES,
        now_nanos in prop_oneof![3 => Just(0i64), 1 => 1i64..1_000_000_000],
        mut settings in settings(),
        overrides in prop::collection::vec((-2i64..=3, day_hours()), 0..=2),
        booked in prop::collection::vec(
            (minutes(-DAY_MINUTES..4 * DAY_MINUTES), minutes(5..241), any::<bool>(), (minutes(0..31), minutes(0..31))),
            0..=12,
        ),
        busy in prop::collection::vec((minutes(-DAY_MINUTES..4 * DAY_MINUTES), minutes(1..241)), 0..=8),
    ) -> Scenario {
        let name = ZONES.get(zone_index).copied().unwrap_or("UTC");
        let zone = TimeZone::get(name).unwrap_or_else(|e| panic!("{e}"));
        let anchors = anchors(&zone);
        let anchor = anchors.get(anchor_index % anchors.len()).copied().unwrap_or(Timestamp::UNIX_EPOCH);
        let start = plus_minutes(anchor, window_offset)
            .checked_add(SignedDuration::from_secs(window_seconds))
            .unwrap_or_else(|e| panic!("{e}"));
        let window = span(start, window_length);
        let anchor_date = zone.to_datetime(anchor).date();
        settings.date_overrides = overrides
            .into_iter()
            .map(|(days, hours)| DateOverride {
                date: anchor_date.checked_add(SignedDuration::from_hours(days * 24)).unwrap_or(anchor_date),
                hours,
            })
            .collect();
        settings.date_overrides.sort_by_key(|o| o.date);
        settings.date_overrides.dedup_by_key(|o| o.date);
        let service = seed::new_service(settings);
        let other_service = ServiceId::generate();
        let occupancies = booked
            .into_iter()
            .map(|(offset, length, own, (before, after)): Booked| {
                let begins = plus_minutes(start, offset);
                Occupancy {
                    appointment_id: AppointmentId::generate(),
                    service_id: if own { service.id } else { other_service },
                    staff_id: only_member().id,
                    occupied: span(plus_minutes(begins, -before), length + before + after),
                    local_date: zone.to_datetime(begins).date(),
                }
            })
            .collect();
        let busy = busy
            .into_iter()
            .map(|(offset, length)| MemberBusy {
                staff_id: only_member().id,
                interval: span(plus_minutes(start, offset), length),
            })
            .collect();
        let now = plus_minutes(start, now_offset)
            .checked_add(SignedDuration::from_nanos(now_nanos))
            .unwrap_or_else(|e| panic!("{e}"));
        Scenario { case: Case { service, zone, now, occupancies, busy, staff: vec![only_member()] }, window }
    }
}

fn minute_of_day(time: Time) -> Option<i64> {
    (time.second() == 0 && time.subsec_nanosecond() == 0)
        .then(|| i64::from(time.hour()) * 60 + i64::from(time.minute()))
}

fn range_minutes(range: &LocalTimeRange) -> (i64, i64) {
    let start = minute_of_day(range.start()).unwrap_or_else(|| panic!("{range:?}"));
    let end = range.end().map_or(DAY_MINUTES, |end| {
        minute_of_day(end).unwrap_or_else(|| panic!("{range:?}"))
    });
    (start, end)
}

fn covers(range: &LocalTimeRange, wall: DateTime, date: Date) -> bool {
    let (start, end) = range_minutes(range);
    wall.date() == date && minute_of_day(wall.time()).is_some_and(|m| start <= m && m < end)
}

/// The rules for the scenario's one member.
fn reference(input: &AvailabilityInput, start: Timestamp) -> Result<Interval, Unavailability> {
    let member = input
        .staff
        .first()
        .unwrap_or_else(|| panic!("a scenario has a member"));
    reference_for(input, member, start)
}

/// Whether every minute of the slot at `start` lies in one of `ranges` of `date`, walked through the zone.
fn inside_ranges(
    input: &AvailabilityInput,
    ranges: &[LocalTimeRange],
    date: Date,
    start: Timestamp,
    duration: i64,
) -> bool {
    ranges.iter().any(|range| {
        (0..duration).all(|minute| {
            covers(
                range,
                input.zone.to_datetime(plus_minutes(start, minute)),
                date,
            )
        })
    })
}

/// The rules for one member, checked one by one in the order of precedence, the slowest way that is obviously
/// right.
fn reference_for(
    input: &AvailabilityInput,
    member: &StaffMember,
    start: Timestamp,
) -> Result<Interval, Unavailability> {
    if !member.active || !member.settings.services.includes(input.service.id) {
        return Err(Unavailability::OutsideHours);
    }
    let settings = &input.service.settings;
    let duration = i64::from(settings.duration.get());
    let wall = input.zone.to_datetime(start);
    let date = wall.date();
    let on_grid = |range: &&LocalTimeRange| {
        let (range_start, _) = range_minutes(range);
        let first_occurrence =
            input.zone.to_ambiguous_timestamp(wall).earlier().ok() == Some(start);
        let step = i64::from(settings.slot_interval.get());
        let grid_time = minute_of_day(wall.time())
            .is_some_and(|m| m >= range_start && (m - range_start) % step == 0);
        grid_time && first_occurrence && start.subsec_nanosecond() == 0
    };
    let inside = input
        .service
        .hours_on(date)
        .iter()
        .filter(on_grid)
        .any(|range| {
            (0..duration).all(|minute| {
                covers(
                    range,
                    input.zone.to_datetime(plus_minutes(start, minute)),
                    date,
                )
            })
        });
    let inside_theirs = member
        .hours_on(date)
        .is_none_or(|ranges| inside_ranges(input, ranges, date, start, duration));
    if !inside || !inside_theirs {
        return Err(Unavailability::OutsideHours);
    }
    let notice = SignedDuration::from_mins(i64::from(settings.minimum_notice.get()));
    if start < input.now.checked_add(notice).unwrap_or(Timestamp::MAX) {
        return Err(Unavailability::TooSoon);
    }
    let horizon = SignedDuration::from_hours(24 * i64::from(settings.booking_horizon_days));
    if start > input.now.checked_add(horizon).unwrap_or(Timestamp::MAX) {
        return Err(Unavailability::TooFar);
    }
    let same_day = input
        .occupancies
        .iter()
        .filter(|o| o.service_id == input.service.id && o.local_date == date)
        .count();
    let theirs_that_day = input
        .occupancies
        .iter()
        .filter(|o| o.staff_id == member.id && o.local_date == date)
        .count();
    let full = |limit: Option<u32>, count: usize| {
        limit.is_some_and(|limit| count >= usize::try_from(limit).unwrap_or(usize::MAX))
    };
    if full(settings.max_per_day, same_day) || full(member.settings.max_per_day, theirs_that_day) {
        return Err(Unavailability::DailyLimitReached);
    }
    let occupied_start = plus_minutes(start, -i64::from(settings.buffer_before.get()));
    let occupied_end = plus_minutes(start, duration + i64::from(settings.buffer_after.get()));
    let hits = |other: &Interval| other.start() < occupied_end && occupied_start < other.end();
    if input
        .occupancies
        .iter()
        .any(|o| o.staff_id == member.id && hits(&o.occupied))
    {
        return Err(Unavailability::Taken);
    }
    if input
        .busy
        .iter()
        .any(|b| b.staff_id == member.id && hits(&b.interval))
    {
        return Err(Unavailability::CalendarBusy);
    }
    Ok(span(start, duration))
}

/// Every grid point whose start lies in the window, from jiff's own disambiguation: a missing wall time has no
/// instant, a repeated one its earlier instant.
fn grid_candidates(input: &AvailabilityInput, window: Interval) -> Vec<Timestamp> {
    let step = i64::from(input.service.settings.slot_interval.get());
    let first = input.zone.to_datetime(window.start()).date();
    let last = input.zone.to_datetime(window.end()).date();
    let mut date = first.yesterday().unwrap_or(first);
    let mut candidates = Vec::new();
    while date <= last.tomorrow().unwrap_or(last) {
        for range in input.service.hours_on(date) {
            let (start, end) = range_minutes(range);
            for minute in (start..end).step_by(usize::try_from(step).unwrap_or(1)) {
                let time = Time::midnight()
                    .checked_add(SignedDuration::from_mins(minute))
                    .unwrap_or_else(|e| panic!("{e}"));
                let ambiguous = input.zone.to_ambiguous_timestamp(date.to_datetime(time));
                if matches!(ambiguous.offset(), AmbiguousOffset::Gap { .. }) {
                    continue;
                }
                let at = ambiguous.earlier().unwrap_or_else(|e| panic!("{e}"));
                if window.start() <= at && at < window.end() {
                    candidates.push(at);
                }
            }
        }
        date = date.tomorrow().unwrap_or_else(|e| panic!("{e}"));
    }
    candidates
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn every_offered_slot_satisfies_every_rule(case in scenario()) {
        let input = case.input();
        for slot in available_slots(&input, case.window) {
            prop_assert!(case.window.start() <= slot.start() && slot.start() < case.window.end());
            prop_assert_eq!(reference(&input, slot.start()), Ok(slot));
        }
    }

    #[test]
    fn every_grid_start_satisfying_every_rule_is_offered(case in scenario()) {
        let input = case.input();
        let offered = available_slots(&input, case.window);
        for start in grid_candidates(&input, case.window) {
            if let Ok(slot) = reference(&input, start) {
                prop_assert!(offered.contains(&slot), "{slot:?} missing from {offered:?}");
            }
        }
    }

    #[test]
    fn check_slot_agrees_with_the_rules_and_the_offered_slots(
        case in scenario(),
        probes in prop::collection::vec(0i64..3 * DAY_MINUTES, 0..=20),
    ) {
        let input = case.input();
        let offered = available_slots(&input, case.window);
        let in_window = |t: &Timestamp| case.window.start() <= *t && *t < case.window.end();
        let probes = probes.into_iter().map(|minute| plus_minutes(case.window.start(), minute));
        for start in grid_candidates(&input, case.window).into_iter().chain(probes).filter(in_window) {
            let checked = check_slot(&input, start);
            prop_assert_eq!(checked, reference(&input, start));
            prop_assert_eq!(checked.is_ok(), offered.iter().any(|slot| slot.start() == start));
        }
    }

    #[test]
    fn offered_slots_are_sorted_distinct_and_last_the_duration(case in scenario()) {
        let duration = case.case.service.settings.duration.as_duration();
        let offered = available_slots(&case.input(), case.window);
        prop_assert!(offered.windows(2).all(|pair| pair[0].start() < pair[1].start()));
        prop_assert!(offered.iter().all(|slot| slot.length() == duration));
    }

    #[test]
    fn nearest_slots_are_the_closest_offered_within_reach(
        case in scenario(),
        around_minute in -DAY_MINUTES..3 * DAY_MINUTES,
        count in 0usize..6,
    ) {
        let input = case.input();
        let around = plus_minutes(case.window.start(), around_minute);
        let reach = SignedDuration::from_hours(NEAREST_SEARCH_DAYS * 24);
        let from = around.checked_sub(reach).unwrap_or_else(|e| panic!("{e}"));
        let through = around.checked_add(reach).unwrap_or_else(|e| panic!("{e}"));
        let within = Interval::new(from, through.checked_add(SignedDuration::from_nanos(1)).unwrap_or(through))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut expected = available_slots(&input, within);
        expected.sort_by_key(|slot| (around.duration_since(slot.start()).abs(), slot.start()));
        expected.truncate(count);
        expected.sort_by_key(Interval::start);
        prop_assert_eq!(nearest_slots(&input, around, count), expected);
    }
}

/// A generated member: `(own weekly hours?, their week, a day off (days after the anchor), their limit, what they
/// perform (0 every service, 1 only this one, 2 only another), active?)`.
type Member = (
    bool,
    Vec<Vec<LocalTimeRange>>,
    Option<i64>,
    Option<u32>,
    u8,
    bool,
);

prop_compose! {
    /// A scenario with one to four members, each of their own hours, time off, limit and services, and the
    /// scenario's appointments and busy time spread among them (some busy time is of a member not asked about).
    fn staffed_scenario()(
        scenario in scenario(),
        members in prop::collection::vec(
            (
                any::<bool>(),
                prop::collection::vec(day_hours(), 7),
                prop::option::of(-2i64..=3),
                prop::option::of(1u32..=2),
                0u8..3,
                prop_oneof![4 => Just(true), 1 => Just(false)],
            ),
            1..=4,
        ),
        owners in prop::collection::vec(0usize..4, 12),
        busy_owners in prop::collection::vec(0usize..5, 8),
    ) -> Scenario {
        let Scenario { mut case, window } = scenario;
        let anchor_date = case.zone.to_datetime(window.start()).date();
        case.staff = members
            .into_iter()
            .map(|(own_hours, week, day_off, limit, performs, active): Member| {
                let mut member = only_member();
                member.id = StaffId::generate();
                member.active = active;
                let day = |index: usize| week.get(index).cloned().unwrap_or_default();
                member.settings.weekly_hours = own_hours.then(|| WeeklyHours {
                    monday: day(0),
                    tuesday: day(1),
                    wednesday: day(2),
                    thursday: day(3),
                    friday: day(4),
                    saturday: day(5),
                    sunday: day(6),
                });
                member.settings.date_overrides = day_off
                    .map(|days| DateOverride {
                        date: anchor_date
                            .checked_add(SignedDuration::from_hours(days * 24))
                            .unwrap_or(anchor_date),
                        hours: vec![],
                    })
                    .into_iter()
                    .collect();
                member.settings.max_per_day = limit;
                member.settings.services = match performs {
                    0 => StaffServices::All,
                    1 => StaffServices::Only([case.service.id].into()),
                    _ => StaffServices::Only([ServiceId::generate()].into()),
                };
                member
            })
            .collect();
        let ids: Vec<StaffId> = case.staff.iter().map(|member| member.id).collect();
        for (occupancy, owner) in case.occupancies.iter_mut().zip(owners) {
            occupancy.staff_id = ids.get(owner % ids.len()).copied().unwrap_or(occupancy.staff_id);
        }
        let not_asked_about = StaffId::generate();
        for (busy, owner) in case.busy.iter_mut().zip(busy_owners) {
            busy.staff_id = ids.get(owner % (ids.len() + 1)).copied().unwrap_or(not_asked_about);
        }
        Scenario { case, window }
    }
}

/// The answer for one member of the scenario.
fn members_answer(case: &Case, member: &StaffMember, window: Interval) -> Vec<Interval> {
    let input = AvailabilityInput {
        staff: std::slice::from_ref(member),
        ..case.input()
    };
    available_slots(&input, window)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// "Anyone" offers exactly the union of what each member is offered, and names for each slot exactly the
    /// members whose own answer has it.
    #[test]
    fn the_answer_for_anyone_is_the_union_of_each_members(case in staffed_scenario()) {
        let offered = offered_slots(&case.input(), case.window);
        let each: Vec<(StaffId, Vec<Interval>)> = case
            .case
            .staff
            .iter()
            .map(|member| (member.id, members_answer(&case.case, member, case.window)))
            .collect();
        let mut union: Vec<Interval> = each.iter().flat_map(|(_, slots)| slots.iter().copied()).collect();
        union.sort_by_key(Interval::start);
        union.dedup();
        prop_assert_eq!(offered.iter().map(|o| o.slot).collect::<Vec<_>>(), union);
        for slot in &offered {
            let with: Vec<StaffId> = each
                .iter()
                .filter(|(_, slots)| slots.contains(&slot.slot))
                .map(|(id, _)| *id)
                .collect();
            prop_assert_eq!(&*slot.staff, with.as_slice());
        }
    }

    /// The order appointments and busy time come in does not change the answer: in order of start (as the stores
    /// give them, swept as they are) and in reverse (sorted first) give the answer of the scenario's own order.
    #[test]
    fn the_answer_does_not_depend_on_the_order_of_the_blocked_time(case in staffed_scenario()) {
        let mut occupancies = case.case.occupancies.clone();
        occupancies.sort_by_key(|o| o.occupied.start());
        let mut busy = case.case.busy.clone();
        busy.sort_by_key(|b| b.interval.start());
        let in_order = AvailabilityInput {
            occupancies: &occupancies,
            busy: &busy,
            ..case.input()
        };
        let expected = offered_slots(&case.input(), case.window);
        prop_assert_eq!(&offered_slots(&in_order, case.window), &expected);
        occupancies.reverse();
        busy.reverse();
        let reversed = AvailabilityInput {
            occupancies: &occupancies,
            busy: &busy,
            ..case.input()
        };
        prop_assert_eq!(&offered_slots(&reversed, case.window), &expected);
    }

    /// Each member's own answer follows the rules for them (their hours within the service's, their occupancies,
    /// their limit and the service's), and the check of a time agrees, naming who is free.
    #[test]
    fn each_members_answer_follows_the_rules_for_them(
        case in staffed_scenario(),
        probes in prop::collection::vec(0i64..3 * DAY_MINUTES, 0..=10),
    ) {
        let input = case.input();
        let in_window = |t: &Timestamp| case.window.start() <= *t && *t < case.window.end();
        let probes: Vec<Timestamp> = probes
            .into_iter()
            .map(|minute| plus_minutes(case.window.start(), minute))
            .collect();
        let starts: Vec<Timestamp> = grid_candidates(&input, case.window)
            .into_iter()
            .chain(probes)
            .filter(in_window)
            .collect();
        for member in &case.case.staff {
            let offered = members_answer(&case.case, member, case.window);
            for &start in &starts {
                let expected = reference_for(&input, member, start);
                prop_assert_eq!(
                    expected.is_ok(),
                    offered.iter().any(|slot| slot.start() == start),
                    "member {:?} at {}", member.settings, start
                );
            }
        }
        for &start in &starts {
            let free: Vec<StaffId> = case
                .case
                .staff
                .iter()
                .filter(|member| reference_for(&input, member, start).is_ok())
                .map(|member| member.id)
                .collect();
            match check_slot_with_staff(&input, start) {
                Ok((_, staff)) => prop_assert_eq!(staff, free),
                Err(_) => prop_assert!(free.is_empty()),
            }
        }
    }
}

proptest! {
    /// The radix sort orders by start exactly as a comparison sort would, whatever the span of the starts
    /// (a few seconds, sixty days, or the whole range of i64).
    #[test]
    fn radix_sorting_orders_blocked_time_by_start(
        intervals in prop::collection::vec((any::<i64>(), any::<i64>()), 0..400),
        narrow in prop::collection::vec((0_i64..5_184_000, 0_i64..900), 0..400),
    ) {
        for case in [intervals, narrow] {
            let mut case: Vec<Block> = case
                .into_iter()
                .map(|(start, end)| Block { start, end, member: 0 })
                .collect();
            let mut expected = case.clone();
            expected.sort_unstable();
            sort_by_start(&mut case);
            prop_assert!(case.windows(2).all(|pair| pair[0].start <= pair[1].start));
            case.sort_unstable();
            prop_assert_eq!(case, expected);
        }
    }
}
