//! Semantic checks on the resolved model: one rule a file, each pushing every
//! problem it finds. To add a check, add a file with `pub fn check(model, out)`,
//! list it in [`RULES`], give it a code in `diagnostic.rs` and an invalid example in
//! `examples/invalid/`.

mod address_allocation;
mod egress_conflict;
mod egress_internal;
mod failover_alternative;
mod gateway;
mod interfaces;
mod lan;
pub mod limits;
mod no_default;
mod pool_acl;
mod pool_count;
mod pool_overlap;
mod pool_reserved;
mod private_addresses;
mod private_unicast;
mod probe_targets;
mod quota;
mod shadowed_egress;
mod unused_address;
mod uplink_address_reuse;
mod uplink_attached;
mod uplink_identity;
mod uplink_link;
mod vlan_parent_unit;
mod vlans;
mod vm_public;
mod vm_via;

use ipnet::Ipv4Net;
use rayon::prelude::*;

use crate::diagnostic::Diagnostics;
use crate::model::Model;

type Rule = fn(&Model, &mut Diagnostics);

/// Every rule, in the order they run (output is sorted by position afterwards).
const RULES: &[Rule] = &[
    uplink_identity::check,
    pool_overlap::check,
    pool_count::check,
    pool_reserved::check,
    address_allocation::check,
    pool_acl::check,
    quota::check,
    vm_public::check,
    vm_via::check,
    uplink_attached::check,
    egress_conflict::check,
    egress_internal::check,
    private_addresses::check,
    private_unicast::check,
    interfaces::check,
    gateway::check,
    vlans::check,
    uplink_link::check,
    uplink_address_reuse::check,
    lan::check,
    vlan_parent_unit::check,
    no_default::check,
    unused_address::check,
    shadowed_egress::check,
    probe_targets::check,
    failover_alternative::check,
];

/// Runs every rule. Rules only read the model, so they run side by side on all
/// cores (each into its own list); the order they report in does not matter,
/// since diagnostics are sorted afterwards.
pub fn run(model: &Model, diagnostics: &mut Diagnostics) {
    if limits::check(model, diagnostics) {
        return;
    }
    let found: Vec<Diagnostics> = RULES
        .par_iter()
        .map(|rule| {
            let mut found = Diagnostics::default();
            rule(model, &mut found);
            found
        })
        .collect();
    for found in found {
        diagnostics.append(found);
    }
}

/// Two prefixes overlap exactly when one contains the other.
fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(b) || b.contains(a)
}

/// Answers "does any stored prefix overlap this one?" in O(log n + prefix length),
/// so checks stay linear-ish on topologies with 100k VMs.
struct PrefixIndex<'a, T> {
    by_network: Vec<(Ipv4Net, &'a T)>,
    exact: std::collections::HashMap<Ipv4Net, &'a T>,
}

impl<'a, T> PrefixIndex<'a, T> {
    fn new(items: impl IntoIterator<Item = (Ipv4Net, &'a T)>) -> Self {
        let mut by_network: Vec<_> = items.into_iter().collect();
        by_network.sort_by_key(|(net, _)| (net.network(), net.prefix_len()));
        let exact = by_network.iter().map(|(net, item)| (*net, *item)).collect();
        PrefixIndex { by_network, exact }
    }

    /// A stored prefix that contains `prefix` or lies inside it.
    fn overlapping(&self, prefix: &Ipv4Net) -> Option<&'a T> {
        let containing = (0..=prefix.prefix_len()).find_map(|len| {
            let supernet = Ipv4Net::new(prefix.network(), len).ok()?.trunc();
            self.exact.get(&supernet).copied()
        });
        containing.or_else(|| {
            let first = self
                .by_network
                .partition_point(|(net, _)| net.network() < prefix.network());
            self.by_network
                .get(first)
                .filter(|(net, _)| net.network() <= prefix.broadcast())
                .map(|(_, item)| *item)
        })
    }
}
