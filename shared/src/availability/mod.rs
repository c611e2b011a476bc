//! The availability engine: which start times a service can be booked at. Pure: no I/O and no clock; "now" is an
//! argument, so the same inputs always give the same answer.
//!
//! # Rules
//!
//! - The occupied interval of an appointment is `[start − buffer_before, end + buffer_after)`. A candidate slot's
//!   occupied interval uses the service's buffers.
//! - A slot `[start, start + duration)` is offered only if:
//!   - it lies inside the service's hours for that local date (a date override wins over weekly hours);
//!   - its occupied interval overlaps no live appointment's occupied interval and no external busy interval;
//!   - the service's count of live appointments (occupancies with the same `service_id`) on that local date is
//!     below `max_per_day` (`None` is unlimited);
//!   - `start ≥ now + minimum_notice`;
//!   - `start ≤ now + horizon`, where the horizon is `booking_horizon_days × 24 h` of absolute time.
//! - Slot starts step by the slot interval from the start of each hours range, in local wall time: `range.start`,
//!   `range.start + interval`, …
//!
//! # Staff members
//!
//! The input names the staff members asked about: one when the caller named them, every member otherwise
//! ("anyone"). A slot is offered with a member who performs the service and is active when, besides the rules above:
//! - it also lies inside the member's own hours for that local date, in the same sense as the service's (a member
//!   without hours of their own works whenever the service is open);
//! - its occupied interval overlaps none of *that member's* live occupancies (other members' never block it);
//! - the member's own count of live occupancies (any service) on that local date is below their `max_per_day`.
//!
//! - its occupied interval overlaps none of *that member's* busy intervals (from their own calendars).
//!
//! The service's `max_per_day` counts every member's occupancies.
//! The answer for several members is the union of the answers for each ([`offered_slots`] says who is free for
//! each slot); with one member who keeps no hours or limit of their own and holds every occupancy, it is exactly
//! the answer of a business with a single diary.
//!
//! # Time zones and daylight saving time
//!
//! - An hours range `R` on local date `D` covers exactly the instants whose local wall time in the business's zone
//!   is on date `D` with `R.start ≤ time < R.end` (an end of `None` is the end of the day).
//! - A slot lies inside the hours iff every instant of `[start, start + duration)` is covered by one single range of
//!   that date. So a slot may run across a spring-forward gap inside its range (01:30 EST + 60 min ends at
//!   03:30 EDT in a 01:00–04:00 range), and across the repeated hour of a fall-back fold.
//! - A grid time that does not exist (it falls in a spring-forward gap) is never offered.
//! - A grid time that occurs twice (it falls in a fall-back fold) is resolved to the earlier instant, its first
//!   occurrence, as RFC 5545 and jiff's "compatible" disambiguation do for folds. The later occurrence is never
//!   offered as that grid point.
//! - The local date of a slot is the date of the wall time of its start; max-per-day counts by it.
//!
//! Range times are read to the second (the API writes them as `HH:MM`); a sub-second part would round inward, so a
//! slot never starts before its range opens or ends after it closes.
//!
//! # Cost
//!
//! Blocked time (appointments' occupied intervals and busy intervals) is swept with moving pointers, appointments
//! are counted per local date once (and not at all without a limit), and the zone's offsets are read once per
//! query: turning a grid time into an instant is a subtraction, with no time-zone lookup per slot. The service's
//! grid is computed once however many members are asked about, and one sweep of it answers for all of them:
//! appointments and busy time are each read once, in the order of start the stores return them (any other order is
//! radix-sorted first), each raising the latest end of its member's blocked time, so whether a member is clear of a
//! slot is one comparison (made for all members at once, into the bits of a word, and only those clear are looked at
//! further), and an interval over before the slot in question is passed over without looking up whose it is. Members'
//! own hours are resolved once per date. Nothing is allocated per candidate start, only the list of
//! members of each slot offered.

mod blocks;
mod grid;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::domain::{Interval, MemberBusy, Occupancy, Service, StaffId, StaffMember};
use blocks::{Block, MemberIndex, RADIX_SORT_MIN};
use grid::{Grid, Stretch, ZoneOffsets, ceil_second, floor_second, wall_midnight};

/// How far either side of the requested time [`nearest_slots`] looks.
pub const NEAREST_SEARCH_DAYS: i64 = 14;

