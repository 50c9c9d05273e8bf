//! `switchyard trace`: what the dataplane does with one packet (docs/semantics.md §7).
//!
//! Answers come from the very [`Plan`] the renderer turns into nftables and ip
//! rules — outbound and hairpin through [`HostPlan::outcome`], the lookup the
//! nft ruleset performs (internal set, egress ranges, default, then the DNAT of
//! a public address of the host), inbound through the host's DNAT table (the
//! `dnat_addresses` map), drops (docs/semantics.md §8) through the internal
//! ranges and the DNAT table; with `--down`, the candidate the failover chains
//! choose (docs/semantics.md §10). Nothing here decides anything on its own; it only
//! finds the decision and describes it. Pure: no IO.

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use schemars::JsonSchema;
use serde::Serialize;

use crate::Validated;
use crate::check::CheckedModel;
use crate::diagnostic::{Diagnostic, Source};
use crate::intervals;
use crate::model::{Model, PoolId, UplinkId};
use crate::plan::{self, DecidedBy, Decision, HostPlan, Outcome, Plan, Scope, UplinkPlan, VmPlan};

/// What happens to the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Outbound: marked for an uplink and source-NATed to a public address.
    Snat,
    /// Inbound: destination-NATed to a VM; replies leave by the arrival uplink.
    Dnat,
    /// Outbound to an internal network: no mark, no NAT.
    Internal,
    /// To a public address of a VM on the sender's host: DNATed to it and
    /// delivered without leaving the host, source-NATed as for the Internet.
    Hairpin,
    /// Dropped by the host, for `reason`.
    Drop,
    /// Not handled by switchyard: outbound with no matching entry and no
    /// default (left alone).
    None,
}

/// Why the host drops a packet; each reason has a named nft counter of the same
/// name in table `inet switchyard`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// From the LAN with a source that is no VM address of the host (or without
    /// the MAC the address is bound to), towards an uplink.
    SpoofedSource,
    /// From an uplink, neither DNATed to a VM nor a reply to a VM's connection.
    UnsolicitedInbound,
}

impl Reason {
    /// The counter's name, which is also the JSON spelling.
    pub fn counter(self) -> &'static str {
        match self {
            Reason::SpoofedSource => "spoofed_source",
            Reason::UnsolicitedInbound => "unsolicited_inbound",
        }
    }
}

/// The answer to one trace; serialized as-is for `--format json`. Fields that do
/// not apply are `None` (JSON `null`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Trace {
    /// The VM that sends (outbound) or receives (inbound) the packet.
    pub vm: Option<String>,
    /// That VM's host.
    pub host: Option<String>,
    /// The packet's source address as it leaves the sender.
    pub source: Ipv4Addr,
    pub destination: Ipv4Addr,
    pub action: Action,
    /// Why a dropped packet is dropped.
    pub reason: Option<Reason>,
    /// The VM's private address.
    pub private_address: Option<Ipv4Addr>,
    /// Outbound and hairpin: the SNAT address; inbound: the address the packet
    /// was sent to.
    pub public_address: Option<Ipv4Addr>,
    pub pool: Option<String>,
    /// Outbound: the uplink the packet leaves by; inbound: the uplink the replies
    /// leave by (the pool's uplink, which the packet arrived on).
    pub uplink: Option<String>,
    /// That uplink's interface on the host.
    pub interface: Option<String>,
    /// That uplink's routing table.
    pub table: Option<u32>,
    /// The packet mark (hex, within `plan::MARK_MASK`): uplink and pool bits on an
    /// outbound packet, the uplink bits restored from conntrack on a reply.
    pub mark: Option<String>,
    /// The topology entry that decided an outbound SNAT (or a hairpin's source).
    pub decided_by: Option<Entry>,
    /// Hairpin: the VM the packet is delivered to.
    pub receiver: Option<Receiver>,
    /// Outbound or hairpin with `[failover]`: that entry's candidates, best first; the
    /// first whose uplink is up is the one above. Empty (left out of JSON)
    /// without `[failover]` or for a decision with a single candidate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<TraceCandidate>,
}

