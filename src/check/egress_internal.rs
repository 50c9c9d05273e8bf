//! SY0502: an egress prefix never overlaps an internal network of its family
//! (a project network or a VM address on the same host); internal traffic is
//! never NATed (docs/semantics.md §2 rule 1), so such an entry would half-apply.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::family::{Family, V4, V6};
use crate::intervals::PrefixIndex;
use crate::model::{Egress, Model, Spanned, Vm};

use super::family;

pub fn check(model: &Model, out: &mut Diagnostics) {
    check_family::<V4>(model, out);
    check_family::<V6>(model, out);
}

/// A VM's private address of family `F` as a prefix of one address.
fn private_net<F: Family>(vm: &Vm) -> Option<F::Net> {
    F::net(vm.address::<F>()?, F::MAX_PREFIX_LEN)
}

fn check_family<F: Family>(model: &Model, out: &mut Diagnostics) {
    let networks: Vec<Spanned<F::Net>> = model.project_networks::<F>().collect();
    let networks = PrefixIndex::<_, F>::new(networks.iter().map(|n| (n.value, n)));
    // By host id.
    let mut vms_by_host: Vec<Vec<(F::Net, &Vm)>> = vec![Vec::new(); model.hosts.len()];
    for vm in &model.vms {
        vms_by_host[vm.host.0].extend(private_net::<F>(vm).map(|net| (net, vm)));
    }
    let vms_by_host: Vec<PrefixIndex<Vm, F>> =
        vms_by_host.into_iter().map(PrefixIndex::new).collect();
    let all_vms = PrefixIndex::<_, F>::new(
        model
            .vms
            .iter()
            .filter_map(|vm| Some((private_net::<F>(vm)?, vm))),
    );

    for project in &model.projects {
        for entry in &project.egress {
            check_entry(entry, &networks, &all_vms, out);
        }
    }
    for vm in &model.vms {
        for entry in &vm.egress {
            check_entry(entry, &networks, &vms_by_host[vm.host.0], out);
        }
    }
}

fn check_entry<V, F: Family>(
    entry: &Egress<V>,
    networks: &PrefixIndex<Spanned<F::Net>, F>,
    vms: &PrefixIndex<Vm, F>,
    out: &mut Diagnostics,
) {
    let Some(to) = entry.to::<F>() else {
        return;
    };
    // What the prefix overlaps, pointed at, and what is never NATed.
    let (overlaps, label, internal, internal_label, never_nated) = if let Some(network) =
        networks.overlapping(&to)
    {
        (
            format!("overlaps internal network {}", network.value),
            "overlaps an internal network",
            network.span.clone(),
            "internal network",
            "internal traffic is never NATed; narrow the prefix so it leaves internal networks out",
        )
    } else if let Some((vm, private)) = vms
        .overlapping(&to)
        .and_then(|vm| Some((vm, family::private::<F>(vm)?)))
    {
        (
            format!("contains the private address of VM `{}`", vm.name.value),
            "overlaps an internal address",
            private.span.clone(),
            "VM address",
            "traffic between VMs on one host is never NATed; narrow the prefix so it leaves VM addresses out",
        )
    } else {
        return;
    };
    out.push(
        Diagnostic::new(
            Code::EgressOverlapsInternal,
            format!("egress prefix {to} {overlaps}"),
            entry.to.span.clone(),
            label,
        )
        .also(internal, internal_label)
        .help(never_nated),
    );
}