/// Everything the engine needs to answer for one service.
#[derive(Clone, Copy, Debug)]
pub struct AvailabilityInput<'a> {
    pub service: &'a Service,
    /// The business's zone; opening hours are local wall time in it.
    pub zone: &'a TimeZone,
    pub now: Timestamp,
    /// Live appointments of the business (any service) near the window: every one whose occupied interval may
    /// overlap a slot in question, and every one of this service on the local dates in question.
    pub occupancies: &'a [Occupancy],
    /// Busy intervals of the members' own calendars near the window, unsorted and possibly overlapping; each blocks
    /// only its member.
    pub busy: &'a [MemberBusy],
    /// The staff members asked about: one, or every member of the business for "anyone". Those inactive or not
    /// performing the service are offered nothing.
    pub staff: &'a [StaffMember],
}

/// A slot and who is free for it, in the order of [`AvailabilityInput::staff`]. Slots in a row offered with the same
/// members share one list (a count of references rather than an allocation each): "anyone" of ten offers about a
/// thousand slots over 60 days, and the members free rarely change from one to the next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferedSlot {
    pub slot: Interval,
    pub staff: Arc<[StaffId]>,
}

/// The start times a booking may have right now, both ends inclusive. Empty (`earliest > latest`) when the minimum
/// notice reaches past the horizon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BookingWindow {
    pub earliest: Timestamp,
    pub latest: Timestamp,
}

/// `[now + minimum_notice, now + booking_horizon_days × 24 h]`.
pub fn booking_window(service: &Service, now: Timestamp) -> BookingWindow {
    let notice = service.settings.minimum_notice.as_duration();
    let horizon = SignedDuration::from_hours(i64::from(service.settings.booking_horizon_days) * 24);
    BookingWindow {
        earliest: now.checked_add(notice).unwrap_or(Timestamp::MAX),
        latest: now.checked_add(horizon).unwrap_or(Timestamp::MAX),
    }
}

/// Why a start time cannot be booked; [`check_slot`] reports the first that applies, in declaration order (which is
/// also their order: a later reason is closer to bookable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, thiserror::Error)]
pub enum Unavailability {
    #[error("the time is not one of the service's start times within its opening hours")]
    OutsideHours,
    #[error("the time is sooner than the service's minimum notice allows")]
    TooSoon,
    #[error("the time is further ahead than the service can be booked")]
    TooFar,
    /// The service's maximum per day, or the staff member's.
    #[error("the service is fully booked on that day")]
    DailyLimitReached,
    #[error("the time overlaps another appointment")]
    Taken,
    #[error("the staff member's calendar is busy at that time")]
    CalendarBusy,
}

impl Unavailability {
    /// A stable code for programs (API responses, the phone agent's tools).
    pub fn code(self) -> &'static str {
        match self {
            Self::OutsideHours => "outside_hours",
            Self::TooSoon => "too_soon",
            Self::TooFar => "too_far",
            Self::DailyLimitReached => "daily_limit",
            Self::Taken => "taken",
            Self::CalendarBusy => "calendar_busy",
        }
    }
}

/// Slots whose start lies in `window` with at least one of the members free, sorted by start.
pub fn available_slots(input: &AvailabilityInput, window: Interval) -> Vec<Interval> {
    offered_slots(input, window)
        .into_iter()
        .map(|offered| offered.slot)
        .collect()
}

/// Slots whose start lies in `window`, each with the members free for it, sorted by start: the union of the
/// answers for each member.
pub fn offered_slots(input: &AvailabilityInput, window: Interval) -> Vec<OfferedSlot> {
    let Some(grid) = ServiceGrid::new(input, window) else {
        return Vec::new();
    };
    let qualified: Vec<&StaffMember> = input
        .staff
        .iter()
        .filter(|member| member.performs(input.service.id))
        .collect();
    if qualified.is_empty() {
        return Vec::new();
    }
    let index = MemberIndex::new(&qualified);
    let full_days = grid.full_days(input, &qualified, &index);
    let members = || Members {
        blocked_until: vec![i64::MIN; qualified.len()],
        each: qualified
            .iter()
            .zip(&full_days)
            .map(|(member, full_days)| MemberSweep {
                id: member.id,
                full_days,
                hours: MemberHours::new(member, &grid.offsets, grid.duration),
            })
            .collect(),
    };
    // The stores hand both lists over in order of start (their keys begin with it): then they are swept as they
    // are, and an interval that ends before the slot in question is passed over without looking up its member.
    let as_given = if starts_in_order(input.occupancies) && starts_in_order(input.busy) {
        grid.sweep(&index, &mut members(), input.occupancies, input.busy)
    } else {
        Err(OutOfOrder)
    };
    as_given.unwrap_or_else(|OutOfOrder| {
        let (from, until) = grid.swept_span();
        let appointments = index.blocks(input.occupancies, from, until);
        let busy = index.blocks(input.busy, from, until);
        grid.sweep(&index, &mut members(), &appointments, &busy)
            .unwrap_or_default()
    })
}

