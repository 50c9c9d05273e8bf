//! SY1003: no IPv6 address or prefix where a VM, a project or a pool expects
//! one lies in a block that is not routed beyond one link or one machine: the
//! unspecified address, loopback, link-local (fe80::/10) or multicast
//! (ff00::/8). The host never forwards such a packet, so a VM or a public
//! address there is unreachable. (IPv4's special blocks are SY0604's and the
//! pool rules'.)

use std::net::{IpAddr, Ipv6Addr};

use ipnet::Ipv6Net;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
use crate::family::{Family, V6};
use crate::intervals::{Range, prefixes_overlap};
use crate::model::{Model, Spanned};

/// The blocks, with what an address in them is.
const BLOCKS: &[(Ipv6Net, &str)] = &[
    (block(Ipv6Addr::UNSPECIFIED, 128), "the unspecified address"),
    (block(Ipv6Addr::LOCALHOST, 128), "the loopback address"),
    (
        block(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
        "a link-local address",
    ),
    (
        block(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),
        "a multicast address",
    ),
];

const fn block(address: Ipv6Addr, prefix_len: u8) -> Ipv6Net {
    Ipv6Net::new_assert(address, prefix_len)
}

pub fn check(model: &Model, out: &mut Diagnostics) {
    // As integer ranges, so each of 100k VMs' addresses costs a few comparisons.
    let blocks: Vec<(Range<V6>, &str)> = (BLOCKS.iter())
        .map(|(block, kind)| (Range::of(block), *kind))
        .collect();
    for pool in &model.pools {
        if let Some(prefix) = &pool.prefix.v6 {
            let what = format!("pool `{}` prefix", pool.name.value);
            check_net(&what, prefix, out);
        }
    }
    for project in &model.projects {
        let name = &project.name.value;
        let what = || format!("project `{name}` address");
        for address in &project.addresses {
            check_address(&blocks, what, address, out);
        }
        for network in project.networks_of::<V6>() {
            check_net(&format!("project `{name}` network"), &network, out);
        }
    }
    for vm in &model.vms {
        let name = &vm.name.value;
        if let Some(private) = &vm.address.v6 {
            let private = Spanned::new(IpAddr::from(private.value), private.span.clone());
            let what = || format!("VM `{name}` private address");
            check_address(&blocks, what, &private, out);
        }
        let what = || format!("VM `{name}` public address");
        for public in &vm.public {
            check_address(&blocks, what, public, out);
        }
    }
}

/// `what` names the address only when it is in a block: most of 100k never are.
fn check_address(
    blocks: &[(Range<V6>, &str)],
    what: impl Fn() -> String,
    address: &Spanned<IpAddr>,
    out: &mut Diagnostics,
) {
    let Some(v6) = V6::of_ip(address.value) else {
        return;
    };
    if let Some((_, kind)) = blocks.iter().find(|(block, _)| block.contains(v6)) {
        let message = format!("{} {v6} is {kind}", what());
        out.push(not_global(message, address.span.clone(), kind));
    }
}

fn check_net(what: &str, net: &Spanned<Ipv6Net>, out: &mut Diagnostics) {
    if let Some((block, kind)) = BLOCKS
        .iter()
        .find(|(block, _)| prefixes_overlap::<V6>(block, &net.value))
    {
        let message = format!("{what} {} overlaps {block}, {kind}", net.value);
        out.push(not_global(message, net.span.clone(), kind));
    }
}

fn not_global(message: String, span: Span, kind: &str) -> Diagnostic {
    Diagnostic::new(Code::NotGlobalAddress, message, span, kind.to_owned()).help(
        "use a global (2000::/3) or unique local (fc00::/7) address: the host forwards no \
         packet to or from this one",
    )
}
