//! Bounds that keep time and memory proportional to the input, whatever it holds.
//!
//! Runs before the other rules. Two kinds of topology are refused here:
//!
//! - counts that can only be wrong (more pools than marks can number, more uplinks
//!   than ids, a VM with more public addresses than the pools of both families
//!   can hold): only the rule that explains the problem runs, since the others
//!   multiply these counts;
//! - a topology whose artifacts would hold more than [`MAX_PLANNED_ELEMENTS`] nft
//!   set and map elements (SY0005): project-wide egress entries apply to every VM
//!   of the project and every host's `internal` set holds every project network,
//!   so a small file can ask for billions of elements.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::layout::MAX_POOLS;
use crate::model::{HostId, Model};

/// Largest number of nft set and map elements (summed over every host) a
/// topology may need, estimated before planning from the egress entries each VM's
/// map is painted from, the `internal` set and the address maps. A million egress
/// entries for one VM fit; building near the limit takes seconds and about 1 GiB
/// (docs/fuzzing.md has the measurements).
pub const MAX_PLANNED_ELEMENTS: usize = 2_000_000;

/// Uplink ids are 1..=255, so more uplinks than this always share an id.
const MAX_UPLINKS: usize = 255;

/// Reports what is over a limit; `true` when the other rules must not run.
pub fn check(model: &Model, out: &mut Diagnostics) -> bool {
    if model.pools.len() > MAX_POOLS || model.uplinks.len() > MAX_UPLINKS {
        super::pool_count::check(model, out);
        super::uplink_identity::check(model, out);
        return true;
    }
    // At most one public address per pool and family.
    if model.vms.iter().any(|vm| vm.public.len() > 2 * MAX_POOLS) {
        super::vm_public::check(model, &super::AddressIndex::new(model), out);
        return true;
    }
    let planned = planned_elements(model);
    let total: usize = planned.iter().map(|(_, count)| count).sum();
    if total > MAX_PLANNED_ELEMENTS {
        let (largest, count) = planned
            .iter()
            .max_by_key(|(host, count)| (*count, std::cmp::Reverse(host.0)))
            .copied()
            .expect("over the limit, so some host has elements");
        let host = model.host(largest);
        out.push(
            Diagnostic::new(
                Code::InputTooLarge,
                format!(
                    "the artifacts would hold up to {total} nftables set and map elements, \
                     more than switchyard's limit of {MAX_PLANNED_ELEMENTS}"
                ),
                host.name.span.clone(),
                format!("{count} of them on this host"),
            )
            .help(
                "each project-wide egress entry is repeated for every VM of the project, and \
                 every host's `internal` set holds every project network: move entries to the \
                 VMs that need them, merge prefixes, or split the topology",
            ),
        );
        return true;
    }
    false
}

/// Per host: project networks (its `internal` set), its VMs' addresses (internal,
/// default, DNAT, SNAT) and, per VM, the VM's and its project's egress entries
/// (each entry usually becomes one range; nested ones split what they cut into).
/// Saturating: the inputs are bounded, the products are not.
fn planned_elements(model: &Model) -> Vec<(HostId, usize)> {
    let networks: usize = model.projects.iter().map(|p| p.networks.len()).sum();
    let mut per_host = vec![networks; model.hosts.len()];
    for vm in &model.vms {
        let entries = vm.egress.len() + model.project(vm.project).egress.len();
        let count = &mut per_host[vm.host.0];
        *count = count
            .saturating_add(entries + 1)
            .saturating_add(2 * vm.public.len() + 1);
    }
    per_host
        .into_iter()
        .enumerate()
        .map(|(i, count)| (HostId(i), count))
        .collect()
}
