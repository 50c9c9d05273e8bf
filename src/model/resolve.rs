//! raw → model: resolves names, parses addresses, range-checks numbers.
//!
//! Every problem becomes a diagnostic and resolution goes on, so one run reports
//! everything. A value that cannot be understood is left out of the model (a VM
//! whose project is unknown, an egress entry whose prefix does not parse): the
//! checks then see only well-formed data and never report a follow-on error.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use rayon::prelude::*;

use super::*;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::family::{V4, V6};
use crate::raw::{self, Sp};

/// The only format version this build understands.
pub const FORMAT_VERSION: i64 = 1;

pub fn resolve(parsed: &raw::Parsed, diagnostics: &mut Diagnostics) -> Model {
    let (topology, unusable) = (&parsed.topology, &parsed.unusable);
    let mut resolver = Resolver {
        uplinks: names(&topology.uplinks, &unusable.uplinks),
        pools: names(&topology.pools, &unusable.pools),
        hosts: names(&topology.hosts, &unusable.hosts),
        projects: names(&topology.projects, &unusable.projects),
        diagnostics,
        suggestion_budget: SUGGESTION_BUDGET,
    };
    if let Some(version) = &topology.version
        && *version.get() != FORMAT_VERSION
    {
        resolver.diagnostics.push(
            Diagnostic::new(
                Code::UnsupportedVersion,
                format!("format version {} is not supported", version.get()),
                version.span(),
                "this switchyard reads version 1",
            )
            .help("set `version = 1`"),
        );
    }
    let keys = (topology.uplinks.keys().chain(topology.pools.keys()))
        .chain(topology.hosts.keys())
        .chain(topology.projects.keys())
        .chain(topology.vms.keys())
        .chain(unusable.uplinks.iter().chain(&unusable.pools))
        .chain(unusable.hosts.iter().chain(&unusable.projects))
        .chain(&unusable.vms);
    for name in keys {
        resolver.name_grammar(name);
    }
    // Uplinks and pools that cannot be resolved are left out of the model, so their
    // indices shift: each is resolved before anything refers to it, and the name
    // table is rebuilt from what was kept.
    let uplinks = topology
        .uplinks
        .iter()
        .map(|(n, u)| resolver.uplink(n, u))
        .collect();
    let uplinks = kept(Arc::make_mut(&mut resolver.uplinks), uplinks);
    let pools = topology
        .pools
        .iter()
        .map(|(n, p)| resolver.pool(n, p))
        .collect();
    let pools = kept(Arc::make_mut(&mut resolver.pools), pools);
    let hosts = topology
        .hosts
        .iter()
        .map(|(n, h)| resolver.host(n, h))
        .collect();
    let hosts = kept(Arc::make_mut(&mut resolver.hosts), hosts);
    let projects = resolver.side_by_side(&topology.projects, |resolver, name, project| {
        resolver.project(name, project)
    });
    let projects = kept(Arc::make_mut(&mut resolver.projects), projects);
    let vms = resolver.side_by_side(&topology.vms, |resolver, name, vm| resolver.vm(name, vm));
    let vms = vms.into_iter().flatten().collect();
    let failover = topology
        .failover
        .as_ref()
        .and_then(|failover| resolver.failover(failover));
    let left_out = LeftOut {
        needed: misnamed(&topology.uplinks)
            || misnamed(&topology.pools)
            || misnamed(&topology.hosts),
        with_dependents: misnamed(&topology.projects) || misnamed(&topology.vms),
    };
    Model {
        uplinks,
        pools,
        hosts,
        projects,
        vms,
        failover,
        left_out,
    }
}

/// `[failover]` defaults: the timing docs/semantics.md §10 promises its numbers for.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(200);
pub const DEFAULT_DOWN_AFTER: u32 = 3;
pub const DEFAULT_UP_AFTER: u32 = 5;
/// Shorter rounds would flood the gateway; longer ones make failover pointless.
pub const INTERVAL_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_millis(10)..=Duration::from_secs(60);
pub const ROUNDS_MAX: i64 = 1000;

/// Name → index into the model; `None` for an entity that is defined but could not
/// be read or resolved (already reported), so references to it stay silent.
type NameTable = BTreeMap<String, Option<usize>>;

fn names<T>(map: &raw::Named<T>, unusable: &[Sp<String>]) -> Arc<NameTable> {
    let usable = map
        .keys()
        .enumerate()
        .map(|(i, name)| (name.get().clone(), Some(i)));
    let unusable = unusable.iter().map(|name| (name.get().clone(), None));
    Arc::new(usable.chain(unusable).collect())
}

/// Drops the entities that failed to resolve and renumbers `table` to match.
fn kept<T>(table: &mut NameTable, resolved: Vec<Option<T>>) -> Vec<T> {
    let mut next = 0;
    let mut new_index = Vec::with_capacity(resolved.len());
    for entity in &resolved {
        new_index.push(entity.as_ref().map(|_| {
            next += 1;
            next - 1
        }));
    }
    for index in table.values_mut() {
        *index = index.and_then(|i| new_index[i]);
    }
    resolved.into_iter().flatten().collect()
}

fn spanned<T>(value: T, from: &Sp<impl Sized>) -> Spanned<T> {
    Spanned::new(value, from.span())
}

/// Whether an entity of `entities` has a name outside the grammar.
fn misnamed<T>(entities: &raw::Named<T>) -> bool {
    entities.keys().any(|name| !is_valid_name(name.get()))
}

/// An entity's name, or `None` outside the grammar (SY0013, reported for
/// every key before the entities are resolved).
fn named(name: &Sp<String>) -> Option<Spanned<Name>> {
    Some(spanned(Name::new(name.get())?, name))
}

struct Resolver<'d> {
    /// Shared with the resolvers of chunks ([`Resolver::side_by_side`]).
    uplinks: Arc<NameTable>,
    pools: Arc<NameTable>,
    hosts: Arc<NameTable>,
    projects: Arc<NameTable>,
    diagnostics: &'d mut Diagnostics,
    /// Name comparisons left for "did you mean" suggestions.
    suggestion_budget: usize,
}

/// Each suggestion compares the unknown name with every known one; past this many
/// comparisons in one run (a file with very many unknown references), unknown
/// references get no suggestion, so the work stays bounded.
const SUGGESTION_BUDGET: usize = 100_000;

