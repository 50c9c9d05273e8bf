//! The topology as a graph: hosts, uplinks, pools, projects and VMs, and what ties
//! them together (attachments, ACLs, public addresses, egress preferences).
//! [`build`] gives a [`petgraph`] graph for tools; [`to_dot`] renders it for
//! Graphviz (`dot -Tsvg`).
//!
//! Output is deterministic: nodes and edges are added in model order (sorted by
//! name) and every list that comes from the file is sorted first, so reordering
//! the TOML changes nothing. Node ids in the DOT text are `kind:name`
//! (`"vm:web-1"`), stable across versions of a topology, so two renderings diff
//! well (petgraph's own `Dot` writer numbers nodes by index instead).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write;
use std::net::IpAddr;

use ipnet::IpNet;
use petgraph::graph::{Graph, NodeIndex};
use petgraph::visit::EdgeRef;

use crate::family::{Family, V4, V6};
use crate::model::{Egress, HostId, Model, PoolId, ProjectId, Spanned, UplinkId, Via, Vm, VmId};

/// A node: one entity of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Node {
    Host(HostId),
    Uplink(UplinkId),
    Pool(PoolId),
    Project(ProjectId),
    Vm(VmId),
}

/// What an edge says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edge {
    /// host → uplink: the host is attached; the interface (and VLAN, if any).
    Attachment(String),
    /// uplink → pool: the pool's addresses leave through the uplink.
    Carries,
    /// project → pool: the ACL allows the pool, with the project's quota if any.
    Acl(Option<u32>),
    /// VM → project.
    Member,
    /// VM → host.
    RunsOn,
    /// VM → pool: the VM's public address in the pool.
    Public(IpAddr),
    /// VM or project → pool: traffic to this destination prefix leaves via the pool.
    Egress(IpNet),
    /// VM or project → pool: the default egress; for a VM whose two
    /// families' defaults prefer different pools, of the family named.
    Default(Option<&'static str>),
}

impl Edge {
    pub fn label(&self) -> String {
        match self {
            Edge::Attachment(interface) => interface.clone(),
            Edge::Carries => "via".into(),
            Edge::Acl(None) => "acl".into(),
            Edge::Acl(Some(quota)) => format!("acl, quota {quota}"),
            Edge::Member => "project".into(),
            Edge::RunsOn => "host".into(),
            Edge::Public(address) => address.to_string(),
            Edge::Egress(to) => to.to_string(),
            Edge::Default(None) => "default".into(),
            Edge::Default(Some(family)) => format!("default ({family})"),
        }
    }

    fn style(&self) -> &'static str {
        match self {
            Edge::Attachment(_) => "penwidth=2",
            Edge::Carries => "",
            Edge::Acl(_) => "color=gray40, fontcolor=gray40",
            Edge::Member | Edge::RunsOn => "style=dashed, color=gray60, fontcolor=gray60",
            Edge::Public(_) => "color=darkgreen, fontcolor=darkgreen",
            Edge::Egress(_) => "color=blue, fontcolor=blue",
            Edge::Default(_) => "color=blue, fontcolor=blue, style=bold",
        }
    }
}

/// The graph of the whole topology (`host = None`), or of one host: that host,
/// its uplinks, its VMs, their projects, and the pools its VMs have addresses in
/// or its uplinks carry. Edges are kept when both ends are.
pub fn build(model: &Model, host: Option<HostId>) -> Graph<Node, Edge> {
    let selection = Selection::new(model, host);
    let mut builder = Builder::default();
    for node in selection.nodes() {
        builder.node(node);
    }
    for &h in &selection.hosts {
        builder.host_edges(model, h);
    }
    for &p in &selection.pools {
        if let Some(uplink) = model.pool(p).uplink {
            builder.edge(Node::Uplink(uplink), Node::Pool(p), Edge::Carries);
        }
    }
    for &p in &selection.projects {
        builder.project_edges(model, p);
    }
    for &v in &selection.vms {
        builder.vm_edges(model, v);
    }
    builder.graph
}

