//! `switchyard changes OLD NEW`: what NEW makes the dataplane do differently
//! from OLD (docs/semantics.md §11), decision by decision, read from the two
//! plans — never from artifact text, so a reordered or re-commented topology
//! changes nothing.
//!
//! Per host (by name): its settings (uplink attachments, LAN interfaces,
//! failover timing), its VMs added or removed, each kept VM's private address
//! of each family, MAC binding and the destination ranges whose outcome
//! changes, and the inbound public addresses whose VM (or pool) changes. Each
//! family is compared on its own, by one implementation generic over
//! [`Family`], run for IPv4 and for IPv6. A destination's outcome
//! is what [`HostPlan::outcome`] says without the deciding entry: the host
//! itself, internal, left alone, or the candidates (public address, pool,
//! uplink) it leaves by. The
//! entry is reported, never compared, so an entry that repeats what the project
//! decides, or one a VM's own entry overrides, changes nothing. A hairpin is the
//! egress decision for a public address of the host plus that address's VM, so
//! it changes exactly when one of those does: the first is a destination range,
//! the second an inbound address. Pure: no IO.

mod render;

pub use render::ChangesOutput;

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use rayon::prelude::*;
use schemars::JsonSchema;
use serde::Serialize;

use crate::Validated;
use crate::diagnostic::Source;
use crate::family::{Bits, Family, V4, V6};
use crate::intervals::{self, Range};
use crate::model::{Model, VmId};
use crate::plan::{Decision, FamilyPlan, HostPlan, Outcome, UplinkLink, UplinkPlan, VmPlan};
use crate::trace::Entry;

/// One topology read and planned: what `changes` compares.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    pub source: &'a Source,
    pub validated: &'a Validated,
}

/// NEW's side with the line and column of every entry that decides a range or
/// a default of some VM, found in one pass over its text (a lookup per
/// changed range would read a 20 MB file once per range).
#[derive(Clone, Copy)]
struct Located<'a> {
    side: Side<'a>,
    positions: &'a HashMap<usize, (usize, usize)>,
}

impl Located<'_> {
    fn entry<F: Family>(&self, decision: &Decision<F>) -> Entry {
        let by = decision.decided_by;
        let model = self.side.model();
        let position = self.positions[&model.entry_span(by).start];
        Entry::at(self.side.source, model, by, position)
    }
}

fn deciding_offsets(side: Side) -> HashMap<usize, (usize, usize)> {
    let model = side.model();
    let mut offsets = HashSet::new();
    for host in &side.validated.plan().hosts {
        offsets.extend(entry_offsets(model, host.family::<V4>()));
        offsets.extend(entry_offsets(model, host.family::<V6>()));
    }
    side.source.line_columns(offsets.into_iter())
}

/// Where the entries deciding a range or default of the family's VMs start.
fn entry_offsets<'a, F: Family>(
    model: &'a Model,
    family: &'a FamilyPlan<F>,
) -> impl Iterator<Item = usize> + 'a {
    family
        .vms
        .iter()
        .flat_map(VmPlan::decisions)
        .map(|d| model.entry_span(d.decided_by).start)
}

impl<'a> Side<'a> {
    fn model(&self) -> &'a Model {
        self.validated.model()
    }

    fn host(&self, name: &str) -> Option<&'a HostPlan> {
        self.validated.plan().hosts.iter().find(|h| h.name == name)
    }

    fn vm_name<F: Family>(&self, vm: &VmPlan<F>) -> &'a str {
        &self.model().vm(vm.vm).name.value
    }
}

/// Every change, host by host (by name); hosts without any are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Changes {
    pub hosts: Vec<HostChanges>,
}

/// A value before and after; `None` where it is absent (added, removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Change<T> {
    pub old: Option<T>,
    pub new: Option<T>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct HostChanges {
    pub host: String,
    /// Whether the host is new, gone or in both topologies.
    pub presence: Presence,
    /// The host's own settings that differ, by name.
    pub settings: Vec<SettingChange>,
    /// The VMs added, removed or changed on this host, by name.
    pub vms: Vec<VmChanges>,
    /// The public addresses whose inbound VM (or pool, uplink) changes, by
    /// address: added, removed (then dropped on arrival) or moved.
    pub inbound: Vec<InboundChange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    /// Only in NEW.
    Added,
    /// Only in OLD.
    Removed,
    /// In both.
    Kept,
}