impl Resolver<'_> {
    fn name_grammar(&mut self, name: &Sp<String>) {
        if !is_valid_name(name) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::BadName,
                    format!("`{}` is not a valid name", name.get().escape_debug()),
                    name.span(),
                    "invalid name",
                )
                .help("names are 1 to 63 ASCII letters, digits, `-`, `_` or `.`, starting with a letter or digit"),
            );
        }
    }

    /// An interface name, or `None` when Linux would not take it (reported).
    fn interface(&mut self, name: &Sp<String>) -> Option<Spanned<InterfaceName>> {
        self.typed(
            name,
            InterfaceName::new,
            (Code::BadInterfaceName, "", "interface name"),
            "use 1 to 15 ASCII letters, digits, `-`, `_`, `.` or `@`, \
             other than `.`, `..`, `all` and `default`",
        )
    }

    /// A `parent_unit`, or `None` when it names no unit switchyard can extend
    /// (reported).
    fn network_unit(&mut self, name: &Sp<String>) -> Option<Spanned<NetworkUnitName>> {
        self.typed(
            name,
            NetworkUnitName::new,
            (Code::BadParentUnit, "parent_unit ", ".network file name"),
            "name the administrator's own unit for the parent as it is in \
             /etc/systemd/network, e.g. `20-eth1.network`",
        )
    }

    /// `text` as a `T` (`make` checks it), or `None` when it is refused: then
    /// reported with `code`, as "{key}`text` is not a usable {kind}: why".
    fn typed<T>(
        &mut self,
        text: &Sp<String>,
        make: fn(&str) -> Result<T, &'static str>,
        (code, key, kind): (Code, &str, &str),
        help: &str,
    ) -> Option<Spanned<T>> {
        match make(text.get()) {
            Ok(value) => Some(spanned(value, text)),
            Err(problem) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        code,
                        format!(
                            "{key}`{}` is not a usable {kind}: {problem}",
                            text.get().escape_debug()
                        ),
                        text.span(),
                        problem,
                    )
                    .help(help),
                );
                None
            }
        }
    }

    fn reference(&mut self, kind: Kind, name: &Sp<String>) -> Option<usize> {
        let table = match kind {
            Kind::Uplink => &self.uplinks,
            Kind::Pool => &self.pools,
            Kind::Host => &self.hosts,
            Kind::Project => &self.projects,
        };
        if let Some(&index) = table.get(name.get().as_str()) {
            // `None`: defined, but its own definition is broken and already reported.
            return index;
        }
        let mut diagnostic = Diagnostic::new(
            kind.unknown_code(),
            format!("unknown {} `{}`", kind.noun(), name.get().escape_debug()),
            name.span(),
            format!("no [{}.{}]", kind.table(), name.get().escape_debug()),
        );
        let close = if self.suggestion_budget >= table.len() {
            self.suggestion_budget -= table.len();
            crate::diagnostic::closest(name, table.keys())
        } else {
            None
        };
        diagnostic = match close {
            Some(close) => diagnostic.help(format!("did you mean `{close}`?")),
            None if table.is_empty() => {
                diagnostic.help(format!("the topology defines no {}", kind.table()))
            }
            None => diagnostic.help(format!(
                "known {}: {}",
                kind.table(),
                table
                    .keys()
                    .take(8)
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
        self.diagnostics.push(diagnostic);
        None
    }

    fn number<T: TryFrom<i64>>(
        &mut self,
        value: &Sp<i64>,
        min: i64,
        max: i64,
        what: &str,
    ) -> Option<Spanned<T>> {
        self.number_or(Code::OutOfRange, value, min, max, what)
    }

    /// [`Self::number`], reporting a number out of range with `code`.
    fn number_or<T: TryFrom<i64>>(
        &mut self,
        code: Code,
        value: &Sp<i64>,
        min: i64,
        max: i64,
        what: &str,
    ) -> Option<Spanned<T>> {
        let number = *value.get();
        match T::try_from(number) {
            Ok(converted) if (min..=max).contains(&number) => Some(spanned(converted, value)),
            _ => {
                self.diagnostics.push(Diagnostic::new(
                    code,
                    format!("{what} {number} is out of range"),
                    value.span(),
                    format!("must be {min}..={max}"),
                ));
                None
            }
        }
    }

    /// An address of either family.
    fn address(&mut self, text: &Sp<String>) -> Option<Spanned<IpAddr>> {
        match IpAddr::from_str(text.get()) {
            Ok(address) => Some(spanned(address, text)),
            Err(_) => self.bad_address(
                text,
                "expected an IPv4 or IPv6 address such as 198.51.100.7 or 2001:db8::7",
            ),
        }
    }

    /// A network prefix: host bits must be zero (`10.0.0.0/24`, not `10.0.0.5/24`).
    /// With host bits set it is reported and resolution goes on with the network it
    /// suggests, so nothing that refers to it reports a follow-on error.
    fn prefix(&mut self, text: &Sp<String>) -> Option<Spanned<IpNet>> {
        let net = self.interface_address(text)?;
        if net.value != net.value.trunc() {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::HostBitsSet,
                    format!("`{}` has host bits set", text.get()),
                    text.span(),
                    "not a network prefix",
                )
                .help(format!("did you mean `{}`?", net.value.trunc())),
            );
            return Some(Spanned::new(net.value.trunc(), net.span));
        }
        Some(net)
    }

    /// An address with a prefix length (`192.0.2.2/30`, `2001:db8::2/64`); a
    /// bare address means its /32 or /128.
    fn interface_address(&mut self, text: &Sp<String>) -> Option<Spanned<IpNet>> {
        match parse_net(text.get()) {
            Some(net) => Some(spanned(net, text)),
            None => self.bad_address(
                text,
                "expected an IPv4 or IPv6 prefix such as 198.51.100.0/24 or 2001:db8::/48",
            ),
        }
    }

    /// [`Self::interface_address`] where only IPv4 is taken (an HA pair's
    /// own addresses).
    fn ipv4_interface_address(&mut self, text: &Sp<String>) -> Option<Spanned<Ipv4Net>> {
        match parse_net(text.get()) {
            Some(IpNet::V4(net)) => Some(spanned(net, text)),
            Some(IpNet::V6(_)) => self.bad_address(
                text,
                "a pair's own addresses (sync link, members) are IPv4 only",
            ),
            None => self.bad_address(text, "expected an IPv4 prefix such as 192.0.2.3/29"),
        }
    }

    fn bad_address<T>(&mut self, text: &Sp<String>, help: &str) -> Option<T> {
        self.diagnostics.push(
            Diagnostic::new(
                Code::BadAddress,
                format!(
                    "`{}` is not an IP address or prefix",
                    text.get().escape_debug()
                ),
                text.span(),
                "cannot parse this",
            )
            .help(help),
        );
        None
    }

    /// A key that holds at most one value per family (`address = ["10.0.0.5",
    /// "2001:db8:10::5"]`), each string read with `parse` (an address or a
    /// prefix). `None` when the list is empty or a string cannot be read
    /// (reported): the entity is then left out. A second value of one family
    /// is reported (SY1001) and the first kept.
    fn per_family<T: OfFamily>(
        &mut self,
        key: &str,
        noun: Noun,
        list: &Sp<raw::OneOrMany<impl raw::Listed>>,
        parse: fn(&mut Self, &Sp<String>) -> Option<Spanned<T>>,
    ) -> Option<T::PerFamily> {
        let items = list.items();
        if items.is_empty() {
            self.empty_list(list.span(), noun.singular, noun.singular);
            return None;
        }
        let parsed: Vec<Option<Spanned<T>>> = items.iter().map(|item| parse(self, item)).collect();
        let values: Vec<Spanned<T>> = parsed.into_iter().collect::<Option<_>>()?;
        Some(T::per_family(
            self.one_of_family::<V4, T>(key, noun, &values),
            self.one_of_family::<V6, T>(key, noun, &values),
        ))
    }

    /// The first of `values` of family `F`; every later one is reported.
    fn one_of_family<F: Family, T: OfFamily>(
        &mut self,
        key: &str,
        noun: Noun,
        values: &[Spanned<T>],
    ) -> Option<Spanned<T::Of<F>>> {
        let mut of_family = values
            .iter()
            .filter_map(|value| Some(Spanned::new(value.value.of::<F>()?, value.span.clone())));
        let first = of_family.next()?;
        for again in of_family {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::TwoOfOneFamily,
                    format!("`{key}` holds two {} {}", F::NAME, noun.plural),
                    again.span,
                    format!("a second {} {}", F::NAME, noun.singular),
                )
                .also(
                    first.span.clone(),
                    format!("the first {} {}", F::NAME, noun.singular),
                )
                .help(format!(
                    "`{key}` holds at most one {} of each family: remove one of the two",
                    noun.singular
                )),
            );
        }
        Some(first)
    }

    fn uplink(&mut self, name: &Sp<String>, uplink: &Sp<raw::Uplink>) -> Option<Uplink> {
        let id = self.number::<u8>(&uplink.id, 1, 255, "uplink id")?;
        let table = match &uplink.table {
            Some(table) => self.number::<u32>(table, 1, u32::MAX as i64, "routing table")?,
            None => Spanned::new(100 + u32::from(id.value), uplink.id.span()),
        };
        Some(Uplink {
            name: named(name)?,
            id,
            table,
            description: uplink.description.as_ref().map(|d| d.get().clone()),
        })
    }

    fn pool(&mut self, name: &Sp<String>, pool: &Sp<raw::Pool>) -> Option<Pool> {
        // `via`/`default` read digits-and-dots as an address, so such a pool could
        // never be named there.
        if is_valid_name(name) && looks_like_address(name) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::BadName,
                    format!("pool name `{}` reads as an address", name.get()),
                    name.span(),
                    "only digits and dots",
                )
                .help("`via` and `default` take an address or a pool name; give the pool a name with a letter, `-` or `_`"),
            );
        }
        let uplink = self.reference(Kind::Uplink, &pool.uplink).map(UplinkId);
        let reserved = pool
            .reserved
            .iter()
            .filter_map(|r| self.address(r))
            .collect();
        let prefix = self.per_family("prefix", PREFIX, &pool.prefix, Resolver::prefix);
        Some(Pool {
            name: named(name)?,
            uplink,
            prefix: prefix?,
            reserved,
            description: pool.description.as_ref().map(|d| d.get().clone()),
        })
    }

    fn host(&mut self, name: &Sp<String>, host: &Sp<raw::Host>) -> Option<Host> {
        let mut attachments = Vec::new();
        let mut unresolved_attachments = Vec::new();
        for (uplink, attachment) in &host.uplinks {
            match self.attachment(uplink, attachment) {
                Ok(attachment) => attachments.push(attachment),
                Err(Some(uplink)) => unresolved_attachments.push(uplink),
                Err(None) => {}
            }
        }
        let ha = host.ha.as_ref().map(|ha| self.ha(ha));
        let lan: Vec<_> = host.lan.iter().filter_map(|l| self.interface(l)).collect();
        Some(Host {
            name: named(name)?,
            lan_left_out: lan.len() < host.lan.len(),
            lan,
            attachments,
            unresolved_attachments,
            unresolved_ha: matches!(ha, Some(None)),
            ha: ha.flatten(),
            description: host.description.as_ref().map(|d| d.get().clone()),
        })
    }

    /// `Err(Some(uplink))`: the attachment names a known uplink but is itself broken
    /// (already reported); `Err(None)`: the uplink is unknown (already reported).
    fn attachment(
        &mut self,
        uplink: &Sp<String>,
        attachment: &Sp<raw::Attachment>,
    ) -> Result<Attachment, Option<UplinkId>> {
        let uplink_id = self.reference(Kind::Uplink, uplink).map(UplinkId);
        let address = self.per_family(
            "address",
            ADDRESS,
            &attachment.address,
            Resolver::interface_address,
        );
        let gateway = self.per_family("gateway", GATEWAY, &attachment.gateway, Resolver::address);
        // `Some(None)`: a VLAN whose id is out of range (already reported).
        let probe = attachment
            .probe
            .iter()
            .filter_map(|target| self.address(target))
            .collect();
        let interface = self.interface(&attachment.interface);
        let vlan = attachment.vlan.as_ref().map(|vlan| {
            let parent = self.interface(&vlan.parent);
            let id = self.number::<u16>(&vlan.id, 1, 4094, "VLAN id");
            let parent_unit = vlan
                .parent_unit
                .as_ref()
                .map(|unit| self.network_unit(unit));
            Some(Vlan {
                parent: parent?,
                id: id?,
                parent_unit: match parent_unit {
                    Some(unit) => Some(unit?),
                    None => None,
                },
            })
        });
        // `Some(None)`: given, but not two addresses (already reported).
        let member_addresses = attachment.member_addresses.as_ref().map(|list| {
            self.pair(
                list,
                Code::HaPairLength,
                "member_addresses",
                |resolver, text| resolver.ipv4_interface_address(text),
            )
            .map(|pair| spanned(pair, list))
        });
        match (
            uplink_id,
            interface,
            address,
            gateway,
            vlan,
            member_addresses,
        ) {
            (
                Some(uplink_id),
                Some(interface),
                Some(address),
                Some(gateway),
                vlan,
                member_addresses,
            ) if vlan.as_ref().is_none_or(Option::is_some)
                && member_addresses.as_ref().is_none_or(Option::is_some) =>
            {
                Ok(Attachment {
                    uplink: uplink_id,
                    key_span: uplink.span(),
                    interface,
                    address,
                    gateway,
                    vlan: vlan.flatten(),
                    probe,
                    member_addresses: member_addresses.flatten(),
                })
            }
            (uplink_id, ..) => Err(uplink_id),
        }
    }

    /// `[hosts.NAME.ha]`, or `None` when a part of it cannot be resolved
    /// (reported).
    fn ha(&mut self, ha: &Sp<raw::Ha>) -> Option<Ha> {
        for member in ha.members.get() {
            self.name_grammar(member);
        }
        let members = self.pair(&ha.members, Code::HaMembers, "members", |_, name| {
            named(name)
        });
        let vrid = self.number_or(Code::HaVrid, &ha.vrid, 1, 255, "VRRP id");
        let sync_interface = self.interface(&ha.sync_interface);
        let sync_addresses = self.pair(
            &ha.sync_addresses,
            Code::HaPairLength,
            "sync_addresses",
            |resolver, text| resolver.ipv4_interface_address(text),
        );
        let lan_addresses: Vec<_> = ha
            .lan_addresses
            .iter()
            .map(|text| self.interface_address(text))
            .collect();
        Some(Ha {
            span: ha.span(),
            members: members?,
            vrid: vrid?,
            sync_interface: sync_interface?,
            sync_addresses: sync_addresses?,
            lan_addresses: lan_addresses.into_iter().collect::<Option<_>>()?,
        })
    }

    /// A list in members' order as a [`Pair`]: exactly two entries (else
    /// `code`, naming `key`), each resolved by `item`.
    fn pair<T>(
        &mut self,
        list: &Sp<Vec<Sp<String>>>,
        code: Code,
        key: &str,
        mut item: impl FnMut(&mut Self, &Sp<String>) -> Option<T>,
    ) -> Option<Pair<T>> {
        let resolved: Vec<Option<T>> = list.iter().map(|text| item(self, text)).collect();
        if list.len() != 2 {
            self.diagnostics.push(
                Diagnostic::new(
                    code,
                    format!("`{key}` has {} entries, not two", list.len()),
                    list.span(),
                    "one per member, in members' order",
                )
                .help("a pair has exactly two members: give one entry for each, the preferred member's first"),
            );
            return None;
        }
        let mut resolved = resolved.into_iter();
        Some(Pair([resolved.next()??, resolved.next()??]))
    }

    fn project(&mut self, name: &Sp<String>, project: &Sp<raw::Project>) -> Option<Project> {
        let pools = project
            .pools
            .iter()
            .filter_map(|p| Some(spanned(PoolId(self.reference(Kind::Pool, p)?), p)))
            .collect();
        let quota = project
            .quota
            .iter()
            .filter_map(|(pool, limit)| {
                let pool = self
                    .reference(Kind::Pool, pool)
                    .map(|id| spanned(PoolId(id), pool));
                let limit = self.number::<u32>(limit, 0, u32::MAX as i64, "quota");
                Some((pool?, limit?))
            })
            .collect();
        let default = project
            .default
            .as_ref()
            .map(|d| self.vias(d, Resolver::project_via))
            .unwrap_or_default();
        let egress = self.egress(&project.egress, Resolver::project_via);
        let addresses = project
            .addresses
            .iter()
            .filter_map(|a| self.address(a))
            .collect();
        let networks = project
            .networks
            .iter()
            .filter_map(|n| self.prefix(n))
            .collect();
        Some(Project {
            name: named(name)?,
            pools,
            addresses,
            networks,
            quota,
            default,
            egress,
            description: project.description.as_ref().map(|d| d.get().clone()),
        })
    }

    /// Each of `entities` resolved by `resolve`, in the file's order (`None`
    /// for one that does not resolve). Each is resolved on its own, so at
    /// 100k VMs (or a thousand projects of hundreds of addresses) they are
    /// resolved side by side in chunks, each reporting into a list of its
    /// own. If any has a problem, they are all resolved again one by one, so
    /// that what is reported (and which unknown names get a suggestion,
    /// within the budget) is exactly what resolving them in order reports.
    fn side_by_side<E: Sync, T: Send>(
        &mut self,
        entities: &raw::Named<E>,
        resolve: impl Fn(&mut Resolver<'_>, &Sp<String>, &Sp<E>) -> Option<T> + Sync,
    ) -> Vec<Option<T>> {
        /// Enough chunks to share out between the cores.
        const CHUNKS: usize = 64;
        let entities: Vec<_> = entities.iter().collect();
        let shared = &*self;
        let chunk_len = entities.len().div_ceil(CHUNKS).max(1);
        let chunks: Option<Vec<Vec<Option<T>>>> = (entities.par_chunks(chunk_len))
            .map(|chunk| {
                let mut diagnostics = Diagnostics::default();
                let mut resolver = Resolver {
                    uplinks: Arc::clone(&shared.uplinks),
                    pools: Arc::clone(&shared.pools),
                    hosts: Arc::clone(&shared.hosts),
                    projects: Arc::clone(&shared.projects),
                    diagnostics: &mut diagnostics,
                    // A chunk with a problem is resolved again: no suggestions.
                    suggestion_budget: 0,
                };
                let resolved = (chunk.iter())
                    .map(|(name, entity)| resolve(&mut resolver, name, entity))
                    .collect();
                diagnostics.is_empty().then_some(resolved)
            })
            .collect();
        match chunks {
            Some(chunks) => chunks.into_iter().flatten().collect(),
            None => (entities.into_iter())
                .map(|(name, entity)| resolve(self, name, entity))
                .collect(),
        }
    }

    fn vm(&mut self, name: &Sp<String>, vm: &Sp<raw::Vm>) -> Option<Vm> {
        let project = self.reference(Kind::Project, &vm.project).map(ProjectId);
        let host = self.reference(Kind::Host, &vm.host).map(HostId);
        let address = self.per_family("address", ADDRESS, &vm.address, Resolver::address);
        let public = vm.public.iter().filter_map(|a| self.address(a)).collect();
        let default = vm
            .default
            .as_ref()
            .map(|d| self.vias(d, Resolver::vm_via))
            .unwrap_or_default();
        let egress = self.egress(&vm.egress, Resolver::vm_via);
        let mac = vm.mac.as_ref().and_then(|m| self.mac(m));
        Some(Vm {
            name: named(name)?,
            project: project?,
            host: host?,
            address: address?,
            public,
            default,
            egress,
            mac,
            description: vm.description.as_ref().map(|d| d.get().clone()),
        })
    }

    fn mac(&mut self, text: &Sp<String>) -> Option<Spanned<Mac>> {
        match Mac::from_str(text.get()) {
            Ok(mac) => Some(spanned(mac, text)),
            Err(()) => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::BadMac,
                        format!("`{}` is not a MAC address", text.get().escape_debug()),
                        text.span(),
                        "cannot parse this",
                    )
                    .help(
                        "write six pairs of hex digits separated by colons, e.g. 52:54:00:12:34:56",
                    ),
                );
                None
            }
        }
    }

    /// A VM's `via`/`default`: an address if it parses as one, else a pool name.
    fn vm_via(&mut self, text: &Sp<String>) -> Option<Spanned<Via>> {
        if looks_like_address(text.get()) {
            return self
                .address(text)
                .map(|a| spanned(Via::Address(a.value), text));
        }
        self.reference(Kind::Pool, text)
            .map(|p| spanned(Via::Pool(PoolId(p)), text))
    }

    /// A project's `via`/`default`: only pools, since project addresses are not
    /// tied to a VM.
    fn project_via(&mut self, text: &Sp<String>) -> Option<Spanned<PoolId>> {
        if looks_like_address(text.get()) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::ProjectViaNotPool,
                    format!(
                        "project-wide preferences name a pool, not an address (`{}`)",
                        text.get()
                    ),
                    text.span(),
                    "an address",
                )
                .help("name the pool here, or move the entry to the VMs that own this address"),
            );
            return None;
        }
        self.reference(Kind::Pool, text)
            .map(|p| spanned(PoolId(p), text))
    }

    fn egress<V: Clone>(
        &mut self,
        entries: &[Sp<raw::Egress>],
        via: fn(&mut Self, &Sp<String>) -> Option<Spanned<V>>,
    ) -> Vec<Egress<V>> {
        let mut resolved = Vec::new();
        for entry in entries {
            let vias = self.vias(&entry.via, via);
            let destinations = entry.to.items();
            if destinations.is_empty() {
                self.empty_list(entry.to.span(), "destination", "prefix");
            }
            for to in destinations {
                if let Some(to) = self.prefix(&to)
                    && !vias.is_empty()
                {
                    resolved.push(Egress {
                        to,
                        via: vias.clone(),
                    });
                }
            }
        }
        resolved
    }

    /// An empty `to`, `via` or `default` list: it would decide nothing, silently.
    fn empty_list(&mut self, span: Span, names: &str, at_least: &str) {
        self.diagnostics.push(
            Diagnostic::new(
                Code::WrongType,
                format!("an empty list names no {names}"),
                span,
                "empty",
            )
            .help(format!("name at least one {at_least}")),
        );
    }

    /// A `via`/`default` value or list, each element resolved with `via`. Empty
    /// when the list is empty or any element cannot be resolved (reported): the
    /// entry is then left out whole, so no half-understood list decides anything.
    fn vias<V>(
        &mut self,
        value: &Sp<raw::Vias>,
        via: fn(&mut Self, &Sp<String>) -> Option<Spanned<V>>,
    ) -> Vec<Spanned<V>> {
        let items = value.items();
        if items.is_empty() {
            self.empty_list(
                value.span(),
                "egress",
                "pool or address, the preferred one first",
            );
            return Vec::new();
        }
        let resolved: Vec<Option<Spanned<V>>> = items.iter().map(|item| via(self, item)).collect();
        resolved
            .into_iter()
            .collect::<Option<_>>()
            .unwrap_or_default()
    }

    fn failover(&mut self, failover: &Sp<raw::Failover>) -> Option<Failover> {
        let interval = match &failover.interval {
            None => Some(DEFAULT_INTERVAL),
            Some(text) => self.interval(text),
        };
        let rounds = |resolver: &mut Self, value: &Option<Sp<i64>>, default, what| match value {
            None => Some(default),
            Some(value) => resolver
                .number::<u32>(value, 1, ROUNDS_MAX, what)
                .map(|n| n.value),
        };
        let down_after = rounds(self, &failover.down_after, DEFAULT_DOWN_AFTER, "down_after");
        let up_after = rounds(self, &failover.up_after, DEFAULT_UP_AFTER, "up_after");
        Some(Failover {
            span: failover.span(),
            interval: interval?,
            down_after: down_after?,
            up_after: up_after?,
        })
    }

    fn interval(&mut self, text: &Sp<String>) -> Option<Duration> {
        let Ok(interval) = humantime::parse_duration(text.get()) else {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::WrongType,
                    format!("`{}` is not a duration", text.get().escape_debug()),
                    text.span(),
                    "expected a duration",
                )
                .help("write a number and a unit, such as \"200ms\" or \"1s\""),
            );
            return None;
        };
        if INTERVAL_RANGE.contains(&interval) {
            return Some(interval);
        }
        self.diagnostics.push(Diagnostic::new(
            Code::OutOfRange,
            format!("interval {} is out of range", text.get()),
            text.span(),
            "must be 10ms..=60s",
        ));
        None
    }
}

