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

/// Where each member asked about stands in the list, found by one multiplicative hash and one comparison: every
/// appointment and busy interval is looked up, and a linear search over ten members cost more than the rest of the
/// sweep. The table is built so that every member sits in the slot its hash names (a few multipliers and table
/// sizes are tried), because probing past a collision was a quarter of the sweep for ten members.
pub(super) struct MemberIndex {
    /// Open addressing over a power of two of slots, at least twice the members: `(id, position)`.
    slots: Vec<Option<(StaffId, usize)>>,
    multiplier: u64,
    shift: u32,
}

/// Odd constants with well-mixed bits (the golden ratio's first, then splitmix64's and murmur3's finalizers').
const MULTIPLIERS: [u64; 4] = [
    0x9e37_79b9_7f4a_7c15,
    0xbf58_476d_1ce4_e5b9,
    0x94d0_49bb_1331_11eb,
    0xff51_afd7_ed55_8ccd,
];

/// How many times larger than the smallest table the search for a table without collisions may go.
const MAX_GROWTH: usize = 8;

impl MemberIndex {
    pub(super) fn new(members: &[&StaffMember]) -> Self {
        let smallest = (members.len() * 2).next_power_of_two().max(2);
        let sizes = std::iter::successors(Some(smallest), |size| Some(size * 2))
            .take_while(|&size| size <= smallest * MAX_GROWTH);
        let without_collisions = sizes
            .flat_map(|size| MULTIPLIERS.map(|multiplier| (size, multiplier)))
            .find(|&(size, multiplier)| {
                let mut taken = vec![false; size];
                members.iter().all(|member| {
                    let slot = home(member.id, multiplier, shift_for(size));
                    taken
                        .get_mut(slot)
                        .is_some_and(|seen| !std::mem::replace(seen, true))
                })
            });
        // Many members may collide in every table tried: they then probe on from their home slot.
        let (size, multiplier) = without_collisions.unwrap_or((smallest, MULTIPLIERS[0]));
        let mut index = Self {
            slots: vec![None; size],
            multiplier,
            shift: shift_for(size),
        };
        let mask = size - 1;
        for (position, member) in members.iter().enumerate() {
            let mut slot = index.home(member.id);
            while index.slots.get(slot).is_some_and(Option::is_some) {
                slot = (slot + 1) & mask;
            }
            if let Some(free) = index.slots.get_mut(slot) {
                *free = Some((member.id, position));
            }
        }
        index
    }

    fn home(&self, id: StaffId) -> usize {
        home(id, self.multiplier, self.shift)
    }

    pub(super) fn position(&self, id: StaffId) -> Option<usize> {
        let mask = self.slots.len() - 1;
        let mut slot = self.home(id);
        loop {
            match self.slots.get(slot)? {
                Some((member, position)) if *member == id => return Some(*position),
                Some(_) => slot = (slot + 1) & mask,
                None => return None,
            }
        }
    }

    /// Whether every member sits in its home slot, so that finding one never probes.
    #[cfg(test)]
    pub(super) fn finds_everyone_at_home(&self) -> bool {
        self.slots
            .iter()
            .enumerate()
            .all(|(slot, entry)| entry.is_none_or(|(id, _)| self.home(id) == slot))
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

/// The shift that keeps the top bits of a product, as many as index `size` slots (a power of two).
fn shift_for(size: usize) -> u32 {
    u64::BITS - size.trailing_zeros()
}

fn home(id: StaffId, multiplier: u64, shift: u32) -> usize {
    // The bytes as they lie in memory (any order hashes as well, and the big-endian reading swapped them on every
    // lookup); both halves, as a UUIDv7 begins with the time it was made, which members made together share.
    let bytes = u128::from_ne_bytes(*id.as_uuid().as_bytes());
    let folded = (bytes >> 64) as u64 ^ bytes as u64;
    usize::try_from(folded.wrapping_mul(multiplier) >> shift).unwrap_or(0)
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