/// The VM a hairpinned packet reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Receiver {
    pub vm: String,
    pub private_address: Ipv4Addr,
}

/// Bumped when a key changes meaning or goes away; new keys keep the version.
const TRACE_OUTPUT_VERSION: u32 = 1;

/// What `trace --format json` prints: the trace and the version of its format
/// (schema/trace-output.schema.json).
#[derive(Serialize, JsonSchema)]
pub struct TraceOutput<'a> {
    /// The version of this format (1).
    #[schemars(extend("const" = 1))]
    version: u32,
    #[serde(flatten)]
    trace: &'a Trace,
}

/// A decision's candidates as a trace lists them: none when it has no fallbacks.
fn trace_candidates(
    model: &Model,
    decision: &Decision,
    is_down: impl Fn(UplinkId) -> bool,
) -> Vec<TraceCandidate> {
    if decision.fallbacks.is_empty() {
        return Vec::new();
    }
    decision
        .candidates()
        .map(|c| TraceCandidate {
            pool: pool_name(model, c.pool),
            uplink: uplink_name(model, c.uplink),
            public_address: c.public,
            down: is_down(c.uplink),
        })
        .collect()
}

fn pool_name(model: &Model, pool: PoolId) -> String {
    model.pool(pool).name.value.clone()
}

fn uplink_name(model: &Model, uplink: UplinkId) -> String {
    model.uplink(uplink).name.value.clone()
}

/// One candidate of a decision (docs/semantics.md §10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct TraceCandidate {
    pub pool: String,
    pub uplink: String,
    pub public_address: Ipv4Addr,
    /// Whether the trace takes its uplink as down (`--down`).
    pub down: bool,
}

/// A topology entry, located in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Entry {
    /// `"vm"` or `"project"`.
    pub scope: &'static str,
    /// The VM's or the project's name.
    pub name: String,
    /// `"egress"` or `"default"`.
    pub kind: &'static str,
    /// The entry's destination prefix; `None` for a default.
    pub prefix: Option<String>,
    pub file: String,
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    #[error("no VM named `{name}` in the topology{}", did_you_mean(suggestion))]
    UnknownVm {
        name: String,
        suggestion: Option<String>,
    },
    #[error(
        "{address} is the private address of {}: name the VM instead",
        .vms.iter().map(|(vm, host)| format!("{vm} on {host}")).collect::<Vec<_>>().join(" and ")
    )]
    AmbiguousAddress {
        address: Ipv4Addr,
        /// (VM, host) pairs.
        vms: Vec<(String, String)>,
    },
    #[error(
        "{from} is the public address of VM {vm}; to trace its outbound traffic, use `--from {vm}`"
    )]
    FromPublicAddress { from: Ipv4Addr, vm: String },
    #[error(
        "--down: no uplink named `{name}` in the topology{}",
        did_you_mean(suggestion)
    )]
    UnknownUplink {
        name: String,
        suggestion: Option<String>,
    },
    #[error("--down: the topology has no [failover], so no uplink is ever taken down")]
    NoFailover,
    #[error(
        "{from} is no VM's private address and {to} is in no public pool: for an outbound \
         trace, `--from` names a VM or its private address (e.g. `--from {example_vm}`); for \
         an inbound one, `--to` is a public address (e.g. `--to {example_public}`)"
    )]
    NeitherVmNorPublic {
        from: Ipv4Addr,
        to: Ipv4Addr,
        example_vm: String,
        example_public: String,
    },
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

/// A validated topology and its plan, ready to answer traces.
pub struct Tracer<'s> {
    source: &'s Source,
    model: CheckedModel,
    plan: Plan,
    /// The topology's warnings (it has no errors).
    pub warnings: Vec<Diagnostic>,
}

