//! Semantic checks on the resolved model: one rule a file, each pushing every
//! problem it finds; the rules that judge the plan are in `lints`. To add
//! a check, add a file with `pub fn check(model, out)`, list it in [`RULES`], give
//! it a code in `diagnostic/codes.rs` and an invalid example in `examples/invalid/`.

mod address_allocation;
mod egress_conflict;
mod egress_internal;
mod family;
mod gateway;
mod gateway_family;
mod ha_addresses;
mod ha_ipv6;
mod ha_links;
mod ha_member_addresses;
mod ha_members;
mod ha_requirements;
pub mod interfaces;
mod lan;
mod lan_vlan_parent;
pub mod limits;
mod link_overlaps_internal;
mod lookup;
mod no_default;
mod not_global;
mod pool_acl;
mod pool_count;
mod pool_overlap;
mod pool_reserved;
mod private_addresses;
mod private_unicast;
mod probe_targets;
mod quota;
mod unused_address;
mod uplink_address_reuse;
mod uplink_attached;
mod uplink_identity;
mod uplink_link;
mod uplink_links_overlap;
mod via_family;
mod vlan_parent_unit;
mod vlans;
mod vm_mac;
mod vm_public;
mod vm_via;

use rayon::prelude::*;

use crate::diagnostic::Diagnostics;
use crate::model::{CheckedModel, Model};
use lookup::AddressIndex;

type Rule = fn(&Model, &mut Diagnostics);

/// A rule that reads the model's addresses through the shared [`AddressIndex`].
type IndexedRule = fn(&Model, &AddressIndex, &mut Diagnostics);

/// Every rule, in the order they run (output is sorted by position afterwards).
const RULES: &[Rule] = &[
    uplink_identity::check,
    pool_overlap::check,
    pool_count::check,
    pool_reserved::check,
    pool_acl::check,
    quota::check,
    vm_via::check,
    via_family::check,
    not_global::check,
    uplink_attached::check,
    egress_conflict::check,
    egress_internal::check,
    private_addresses::check,
    private_unicast::check,
    vm_mac::check,
    interfaces::check,
    gateway::check,
    gateway_family::check,
    vlans::check,
    uplink_link::check,
    uplink_address_reuse::check,
    uplink_links_overlap::check,
    link_overlaps_internal::check,
    lan::check,
    vlan_parent_unit::check,
    lan_vlan_parent::check,
    no_default::check,
    probe_targets::check,
    ha_members::check,
    ha_links::check,
    ha_addresses::check,
    ha_member_addresses::check,
    ha_requirements::check,
    ha_ipv6::check,
];

/// The rules that read the shared [`AddressIndex`].
const INDEXED_RULES: &[IndexedRule] = &[
    address_allocation::check,
    vm_public::check,
    unused_address::check,
];

/// Runs every rule. Rules only read the model, so they run side by side on all
/// cores (each into its own list); the order they report in does not matter,
/// since diagnostics are sorted afterwards. The model comes back checked when
/// `diagnostics` (with what earlier stages reported) holds no error.
pub fn run(model: Model, diagnostics: &mut Diagnostics) -> Option<CheckedModel> {
    if limits::check(&model, diagnostics) {
        return None;
    }
    // The index is built while the other rules run.
    let (indexed, found) = rayon::join(
        || {
            let index = AddressIndex::new(&model);
            (INDEXED_RULES.par_iter())
                .map(|rule| found_indexed(&model, &index, *rule))
                .collect::<Vec<_>>()
        },
        || {
            RULES
                .par_iter()
                .map(|rule| found(&model, *rule))
                .collect::<Vec<_>>()
        },
    );
    for found in indexed.into_iter().chain(found) {
        diagnostics.append(found);
    }
    (!diagnostics.has_errors()).then_some(CheckedModel::from_checks(model))
}

/// What `rule` finds in `model`, in a list of its own.
fn found(model: &Model, rule: Rule) -> Diagnostics {
    let mut found = Diagnostics::default();
    rule(model, &mut found);
    found
}

/// What `rule` finds in `model` with `index`, in a list of its own.
fn found_indexed(model: &Model, index: &AddressIndex, rule: IndexedRule) -> Diagnostics {
    let mut found = Diagnostics::default();
    rule(model, index, &mut found);
    found
}