impl Presence {
    fn of<T>(old: Option<T>, new: Option<T>) -> Presence {
        match (old, new) {
            (None, _) => Presence::Added,
            (_, None) => Presence::Removed,
            _ => Presence::Kept,
        }
    }
}

/// An uplink attachment (`uplink isp-a`), the LAN interfaces (`lan`) or the
/// failover timing (`failover`), each described in one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SettingChange {
    pub setting: String,
    #[serde(flatten)]
    pub change: Change<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct VmChanges {
    pub vm: String,
    pub presence: Presence,
    /// Its private IPv4 address, before and after (equal when it stays;
    /// `None` where it has none).
    pub private_address: Change<IpAddr>,
    /// Its private IPv6 address, before and after, when it has one in either
    /// topology.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_address_v6: Option<Change<IpAddr>>,
    /// Present when the MAC its addresses are bound to changes (`None`: unbound).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<Change<String>>,
    /// For a VM in both: the destination ranges whose outcome changes, IPv4
    /// then IPv6, by address, adjacent ranges with the same change merged.
    pub destinations: Vec<RangeChange>,
}

impl VmChanges {
    /// Its private address of each family it has in either topology, IPv4
    /// first.
    pub fn private_addresses(&self) -> impl Iterator<Item = &Change<IpAddr>> {
        let v4 = &self.private_address;
        let has_v4 = v4.old.is_some() || v4.new.is_some();
        has_v4
            .then_some(v4)
            .into_iter()
            .chain(&self.private_address_v6)
    }
}

/// A range of destinations of one family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct RangeChange {
    pub first: IpAddr,
    pub last: IpAddr,
    /// The range as written: one address, a prefix, or `first-last`.
    pub destination: String,
    pub old: Way,
    pub new: Way,
    /// The entry that decides in NEW (none when internal or left alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<Entry>,
}

/// What the dataplane does with a VM's packet to a destination: the outcome
/// `trace` reports, without the entry that decides it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Way {
    /// The host's own address on `uplink`: delivered to the host itself.
    Local { uplink: String },
    /// An internal network: no mark, no NAT.
    Internal,
    /// No entry and no default: left alone.
    None,
    /// Source-NATed and sent by the first candidate whose uplink is up (with
    /// `[failover]`; else there is one).
    Snat { candidates: Vec<Exit> },
}

/// One candidate way out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Exit {
    pub public_address: IpAddr,
    pub pool: String,
    pub uplink: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct InboundChange {
    pub address: IpAddr,
    #[serde(flatten)]
    pub change: Change<Inbound>,
}

/// Where traffic arriving for a public address goes (and, from a VM of the
/// same host, where it is hairpinned to).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Inbound {
    pub vm: String,
    pub pool: String,
    pub uplink: String,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no host named `{0}` in either topology")]
pub struct UnknownHost(pub String);

