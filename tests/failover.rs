//! Uplink failover (docs/semantics.md §10) without root: the format and its checks
//! (every list element checked alone, with its own span; `[failover]` values),
//! the plan's candidates as `trace --down` reports them, and the artifacts
//! `build` adds for the monitor. The kernel side is in tests/e2e_failover.rs.

mod common;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use common::{BASE, splice};
use switchyard::diagnostic::{Diagnostic, Source};
use switchyard::family::V4;
use switchyard::nft_table::{Element, Table, Value};
use switchyard::plan::HostPlan;
use switchyard::trace::{Fate, Trace, Tracer};

/// The base fixture with `[failover]` and a project default list: two
/// uplinks, a pool on each, one VM with both.
fn valid() -> String {
    splice(
        BASE,
        &[
            ("version = 1\n", "version = 1\n\n[failover]\n"),
            ("default = \"pool-a\"", "default = [\"pool-a\", \"pool-b\"]"),
        ],
    )
}

fn diagnostics(text: &str) -> Vec<Diagnostic> {
    match switchyard::validate(&Source::new("failover.toml", text)) {
        Ok(validated) => validated.into_parts().2,
        Err(diagnostics) => diagnostics,
    }
}

/// Each diagnostic as `CODE text-under-its-primary-label`.
fn located(text: &str) -> Vec<String> {
    diagnostics(text)
        .iter()
        .map(|d| format!("{} {}", d.code.as_str(), &text[d.labels[0].span.clone()]))
        .collect()
}

/// [`valid`] with `from` replaced by `to` (which must occur).
fn with(from: &str, to: &str) -> String {
    splice(&valid(), &[(from, to)])
}

/// [`valid`] with `probe = list` on isp-a's attachment (its gateway 192.0.2.1).
fn with_probe(list: &str) -> String {
    with(
        "gateway = \"192.0.2.1\"\n",
        &format!("gateway = \"192.0.2.1\"\nprobe = {list}\n"),
    )
}

#[test]
fn the_valid_topology_is_clean() {
    assert_eq!(located(&valid()), Vec::<String>::new());
}

#[test]
fn every_list_element_is_checked_alone_and_located() {
    let text = with(
        "public = [\"198.51.100.7\", \"203.0.113.9\"]\n",
        "public = [\"198.51.100.7\", \"203.0.113.9\"]\n\
         default = [\"198.51.100.7\", \"203.0.113.99\", \"pool-c\"]\n\
         egress = [{ to = \"100.65.0.0/16\", via = [\"pool-b\", \"pool-x\"] }]\n",
    );
    let text = text.replace(
        "default = [\"pool-a\", \"pool-b\"]",
        "default = [\"pool-a\", \"198.51.100.7\"]",
    );
    // A list with an element that does not resolve is left out whole, as a
    // single value is: the VM then has no default (SY0901), as before lists.
    assert_eq!(
        located(&text),
        [
            "SY0407 \"198.51.100.7\"",
            "SY0901 web-1",
            "SY0102 \"pool-c\"",
            "SY0102 \"pool-x\"",
        ]
    );
    // Once the names resolve, the address the VM does not own is reported alone.
    let text = with(
        "public = [\"198.51.100.7\", \"203.0.113.9\"]\n",
        "public = [\"198.51.100.7\", \"203.0.113.9\"]\n\
         default = [\"198.51.100.7\", \"203.0.113.99\"]\n",
    );
    assert_eq!(located(&text), ["SY0404 \"203.0.113.99\""]);
}

#[test]
fn a_list_element_for_a_pool_the_vm_lacks_is_an_error_on_the_vm_and_skipped_for_the_project() {
    let text = valid().replace(
        "public = [\"198.51.100.7\", \"203.0.113.9\"]",
        "public = [\"198.51.100.7\"]\ndefault = [\"pool-a\", \"pool-b\"]",
    );
    assert_eq!(
        located(&text),
        ["SY0902 \"203.0.113.9\"", "SY0405 \"pool-b\""]
    );
    // The project's list applies through pool-a: no SY0904 for its pool-b.
    let text = valid().replace(
        "public = [\"198.51.100.7\", \"203.0.113.9\"]",
        "public = [\"198.51.100.7\"]",
    );
    assert_eq!(located(&text), ["SY0902 \"203.0.113.9\""]);
}