/// `address/length` or a bare address (its /32 or /128). IPv4 is read as
/// ever (by ipnet); IPv6 with the standard library's address grammar and a
/// length of 0 to 128 without leading zeros, which is what the schema says.
fn parse_net(text: &str) -> Option<IpNet> {
    if let Ok(net) = Ipv4Net::from_str(text) {
        return Some(net.into());
    }
    if let Ok(address) = Ipv4Addr::from_str(text) {
        return Some(Ipv4Net::from(address).into());
    }
    let (address, length) = match text.split_once('/') {
        Some((address, length)) => (address, Some(length)),
        None => (text, None),
    };
    let address = Ipv6Addr::from_str(address).ok()?;
    let length = match length {
        None => V6::MAX_PREFIX_LEN,
        Some(length) => {
            let digits = !length.is_empty() && length.bytes().all(|b| b.is_ascii_digit());
            if !digits || (length.len() > 1 && length.starts_with('0')) {
                return None;
            }
            length.parse().ok()?
        }
    };
    Ipv6Net::new(address, length).ok().map(IpNet::from)
}

/// What a one-per-family key holds, for messages: "address", "addresses".
#[derive(Clone, Copy)]
struct Noun {
    singular: &'static str,
    plural: &'static str,
}

const ADDRESS: Noun = Noun {
    singular: "address",
    plural: "addresses",
};
const PREFIX: Noun = Noun {
    singular: "prefix",
    plural: "prefixes",
};
const GATEWAY: Noun = Noun {
    singular: "gateway",
    plural: "gateways",
};

