//! The hash maps and sets of the rules. At 100k VMs a rule hashes half a
//! million addresses or ids, so they use foldhash's fast hasher rather than
//! std's SipHash, and key addresses by their integer, one map per family,
//! rather than by `IpAddr`. Hash flooding is no concern: the keys come from
//! the operator's own topology. The seed is fixed, so nothing differs from
//! one run to the next (no rule's output depends on a map's order anyway).

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::net::IpAddr;

use foldhash::fast::FixedState;

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
