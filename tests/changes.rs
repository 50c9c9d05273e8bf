//! `switchyard changes OLD NEW` as an operator runs it: the three formats on an
//! IPv4 and a dual-stack pair (snapshots), the exit codes (0 nothing changes,
//! also for a reordered and re-commented file; 1 something does; 2 errors, each
//! invalid topology's diagnostics located in its own file), and `--host`; in
//! both families, that it lists exactly what `trace` answers differently.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Output;

use switchyard::diagnostic::Source;

use common::{describe, repo_path, switchyard};

const OLD: &str = "examples/two-isps.toml";
const NEW: &str = "tests/fixtures/two-isps-next.toml";
/// A pair whose changes are in IPv6 (and a VM removed with both families).
const DUAL_OLD: &str = "tests/fixtures/dual-stack-before.toml";
const DUAL_NEW: &str = "examples/dual-stack.toml";

/// Runs from the repository root, so topologies are named as relative paths.
fn changes(args: &[&str]) -> Output {
    switchyard()
        .current_dir(repo_path(""))
        .arg("changes")
        .args(args)
        .output()
        .expect("run switchyard")
}

fn stdout(output: &Output, code: i32) -> String {
    assert_eq!(output.status.code(), Some(code), "{}", describe(output));
    String::from_utf8(output.stdout.clone()).expect("UTF-8")
}

#[test]
fn the_three_formats_on_an_ipv4_and_a_dual_stack_pair() {
    for (name, old, new) in [("two-isps", OLD, NEW), ("dual-stack", DUAL_OLD, DUAL_NEW)] {
        for (format, extension) in [("human", "txt"), ("markdown", "md"), ("json", "json")] {
            let output = stdout(&changes(&[old, new, "--format", format]), 1);
            insta::with_settings!({
                snapshot_path => "../snapshots",
                prepend_module_to_snapshot => false,
                omit_expression => true,
            }, {
                insta::assert_snapshot!(
                    format!("changes__{name}__{extension}"),
                    format!("$ switchyard changes {old} {new} --format {format}\n{output}")
                );
            });
        }
    }
}

/// Each family is compared on its own: an IPv6 range that moves to another
/// pool, stops being internal or is the host's own address; an IPv6 public
/// address that moves to another VM; a VM that gains an IPv6 address (and,
/// the other way, loses it); a VM removed with both of its addresses. Nothing
/// of IPv4 changes for the kept VMs.
#[test]
fn a_dual_stack_pair_is_compared_per_family() {
    let human = stdout(&changes(&[DUAL_OLD, DUAL_NEW]), 1);
    for line in [
        "  vm web-1 to 2001:db8:11::/64: internal → 2001:db8:a::7 (pool-a, isp-a); \
         decided by project acme: default (examples/dual-stack.toml:43:11)\n",
        "  vm web-1 to 2001:db8:200::/48: 2001:db8:a::7 (pool-a, isp-a) → 2001:db8:b::9 \
         (pool-b, isp-b); decided by vm web-1: egress to 2001:db8:200::/48 \
         (examples/dual-stack.toml:57:10)\n",
        "  vm web-1 to 2001:db8:ffb::2: 2001:db8:a::7 (pool-a, isp-a) → the host itself \
         (its address on isp-b)\n",
        "  vm web-1 to 2001:db8:ffb::3: the host itself (its address on isp-b) → 2001:db8:a::7 \
         (pool-a, isp-a); decided by project acme: default (examples/dual-stack.toml:43:11)\n",
        "  vm web-2 address: none → 2001:db8:10::6\n",
        "  vm web-3: 10.0.0.7, 2001:db8:10::7 → absent\n",
        "  inbound 2001:db8:a::8: web-3 (pool-a, isp-a) → web-2 (pool-a, isp-a)\n",
        "  inbound 2001:db8:b::10: dropped (no VM) → web-2 (pool-b, isp-b)\n",
        "  inbound 2001:db8:b::11: web-3 (pool-b, isp-b) → dropped (no VM)\n",
    ] {
        assert!(human.contains(line), "{line}\n{human}");
    }
    // web-1's IPv4 ranges and web-2's IPv6 ones (it had none) do not change;
    // the kept VMs' IPv4 addresses neither.
    assert!(
        !human.contains("to 100.") && !human.contains("vm web-2 to"),
        "{human}"
    );
    assert!(
        !human.contains("10.0.0.5") && !human.contains("10.0.0.6"),
        "{human}"
    );
    assert!(
        human.ends_with(
            "changes on 1 host: 1 host setting, 1 VM removed, 1 private address, \
             4 destination ranges, 5 inbound addresses\n"
        ),
        "{human}"
    );
    let json = stdout(&changes(&[DUAL_OLD, DUAL_NEW, "--format", "json"]), 1);
    let json: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    let web_2 = &json["hosts"][0]["vms"][1];
    assert_eq!(web_2["vm"], "web-2");
    assert_eq!(web_2["private_address"]["new"], "10.0.0.6");
    assert_eq!(web_2["private_address_v6"]["old"], serde_json::Value::Null);
    assert_eq!(web_2["private_address_v6"]["new"], "2001:db8:10::6");
    // The other way: web-2 loses its IPv6 address, web-3 comes back.
    let back = stdout(&changes(&[DUAL_NEW, DUAL_OLD]), 1);
    for line in [
        "  vm web-2 address: 2001:db8:10::6 → none\n",
        "  vm web-3: absent → 10.0.0.7, 2001:db8:10::7\n",
        "  inbound 2001:db8:a::8: web-2 (pool-a, isp-a) → web-3 (pool-a, isp-a)\n",
    ] {
        assert!(back.contains(line), "{line}\n{back}");
    }
}

