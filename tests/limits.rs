//! Limits (docs/semantics.md §5: huge or hostile files get a diagnostic, never a hang): the
//! input size limit at its edge, and inputs whose cost used to grow with the
//! product of two counts. Each case here took minutes to hours before its fix
//! and takes seconds now (debug build); docs/fuzzing.md has the
//! release-build measurements at full size.

mod common;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use switchyard::diagnostic::{self, Code, Diagnostic, Source};

/// A guard against a hang, not a speed target: a regression to the old cost
/// takes minutes to hours, while the slowest case here (100 000 egress entries
/// of one VM, debug build) takes ~10 s alone and over 40 s of wall-clock time
/// when the test binaries share two cores with other builds.
const BOUND: Duration = Duration::from_secs(90);

/// The base fixture's uplinks, pools (pool-a's prefix given, pool-b's
/// 45.0.0.0/14) and host: a header the cases append projects and VMs to.
fn header(pool_a: &str) -> String {
    let infrastructure = &common::BASE[..common::BASE.find("[projects.").expect("a project")];
    common::splice(
        infrastructure,
        &[
            ("\"198.51.100.0/24\"", &format!("\"{pool_a}\"")),
            ("\"203.0.113.0/24\"", "\"45.0.0.0/14\""),
        ],
    )
}

fn address(base: [u8; 4], n: u32) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::from(u32::from(std::net::Ipv4Addr::from(base)) + n)
}

/// Validates `text` within [`BOUND`]; every diagnostic (valid or not).
fn validate_in_time(what: &str, text: &str) -> Result<Vec<Diagnostic>, Vec<Diagnostic>> {
    let source = Source::new(format!("{what}.toml"), text);
    let started = Instant::now();
    let result = switchyard::validate(&source).map(|v| v.into_parts().2);
    let diagnostics = match &result {
        Ok(d) | Err(d) => d,
    };
    // Rendering is part of what `check` does with them.
    let human = diagnostic::render_human(&source, diagnostics, 100);
    let _ = diagnostic::render_json(&source, diagnostics);
    let elapsed = started.elapsed();
    assert!(elapsed < BOUND, "{what}: {elapsed:?}");
    if diagnostics.len() > diagnostic::MAX_RENDERED {
        assert!(
            human.contains("more not shown"),
            "{what}: every diagnostic drawn"
        );
    }
    result
}

fn codes(diagnostics: &[Diagnostic]) -> Vec<Code> {
    let mut codes: Vec<Code> = diagnostics.iter().map(|d| d.code).collect();
    codes.dedup();
    codes
}

/// `switchyard check` on a file of exactly `len` bytes: a valid topology padded
/// with a comment.
fn check_file_of(len: usize) -> std::process::Output {
    let mut text = header("44.0.0.0/14");
    text.push('#');
    text.push_str(&"x".repeat(len - text.len() - 1));
    text.push('\n');
    assert_eq!(text.len(), len);
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("padded.toml");
    std::fs::write(&path, text).expect("write topology");
    common::switchyard()
        .arg("check")
        .arg(&path)
        .output()
        .expect("run switchyard")
}

#[test]
fn input_at_the_size_limit_is_read_one_byte_more_is_refused() {
    let at_limit = check_file_of(switchyard::MAX_INPUT_BYTES);
    assert_eq!(
        at_limit.status.code(),
        Some(0),
        "{}",
        common::describe(&at_limit)
    );

    let over = check_file_of(switchyard::MAX_INPUT_BYTES + 1);
    let stderr = common::failed(&over, 1);
    assert!(
        stderr.contains("SY0005") && stderr.contains("32 MiB"),
        "{stderr}"
    );
}

