//! SY0805, SY0806, SY0807: the addresses of a pair fit their links. The sync
//! addresses are two host addresses of one link; each member's own address on
//! an uplink is a host address of the shared address's link; and that link
//! holds the shared address, the gateway and both members.

use ipnet::Ipv4Net;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::family::V4;
use crate::model::{Model, Spanned};

/// Why `address` is not a host address of `link`, if it is not.
fn off_link(link: Ipv4Net, address: Ipv4Net) -> Option<String> {
    if address.prefix_len() != link.prefix_len() || address.trunc() != link.trunc() {
        Some(format!("not on the link {}", link.trunc()))
    } else if link.prefix_len() < 31
        && (address.addr() == link.network() || address.addr() == link.broadcast())
    {
        Some(format!(
            "the network or broadcast address of {}",
            link.trunc()
        ))
    } else {
        None
    }
}

/// Host addresses on a link of this prefix length (a /31 has two, RFC 3021).
fn host_addresses(prefix_len: u8) -> u64 {
    match prefix_len {
        32 => 1,
        31 => 2,
        len => (1u64 << (32 - u32::from(len))) - 2,
    }
}

/// What a link of a pair's uplink must hold: the shared address, the
/// gateway and each member's own.
const PAIR_LINK_ADDRESSES: u64 = 4;

/// Whether a link of this prefix length has room for a pair (SY0807 says so
/// when not, and SY0808 then stays silent about its members' addresses: on
/// such a link some must repeat).
pub(super) fn fits_a_pair(prefix_len: u8) -> bool {
    host_addresses(prefix_len) >= PAIR_LINK_ADDRESSES
}

pub fn check(model: &Model, out: &mut Diagnostics) {
    for host in &model.hosts {
        let Some(ha) = &host.ha else {
            continue;
        };
        let [first, second] = &ha.sync_addresses.0;
        let sync_problem = if first.value.prefix_len() == 32 {
            Some("a /32 holds no peer".to_owned())
        } else {
            off_link(first.value, second.value)
                .or_else(|| off_link(second.value, first.value))
                .or_else(|| off_link(first.value, first.value))
        };
        if let Some(problem) = sync_problem {
            out.push(
                Diagnostic::new(
                    Code::HaSyncLink,
                    format!(
                        "the sync addresses of host `{}` are not two host addresses of one link: {problem}",
                        host.name.value
                    ),
                    second.span.clone(),
                    "the second member's",
                )
                .also(first.span.clone(), "the first member's")
                .help(
                    "give both members an address of the same subnet and prefix length on the \
                     sync link, e.g. 10.255.0.1/30 and 10.255.0.2/30",
                ),
            );
        }
        for attachment in &host.attachments {
            let Some(own) = &attachment.member_addresses else {
                continue;
            };
            // A pair's uplinks are IPv4 (an IPv6 address there is SY1006's).
            let Some(shared) = &attachment.address.v4 else {
                continue;
            };
            let link = shared.value;
            if !super::family::is_routable_link::<V4>(link.prefix_len()) {
                // SY0706 says why nothing fits on this link.
                continue;
            }
            let uplink = &model.uplink(attachment.uplink).name.value;
            let mut fits = true;
            for (member, address) in ha.members.iter().zip(own.value.iter()) {
                if let Some(problem) = off_link(link, address.value) {
                    fits = false;
                    out.push(member_off_link(
                        host,
                        uplink,
                        &member.value,
                        address,
                        &problem,
                        shared,
                    ));
                }
            }
            if fits && !fits_a_pair(link.prefix_len()) {
                let too_small = Diagnostic::new(
                    Code::HaLinkTooSmall,
                    format!(
                        "the link {} of host `{}` on uplink `{uplink}` has {} host address(es); a pair needs {PAIR_LINK_ADDRESSES}",
                        link.trunc(),
                        host.name.value,
                        host_addresses(link.prefix_len())
                    ),
                    shared.span.clone(),
                    format!("a /{} link", link.prefix_len()),
                )
                .also(own.span.clone(), "each member's own");
                let too_small = match &attachment.gateway.v4 {
                    Some(gateway) => too_small.also(gateway.span.clone(), "the gateway"),
                    None => too_small,
                };
                out.push(too_small.help(
                    "the shared address, the gateway and both members' own addresses each \
                     need one: ask the ISP for a /29 (or larger) link",
                ));
            }
        }
    }
}

fn member_off_link(
    host: &crate::model::Host,
    uplink: &str,
    member: &str,
    address: &Spanned<Ipv4Net>,
    problem: &str,
    shared: &Spanned<Ipv4Net>,
) -> Diagnostic {
    Diagnostic::new(
        Code::MemberAddressOutsideLink,
        format!(
            "the address {} of member `{member}` of host `{}` on uplink `{uplink}` is {problem}",
            address.value, host.name.value
        ),
        address.span.clone(),
        "not a host address of the link",
    )
    .also(shared.span.clone(), "the shared address and its link")
    .help(format!(
        "give `{member}` an address of {} with the same prefix length",
        shared.value.trunc()
    ))
}