#[test]
fn nothing_changes_for_the_same_topology_reordered_and_recommented() {
    let text = std::fs::read_to_string(repo_path(OLD)).expect("read");
    // The VMs before everything else, every comment gone, descriptions changed.
    let (head, vms) = text.split_once("[vms.web-1]").expect("web-1");
    let uncommented: String = format!("version = 1\n[vms.web-1]{vms}\n{head}")
        .lines()
        .filter(|line| !line.trim_start().starts_with('#') && *line != "version = 1")
        .map(|line| line.split(" #").next().unwrap_or(line))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("Transit A", "Transit A, renamed");
    let rewritten = format!("version = 1\n{uncommented}\n");
    assert_ne!(rewritten, text);
    let work = tempfile::tempdir().expect("temporary directory");
    let path = work.path().join("reordered.toml");
    std::fs::write(&path, &rewritten).expect("write");
    for format in ["human", "markdown", "json"] {
        let output = changes(&[OLD, path.to_str().expect("UTF-8"), "--format", format]);
        let printed = stdout(&output, 0);
        assert!(
            printed.contains("no change to the dataplane"),
            "{format}: {printed}\n{rewritten}"
        );
    }
    // Standard input as either side.
    let output = common::output_with_input(
        switchyard()
            .current_dir(repo_path(""))
            .args(["changes", "-", OLD]),
        rewritten.as_bytes(),
    );
    assert_eq!(stdout(&output, 0), "no change to the dataplane\n");
}

/// On the dual-stack pair, `changes` lists a (VM, destination) exactly when
/// `trace` answers it differently, in both families.
#[test]
fn the_dual_stack_changes_are_exactly_what_trace_answers_differently() {
    let read = |path: &str| {
        let text = std::fs::read_to_string(repo_path(path)).expect("read");
        Source::new(path, text)
    };
    let compared = assert_exact(&read(DUAL_OLD), &read(DUAL_NEW), 24, 2000);
    assert!(compared > 8000, "{compared}");
}

