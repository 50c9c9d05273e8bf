//! What one entry decides for a VM's packets: its candidates
//! (docs/semantics.md §10), the pools the dataplane can choose between, and the marks they carry.

use crate::family::{Family, V4};
use crate::model::{EntryId, PoolId, UplinkId};

/// An uplink's bits of the packet mark ([`crate::layout::UPLINK_MARK_MASK`]).
pub fn uplink_mark(number: UplinkNumber) -> u32 {
    u32::from(number.0) << 8
}

/// The `id` the topology gives an uplink (`[uplinks.isp-a]` `id = 1`): what
/// its mark bits, default routing table and rule priority are made from, so
/// what the artifacts carry. Not an index into the model: that is
/// [`UplinkId`], which the plan holds wherever it names an uplink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UplinkNumber(pub u8);

impl std::fmt::Display for UplinkNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A pool's bits of the packet mark ([`crate::layout::POOL_MARK_MASK`]).
pub fn pool_mark(number: u8) -> u32 {
    u32::from(number) << 16
}

/// What one topology entry decides for a VM's packets: the candidates, best
/// first (docs/semantics.md §10). Failover never changes which entry decides,
/// only which of its candidates is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<F: Family = V4> {
    /// The preferred candidate: the one used while its uplink is up.
    pub first: Candidate<F>,
    /// The other candidates, best first, each pool once. Always empty without
    /// `[failover]`, so a topology without it allocates nothing more per
    /// decision than before lists existed.
    pub fallbacks: Vec<Candidate<F>>,
    /// The topology entry the decision comes from, for comments and `trace`.
    pub decided_by: EntryId,
}

/// One way out: source-NATed to `public`, out through `uplink`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<F: Family = V4> {
    pub public: F::Addr,
    pub pool: PoolId,
    pub pool_number: u8,
    /// The model's uplink (its index).
    pub uplink: UplinkId,
    /// That uplink's `id` in the topology, which the failover groups are keyed
    /// and sorted by.
    pub uplink_number: UplinkNumber,
    /// Uplink and pool bits (see the module doc).
    pub mark: u32,
}

impl<F: Family> Decision<F> {
    /// Every candidate, best first.
    pub fn candidates(&self) -> impl Iterator<Item = &Candidate<F>> + Clone {
        std::iter::once(&self.first).chain(&self.fallbacks)
    }

    /// The candidate used while the uplinks for which `is_down` holds are down:
    /// the first whose uplink is up; with none up, the first (never worse than
    /// no failover).
    pub fn choose(&self, is_down: impl Fn(UplinkId) -> bool) -> &Candidate<F> {
        self.candidates()
            .find(|candidate| !is_down(candidate.uplink))
            .unwrap_or(&self.first)
    }

    /// The uplinks, by number and sorted, a connection this decision classifies
    /// may move between: `None` when its candidates all sit on one uplink.
    pub fn failover_uplinks(&self) -> Option<Vec<UplinkNumber>> {
        let mut uplinks: Vec<UplinkNumber> = self.reachable().map(|c| c.uplink_number).collect();
        uplinks.sort_unstable();
        (uplinks.len() > 1).then_some(uplinks)
    }

    /// The candidates that can ever be chosen: one whose uplink an earlier
    /// candidate shares is down whenever that one is, so it never is.
    pub fn reachable(&self) -> impl Iterator<Item = &Candidate<F>> {
        first_per_uplink(self.candidates(), |c| c.uplink)
    }

    /// The pools the dataplane can choose between for this decision.
    pub fn way(&self) -> Way {
        Way::of(self.candidates().map(|c| (c.pool_number, c.uplink)))
    }
}

/// The pools a decision's packets can leave by, by number and best first: its
/// candidates' but for one whose uplink an earlier candidate shares (down
/// whenever that one is, it is never chosen). What the dataplane's verdict for
/// the decision says: one pool, or a failover chain between several; two
/// decisions with the same way get the same verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Way(Vec<u8>);

impl Way {
    /// The way of candidates given as (pool number, uplink), best first.
    pub(super) fn of(candidates: impl Iterator<Item = (u8, UplinkId)> + Clone) -> Way {
        Way(first_per_uplink(candidates, |(_, uplink)| uplink)
            .map(|(pool, _)| pool)
            .collect())
    }

    /// The pool numbers, when there are several to fall back between (only
    /// with `[failover]`).
    pub fn failover(self) -> Option<Vec<u8>> {
        (self.0.len() > 1).then_some(self.0)
    }
}

/// The items no earlier item shares an uplink with.
fn first_per_uplink<T: Copy>(
    items: impl Iterator<Item = T> + Clone,
    uplink: impl Fn(T) -> UplinkId + Copy,
) -> impl Iterator<Item = T> {
    items.clone().enumerate().filter_map(move |(i, item)| {
        (!items.clone().take(i).any(|e| uplink(e) == uplink(item))).then_some(item)
    })
}

/// A pool's number in the marks and chain names: its place in the model, from 1.
pub(super) fn pool_number(pool: PoolId) -> u8 {
    u8::try_from(pool.0 + 1).expect("check limits pools to MAX_POOLS")
}