/// A list of blocked time came in another order than by start.
struct OutOfOrder;

/// Whether a list's first items come in order of start: a list in another order is then sorted at once, instead of
/// being found out of order only when the sweep reaches the item that shows it. The sweep still checks every item.
fn starts_in_order(items: &[impl Blocking]) -> bool {
    items
        .iter()
        .take(RADIX_SORT_MIN)
        .map(|item| item.seconds().0)
        .is_sorted()
}

/// Blocked time as the sweep reads it: an appointment's occupied interval, a busy interval, or either once sorted.
trait Blocking {
    /// The interval in whole seconds, rounded outward: slot occupied intervals have whole-second ends, so overlap
    /// with a rounded interval is overlap with the exact one.
    fn seconds(&self) -> (i64, i64);
    /// Whose it is, as a position among the members asked about; None for anyone else.
    fn member(&self, index: &MemberIndex) -> Option<usize>;
}

fn interval_seconds(interval: &Interval) -> (i64, i64) {
    (floor_second(interval.start()), ceil_second(interval.end()))
}

impl Blocking for Occupancy {
    fn seconds(&self) -> (i64, i64) {
        interval_seconds(&self.occupied)
    }

    fn member(&self, index: &MemberIndex) -> Option<usize> {
        index.position(self.staff_id)
    }
}

impl Blocking for MemberBusy {
    fn seconds(&self) -> (i64, i64) {
        interval_seconds(&self.interval)
    }

    fn member(&self, index: &MemberIndex) -> Option<usize> {
        index.position(self.staff_id)
    }
}

impl Blocking for Block {
    fn seconds(&self) -> (i64, i64) {
        (self.start, self.end)
    }

    fn member(&self, _: &MemberIndex) -> Option<usize> {
        Some(self.member)
    }
}

/// One list of blocked time, read as the sweep's starts advance.
struct Cursor<'a, T> {
    items: &'a [T],
    next: usize,
}

impl<T: Blocking> Cursor<'_, T> {
    /// Reads every item starting before `occupied_end` (the end of the current slot's occupied interval,
    /// `(occupied_start, occupied_end)`), raising its member's latest blocked end (`blocked_until`, by position);
    /// `previous_end` is the previous slot's. An item starting before `previous_end` should have been read for that
    /// slot already: the list is out of order.
    fn advance(
        &mut self,
        index: &MemberIndex,
        blocked_until: &mut [i64],
        previous_end: i64,
        (occupied_start, occupied_end): (i64, i64),
    ) -> Result<(), OutOfOrder> {
        while let Some(item) = self.items.get(self.next) {
            let (start, end) = item.seconds();
            if start >= occupied_end {
                break;
            }
            if start < previous_end {
                return Err(OutOfOrder);
            }
            self.next += 1;
            // Starts only move later, so an interval over by now blocks no slot from here on.
            if end <= occupied_start {
                continue;
            }
            if let Some(until) = item.member(index).and_then(|at| blocked_until.get_mut(at)) {
                *until = (*until).max(end);
            }
        }
        Ok(())
    }

    /// Whether every item not read starts at or after `last_end`, the end of the last slot's occupied interval:
    /// none of them was missed behind an item out of order.
    fn rest_starts_from(&self, last_end: i64) -> bool {
        self.items
            .get(self.next..)
            .unwrap_or_default()
            .iter()
            .all(|item| item.seconds().0 >= last_end)
    }
}

/// The members' state while the grid is swept, by position among those asked about.
struct Members<'a> {
    /// Each member's latest end of blocked time that starts before the current slot's occupied interval ends: the
    /// slot is clear of all of it exactly when this is no later than the occupied interval's start. Kept apart from
    /// the rest, in one small array: every blocked interval raises one, and every start compares them all.
    blocked_until: Vec<i64>,
    each: Vec<MemberSweep<'a>>,
}

