//! The availability engine on a busy business: 60 days of slots (across a DST change) against 500 appointments and
//! 2,000 external busy intervals; and the answer for "anyone" of 10 staff members, each with that load of their
//! own, against one member's (group `offered_slots`). Data is
//! pseudo-random from a fixed seed so runs compare: once in random order (the engine's contract allows any), once in
//! order of start as both stores return it.

use std::hint::black_box;

use booking_core as booking;
use booking_core::availability::{AvailabilityInput, available_slots, offered_slots};
use booking_core::domain::{
    AppointmentId, BusinessId, Interval, LocalTimeRange, MemberBusy, Minutes, Occupancy, Service,
    ServiceId, ServiceName, ServiceSettings, StaffId, StaffMember, StaffName, WeeklyHours,
};
use criterion::{Criterion, criterion_group, criterion_main};
use jiff::civil::{Time, date};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

#[path = "support/seed.rs"]
mod seed;

/// Knuth's MMIX LCG: enough spread for test data without another dependency.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: u64) -> i64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        i64::try_from((self.0 >> 33) % bound).unwrap_or(0)
    }
}

fn range(start: i8, end: i8) -> LocalTimeRange {
    let at = |hour| Time::new(hour, 0, 0, 0).unwrap_or_else(|e| panic!("{e}"));
    LocalTimeRange::new(at(start), Some(at(end))).unwrap_or_else(|e| panic!("{e}"))
}

fn service() -> Service {
    let day = vec![range(9, 12), range(13, 18)];
    let settings = ServiceSettings {
        name: ServiceName::try_from("Haircut".to_owned()).unwrap_or_else(|e| panic!("{e}")),
        duration: Minutes::new(30),
        slot_interval: Minutes::new(15),
        weekly_hours: WeeklyHours {
            monday: day.clone(),
            tuesday: day.clone(),
            wednesday: day.clone(),
            thursday: day.clone(),
            friday: day.clone(),
            saturday: day,
            sunday: vec![],
        },
        date_overrides: vec![],
        buffer_before: Minutes::new(5),
        buffer_after: Minutes::new(10),
        max_per_day: Some(20),
        minimum_notice: Minutes::new(60),
        booking_horizon_days: 90,
    };
    seed::new_service(settings)
}