/// What `new` does differently from `old`, for every host or only `host`.
pub fn changes(old: Side, new: Side, host: Option<&str>) -> Result<Changes, UnknownHost> {
    let mut names: Vec<&str> = [old, new]
        .iter()
        .flat_map(|side| side.validated.plan().hosts.iter().map(|h| h.name.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    if let Some(only) = host {
        if !names.contains(&only) {
            return Err(UnknownHost(only.to_owned()));
        }
        names.retain(|name| *name == only);
    }
    let positions = deciding_offsets(new);
    let new = Located {
        side: new,
        positions: &positions,
    };
    let hosts = names
        .into_iter()
        .map(|name| host_changes(old, new, name))
        .filter(|h| !(h.settings.is_empty() && h.vms.is_empty() && h.inbound.is_empty()))
        .collect();
    Ok(Changes { hosts })
}

fn host_changes(old: Side, located: Located, name: &str) -> HostChanges {
    let new = located.side;
    let (old_host, new_host) = (old.host(name), new.host(name));
    let v4 = family_vms::<V4>(old, old_host, located, new_host);
    let v6 = family_vms::<V6>(old, old_host, located, new_host);
    let vms = join_by(v4, v6, |vm| vm.name, |vm| vm.name)
        .into_iter()
        .filter_map(|(v4, v6)| vm_changes(old, new, v4, v6))
        .collect();
    let mut inbound = inbound_changes::<V4>(old, old_host, new, new_host);
    inbound.extend(inbound_changes::<V6>(old, old_host, new, new_host));
    HostChanges {
        host: name.to_owned(),
        presence: Presence::of(old_host, new_host),
        settings: setting_changes(old_host, new_host),
        vms,
        inbound,
    }
}

/// The items of two sequences sorted by a key, paired by it.
fn join_by<T, K: Ord>(
    old: impl IntoIterator<Item = T>,
    new: impl IntoIterator<Item = T>,
    old_key: impl Fn(&T) -> K,
    new_key: impl Fn(&T) -> K,
) -> Vec<(Option<T>, Option<T>)> {
    let (mut old, mut new) = (old.into_iter().peekable(), new.into_iter().peekable());
    let mut pairs = Vec::with_capacity(old.size_hint().0.max(new.size_hint().0));
    loop {
        let order = match (old.peek(), new.peek()) {
            (Some(a), Some(b)) => old_key(a).cmp(&new_key(b)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => return pairs,
        };
        pairs.push(match order {
            Ordering::Less => (old.next(), None),
            Ordering::Greater => (None, new.next()),
            Ordering::Equal => (old.next(), new.next()),
        });
    }
}

type At<'a, F> = (Side<'a>, &'a HostPlan, &'a VmPlan<F>);

fn at<'a, F: Family>(
    side: Side<'a>,
    host: Option<&'a HostPlan>,
    vm: Option<&'a VmPlan<F>>,
) -> Option<At<'a, F>> {
    Some((side, host?, vm?))
}

/// One VM of a host in one family: its private address of the family in
/// either plan and, when in both, the family's destination ranges whose
/// outcome changes.
struct FamilyVm<'a> {
    name: &'a str,
    /// The VM in OLD's and NEW's model, where it is on the host with an
    /// address of the family.
    old: Option<VmId>,
    new: Option<VmId>,
    private: Change<IpAddr>,
    destinations: Vec<RangeChange>,
}

/// Every VM of the host with an address of family `F` in either plan, by name.
fn family_vms<'a, F: Family>(
    old: Side<'a>,
    old_host: Option<&'a HostPlan>,
    located: Located<'a>,
    new_host: Option<&'a HostPlan>,
) -> Vec<FamilyVm<'a>> {
    let new = located.side;
    let delta = HostDelta::<F>::new(old_host, new_host);
    let vms = |host: Option<&'a HostPlan>| host.map_or(&[][..], |h| &h.family::<F>().vms[..]);
    let pairs = join_by(
        vms(old_host),
        vms(new_host),
        |vm| old.vm_name(vm),
        |vm| new.vm_name(vm),
    );
    pairs
        .par_iter()
        .map(|&(old_vm, new_vm)| {
            let destinations = match (at(old, old_host, old_vm), at(new, new_host, new_vm)) {
                (Some(old), Some(new)) => destination_changes(old, new, &delta, located),
                _ => Vec::new(),
            };
            let name = match (old_vm, new_vm) {
                (Some(vm), _) => old.vm_name(vm),
                (None, vm) => new.vm_name(vm.expect("one side")),
            };
            FamilyVm {
                name,
                old: old_vm.map(|vm| vm.vm),
                new: new_vm.map(|vm| vm.vm),
                private: Change {
                    old: old_vm.map(|vm| vm.private.into()),
                    new: new_vm.map(|vm| vm.private.into()),
                },
                destinations,
            }
        })
        .collect()
}