impl<'s> Tracer<'s> {
    /// Validates and plans every host, as `build` does. `Err` holds the diagnostics
    /// of an invalid topology.
    pub fn new(source: &'s Source) -> Result<Self, Vec<Diagnostic>> {
        let Validated {
            model,
            plan,
            warnings,
        } = crate::validate(source)?;
        Ok(Tracer {
            source,
            model,
            plan,
            warnings,
        })
    }

    /// Traces a packet from `from` (a VM name, a VM's private address, or an
    /// outside address) to `to`, as if the uplinks named in `down` were down.
    pub fn trace(&self, from: &str, to: Ipv4Addr, down: &[String]) -> Result<Trace, TraceError> {
        if !down.is_empty() && self.model.failover.is_none() {
            return Err(TraceError::NoFailover);
        }
        let uplink_names = || self.model.uplinks.iter().map(|u| &u.name.value);
        if let Some(unknown) = down.iter().find(|name| !uplink_names().any(|u| u == *name)) {
            return Err(TraceError::UnknownUplink {
                name: unknown.clone(),
                suggestion: crate::diagnostic::closest(unknown, uplink_names()).cloned(),
            });
        }
        let is_down = |uplink: UplinkId| down.contains(&self.model.uplink(uplink).name.value);
        let Ok(address) = from.parse::<Ipv4Addr>() else {
            let (host, vm) = self.vm_named(from).ok_or_else(|| TraceError::UnknownVm {
                name: from.to_owned(),
                suggestion: crate::diagnostic::closest(
                    from,
                    self.vms().map(|(_, vm)| &self.model.vm(vm.vm).name.value),
                )
                .cloned(),
            })?;
            return Ok(self.outbound(host, vm, to, is_down));
        };
        let owners: Vec<_> = self.vms().filter(|(_, vm)| vm.private == address).collect();
        match owners.as_slice() {
            [(host, vm)] => Ok(self.outbound(host, vm, to, is_down)),
            [] => self.inbound(address, to),
            many => Err(TraceError::AmbiguousAddress {
                address,
                vms: many
                    .iter()
                    .map(|(host, vm)| (self.vm_name(vm), host.name.clone()))
                    .collect(),
            }),
        }
    }

    fn vms(&self) -> impl Iterator<Item = (&HostPlan, &VmPlan)> {
        self.plan
            .hosts
            .iter()
            .flat_map(|host| host.vms.iter().map(move |vm| (host, vm)))
    }

    fn vm_named(&self, name: &str) -> Option<(&HostPlan, &VmPlan)> {
        self.vms()
            .find(|(_, vm)| self.model.vm(vm.vm).name.value == name)
    }

    fn vm_name(&self, vm: &VmPlan) -> String {
        self.model.vm(vm.vm).name.value.clone()
    }

    fn outbound(
        &self,
        host: &HostPlan,
        vm: &VmPlan,
        to: Ipv4Addr,
        is_down: impl Fn(UplinkId) -> bool,
    ) -> Trace {
        let base = Trace {
            vm: Some(self.vm_name(vm)),
            host: Some(host.name.clone()),
            private_address: Some(vm.private),
            ..Trace::new(vm.private, to)
        };
        match host.outcome(vm, to) {
            Outcome::Internal => Trace {
                action: Action::Internal,
                ..base
            },
            Outcome::Unhandled => base,
            Outcome::Egress(decision) => {
                let chosen = decision.choose(&is_down);
                let uplink = attachment(host, chosen.uplink_id);
                let candidates = trace_candidates(&self.model, decision, &is_down);
                Trace {
                    action: Action::Snat,
                    public_address: Some(chosen.public),
                    pool: Some(pool_name(&self.model, chosen.pool)),
                    uplink: Some(uplink_name(&self.model, chosen.uplink)),
                    interface: Some(uplink.interface.clone()),
                    table: Some(uplink.table),
                    mark: Some(hex(chosen.mark)),
                    decided_by: Some(self.entry(vm, &decision.decided_by)),
                    candidates,
                    ..base
                }
            }
            Outcome::Hairpin { receiver, source } => {
                // The failover chain picks the candidate (and with it the source)
                // before the hairpin rule clears the uplink bits.
                let chosen = source.map(|d| d.choose(&is_down));
                Trace {
                    action: Action::Hairpin,
                    receiver: Some(Receiver {
                        vm: self.vm_name(receiver),
                        private_address: receiver.private,
                    }),
                    public_address: chosen.map(|c| c.public),
                    pool: chosen.map(|c| pool_name(&self.model, c.pool)),
                    // The pool bits pick the source; the uplink bits are cleared so
                    // the packet is routed to the receiver, not to an uplink.
                    mark: chosen.map(|c| hex(c.mark & plan::POOL_MARK_MASK)),
                    decided_by: source.map(|d| self.entry(vm, &d.decided_by)),
                    candidates: source
                        .map_or_else(Vec::new, |d| trace_candidates(&self.model, d, &is_down)),
                    ..base
                }
            }
        }
    }