/// Members a word of [`clear_members`] holds.
const MEMBERS_PER_WORD: usize = 64;

/// Of at most 64 members' `blocked_until`, bit `i` set when member `i` is clear of blocked time from
/// `occupied_start` on. A pass without branches the compiler vectorises: a branch per member mispredicted, as most
/// members of a busy business are blocked at most starts and which ones is anyone's guess.
fn clear_members(blocked_until: &[i64], occupied_start: i64) -> u64 {
    let mut clear = 0;
    for (bit, &until) in blocked_until.iter().take(MEMBERS_PER_WORD).enumerate() {
        clear |= u64::from(until <= occupied_start) << bit;
    }
    clear
}

/// One member's state while the grid is swept, besides their blocked time.
struct MemberSweep<'a> {
    id: StaffId,
    /// By index into the grid's dates, whether the member's own maximum per day is reached on it; empty for a
    /// member without one.
    full_days: &'a [bool],
    hours: MemberHours<'a>,
}

/// The service's candidate starts in a window, before anything of one member's: its grid within the booking window
/// on the dates its daily limit leaves open.
struct ServiceGrid {
    /// `(start, index into dates)`, sorted by start.
    starts: Vec<(i64, usize)>,
    /// `(local date, wall midnight)` of each date walked, in increasing order.
    dates: Vec<(Date, i64)>,
    offsets: ZoneOffsets,
    from: i64,
    until: i64,
    before: i64,
    duration: i64,
    after: i64,
}

impl ServiceGrid {
    fn new(input: &AvailabilityInput, window: Interval) -> Option<Self> {
        let settings = &input.service.settings;
        let bookable = booking_window(input.service, input.now);
        // Whole-second bounds on the start: grid starts are whole seconds, so these are exact.
        let from = ceil_second(window.start()).max(ceil_second(bookable.earliest));
        let until = ceil_second(window.end()).min(floor_second(bookable.latest).saturating_add(1));
        if from >= until {
            return None;
        }
        let first = local_date_of_second(input.zone, from)?;
        let last = local_date_of_second(input.zone, until - 1)?;
        // A fold can put an instant on the local date before the one its neighbours have, never further.
        let first = first.yesterday().unwrap_or(first);
        let last = last.tomorrow().unwrap_or(last);

        let mut counts = DailyCounts::new(input, first, last);
        let offsets = ZoneOffsets::for_dates(input.zone, first, last);
        let mut grid = Grid::new(input.service, offsets.clone());
        let mut starts = Vec::new();
        let mut dates = Vec::new();
        let mut date = first;
        let mut midnight = wall_midnight(first);
        loop {
            if !counts.is_full(date, settings.max_per_day) {
                let day = dates.len();
                dates.push((date, midnight));
                grid.starts_on(date, midnight, from, until, |start| {
                    starts.push((start, day))
                });
            }
            match date.tomorrow() {
                Ok(next) if next <= last => date = next,
                _ => break,
            }
            midnight += 86_400;
        }
        // Ranges of a day need not be listed in order, and a fold can reorder grid times.
        starts.sort_unstable();
        let before = settings.buffer_before.as_duration().as_secs();
        let duration = settings.duration.as_duration().as_secs();
        let after = settings.buffer_after.as_duration().as_secs();
        Some(Self {
            starts,
            dates,
            offsets,
            from,
            until,
            before,
            duration,
            after,
        })
    }