/// A VM's changes from its IPv4 and IPv6 sides (at least one), if any.
fn vm_changes(
    old: Side,
    new: Side,
    v4: Option<FamilyVm>,
    v6: Option<FamilyVm>,
) -> Option<VmChanges> {
    let families = || v4.iter().chain(&v6);
    let old_id = families().find_map(|f| f.old);
    let new_id = families().find_map(|f| f.new);
    let mac =
        |side: Side, id: Option<VmId>| Some(side.model().vm(id?).mac.as_ref()?.value.to_string());
    let (old_mac, new_mac) = (mac(old, old_id), mac(new, new_id));
    let name = families().next()?.name;
    let presence = Presence::of(old_id, new_id);
    let (private_address, mut destinations) = match v4 {
        Some(v4) => (v4.private, v4.destinations),
        None => (
            Change {
                old: None,
                new: None,
            },
            Vec::new(),
        ),
    };
    let private_address_v6 = v6.map(|v6| {
        destinations.extend(v6.destinations);
        v6.private
    });
    let mut changes = VmChanges {
        // Named below, only if it changes.
        vm: String::new(),
        presence,
        private_address,
        private_address_v6,
        mac: (old_mac != new_mac).then_some(Change {
            old: old_mac,
            new: new_mac,
        }),
        destinations,
    };
    let unchanged = presence == Presence::Kept
        && changes.private_addresses().all(|a| a.old == a.new)
        && changes.mac.is_none()
        && changes.destinations.is_empty();
    (!unchanged).then(|| {
        changes.vm = name.to_owned();
        changes
    })
}

/// What differs for every VM of a host between its two plans in family `F`,
/// found once per host and family: the addresses internal in one plan only,
/// and the host's own addresses (delivered to the host itself, before any
/// other lookup) whose uplink differs.
struct HostDelta<F: Family> {
    /// Both of those, merged: where every VM's outcome may differ.
    differs: Vec<Range<F>>,
    /// The host's own addresses in either plan, one range each, sorted: where
    /// an outcome may change along the way.
    own: Vec<Range<F>>,
}

impl<F: Family> HostDelta<F> {
    fn new(old_host: Option<&HostPlan>, new_host: Option<&HostPlan>) -> Self {
        let internal =
            |host: Option<&HostPlan>| host.map_or(Vec::new(), |h| h.family::<F>().internal.clone());
        let own = |host: Option<&HostPlan>| -> Vec<(F::Addr, String)> {
            let mut own: Vec<(F::Addr, String)> = host
                .iter()
                .flat_map(|h| &h.uplinks)
                .filter_map(|u| {
                    let address = F::net_address(&u.link::<F>()?.address);
                    Some((address, u.name.to_string()))
                })
                .collect();
            own.sort();
            own
        };
        let (old_own, new_own) = (own(old_host), own(new_host));
        let mut differs = symmetric_difference(&internal(old_host), &internal(new_host));
        differs.extend(
            old_own
                .iter()
                .filter(|o| !new_own.contains(o))
                .chain(new_own.iter().filter(|n| !old_own.contains(n)))
                .map(|(address, _)| Range::single(*address)),
        );
        // One range per address, never merged: two adjacent own addresses
        // (the old and the new one on a link) are two outcomes.
        let mut own: Vec<Range<F>> = old_own
            .iter()
            .chain(&new_own)
            .map(|(address, _)| Range::single(*address))
            .collect();
        own.sort_unstable();
        own.dedup();
        HostDelta {
            differs: intervals::merge(differs),
            own,
        }
    }
}

