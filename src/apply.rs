//! `switchyard apply`, the pure half: what differs between the live state and a
//! host's build, the steps that close the gap, and the steps that put a saved
//! state back. Running them (nft, `ip -4 -batch` and `ip -6 -batch`, /proc/sys) is the binary's
//! `applying.rs`; the states compared are `verify`'s [`KernelState`]s, so apply
//! and verify agree on what "in sync" means.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::family::Which;
use crate::render::{DOWN_UPLINKS_SET, NFT_TABLE};
use crate::verify::sysctl::Setting;
use crate::verify::{
    FamilyOwnership, KernelState, Listings, Neighbours, Ownership, Part, Report, Routing,
    RoutingListings, neighbour_name,
};

/// The steps of an apply, in the order they run; a failure names its step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Table,
    Routing,
    Sysctls,
    Verify,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Table => "table (nft)",
            Step::Routing => "routing (ip rules, routes, uplink addresses and neighbour entries)",
            Step::Sysctls => "sysctls",
            Step::Verify => "verify",
        })
    }
}

/// How the nft table is brought to the build's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableLoad {
    /// `switchyard.update.nft`: the live table is the one it applies over.
    Update,
    /// `switchyard.nft`: the whole table anew.
    Full,
}

/// What an apply changes; empty when the live state is the build's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes {
    pub table: Option<TableLoad>,
    /// The `ip -batch` lines of each family (see [`routing_batch`]).
    pub routing: RoutingChanges,
    /// Settings to write, with their new value.
    pub sysctls: Vec<Setting>,
    only_table: bool,
}

impl Changes {
    /// What it takes to turn `live` into `expected`, given `report`, what
    /// `verify::compare` found between them. `update_over` is the build id the
    /// host's `switchyard.update.nft` applies over, when the build has one.
    pub fn needed(
        report: &Report,
        expected: &KernelState,
        live: &KernelState,
        settings: &[Setting],
        update_over: Option<&str>,
    ) -> Changes {
        let table = report.parts.contains_key(&Part::NftTable).then(|| {
            match (update_over, live.build_id()) {
                (Some(over), Some(live_id)) if over == live_id => TableLoad::Update,
                _ => TableLoad::Full,
            }
        });
        Changes {
            table,
            routing: routing_batch(&Ownership::of(expected), expected, live),
            sysctls: settings
                .iter()
                .filter(|s| live.sysctl(&s.key) != Some(s.value.as_str()))
                .cloned()
                .collect(),
            only_table: false,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_none() && self.routing.is_empty() && self.sysctls.is_empty()
    }

    /// Only the table's change (`apply --table-only`).
    pub fn table_only(self) -> Changes {
        Changes {
            only_table: true,
            routing: RoutingChanges::default(),
            sysctls: Vec::new(),
            ..self
        }
    }

    /// Whether the rest was left out on purpose (and is not to be verified).
    pub fn is_table_only(&self) -> bool {
        self.only_table
    }
}

impl fmt::Display for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table = match self.table {
            Some(TableLoad::Update) => "table updated (switchyard.update.nft)",
            Some(TableLoad::Full) => "table loaded (switchyard.nft)",
            None => "table unchanged",
        };
        write!(
            f,
            "{table}, {} routing change(s), {} setting(s)",
            self.routing.len(),
            self.sysctls.len()
        )
    }
}

/// The `ip -batch` lines of each family: IPv4's for `ip -4 -batch`, IPv6's
/// for `ip -6 -batch` (a plain batch reads `rule add … from ::/0` as an IPv4
/// rule, and refuses `-6` inside it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingChanges {
    pub ipv4: Vec<String>,
    pub ipv6: Vec<String>,
}

impl RoutingChanges {
    pub fn is_empty(&self) -> bool {
        self.ipv4.is_empty() && self.ipv6.is_empty()
    }

    /// The number of lines.
    pub fn len(&self) -> usize {
        self.ipv4.len() + self.ipv6.len()
    }

