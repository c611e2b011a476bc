//! Busy time from a staff member's own calendars: it blocks that member and nobody else.

use super::{Interval, StaffId};

/// One interval in which a staff member's calendar is busy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberBusy {
    /// Whose calendar it comes from, and so the only member it blocks.
    pub staff_id: StaffId,
    pub interval: Interval,
}