/// A graph being built: its nodes are added first, then the edges between them.
#[derive(Default)]
struct Builder {
    graph: Graph<Node, Edge>,
    index: HashMap<Node, NodeIndex>,
}

impl Builder {
    fn node(&mut self, node: Node) {
        self.index.insert(node, self.graph.add_node(node));
    }

    /// An edge, when both of its ends are in the graph.
    fn edge(&mut self, from: Node, to: Node, what: Edge) {
        if let (Some(&a), Some(&b)) = (self.index.get(&from), self.index.get(&to)) {
            self.graph.add_edge(a, b, what);
        }
    }

    /// The host's attachments, labelled with their interface (and VLAN).
    fn host_edges(&mut self, model: &Model, h: HostId) {
        for attachment in &model.host(h).attachments {
            let label = match &attachment.vlan {
                Some(vlan) => format!(
                    "{} (VLAN {} on {})",
                    attachment.interface.value, vlan.id.value, vlan.parent.value
                ),
                None => attachment.interface.value.to_string(),
            };
            let uplink = Node::Uplink(attachment.uplink);
            self.edge(Node::Host(h), uplink, Edge::Attachment(label));
        }
    }

    /// The project's ACL (with quotas), default and egress entries.
    fn project_edges(&mut self, model: &Model, p: ProjectId) {
        let project = model.project(p);
        let node = Node::Project(p);
        let acl: BTreeSet<PoolId> = project.pools.iter().map(|pool| pool.value).collect();
        for pool in acl {
            let quota = project
                .quota
                .iter()
                .find(|(q, _)| q.value == pool)
                .map(|(_, limit)| limit.value);
            self.edge(node, Node::Pool(pool), Edge::Acl(quota));
        }
        // Lists draw their preferred pool; fallbacks are failover's business.
        if let Some(default) = project.default.first() {
            self.edge(node, Node::Pool(default.value), Edge::Default(None));
        }
        self.egress_edges(model, node, &project.egress);
    }

    /// The VM's project, host, public addresses, default and egress entries.
    fn vm_edges(&mut self, model: &Model, v: VmId) {
        let vm = model.vm(v);
        let node = Node::Vm(v);
        self.edge(node, Node::Project(vm.project), Edge::Member);
        self.edge(node, Node::Host(vm.host), Edge::RunsOn);
        let public: BTreeSet<IpAddr> = vm.public.iter().map(|a| a.value).collect();
        for address in public {
            if let Some(pool) = model.pool_of_ip(address) {
                self.edge(node, Node::Pool(pool), Edge::Public(address));
            }
        }
        match (default_pool::<V4>(model, vm), default_pool::<V6>(model, vm)) {
            (Some(v4), Some(v6)) if v4 != v6 => {
                self.edge(node, Node::Pool(v4), Edge::Default(Some(V4::NAME)));
                self.edge(node, Node::Pool(v6), Edge::Default(Some(V6::NAME)));
            }
            (Some(pool), _) | (None, Some(pool)) => {
                self.edge(node, Node::Pool(pool), Edge::Default(None));
            }
            (None, None) => {}
        }
        self.egress_edges(model, node, &vm.egress);
    }

    /// Each destination of `egress` to the pool it leaves through, once each and
    /// sorted (an entry whose `via` resolves to no pool draws nothing).
    fn egress_edges<V: Copy + Into<Via>>(
        &mut self,
        model: &Model,
        from: Node,
        egress: &[Egress<V>],
    ) {
        let pools: BTreeSet<(IpNet, PoolId)> = egress
            .iter()
            .filter_map(|e| Some((e.to.value, via_pool(model, e.via.first()?.value.into())?)))
            .collect();
        for (to, pool) in pools {
            self.edge(from, Node::Pool(pool), Edge::Egress(to));
        }
    }
}

/// Renders [`build`]'s graph in Graphviz DOT.
pub fn to_dot(model: &Model, host: Option<HostId>) -> String {
    let graph = build(model, host);
    let title = match host {
        Some(h) => format!("switchyard: host {}", model.host(h).name.value),
        None => "switchyard".to_owned(),
    };
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_dot(&mut out, model, &graph, &title);
    out
}

