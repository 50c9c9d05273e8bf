//! Helpers shared by the integration tests: running the switchyard binary and
//! other programs, and network namespaces that clean up after themselves.
//!
//! Each test binary includes this with `mod common;` and uses only part of it.
#![allow(dead_code)]

pub mod deploy;
pub mod monitor;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `tests/fixtures/base.toml`: the small valid topology that tests splice one
/// change into.
pub const BASE: &str = include_str!("../fixtures/base.toml");

/// `text` with each `(from, to)` replaced once, in order; every `from` must occur
/// (a test whose change no longer applies must fail, not test the base).
pub fn splice(text: &str, replacements: &[(&str, &str)]) -> String {
    replacements
        .iter()
        .fold(text.to_owned(), |text, (from, to)| {
            assert!(text.contains(from), "`{from}` is not in the topology");
            text.replacen(from, to, 1)
        })
}

/// examples/dual-stack.toml with the two families of each list it holds of
/// both (a pool's prefixes, the project's networks, web-1's addresses and
/// public addresses) the other way round: the same topology.
pub fn dual_stack_families_swapped() -> String {
    let text = std::fs::read_to_string(repo_path("examples/dual-stack.toml")).expect("read");
    splice(
        &text,
        &[
            (
                r#"["198.51.100.0/24", "2001:db8:a::/48"]"#,
                r#"["2001:db8:a::/48", "198.51.100.0/24"]"#,
            ),
            (
                r#"["10.0.0.0/24", "2001:db8:10::/64"]"#,
                r#"["2001:db8:10::/64", "10.0.0.0/24"]"#,
            ),
            (
                r#"["10.0.0.5", "2001:db8:10::5"]"#,
                r#"["2001:db8:10::5", "10.0.0.5"]"#,
            ),
            (
                r#"["198.51.100.7", "203.0.113.9", "2001:db8:a::7", "2001:db8:b::9"]"#,
                r#"["2001:db8:b::9", "2001:db8:a::7", "203.0.113.9", "198.51.100.7"]"#,
            ),
        ],
    )
}

/// The base fixture with a second VM in project acme, web-2, at `address` on
/// `host`, with the public address 198.51.100.8 (in pool-a).
pub fn base_with_web_2(host: &str, address: &str) -> String {
    let text = splice(
        BASE,
        &[(
            "\"203.0.113.9\"]\nnetworks",
            "\"203.0.113.9\", \"198.51.100.8\"]\nnetworks",
        )],
    );
    format!(
        "{text}\n[vms.web-2]\nproject = \"acme\"\nhost = \"{host}\"\naddress = \"{address}\"\n\
         public = [\"198.51.100.8\"]\n"
    )
}

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A file or directory below the repository root.
pub fn repo_path(relative: &str) -> PathBuf {
    root().join(relative)
}

/// The switchyard binary built for this test run.
pub fn switchyard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
}

/// Runs `command` with `input` on its standard input and collects its output.
/// The input is written from a thread of its own, so a child that writes much
/// before it has read everything cannot deadlock; one that exits without reading
/// it all closes the pipe, and that error is ignored.
pub fn output_with_input(command: &mut Command, input: &[u8]) -> Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().expect("wait");
    writer.join().expect("writer thread");
    output
}