    /// A packet from an address that is no VM's: from outside to a public or a
    /// private address, or from an undeclared address on a LAN.
    fn inbound(&self, from: Ipv4Addr, to: Ipv4Addr) -> Result<Trace, TraceError> {
        let base = Trace::new(from, to);
        let receiver = self
            .plan
            .hosts
            .iter()
            .find_map(|host| Some((host, host.dnat_target(to)?)));
        if let Some((host, vm)) = receiver {
            let public = vm
                .public
                .iter()
                .find(|p| p.address == to)
                .expect("the DNAT table holds the VMs' public addresses");
            let uplink = attachment(host, self.model.uplink(public.uplink).id.value);
            return Ok(Trace {
                vm: Some(self.vm_name(vm)),
                host: Some(host.name.clone()),
                action: Action::Dnat,
                private_address: Some(vm.private),
                public_address: Some(to),
                pool: Some(pool_name(&self.model, public.pool)),
                uplink: Some(uplink_name(&self.model, public.uplink)),
                interface: Some(uplink.interface.clone()),
                table: Some(uplink.table),
                mark: Some(hex(uplink.mark)),
                ..base
            });
        }
        if let Some(vm) = self
            .vms()
            .find(|(_, vm)| vm.public.iter().any(|p| p.address == from))
            .map(|(_, vm)| self.vm_name(vm))
        {
            return Err(TraceError::FromPublicAddress { from, vm });
        }
        let internal = |address| {
            self.plan
                .hosts
                .iter()
                .any(|host| intervals::any_contains(&host.internal, address))
        };
        let drop = |reason| Trace {
            action: Action::Drop,
            reason: Some(reason),
            ..base.clone()
        };
        // A private network's address that is no VM's comes from a LAN: between
        // private networks it is forwarded as is, towards an uplink it is dropped.
        if internal(from) {
            return Ok(if internal(to) {
                Trace {
                    action: Action::Internal,
                    ..base
                }
            } else {
                drop(Reason::SpoofedSource)
            });
        }
        if internal(to) {
            return Ok(drop(Reason::UnsolicitedInbound));
        }
        let Some(pool) = self.model.pool_of(to).map(|id| self.model.pool(id)) else {
            return Err(TraceError::NeitherVmNorPublic {
                from,
                to,
                example_vm: self
                    .vms()
                    .next()
                    .map_or_else(|| "VM".to_owned(), |(_, vm)| self.vm_name(vm)),
                example_public: self
                    .vms()
                    .flat_map(|(_, vm)| vm.public.first())
                    .next()
                    .map_or_else(|| "ADDRESS".to_owned(), |p| p.address.to_string()),
            });
        };
        // A public address no VM of a host has: every host attached to the
        // pool's uplink drops it.
        Ok(Trace {
            public_address: Some(to),
            pool: Some(pool.name.value.clone()),
            uplink: pool.uplink.map(|id| uplink_name(&self.model, id)),
            ..drop(Reason::UnsolicitedInbound)
        })
    }