/// Asserts that `changes` from `old` to `new` lists a (VM, destination)
/// exactly when `trace` answers it differently, for every VM in both and every
/// address either file names (and the next), every edge of a listed range,
/// and `random` pseudo-random addresses of 2001:db8::/32 and of 0.0.0.0/0
/// (from `seed`);
/// and a public address from outside exactly when its answer differs. Returns
/// how many (VM, destination) pairs it compared.
fn assert_exact(old: &Source, new: &Source, mut seed: u64, random: usize) -> usize {
    let changes = common::changes(old, new);
    let old_tracer = switchyard::trace::Tracer::new(old).expect("valid");
    let new_tracer = switchyard::trace::Tracer::new(new).expect("valid");
    let context = || format!("{}\n--- new\n{}", changes.to_human(), new.text);
    let ranges = changes
        .hosts
        .iter()
        .flat_map(|h| &h.vms)
        .flat_map(|vm| &vm.destinations);
    let mut destinations: Vec<IpAddr> = ranges
        .flat_map(|range| [range.first, range.last])
        .flat_map(|address| {
            let bits = match address {
                IpAddr::V4(a) => u128::from(u32::from(a)),
                IpAddr::V6(a) => u128::from(a),
            };
            let back = move |b: u128| match address {
                IpAddr::V4(_) => u32::try_from(b)
                    .ok()
                    .map(|b| IpAddr::from(Ipv4Addr::from(b))),
                IpAddr::V6(_) => Some(IpAddr::from(Ipv6Addr::from(b))),
            };
            [bits.checked_sub(1), Some(bits), bits.checked_add(1)]
                .into_iter()
                .flatten()
                .filter_map(back)
        })
        .collect();
    // Every address either file names, and the next.
    let named = |text: &str| -> Vec<IpAddr> {
        text.split(['"', '/'])
            .filter_map(|word| word.parse::<IpAddr>().ok())
            .collect()
    };
    let publics: Vec<IpAddr> = named(&old.text)
        .into_iter()
        .chain(named(&new.text))
        .collect();
    for &address in &publics {
        destinations.push(address);
        if let IpAddr::V6(a) = address {
            destinations.push(Ipv6Addr::from(u128::from(a) + 1).into());
        }
    }
    for _ in 0..random {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let random = u128::from(seed) << 64 | u128::from(seed.rotate_left(17));
        // Within 2001:db8::/32, mostly in its first /40s where the files' prefixes are.
        let v6 = 0x2001_0db8_u128 << 96 | (random >> (32 + (seed % 12) as u32 * 8));
        destinations.push(Ipv6Addr::from(v6).into());
        destinations.push(Ipv4Addr::from((seed >> 32) as u32).into());
    }
    let vms = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|line| line.strip_prefix("[vms.")?.strip_suffix(']'))
            .map(str::to_owned)
            .collect()
    };
    let (old_vms, new_vms) = (vms(&old.text), vms(&new.text));
    // The VM's address of the destination's family changes: every answer
    // of that family names it.
    let readdressed = |name: &str, destination: IpAddr| {
        changes
            .hosts
            .iter()
            .flat_map(|h| &h.vms)
            .filter(|vm| vm.vm == name)
            .any(|vm| {
                let address = match destination {
                    IpAddr::V4(_) => Some(&vm.private_address),
                    IpAddr::V6(_) => vm.private_address_v6.as_ref(),
                };
                address.is_some_and(|address| address.old != address.new)
            })
    };
    let inbound_listed = |address: IpAddr| {
        changes
            .hosts
            .iter()
            .any(|h| h.inbound.iter().any(|i| i.address == address))
    };
    let mut compared = 0;
    for vm in old_vms.iter().filter(|vm| new_vms.contains(vm)) {
        for &destination in &destinations {
            let differs = common::trace_answer(&old_tracer, vm, destination)
                != common::trace_answer(&new_tracer, vm, destination);
            let listed = readdressed(vm, destination)
                || inbound_listed(destination)
                || changes
                    .hosts
                    .iter()
                    .flat_map(|h| &h.vms)
                    .filter(|v| v.vm == *vm)
                    .flat_map(|v| &v.destinations)
                    .any(|r| (r.first..=r.last).contains(&destination));
            assert_eq!(differs, listed, "{vm} → {destination}\n{}", context());
            compared += 1;
        }
    }
    // Inbound, from outside addresses no VM has, to every address of a pool
    // either file names (what `changes` reports of inbound traffic).
    let validated = [old, new].map(|source| switchyard::validate(source).expect("valid"));
    let pooled: Vec<IpAddr> = (publics.iter().copied())
        .filter(|&a| validated.iter().any(|v| v.model().pool_of_ip(a).is_some()))
        .collect();
    for &address in &pooled {
        let outside: IpAddr = match address {
            IpAddr::V4(_) => "100.127.255.254".parse().expect("address"),
            IpAddr::V6(_) => "2001:db8:ffff::1".parse().expect("address"),
        };
        let (old_answer, new_answer) = (
            common::trace_answer(&old_tracer, &outside.to_string(), address),
            common::trace_answer(&new_tracer, &outside.to_string(), address),
        );
        let receiver_readdressed = [&old_answer, &new_answer]
            .iter()
            .filter_map(|json| json["vm"].as_str())
            .any(|vm| readdressed(vm, address));
        // A host's own address is a host setting (`uplink NAME`): listed
        // where it is in one side of a changed setting only.
        let own = format!("address {address}/");
        let has_own = |value: &Option<String>| value.as_ref().is_some_and(|v| v.contains(&own));
        let setting_listed = (changes.hosts.iter().flat_map(|h| &h.settings))
            .any(|s| has_own(&s.change.old) != has_own(&s.change.new));
        let listed = inbound_listed(address) || receiver_readdressed || setting_listed;
        assert_eq!(
            old_answer != new_answer,
            listed,
            "inbound {address}\n{}",
            context()
        );
    }
    compared
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 16,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// examples/dual-stack.toml changed at random, mostly in IPv6: `changes`
    /// lists exactly what `trace` answers differently ([`assert_exact`]).
    #[test]
    fn random_dual_stack_changes_are_exactly_what_trace_answers_differently(
        vm_entry in proptest::option::of((0x100u32..0x200, 40u8..=56, 0usize..4)),
        // Longer than the project's own 2001:db8:100::/40, so never the same.
        project_entry in proptest::option::of((0x100u32..0x200, 41u8..=56, proptest::bool::ANY)),
        web_2 in 0u8..3,
        own in proptest::option::of(3u8..10),
        network in proptest::option::of(0x11u32..0x20),
        default_b in proptest::bool::ANY,
        seed: u64,
    ) {
        let text = std::fs::read_to_string(repo_path(DUAL_NEW)).expect("read");
        let mut edits: Vec<(String, String)> = Vec::new();
        let prefix = |group: u32, length: u8| {
            let bits = (0x2001_0db8_u128 << 96 | u128::from(group) << 80) >> (128 - length) << (128 - length);
            format!("{}/{length}", Ipv6Addr::from(bits))
        };
        if let Some((group, length, via)) = vm_entry {
            // web-1's own address in pool-a, which the swap below changes.
            let in_pool_a = if web_2 == 1 { "2001:db8:a::8" } else { "2001:db8:a::7" };
            let via = ["pool-a", "pool-b", in_pool_a, "2001:db8:b::9"][via];
            edits.push((
                r#"  { to = "2001:db8:200::/48", via = "2001:db8:b::9" },"#.to_owned(),
                format!(
                    "  {{ to = \"2001:db8:200::/48\", via = \"2001:db8:b::9\" }},\n  {{ to = \"{}\", via = \"{via}\" }},",
                    prefix(group, length)
                ),
            ));
        }
        if let Some((group, length, pool_a)) = project_entry {
            let via = if pool_a { "pool-a" } else { "pool-b" };
            edits.push((
                r#"  { to = "2001:db8:100::/40", via = "pool-b" },"#.to_owned(),
                format!(
                    "  {{ to = \"2001:db8:100::/40\", via = \"pool-b\" }},\n  {{ to = \"{}\", via = \"{via}\" }},",
                    prefix(group, length)
                ),
            ));
        }
        match web_2 {
            // web-1 and web-2 swap their IPv6 addresses in pool-a.
            1 => {
                edits.push((r#""2001:db8:a::7", "2001:db8:b::9"]"#.to_owned(), r#""2001:db8:a::8", "2001:db8:b::9"]"#.to_owned()));
                edits.push((r#""2001:db8:a::8", "2001:db8:b::10"]"#.to_owned(), r#""2001:db8:a::7", "2001:db8:b::10"]"#.to_owned()));
            }
            // web-2 loses its IPv6 address and public addresses.
            2 => {
                edits.push((r#"["10.0.0.6", "2001:db8:10::6"]"#.to_owned(), r#""10.0.0.6""#.to_owned()));
                edits.push((r#", "2001:db8:a::8", "2001:db8:b::10"]"#.to_owned(), "]".to_owned()));
                edits.push((r#""2001:db8:a::8", "#.to_owned(), String::new()));
                edits.push((r#", "2001:db8:b::10","#.to_owned(), ",".to_owned()));
            }
            _ => {}
        }
        if let Some(own) = own {
            edits.push((r#""2001:db8:ffb::2/64""#.to_owned(), format!("\"2001:db8:ffb::{own}/64\"")));
        }
        if let Some(group) = network {
            edits.push((
                r#"networks = ["10.0.0.0/24", "2001:db8:10::/64"]"#.to_owned(),
                format!("networks = [\"10.0.0.0/24\", \"2001:db8:10::/64\", \"2001:db8:{group:x}::/64\"]"),
            ));
        }
        if default_b {
            edits.push((r#"default = "pool-a""#.to_owned(), r#"default = "pool-b""#.to_owned()));
        }
        let edits: Vec<(&str, &str)> = edits.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let old = Source::new(DUAL_NEW, text.clone());
        let new = Source::new("new.toml", common::splice(&text, &edits));
        assert_exact(&old, &new, seed, 200);
    }
}

/// A list of both families means the same in either order.
#[test]
fn nothing_changes_for_the_families_of_a_list_swapped() {
    let output = common::output_with_input(
        switchyard()
            .current_dir(repo_path(""))
            .args(["changes", DUAL_NEW, "-"]),
        common::dual_stack_families_swapped().as_bytes(),
    );
    assert_eq!(stdout(&output, 0), "no change to the dataplane\n");
}

#[test]
fn an_invalid_topology_is_exit_2_with_its_diagnostics_in_its_own_file() {
    let invalid = "examples/invalid/SY0101-unknown-uplink.toml";
    for (old, new) in [(invalid, OLD), (OLD, invalid)] {
        let stderr = common::failed(&changes(&[old, new]), 2);
        assert!(
            stderr.contains("error[SY0101]") && stderr.contains(&format!("{invalid}:")),
            "{stderr}"
        );
    }
    // Both invalid: both reported.
    let other = "examples/invalid/SY0102-unknown-pool.toml";
    let stderr = common::failed(&changes(&[invalid, other]), 2);
    assert!(
        stderr.contains("error[SY0101]") && stderr.contains("error[SY0102]"),
        "{stderr}"
    );
    // An unreadable file and an unknown host are errors too.
    common::failed(&changes(&[OLD, "no-such-file.toml"]), 2);
    let stderr = common::failed(&changes(&[OLD, NEW, "--host", "net9"]), 2);
    assert!(stderr.contains("no host named `net9`"), "{stderr}");
    common::failed(&changes(&["-", "-"]), 2);
}

#[test]
fn host_limits_the_report_to_that_host() {
    let multi = "examples/multi-host.toml";
    let all = stdout(&changes(&[OLD, multi]), 1);
    assert!(
        all.contains("host net2 (added)") && all.contains("host net1"),
        "{all}"
    );
    let one = stdout(&changes(&[OLD, multi, "--host", "net2"]), 1);
    assert!(
        one.contains("host net2 (added)") && !one.contains("host net1"),
        "{one}"
    );
}

/// With `[failover]` a decision is its candidates, best first: a reordered
/// fallback list is a changed range though the first candidate stays.
#[test]
fn a_changed_candidate_list_is_a_changed_range() {
    let old = std::fs::read_to_string(repo_path("examples/failover.toml")).expect("read");
    let new = common::splice(
        &old,
        &[(
            r#"default = ["198.51.100.7", "pool-c"]"#,
            r#"default = ["198.51.100.7", "pool-b", "pool-c"]"#,
        )],
    );
    let old = switchyard::diagnostic::Source::new("old.toml", old);
    let new = switchyard::diagnostic::Source::new("new.toml", new);
    let changes = common::changes(&old, &new);
    let human = changes.to_human();
    // web-1's default: pool-a first either way, its fallbacks reordered. Its
    // entries' lists already named pool-b before pool-c: unchanged.
    assert!(
        human.contains(
            ": 198.51.100.7 (pool-a, isp-a), then 192.0.2.130 (pool-c, isp-c), then 203.0.113.9 (pool-b, isp-b) \
             → 198.51.100.7 (pool-a, isp-a), then 203.0.113.9 (pool-b, isp-b), then 192.0.2.130 (pool-c, isp-c); \
             decided by vm web-1: default"
        ),
        "{human}"
    );
    assert!(
        !human.contains("100.66.0.0/16") && !human.contains("web-2"),
        "{human}"
    );
}

/// The fixture's web-2 gains an entry repeating its project's 100.65.0.0/16,
/// and the project's new 100.64.0.0/10 lies under web-1's own 100.66.0.0/15:
/// neither changes anything for that VM.
#[test]
fn a_repeated_or_overridden_entry_changes_nothing() {
    let human = stdout(&changes(&[OLD, NEW]), 1);
    for unchanged in [
        "vm web-2 to 100.65.",
        "vm web-1 to 100.66.",
        "vm web-1 to 100.67.",
    ] {
        assert!(!human.contains(unchanged), "{unchanged}\n{human}");
    }
    assert!(human.contains("vm web-2 to 100.64.0.0/16:"), "{human}");
    assert!(
        human.contains("vm web-1 to 100.68.0.0-100.127.255.255:"),
        "{human}"
    );
}

/// README's example, run as it says: its output block is what `changes` prints.
#[test]
fn readme_example_is_what_changes_prints() {
    let work = tempfile::tempdir().expect("temporary directory");
    let old = std::fs::read_to_string(repo_path(OLD)).expect("read");
    // README's `sed`: the project gains a wider entry after its first.
    let first = r#"{ to = "100.65.0.0/16", via = "pool-b" },"#;
    let next = common::splice(
        &old,
        &[(
            first,
            &format!("{first}\n  {{ to = \"100.64.0.0/10\", via = \"pool-b\" }},"),
        )],
    );
    std::fs::create_dir(work.path().join("examples")).expect("mkdir");
    std::fs::write(work.path().join(OLD), &old).expect("write");
    std::fs::write(work.path().join("next.toml"), next).expect("write");
    let output = switchyard()
        .current_dir(work.path())
        .args(["changes", OLD, "next.toml"])
        .output()
        .expect("run switchyard");
    let printed = stdout(&output, 1);
    let readme = std::fs::read_to_string(repo_path("README.md")).expect("README.md");
    assert!(
        readme.contains(&format!("```text\n{printed}```\n")),
        "README.md's `changes` example is out of date; it prints:\n{printed}"
    );
}

/// The host's old and new address on a link, next to each other, are two
/// destinations with opposite changes, never one merged range.
#[test]
fn adjacent_old_and_new_own_addresses_are_two_ranges() {
    let old = std::fs::read_to_string(repo_path(OLD)).expect("read");
    let new = common::splice(
        &old,
        &[(
            r#"address = "198.18.0.2/30""#,
            r#"address = "198.18.0.3/29""#,
        )],
    );
    let old = switchyard::diagnostic::Source::new("old.toml", old);
    let new = switchyard::diagnostic::Source::new("new.toml", new);
    let human = common::changes(&old, &new).to_human();
    for line in [
        "  vm web-1 to 198.18.0.2: the host itself (its address on isp-b) → 198.51.100.7 \
         (pool-a, isp-a); decided by project acme: default (new.toml:",
        "  vm web-1 to 198.18.0.3: 198.51.100.7 (pool-a, isp-a) → the host itself \
         (its address on isp-b)\n",
    ] {
        assert!(human.contains(line), "{line}\n{human}");
    }
}

/// A pair's settings are the host's: a new VRRP id is a change of setting
/// `pair`, a member's own address one of `member NAME`.
#[test]
fn a_changed_pair_is_a_changed_setting() {
    let old = "examples/ha-pair.toml";
    let text = std::fs::read_to_string(repo_path(old)).expect("the example");
    let dir = tempfile::tempdir().expect("temporary directory");
    let new = dir.path().join("next.toml");
    let next = common::splice(
        &text,
        &[
            ("vrid = 51 ", "vrid = 52 "),
            ("\"192.0.2.4/29\"]", "\"192.0.2.5/29\"]"),
        ],
    );
    std::fs::write(&new, next).expect("write the new topology");
    let out = stdout(&changes(&[old, new.to_str().expect("UTF-8 path")]), 1);
    assert!(out.contains("pair"), "{out}");
    assert!(
        out.contains("vrid 51 on ha0") && out.contains("vrid 52 on ha0"),
        "{out}"
    );
    assert!(
        out.contains("own 192.0.2.4/29") && out.contains("own 192.0.2.5/29"),
        "{out}"
    );
}