    /// Every start with the members free for it: one pass over the starts, each list of blocked time read once
    /// alongside, in order of start (else `OutOfOrder`).
    fn sweep(
        &self,
        index: &MemberIndex,
        members: &mut Members,
        appointments: &[impl Blocking],
        busy: &[impl Blocking],
    ) -> Result<Vec<OfferedSlot>, OutOfOrder> {
        let mut appointments = Cursor {
            items: appointments,
            next: 0,
        };
        let mut busy = Cursor {
            items: busy,
            next: 0,
        };
        let mut previous_end = i64::MIN;
        let mut free = Vec::with_capacity(members.each.len());
        let mut offered: Vec<OfferedSlot> = Vec::new();
        for &(start, day) in &self.starts {
            let occupied_start = start - self.before;
            let occupied_end = start + self.duration + self.after;
            let occupied = (occupied_start, occupied_end);
            let blocked_until = &mut members.blocked_until;
            appointments.advance(index, blocked_until, previous_end, occupied)?;
            busy.advance(index, blocked_until, previous_end, occupied)?;
            previous_end = occupied_end;
            let Some(&(date, midnight)) = self.dates.get(day) else {
                continue;
            };
            free.clear();
            let words = members.blocked_until.chunks(MEMBERS_PER_WORD);
            for (word, blocked_until) in words.enumerate() {
                let mut clear = clear_members(blocked_until, occupied_start);
                while clear != 0 {
                    let at = word * MEMBERS_PER_WORD + clear.trailing_zeros() as usize;
                    clear &= clear - 1;
                    let Some(member) = members.each.get_mut(at) else {
                        continue;
                    };
                    if !member.full_days.get(day).copied().unwrap_or(false)
                        && member.hours.admits(day, date, midnight, start)
                    {
                        free.push(member.id);
                    }
                }
            }
            if free.is_empty() {
                continue;
            }
            if let Some(slot) = slot_at(start, self.duration) {
                let staff = match offered.last() {
                    Some(previous) if *previous.staff == *free => previous.staff.clone(),
                    _ => Arc::from(free.as_slice()),
                };
                offered.push(OfferedSlot { slot, staff });
            }
        }
        if !(appointments.rest_starts_from(previous_end) && busy.rest_starts_from(previous_end)) {
            return Err(OutOfOrder);
        }
        Ok(offered)
    }

    /// The span in which a blocked interval can touch a candidate slot's occupied interval.
    fn swept_span(&self) -> (i64, i64) {
        (
            self.from - self.before,
            self.until + self.duration + self.after,
        )
    }

    /// For each of `members` (in their order), by index into `dates`, whether their own live occupancies (any
    /// service) on that date reach their maximum per day; empty for a member without one. One pass over the
    /// occupancies, and none when nobody has a maximum.
    fn full_days(
        &self,
        input: &AvailabilityInput,
        members: &[&StaffMember],
        index: &MemberIndex,
    ) -> Vec<Vec<bool>> {
        let limits: Vec<Option<usize>> = members
            .iter()
            .map(|member| {
                member
                    .settings
                    .max_per_day
                    .map(|limit| usize::try_from(limit).unwrap_or(usize::MAX))
            })
            .collect();
        let mut counts: Vec<Vec<usize>> = limits
            .iter()
            .map(|limit| match limit {
                Some(_) => vec![0; self.dates.len()],
                None => Vec::new(),
            })
            .collect();
        if limits.iter().any(Option::is_some) {
            for occupancy in input.occupancies {
                let Some(theirs) = index
                    .position(occupancy.staff_id)
                    .and_then(|at| counts.get_mut(at))
                else {
                    continue;
                };
                let day = self
                    .dates
                    .binary_search_by_key(&occupancy.local_date, |&(date, _)| date);
                if let Some(count) = day.ok().and_then(|day| theirs.get_mut(day)) {
                    *count += 1;
                }
            }
        }
        counts
            .into_iter()
            .zip(limits)
            .map(|(counts, limit)| match limit {
                Some(limit) => counts.into_iter().map(|count| count >= limit).collect(),
                None => Vec::new(),
            })
            .collect()
    }
}

/// A member's own hours, read as the grid reads the service's: a slot fits when it lies in one of their ranges of
/// its local date. The spans of the date last asked about are kept, since starts come date by date, and the buffers
/// are reused from date to date.
struct MemberHours<'a> {
    member: &'a StaffMember,
    offsets: &'a ZoneOffsets,
    duration: i64,
    /// The index of the date the spans are for.
    day: Option<usize>,
    /// False when the member keeps no hours of their own that date: they work whenever the service is open.
    own: bool,
    fits: Vec<(i64, i64)>,
    stretches: Vec<Stretch>,
}

impl<'a> MemberHours<'a> {
    fn new(member: &'a StaffMember, offsets: &'a ZoneOffsets, duration: i64) -> Self {
        Self {
            member,
            offsets,
            duration,
            day: None,
            own: false,
            fits: Vec::new(),
            stretches: Vec::new(),
        }
    }

