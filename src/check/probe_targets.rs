//! SY0712: a failover probe target must be an address an ICMP echo can reach
//! through the uplink and be answered from beyond it. The host's own addresses
//! (on this link or another) are answered by the host itself, and a public
//! address of one of its VMs by that VM: either keeps a dead uplink up forever.
//! The link's network and broadcast addresses (and any multicast address) are
//! answered by no single far end, or by none, which holds a live uplink down.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Attachment, Host, HostId, Model, Spanned};

pub fn check(model: &Model, out: &mut Diagnostics) {
    // The probe targets of every host, by host and address; most topologies
    // probe a few addresses, so the VMs are looked at only against these.
    let mut targets: HashMap<(HostId, Ipv4Addr), Vec<&Spanned<Ipv4Addr>>> = HashMap::new();
    for (id, host) in model.host_ids().zip(&model.hosts) {
        for attachment in &host.attachments {
            for target in &attachment.probe {
                match problem(host, attachment, target.value) {
                    Some(problem) => out.push(bad_target(target, problem)),
                    None => targets.entry((id, target.value)).or_default().push(target),
                }
            }
        }
    }
    if targets.is_empty() {
        return;
    }
    for vm in &model.vms {
        for public in &vm.public {
            for target in targets.get(&(vm.host, public.value)).into_iter().flatten() {
                let problem = format!("a public address of VM `{}` on this host", vm.name.value);
                out.push(
                    bad_target(target, &problem).also(public.span.clone(), "the VM's address"),
                );
            }
        }
    }
}

/// What is wrong with `address` as a probe target of `attachment`, found from
/// the host's attachments alone.
fn problem(host: &Host, attachment: &Attachment, address: Ipv4Addr) -> Option<&'static str> {
    let link = attachment.address.value;
    if address.is_unspecified()
        || address.is_broadcast()
        || address.is_multicast()
        || address.is_loopback()
    {
        Some("not a unicast address")
    } else if address == link.addr() {
        Some("the host's own address on this link")
    } else if host.attachments.iter().any(|a| a.address.addr() == address) {
        Some("the host's own address on another uplink")
    } else if link.prefix_len() < 31 && address == link.network() {
        Some("the network address of this link")
    } else if link.prefix_len() < 31 && address == link.broadcast() {
        Some("the broadcast address of this link")
    } else {
        None
    }
}

fn bad_target(target: &Spanned<Ipv4Addr>, problem: &str) -> Diagnostic {
    Diagnostic::new(
        Code::BadProbeTarget,
        format!("probe target {} is {problem}", target.value),
        target.span.clone(),
        problem.to_owned(),
    )
    .help("probe the gateway (the default) or a well-connected address beyond it")
}