/// The ranges where a kept VM's outcome differs in family `F`. The egress
/// decisions are compared where either plan has a breakpoint; only where they
/// differ, or where the host's internal or own addresses differ, are those
/// looked at, so a VM whose decisions stay costs as many steps as it has ranges.
fn destination_changes<F: Family>(
    old: At<F>,
    new: At<F>,
    delta: &HostDelta<F>,
    located: Located,
) -> Vec<RangeChange> {
    let (old_side, old_host, old_vm) = old;
    let (new_side, new_host, new_vm) = new;
    let decisions_differ = |d: F::Bits| {
        let at = F::address(d);
        !same_way(
            old_side.model(),
            old_vm.decision(at),
            new_side.model(),
            new_vm.decision(at),
        )
    };
    let mut domain: Vec<Range<F>> = segments(
        [F::Bits::ZERO]
            .into_iter()
            .chain(breakpoints(&old_vm.egress))
            .chain(breakpoints(&new_vm.egress))
            .collect(),
        everything(),
    )
    .filter(|segment| decisions_differ(segment.first))
    .collect();
    domain.extend_from_slice(&delta.differs);
    let domain = intervals::merge(domain);
    // Each changed range with its old and new way and NEW's deciding entry.
    let mut changed: Vec<(Range<F>, Way, Way, Option<Entry>)> = Vec::new();
    for piece in domain {
        let cuts: Vec<F::Bits> = [piece.first]
            .into_iter()
            .chain(breakpoints(overlapping_egress(&old_vm.egress, piece)))
            .chain(breakpoints(overlapping_egress(&new_vm.egress, piece)))
            .chain(range_breakpoints(intervals::overlapping(
                &old_host.family::<F>().internal,
                piece,
            )))
            .chain(range_breakpoints(intervals::overlapping(
                &new_host.family::<F>().internal,
                piece,
            )))
            .chain(range_breakpoints(intervals::overlapping(&delta.own, piece)))
            .collect();
        for segment in segments(cuts, piece) {
            let at = segment.first_address();
            let (old_way, _) = way(old_side, old_host, old_vm, at);
            let (new_way, decision) = way(new_side, new_host, new_vm, at);
            if old_way == new_way {
                continue;
            }
            let decided_by = decision.map(|d| located.entry(d));
            match changed.last_mut() {
                Some((range, old, new, by))
                    if range.last.checked_next() == Some(segment.first)
                        && *old == old_way
                        && *new == new_way
                        && *by == decided_by =>
                {
                    range.last = segment.last;
                }
                _ => changed.push((segment, old_way, new_way, decided_by)),
            }
        }
    }
    changed
        .into_iter()
        .map(|(range, old, new, decided_by)| RangeChange {
            first: range.first_address().into(),
            last: range.last_address().into(),
            destination: written(range),
            old,
            new,
            decided_by,
        })
        .collect()
}

/// Every address of family `F`.
fn everything<F: Family>() -> Range<F> {
    Range {
        first: F::Bits::ZERO,
        last: F::Bits::MAX,
    }
}

/// A range as an operator writes it: one address, a prefix, or `first-last`.
fn written<F: Family>(range: Range<F>) -> String {
    if range.first == range.last {
        return range.first_address().to_string();
    }
    match range.as_prefix() {
        Some(prefix) => prefix.to_string(),
        None => format!("{}-{}", range.first_address(), range.last_address()),
    }
}

/// The egress ranges that meet `range` (the list is sorted and disjoint).
fn overlapping_egress<F: Family>(
    egress: &[(Range<F>, Decision<F>)],
    range: Range<F>,
) -> &[(Range<F>, Decision<F>)] {
    let start = egress.partition_point(|(r, _)| r.last < range.first);
    let end = egress.partition_point(|(r, _)| r.first <= range.last);
    &egress[start..end.max(start)]
}

/// Where the outcome may change along a VM's egress ranges.
fn breakpoints<F: Family>(
    egress: &[(Range<F>, Decision<F>)],
) -> impl Iterator<Item = F::Bits> + '_ {
    range_breakpoints_iter(egress.iter().map(|(range, _)| *range))
}

fn range_breakpoints<F: Family>(ranges: &[Range<F>]) -> impl Iterator<Item = F::Bits> + '_ {
    range_breakpoints_iter(ranges.iter().copied())
}

fn range_breakpoints_iter<F: Family>(
    ranges: impl Iterator<Item = Range<F>>,
) -> impl Iterator<Item = F::Bits> {
    ranges.flat_map(|range| std::iter::once(range.first).chain(range.last.checked_next()))
}