/// An address or prefix of either family, which a one-per-family key splits
/// into the model's value per family.
trait OfFamily: Copy {
    type Of<F: Family>;
    /// The model's one-per-family value ([`Addresses`], [`Prefixes`]).
    type PerFamily;
    fn of<F: Family>(self) -> Option<Self::Of<F>>;
    fn per_family(
        v4: Option<Spanned<Self::Of<V4>>>,
        v6: Option<Spanned<Self::Of<V6>>>,
    ) -> Self::PerFamily;
}

impl OfFamily for IpAddr {
    type Of<F: Family> = F::Addr;
    type PerFamily = Addresses;
    fn of<F: Family>(self) -> Option<F::Addr> {
        F::of_ip(self)
    }
    fn per_family(v4: Option<Spanned<Ipv4Addr>>, v6: Option<Spanned<Ipv6Addr>>) -> Addresses {
        Both { v4, v6 }
    }
}

impl OfFamily for IpNet {
    type Of<F: Family> = F::Net;
    type PerFamily = Prefixes;
    fn of<F: Family>(self) -> Option<F::Net> {
        F::of_net(self)
    }
    fn per_family(v4: Option<Spanned<Ipv4Net>>, v6: Option<Spanned<Ipv6Net>>) -> Prefixes {
        Both { v4, v6 }
    }
}