    fn entry(&self, vm: &VmPlan, by: &DecidedBy) -> Entry {
        let (line, column) = self.source.line_column(by.span.start);
        let (scope, name) = match by.scope {
            Scope::Vm => ("vm", self.vm_name(vm)),
            Scope::Project => ("project", self.model.project(vm.project).name.value.clone()),
        };
        Entry {
            scope,
            name,
            kind: if by.prefix.is_some() {
                "egress"
            } else {
                "default"
            },
            prefix: by.prefix.map(|p| p.to_string()),
            file: self.source.name.clone(),
            line,
            column,
        }
    }
}

/// The host's attachment to `uplink`. A VM's pools' uplinks are attached to its
/// host (check SY0406), so a decision or public address always finds one.
/// The host's attachment to the uplink with the topology's `id`.
fn attachment(host: &HostPlan, id: u8) -> &UplinkPlan {
    host.uplinks
        .iter()
        .find(|u| u.id == id)
        .expect("a VM's host is attached to the uplinks of its pools (SY0406)")
}

fn hex(mark: u32) -> String {
    format!("{mark:#010x}")
}

impl Trace {
    /// A packet nothing has been said about yet: every optional field `None`.
    fn new(source: Ipv4Addr, destination: Ipv4Addr) -> Trace {
        Trace {
            vm: None,
            host: None,
            source,
            destination,
            action: Action::None,
            reason: None,
            private_address: None,
            public_address: None,
            pool: None,
            uplink: None,
            interface: None,
            table: None,
            mark: None,
            decided_by: None,
            receiver: None,
            candidates: Vec::new(),
        }
    }

    /// One JSON object (pretty-printed, with a final newline).
    pub fn to_json(&self) -> String {
        let output = TraceOutput {
            version: TRACE_OUTPUT_VERSION,
            trace: self,
        };
        let mut json = serde_json::to_string_pretty(&output).expect("a trace serializes");
        json.push('\n');
        json
    }