fn write_dot(
    out: &mut String,
    model: &Model,
    graph: &Graph<Node, Edge>,
    title: &str,
) -> std::fmt::Result {
    writeln!(out, "digraph \"{}\" {{", escape(title))?;
    writeln!(out, "    rankdir=LR;")?;
    writeln!(out, "    node [fontname=\"Helvetica\", fontsize=11];")?;
    writeln!(out, "    edge [fontname=\"Helvetica\", fontsize=9];")?;
    for node in graph.node_weights() {
        let (shape, style) = match node {
            Node::Host(_) => ("box3d", "style=filled, fillcolor=\"#e8e8ff\""),
            Node::Uplink(_) => ("cds", "style=filled, fillcolor=\"#ffe8c0\""),
            Node::Pool(_) => ("cylinder", "style=filled, fillcolor=\"#d8f0d8\""),
            Node::Project(_) => ("folder", "style=filled, fillcolor=\"#f0f0f0\""),
            Node::Vm(_) => ("box", "style=rounded"),
        };
        writeln!(
            out,
            "    \"{}\" [label=\"{}\", shape={shape}, {style}];",
            escape(&node_id(model, *node)),
            escape(&node_label(model, *node)),
        )?;
    }
    for edge in graph.edge_references() {
        let from = node_id(model, graph[edge.source()]);
        let to = node_id(model, graph[edge.target()]);
        let what = edge.weight();
        let style = what.style();
        let sep = if style.is_empty() { "" } else { ", " };
        writeln!(
            out,
            "    \"{}\" -> \"{}\" [label=\"{}\"{sep}{style}];",
            escape(&from),
            escape(&to),
            escape(&what.label()),
        )?;
    }
    writeln!(out, "}}")
}

/// A node's DOT id: `kind:name`, unique because names are unique per kind.
fn node_id(model: &Model, node: Node) -> String {
    match node {
        Node::Host(h) => format!("host:{}", model.host(h).name.value),
        Node::Uplink(u) => format!("uplink:{}", model.uplink(u).name.value),
        Node::Pool(p) => format!("pool:{}", model.pool(p).name.value),
        Node::Project(p) => format!("project:{}", model.project(p).name.value),
        Node::Vm(v) => format!("vm:{}", model.vm(v).name.value),
    }
}

/// The name, what identifies the entity on the wire, and its description.
fn node_label(model: &Model, node: Node) -> String {
    let (name, detail, description) = match node {
        Node::Host(h) => {
            let host = model.host(h);
            let lan: Vec<&str> = host.lan.iter().map(|l| l.value.as_str()).collect();
            let lan = (!lan.is_empty()).then(|| format!("lan: {}", lan.join(", ")));
            // A pair's machines (docs/semantics.md §12).
            let pair = host.ha.as_ref().map(|ha| {
                let [first, second] = &ha.members.0;
                format!(
                    "pair: {}, {} (vrid {})",
                    first.value, second.value, ha.vrid.value
                )
            });
            let detail: Vec<String> = lan.into_iter().chain(pair).collect();
            let detail = (!detail.is_empty()).then(|| detail.join("\n"));
            (&host.name.value, detail, &host.description)
        }
        Node::Uplink(u) => {
            let uplink = model.uplink(u);
            let detail = format!("id {}, table {}", uplink.id.value, uplink.table.value);
            (&uplink.name.value, Some(detail), &uplink.description)
        }
        Node::Pool(p) => {
            let pool = model.pool(p);
            let detail = both(&pool.prefix.v4, &pool.prefix.v6);
            (&pool.name.value, Some(detail), &pool.description)
        }
        Node::Project(p) => {
            let project = model.project(p);
            // Sorted, so IPv4 comes first whatever order the file lists them in.
            let networks: BTreeSet<IpNet> = project.networks.iter().map(|n| n.value).collect();
            let networks: Vec<String> = networks.iter().map(IpNet::to_string).collect();
            let detail = (!networks.is_empty()).then(|| networks.join(", "));
            (&project.name.value, detail, &project.description)
        }
        Node::Vm(v) => {
            let vm = model.vm(v);
            let detail = both(&vm.address.v4, &vm.address.v6);
            (&vm.name.value, Some(detail), &vm.description)
        }
    };
    let mut label = name.to_string();
    for line in detail.iter().chain(description.iter()) {
        label.push('\n');
        label.push_str(line);
    }
    label
}