fn looks_like_address(text: &str) -> bool {
    text.contains(':') || (!text.is_empty() && text.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

#[derive(Clone, Copy)]
enum Kind {
    Uplink,
    Pool,
    Host,
    Project,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::Uplink => "uplink",
            Kind::Pool => "pool",
            Kind::Host => "host",
            Kind::Project => "project",
        }
    }
    fn table(self) -> &'static str {
        match self {
            Kind::Uplink => "uplinks",
            Kind::Pool => "pools",
            Kind::Host => "hosts",
            Kind::Project => "projects",
        }
    }
    fn unknown_code(self) -> Code {
        match self {
            Kind::Uplink => Code::UnknownUplink,
            Kind::Pool => Code::UnknownPool,
            Kind::Host => Code::UnknownHost,
            Kind::Project => Code::UnknownProject,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model of `text` and what resolving it reported.
    fn resolved(text: &str) -> (Model, Vec<Diagnostic>) {
        let mut diagnostics = Diagnostics::default();
        let parsed = raw::parse(text, &mut diagnostics).expect("TOML");
        let model = resolve(&parsed, &mut diagnostics);
        (model, diagnostics.into_sorted())
    }

    fn codes(diagnostics: &[Diagnostic]) -> Vec<&'static str> {
        diagnostics.iter().map(|d| d.code.as_str()).collect()
    }

    /// The text a diagnostic label points at.
    fn at<'t>(text: &'t str, span: &Span) -> &'t str {
        &text[span.clone()]
    }

    const DUAL_STACK: &str = r#"
