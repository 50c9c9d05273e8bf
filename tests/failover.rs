//! Uplink failover (docs/semantics.md §8) without root: the format and its checks
//! (every list element checked alone, with its own span; `[failover]` values),
//! the plan's candidates as `trace --down` reports them, and the artifacts
//! `build` adds for the monitor. The kernel side is in tests/e2e_failover.rs.

use switchyard::diagnostic::{Diagnostic, Source};
use switchyard::trace::Tracer;

/// Two uplinks, a pool on each, a project default list, one VM with both.
const VALID: &str = r#"version = 1

[failover]

[uplinks.isp-a]
id = 1

[uplinks.isp-b]
id = 2

[pools.pool-a]
uplink = "isp-a"
prefix = "198.51.100.0/24"

[pools.pool-b]
uplink = "isp-b"
prefix = "203.0.113.0/24"

[hosts.net1]
lan = ["lan0"]
[hosts.net1.uplinks.isp-a]
interface = "up-a"
address = "192.0.2.2/30"
gateway = "192.0.2.1"
[hosts.net1.uplinks.isp-b]
interface = "up-b"
address = "198.18.0.2/30"
gateway = "198.18.0.1"

[projects.acme]
pools = ["pool-a", "pool-b"]
addresses = ["198.51.100.7", "203.0.113.9"]
networks = ["10.0.0.0/24"]
default = ["pool-a", "pool-b"]

[vms.web-1]
project = "acme"
host = "net1"
address = "10.0.0.5"
public = ["198.51.100.7", "203.0.113.9"]
"#;

fn diagnostics(text: &str) -> Vec<Diagnostic> {
    match switchyard::validate(&Source::new("failover.toml", text)) {
        Ok(validated) => validated.warnings,
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

/// `VALID` with `from` replaced by `to` (which must occur).
fn with(from: &str, to: &str) -> String {
    assert!(VALID.contains(from), "{from:?} not in the topology");
    VALID.replacen(from, to, 1)
}

#[test]
fn the_valid_topology_is_clean() {
    assert_eq!(located(VALID), Vec::<String>::new());
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
    let text = VALID.replace(
        "public = [\"198.51.100.7\", \"203.0.113.9\"]",
        "public = [\"198.51.100.7\"]\ndefault = [\"pool-a\", \"pool-b\"]",
    );
    assert_eq!(
        located(&text),
        ["SY0902 \"203.0.113.9\"", "SY0405 \"pool-b\""]
    );
    // The project's list applies through pool-a: no SY0904 for its pool-b.
    let text = VALID.replace(
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
    let same = entries(r#"["pool-a", "pool-b"]"#, r#"["pool-a", "pool-b"]"#);
    assert_eq!(located(&same), Vec::<String>::new());
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
    let probe = |list: &str| {
        with(
            "gateway = \"192.0.2.1\"\n",
            &format!("gateway = \"192.0.2.1\"\nprobe = {list}\n"),
        )
    };
    assert_eq!(
        located(&probe(r#"["192.0.2.1", "9.9.9.9"]"#)),
        Vec::<String>::new()
    );
    assert_eq!(
        located(&probe(
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

#[test]
fn no_alternative_is_warned_about_only_with_failover() {
    let text = with("default = [\"pool-a\", \"pool-b\"]", "default = \"pool-a\"");
    assert_eq!(located(&text), ["SY0905 \"pool-a\""]);
    assert_eq!(
        located(&text.replace("[failover]\n", "")),
        Vec::<String>::new()
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
    let source = Source::new("failover.toml", VALID);
    let tracer = Tracer::new(&source).unwrap();
    let error = tracer
        .trace("web-1", "9.9.9.9".parse().unwrap(), &["isp-c".to_owned()])
        .unwrap_err();
    assert!(
        error.to_string().contains("did you mean `isp-a`?"),
        "{error}"
    );
    let source = Source::new("plain.toml", VALID.replace("[failover]\n", ""));
    let tracer = Tracer::new(&source).unwrap();
    let error = tracer
        .trace("web-1", "9.9.9.9".parse().unwrap(), &["isp-a".to_owned()])
        .unwrap_err();
    assert!(error.to_string().contains("no [failover]"), "{error}");
}