/// Nothing enumerates a pool's addresses: a /0 pool costs what a /24 does. A /0
/// pool holds the host's uplink links, which is refused (SY0714), so the one
/// built is half the address space, a /1.
#[test]
fn a_whole_address_space_pool_is_not_enumerated() {
    let everything = format!(
        "{}\n[projects.acme]\npools = [\"pool-a\"]\naddresses = [\"0.0.0.1\", \"255.255.255.254\"]\n",
        header("0.0.0.0/0")
    );
    let diagnostics = validate_in_time("pool0", &everything).expect_err("links in the pool");
    assert!(
        codes(&diagnostics).contains(&Code::LinkOverlapsInternal),
        "{:?}",
        codes(&diagnostics)
    );

    let valid = format!(
        "{}\n[projects.acme]\npools = [\"pool-a\"]\naddresses = [\"0.0.0.1\", \"44.0.0.7\", \"127.255.255.254\"]\n",
        header("0.0.0.0/1").replace(
            "\"45.0.0.0/14\"",
            "\"45.0.0.0/14\"\nreserved = [\"45.0.0.1\"]"
        )
    );
    // pool-b lies inside the /0: overlapping pools, reported, nothing more.
    let diagnostics = validate_in_time("pool1", &valid).expect_err("pools overlap");
    assert!(
        codes(&diagnostics).contains(&Code::PoolOverlap),
        "{:?}\n{valid}",
        codes(&diagnostics)
    );

    let alone = valid.replace(
        "[pools.pool-b]\nuplink = \"isp-b\"\nprefix = \"45.0.0.0/14\"\nreserved = [\"45.0.0.1\"]\n",
        "",
    );
    let warnings = validate_in_time("pool1-alone", &alone).expect("valid");
    assert!(codes(&warnings).iter().all(|c| *c == Code::UnusedAddress));
    let build = common::build_source(&Source::new("pool1.toml", alone));
    let nft = build
        .files()
        .into_iter()
        .find(|(p, _)| *p == "net1/switchyard.nft");
    assert!(nft.expect("nft script").1.contains("0.0.0.0/1"));
}

/// Project-wide entries apply to every VM of the project: entries × VMs elements.
/// Past the limit the topology is refused before anything is planned.
#[test]
fn too_many_planned_elements_are_refused_before_planning() {
    let entries = 2_100;
    let vms = 1_000;
    let mut text = header("44.0.0.0/14");
    text.push_str(
        "\n[projects.acme]\npools = [\"pool-a\"]\nnetworks = [\"10.0.0.0/8\"]\negress = [",
    );
    for i in 0..entries {
        let _ = write!(
            text,
            "{{ to = \"{}/32\", via = \"pool-a\" }}, ",
            address([100, 64, 0, 0], i)
        );
    }
    text.push_str("]\naddresses = [");
    for i in 0..vms {
        let _ = write!(text, "\"{}\", ", address([44, 0, 0, 1], i));
    }
    text.push_str("]\n");
    for i in 0..vms {
        let _ = write!(
            text,
            "[vms.v{i}]\nproject = \"acme\"\nhost = \"net1\"\naddress = \"{}\"\npublic = [\"{}\"]\n",
            address([10, 0, 0, 2], i),
            address([44, 0, 0, 1], i)
        );
    }
    let diagnostics = validate_in_time("planned", &text).expect_err("over the limit");
    assert_eq!(codes(&diagnostics), [Code::InputTooLarge]);
    assert!(
        diagnostics[0].message.contains("2000000"),
        "{}",
        diagnostics[0].message
    );
}

/// A million egress destinations for one VM are within the limits (the build
/// itself is measured in docs/fuzzing.md; here, the check of 100 000).
#[test]
fn many_egress_entries_for_one_vm_check_in_linear_time() {
    let mut text = header("44.0.0.0/14");
    text.push_str(
        "\n[projects.acme]\npools = [\"pool-a\", \"pool-b\"]\naddresses = [\"44.0.0.1\", \"45.0.0.1\"]\n\
         networks = [\"10.0.0.0/24\"]\ndefault = \"pool-a\"\n\
         [vms.web-1]\nproject = \"acme\"\nhost = \"net1\"\naddress = \"10.0.0.5\"\n\
         public = [\"44.0.0.1\", \"45.0.0.1\"]\negress = [",
    );
    for i in 0..100_000 {
        let via = if i % 2 == 0 { "pool-a" } else { "pool-b" };
        let prefix = 22 + i % 11;
        let network = ipnet::Ipv4Net::new(address([100, 64, 0, 0], i * 1024), prefix as u8)
            .expect("prefix")
            .trunc();
        let _ = writeln!(text, "{{ to = \"{network}\", via = \"{via}\" }},");
    }
    text.push_str("]\n");
    validate_in_time("egress", &text).expect("valid");
}

#[test]
fn more_pools_than_marks_report_only_that() {
    let mut text = String::from("version = 1\n[uplinks.u]\nid = 1\n");
    for i in 0..20_000 {
        let _ = write!(
            text,
            "[pools.p{i}]\nuplink = \"u\"\nprefix = \"44.0.0.0/{}\"\n",
            8 + i % 20
        );
    }
    let diagnostics = validate_in_time("pools", &text).expect_err("too many pools");
    assert_eq!(codes(&diagnostics), [Code::TooManyPools]);
}