version = 1
[uplinks.isp-a]
id = 1
[pools.pool-a]
uplink = "isp-a"
prefix = ["198.51.100.0/24", "2001:db8:a::/48"]
reserved = ["198.51.100.1", "2001:db8:a::1"]
[hosts.net1]
lan = ["lan0"]
[hosts.net1.uplinks.isp-a]
interface = "up-a"
address = ["192.0.2.2/30", "2001:db8:ffa::2/64"]
gateway = ["192.0.2.1", "fe80::1"]
probe = ["192.0.2.1", "2001:db8:ffa::1"]
[projects.acme]
pools = ["pool-a"]
addresses = ["198.51.100.7", "2001:db8:a::7"]
networks = ["10.0.0.0/24", "2001:db8:10::/64"]
[vms.web-1]
project = "acme"
host = "net1"
address = ["10.0.0.5", "2001:db8:10::5"]
public = ["198.51.100.7", "2001:db8:a::7"]
default = "2001:db8:a::7"
egress = [{ to = ["100.64.0.0/10", "2001:db8:100::/40"], via = "pool-a" }]
"#;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }
    fn net(text: &str) -> IpNet {
        text.parse().expect("a prefix")
    }

    #[test]
    fn every_address_key_takes_both_families() {
        let (model, diagnostics) = resolved(DUAL_STACK);
        assert_eq!(diagnostics, []);
        let pool = &model.pools[0];
        assert_eq!(
            pool.prefix::<V4>(),
            Some(&"198.51.100.0/24".parse().unwrap())
        );
        assert_eq!(
            pool.prefix::<V6>(),
            Some(&"2001:db8:a::/48".parse().unwrap())
        );
        let reserved: Vec<IpAddr> = pool.reserved.iter().map(|r| r.value).collect();
        assert_eq!(reserved, [ip("198.51.100.1"), ip("2001:db8:a::1")]);
        let attachment = &model.hosts[0].attachments[0];
        let address = &attachment.address;
        assert_eq!(
            address.v4.as_ref().map(|a| a.value),
            Some("192.0.2.2/30".parse().unwrap())
        );
        assert_eq!(
            address.v6.as_ref().map(|a| a.value),
            Some("2001:db8:ffa::2/64".parse().unwrap())
        );
        let gateway = &attachment.gateway;
        assert_eq!(
            gateway.v4.as_ref().map(|g| g.value),
            Some(Ipv4Addr::new(192, 0, 2, 1))
        );
        assert_eq!(
            gateway.v6.as_ref().map(|g| g.value),
            Some("fe80::1".parse().unwrap())
        );
        let probe: Vec<IpAddr> = attachment.probe.iter().map(|p| p.value).collect();
        assert_eq!(probe, [ip("192.0.2.1"), ip("2001:db8:ffa::1")]);
        let project = &model.projects[0];
        let addresses: Vec<IpAddr> = project.addresses.iter().map(|a| a.value).collect();
        assert_eq!(addresses, [ip("198.51.100.7"), ip("2001:db8:a::7")]);
        let networks: Vec<IpNet> = project.networks.iter().map(|n| n.value).collect();
        assert_eq!(networks, [net("10.0.0.0/24"), net("2001:db8:10::/64")]);
        let vm = &model.vms[0];
        assert_eq!(vm.address::<V4>(), Some(Ipv4Addr::new(10, 0, 0, 5)));
        assert_eq!(vm.address::<V6>(), Some("2001:db8:10::5".parse().unwrap()));
        let public: Vec<IpAddr> = vm.public.iter().map(|a| a.value).collect();
        assert_eq!(public, [ip("198.51.100.7"), ip("2001:db8:a::7")]);
        assert_eq!(vm.default[0].value, Via::Address(ip("2001:db8:a::7")));
        let to: Vec<IpNet> = vm.egress.iter().map(|e| e.to.value).collect();
        assert_eq!(to, [net("100.64.0.0/10"), net("2001:db8:100::/40")]);
    }

    /// A file without IPv6 keeps its meaning: a string is the value of its
    /// family, spanning the whole string, and the other family has none.
    #[test]
    fn a_string_is_one_value_of_its_family() {
        let text = DUAL_STACK
            .replace(r#"["10.0.0.5", "2001:db8:10::5"]"#, r#""10.0.0.5""#)
            .replace(
                r#"["198.51.100.0/24", "2001:db8:a::/48"]"#,
                r#""2001:db8:a::/48""#,
            );
        let (model, diagnostics) = resolved(&text);
        assert_eq!(diagnostics, []);
        let vm = &model.vms[0];
        let address = vm.address.v4.as_ref().expect("an IPv4 address");
        assert_eq!(at(&text, &address.span), r#""10.0.0.5""#);
        assert_eq!(vm.address::<V6>(), None);
        assert_eq!(model.pools[0].prefix::<V4>(), None);
        assert!(model.pools[0].prefix::<V6>().is_some());
    }

    #[test]
    fn two_of_one_family_are_reported_at_the_second_and_the_first_is_kept() {
        for (key, written, first, second) in [
            (
                "address",
                r#"address = ["10.0.0.5", "2001:db8:10::5"]"#,
                "10.0.0.5",
                "10.0.0.6",
            ),
            (
                "prefix",
                r#"prefix = ["198.51.100.0/24", "2001:db8:a::/48"]"#,
                "2001:db8:a::/48",
                "2001:db8:b::/48",
            ),
            (
                "gateway",
                r#"gateway = ["192.0.2.1", "fe80::1"]"#,
                "fe80::1",
                "fe80::2",
            ),
        ] {
            let text =
                DUAL_STACK.replace(written, &written.replace(']', &format!(", {second:?}]")));
            let (model, diagnostics) = resolved(&text);
            assert_eq!(codes(&diagnostics), ["SY1001"], "{key}: {diagnostics:?}");
            let diagnostic = &diagnostics[0];
            let family = if first.contains(':') { "IPv6" } else { "IPv4" };
            let noun = if key == "prefix" {
                "prefixes"
            } else if key == "gateway" {
                "gateways"
            } else {
                "addresses"
            };
            assert_eq!(
                diagnostic.message,
                format!("`{key}` holds two {family} {noun}")
            );
            let labelled: Vec<&str> = diagnostic
                .labels
                .iter()
                .map(|l| at(&text, &l.span))
                .collect();
            assert_eq!(
                labelled,
                [format!("{second:?}"), format!("{first:?}")],
                "{key}"
            );
            // The first is kept: the entity resolves.
            assert_eq!(model.vms.len(), 1, "{key}");
            assert_eq!(model.pools.len(), 1, "{key}");
            assert_eq!(model.hosts[0].attachments.len(), 1, "{key}");
            let kept = match key {
                "address" => model.vms[0]
                    .address
                    .v4
                    .as_ref()
                    .map(|a| a.value.to_string()),
                "prefix" => model.pools[0].prefix::<V6>().map(ToString::to_string),
                _ => model.hosts[0].attachments[0]
                    .gateway
                    .v6
                    .as_ref()
                    .map(|g| g.value.to_string()),
            };
            assert_eq!(kept.as_deref(), Some(first), "{key}");
        }
    }

    #[test]
    fn an_empty_list_is_reported_and_its_entity_left_out() {
        let text = DUAL_STACK.replace(r#"["10.0.0.5", "2001:db8:10::5"]"#, "[]");
        let (model, diagnostics) = resolved(&text);
        assert_eq!(codes(&diagnostics), ["SY0002"]);
        assert_eq!(diagnostics[0].message, "an empty list names no address");
        assert_eq!(at(&text, &diagnostics[0].primary_span()), "[]");
        assert!(model.vms.is_empty());
        let text = DUAL_STACK.replace(r#"["198.51.100.0/24", "2001:db8:a::/48"]"#, "[]");
        let (model, diagnostics) = resolved(&text);
        assert_eq!(codes(&diagnostics), ["SY0002"]);
        assert_eq!(diagnostics[0].message, "an empty list names no prefix");
        assert!(model.pools.is_empty());
    }

    #[test]
    fn an_unreadable_element_is_reported_and_its_entity_left_out() {
        let text = DUAL_STACK.replace("\"2001:db8:10::5\"]", "\"2001:db8:10::g\"]");
        let (model, diagnostics) = resolved(&text);
        assert_eq!(codes(&diagnostics), ["SY0011"]);
        assert_eq!(
            diagnostics[0].message,
            "`2001:db8:10::g` is not an IP address or prefix"
        );
        assert!(model.vms.is_empty());
    }

    #[test]
    fn a_pair_s_own_addresses_stay_ipv4() {
        let text = DUAL_STACK.replace(
            "[projects.acme]",
            "[hosts.net1.ha]\nmembers = [\"a\", \"b\"]\nvrid = 1\nsync_interface = \"ha0\"\n\
             sync_addresses = [\"10.255.0.1/30\", \"fd00::2/64\"]\n\
             lan_addresses = [\"10.0.0.1/24\", \"2001:db8:10::1/64\"]\n[projects.acme]",
        );
        let (model, diagnostics) = resolved(&text);
        assert_eq!(codes(&diagnostics), ["SY0011"], "{diagnostics:?}");
        assert_eq!(at(&text, &diagnostics[0].primary_span()), "\"fd00::2/64\"");
        assert!(model.hosts[0].ha.is_none());
        assert!(model.hosts[0].unresolved_ha);
    }

    #[test]
    fn ipv6_prefixes_are_read_as_the_schema_says() {
        for (text, read) in [
            ("2001:db8::/32", Some("2001:db8::/32")),
            ("2001:db8::5", Some("2001:db8::5/128")),
            ("::/0", Some("::/0")),
            ("::ffff:192.0.2.0/120", Some("::ffff:192.0.2.0/120")),
            ("2001:db8::/128", Some("2001:db8::/128")),
            ("2001:db8::/129", None),
            ("2001:db8::/064", None),
            ("2001:db8::/", None),
            ("2001:db8::/+64", None),
            // ipnet reads eight groups after `::`; the standard library does not.
            ("::1:2:3:4:5:6:7:8/64", None),
            ("fe80::1%eth0/64", None),
            // IPv4 as ever, host bits and all.
            ("192.0.2.2/30", Some("192.0.2.2/30")),
            ("192.0.2.2", Some("192.0.2.2/32")),
            ("192.0.2.2/33", None),
        ] {
            assert_eq!(parse_net(text), read.map(net), "{text}");
        }
    }

    /// The pattern the topology schema gives one string of the key `def`.
    fn schema_pattern(def: &str) -> impl Fn(&str) -> bool {
        let schema = serde_json::to_value(schemars::schema_for!(raw::Topology)).expect("JSON");
        let one = &schema["$defs"][def]["anyOf"][0];
        assert_eq!(one["type"], "string", "{def}: {one}");
        let validator = jsonschema::validator_for(one).expect("a schema");
        move |text| validator.is_valid(&serde_json::Value::from(text))
    }

    /// Strings over the characters of addresses and prefixes, many of them
    /// almost addresses (a fixed seed: the same strings every run).
    fn address_like_strings(with: &str) -> Vec<String> {
        let alphabet: Vec<char> = "0123456789abcdefABF:.:::/".chars().collect();
        let mut state: u64 = 0x5eed;
        let mut next = |n: usize| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as usize % n
        };
        let mut strings: Vec<String> = [
            "::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::2:3:4:5:6:7:8",
            "::1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7:8:9",
            "1::2::3",
            "::ffff:1.2.3.4",
            "1:2:3:4:5:6:1.2.3.4",
            "1:2:3:4:5::1.2.3.4",
            "1:2:3:4:5:6::1.2.3.4",
            "1:2:3:4:5:6:7:1.2.3.4",
            "::1.2.3.04",
            "12345::",
            "fe80::1%eth0",
            ":1::",
            "1:::2",
            "1.2.3.4::",
            "0001:0db8::",
            "FE80::1",
            "2001:db8::ffff:1.2.3.4",
            "1::2:3:4:5:6:7",
            "2001:db8::/64",
            "2001:db8::/0",
            "2001:db8::/128",
            "2001:db8::/129",
            "::/064",
            "::/00",
            "1:2::/1",
            "198.51.100.7",
            "198.51.100.07",
            "a.b",
        ]
        .map(String::from)
        .to_vec();
        while strings.len() < 50_000 {
            let length = 2 + next(18);
            let text: String = (0..length)
                .map(|_| alphabet[next(alphabet.len())])
                .collect();
            strings.push(text);
        }
        strings.retain(|s| s.contains(with));
        strings
    }

    /// The schema's patterns accept exactly what resolve reads: addresses of
    /// either family, IPv6 prefixes (IPv4's are pinned by
    /// tests/topology_schema.rs), and a VM's `via`.
    #[test]
    fn the_schema_s_address_patterns_agree_with_resolve() {
        let address = schema_pattern("Addresses");
        for text in address_like_strings("") {
            assert_eq!(
                address(&text),
                IpAddr::from_str(&text).is_ok(),
                "address {text:?}"
            );
        }
        let via = schema_pattern("Vias");
        let prefix = schema_pattern("Destinations");
        let pool_prefix = schema_pattern("PoolPrefixes");
        for text in address_like_strings(":") {
            let read = parse_net(&text).is_some();
            assert_eq!(prefix(&text), read, "prefix {text:?}");
            assert_eq!(pool_prefix(&text), read, "pool prefix {text:?}");
            assert_eq!(
                via(&text),
                Ipv6Addr::from_str(&text).is_ok(),
                "via {text:?}"
            );
        }
        // A project's `default` names pools: what resolve reads as an address
        // there (SY0407) the schema refuses too.
        let schema = serde_json::to_value(schemars::schema_for!(raw::Topology)).expect("JSON");
        let topology = jsonschema::validator_for(&schema).expect("a schema");
        for (default, pool) in [
            ("pool-a", true),
            ("198.51.100.7", false),
            ("2001:db8:a::7", false),
        ] {
            assert_eq!(looks_like_address(default), !pool, "{default}");
            let project =
                serde_json::json!({ "version": 1, "projects": { "acme": { "default": default } } });
            assert_eq!(
                topology.is_valid(&project),
                pool,
                "project default {default:?}"
            );
        }
        let link = schema_pattern("LinkAddresses");
        for (text, usable) in [
            ("2001:db8::2/64", true),
            ("2001:db8::2/127", true),
            ("2001:db8::2/1", true),
            ("2001:db8::2/128", true), // with a link-local gateway (SY0706)
            ("2001:db8::2/0", false),
            ("2001:db8::2", false),
            ("192.0.2.2/30", true),
            ("192.0.2.2/32", false),
        ] {
            assert_eq!(link(text), usable, "link {text:?}");
        }
    }
}
