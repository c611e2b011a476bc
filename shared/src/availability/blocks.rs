//! Blocked time as the sweep reads it once it had to be sorted: each interval in whole seconds with its member's
//! position ([`Block`]), the index that finds that position ([`MemberIndex`]), and the radix sort by start.

use super::Blocking;
use crate::domain::{StaffId, StaffMember};

/// A member's blocked interval in whole seconds, rounded outward (slot occupied intervals have whole-second ends,
/// so overlap with a rounded interval is overlap with the exact one), with the member's position among those asked
/// about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Block {
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) member: usize,
}

/// Where each member asked about stands in the list, found by one multiplicative hash and usually one comparison:
/// every appointment and busy interval is looked up, and a linear search over ten members cost more than the rest of
/// the sweep.
pub(super) struct MemberIndex {
    /// Open addressing, a power of two at least twice the members.
    slots: Vec<Option<(StaffId, usize)>>,
    shift: u32,
}

impl MemberIndex {
    pub(super) fn new(members: &[&StaffMember]) -> Self {
        let size = (members.len() * 2).next_power_of_two().max(2);
        let mut index = Self {
            slots: vec![None; size],
            shift: u64::BITS - size.trailing_zeros(),
        };
        for (position, member) in members.iter().enumerate() {
            let mut slot = index.home(member.id);
            while index.slots.get(slot).is_some_and(Option::is_some) {
                slot = (slot + 1) % size;
            }
            if let Some(free) = index.slots.get_mut(slot) {
                *free = Some((member.id, position));
            }
        }
        index
    }

    fn home(&self, id: StaffId) -> usize {
        let (high, low) = id.as_uuid().as_u64_pair();
        let mixed = (high ^ low).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift;
        usize::try_from(mixed).unwrap_or(0)
    }

    pub(super) fn position(&self, id: StaffId) -> Option<usize> {
        let mut slot = self.home(id);
        loop {
            match self.slots.get(slot)? {
                Some((member, position)) if *member == id => return Some(*position),
                Some(_) => slot = (slot + 1) % self.slots.len(),
                None => return None,
            }
        }
    }

    /// The intervals of the members asked about that reach into `[from, until)`, in order of start.
    pub(super) fn blocks(&self, items: &[impl Blocking], from: i64, until: i64) -> Vec<Block> {
        let mut blocks = Vec::with_capacity(items.len());
        let mut in_order = true;
        let mut latest_start = i64::MIN;
        for item in items {
            let (start, end) = item.seconds();
            if end <= from || start >= until {
                continue;
            }
            let Some(member) = item.member(self) else {
                continue;
            };
            in_order &= start >= latest_start;
            latest_start = start;
            blocks.push(Block { start, end, member });
        }
        if !in_order {
            sort_by_start(&mut blocks);
        }
        blocks
    }
}

/// Below this many intervals a comparison sort is as fast as the radix sort's fixed costs.
pub(super) const RADIX_SORT_MIN: usize = 64;

/// Sorts blocks by start (ties in any order: the sweep only needs starts in order). A least-significant-digit
/// radix sort over the bits the starts actually span (about 23 for 60 days): a comparison sort of a few thousand
/// random intervals is dominated by mispredicted branches and took two thirds of a busy query.
pub(super) fn sort_by_start(blocks: &mut Vec<Block>) {
    if blocks.len() < RADIX_SORT_MIN {
        blocks.sort_unstable();
        return;
    }
    let (min, max) = blocks
        .iter()
        .fold((i64::MAX, i64::MIN), |(min, max), block| {
            (min.min(block.start), max.max(block.start))
        });
    // `max >= min`, so the difference fits in a u64 even when it overflows an i64.
    let span = max.wrapping_sub(min) as u64;
    let digits = (u64::BITS - span.leading_zeros()).div_ceil(8);
    let mut scratch = vec![Block::default(); blocks.len()];
    for digit in 0..digits {
        let shift = digit * 8;
        let bucket = |start: i64| ((start.wrapping_sub(min) as u64 >> shift) & 0xff) as usize;
        let mut offsets = [0_usize; 256];
        for block in blocks.iter() {
            offsets[bucket(block.start)] += 1;
        }
        let mut next = 0;
        for offset in offsets.iter_mut() {
            let count = *offset;
            *offset = next;
            next += count;
        }
        for &block in blocks.iter() {
            let slot = &mut offsets[bucket(block.start)];
            scratch[*slot] = block;
            *slot += 1;
        }
        std::mem::swap(blocks, &mut scratch);
    }
}
