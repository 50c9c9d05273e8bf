//! Smoke runs of the benchmarks (bench/compile.sh, bench/dataplane.sh,
//! bench/update.sh, bench/changes.sh, bench/failover_scale.sh) at a tiny
//! scale, so they cannot rot between the times someone runs them for real
//! (docs/performance.md). Each runs the script end to end on the debug build.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use switchyard::family::V4;

use common::{repo_path, require_root};

/// `bench/SCRIPT ARGS… --profile dev --out OUT`, which must succeed; returns stdout.
fn run_script(script: &str, args: &[&str], out: &Path) -> String {
    common::run_ok(
        Command::new("bash")
            .arg(repo_path(&format!("bench/{script}")))
            .args(args)
            .args(["--profile", "dev", "--out"])
            .arg(out)
            .env("CARGO", env!("CARGO")),
    )
}

#[test]
#[ignore = "needs hyperfine and /usr/bin/time: sudo bash .ci/run"]
fn compile_benchmark_builds_a_1k_vm_topology_beside_the_floor() {
    let out = tempfile::tempdir().expect("temporary directory");
    let report = run_script(
        "compile.sh",
        &["--sizes", "1000", "--hosts", "4", "--runs", "2"],
        out.path(),
    );
    // The build it timed is complete: a manifest naming every host's ruleset, each
    // with the elements of its share of the 1000 VMs.
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("build-1000/manifest.json")).expect("manifest"),
    )
    .expect("manifest is JSON");
    let files = manifest["files"].as_array().expect("files");
    let mut vms = 0;
    for host in ["net1", "net2", "net3", "net4"] {
        let path = format!("{host}/switchyard.nft");
        assert!(
            files.iter().any(|f| f["path"] == path.as_str()),
            "{path} in the manifest"
        );
        let nft =
            std::fs::read_to_string(out.path().join("build-1000").join(&path)).expect("nft script");
        let table = switchyard::nft_table::Table::parse(&nft).expect("the script reads back");
        vms += (table.elements("vm_sources").iter())
            .filter_map(|element| element.key.one()?.as_range::<V4>())
            .map(|range| u64::from(range.last - range.first) + 1)
            .sum::<u64>();
    }
    assert_eq!(
        vms, 1000,
        "every VM's address is a source (alone or in a run) on its host"
    );
    // The report holds the three medians, the ratios and the stage table.
    let (row, cells) = table_row(&report, "1000");
    // The two floors' medians and the build's.
    for cell in [3, 4, 5] {
        assert_positive_time(row, cells[cell], "ms");
    }
    assert!(report.contains("| check |"), "stage table in\n{report}");
}

#[test]
#[ignore = "needs root, nft, ip and iperf3: sudo bash .ci/run"]
fn dataplane_benchmark_forwards_through_both_designs_at_10_vms() {
    require_root();
    let out = tempfile::tempdir().expect("temporary directory");
    run_script(
        "dataplane.sh",
        &[
            "--sizes",
            "10",
            "--duration",
            "1",
            "--runs",
            "1",
            "--families",
            "4 6",
        ],
        out.path(),
    );
    let results = std::fs::read_to_string(out.path().join("results.tsv")).expect("results");
    let measured: BTreeMap<(String, String), f64> = results
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let value = fields[3]
                .parse()
                .unwrap_or_else(|_| panic!("value in `{line}`"));
            ((fields[1].to_owned(), fields[2].to_owned()), value)
        })
        .collect();
    for design in ["switchyard", "baseline"] {
        for test in ["tcp", "udp64", "udp64-flows"] {
            let value = measured
                .get(&(design.to_owned(), test.to_owned()))
                .unwrap_or_else(|| panic!("no {design} {test} in\n{results}"));
            assert!(
                *value > 0.0,
                "{design} {test} forwarded nothing:\n{results}"
            );
        }
        assert!(
            measured.contains_key(&(design.to_owned(), "nft -f".to_owned())),
            "{design} load time in\n{results}"
        );
    }
    // IPv6 through switchyard's dual-stack ruleset (the baseline is IPv4's).
    for test in ["tcp (IPv6)", "udp64 (IPv6)", "udp64-flows (IPv6)"] {
        let value = measured
            .get(&("switchyard".to_owned(), test.to_owned()))
            .unwrap_or_else(|| panic!("no switchyard {test} in\n{results}"));
        assert!(*value > 0.0, "switchyard {test} forwarded nothing");
    }
}

#[test]
#[ignore = "needs root, nft, ip and hyperfine: sudo bash .ci/run"]
fn update_benchmark_applies_each_one_vm_change_at_300_vms() {
    require_root();
    let out = tempfile::tempdir().expect("temporary directory");
    let report = run_script("update.sh", &["--vms", "300", "--runs", "2"], out.path());
    assert_one_vm_updates(
        out.path(),
        &report,
        &[
            ("removed-vm", Some("dnat_addresses")),
            ("removed-own-vm", Some("egress_by_vm")),
            ("changed-egress", None),
            ("added-public", Some("dnat_addresses")),
        ],
    );
}