    /// Whether the slot at `start` lies in the member's hours of `date`, the `day`th date of the grid, whose wall
    /// midnight is `midnight`.
    #[inline]
    fn admits(&mut self, day: usize, date: Date, midnight: i64, start: i64) -> bool {
        if self.day != Some(day) {
            self.load_day(day, date, midnight);
        }
        !self.own
            || self
                .fits
                .iter()
                .any(|&(first, last)| first <= start && start <= last)
    }

    /// Once per member and date: their ranges of the date as spans of starts.
    #[cold]
    fn load_day(&mut self, day: usize, date: Date, midnight: i64) {
        self.day = Some(day);
        self.fits.clear();
        let ranges = self.member.hours_on(date);
        self.own = ranges.is_some();
        if let Some(ranges) = ranges {
            grid::push_fitting_spans(
                ranges,
                self.offsets,
                midnight,
                self.duration,
                &mut self.stretches,
                &mut self.fits,
            );
        }
    }
}

/// The slot starting at `start` if one of the members can be booked then, else the reason the member closest to it
/// cannot (the latest of [`Unavailability`]'s variants among theirs; for one member, the first that applies to them).
/// Agrees with [`available_slots`] for every window containing `start`.
pub fn check_slot(input: &AvailabilityInput, start: Timestamp) -> Result<Interval, Unavailability> {
    check_slot_with_staff(input, start).map(|(slot, _)| slot)
}

/// [`check_slot`], with the members free for the slot (in the order of [`AvailabilityInput::staff`]).
pub fn check_slot_with_staff(
    input: &AvailabilityInput,
    start: Timestamp,
) -> Result<(Interval, Vec<StaffId>), Unavailability> {
    let mut free = Vec::new();
    let mut nearest = Unavailability::OutsideHours;
    let mut found = None;
    for member in input.staff {
        match check_member(input, member, start) {
            Ok(slot) => {
                found = Some(slot);
                free.push(member.id);
            }
            Err(reason) => nearest = nearest.max(reason),
        }
    }
    found.map(|slot| (slot, free)).ok_or(nearest)
}

fn check_member(
    input: &AvailabilityInput,
    member: &StaffMember,
    start: Timestamp,
) -> Result<Interval, Unavailability> {
    let settings = &input.service.settings;
    let date = input.zone.to_datetime(start).date();
    if !member.performs(input.service.id)
        || start.subsec_nanosecond() != 0
        || !is_grid_start(input, date, start.as_second())
    {
        return Err(Unavailability::OutsideHours);
    }
    if let Some(ranges) = member.hours_on(date) {
        let offsets = ZoneOffsets::for_dates(input.zone, date, date);
        let duration = settings.duration.as_duration().as_secs();
        let second = start.as_second();
        let mut fits = Vec::new();
        grid::push_fitting_spans(
            ranges,
            &offsets,
            wall_midnight(date),
            duration,
            &mut Vec::new(),
            &mut fits,
        );
        let inside = fits
            .iter()
            .any(|&(first, last)| first <= second && second <= last);
        if !inside {
            return Err(Unavailability::OutsideHours);
        }
    }
    let bookable = booking_window(input.service, input.now);
    if start < bookable.earliest {
        return Err(Unavailability::TooSoon);
    }
    if start > bookable.latest {
        return Err(Unavailability::TooFar);
    }
    let over = |limit: Option<u32>, counted: usize| {
        limit.is_some_and(|limit| counted >= usize::try_from(limit).unwrap_or(usize::MAX))
    };
    let on_date = input.occupancies.iter().filter(|o| o.local_date == date);
    if over(
        settings.max_per_day,
        on_date
            .clone()
            .filter(|o| o.service_id == input.service.id)
            .count(),
    ) || over(
        member.settings.max_per_day,
        on_date.filter(|o| o.staff_id == member.id).count(),
    ) {
        return Err(Unavailability::DailyLimitReached);
    }
    let slot = slot_at(start.as_second(), settings.duration.as_duration().as_secs())
        .ok_or(Unavailability::OutsideHours)?;
    let occupied = slot.widened(
        settings.buffer_before.as_duration(),
        settings.buffer_after.as_duration(),
    );
    if input
        .occupancies
        .iter()
        .any(|o| o.staff_id == member.id && o.occupied.overlaps(&occupied))
    {
        return Err(Unavailability::Taken);
    }
    if input
        .busy
        .iter()
        .any(|b| b.staff_id == member.id && b.interval.overlaps(&occupied))
    {
        return Err(Unavailability::CalendarBusy);
    }
    Ok(slot)
}

