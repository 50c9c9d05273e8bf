//! The lookups of the rules: an index of the model's public and allocated
//! addresses, sorted, built once and shared, and hash maps and sets. At 100k VMs a rule hashes half a
//! million addresses or ids, so they use foldhash's fast hasher rather than
//! std's SipHash, and key addresses by their integer, one map per family,
//! rather than by `IpAddr`. Hash flooding is no concern: the keys come from
//! the operator's own topology. The seed is fixed, so nothing differs from
//! one run to the next (no rule's output depends on a map's order anyway).

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::net::IpAddr;

use foldhash::fast::FixedState;

use crate::model::{Model, Spanned};

pub(super) type FastMap<K, V> = HashMap<K, V, FixedState>;
pub(super) type FastSet<T> = HashSet<T, FixedState>;

/// A [`FastMap`] with room for `capacity` keys without growing.
pub(super) fn fast_map<K, V>(capacity: usize) -> FastMap<K, V> {
    FastMap::with_capacity_and_hasher(capacity, FixedState::default())
}

/// A map keyed by an address of either family and a `K` (nothing when
/// `()`), holding each family's addresses as integers.
pub(super) struct AddressMap<K, V> {
    v4: FastMap<(K, u32), V>,
    v6: FastMap<(K, u128), V>,
}

impl<K: Eq + Hash, V> AddressMap<K, V> {
    /// Room for `capacity` keys of each family without growing.
    pub(super) fn with_capacity(capacity: usize) -> Self {
        AddressMap {
            v4: fast_map(capacity),
            v6: fast_map(capacity),
        }
    }

    /// As [`HashMap::insert`]: the value `key` had, if any.
    pub(super) fn insert(&mut self, key: K, address: IpAddr, value: V) -> Option<V> {
        match address {
            IpAddr::V4(a) => self.v4.insert((key, a.into()), value),
            IpAddr::V6(a) => self.v6.insert((key, a.into()), value),
        }
    }

    /// As [`std::collections::hash_map::Entry::or_insert`], without the value
    /// back.
    pub(super) fn insert_if_absent(&mut self, key: K, address: IpAddr, value: V) {
        match address {
            IpAddr::V4(a) => self.v4.entry((key, a.into())).or_insert(value),
            IpAddr::V6(a) => self.v6.entry((key, a.into())).or_insert(value),
        };
    }

    pub(super) fn get(&self, key: K, address: IpAddr) -> Option<&V> {
        match address {
            IpAddr::V4(a) => self.v4.get(&(key, a.into())),
            IpAddr::V6(a) => self.v6.get(&(key, a.into())),
        }
    }

    pub(super) fn contains(&self, key: K, address: IpAddr) -> bool {
        self.get(key, address).is_some()
    }
}

impl<K: Eq + Hash, V> Default for AddressMap<K, V> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<K: Eq + Hash, V> FromIterator<(K, IpAddr, V)> for AddressMap<K, V> {
    /// Like a map's: a later value for a key replaces an earlier one.
    fn from_iter<I: IntoIterator<Item = (K, IpAddr, V)>>(items: I) -> Self {
        let items = items.into_iter();
        let mut map = AddressMap::with_capacity(items.size_hint().0);
        for (key, address, value) in items {
            map.insert(key, address, value);
        }
        map
    }
}

/// One address of a list in the model: its value as an integer, whose list
/// (the index of its VM or project) and where in that list.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Entry {
    pub(super) address: u128,
    pub(super) owner: usize,
    pub(super) slot: usize,
}

/// One family's every public address of a VM and every address allocated to
/// a project, each sorted by address (then owner and slot): equal addresses
/// are neighbours, and the two lists pair up in one pass.
#[derive(Default)]
pub(super) struct FamilyIndex {
    /// Owner: the VM, slot: the place in its `public`.
    pub(super) publics: Vec<Entry>,
    /// Owner: the project, slot: the place in its `addresses`.
    pub(super) allocations: Vec<Entry>,
}

/// The public and allocated addresses of the model, per family, built once
/// for the rules that pair them. At 100k VMs that is a million addresses:
/// sorted arrays are read in order, where hash maps of that size miss the
/// cache on nearly every lookup, and each rule built its own.
pub(crate) struct AddressIndex {
    pub(super) families: [FamilyIndex; 2],
}

impl AddressIndex {
    pub(super) fn new(model: &Model) -> Self {
        let publics = model.vms.iter().map(|vm| vm.public.as_slice());
        let allocations = model.projects.iter().map(|p| p.addresses.as_slice());
        let ([public_v4, public_v6], [allocated_v4, allocated_v6]) =
            rayon::join(|| sorted(publics), || sorted(allocations));
        AddressIndex {
            families: [
                FamilyIndex {
                    publics: public_v4,
                    allocations: allocated_v4,
                },
                FamilyIndex {
                    publics: public_v6,
                    allocations: allocated_v6,
                },
            ],
        }
    }
}

/// The entries of `lists`, IPv4's then IPv6's, each sorted.
fn sorted<'a>(lists: impl Iterator<Item = &'a [Spanned<IpAddr>]>) -> [Vec<Entry>; 2] {
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    for (owner, list) in lists.enumerate() {
        for (slot, address) in list.iter().enumerate() {
            match address.value {
                IpAddr::V4(a) => v4.push(Entry {
                    address: u32::from(a).into(),
                    owner,
                    slot,
                }),
                IpAddr::V6(a) => v6.push(Entry {
                    address: a.into(),
                    owner,
                    slot,
                }),
            }
        }
    }
    rayon::join(|| v4.sort_unstable(), || v6.sort_unstable());
    [v4, v6]
}

/// Calls `pair` once per address in `publics` or `allocations` (both sorted),
/// in address order, with the entries of each at that address (none on a side
/// without it).
pub(super) fn pair_by_address(
    mut publics: &[Entry],
    mut allocations: &[Entry],
    mut pair: impl FnMut(&[Entry], &[Entry]),
) {
    while let Some(address) = (publics.first().into_iter())
        .chain(allocations.first())
        .map(|e| e.address)
        .min()
    {
        let (users, rest) = publics.split_at(run(publics, address));
        publics = rest;
        let (holders, rest) = allocations.split_at(run(allocations, address));
        allocations = rest;
        pair(users, holders);
    }
}

/// How many of `entries` at the start are of `address`.
fn run(entries: &[Entry], address: u128) -> usize {
    entries.iter().take_while(|e| e.address == address).count()
}
