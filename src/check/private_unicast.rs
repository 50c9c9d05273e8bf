//! SY0604: a VM's private address is an address a NIC can have and the host can
//! route to: not a special-purpose block (RFC 6890), and not the network or
//! broadcast address of one of its project's networks.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Model, Spanned};

/// Blocks no VM can use as its address, with what they are. The limited broadcast
/// address comes before the reserved block that contains it, so it is named.
const NON_UNICAST_BLOCKS: &[(Ipv4Net, &str)] = &[
    (block(0, 0, 0, 0, 8), "in 0.0.0.0/8, \"this network\""),
    (block(127, 0, 0, 0, 8), "a loopback address"),
    (block(169, 254, 0, 0, 16), "a link-local address"),
    (block(224, 0, 0, 0, 4), "a multicast address"),
    (
        block(255, 255, 255, 255, 32),
        "the limited broadcast address",
    ),
    (block(240, 0, 0, 0, 4), "in the reserved block 240.0.0.0/4"),
];

const fn block(a: u8, b: u8, c: u8, d: u8, prefix_len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix_len)
}

pub fn check(model: &Model, out: &mut Diagnostics) {
    // Per project, the network and broadcast addresses of its networks: one hash
    // lookup per VM, however many networks a project lists.
    let edges: Vec<HashMap<Ipv4Addr, (&str, &Spanned<Ipv4Net>)>> = model
        .projects
        .iter()
        .map(|project| {
            let mut edges = HashMap::new();
            // A /31 or /32 has no network or broadcast address (RFC 3021).
            for network in project.networks.iter().filter(|n| n.prefix_len() < 31) {
                edges
                    .entry(network.network())
                    .or_insert(("network", network));
                edges
                    .entry(network.broadcast())
                    .or_insert(("broadcast", network));
            }
            edges
        })
        .collect();
    for vm in &model.vms {
        let address = vm.address.value;
        let special = NON_UNICAST_BLOCKS
            .iter()
            .find(|(block, _)| block.contains(&address));
        let diagnostic = if let Some((_, what)) = special {
            Diagnostic::new(
                Code::PrivateNotUnicast,
                format!("VM `{}` address {address} is {what}", vm.name.value),
                vm.address.span.clone(),
                "not a unicast host address",
            )
        } else if let Some((which, network)) = edges[vm.project.0].get(&address) {
            Diagnostic::new(
                Code::PrivateNotUnicast,
                format!(
                    "VM `{}` address {address} is the {which} address of its project's \
                     network {}",
                    vm.name.value, network.value
                ),
                vm.address.span.clone(),
                format!("{which} address"),
            )
            .also(network.span.clone(), "the project network")
        } else {
            continue;
        };
        out.push(diagnostic.help(
            "give the VM an ordinary host address of its project's network: packets to \
             or from this one are dropped or never routed to the VM",
        ));
    }
}