#[test]
fn a_vm_with_absurdly_many_public_addresses_reports_only_that() {
    let mut text = header("44.0.0.0/14");
    text.push_str("\n[projects.acme]\npools = [\"pool-a\"]\n[vms.v]\nproject = \"acme\"\nhost = \"net1\"\naddress = \"10.0.0.5\"\npublic = [");
    for i in 0..20_000 {
        let _ = write!(text, "\"{}\", ", address([44, 0, 0, 1], i));
    }
    text.push_str("]\negress = [");
    for i in 0..20_000 {
        let _ = write!(
            text,
            "{{ to = \"{}/32\", via = \"{}\" }}, ",
            address([100, 64, 0, 0], i),
            address([45, 0, 0, 1], i)
        );
    }
    text.push_str("]\n");
    let diagnostics = validate_in_time("public", &text).expect_err("invalid");
    assert!(
        codes(&diagnostics)
            .iter()
            .all(|c| matches!(c, Code::PublicNotAllocated | Code::SamePoolTwice))
    );
}

/// Lists that one lookup per element used to scan: a project ACL repeating a
/// pool, quotas over every pool, reserved addresses, project networks.
#[test]
fn long_lists_are_looked_up_not_scanned() {
    let n = 30_000;
    let list = |f: &dyn Fn(u32) -> String| (0..n).map(f).collect::<Vec<_>>().join(", ");
    let mut text = header("44.0.0.0/14").replace(
        "prefix = \"44.0.0.0/14\"",
        &format!(
            "prefix = \"44.0.0.0/14\"\nreserved = [{}]",
            list(&|i| format!("\"{}\"", address([44, 1, 0, 0], i)))
        ),
    );
    let _ = write!(
        text,
        "\n[projects.acme]\npools = [{}]\naddresses = [{}]\nquota = {{ pool-a = {n}, pool-b = 0 }}\nnetworks = [{}]\n",
        list(&|_| "\"pool-a\"".into()),
        list(&|i| format!("\"{}\"", address([44, 0, 0, 1], i))),
        list(&|i| format!("\"{}/32\"", address([11, 0, 0, 0], 2 * i))),
    );
    for i in 0..n / 10 {
        let _ = write!(
            text,
            "[vms.v{i}]\nproject = \"acme\"\nhost = \"net1\"\naddress = \"{}\"\n",
            address([10, 0, 0, 1], i)
        );
    }
    let diagnostics = validate_in_time("lists", &text).expect_err("VMs outside networks");
    assert!(codes(&diagnostics).contains(&Code::AddressOutsideNetworks));
    let help = diagnostics
        .iter()
        .find(|d| d.code == Code::AddressOutsideNetworks)
        .and_then(|d| d.help.clone())
        .expect("a help text");
    assert!(
        help.len() < 400,
        "the help lists every network: {} bytes",
        help.len()
    );
}

/// Unknown references each compare with every known name for a suggestion; the
/// comparisons are budgeted.
#[test]
fn suggestions_for_many_unknown_references_are_bounded() {
    let mut text = header("44.0.0.0/14");
    for i in 0..1_000 {
        let _ = writeln!(text, "[projects.project-{i:05}]");
    }
    for i in 0..1_000 {
        let _ = write!(
            text,
            "[vms.v{i}]\nproject = \"prxject-{i:05}\"\nhost = \"net1\"\naddress = \"10.0.0.1\"\n"
        );
    }
    let diagnostics = validate_in_time("unknown", &text).expect_err("unknown projects");
    let suggested = diagnostics
        .iter()
        .filter(|d| {
            d.help
                .as_deref()
                .is_some_and(|h| h.starts_with("did you mean"))
        })
        .count();
    assert!(
        suggested > 0,
        "the first unknown references still get a suggestion"
    );
}

/// A minified file: everything on one line. Each diagnostic on it shows an
/// excerpt of the line around what it points at, never the whole line.
#[test]
fn problems_on_one_huge_line_are_drawn_with_an_excerpt() {
    let addresses: Vec<String> = (0..50_000)
        .map(|i| format!("\"{}\"", address([44, 0, 0, 1], i)))
        .collect();
    let text = format!(
        "{}\n[projects.acme]\npools = [\"pool-a\"]\naddresses = [{}]\n",
        header("44.0.0.0/14"),
        addresses.join(", ")
    );
    let source = Source::new("minified.toml", text.as_str());
    let warnings = validate_in_time("minified", &text).expect("valid");
    assert_eq!(warnings.len(), 50_000);
    let human = diagnostic::render_human(&source, &warnings, 1000);
    let line = text[..text.find("addresses").expect("the list")]
        .lines()
        .count()
        + 1;
    assert!(
        human.contains(&format!("minified.toml:{line}:")),
        "{}",
        &human[..2000]
    );
    assert!(
        human.lines().all(|drawn| drawn.chars().count() <= 100),
        "{}",
        &human[..2000]
    );
    assert!(human.len() < 200_000, "{} bytes", human.len());
}
