//! The nftables backend: one `inet switchyard` table per host (templates/switchyard.nft).

use std::collections::HashMap;

use serde::Serialize;

use super::{Header, hex};
use crate::plan::{self, DecidedBy, Decision, HostPlan, Scope, ranges::Range};

/// The nft table switchyard owns; nothing outside it is touched.
pub const TABLE: &str = "switchyard";

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
    internal: Vec<String>,
    egress_ranges: Vec<Element<'a>>,
    egress_default: Vec<Element<'a>>,
    dnat: Vec<AddressPair<'a>>,
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
    snat: Vec<AddressPair<'a>>,
}

#[derive(Serialize)]
struct Element<'a> {
    vm: &'a str,
    private: String,
    range: String,
    pool_number: u8,
    decided_by: String,
}

#[derive(Serialize)]
struct AddressPair<'a> {
    vm: &'a str,
    private: String,
    public: String,
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
        .map(|pool| Pool {
            name: &pool.name,
            number: pool.number,
            prefix: pool.prefix.to_string(),
            uplink: &pool.uplink,
            mark: hex(pool.mark),
            uplink_mark: hex(pool.mark & plan::UPLINK_MARK_MASK),
            pool_mark: hex(pool.mark & plan::POOL_MARK_MASK),
            keep_mask: hex(!plan::MARK_MASK),
            snat: pool
                .snat
                .iter()
                .map(|(private, public)| AddressPair {
                    vm: vm_names.get(private).copied().unwrap_or_default(),
                    private: private.to_string(),
                    public: public.to_string(),
                })
                .collect(),
        })
        .collect();
    let mut egress_ranges = Vec::new();
    let mut egress_default = Vec::new();
    let mut dnat = Vec::new();
    for vm in &host.vms {
        let element = |range: String, decision: &Decision| Element {
            vm: &vm.name,
            private: vm.private.to_string(),
            range,
            pool_number: decision.pool_number,
            decided_by: describe(&decision.decided_by, decision),
        };
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
            egress_ranges.push(element(range_text(range), decision));
        }
        if let Some(default) = &vm.default {
            egress_default.push(element(String::new(), default));
        }
        for public in &vm.public {
            dnat.push(AddressPair {
                vm: &vm.name,
                private: vm.private.to_string(),
                public: public.address.to_string(),
            });
        }
    }
    dnat.sort_by_key(|pair| pair.public.parse::<std::net::Ipv4Addr>().ok());
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
        internal: host.internal.iter().map(range_text).collect(),
        egress_ranges,
        egress_default,
        dnat,
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
fn range_text(range: &Range) -> String {
    match range.as_prefix() {
        Some(prefix) => prefix.to_string(),
        None => format!("{}-{}", range.first_address(), range.last_address()),
    }
}

fn describe(by: &DecidedBy, decision: &Decision) -> String {
    let scope = match by.scope {
        Scope::Vm => "vm",
        Scope::Project => "project",
    };
    match by.prefix {
        Some(prefix) => format!(
            "{scope} entry {prefix} via {} ({})",
            decision.pool, decision.public
        ),
        None => format!(
            "{scope} default via {} ({})",
            decision.pool, decision.public
        ),
    }
}