/// `within` cut at `cuts` (any order, any value): consecutive segments that
/// cover it.
fn segments<F: Family>(mut cuts: Vec<F::Bits>, within: Range<F>) -> impl Iterator<Item = Range<F>> {
    cuts.retain(|c| (within.first..=within.last).contains(c));
    cuts.push(within.first);
    cuts.sort_unstable();
    cuts.dedup();
    let ends: Vec<F::Bits> = cuts
        .iter()
        .skip(1)
        .map(|next| next.previous())
        .chain([within.last])
        .collect();
    cuts.into_iter()
        .zip(ends)
        .map(|(first, last)| Range { first, last })
}

/// The outcome of a packet from `vm` to `destination` as `changes` compares it
/// ([`HostPlan::outcome`]), and the decision behind it. A public address of the
/// host is compared by the decision that is its hairpin's source; whose
/// address it is, is an inbound change.
fn way<'a, F: Family>(
    side: Side<'a>,
    host: &'a HostPlan,
    vm: &'a VmPlan<F>,
    destination: F::Addr,
) -> (Way, Option<&'a Decision<F>>) {
    let decision = match host.outcome(vm, destination) {
        Outcome::Local(uplink) => {
            let uplink = uplink.name.to_string();
            return (Way::Local { uplink }, None);
        }
        Outcome::Internal => return (Way::Internal, None),
        Outcome::Egress(decision) => Some(decision),
        Outcome::Hairpin { source, .. } => source,
        Outcome::Unhandled => None,
    };
    let way = decision.map_or(Way::None, |decision| Way::Snat {
        candidates: decision
            .candidates()
            .map(|c| Exit {
                public_address: c.public.into(),
                pool: side.model().pool(c.pool).name.value.to_string(),
                uplink: side.model().uplink(c.uplink).name.value.to_string(),
            })
            .collect(),
    });
    (way, decision)
}

/// Whether two decisions (of the two topologies) send the same way, without
/// building the names: the cheap test made at every breakpoint.
fn same_way<F: Family>(
    old_model: &Model,
    old: Option<&Decision<F>>,
    new_model: &Model,
    new: Option<&Decision<F>>,
) -> bool {
    match (old, new) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.candidates().count() == b.candidates().count()
                && a.candidates().zip(b.candidates()).all(|(a, b)| {
                    a.public == b.public
                        && old_model.pool(a.pool).name.value == new_model.pool(b.pool).name.value
                        && old_model.uplink(a.uplink).name.value
                            == new_model.uplink(b.uplink).name.value
                })
        }
        _ => false,
    }
}

/// The addresses in exactly one of two sorted, disjoint range lists, merged.
fn symmetric_difference<F: Family>(a: &[Range<F>], b: &[Range<F>]) -> Vec<Range<F>> {
    let cuts: Vec<F::Bits> = range_breakpoints(a).chain(range_breakpoints(b)).collect();
    intervals::merge(
        segments(cuts, everything())
            .filter(|s| {
                let at = s.first_address();
                intervals::any_contains(a, at) != intervals::any_contains(b, at)
            })
            .collect(),
    )
}

fn setting_changes(old: Option<&HostPlan>, new: Option<&HostPlan>) -> Vec<SettingChange> {
    let settings = |host: Option<&HostPlan>| -> Vec<(String, String)> {
        let Some(host) = host else {
            return Vec::new();
        };
        let mut settings: Vec<(String, String)> = host
            .uplinks
            .iter()
            .map(|u| (format!("uplink {}", u.name), describe_uplink(u)))
            .collect();
        // The artifacts do not depend on the order the file lists them in.
        let mut lan = host.lan.clone();
        lan.sort();
        settings.push(("lan".to_owned(), lan.join(", ")));
        if let Some(ha) = &host.ha {
            settings.extend(describe_pair(ha));
        }
        if let Some(f) = &host.failover {
            settings.push((
                "failover".to_owned(),
                format!(
                    "interval {}, down after {}, up after {}",
                    humantime::format_duration(f.interval),
                    f.down_after,
                    f.up_after
                ),
            ));
        }
        settings.sort();
        settings
    };
    join_by(
        settings(old),
        settings(new),
        |(name, _)| name.clone(),
        |(name, _)| name.clone(),
    )
    .into_iter()
    .filter_map(|(a, b)| {
        let (a_name, old) = a.unzip();
        let (b_name, new) = b.unzip();
        (old != new).then(|| SettingChange {
            setting: a_name.or(b_name).expect("one side"),
            change: Change { old, new },
        })
    })
    .collect()
}