/// The `count` available slots whose starts are closest to `around` (on either side; the earlier wins a tie),
/// sorted by start. Looks no further than [`NEAREST_SEARCH_DAYS`] either side, and so may return fewer.
pub fn nearest_slots(input: &AvailabilityInput, around: Timestamp, count: usize) -> Vec<Interval> {
    if count == 0 {
        return Vec::new();
    }
    let bookable = booking_window(input.service, input.now);
    // Widen step by step: a nearby answer is the common case and costs a few days of grid, not four weeks.
    for days in [1, 2, 4, 8, NEAREST_SEARCH_DAYS] {
        let radius = SignedDuration::from_hours(days * 24);
        let from = around.checked_sub(radius).unwrap_or(Timestamp::MIN);
        let through = around.checked_add(radius).unwrap_or(Timestamp::MAX);
        // Inclusive at both ends, so every slot left outside is strictly further away than every slot inside.
        let until = through
            .checked_add(SignedDuration::from_nanos(1))
            .unwrap_or(Timestamp::MAX);
        let Ok(window) = Interval::new(from, until) else {
            return Vec::new();
        };
        let slots = available_slots(input, window);
        let covers_everything = from <= bookable.earliest && bookable.latest <= through;
        if slots.len() >= count || covers_everything || days == NEAREST_SEARCH_DAYS {
            return closest(slots, around, count);
        }
    }
    Vec::new()
}

fn closest(slots: Vec<Interval>, around: Timestamp, count: usize) -> Vec<Interval> {
    let split = slots.partition_point(|slot| slot.start() < around);
    let (mut low, mut high) = (split, split);
    while high - low < count {
        let take_earlier = match (
            low.checked_sub(1).and_then(|i| slots.get(i)),
            slots.get(high),
        ) {
            (Some(earlier), Some(later)) => {
                around.duration_since(earlier.start()) <= later.start().duration_since(around)
            }
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_earlier {
            low -= 1;
        } else {
            high += 1;
        }
    }
    slots.into_iter().skip(low).take(high - low).collect()
}

fn is_grid_start(input: &AvailabilityInput, date: Date, start: i64) -> bool {
    let mut grid = Grid::new(
        input.service,
        ZoneOffsets::for_dates(input.zone, date, date),
    );
    let mut found = false;
    grid.starts_on(date, wall_midnight(date), start, start + 1, |_| {
        found = true
    });
    found
}

fn local_date_of_second(zone: &TimeZone, second: i64) -> Option<Date> {
    Timestamp::from_second(second)
        .ok()
        .map(|t| zone.to_datetime(t).date())
}

fn slot_at(start: i64, duration: i64) -> Option<Interval> {
    // Both ends from whole seconds: cheaper than adding a duration to an instant, and this runs once per slot.
    let end = Timestamp::from_second(start.checked_add(duration)?).ok()?;
    Interval::new(Timestamp::from_second(start).ok()?, end).ok()
}

/// Live appointments of the service per local date, counted once and read by dates in increasing order.
struct DailyCounts {
    dates: Vec<Date>,
    next: usize,
}

impl DailyCounts {
    fn new(input: &AvailabilityInput, first: Date, last: Date) -> Self {
        if input.service.settings.max_per_day.is_none() {
            // Nothing is ever full: counting would only cost a pass and a sort over every appointment.
            return Self {
                dates: Vec::new(),
                next: 0,
            };
        }
        let mut dates: Vec<Date> = input
            .occupancies
            .iter()
            .filter(|o| {
                o.service_id == input.service.id && first <= o.local_date && o.local_date <= last
            })
            .map(|o| o.local_date)
            .collect();
        dates.sort_unstable();
        Self { dates, next: 0 }
    }

    /// Must be asked about dates in increasing order.
    fn is_full(&mut self, date: Date, limit: Option<u32>) -> bool {
        while self.dates.get(self.next).is_some_and(|&d| d < date) {
            self.next += 1;
        }
        let Some(limit) = limit else {
            return false;
        };
        let booked = self.dates[self.next..]
            .iter()
            .take_while(|&&d| d == date)
            .count();
        booked >= usize::try_from(limit).unwrap_or(usize::MAX)
    }
}