/// The pool the VM's default prefers for its packets of family `F`, if it has
/// an address of the family: its first `via` that names a pool it has an
/// address of that family in, or an address of that family (an address names
/// its own family only; docs/semantics.md §13).
fn default_pool<F: Family>(model: &Model, vm: &Vm) -> Option<PoolId> {
    vm.address.get::<F>().as_ref()?;
    vm.default
        .iter()
        .find_map(|via| model.via_pool::<F>(vm, via.value))
}

/// The pool a `via` leaves through: the pool itself, or the pool of the address.
fn via_pool(model: &Model, via: Via) -> Option<PoolId> {
    match via {
        Via::Pool(pool) => Some(pool),
        Via::Address(address) => model.pool_of_ip(address),
    }
}

/// A one-per-family key's values, IPv4 first, as a node's detail line.
fn both<A: std::fmt::Display, B: std::fmt::Display>(
    v4: &Option<Spanned<A>>,
    v6: &Option<Spanned<B>>,
) -> String {
    let v4 = v4.iter().map(|a| a.value.to_string());
    let v6 = v6.iter().map(|a| a.value.to_string());
    v4.chain(v6).collect::<Vec<_>>().join(", ")
}

/// Escapes text for a double-quoted DOT string: `"` and `\` are escaped, a line
/// break becomes `\n` (a centred line break in Graphviz), other control characters
/// are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The nodes a graph holds.
struct Selection {
    hosts: Vec<HostId>,
    uplinks: Vec<UplinkId>,
    pools: Vec<PoolId>,
    projects: Vec<ProjectId>,
    vms: Vec<VmId>,
}

impl Selection {
    /// Every node, kind by kind: hosts, uplinks, pools, projects, VMs.
    fn nodes(&self) -> impl Iterator<Item = Node> + '_ {
        let hosts = self.hosts.iter().copied().map(Node::Host);
        let uplinks = self.uplinks.iter().copied().map(Node::Uplink);
        let pools = self.pools.iter().copied().map(Node::Pool);
        let projects = self.projects.iter().copied().map(Node::Project);
        let vms = self.vms.iter().copied().map(Node::Vm);
        hosts.chain(uplinks).chain(pools).chain(projects).chain(vms)
    }

    fn new(model: &Model, host: Option<HostId>) -> Selection {
        let Some(h) = host else {
            return Selection {
                hosts: (0..model.hosts.len()).map(HostId).collect(),
                uplinks: (0..model.uplinks.len()).map(UplinkId).collect(),
                pools: (0..model.pools.len()).map(PoolId).collect(),
                projects: (0..model.projects.len()).map(ProjectId).collect(),
                vms: model.vm_ids().collect(),
            };
        };
        let uplinks: BTreeSet<UplinkId> =
            model.host(h).attachments.iter().map(|a| a.uplink).collect();
        let vms: Vec<VmId> = model.vm_ids().filter(|&v| model.vm(v).host == h).collect();
        let projects: BTreeSet<ProjectId> = vms.iter().map(|&v| model.vm(v).project).collect();
        let mut pools: BTreeSet<PoolId> = vms
            .iter()
            .flat_map(|&v| model.vm(v).public.iter())
            .filter_map(|a| model.pool_of_ip(a.value))
            .collect();
        pools.extend(
            (0..model.pools.len())
                .map(PoolId)
                .filter(|&p| model.pool(p).uplink.is_some_and(|u| uplinks.contains(&u))),
        );
        Selection {
            hosts: vec![h],
            uplinks: uplinks.into_iter().collect(),
            pools: pools.into_iter().collect(),
            projects: projects.into_iter().collect(),
            vms,
        }
    }
}