/// A pair (docs/semantics.md §12) as settings: its VRRP id, sync link and
/// shared addresses, and each member's priority and own addresses.
fn describe_pair(ha: &crate::plan::ha::HaPlan) -> Vec<(String, String)> {
    let shared: Vec<String> = ha
        .shared
        .iter()
        .map(|shared| format!("{} on {}", shared.address, shared.interface))
        .collect();
    let pair = format!(
        "vrid {} on {}, shared {}",
        ha.vrid,
        ha.sync_interface,
        shared.join(", ")
    );
    let members = ha.members.iter().map(|member| {
        let own: Vec<String> = member
            .uplink_addresses
            .iter()
            .map(|(_, address)| address.to_string())
            .collect();
        (
            format!("member {}", member.name),
            format!(
                "priority {}, sync {}, own {}",
                member.priority,
                member.sync_address,
                own.join(" ")
            ),
        )
    });
    std::iter::once(("pair".to_owned(), pair))
        .chain(members)
        .collect()
}

fn describe_uplink(uplink: &UplinkPlan) -> String {
    let vlan = uplink
        .vlan
        .as_ref()
        .map_or_else(String::new, |v| format!(" (VLAN {} on {})", v.id, v.parent));
    format!(
        "id {}, table {}, interface {}{vlan}{}{}",
        uplink.id,
        uplink.table,
        uplink.interface,
        describe_link(uplink.link::<V4>()),
        describe_link(uplink.link::<V6>()),
    )
}

/// The uplink's link in one family, if it has one: `, address …, gateway …, probe …`.
fn describe_link<F: Family>(link: Option<&UplinkLink<F>>) -> String {
    link.map_or_else(String::new, |link| {
        let probe: Vec<String> = link.probe.iter().map(|p| p.to_string()).collect();
        format!(
            ", address {}, gateway {}, probe {}",
            link.address,
            link.gateway,
            probe.join(" ")
        )
    })
}

/// The public addresses of family `F` whose inbound VM (or pool, uplink)
/// changes on the host, by address.
fn inbound_changes<F: Family>(
    old: Side,
    old_host: Option<&HostPlan>,
    new: Side,
    new_host: Option<&HostPlan>,
) -> Vec<InboundChange> {
    let inbound = |side: Side<'_>, host: Option<&HostPlan>| -> Vec<(F::Addr, Inbound)> {
        let model = side.model();
        let mut all: Vec<(F::Addr, Inbound)> = host
            .iter()
            .flat_map(|h| &h.family::<F>().vms)
            .flat_map(|vm| {
                vm.public.iter().map(move |p| {
                    let inbound = Inbound {
                        vm: side.vm_name(vm).to_owned(),
                        pool: model.pool(p.pool).name.value.to_string(),
                        uplink: model.uplink(p.uplink).name.value.to_string(),
                    };
                    (p.address, inbound)
                })
            })
            .collect();
        all.par_sort_unstable_by_key(|(address, _)| *address);
        all
    };
    let (old, new) = (inbound(old, old_host), inbound(new, new_host));
    join_by(old, new, |(a, _)| *a, |(a, _)| *a)
        .into_iter()
        .filter_map(|(a, b)| {
            let (a_address, old) = a.unzip();
            let (b_address, new) = b.unzip();
            (old != new).then(|| InboundChange {
                address: a_address.or(b_address).expect("one side").into(),
                change: Change { old, new },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
