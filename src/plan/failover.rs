//! The failover monitor's timing and the host's failover groups
//! (docs/semantics.md §10).

use std::collections::BTreeSet;

use std::time::Duration;

use crate::layout::{MAX_FAILOVER_GROUPS, MOVABLE_MARK};

use super::UplinkNumber;

/// The monitor's timing (docs/semantics.md §10) and the host's failover groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverPlan {
    pub interval: Duration,
    pub down_after: u32,
    pub up_after: u32,
    /// One per distinct set of uplinks the host's decisions fall back between,
    /// sorted by that set.
    pub groups: Vec<FailoverGroup>,
}

/// Connections classified by a decision whose candidates sit on exactly these
/// uplinks: bound to one of them, they have somewhere to go while another is up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverGroup {
    /// The uplinks' numbers, sorted.
    pub uplinks: Vec<UplinkNumber>,
    /// What the failover chains write into the conntrack mark's
    /// [`crate::layout::FAILOVER_MARK_MASK`] bits: [`MOVABLE_MARK`] and the group's number
    /// (0 past [`MAX_FAILOVER_GROUPS`]).
    pub ct_mark: u32,
}

impl FailoverPlan {
    /// The group of a decision with [`super::Decision::failover_uplinks`] `uplinks`.
    pub fn group(&self, uplinks: &[UplinkNumber]) -> Option<&FailoverGroup> {
        self.groups.iter().find(|g| g.uplinks == uplinks)
    }

    /// The groups of these [`super::Decision::failover_uplinks`], numbered in sorted
    /// order so the ruleset does not depend on which VM uses a set first.
    pub(super) fn groups_of(sets: impl Iterator<Item = Vec<UplinkNumber>>) -> Vec<FailoverGroup> {
        let sets: BTreeSet<Vec<UplinkNumber>> = sets.collect();
        sets.into_iter()
            .enumerate()
            .map(|(index, uplinks)| {
                let number = u32::try_from(index + 1)
                    .ok()
                    .filter(|&n| n as usize <= MAX_FAILOVER_GROUPS)
                    .unwrap_or(0);
                FailoverGroup {
                    uplinks,
                    ct_mark: MOVABLE_MARK | number << 16,
                }
            })
            .collect()
    }
}