    /// Each family's lines, IPv4's first, the empty ones left out.
    pub fn batches(&self) -> impl Iterator<Item = (Which, &[String])> {
        [(Which::V4, &self.ipv4), (Which::V6, &self.ipv6)]
            .into_iter()
            .filter(|(_, lines)| !lines.is_empty())
            .map(|(family, lines)| (family, lines.as_slice()))
    }
}

/// The `ip -batch` lines, per family, that turn switchyard's rules, routes,
/// uplink addresses and neighbour entries in `live` into those of `target`;
/// `ours` says which are switchyard's. Used both ways: to apply a build and to
/// put a saved state back.
pub fn routing_batch(ours: &Ownership, target: &KernelState, live: &KernelState) -> RoutingChanges {
    let batch = |family| {
        family_batch(
            ours.family(family),
            target.routing(family),
            live.routing(family),
        )
    };
    RoutingChanges {
        ipv4: batch(Which::V4),
        ipv6: batch(Which::V6),
    }
}

/// One family's lines of [`routing_batch`]. Rules and routes compare as
/// `verify` compares them (not by protocol), so a route that networkd tagged
/// `static` is left alone while one added by hand to an uplink's table is
/// deleted. Deletes come first, then the neighbour entries (they need nothing
/// but their interface, and bound VMs are protected soonest), then the missing
/// addresses (routes name them as source), then the missing rules and routes,
/// then the extra addresses.
fn family_batch(ours: &FamilyOwnership, target: &Routing, live: &Routing) -> Vec<String> {
    let owned = |entries: &[crate::verify::Entry]| -> Vec<(String, String)> {
        let mut owned: Vec<(String, String)> = entries
            .iter()
            .filter(|e| ours.owns(e))
            .map(|e| (e.line.clone(), e.arguments.clone()))
            .collect();
        owned.sort();
        owned.dedup_by(|a, b| a.0 == b.0);
        owned
    };
    let missing = |target: &[(String, String)], live: &[(String, String)], verb: &str| {
        let present: BTreeSet<&String> = live.iter().map(|(line, _)| line).collect();
        target
            .iter()
            .filter(|(line, _)| !present.contains(line))
            .map(|(_, arguments)| format!("{verb} {arguments}"))
            .collect::<Vec<_>>()
    };
    let (target_rules, live_rules) = (owned(&target.rules), owned(&live.rules));
    let (target_routes, live_routes) = (owned(&target.routes), owned(&live.routes));
    // A pair's shared addresses are keepalived's: never added nor removed.
    let addresses = |from: &Routing, to: &Routing, verb: &str| {
        ours.interfaces()
            .flat_map(|interface| {
                let want = ours.addresses_of(interface, &to.addresses);
                let have = ours.addresses_of(interface, &from.addresses);
                want.difference(&have)
                    .map(|address| format!("address {verb} {address} dev {interface}"))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    let mut batch = missing(&live_routes, &target_routes, "route del");
    batch.extend(missing(&live_rules, &target_rules, "rule del"));
    batch.extend(neighbour_changes(&target.neighbours, &live.neighbours));
    batch.extend(addresses(live, target, "add"));
    batch.extend(missing(&target_rules, &live_rules, "rule add"));
    batch.extend(missing(&target_routes, &live_routes, "route add"));
    batch.extend(addresses(target, live, "del"));
    batch
}

/// `neigh del` for switchyard's entries `target` does not have, then `neigh
/// replace` for each of its entries that is missing or points elsewhere.
/// `replace` also takes over a stranger's entry for the address: a dynamic one
/// (learnt from an ARP reply, perhaps a thief's) or a permanent one added by
/// hand, which `verify` does not count as switchyard's.
fn neighbour_changes(target: &Neighbours, live: &Neighbours) -> Vec<String> {
    let deletes = live
        .keys()
        .filter(|key| !target.contains_key(*key))
        .map(|key| format!("neigh del {}", neighbour_name(key)));
    let replaces = target
        .iter()
        .filter(|(key, lladdr)| live.get(*key) != Some(*lladdr))
        .map(|((address, dev), lladdr)| {
            let lladdr = lladdr
                .as_ref()
                .map(|mac| format!(" lladdr {mac}"))
                .unwrap_or_default();
            format!(
                "neigh replace {address}{lladdr} dev {dev} nud permanent proto {}",
                crate::plan::ROUTE_PROTOCOL
            )
        });
    deletes.chain(replaces).collect()
}

/// nft commands that put the monitor's down-uplink set of `live` into the
/// table `script` makes, appended to the script so that both are one
/// transaction: a reload during an outage forgets nothing. Empty when the
/// set is empty or the new table has no such set (no `[failover]`).
pub fn carry_down_uplinks(live: &KernelState, expected: &KernelState) -> String {
    match (live.down_uplinks(), expected.down_uplinks()) {
        (Some(down), Some(_)) if !down.is_empty() => format!(
            "add element inet {NFT_TABLE} {DOWN_UPLINKS_SET} {{ {} }}\n",
            down.join(", ")
        ),
        _ => String::new(),
    }
}

/// The table as an apply found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SavedTable {
    /// The apply does not change it (at 100k VMs, listing it takes seconds).
    Untouched,
    /// There was none.
    Absent,
    /// As `nft list table` printed it.
    Listed(String),
}

/// What an apply saved before it changed anything, enough to put it back:
/// the table, the rules, routes, addresses and neighbour entries as `verify`
/// lists them, the settings it changes with their earlier values, and which
/// rules, routes and addresses are switchyard's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub table: SavedTable,
    /// IPv4's rules, routes, addresses and neighbour entries, as listed.
    pub rules: String,
    pub routes: String,
    pub addresses: String,
    /// `None` in a trial saved by a version that did not list them: they are
    /// then left as they are found.
    #[serde(default)]
    pub neighbours: Option<String>,
    /// IPv6's; `None` in a trial saved by a version without IPv6: it is then
    /// left as it is found.
    #[serde(default)]
    pub ipv6: Option<RoutingListings>,
    pub sysctls: Vec<(String, String)>,
    pub ownership: Ownership,
}

impl Snapshot {
    /// The saved state: the listings of `live`, the nft text of its table, the
    /// earlier values of the settings `changes` writes.
    pub fn new(
        listings: &Listings,
        table: SavedTable,
        changes: &Changes,
        ownership: Ownership,
    ) -> Snapshot {
        Snapshot {
            table,
            rules: listings.v4.rules.clone(),
            routes: listings.v4.routes.clone(),
            addresses: listings.v4.addresses.clone(),
            neighbours: Some(listings.v4.neighbours.clone()),
            ipv6: Some(listings.v6.clone()),
            sysctls: changes
                .sysctls
                .iter()
                .filter_map(|s| {
                    let earlier = listings.sysctls.get(&s.key)?.clone()?;
                    Some((s.key.clone(), earlier))
                })
                .collect(),
            ownership,
        }
    }

    /// The nft script that puts the saved table back (or deletes the table
    /// when there was none), as one transaction; `None` when it was not changed.
    pub fn table_script(&self) -> Option<String> {
        let mut script = format!("table inet {NFT_TABLE}\ndelete table inet {NFT_TABLE}\n");
        match &self.table {
            SavedTable::Untouched => return None,
            SavedTable::Absent => {}
            SavedTable::Listed(table) => script.push_str(table),
        }
        Some(script)
    }

    /// The `ip -batch` lines that put the saved rules, routes, addresses and
    /// neighbour entries back over `now`.
    pub fn routing_restore(
        &self,
        now: &KernelState,
    ) -> Result<RoutingChanges, crate::verify::VerifyError> {
        let mut saved = KernelState::parse(&Listings {
            v4: RoutingListings {
                rules: self.rules.clone(),
                routes: self.routes.clone(),
                addresses: self.addresses.clone(),
                neighbours: self.neighbours.clone().unwrap_or_default(),
            },
            v6: self.ipv6.clone().unwrap_or_default(),
            ..Listings::default()
        })?;
        if self.neighbours.is_none() {
            saved.v4.neighbours = now.v4.neighbours.clone();
        }
        if self.ipv6.is_none() {
            saved.v6 = now.v6.clone();
        }
        Ok(routing_batch(&self.ownership, &saved, now))
    }

    /// The settings to write back.
    pub fn settings(&self) -> Vec<Setting> {
        self.sysctls
            .iter()
            .map(|(key, value)| Setting {
                key: key.clone(),
                value: value.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"[{"priority":0,"src":"all","table":"255"},{"priority":1001,"src":"all","fwmark":"0x100","fwmask":"0xff00","table":"101","protocol":"211"},{"priority":32766,"src":"all","table":"254"}]"#;
    const ROUTES: &str = r#"[{"dst":"default","gateway":"192.0.2.1","dev":"up-a","table":"101","protocol":"211"},{"dst":"192.0.2.0/30","dev":"up-a","table":"101","protocol":"211","scope":"253","prefsrc":"192.0.2.2"}]"#;
    const ADDRESSES: &str = r#"[{"ifname":"up-a","addr_info":[{"family":"inet","local":"192.0.2.2","prefixlen":30}]},{"ifname":"veth0","addr_info":[]}]"#;
    /// `ip -N -j -4 neigh show nud permanent proto 211` (iproute2 6.1).
    const NEIGHBOURS: &str = r#"[{"dst":"10.0.0.5","dev":"lan0","lladdr":"52:54:00:12:34:56","state":["PERMANENT"],"protocol":"211"}]"#;

    fn v4_listings() -> RoutingListings {
        RoutingListings {
            rules: RULES.to_owned(),
            routes: ROUTES.to_owned(),
            addresses: ADDRESSES.to_owned(),
            neighbours: NEIGHBOURS.to_owned(),
        }
    }

    fn state(rules: &str, routes: &str, addresses: &str) -> KernelState {
        with_neighbours(rules, routes, addresses, NEIGHBOURS)
    }

    fn with_neighbours(
        rules: &str,
        routes: &str,
        addresses: &str,
        neighbours: &str,
    ) -> KernelState {
        KernelState::parse(&Listings {
            v4: RoutingListings {
                rules: rules.to_owned(),
                routes: routes.to_owned(),
                addresses: addresses.to_owned(),
                neighbours: neighbours.to_owned(),
            },
            ..Listings::default()
        })
        .expect("listings parse")
    }

    /// The build's state with `neighbours` for its neighbour entries.
    fn built_with_neighbours(neighbours: &str) -> KernelState {
        with_neighbours(RULES, ROUTES, ADDRESSES, neighbours)
    }

    fn built() -> KernelState {
        state(RULES, ROUTES, ADDRESSES)
    }

    /// The IPv4 batch that brings `live` to what was `built`.
    fn repair(built: &KernelState, live: &KernelState) -> Vec<String> {
        let batches = routing_batch(&Ownership::of(built), built, live);
        assert!(batches.ipv6.is_empty(), "{batches:?}");
        batches.ipv4
    }

    fn needed(expected: &KernelState, live: &KernelState, settings: &[Setting]) -> Changes {
        let report = crate::verify::compare(expected, live);
        Changes::needed(&report, expected, live, settings, None)
    }

    #[test]
    fn a_pairs_shared_address_is_neither_required_nor_removed() {
        // The active member: keepalived's 192.0.2.6/30 beside the build's own.
        let active = state(
            RULES,
            ROUTES,
            r#"[{"ifname":"up-a","addr_info":[{"family":"inet","local":"192.0.2.2","prefixlen":30},{"family":"inet","local":"192.0.2.6","prefixlen":30}]}]"#,
        );
        let built = KernelState::parse(&Listings {
            v4: v4_listings(),
            shared_addresses: [("up-a".to_owned(), "192.0.2.6/30".to_owned())].into(),
            ..Listings::default()
        })
        .expect("listings parse");
        assert!(needed(&built, &active, &[]).is_empty(), "the active member");
        assert!(needed(&built, &built, &[]).is_empty(), "the backup");
        // Without the build's keepalived.conf the address is a stranger's.
        let changes = needed(&built_with_neighbours(NEIGHBOURS), &active, &[]);
        assert_eq!(changes.routing.ipv4, ["address del 192.0.2.6/30 dev up-a"]);
    }

    #[test]
    fn the_same_state_needs_nothing() {
        let changes = needed(&built(), &built(), &[]);
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn a_fresh_host_gets_neighbours_then_address_then_rule_then_routes() {
        let fresh = with_neighbours("[]", "[]", r#"[{"ifname":"up-a","addr_info":[]}]"#, "");
        let built = built();
        assert_eq!(
            repair(&built, &fresh),
            [
                "neigh replace 10.0.0.5 lladdr 52:54:00:12:34:56 dev lan0 nud permanent proto 211",
                "address add 192.0.2.2/30 dev up-a",
                "rule add priority 1001 fwmark 0x100/0xff00 lookup 101 proto 211",
                "route add 192.0.2.0/30 dev up-a table 101 proto 211 scope 253 src 192.0.2.2",
                "route add default via 192.0.2.1 dev up-a table 101 proto 211",
            ]
        );
    }

    #[test]
    fn a_route_added_by_hand_to_an_uplink_table_is_deleted_and_networkds_are_kept() {
        let built = built();
        // networkd's own (protocol static) are the same rules and routes.
        let live = state(
            &RULES.replace(r#""protocol":"211""#, r#""protocol":"4""#),
            &ROUTES.replace(r#""protocol":"211""#, r#""protocol":"4""#).replace(
                "[",
                r#"[{"dst":"10.99.0.0/16","gateway":"192.0.2.1","dev":"up-a","table":"101","protocol":"3"},"#,
            ),
            ADDRESSES,
        );
        assert_eq!(
            repair(&built, &live),
            ["route del 10.99.0.0/16 via 192.0.2.1 dev up-a table 101 proto 3"]
        );
    }

    #[test]
    fn neighbour_entries_that_differ_are_replaced_and_those_not_built_deleted() {
        let built = built();
        let replace =
            "neigh replace 10.0.0.5 lladdr 52:54:00:12:34:56 dev lan0 nud permanent proto 211";
        // Pointed elsewhere by hand (the kernel keeps the protocol), or only a
        // stranger's entry in its place: a dynamic one from an ARP reply, or a
        // permanent one without switchyard's protocol. Each is replaced.
        for live in [
            NEIGHBOURS.replace("52:54:00:12:34:56", "02:00:00:00:00:66"),
            NEIGHBOURS
                .replace("52:54:00:12:34:56", "02:00:00:00:00:66")
                .replace(r#"["PERMANENT"],"protocol":"211""#, r#"["REACHABLE"]"#),
            NEIGHBOURS.replace(r#","protocol":"211""#, ""),
        ] {
            let live = built_with_neighbours(&live);
            assert_eq!(repair(&built, &live), [replace], "{live:?}");
            assert!(!needed(&built, &live, &[]).is_empty());
        }
        // A binding the build no longer has.
        let live = built_with_neighbours(&NEIGHBOURS.replace(
            "}]",
            r#"},{"dst":"10.0.0.9","dev":"lan1","lladdr":"52:54:00:00:00:09","state":["PERMANENT"],"protocol":"211"}]"#,
        ));
        assert_eq!(repair(&built, &live), ["neigh del 10.0.0.9 dev lan1"]);
    }

    #[test]
    fn restoring_puts_back_what_an_apply_removed_and_removes_what_it_added() {
        let built = built();
        let earlier = with_neighbours(
            &RULES.replace("1001", "1005"),
            &ROUTES.replace("192.0.2.1", "192.0.2.3"),
            ADDRESSES,
            &NEIGHBOURS.replace("10.0.0.5", "10.0.0.6"),
        );
        let batch = routing_batch(&Ownership::of(&built), &earlier, &built);
        assert_eq!(
            batch.ipv4,
            [
                "route del default via 192.0.2.1 dev up-a table 101 proto 211",
                "rule del priority 1001 fwmark 0x100/0xff00 lookup 101 proto 211",
                "neigh del 10.0.0.5 dev lan0",
                "neigh replace 10.0.0.6 lladdr 52:54:00:12:34:56 dev lan0 nud permanent proto 211",
                "rule add priority 1005 fwmark 0x100/0xff00 lookup 101 proto 211",
                "route add default via 192.0.2.3 dev up-a table 101 proto 211",
            ]
        );
    }

    #[test]
    fn only_settings_that_differ_are_written() {
        let setting = |key: &str, value: &str| Setting {
            key: key.to_owned(),
            value: value.to_owned(),
        };
        let settings = [
            setting("net.ipv4.ip_forward", "1"),
            setting("net.ipv4.conf.all.rp_filter", "0"),
        ];
        let live = KernelState::parse(&Listings {
            sysctls: [
                ("net.ipv4.ip_forward".to_owned(), Some("1".to_owned())),
                (
                    "net.ipv4.conf.all.rp_filter".to_owned(),
                    Some("2".to_owned()),
                ),
            ]
            .into_iter()
            .collect(),
            v4: v4_listings(),
            ..Listings::default()
        })
        .expect("parses");
        let changes = needed(&built(), &live, &settings);
        assert_eq!(changes.sysctls, [settings[1].clone()]);
        assert!(changes.table.is_none() && changes.routing.is_empty());
        assert!(changes.table_only().is_empty());
    }

    #[test]
    fn a_snapshot_restores_the_table_only_when_the_apply_changed_it() {
        let snapshot = |table| {
            Snapshot::new(
                &Listings::default(),
                table,
                &needed(&built(), &built(), &[]),
                Ownership::of(&built()),
            )
        };
        assert_eq!(
            snapshot(SavedTable::Absent).table_script().as_deref(),
            Some("table inet switchyard\ndelete table inet switchyard\n")
        );
        assert_eq!(snapshot(SavedTable::Untouched).table_script(), None);
    }

    /// What an apply that found `built` and left the table alone saved of
    /// `listings`.
    fn snapshot_of(listings: &Listings, built: &KernelState) -> Snapshot {
        Snapshot::new(
            listings,
            SavedTable::Untouched,
            &needed(built, built, &[]),
            Ownership::of(built),
        )
    }

    #[test]
    fn a_snapshot_puts_neighbour_entries_back_unless_it_predates_them() {
        let listings = Listings {
            v4: v4_listings(),
            ..Listings::default()
        };
        let snapshot = snapshot_of(&listings, &built());
        let now = built_with_neighbours("[]");
        let restore =
            ["neigh replace 10.0.0.5 lladdr 52:54:00:12:34:56 dev lan0 nud permanent proto 211"];
        assert_eq!(
            snapshot.routing_restore(&now).expect("parses").ipv4,
            restore
        );
        // Through the file a `--try` keeps it in.
        let text = serde_json::to_string(&snapshot).expect("serializes");
        let kept: Snapshot = serde_json::from_str(&text).expect("reads back");
        assert_eq!(kept.routing_restore(&now).expect("parses").ipv4, restore);
        // A trial saved before they were kept leaves them as found.
        let older = text.replacen(r#","neighbours":"#, r#","was_neighbours":"#, 1);
        let older: Snapshot = serde_json::from_str(&older).expect("reads back");
        assert!(older.routing_restore(&now).expect("parses").is_empty());
    }

    /// IPv6's listings of up-a: its rule, link route and default via a
    /// link-local gateway in table 101, its address, a bound VM's entry.
    fn ipv6_listings() -> RoutingListings {
        RoutingListings {
            rules: RULES.to_owned(),
            routes: r#"[{"dst":"2001:db8:ffa::/64","dev":"up-a","table":"101","protocol":"211","metric":1024,"pref":"medium"},{"dst":"default","gateway":"fe80::1","dev":"up-a","table":"101","protocol":"211","metric":1024,"pref":"medium"}]"#.to_owned(),
            addresses: r#"[{"ifname":"up-a","addr_info":[{"family":"inet6","local":"2001:db8:ffa::2","prefixlen":64,"scope":"global"},{"family":"inet6","local":"fe80::5","prefixlen":64,"scope":"link"}]}]"#.to_owned(),
            neighbours: r#"[{"dst":"2001:db8:10::5","dev":"lan0","lladdr":"52:54:00:12:34:56","state":["PERMANENT"],"protocol":"211"}]"#.to_owned(),
        }
    }

    fn dual_stack() -> KernelState {
        KernelState::parse(&Listings {
            v4: v4_listings(),
            v6: ipv6_listings(),
            ..Listings::default()
        })
        .expect("parses")
    }

    #[test]
    fn ipv6_changes_are_a_batch_of_their_own() {
        let built = dual_stack();
        // The IPv4 state as built, nothing of IPv6 but the kernel's link-local
        // address (not switchyard's: never deleted).
        let live = KernelState::parse(&Listings {
            v4: v4_listings(),
            v6: RoutingListings {
                addresses: r#"[{"ifname":"up-a","addr_info":[{"family":"inet6","local":"fe80::5","prefixlen":64,"scope":"link"}]}]"#.to_owned(),
                ..RoutingListings::default()
            },
            ..Listings::default()
        })
        .expect("parses");
        let batches = routing_batch(&Ownership::of(&built), &built, &live);
        assert!(batches.ipv4.is_empty(), "{batches:?}");
        // For `ip -6 -batch`: in a plain batch this rule would be IPv4's.
        assert_eq!(
            batches.ipv6,
            [
                "neigh replace 2001:db8:10::5 lladdr 52:54:00:12:34:56 dev lan0 nud permanent proto 211",
                "address add 2001:db8:ffa::2/64 dev up-a",
                "rule add priority 1001 fwmark 0x100/0xff00 lookup 101 proto 211",
                "route add 2001:db8:ffa::/64 dev up-a table 101 proto 211 metric 1024",
                "route add default via fe80::1 dev up-a table 101 proto 211 metric 1024",
            ]
        );
        assert_eq!(
            batches
                .batches()
                .map(|(family, _)| family)
                .collect::<Vec<_>>(),
            [Which::V6]
        );
        // Undone the other way round, IPv4 untouched.
        let undo = routing_batch(&Ownership::of(&built), &live, &built);
        assert!(undo.ipv4.is_empty(), "{undo:?}");
        assert_eq!(undo.ipv6.len(), 5, "{undo:?}");
        assert!(
            undo.ipv6
                .contains(&"address del 2001:db8:ffa::2/64 dev up-a".to_owned())
        );
    }

    #[test]
    fn a_snapshot_puts_ipv6_back_unless_it_predates_it() {
        let before = Listings {
            v4: v4_listings(),
            v6: ipv6_listings(),
            ..Listings::default()
        };
        let snapshot = snapshot_of(&before, &dual_stack());
        // An apply removed IPv6's default route.
        let mut after = before.clone();
        after.v6.routes = ipv6_listings().routes.replace(
            r#",{"dst":"default","gateway":"fe80::1","dev":"up-a","table":"101","protocol":"211","metric":1024,"pref":"medium"}"#,
            "",
        );
        let now = KernelState::parse(&after).expect("parses");
        let restore = snapshot.routing_restore(&now).expect("parses");
        assert!(restore.ipv4.is_empty(), "{restore:?}");
        assert_eq!(
            restore.ipv6,
            ["route add default via fe80::1 dev up-a table 101 proto 211 metric 1024"]
        );
        // A trial saved before IPv6 was listed leaves IPv6 as found, and its
        // ownership (IPv4's, flat) still reads.
        let text = serde_json::to_string(&snapshot).expect("serializes");
        let older = text
            .replace(r#","ipv6":"#, r#","was_ipv6":"#)
            .replace(r#""v6":"#, r#""was_v6":"#);
        assert!(older.contains(r#""tables":["101"]"#), "{older}");
        let older: Snapshot = serde_json::from_str(&older).expect("reads back");
        assert!(older.routing_restore(&now).expect("parses").is_empty());
    }
}