/// Asserts that `output` is a failure with exit code `code` that printed nothing
/// on stdout; returns its stderr.
pub fn failed(output: &Output, code: i32) -> String {
    assert_eq!(output.status.code(), Some(code), "{}", describe(output));
    assert!(output.stdout.is_empty(), "{}", describe(output));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts that `output` exited with `code` and that its stderr says each of
/// `texts`.
pub fn assert_exit_saying(output: &Output, code: i32, texts: &[&str]) {
    assert_eq!(output.status.code(), Some(code), "{}", describe(output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for text in texts {
        assert!(stderr.contains(text), "`{text}`: {}", describe(output));
    }
}

/// Runs `command` and panics with its output unless it exits 0; returns stdout.
pub fn run_ok(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        describe(&output)
    );
    String::from_utf8(output.stdout).expect("stdout is UTF-8")
}

/// Exit status, stdout and stderr of a finished command, for assertion messages.
pub fn describe(output: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `switchyard build TOPOLOGY -o DIR [--host HOST]` into `dir`, which it replaces.
pub fn build(topology: &Path, dir: &Path, host: Option<&str>) {
    let mut command = switchyard();
    command.arg("build").arg(topology).arg("-o").arg(dir);
    if let Some(host) = host {
        command.args(["--host", host]);
    }
    run_ok(&mut command);
}

/// A temporary directory with `topology` (relative to the repository root)
/// built into its `out`: the directory (removed when dropped) and `out`.
pub fn built_in_temp(topology: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("out");
    build(&repo_path(topology), &out, None);
    (dir, out)
}

/// A network namespace named after the test, the process and a count, deleted
/// when dropped (also when the test panics), so parallel tests and runs never
/// collide, not even two tests of one process asking for the same `test` name
/// (a shared helper's reference namespace, say).
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates the namespace with loopback up. `test` should be short: the name is
    /// `sy-TEST-PID-N`.
    pub fn new(test: &str) -> Self {
        static CREATED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = CREATED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("sy-{test}-{}-{n}", std::process::id());
        run_ok(Command::new("ip").args(["netns", "add", &name]));
        let netns = Netns { name };
        netns.ip(&["link", "set", "lo", "up"]);
        // No duplicate address detection: an IPv6 address would be tentative
        // (unusable) for a second after it is added, on every interface made
        // here from now on (`default`) and whatever an interface says (`all`).
        run_ok(netns.exec("sysctl").args([
            "-qw",
            "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0",
        ]));
        netns
    }

    /// `ip -n NAME ARGS…`, which must succeed; returns stdout.
    pub fn ip(&self, args: &[&str]) -> String {
        run_ok(Command::new("ip").args(["-n", &self.name]).args(args))
    }

    /// A command that runs `program` inside the namespace (`ip netns exec`).
    pub fn exec(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.name]).arg(program);
        command
    }

    /// The ids of the processes running in the namespace (`ip netns pids`).
    pub fn pids(&self) -> Vec<String> {
        run_ok(Command::new("ip").args(["netns", "pids", &self.name]))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    /// A namespace (see [`Netns::new`]) with a veth, both ends up, named after
    /// each of `interfaces`: where a host's artifacts load as on the host.
    pub fn with_veths(test: &str, interfaces: &[String]) -> Self {
        let netns = Netns::new(test);
        for name in interfaces {
            assert!(
                name.len() <= 14,
                "{name}: the veth peer is named {name}p, which must fit 15 bytes"
            );
            netns.veth(name);
        }
        netns
    }

    /// A veth pair with both ends inside the namespace, `name` up; the peer is
    /// `name` with a `p` appended (so `name` must be at most 14 bytes).
    pub fn veth(&self, name: &str) {
        let peer = format!("{name}p");
        self.ip(&["link", "add", name, "type", "veth", "peer", "name", &peer]);
        self.ip(&["link", "set", name, "up"]);
        self.ip(&["link", "set", &peer, "up"]);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let deleted = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        if !matches!(deleted, Ok(status) if status.success()) {
            eprintln!("warning: could not delete network namespace {}", self.name);
        }
    }
}

/// The valid examples, `examples/*.toml` (not `examples/invalid/`), relative to the
/// repository root and sorted; a new example is picked up without editing a test.
pub fn valid_examples() -> Vec<PathBuf> {
    toml_files_in("examples")
}

/// The `*.toml` files in `dir` (relative to the repository root, and so are the
/// paths returned), sorted; never none.
pub fn toml_files_in(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_path(dir))
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "toml"))
        .map(|path| Path::new(dir).join(path.file_name().expect("file name")))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no {dir}/*.toml");
    files
}

/// The plan of every host of a valid topology.
pub fn plan(source: &switchyard::diagnostic::Source) -> switchyard::plan::Plan {
    switchyard::validate(source)
        .unwrap_or_else(|_| panic!("{} is valid", source.name))
        .into_parts()
        .1
}

/// Fails with a diff unless the checked-in file `relative` is exactly `generated`;
/// `regenerate` is the command that rewrites it.
pub fn assert_checked_in(relative: &str, generated: &str, regenerate: &str) {
    let path = repo_path(relative);
    let on_disk = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; run `{regenerate}`", path.display()));
    if on_disk != generated {
        let diff = similar::TextDiff::from_lines(&on_disk, generated)
            .unified_diff()
            .context_radius(2)
            .header(relative, "generated")
            .to_string();
        panic!("{relative} is out of date; run `{regenerate}`\n\n{diff}");
    }
}

/// `examples/two-isps.toml` → `two-isps`.
pub fn stem(path: &Path) -> &str {
    path.file_stem()
        .and_then(|s| s.to_str())
        .expect("UTF-8 file name")
}

/// A topology read under its path relative to the root (artifact headers name
/// the source, so output is the same on every machine).
pub fn example_source(relative: &Path) -> switchyard::diagnostic::Source {
    let text = std::fs::read_to_string(root().join(relative))
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", relative.display()));
    switchyard::diagnostic::Source::new(relative.to_str().expect("UTF-8 path"), text)
}

/// validate → plan → render in-process with the built-in templates; panics with
/// the diagnostics when the topology is invalid.
pub fn build_source(source: &switchyard::diagnostic::Source) -> switchyard::Build {
    build_with(source, renderer())
}

/// [`build_source`] with each host's `egress_by_vm{,6}` split into `shards`
/// maps, as on a large host (a test-only layout of the renderer).
pub fn build_sharded(source: &switchyard::diagnostic::Source, shards: usize) -> switchyard::Build {
    build_with(source, renderer().with_egress_shards(shards))
}

fn renderer() -> switchyard::render::Renderer {
    switchyard::render::Renderer::new(Default::default()).expect("the built-in templates compile")
}

fn build_with(
    source: &switchyard::diagnostic::Source,
    renderer: switchyard::render::Renderer,
) -> switchyard::Build {
    match switchyard::build(source, None, &renderer) {
        Ok(build) => build,
        Err(switchyard::BuildError::Invalid(diagnostics)) => panic!(
            "{} is invalid:\n{}",
            source.name,
            switchyard::diagnostic::render_human(source, &diagnostics, 100)
        ),
        Err(error) => panic!("{}: {error}", source.name),
    }
}

/// A build's artifacts as (path, content), manifest.json left out, with the
/// topology's SHA-256 in their headers masked. The hash names the exact bytes
/// built from, so rewriting the topology without changing its meaning (other
/// order, new descriptions) changes the hash and must change nothing else.
pub fn artifacts_without_source_hash(build: &switchyard::Build) -> Vec<(String, String)> {
    let manifest: switchyard::render::Manifest =
        serde_json::from_str(build.manifest()).expect("the manifest is JSON");
    build
        .artifacts
        .iter()
        .map(|a| {
            let masked = a
                .content
                .replacen(&manifest.source_sha256, "SOURCE-SHA256", 1);
            (a.path.clone(), masked)
        })
        .collect()
}

/// The defaults chain `chain` of a rendered script's typed model gives, as
/// the kernel runs it: its rules `saddr @SET goto CHAIN` to a pool's or
/// failover list's chain, in order, and their sets' addresses of family `F`.
/// VM address → CHAIN of the first such rule whose set has the address.
pub fn defaults_in<F: switchyard::nft_table::NftFamily>(
    table: &switchyard::nft_table::Table,
    chain: &str,
) -> std::collections::BTreeMap<F::Addr, String> {
    let prefix = format!("{} saddr @", F::KEYWORD);
    let rules = table.chains.get(chain).map_or(&[][..], |c| &c.rules);
    let mut defaults = std::collections::BTreeMap::new();
    for rule in rules {
        let Some((set, target)) = (rule.text.strip_prefix(&prefix))
            .and_then(|rest| rest.split_once(" goto "))
            .filter(|(_, target)| {
                target.starts_with("via_pool_") || target.starts_with("failover_")
            })
        else {
            continue;
        };
        for element in table.elements(set) {
            let address = (element.key.one())
                .and_then(|value| value.as_address::<F>())
                .unwrap_or_else(|| panic!("{element} in {set} is no {} address", F::NAME));
            defaults.entry(address).or_insert_with(|| target.to_owned());
        }
    }
    defaults
}

/// Where `table` looks up own-egress VM `vm`'s ranges of family `F`: chain
/// `classify_own_egress` (with the family's suffix), or on a host whose
/// `egress_by_vm` is split into shards the chain its dispatch rule (`saddr &
/// MASK vmap { BITS : goto CHAIN, … }`) picks for the VM's address; and that
/// chain's map (its rule `saddr . daddr vmap @MAP`).
pub fn own_egress_chain<F: switchyard::nft_table::NftFamily>(
    table: &switchyard::nft_table::Table,
    vm: F::Addr,
) -> (String, String) {
    let rules = |chain: &str| {
        let chain = (table.chains.get(chain)).unwrap_or_else(|| panic!("no chain {chain}"));
        chain
            .rules
            .iter()
            .map(|rule| rule.text.clone())
            .collect::<Vec<_>>()
    };
    let bits = |address: std::net::IpAddr| match address {
        std::net::IpAddr::V4(address) => u128::from(u32::from(address)),
        std::net::IpAddr::V6(address) => u128::from(address),
    };
    let parse = |text: &str| -> F::Addr {
        (text.parse().ok()).unwrap_or_else(|| panic!("{text} is no {} address", F::NAME))
    };
    let mut chain = format!("classify_own_egress{}", F::SUFFIX);
    let dispatch = format!("{} saddr & ", F::KEYWORD);
    let first = rules(&chain).into_iter().next().unwrap_or_default();
    if let Some(rest) = first.strip_prefix(&dispatch) {
        let (mask, shards) = rest.split_once(" vmap { ").expect("a dispatch map");
        let masked = bits(vm.into()) & bits(parse(mask).into());
        chain = (shards.trim_end_matches(" }").split(", "))
            .find_map(|element| {
                let (value, target) = element.split_once(" : goto ").expect("a goto element");
                (bits(parse(value).into()) == masked).then(|| target.to_owned())
            })
            .unwrap_or_else(|| panic!("no shard of {vm} in {first}"));
    }
    let lookup = format!("{0} saddr . {0} daddr vmap @", F::KEYWORD);
    let map = (rules(&chain).iter())
        .find_map(|rule| rule.strip_prefix(&lookup).map(str::to_owned))
        .unwrap_or_else(|| panic!("chain {chain} looks up no map"));
    (chain, map)
}

/// Fails (never skips) unless the tests run as root: network-namespace tests
/// need it, and CI runs them as root.
pub fn require_root() {
    let uid = run_ok(Command::new("id").arg("-u"));
    assert_eq!(
        uid.trim(),
        "0",
        "this test loads artifacts into network namespaces and must run as root \
         (CI: `sudo bash .ci/run`; locally: `sudo -E cargo test`)"
    );
}

/// Every file below `dir` by `/`-separated relative path, with its bytes.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read_dir") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).expect("below root");
                let name = relative.to_str().expect("UTF-8 path").replace('\\', "/");
                out.insert(name, std::fs::read(&path).expect("read file"));
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

impl Netns {
    /// `nft -c -f` on `script` inside the namespace: the kernel checks the whole
    /// transaction and nothing is committed. Panics with nft's message.
    pub fn nft_check(&self, script: &str) {
        let mut file = tempfile::NamedTempFile::new().expect("temporary file");
        std::io::Write::write_all(&mut file, script.as_bytes()).expect("write script");
        let output = self
            .exec("nft")
            .arg("-c")
            .arg("-f")
            .arg(file.path())
            .output()
            .expect("run nft");
        assert!(
            output.status.success(),
            "nft -c refused the script: {}\n--- script\n{script}",
            describe(&output)
        );
    }
}

impl Netns {
    /// `nft -j list table inet switchyard` in the namespace, made comparable: the
    /// kernel's handles dropped and every set's elements sorted (a table built by
    /// an update lists them in another order than a fresh load), pretty-printed
    /// so that a difference reads as one.
    pub fn nft_table_sorted(&self) -> String {
        fn normalise(value: &mut serde_json::Value) {
            match value {
                serde_json::Value::Object(object) => {
                    object.remove("handle");
                    object.values_mut().for_each(normalise);
                    if let Some(serde_json::Value::Array(elements)) = object.get_mut("elem") {
                        elements.sort_by_cached_key(|element| element.to_string());
                    }
                }
                serde_json::Value::Array(items) => items.iter_mut().for_each(normalise),
                _ => {}
            }
        }
        let listing = run_ok(
            self.exec("nft")
                .args(["-j", "list", "table", "inet", "switchyard"]),
        );
        let mut table: serde_json::Value =
            serde_json::from_str(&listing).expect("nft -j prints JSON");
        normalise(&mut table);
        serde_json::to_string_pretty(&table).expect("JSON serializes")
    }

    /// Sets the kernel settings of a host's `sysctl.d/90-switchyard.conf` in
    /// the namespace, as systemd-sysctl does on the host (`switchyard verify`
    /// compares them).
    pub fn load_sysctls(&self, host_dir: &Path) {
        run_ok(
            self.exec("sysctl")
                .arg("-qp")
                .arg(host_dir.join("sysctl.d/90-switchyard.conf")),
        );
    }

    /// `nft -f` of `script` (text) inside the namespace: its output.
    pub fn nft_load(&self, script: &str) -> Output {
        let mut file = tempfile::NamedTempFile::new().expect("temporary file");
        std::io::Write::write_all(&mut file, script.as_bytes()).expect("write script");
        self.exec("nft")
            .arg("-f")
            .arg(file.path())
            .output()
            .expect("run nft")
    }
}

/// What `switchyard changes` finds from `old` to `new`, in-process; panics when
/// either is invalid.
pub fn changes(
    old: &switchyard::diagnostic::Source,
    new: &switchyard::diagnostic::Source,
) -> switchyard::changes::Changes {
    use switchyard::changes::Side;
    let validate = |source: &switchyard::diagnostic::Source| {
        switchyard::validate(source).unwrap_or_else(|_| panic!("{} is invalid", source.name))
    };
    let (old_validated, new_validated) = (validate(old), validate(new));
    switchyard::changes::changes(
        Side {
            source: old,
            validated: &old_validated,
        },
        Side {
            source: new,
            validated: &new_validated,
        },
        None,
    )
    .expect("no --host")
}

/// A trace's answer as JSON, without what `changes` reports elsewhere or not
/// at all: the deciding entry (reported, never compared: an entry repeating
/// its project's or overridden by the VM's own changes nothing), and the
/// uplink's interface, table and mark (the host's uplink settings, and pool
/// numbers the dataplane alone sees); `null` for no answer (an inbound address
/// in no pool, a VM without an address of `to`'s family). What tests/changes.rs
/// and tests/properties.rs compare `changes` with.
pub fn trace_answer(
    tracer: &switchyard::trace::Tracer,
    from: &str,
    to: std::net::IpAddr,
) -> serde_json::Value {
    let Ok(trace) = tracer.trace(from, to, &[]) else {
        return serde_json::Value::Null;
    };
    let mut json: serde_json::Value = serde_json::from_str(&trace.to_json()).expect("JSON");
    for key in ["decided_by", "interface", "table", "mark"] {
        json.as_object_mut().expect("an object").remove(key);
    }
    json
}
