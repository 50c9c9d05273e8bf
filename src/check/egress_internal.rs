//! SY0502: an egress prefix never overlaps an internal network (a project network or
//! a VM address on the same host); internal traffic is never NATed (docs/semantics.md §2 rule 1),
//! so such an entry would half-apply.

use std::collections::HashMap;

use ipnet::Ipv4Net;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::intervals::PrefixIndex;
use crate::model::{Egress, HostId, Model, Spanned, Vm};

pub fn check(model: &Model, out: &mut Diagnostics) {
    let networks = PrefixIndex::new(model.project_networks().map(|n| (n.value, n)));
    let mut vms_by_host: HashMap<HostId, Vec<(Ipv4Net, &Vm)>> = HashMap::new();
    for vm in &model.vms {
        vms_by_host
            .entry(vm.host)
            .or_default()
            .push((Ipv4Net::from(vm.address.value), vm));
    }
    let vms_by_host: HashMap<HostId, PrefixIndex<Vm>> = vms_by_host
        .into_iter()
        .map(|(host, vms)| (host, PrefixIndex::new(vms)))
        .collect();
    let all_vms = PrefixIndex::new(
        model
            .vms
            .iter()
            .map(|vm| (Ipv4Net::from(vm.address.value), vm)),
    );

    for project in &model.projects {
        for entry in &project.egress {
            check_entry(entry, &networks, &all_vms, out);
        }
    }
    for vm in &model.vms {
        for entry in &vm.egress {
            check_entry(entry, &networks, &vms_by_host[&vm.host], out);
        }
    }
}

fn check_entry<V>(
    entry: &Egress<V>,
    networks: &PrefixIndex<Spanned<Ipv4Net>>,
    vms: &PrefixIndex<Vm>,
    out: &mut Diagnostics,
) {
    // What the prefix overlaps, pointed at, and what is never NATed.
    let (overlaps, label, internal, internal_label, never_nated) = if let Some(network) =
        networks.overlapping(&entry.to)
    {
        (
            format!("overlaps internal network {}", network.value),
            "overlaps an internal network",
            network.span.clone(),
            "internal network",
            "internal traffic is never NATed; narrow the prefix so it leaves internal networks out",
        )
    } else if let Some(vm) = vms.overlapping(&entry.to) {
        (
            format!("contains the private address of VM `{}`", vm.name.value),
            "overlaps an internal address",
            vm.address.span.clone(),
            "VM address",
            "traffic between VMs on one host is never NATed; narrow the prefix so it leaves VM addresses out",
        )
    } else {
        return;
    };
    out.push(
        Diagnostic::new(
            Code::EgressOverlapsInternal,
            format!("egress prefix {} {overlaps}", entry.to.value),
            entry.to.span.clone(),
            label,
        )
        .also(internal, internal_label)
        .help(never_nated),
    );
}