fn minutes_after(start: Timestamp, minutes: i64) -> Timestamp {
    start
        .checked_add(SignedDuration::from_mins(minutes))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn availability(c: &mut Criterion) {
    let zone = TimeZone::get("America/New_York").unwrap_or_else(|e| panic!("{e}"));
    let service = service();
    let other_service = ServiceId::generate();
    let start = zone
        .to_timestamp(date(2026, 3, 1).at(0, 0, 0, 0))
        .unwrap_or_else(|e| panic!("{e}"));
    let days = 60;
    let window = Interval::new(start, minutes_after(start, days * 24 * 60))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut random = Lcg(42);
    let member = staff_member(service.business_id, 0);
    let occupancies: Vec<Occupancy> = (0..500)
        .map(|_| {
            let begins = minutes_after(start, random.below(60 * 24 * 4) * 15);
            let occupied = Interval::new(minutes_after(begins, -5), minutes_after(begins, 40))
                .unwrap_or_else(|e| panic!("{e}"));
            let service_id = if random.below(3) == 0 {
                service.id
            } else {
                other_service
            };
            Occupancy {
                appointment_id: AppointmentId::generate(),
                service_id,
                staff_id: member.id,
                occupied,
                local_date: zone.to_datetime(begins).date(),
            }
        })
        .collect();
    let busy = busy_intervals(&mut random, &member, start);
    let staff = [member.clone()];
    let input = AvailabilityInput {
        service: &service,
        zone: &zone,
        now: minutes_after(start, -24 * 60),
        occupancies: &occupancies,
        busy: &busy,
        staff: &staff,
    };
    c.bench_function(
        "available_slots 60 days, 500 appointments, 2000 busy",
        |b| b.iter(|| available_slots(black_box(&input), black_box(window))),
    );
    // The stores answer in key order, which begins with the start: the engine then merges instead of sorting.
    let mut occupancies = occupancies.clone();
    occupancies.sort_by_key(|o| o.occupied.start());
    let mut busy = busy.clone();
    busy.sort_by_key(|busy| busy.interval.start());
    let as_stored = AvailabilityInput {
        occupancies: &occupancies,
        busy: &busy,
        ..input
    };
    c.bench_function(
        "available_slots 60 days, 500 appointments, 2000 busy, in store order",
        |b| b.iter(|| available_slots(black_box(&as_stored), black_box(window))),
    );
}

/// 2,000 busy intervals of 15 minutes to 2 hours in `member`'s calendar over 60 days from `start`, in random order.
fn busy_intervals(random: &mut Lcg, member: &StaffMember, start: Timestamp) -> Vec<MemberBusy> {
    (0..2_000)
        .map(|_| {
            let begins = minutes_after(start, random.below(60 * 24 * 60));
            MemberBusy {
                staff_id: member.id,
                interval: Interval::new(begins, minutes_after(begins, 15 + random.below(105)))
                    .unwrap_or_else(|e| panic!("{e}")),
            }
        })
        .collect()
}

/// A member of `business`: every service, their own hours (a lunch break on some days, a day off in the week), no
/// limit of their own.
fn staff_member(business: BusinessId, index: usize) -> StaffMember {
    let mut member = StaffMember::first_of(
        business,
        StaffName::try_from(format!("Member {index}")).unwrap_or_else(|e| panic!("{e}")),
        Timestamp::UNIX_EPOCH,
    );
    member.id = StaffId::generate();
    let day = if index % 2 == 0 {
        vec![range(9, 18)]
    } else {
        vec![range(8, 12), range(13, 17)]
    };
    let mut week = WeeklyHours {
        monday: day.clone(),
        tuesday: day.clone(),
        wednesday: day.clone(),
        thursday: day.clone(),
        friday: day.clone(),
        saturday: day,
        sunday: vec![],
    };
    // Each member has one weekday off.
    match index % 6 {
        0 => week.monday = vec![],
        1 => week.tuesday = vec![],
        2 => week.wednesday = vec![],
        3 => week.thursday = vec![],
        4 => week.friday = vec![],
        _ => week.saturday = vec![],
    }
    member.settings.weekly_hours = Some(week);
    member
}

/// The "anyone" answer over 10 members with their own hours, 60 days, 500 appointments and 2,000 busy intervals
/// each, against the answer for one of them with the same load (the target: under 5 times its cost).
fn anyone(c: &mut Criterion) {
    let zone = TimeZone::get("America/New_York").unwrap_or_else(|e| panic!("{e}"));
    let service = service();
    let start = zone
        .to_timestamp(date(2026, 3, 1).at(0, 0, 0, 0))
        .unwrap_or_else(|e| panic!("{e}"));
    let window =
        Interval::new(start, minutes_after(start, 60 * 24 * 60)).unwrap_or_else(|e| panic!("{e}"));
    let mut random = Lcg(7);
    let staff: Vec<StaffMember> = (0..10)
        .map(|index| staff_member(service.business_id, index))
        .collect();
    let mut occupancies: Vec<Occupancy> = staff
        .iter()
        .flat_map(|member| {
            (0..500)
                .map(|_| {
                    let begins = minutes_after(start, random.below(60 * 24 * 4) * 15);
                    Occupancy {
                        appointment_id: AppointmentId::generate(),
                        service_id: service.id,
                        staff_id: member.id,
                        occupied: Interval::new(
                            minutes_after(begins, -5),
                            minutes_after(begins, 40),
                        )
                        .unwrap_or_else(|e| panic!("{e}")),
                        local_date: zone.to_datetime(begins).date(),
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    // As the stores return them: in order of start.
    occupancies.sort_by_key(|o| o.occupied.start());
    let mut busy: Vec<MemberBusy> = staff
        .iter()
        .flat_map(|member| busy_intervals(&mut random, member, start))
        .collect();
    // As the stores return them: in order of start, every member's together.
    busy.sort_by_key(|busy| busy.interval.start());
    let mut service = service;
    // The members' own limits are the subject here, not the service's.
    service.settings.max_per_day = None;
    let everyone = AvailabilityInput {
        service: &service,
        zone: &zone,
        now: minutes_after(start, -24 * 60),
        occupancies: &occupancies,
        busy: &busy,
        staff: &staff,
    };
    let is_first = |id: StaffId| staff.first().is_some_and(|m| m.id == id);
    let first_only: Vec<Occupancy> = occupancies
        .iter()
        .filter(|o| is_first(o.staff_id))
        .copied()
        .collect();
    let first_busy: Vec<MemberBusy> = busy
        .iter()
        .filter(|b| is_first(b.staff_id))
        .copied()
        .collect();
    let one = AvailabilityInput {
        occupancies: &first_only,
        busy: &first_busy,
        staff: staff.get(..1).unwrap_or_default(),
        ..everyone
    };
    let mut group = c.benchmark_group("offered_slots");
    group.bench_function("one member: 60 days, 500 appointments, 2000 busy", |b| {
        b.iter(|| offered_slots(black_box(&one), black_box(window)))
    });
    group.bench_function(
        "anyone of 10 members: 60 days, 500 appointments and 2000 busy each",
        |b| b.iter(|| offered_slots(black_box(&everyone), black_box(window))),
    );
    group.finish();
}

criterion_group!(benches, availability, anyone);
criterion_main!(benches);
