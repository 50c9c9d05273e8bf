//! What the rules need to know of an address family beyond [`Family`]: which
//! addresses of a prefix no host may have, which gateways need no link, which
//! addresses can answer a probe and which no VM may be numbered from. Rules
//! are written once, generic over `F: Rules`, and run once per family (or take
//! an address of either family to the rule of its own).

use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::Ipv4Net;

use crate::diagnostic::Code;
use crate::family::{Bits, Family, V4, V6};
use crate::model::{Attachment, Pool, Spanned, Vm};

pub(super) trait Rules: Family {
    /// The first address of a prefix shorter than this is no host's (nor,
    /// with [`Rules::BROADCAST`], its last): IPv4's network address, none on
    /// a /31 or /32 (RFC 3021); IPv6's subnet-router anycast address, which
    /// every forwarding Linux host answers on its links, none on a /127 or
    /// /128 (RFC 6164).
    const EDGES_BELOW: u8;
    /// What the first address of such a prefix is called.
    const FIRST_EDGE: &'static str;
    /// The last address of such a prefix is its broadcast address.
    const BROADCAST: bool;
    /// A project address that is such an address of its pool.
    const UNUSABLE_IN_POOL: Code;
    /// A link as long as one address still has room for a gateway: a
    /// link-local one (IPv6).
    const HOST_LINKS_ROUTABLE: bool;
    /// The link prefix lengths an uplink may have, for SY0706's help.
    const LINK_LENGTHS: &'static str;
    /// Where a gateway may be, for SY0702's help when the family allows more
    /// than the link.
    const GATEWAY_HELP: Option<&'static str>;

    /// A gateway reached on the interface, whatever the link's prefix
    /// (IPv6's fe80::/10).
    fn is_link_local_gateway(address: Self::Addr) -> bool;
    /// An address one far end answers an echo from.
    fn is_unicast(address: Self::Addr) -> bool;
    /// What a VM's private address is when it is in a block no VM can use;
    /// IPv6's blocks are SY1003's.
    fn special_purpose(address: Self::Addr) -> Option<&'static str>;
}

impl Rules for V4 {
    const EDGES_BELOW: u8 = 31;
    const FIRST_EDGE: &'static str = "network";
    const BROADCAST: bool = true;
    const UNUSABLE_IN_POOL: Code = Code::AddressNotUsable;
    const HOST_LINKS_ROUTABLE: bool = false;
    const LINK_LENGTHS: &'static str = "/1 to /31 (a point-to-point link is a /31 or a /30)";
    const GATEWAY_HELP: Option<&'static str> = None;

    fn is_link_local_gateway(_: Ipv4Addr) -> bool {
        false
    }
    fn is_unicast(address: Ipv4Addr) -> bool {
        !(address.is_unspecified()
            || address.is_broadcast()
            || address.is_multicast()
            || address.is_loopback())
    }
    fn special_purpose(address: Ipv4Addr) -> Option<&'static str> {
        special_purpose_v4(address)
    }
}

impl Rules for V6 {
    const EDGES_BELOW: u8 = 127;
    const FIRST_EDGE: &'static str = "subnet-router anycast";
    const BROADCAST: bool = false;
    const UNUSABLE_IN_POOL: Code = Code::SubnetRouterAnycast;
    const HOST_LINKS_ROUTABLE: bool = true;
    const LINK_LENGTHS: &'static str = "/1 to /128 (a point-to-point link is a /64 or a /127, or a /128 with a link-local gateway)";
    const GATEWAY_HELP: Option<&'static str> = Some(
        "an IPv6 gateway is a link-local address (fe80::/10, reached on the uplink's \
         interface) or an address inside the link",
    );

    fn is_link_local_gateway(address: Ipv6Addr) -> bool {
        address.is_unicast_link_local()
    }
    fn is_unicast(address: Ipv6Addr) -> bool {
        !(address.is_unspecified() || address.is_multicast() || address.is_loopback())
    }
    fn special_purpose(_: Ipv6Addr) -> Option<&'static str> {
        None
    }
}

/// Which of `net`'s edge addresses `address` is, if it is one no host may
/// have ([`Rules::EDGES_BELOW`]).
pub(super) fn edge<F: Rules>(net: &F::Net, address: F::Addr) -> Option<&'static str> {
    if F::prefix_len(net) >= F::EDGES_BELOW {
        None
    } else if address == F::first(net) {
        Some(F::FIRST_EDGE)
    } else if F::BROADCAST && address == F::last(net) {
        Some("broadcast")
    } else {
        None
    }
}

/// The first and last address of `net` a host may have.
pub(super) fn usable<F: Rules>(net: &F::Net) -> (F::Addr, F::Addr) {
    let (first, last) = (F::bits(F::first(net)), F::last_bits(net));
    if F::prefix_len(net) >= F::EDGES_BELOW {
        return (F::address(first), F::address(last));
    }
    let first = first.checked_next().unwrap_or(first);
    let last = if F::BROADCAST { last.previous() } else { last };
    (F::address(first), F::address(last))
}

/// The prefix of `net` with its host bits cleared.
pub(super) fn trunc<F: Family>(net: &F::Net) -> F::Net {
    F::net(F::first(net), F::prefix_len(net)).expect("a prefix's own length fits")
}

/// A link of this prefix length has room for the host and a gateway, and its
/// link route is not a default route.
pub(super) fn is_routable_link<F: Rules>(prefix_len: u8) -> bool {
    prefix_len >= 1 && (prefix_len < F::MAX_PREFIX_LEN || F::HOST_LINKS_ROUTABLE)
}

/// The pool's prefix of family `F` with its span.
pub(super) fn prefix<F: Family>(pool: &Pool) -> Option<&Spanned<F::Net>> {
    F::of(&pool.prefix).as_ref()
}

/// The host's address of family `F` on an attachment, with the link's prefix length.
pub(super) fn link<F: Family>(attachment: &Attachment) -> Option<&Spanned<F::Net>> {
    F::of(&attachment.address).as_ref()
}

/// The attachment's gateway of family `F`.
pub(super) fn gateway<F: Family>(attachment: &Attachment) -> Option<&Spanned<F::Addr>> {
    F::of(&attachment.gateway).as_ref()
}

/// The VM's private address of family `F` with its span.
pub(super) fn private<F: Family>(vm: &Vm) -> Option<&Spanned<F::Addr>> {
    F::of(&vm.address).as_ref()
}

/// The family's name and a space ("IPv6 ") where a pool holds both
/// families, so a count or a pair of addresses says which; nothing otherwise.
pub(super) fn qualifier(pool: &Pool, family: &str) -> String {
    match (&pool.prefix.v4, &pool.prefix.v6) {
        (Some(_), Some(_)) => format!("{family} "),
        _ => String::new(),
    }
}

/// A pool's prefixes, for a message: `198.51.100.0/24, 2001:db8:a::/48`.
pub(super) fn prefixes(pool: &Pool) -> String {
    let v4 = pool.prefix.v4.as_ref().map(|p| p.value.to_string());
    let v6 = pool.prefix.v6.as_ref().map(|p| p.value.to_string());
    v4.into_iter().chain(v6).collect::<Vec<_>>().join(", ")
}

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

/// What `address` is when it is in a block no VM can use.
fn special_purpose_v4(address: Ipv4Addr) -> Option<&'static str> {
    NON_UNICAST_BLOCKS
        .iter()
        .find(|(block, _)| block.contains(&address))
        .map(|(_, what)| *what)
}
