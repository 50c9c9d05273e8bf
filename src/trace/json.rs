//! `trace --format json`: a [`Trace`] as one flat, versioned object
//! (schema/trace-output.schema.json), every fact under a key of its own.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::Serialize;

use super::{
    Action, Dropped, Entry, Fate, PublicPath, Reason, Receiver, Trace, TraceCandidate,
    TracedDecision, VmAt,
};

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
    trace: TraceFields<'a>,
}

/// A [`Trace`] as `--format json` prints it (schema/trace-output.schema.json):
/// every fact a key of its own, `None` (JSON `null`) where it does not apply.
#[derive(Serialize, JsonSchema)]
struct TraceFields<'a> {
    /// The VM that sends (outbound) or receives (inbound) the packet.
    vm: Option<&'a str>,
    /// That VM's host; without a VM, the host that delivers the packet (to
    /// itself or, for a hairpin, to the receiver).
    host: Option<&'a str>,
    /// The packet's source address as it leaves the sender.
    source: IpAddr,
    destination: IpAddr,
    action: Action,
    /// Why a dropped packet is dropped.
    reason: Option<Reason>,
    /// The VM's private address.
    private_address: Option<IpAddr>,
    /// Outbound and hairpin: the SNAT address; inbound: the address the packet
    /// was sent to.
    public_address: Option<IpAddr>,
    pool: Option<&'a str>,
    /// Outbound: the uplink the packet leaves by; inbound: the uplink the replies
    /// leave by (the pool's uplink, which the packet arrived on); local: the
    /// uplink whose address on the host the packet is sent to.
    uplink: Option<&'a str>,
    /// That uplink's interface on the host.
    interface: Option<&'a str>,
    /// That uplink's routing table.
    table: Option<u32>,
    /// The packet mark (hex, within `layout::MARK_MASK`): uplink and pool bits on an
    /// outbound packet, the uplink bits restored from conntrack on a reply.
    mark: Option<&'a str>,
    /// The topology entry that decided an outbound SNAT (or a hairpin's source).
    decided_by: Option<&'a Entry>,
    /// Hairpin: the VM the packet is delivered to.
    receiver: Option<&'a Receiver>,
    /// Outbound or hairpin with `[failover]`: that entry's candidates, best first; the
    /// first whose uplink is up is the one above. Empty (left out of JSON)
    /// without `[failover]` or for a decision with a single candidate.
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    candidates: &'a [TraceCandidate],
}

impl<'a> TraceFields<'a> {
    /// The packet and its action, every other fact `None`.
    fn new(trace: &Trace) -> Self {
        TraceFields {
            vm: None,
            host: None,
            source: trace.source,
            destination: trace.destination,
            action: trace.action(),
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
            candidates: &[],
        }
    }

    fn vm_at(&mut self, at: &'a VmAt) {
        self.vm = Some(&at.vm);
        self.host = Some(&at.host);
        self.private_address = Some(at.private_address);
    }

    fn path(&mut self, path: &'a PublicPath) {
        self.public_address = Some(path.public_address);
        self.pool = Some(&path.pool);
        self.uplink = Some(&path.uplink);
        self.interface = Some(&path.interface);
        self.table = Some(path.table);
        self.mark = Some(&path.mark);
    }

    fn decision(&mut self, decision: &'a TracedDecision) {
        self.decided_by = Some(&decision.decided_by);
        self.candidates = &decision.candidates;
    }
}

impl Trace {
    /// One JSON object (pretty-printed, with a final newline).
    pub fn to_json(&self) -> String {
        let output = TraceOutput {
            version: TRACE_OUTPUT_VERSION,
            trace: self.fields(),
        };
        let mut json = serde_json::to_string_pretty(&output).expect("a trace serializes");
        json.push('\n');
        json
    }

    /// Every fact under its JSON key.
    fn fields(&self) -> TraceFields<'_> {
        let mut fields = TraceFields::new(self);
        match &self.fate {
            Fate::Snat {
                sender,
                path,
                decision,
            } => {
                fields.vm_at(sender);
                fields.path(path);
                fields.decision(decision);
            }
            Fate::Dnat { receiver, path } => {
                fields.vm_at(receiver);
                fields.path(path);
            }
            Fate::Internal { sender } => {
                if let Some(sender) = sender {
                    fields.vm_at(sender);
                }
            }
            Fate::Hairpin {
                sender,
                receiver,
                source,
            } => {
                fields.vm_at(sender);
                fields.receiver = Some(receiver);
                if let Some(source) = source {
                    fields.public_address = Some(source.public_address);
                    fields.pool = Some(&source.pool);
                    fields.mark = Some(&source.mark);
                    fields.decision(&source.decision);
                }
            }
            Fate::StrayHairpin { host, receiver } => {
                fields.host = Some(host);
                fields.receiver = Some(receiver);
            }
            Fate::Local(local) => {
                if let Some(sender) = &local.sender {
                    fields.vm_at(sender);
                }
                fields.host = Some(&local.host);
                fields.uplink = Some(&local.uplink);
                fields.interface = Some(&local.interface);
            }
            Fate::Drop(dropped) => {
                fields.reason = Some(dropped.reason());
                if let Dropped::Unassigned { pool, uplink } = dropped {
                    fields.public_address = Some(self.destination);
                    fields.pool = Some(pool);
                    fields.uplink = Some(uplink);
                }
            }
            Fate::Unhandled { sender } => fields.vm_at(sender),
        }
        fields
    }
}