    /// The human-readable answer: a headline, then one aligned line per fact.
    pub fn to_human(&self) -> String {
        let vm = text(&self.vm);
        let vm_at = format!(
            "{vm} ({} on {})",
            text(&self.private_address),
            text(&self.host)
        );
        let uplink = format!(
            "{} (interface {}, table {})",
            text(&self.uplink),
            text(&self.interface),
            text(&self.table)
        );
        let (from, to) = (self.source, self.destination);
        let (headline, facts) = match self.action {
            Action::Snat => (
                format!("{vm_at} → {to}: SNAT to {}", text(&self.public_address)),
                vec![
                    (
                        "public address",
                        format!("{} (pool {})", text(&self.public_address), text(&self.pool)),
                    ),
                    ("uplink", uplink),
                    (
                        "mark",
                        format!("{} (uplink and pool bits)", text(&self.mark)),
                    ),
                    (
                        "decided by",
                        self.decided_by
                            .as_ref()
                            .map_or_else(String::new, Entry::describe),
                    ),
                ]
                .into_iter()
                .chain(
                    (!self.candidates.is_empty())
                        .then(|| ("candidates", self.describe_candidates())),
                )
                .collect(),
            ),
            Action::Internal if self.vm.is_none() => (
                format!("{from} → {to}: internal"),
                vec![(
                    "effect",
                    format!(
                        "{from} is no VM's address, but both are in internal networks: \
                         forwarded between them as is"
                    ),
                )],
            ),
            Action::Internal => (
                format!("{vm_at} → {to}: internal"),
                vec![(
                    "effect",
                    format!("{to} is in an internal network: not marked, not NATed"),
                )],
            ),
            Action::Hairpin => {
                let receiver = self.receiver.as_ref().map_or_else(String::new, |r| {
                    format!("{} ({} on {})", r.vm, r.private_address, text(&self.host))
                });
                let (from_text, source) = match (&self.public_address, &self.decided_by) {
                    (Some(public), Some(entry)) => (
                        public.to_string(),
                        vec![
                            (
                                "source",
                                format!(
                                    "{public} (pool {}): what the receiver sees from {vm} on the \
                                     Internet",
                                    text(&self.pool)
                                ),
                            ),
                            ("mark", format!("{} (pool bits only)", text(&self.mark))),
                            ("decided by", entry.describe()),
                        ],
                    ),
                    _ => (
                        "the host's LAN address".to_owned(),
                        vec![(
                            "source",
                            format!(
                                "the host's address on the LAN interface: {vm} has no egress \
                                 decision for {to}"
                            ),
                        )],
                    ),
                };
                let mut facts = vec![(
                    "receiver",
                    format!("{receiver}: DNATed, delivered without leaving the host"),
                )];
                facts.extend(source);
                if !self.candidates.is_empty() {
                    facts.push(("candidates", self.describe_candidates()));
                }
                let receiver_name = self.receiver.as_ref().map_or("-", |r| r.vm.as_str());
                (
                    format!("{vm_at} → {to}: hairpin to {receiver_name}, from {from_text}"),
                    facts,
                )
            }
            Action::Drop => {
                let effect = match (self.reason, &self.pool) {
                    (Some(Reason::SpoofedSource), _) => format!(
                        "{from} is in an internal network but is no VM's address: a host \
                         drops it before it leaves by an uplink"
                    ),
                    (_, Some(pool)) => format!(
                        "{to} is in pool {pool} (uplink {}) but no VM has it: hosts attached \
                         to that uplink drop it",
                        text(&self.uplink)
                    ),
                    _ => format!(
                        "{to} is a private address: from an uplink, a host forwards only what \
                         it DNATed to a VM and replies to the VMs' connections"
                    ),
                };
                let reason = self.reason.map_or("-", Reason::counter);
                (
                    format!("{from} → {to}: drop ({})", reason.replace('_', " ")),
                    vec![
                        ("effect", effect),
                        (
                            "counter",
                            format!("{reason} (nft list counters table inet switchyard)"),
                        ),
                    ],
                )
            }
            Action::None => (
                format!("{vm_at} → {to}: not handled"),
                vec![(
                    "effect",
                    format!(
                        "no egress entry contains {to} and {vm} has no default: not marked, \
                         not NATed (left to the host's main routing table)"
                    ),
                )],
            ),
            Action::Dnat => (
                format!("{from} → {to}: DNAT to {vm_at}"),
                vec![
                    (
                        "public address",
                        format!("{to} (pool {})", text(&self.pool)),
                    ),
                    (
                        "replies",
                        format!("leave by uplink {uplink}, whatever {vm}'s egress preferences say"),
                    ),
                    (
                        "reply mark",
                        format!(
                            "{} (uplink bits, restored from the connection's conntrack mark)",
                            text(&self.mark)
                        ),
                    ),
                ],
            ),
        };
        let mut out = headline;
        out.push('\n');
        for (label, fact) in facts {
            let _ = writeln!(out, "  {label:<16}{fact}");
        }
        out
    }
}

/// A field the action always sets, as text.
fn text<T: std::fmt::Display>(value: &Option<T>) -> String {
    value.as_ref().map_or_else(|| "-".to_owned(), T::to_string)
}

impl Trace {
    /// `pool-b (isp-b, down), pool-a (isp-a)`.
    fn describe_candidates(&self) -> String {
        let candidates: Vec<String> = self
            .candidates
            .iter()
            .map(|c| {
                let down = if c.down { ", down" } else { "" };
                format!("{} ({}{down})", c.pool, c.uplink)
            })
            .collect();
        candidates.join(", ")
    }
}

impl Entry {
    fn describe(&self) -> String {
        let what = match &self.prefix {
            Some(prefix) => format!("egress to {prefix}"),
            None => "default".to_owned(),
        };
        format!(
            "{} {}: {what} ({}:{}:{})",
            self.scope, self.name, self.file, self.line, self.column
        )
    }
}