#[test]
fn an_empty_list_is_refused() {
    let text = with("default = [\"pool-a\", \"pool-b\"]", "default = []");
    assert_eq!(located(&text), ["SY0002 []", "SY0901 web-1"]);
}

#[test]
fn two_entries_for_one_prefix_conflict_unless_their_lists_are_equal() {
    let entries = |a: &str, b: &str| {
        with(
            "default = [\"pool-a\", \"pool-b\"]",
            &format!(
                "default = [\"pool-a\", \"pool-b\"]\negress = [\
                 {{ to = \"100.65.0.0/16\", via = {a} }}, {{ to = \"100.65.0.0/16\", via = {b} }}]"
            ),
        )
    };
    // Equal lists do not conflict; the second entry only repeats the first, so
    // it decides nothing in the plan and is reported as never winning (SY0903,
    // asked of the plan), as a repeated single `via` is.
    let same = entries(r#"["pool-a", "pool-b"]"#, r#"["pool-a", "pool-b"]"#);
    assert_eq!(located(&same), ["SY0903 \"100.65.0.0/16\""]);
    let reordered = entries(r#"["pool-a", "pool-b"]"#, r#"["pool-b", "pool-a"]"#);
    assert_eq!(located(&reordered), ["SY0501 \"100.65.0.0/16\""]);
}

#[test]
fn failover_values_are_parsed_and_range_checked() {
    let table = |body: &str| with("[failover]\n", &format!("[failover]\n{body}\n"));
    assert_eq!(
        located(&table("interval = \"1s\"\ndown_after = 1\nup_after = 1000")),
        Vec::<String>::new()
    );
    assert_eq!(located(&table("interval = \"fast\"")), ["SY0002 \"fast\""]);
    assert_eq!(located(&table("interval = \"5ms\"")), ["SY0010 \"5ms\""]);
    assert_eq!(located(&table("interval = \"2min\"")), ["SY0010 \"2min\""]);
    assert_eq!(located(&table("down_after = 0")), ["SY0010 0"]);
    assert_eq!(located(&table("up_after = 1001")), ["SY0010 1001"]);
    assert_eq!(located(&table("retries = 3")), ["SY0003 retries"]);
}

#[test]
fn probe_targets_must_be_unicast_and_not_the_hosts_own_link_address() {
    assert_eq!(
        located(&with_probe(r#"["192.0.2.1", "9.9.9.9"]"#)),
        Vec::<String>::new()
    );
    assert_eq!(
        located(&with_probe(
            r#"["0.0.0.0", "255.255.255.255", "224.0.0.1", "127.0.0.1", "192.0.2.2", "nine"]"#
        )),
        [
            "SY0712 \"0.0.0.0\"",
            "SY0712 \"255.255.255.255\"",
            "SY0712 \"224.0.0.1\"",
            "SY0712 \"127.0.0.1\"",
            "SY0712 \"192.0.2.2\"",
            "SY0011 \"nine\"",
        ]
    );
}

/// Targets the host or one of its VMs answers keep a dead uplink up; ones no
/// single far end answers keep a live one down. isp-a's link is 192.0.2.0/30.
#[test]
fn probe_targets_must_be_answered_by_one_far_end_beyond_the_host() {
    let probe = |target: &str| with_probe(&format!("[\"{target}\"]"));
    let messages = |target: &str| -> Vec<String> {
        diagnostics(&probe(target))
            .into_iter()
            .map(|d| d.message)
            .collect()
    };
    for (target, problem) in [
        ("198.18.0.2", "the host's own address on another uplink"),
        (
            "198.51.100.7",
            "a public address of VM `web-1` on this host",
        ),
        ("192.0.2.0", "the network address of this link"),
        ("192.0.2.3", "the broadcast address of this link"),
    ] {
        assert_eq!(
            messages(target),
            [format!("probe target {target} is {problem}")]
        );
    }
    // A pool address no VM has, and the other uplink's gateway, are fine.
    for target in ["198.51.100.8", "198.18.0.1"] {
        assert_eq!(messages(target), Vec::<String>::new(), "{target}");
    }
}

#[test]
fn no_alternative_is_warned_about_only_with_failover() {
    let text = with("default = [\"pool-a\", \"pool-b\"]", "default = \"pool-a\"");
    assert_eq!(located(&text), ["SY0905 \"pool-a\""]);
    assert_eq!(
        located(&text.replace("[failover]\n", "")),
        Vec::<String>::new()
    );
}

/// One warning per written decision, however many VMs it strands: 100 VMs
/// following a project default of one uplink are one warning counting them,
/// and a VM's own default one more.
#[test]
fn no_alternative_is_warned_about_once_per_cause() {
    let addresses: Vec<String> = (10..109)
        .flat_map(|n| [format!("\"198.51.100.{n}\""), format!("\"203.0.113.{n}\"")])
        .collect();
    let mut text = with("default = [\"pool-a\", \"pool-b\"]", "default = \"pool-a\"").replace(
        "addresses = [\"198.51.100.7\", \"203.0.113.9\"",
        &format!(
            "addresses = [\"198.51.100.7\", \"203.0.113.9\", {}",
            addresses.join(", ")
        ),
    );
    for n in 10..109 {
        text.push_str(&format!(
            "[vms.vm-{n}]\nproject = \"acme\"\nhost = \"net1\"\naddress = \"10.0.0.{n}\"\n\
             public = [\"198.51.100.{n}\", \"203.0.113.{n}\"]\n"
        ));
    }
    text.push_str("default = [\"pool-a\"]\n"); // the last VM's own
    let found = diagnostics(&text);
    let messages: Vec<&str> = found.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "99 VMs (`vm-10`, …) cannot fail over here: every candidate leaves by uplink `isp-a`",
            "VM `vm-108` cannot fail over here: every candidate leaves by uplink `isp-a`",
        ]
    );
}

fn trace(text: &str, to: &str, down: &[&str]) -> serde_json::Value {
    let source = Source::new("failover.toml", text);
    let tracer = Tracer::new(&source).unwrap_or_else(|d| panic!("{d:?}"));
    let down: Vec<String> = down.iter().map(|s| s.to_string()).collect();
    let trace = tracer
        .trace("web-1", to.parse().unwrap(), &down)
        .expect("traces");
    serde_json::from_str(&trace.to_json()).unwrap()
}

#[test]
fn trace_down_takes_the_first_candidate_whose_uplink_is_up() {
    let text = with(
        "public = [\"198.51.100.7\", \"203.0.113.9\"]\n",
        "public = [\"198.51.100.7\", \"203.0.113.9\"]\n\
         egress = [{ to = \"100.65.0.0/16\", via = [\"pool-b\"] }]\n",
    );
    let up = trace(&text, "9.9.9.9", &[]);
    assert_eq!(up["uplink"], "isp-a");
    assert_eq!(up["public_address"], "198.51.100.7");
    let down = trace(&text, "9.9.9.9", &["isp-a"]);
    assert_eq!(down["uplink"], "isp-b");
    assert_eq!(down["public_address"], "203.0.113.9");
    assert_eq!(down["mark"], "0x00020200");
    // The entry that decides stays the same; only its candidate changes.
    assert_eq!(down["decided_by"], up["decided_by"]);
    assert_eq!(down["candidates"][0]["down"], true);
    // The entry's `via` first, then the project's default list.
    let entry = trace(&text, "100.65.1.1", &["isp-b"]);
    assert_eq!(entry["uplink"], "isp-a");
    assert_eq!(entry["decided_by"]["prefix"], "100.65.0.0/16");
    // None up: the first.
    let none = trace(&text, "100.65.1.1", &["isp-a", "isp-b"]);
    assert_eq!(none["uplink"], "isp-b");
}

#[test]
fn trace_down_refuses_unknown_uplinks_and_topologies_without_failover() {
    let source = Source::new("failover.toml", valid());
    let tracer = Tracer::new(&source).unwrap();
    let error = tracer
        .trace("web-1", "9.9.9.9".parse().unwrap(), &["isp-c".to_owned()])
        .unwrap_err();
    assert!(
        error.to_string().contains("did you mean `isp-a`?"),
        "{error}"
    );
    let source = Source::new("plain.toml", valid().replace("[failover]\n", ""));
    let tracer = Tracer::new(&source).unwrap();
    let error = tracer
        .trace("web-1", "9.9.9.9".parse().unwrap(), &["isp-a".to_owned()])
        .unwrap_err();
    assert!(error.to_string().contains("no [failover]"), "{error}");
}

/// An inclusive address range, as `u32`s.
type Interval = (u32, u32);

/// The ruleset's egress decision, read from a rendered script's typed model
/// (`Table::parse`) and run as the kernel runs it: the maps' verdicts, then a
/// `failover_N` chain tries its pools in order and keeps the first whose
/// uplink is not in `down_uplinks`, else goes to the first. Returns the pool's
/// name, or `None` when no element matches (internal destinations are not
/// asked about).
struct Ruleset {
    /// The VMs looked up by address (set `own_egress`), each with the chain
    /// that does (`classify_own_egress` or its shard's); the others by network.
    own_egress: BTreeMap<Ipv4Addr, String>,
    /// By such a chain, its map's (VM address, destinations, verdict chain).
    by_vm: BTreeMap<String, Vec<(Interval, Interval, String)>>,
    /// VM address → its default's chain, by the rules of `classify_egress`
    /// and their sets.
    defaults: BTreeMap<Ipv4Addr, String>,
    /// The same by the chains of `own_egress`.
    own_defaults: BTreeMap<String, BTreeMap<Ipv4Addr, String>>,
    /// (project network, destinations, verdict chain).
    by_project: Vec<(Interval, Interval, String)>,
    /// `via_pool_N` → (pool, uplink): the host's pool number N.
    pools: BTreeMap<String, (String, String)>,
    /// `failover_N` → its `via_pool_N` chains in order, and the last `goto`.
    chains: BTreeMap<String, (Vec<String>, String)>,
}

impl Ruleset {
    fn parse(script: &str, host: &HostPlan) -> Self {
        let table = Table::parse(script).unwrap();
        let interval = |value: &Value| {
            let range = value.as_range::<V4>().unwrap();
            (range.first, range.last)
        };
        let verdict = |element: &Element| {
            let data = element.data.as_ref().unwrap();
            data.goto_chain().expect("a goto verdict").to_owned()
        };
        let egress = |map: &str| -> Vec<(Interval, Interval, String)> {
            (table.elements(map).iter())
                .map(|element| {
                    let (source, to) = element.key.pair().unwrap();
                    (interval(source), interval(to), verdict(element))
                })
                .collect()
        };
        let address = |element: &Element| element.key.one().unwrap().as_address::<V4>().unwrap();
        let chains = (table.chains.iter())
            .filter(|(name, _)| name.starts_with("failover_"))
            .map(|(name, chain)| {
                let rules = || chain.rules.iter().map(|rule| rule.text.as_str());
                let tries = rules()
                    .filter_map(|rule| rule.strip_prefix("jump "))
                    .map(str::to_owned)
                    .collect();
                let last = rules()
                    .find_map(|rule| rule.strip_prefix("goto "))
                    .and_then(|rule| rule.split_whitespace().next())
                    .unwrap()
                    .to_owned();
                (name.clone(), (tries, last))
            })
            .collect();
        let (mut by_vm, mut own_defaults) = (BTreeMap::new(), BTreeMap::new());
        let own_egress = (table.elements("own_egress").iter())
            .map(|element| {
                let vm = address(element);
                let (chain, map) = common::own_egress_chain::<V4>(&table, vm);
                by_vm.entry(chain.clone()).or_insert_with(|| egress(&map));
                (own_defaults.entry(chain.clone()))
                    .or_insert_with(|| common::defaults_in::<V4>(&table, &chain));
                (vm, chain)
            })
            .collect();
        Ruleset {
            own_egress,
            by_vm,
            defaults: common::defaults_in::<V4>(&table, "classify_egress"),
            own_defaults,
            by_project: egress("egress_by_project"),
            pools: (host.ip.v4.pools.iter())
                .map(|pool| {
                    let chain = format!("via_pool_{}", pool.number);
                    (chain, (pool.name.to_string(), pool.uplink.to_string()))
                })
                .collect(),
            chains,
        }
    }

    fn pool<'a>(&'a self, vm: Ipv4Addr, to: Ipv4Addr, down: &[String]) -> Option<String> {
        let (v, d) = (u32::from(vm), u32::from(to));
        let within = |(first, last): Interval, x: u32| first <= x && x <= last;
        let ranged = |map: &'a [(Interval, Interval, String)]| -> Option<&'a str> {
            map.iter()
                .find(|(source, dst, _)| within(*source, v) && within(*dst, d))
                .map(|(_, _, verdict)| verdict.as_str())
        };
        let (ranges, defaults) = match self.own_egress.get(&vm) {
            Some(chain) => (&self.by_vm[chain], &self.own_defaults[chain]),
            None => (&self.by_project, &self.defaults),
        };
        let verdict = ranged(ranges).or_else(|| defaults.get(&vm).map(String::as_str))?;
        let chain = match self.chains.get(verdict) {
            None => verdict.to_owned(),
            Some((tries, last)) => tries
                .iter()
                .find(|via| !down.contains(&self.pools[*via].1))
                .unwrap_or(last)
                .clone(),
        };
        Some(self.pools[&chain].0.clone())
    }
}

/// The pool whose address a VM's packet is NATed to: a SNAT's, or a
/// hairpin's source; `None` when nothing picks one.
fn source_pool(trace: Trace) -> Option<String> {
    match trace.fate {
        Fate::Snat { path, .. } => Some(path.pool),
        Fate::Hairpin { source, .. } => source.map(|source| source.pool),
        _ => None,
    }
}

#[test]
fn the_rendered_failover_chains_choose_what_trace_down_says_for_every_set_of_down_uplinks() {
    for topology in ["examples/failover.toml", "tests/e2e/failover.toml"] {
        let text = std::fs::read_to_string(topology).unwrap();
        let source = Source::new(topology, text);
        let renderer = switchyard::render::Renderer::new(Default::default()).unwrap();
        let build = switchyard::build(&source, None, &renderer).unwrap();
        let script = &build
            .artifacts
            .iter()
            .find(|a| a.path == "net1/switchyard.nft")
            .unwrap()
            .content;
        let tracer = Tracer::new(&source).unwrap();
        let (model, mut plan, _) = switchyard::validate(&source).unwrap().into_parts();
        let uplinks: Vec<String> = model
            .uplinks
            .iter()
            .map(|u| u.name.value.to_string())
            .collect();
        let host = plan.hosts.remove(0);
        let ruleset = Ruleset::parse(script, &host);
        assert!(!ruleset.chains.is_empty(), "{topology} has failover chains");
        // Both ends of every destination range and their outer neighbours
        // (which only defaults take, unless another range does), and more of those.
        let mut destinations: Vec<Ipv4Addr> = ["9.9.9.9", "198.18.50.1", "100.63.255.255"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        for (_, (first, last), _) in ruleset.by_vm.values().flatten().chain(&ruleset.by_project) {
            let outside = [first.checked_sub(1), last.checked_add(1)];
            destinations.extend(
                [*first, *last]
                    .into_iter()
                    .chain(outside.into_iter().flatten())
                    .map(Ipv4Addr::from),
            );
        }
        let mut compared = 0;
        for subset in 0..1u32 << uplinks.len() {
            let down: Vec<String> = (uplinks.iter().enumerate())
                .filter(|(i, _)| subset & (1 << i) != 0)
                .map(|(_, u)| u.clone())
                .collect();
            for vm in &host.ip.v4.vms {
                let name = &model.vm(vm.vm).name.value;
                for &to in &destinations {
                    let trace = tracer.trace(name, to.into(), &down).unwrap();
                    let kernel = ruleset.pool(vm.private, to, &down);
                    assert_eq!(
                        source_pool(trace),
                        kernel,
                        "{topology}: {name} → {to} with {down:?} down"
                    );
                    compared += 1;
                }
            }
        }
        assert!(compared > 100, "{compared}");
    }
}
