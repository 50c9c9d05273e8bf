//! The nftables backend: one `inet switchyard` table per host (templates/switchyard.nft).

use std::collections::HashMap;
use std::fmt::{self, Display, Write};
use std::net::Ipv4Addr;

use serde::Serialize;

use super::{Header, hex};
use crate::plan::{self, DecidedBy, Decision, HostPlan, Scope, ranges::Range};

/// The nft table switchyard owns; nothing outside it is touched.
pub const TABLE: &str = "switchyard";

/// Everything but the map elements is a small structure the template lays out.
/// The elements are the only part that grows with the number of VMs (hundreds of
/// thousands of lines at scale), so the generator writes them as ready lines,
/// `\n\t\t\tKEY : VALUE, # comment` (see [`Elements`]), and the template places
/// each block inside its map's `elements = {`: one string per map instead of a
/// template loop over as many objects.
#[derive(Serialize)]
struct Context<'a> {
    header: &'a str,
    table: &'static str,
    mark_mask: String,
    uplink_mask: String,
    pool_mask: String,
    keep_uplink_mask: String,
    /// Sorted: the set is the same whatever order the topology lists it in.
    lan: Vec<&'a str>,
    uplinks: Vec<Uplink<'a>>,
    pools: Vec<Pool<'a>>,
    /// Elements of set `internal`: `range`.
    internal: Elements,
    /// Elements of map `egress_ranges`: `vm . range : goto via_pool_N`.
    egress_ranges: Elements,
    /// Elements of map `egress_default`: `vm : goto via_pool_N`.
    egress_default: Elements,
    /// Elements of map `dnat_addresses`: `public : private`.
    dnat: Elements,
}

#[derive(Serialize)]
struct Uplink<'a> {
    name: &'a str,
    id: u8,
    interface: &'a str,
    mark: String,
}

#[derive(Serialize)]
struct Pool<'a> {
    name: &'a str,
    number: u8,
    prefix: String,
    uplink: &'a str,
    mark: String,
    uplink_mark: String,
    pool_mark: String,
    keep_mask: String,
    /// Elements of map `snat_pool_N`: `private : public`.
    snat: Elements,
}

/// Element lines of one set or map, each `\n\t\t\tELEMENT,` with an optional
/// `# comment`; empty when it has none (the template then omits `elements`).
#[derive(Default)]
struct Elements(String);

impl Elements {
    fn push(&mut self, element: impl Display, comment: Option<&dyn Display>) {
        // Writing to a String cannot fail.
        let _ = match comment {
            Some(comment) => write!(self.0, "\n\t\t\t{element}, # {comment}"),
            None => write!(self.0, "\n\t\t\t{element},"),
        };
    }
}

