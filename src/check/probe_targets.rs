//! SY0712: a failover probe target must be an address an ICMP (ICMPv6) echo can
//! reach through the uplink and be answered from beyond it, sent from the
//! host's address of its family there. The host's own addresses (on this link
//! or another) are answered by the host itself, and a public address of one of
//! its VMs by that VM: either keeps a dead uplink up forever. The link's edge
//! addresses (IPv4's network and broadcast addresses, IPv6's subnet-router
//! anycast address, which the host answers itself) and any multicast address
//! are answered by no single far end, or by none, which holds a live uplink down.

use std::net::IpAddr;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::family::{V4, V6};
use crate::model::{Attachment, Host, HostId, Model, Spanned};

use super::family::{self, Rules};
use super::lookup::FastMap;

pub fn check(model: &Model, out: &mut Diagnostics) {
    // The probe targets of every host, by host and address; most topologies
    // probe a few addresses, so the VMs are looked at only against these.
    let mut targets: FastMap<(HostId, IpAddr), Vec<&Spanned<IpAddr>>> = FastMap::default();
    for (id, host) in model.host_ids().zip(&model.hosts) {
        for attachment in &host.attachments {
            for target in &attachment.probe {
                let problem = match target.value {
                    IpAddr::V4(address) => problem::<V4>(host, attachment, address),
                    IpAddr::V6(address) => problem::<V6>(host, attachment, address),
                };
                match problem {
                    Some(problem) => out.push(bad_target(target, &problem)),
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
fn problem<F: Rules>(host: &Host, attachment: &Attachment, address: F::Addr) -> Option<String> {
    let Some(link) = family::link::<F>(attachment) else {
        return Some(format!(
            "an {} address, but the uplink has no {0} address to probe from",
            F::NAME
        ));
    };
    let link = link.value;
    if !F::is_unicast(address) {
        Some("not a unicast address".to_owned())
    } else if address == F::net_address(&link) {
        Some("the host's own address on this link".to_owned())
    } else if (host.attachments.iter())
        .any(|a| family::link::<F>(a).is_some_and(|l| F::net_address(l) == address))
    {
        Some("the host's own address on another uplink".to_owned())
    } else {
        family::edge::<F>(&link, address).map(|which| format!("the {which} address of this link"))
    }
}

fn bad_target(target: &Spanned<IpAddr>, problem: &str) -> Diagnostic {
    Diagnostic::new(
        Code::BadProbeTarget,
        format!("probe target {} is {problem}", target.value),
        target.span.clone(),
        problem.to_owned(),
    )
    .help("probe the gateway (the default) or a well-connected address beyond it")
}