/// Each `(change, map)` of an update.sh report: a few element statements
/// after the id check (touching `map`), not the whole table, and every time
/// measured.
fn assert_one_vm_updates(out: &Path, report: &str, changes: &[(&str, Option<&str>)]) {
    for (change, map) in changes {
        let (row, cells) = table_row(report, change);
        let update = std::fs::read_to_string(out.join(change).join("net1/switchyard.update.nft"))
            .expect("the update");
        assert!(!update.contains("replace it whole"), "{change}:\n{update}");
        if let Some(map) = map {
            assert!(
                update.contains(&format!("element inet switchyard {map} ")),
                "{change}:\n{update}"
            );
        }
        for cell in [4, 6, 8] {
            assert_positive_time(row, cells[cell], "ms");
        }
    }
}

#[test]
#[ignore = "needs root, nft, ip and hyperfine: sudo bash .ci/run"]
fn update_benchmark_applies_each_ipv6_change_at_300_dual_stack_vms() {
    require_root();
    let out = tempfile::tempdir().expect("temporary directory");
    let report = run_script(
        "update.sh",
        &["--vms", "300", "--runs", "2", "--dual-stack"],
        out.path(),
    );
    // Each touches a map of the IPv6 half.
    assert_one_vm_updates(
        out.path(),
        &report,
        &[
            ("removed-vm", Some("dnat_addresses6")),
            ("removed-own-vm", Some("egress_by_vm6")),
            ("changed-egress6", Some("egress_by_vm6")),
            ("added-public6", Some("dnat_addresses6")),
        ],
    );
}

#[test]
#[ignore = "needs hyperfine: sudo bash .ci/run"]
fn changes_benchmark_reports_each_change_at_300_vms() {
    for stack in ["ipv4", "dual"] {
        let out = tempfile::tempdir().expect("temporary directory");
        let args = ["--vms", "300", "--runs", "2", "--stack", stack];
        let report = run_script("changes.sh", &args, out.path());
        assert!(report.contains(&format!("300 VMs ({stack})")), "{report}");
        // (change, exit status, what the summary must say)
        for (change, status, says) in [
            ("identical", "0", "no change to the dataplane"),
            ("removed-vm", "1", "1 VM removed"),
            ("changed-egress", "1", "destination range"),
            ("added-public", "1", "1 inbound address"),
            ("unrelated", "1", "destination ranges"),
        ] {
            let (row, cells) = table_row(&report, change);
            assert_eq!(cells[2], status, "{stack}: `{row}`");
            assert!(cells[3].contains(says), "{stack}: `{row}`");
            assert_positive_time(row, cells[5], "s");
        }
    }
}

#[test]
#[ignore = "needs root, nft, ip, ping, conntrack and python3: sudo bash .ci/run"]
fn failover_scale_benchmark_moves_a_flow_at_300_vms() {
    require_root();
    let out = tempfile::tempdir().expect("temporary directory");
    let output = Command::new("bash")
        .arg(repo_path("bench/failover_scale.sh"))
        .args(["--vms", "300", "--entries", "1000", "--cuts", "1"])
        .args(["--profile", "dev", "--out"])
        .arg(out.path())
        .env("CARGO", env!("CARGO"))
        .output()
        .expect("run the benchmark");
    let report = String::from_utf8_lossy(&output.stdout);
    // A goal missed on a busy machine exits 1: the timing is for the real
    // run; the smoke run checks that every step works.
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cut = report
        .lines()
        .find(|l| l.starts_with("cut 1: "))
        .unwrap_or_else(|| panic!("no cut in\n{report}"));
    assert!(!cut.contains("none"), "the flow did not move: {cut}");
    assert!(
        report.contains("| running flow on the fallback |"),
        "{report}"
    );
}

/// The row of the report's table whose first cell is `first`, and its cells.
fn table_row<'a>(report: &'a str, first: &str) -> (&'a str, Vec<&'a str>) {
    let row = report
        .lines()
        .find(|l| l.starts_with(&format!("| {first} |")))
        .unwrap_or_else(|| panic!("no row for {first} in\n{report}"));
    (row, row.split('|').map(str::trim).collect())
}

/// Asserts that `cell` of `row` is a positive time in `unit` (`ms`, `s`).
fn assert_positive_time(row: &str, cell: &str, unit: &str) {
    let time: f64 = cell
        .trim_end_matches(&format!(" {unit}"))
        .parse()
        .unwrap_or_else(|_| panic!("a time in {unit} in `{row}`"));
    assert!(time > 0.0, "`{row}`");
}