impl Serialize for Elements {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

pub fn context<'a>(host: &'a HostPlan, header: &'a Header) -> impl Serialize + 'a {
    let vm_names: HashMap<_, _> = host
        .vms
        .iter()
        .map(|vm| (vm.private, vm.name.as_str()))
        .collect();
    let pools = host
        .pools
        .iter()
        .map(|pool| {
            let mut snat = Elements::default();
            for (private, public) in &pool.snat {
                let vm = vm_names.get(private).copied().unwrap_or_default();
                snat.push(
                    format_args!("{} : {}", Addr(*private), Addr(*public)),
                    Some(&vm),
                );
            }
            Pool {
                name: &pool.name,
                number: pool.number,
                prefix: pool.prefix.to_string(),
                uplink: &pool.uplink,
                mark: hex(pool.mark),
                uplink_mark: hex(pool.mark & plan::UPLINK_MARK_MASK),
                pool_mark: hex(pool.mark & plan::POOL_MARK_MASK),
                keep_mask: hex(!plan::MARK_MASK),
                snat,
            }
        })
        .collect();
    let mut egress_ranges = Elements::default();
    let mut egress_default = Elements::default();
    let mut dnat: Vec<(Ipv4Addr, Ipv4Addr, &str)> = Vec::new();
    for vm in &host.vms {
        // A range that ends where the default would send it anyway needs no element.
        let same_as_default = |decision: &Decision| {
            vm.default
                .as_ref()
                .is_some_and(|d| d.pool_number == decision.pool_number)
        };
        for (range, decision) in vm
            .egress
            .iter()
            .filter(|(_, decision)| !same_as_default(decision))
        {
            egress_ranges.push(
                format_args!(
                    "{} . {} : goto via_pool_{}",
                    Addr(vm.private),
                    RangeText(range),
                    decision.pool_number
                ),
                Some(&Described(&vm.name, decision)),
            );
        }
        if let Some(default) = &vm.default {
            egress_default.push(
                format_args!(
                    "{} : goto via_pool_{}",
                    Addr(vm.private),
                    default.pool_number
                ),
                Some(&Described(&vm.name, default)),
            );
        }
        dnat.extend(
            vm.public
                .iter()
                .map(|public| (public.address, vm.private, vm.name.as_str())),
        );
    }
    dnat.sort_by_key(|(public, _, _)| *public);
    let mut dnat_elements = Elements::default();
    for (public, private, vm) in dnat {
        dnat_elements.push(
            format_args!("{} : {}", Addr(public), Addr(private)),
            Some(&vm),
        );
    }
    let mut internal = Elements::default();
    for range in &host.internal {
        internal.push(RangeText(range), None);
    }
    Context {
        header: header.text(),
        table: TABLE,
        mark_mask: hex(plan::MARK_MASK),
        uplink_mask: hex(plan::UPLINK_MARK_MASK),
        pool_mask: hex(plan::POOL_MARK_MASK),
        keep_uplink_mask: hex(!plan::UPLINK_MARK_MASK),
        lan: {
            let mut lan: Vec<&str> = host.lan.iter().map(String::as_str).collect();
            lan.sort_unstable();
            lan
        },
        uplinks: host
            .uplinks
            .iter()
            .map(|u| Uplink {
                name: &u.name,
                id: u.id,
                interface: &u.interface,
                mark: hex(u.mark),
            })
            .collect(),
        pools,
        internal,
        egress_ranges,
        egress_default,
        dnat: dnat_elements,
    }
}

/// nft refuses a `comment "…"` longer than this many bytes.
pub const COMMENT_MAX_BYTES: usize = 128;

/// The `nft_comment` template filter: text that is safe inside an nft
/// `comment "…"` — no quote, backslash or control character, at most
/// [`COMMENT_MAX_BYTES`] (two 63-byte names overflow it; the end is cut).
pub fn comment(text: String) -> String {
    let safe: String = text
        .chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    if safe.len() <= COMMENT_MAX_BYTES {
        return safe;
    }
    let mut end = COMMENT_MAX_BYTES - "...".len();
    while !safe.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &safe[..end])
}

/// A prefix when the range is one (`100.64.0.0/10`), else `first-last`.
struct RangeText<'a>(&'a Range);

impl Display for RangeText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_prefix() {
            Some(prefix) => write!(f, "{}/{}", Addr(prefix.network()), prefix.prefix_len()),
            None => write!(
                f,
                "{}-{}",
                Addr(self.0.first_address()),
                Addr(self.0.last_address())
            ),
        }
    }
}

/// An address in dotted quad, written without the formatting machinery per
/// octet: the script of a host with 100k VMs holds about a million of them.
struct Addr(Ipv4Addr);

impl Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = [0u8; 15];
        let mut len = 0;
        for (i, octet) in self.0.octets().into_iter().enumerate() {
            if i > 0 {
                text[len] = b'.';
                len += 1;
            }
            if octet >= 100 {
                text[len] = b'0' + octet / 100;
                len += 1;
            }
            if octet >= 10 {
                text[len] = b'0' + octet / 10 % 10;
                len += 1;
            }
            text[len] = b'0' + octet % 10;
            len += 1;
        }
        f.write_str(std::str::from_utf8(&text[..len]).expect("digits and dots"))
    }
}

/// An element's comment: `VM: scope entry PREFIX via POOL (PUBLIC)`, or
/// `VM: scope default via POOL (PUBLIC)`.
struct Described<'a>(&'a str, &'a Decision);

impl Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Described(vm, decision) = self;
        let DecidedBy { scope, prefix, .. } = &decision.decided_by;
        let scope = match scope {
            Scope::Vm => "vm",
            Scope::Project => "project",
        };
        match prefix {
            Some(prefix) => write!(
                f,
                "{vm}: {scope} entry {prefix} via {} ({})",
                decision.pool, decision.public
            ),
            None => write!(
                f,
                "{vm}: {scope} default via {} ({})",
                decision.pool, decision.public
            ),
        }
    }
}
