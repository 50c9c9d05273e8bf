//! The command line. This file, `output_dir.rs` (how `build` replaces its output
//! directory), `kernel.rs` (the programs `verify` and `apply` run),
//! `apply_run.rs` (apply's steps, restore and `--try`) and `monitor_loop.rs`
//! (the failover daemon's sockets and commands) are the only ones that touch the
//! file system, the network, other programs or the terminal; everything they call
//! in the library is pure.

mod apply_run;
mod kernel;
mod man_pages;

mod monitor_loop;
mod output_dir;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::collections::BTreeMap;

use switchyard::BuildError;
use switchyard::diagnostic::{self, Code, Diagnostic, Source};
use switchyard::render::Renderer;
use switchyard::trace::Tracer;

/// Compile a multi-uplink NAT topology into per-host nftables, ip-batch and
/// systemd-networkd artifacts.
#[derive(Parser)]
#[command(name = "switchyard", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate a topology and report every problem.
    Check {
        /// The topology file, or `-` for standard input.
        topology: PathBuf,
        /// `human` on stderr; `json` (schema/check-output.schema.json) or
        /// `github` (GitHub Actions annotations) on stdout.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Treat warnings as errors (exit 1).
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Render every host's artifacts into DIR (replaced atomically).
    Build {
        /// The topology file, or `-` for standard input.
        topology: PathBuf,
        /// Output directory: absent, empty or an earlier build, which is replaced.
        /// Anything else (a file that is not the earlier build's, a symbolic
        /// link) is refused and left untouched.
        #[arg(short, long)]
        output: PathBuf,
        /// Directory of templates overriding the built-in ones, file by file
        /// (e.g. DIR/switchyard.nft, DIR/networkd/interface.network).
        #[arg(long)]
        templates: Option<PathBuf>,
        /// Render only this host.
        #[arg(long)]
        host: Option<String>,
        /// An earlier build (a directory with manifest.json): also write
        /// HOST/switchyard.update.nft for every host in both, one nft transaction
        /// that turns the earlier build's table into this one's, changing only the
        /// elements that differ, and that fails and changes nothing over any other
        /// table. OLD may be the output directory itself.
        #[arg(long, value_name = "OLD")]
        since: Option<PathBuf>,
    },
    /// Show a unified diff of DIR against a fresh build; exit 1 when they differ.
    Diff {
        /// The topology file, or `-` for standard input.
        topology: PathBuf,
        dir: PathBuf,
        #[arg(long)]
        templates: Option<PathBuf>,
        #[arg(long)]
        host: Option<String>,
    },
    /// Say what the dataplane does with one packet: outbound from a VM (its name or
    /// private address), or inbound from an outside address to a public address.
    Trace {
        /// The topology file, or `-` for standard input.
        topology: PathBuf,
        /// A VM name, a VM's private address, or an outside address.
        #[arg(long)]
        from: String,
        /// The destination address.
        #[arg(long)]
        to: std::net::Ipv4Addr,
        /// Answer as if this uplink were down (repeatable; needs [failover]).
        #[arg(long, value_name = "UPLINK")]
        down: Vec<String>,
        /// `json` prints schema/trace-output.schema.json's object (and an invalid
        /// topology's diagnostics as `check --format json` does).
        #[arg(long, value_enum, default_value_t = TraceFormat::Human)]
        format: TraceFormat,
    },
    /// Print the topology as a Graphviz DOT graph (render it with `dot -Tsvg`).
    ///
    /// Hosts, uplinks, pools, projects and VMs, with attachments, ACLs, public
    /// addresses and egress preferences as labelled edges.
    Graph {
        /// The topology file, or `-` for standard input.
        topology: PathBuf,
        /// Show only this host and what it touches.
        #[arg(long)]
        host: Option<String>,
    },
    /// Compare this network namespace's live state with a host's build; exit 1
    /// and list the differences when they drifted apart.
    ///
    /// Compares table inet switchyard (chains and their rules, sets and maps with
    /// every element, but not the monitor's down_uplinks elements), the ip rules
    /// and routes tagged with switchyard's protocol or in its uplink tables, the
    /// uplink addresses, the MAC-bound VMs' permanent neighbour entries (tagged
    /// with that protocol) and the settings of sysctl.d/90-switchyard.conf, and
    /// names what undermines them from outside: policy rules of other owners
    /// ahead of switchyard's, and base chains of other nft tables that can drop
    /// before switchyard's on the same hook. Exit 0 in sync, 1 drift, 2 error.
    /// Needs root: the build's artifacts are loaded into a scratch network
    /// namespace to list what they should give.
    Verify {
        /// A build directory (with manifest.json).
        dir: PathBuf,
        /// The host to compare with; needed when the build has several.
        #[arg(long)]
        host: Option<String>,
    },
    /// Make this network namespace's live state that of a host's build, or
    /// change nothing.
    ///
    /// The one loading step of the boot units and configuration management.
    /// Loads table inet switchyard (the build's switchyard.update.nft when the
    /// live table is the one it applies over, else switchyard.nft; one nft
    /// transaction either way, keeping the uplinks the monitor found down), makes
    /// the rules and routes with switchyard's protocol or in its uplink tables,
    /// the uplink addresses and the MAC-bound VMs' neighbour entries those of the
    /// build (adding and deleting only what differs), writes the settings of sysctl.d/90-switchyard.conf, then
    /// verifies. Exit 0: applied, or "unchanged" when nothing differed (the
    /// table is not touched); 1: a step failed, it is named, and everything was
    /// restored as it was before the call; 2: usage or I/O error, or the restore
    /// failed too. Needs root.
    ///
    /// E.g. `switchyard apply /etc/switchyard/build --try 60`, then from a new SSH
    /// session `switchyard apply --confirm`.
    Apply {
        /// A build directory (with manifest.json), or the host's installed copy.
        #[arg(required_unless_present_any = ["confirm", "revert_pending"])]
        dir: Option<PathBuf>,
        /// The host to apply; needed when the build has several.
        #[arg(long)]
        host: Option<String>,
        /// Restore the state from before this apply after SECONDS unless
        /// `switchyard apply --confirm` runs meanwhile (the pending trial is kept
        /// in /run/switchyard; a new apply is refused until it ends).
        #[arg(long = "try", value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86400))]
        try_seconds: Option<u64>,
        /// Apply only table inet switchyard, not routing, addresses, neighbour
        /// entries or settings:
        /// what switchyard-nftables.service does at boot, before the uplinks
        /// exist.
        #[arg(long)]
        table_only: bool,
        /// Keep what the pending `--try` applied.
        #[arg(long, conflicts_with_all = ["dir", "host", "try_seconds", "table_only"])]
        confirm: bool,
        /// The process `--try` starts: waits for trial ID's deadline.
        #[arg(long, value_name = "ID", hide = true, conflicts_with_all = ["dir", "host", "try_seconds", "confirm"])]
        revert_pending: Option<String>,
    },
    /// Say what NEW makes the dataplane do differently from OLD, decision by
    /// decision; exit 0 when nothing changes, 1 when something does, 2 on
    /// errors (an invalid topology: its diagnostics).
    ///
    /// Per host: settings, VMs added or removed, private addresses and MAC
    /// bindings, each VM's destination ranges whose outcome changes (old → new,
    /// with the entry that now decides), and inbound addresses whose VM
    /// changes. Read from the two plans: a reordered or re-commented file
    /// changes nothing.
    Changes {
        /// The topology before (`-`: standard input).
        old: PathBuf,
        /// The topology after (`-`: standard input).
        new: PathBuf,
        /// Only this host.
        #[arg(long)]
        host: Option<String>,
        /// `human`; `markdown` (a summary line, then a table per host, for a pull
        /// request); `json` (schema/changes-output.schema.json).
        #[arg(long, value_enum, default_value_t = ChangesFormat::Human)]
        format: ChangesFormat,
    },
    /// Print a shell completion script.
    ///
    /// E.g. `switchyard completions bash > /etc/bash_completion.d/switchyard`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write every page into a directory.
    ///
    /// E.g. `switchyard man | man -l -`, or
    /// `switchyard man --output-dir /usr/local/share/man/man1`.
    Man {
        /// Write switchyard.1 and one page per subcommand (switchyard-build.1, …)
        /// into DIR instead of printing switchyard.1.
        #[arg(long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
    },
    /// Watch the uplinks' health and fail over (runs until SIGTERM).
    ///
    /// CONFIG is a host's monitor.json from `build` (with [failover]). Probes
    /// every uplink through itself, keeps set `down_uplinks` of table inet
    /// switchyard in line with what it measures, deletes the connections that
    /// may move off a dead uplink (by conntrack mark, over netlink) and logs
    /// every transition to stderr. Needs CAP_NET_RAW, CAP_NET_ADMIN and nft.
    /// A monitor.json it cannot use stops it at start (exit 2, naming the key).
    Monitor { config: PathBuf },
    /// Print the JSON schema of the topology file, or of another file or output
    /// switchyard writes.
    #[command(group(clap::ArgGroup::new("of").multiple(false)))]
    Schema {
        /// The schema of a build's manifest.json (schema/manifest.schema.json).
        #[arg(long, group = "of")]
        manifest: bool,
        /// The schema of `check --format json` (schema/check-output.schema.json).
        #[arg(long, group = "of")]
        check_output: bool,
        /// The schema of `trace --format json` (schema/trace-output.schema.json).
        #[arg(long, group = "of")]
        trace_output: bool,
        /// The schema of `changes --format json` (schema/changes-output.schema.json).
        #[arg(long, group = "of")]
        changes_output: bool,
    },
    /// Explain a diagnostic code: what it means, why it matters, how to fix it.
    ///
    /// E.g. `switchyard explain SY0101`.
    Explain {
        /// A code such as SY0101.
        code: String,
    },
}

/// How diagnostics are printed.
#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Human,
    Json,
    /// GitHub Actions workflow commands (`::error file=…,line=…::message`).
    Github,
}

#[derive(Clone, Copy, ValueEnum)]
enum ChangesFormat {
    Human,
    Json,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum TraceFormat {
    Human,
    Json,
}

/// Exit codes (docs/semantics.md §7).
const EXIT_INVALID: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            topology,
            format,
            deny_warnings,
        } => run(|| check(&topology, format, deny_warnings)),
        Command::Build {
            topology,
            output,
            templates,
            host,
            since,
        } => run(|| {
            build(
                &topology,
                &output,
                templates.as_deref(),
                host.as_deref(),
                since.as_deref(),
            )
        }),
        Command::Diff {
            topology,
            dir,
            templates,
            host,
        } => run(|| diff(&topology, &dir, templates.as_deref(), host.as_deref())),
        Command::Trace {
            topology,
            from,
            to,
            down,
            format,
        } => run(|| trace(&topology, &from, to, &down, format)),
        Command::Changes {
            old,
            new,
            host,
            format,
        } => run(|| changes(&old, &new, host.as_deref(), format)),
        Command::Monitor { config } => run(|| monitor(&config)),
        Command::Graph { topology, host } => run(|| graph(&topology, host.as_deref())),
        Command::Verify { dir, host } => run(|| verify(&dir, host.as_deref())),
        Command::Apply {
            dir,
            host,
            try_seconds,
            table_only,
            confirm,
            revert_pending,
        } => run(|| match (dir, revert_pending) {
            _ if confirm => apply_run::confirm(),
            (_, Some(id)) => apply_run::wait_and_revert(&id),
            (Some(dir), None) => apply_run::apply(&dir, host.as_deref(), try_seconds, table_only),
            (None, None) => Err(Failure::Usage("apply needs a build directory".to_owned())),
        }),
        Command::Completions { shell } => run(|| {
            // clap_complete panics when its writer fails: generate into memory.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "switchyard", &mut script);
            print_stdout(script)?;
            Ok(ExitCode::SUCCESS)
        }),
        Command::Man { output_dir } => run(|| {
            match output_dir {
                Some(dir) => {
                    for (file, page) in man_pages::pages(Cli::command()) {
                        std::fs::write(dir.join(file), page)?;
                    }
                }
                None => print_stdout(man_pages::main_page(Cli::command()))?,
            }
            Ok(ExitCode::SUCCESS)
        }),
        Command::Schema {
            manifest,
            check_output,
            trace_output,
            changes_output,
        } => run(|| {
            use switchyard::schema;
            print_stdout(
                match (manifest, check_output, trace_output, changes_output) {
                    (true, ..) => schema::manifest_schema(),
                    (_, true, ..) => schema::check_output_schema(),
                    (_, _, true, _) => schema::trace_output_schema(),
                    (.., true) => schema::changes_output_schema(),
                    _ => schema::topology_schema(),
                },
            )?;
            Ok(ExitCode::SUCCESS)
        }),
        Command::Explain { code } => run(|| explain(&code)),
    }
}

fn explain(name: &str) -> Result<ExitCode, Failure> {
    let Some(code) = Code::parse(name) else {
        let known = Code::ALL.iter().map(|code| code.as_str());
        let suggestion = diagnostic::closest(&name.to_ascii_uppercase(), known)
            .map(|close| format!(" (did you mean `{close}`?)"))
            .unwrap_or_default();
        return Err(Failure::Usage(format!(
            "no diagnostic code `{name}`{suggestion}; docs/topology.md lists every code"
        )));
    };
    // tests/explain.rs keeps a description for every code.
    let description = diagnostic::explanation(code).unwrap_or_default();
    print_stdout(format!(
        "{code} ({}): {}\n\n{description}",
        code.severity(),
        code.title()
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn check(path: &Path, format: Format, deny_warnings: bool) -> Result<ExitCode, Failure> {
    let source = read_topology(path, format)?;
    let (diagnostics, failed) = match switchyard::validate(&source) {
        Ok(validated) => {
            let failed = deny_warnings && !validated.warnings().is_empty();
            (validated.warnings().to_vec(), failed)
        }
        Err(diagnostics) => (diagnostics, true),
    };
    report(&source, &diagnostics, format)?;
    Ok(if failed {
        ExitCode::from(EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes to standard output. Every command prints its result through here, so
/// a closed or full standard output ends it with exit 2 instead of `print!`'s
/// panic. A closed pipe means the reader is gone (`| head`): nobody is left to
/// read a message, so it ends quietly; other errors (a full disk) are reported.
fn print_stdout(bytes: impl AsRef<[u8]>) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes.as_ref())
        .and_then(|()| stdout.flush())
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::BrokenPipe => Failure::Reported(ExitCode::from(EXIT_USAGE)),
            _ => Failure::Usage(format!("cannot write to standard output: {error}")),
        })
}

/// A command's failure: already reported (invalid topology) or needing no
/// message (a closed standard output), or an I/O or usage error still to print.
enum Failure {
    Reported(ExitCode),
    Usage(String),
}

impl From<std::io::Error> for Failure {
    fn from(error: std::io::Error) -> Self {
        Failure::Usage(error.to_string())
    }
}

fn run(command: impl FnOnce() -> Result<ExitCode, Failure>) -> ExitCode {
    match command() {
        Ok(code) | Err(Failure::Reported(code)) => code,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Reads, validates, plans and renders; reports diagnostics on the way.
fn compile(
    path: &Path,
    templates: Option<&Path>,
    host: Option<&str>,
) -> Result<switchyard::Build, Failure> {
    let source = read_topology(path, Format::Human)?;
    let overrides = match templates {
        Some(dir) => read_templates(dir)?,
        None => BTreeMap::new(),
    };
    let renderer = Renderer::new(overrides).map_err(|e| Failure::Usage(e.to_string()))?;
    let build = switchyard::build(&source, host, &renderer).map_err(|e| failure(&source, e))?;
    report(&source, &build.warnings, Format::Human)?;
    Ok(build)
}

/// An invalid topology's diagnostics are reported (exit 1); anything else is a
/// usage error (exit 2).
fn failure(source: &Source, error: BuildError) -> Failure {
    match error {
        BuildError::Invalid(diagnostics) => match report(source, &diagnostics, Format::Human) {
            Ok(()) => Failure::Reported(ExitCode::from(EXIT_INVALID)),
            Err(failure) => failure,
        },
        error => Failure::Usage(error.to_string()),
    }
}

fn monitor(path: &Path) -> Result<ExitCode, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    let config = switchyard::monitor::Config::from_json(&text).map_err(|e| {
        Failure::Usage(format!(
            "{} is not a usable switchyard monitor.json: {e}",
            path.display()
        ))
    })?;
    monitor_loop::run(config).map_err(Failure::Usage)?;
    Ok(ExitCode::SUCCESS)
}

fn graph(path: &Path, host: Option<&str>) -> Result<ExitCode, Failure> {
    let source = read_topology(path, Format::Human)?;
    let (dot, warnings) = switchyard::graph_dot(&source, host).map_err(|e| failure(&source, e))?;
    report(&source, &warnings, Format::Human)?;
    print_stdout(dot)?;
    Ok(ExitCode::SUCCESS)
}

/// Every file below `dir`, by `/`-separated relative path.
fn read_tree(dir: &Path) -> std::io::Result<BTreeMap<String, String>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(root, &path, out)?;
            } else {
                let relative = path.strip_prefix(root).expect("below root");
                let name = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                let bytes = std::fs::read(&path)?;
                out.insert(name, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        Ok(())
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out)?;
    Ok(out)
}

fn read_templates(dir: &Path) -> Result<BTreeMap<String, String>, Failure> {
    read_tree(dir)
        .map_err(|e| Failure::Usage(format!("cannot read templates from {}: {e}", dir.display())))
}

fn build(
    path: &Path,
    output: &Path,
    templates: Option<&Path>,
    host: Option<&str>,
    since: Option<&Path>,
) -> Result<ExitCode, Failure> {
    let mut build = compile(path, templates, host)?;
    if let Some(earlier) = since {
        let scripts = read_earlier_scripts(earlier, &build)?;
        build
            .add_updates(&scripts)
            .map_err(|e| Failure::Usage(e.to_string()))?;
    }
    let topology = (!reads_stdin(path)).then_some(path);
    let earlier = output_dir::replace(output, &build.files(), topology)
        .map_err(|output_dir::NotWritten(message)| Failure::Usage(message))?;
    eprintln!("{}", build_summary(&build, &earlier, output));
    Ok(ExitCode::SUCCESS)
}

/// `built 3 hosts, 24 files (5 changed) into out/`: the files are those the
/// manifest lists, and changed means new or with another SHA-256 than the
/// earlier build's manifest gave; files the earlier build had and this one has
/// not are counted as removed.
fn build_summary(
    build: &switchyard::Build,
    earlier: &output_dir::EarlierHashes,
    output: &Path,
) -> String {
    let hosts: std::collections::BTreeSet<&str> =
        build.listed.iter().map(|file| file.host.as_str()).collect();
    let changed = build
        .listed
        .iter()
        .filter(|file| earlier.get(&file.path) != Some(&file.sha256))
        .count();
    let kept: std::collections::BTreeSet<&str> =
        build.listed.iter().map(|file| file.path.as_str()).collect();
    let removed = earlier
        .keys()
        .filter(|path| !kept.contains(path.as_str()))
        .count();
    let removed = if removed > 0 {
        format!(", {removed} removed")
    } else {
        String::new()
    };
    format!(
        "built {}, {} ({changed} changed{removed}) into {}",
        diagnostic::count(hosts.len(), "host"),
        diagnostic::count(build.listed.len(), "file"),
        output.display()
    )
}

/// The nft script of every host of `build` that the earlier build `dir` has, by
/// host; an error unless `dir` is a switchyard build whose files are as its
/// manifest says (an update made against an edited script would not fit the
/// table that script loaded).
fn read_earlier_scripts(
    dir: &Path,
    build: &switchyard::Build,
) -> Result<BTreeMap<String, String>, Failure> {
    let manifest = read_manifest(dir)?;
    let mut scripts = BTreeMap::new();
    for new in &build.artifacts {
        let path = format!("{}/{}", new.host, switchyard::render::NFT_SCRIPT);
        if new.path != path {
            continue;
        }
        if let Some(file) = manifest.files.iter().find(|f| f.path == path) {
            let (_, script) = read_listed(dir, file)?;
            scripts.insert(new.host.clone(), script);
        }
    }
    Ok(scripts)
}

/// `dir`'s manifest.json, or an error when `dir` is not a switchyard build.
fn read_manifest(dir: &Path) -> Result<switchyard::render::Manifest, Failure> {
    let manifest_path = dir.join(switchyard::render::MANIFEST);
    let manifest = std::fs::read(&manifest_path).map_err(|e| {
        Failure::Usage(format!(
            "{} is not a switchyard build: cannot read {}: {e}",
            dir.display(),
            manifest_path.display()
        ))
    })?;
    switchyard::render::Manifest::from_json(&manifest).map_err(|e| {
        Failure::Usage(format!(
            "{} is not a switchyard manifest: {e}",
            manifest_path.display()
        ))
    })
}

/// A file of the build in `dir`, refused unless its SHA-256 is the manifest's:
/// its path and text.
fn read_listed(
    dir: &Path,
    file: &switchyard::render::ManifestFile,
) -> Result<(PathBuf, String), Failure> {
    let path = dir.join(&file.path);
    let bytes = std::fs::read(&path)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    switchyard::verify::check_digest(file, &bytes).map_err(|e| Failure::Usage(e.to_string()))?;
    Ok((path, String::from_utf8_lossy(&bytes).into_owned()))
}

fn diff(
    path: &Path,
    dir: &Path,
    templates: Option<&Path>,
    host: Option<&str>,
) -> Result<ExitCode, Failure> {
    let build = compile(path, templates, host)?;
    let mut existing = read_tree(dir)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", dir.display())))?;
    leave_out_updates(&mut existing);
    let fresh: BTreeMap<&str, &str> = build.files().into_iter().collect();
    let mut paths: Vec<&str> = fresh
        .keys()
        .copied()
        .chain(existing.keys().map(String::as_str))
        .collect();
    paths.sort();
    paths.dedup();
    let mut differs = false;
    for relative in paths {
        let old = existing.get(relative).map_or("", String::as_str);
        let new = fresh.get(relative).copied().unwrap_or("");
        if old != new || existing.contains_key(relative) != fresh.contains_key(relative) {
            differs = true;
            let old_name = format!("{}/{relative}", dir.display());
            let new_name = format!("build/{relative}");
            print_stdout(
                similar::TextDiff::from_lines(old, new)
                    .unified_diff()
                    .header(&old_name, &new_name)
                    .to_string(),
            )?;
        }
    }
    Ok(if differs {
        ExitCode::from(EXIT_INVALID)
    } else {
        ExitCode::SUCCESS
    })
}

/// A build made with `--since` has update files (and manifest entries for
/// them) that a fresh build has not: `diff` compares the rest, so an unchanged
/// topology is no difference. Only what a readable manifest lists as an update
/// is left out; anything else in DIR is compared as it is.
fn leave_out_updates(tree: &mut BTreeMap<String, String>) {
    use switchyard::render::{MANIFEST, Manifest};
    let Some(text) = tree.get(MANIFEST) else {
        return;
    };
    let Ok(manifest) = Manifest::from_json(text.as_bytes()) else {
        return;
    };
    let (manifest, updates) = manifest.without_updates();
    if updates.is_empty() {
        return;
    }
    for path in updates {
        tree.remove(&path);
    }
    tree.insert(MANIFEST.to_owned(), manifest.to_json());
}

fn trace(
    path: &Path,
    from: &str,
    to: std::net::Ipv4Addr,
    down: &[String],
    format: TraceFormat,
) -> Result<ExitCode, Failure> {
    let format_of_diagnostics = match format {
        TraceFormat::Human => Format::Human,
        TraceFormat::Json => Format::Json,
    };
    let source = read_topology(path, format_of_diagnostics)?;
    let tracer = match Tracer::new(&source) {
        Ok(tracer) => tracer,
        Err(diagnostics) => {
            report(&source, &diagnostics, format_of_diagnostics)?;
            return Err(Failure::Reported(ExitCode::from(EXIT_INVALID)));
        }
    };
    report(&source, &tracer.warnings, Format::Human)?;
    let trace = tracer
        .trace(from, to, down)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    print_stdout(match format {
        TraceFormat::Human => trace.to_human(),
        TraceFormat::Json => trace.to_json(),
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Both topologies are read and validated (each one's diagnostics located in
/// its own file) before anything is compared; either invalid is exit 2.
fn changes(
    old_path: &Path,
    new_path: &Path,
    host: Option<&str>,
    format: ChangesFormat,
) -> Result<ExitCode, Failure> {
    use switchyard::changes::{self, Side};
    if reads_stdin(old_path) && reads_stdin(new_path) {
        return Err(Failure::Usage(
            "OLD and NEW cannot both be standard input".to_owned(),
        ));
    }
    let invalid = |failure| match failure {
        Failure::Reported(_) => Failure::Reported(ExitCode::from(EXIT_USAGE)),
        usage => usage,
    };
    let validate = |path: &Path| -> Result<_, Failure> {
        let source = read_topology(path, Format::Human).map_err(invalid)?;
        match switchyard::validate(&source) {
            // Warnings are `check`'s to report: a review shows what changes.
            Ok(validated) => Ok((source, validated)),
            Err(diagnostics) => {
                report(&source, &diagnostics, Format::Human)?;
                Err(Failure::Reported(ExitCode::from(EXIT_USAGE)))
            }
        }
    };
    // Both are validated even when the first is invalid, so one run shows
    // every problem of both.
    let (old, new) = (validate(old_path), validate(new_path));
    let ((old_source, old), (new_source, new)) = (old?, new?);
    let side = |source, validated| Side { source, validated };
    let found = changes::changes(side(&old_source, &old), side(&new_source, &new), host)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    print_stdout(match format {
        ChangesFormat::Human => found.to_human(),
        ChangesFormat::Markdown => found.to_markdown(),
        ChangesFormat::Json => found.to_json(&old_source.name, &new_source.name),
    })?;
    Ok(if found.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INVALID)
    })
}

/// A host's build as `verify` and `apply` read it: each file checked against
/// the manifest's SHA-256.
struct HostBuild {
    host: String,
    nft_script: PathBuf,
    nft_text: String,
    ip_batch: PathBuf,
    /// The interfaces the ip batch names.
    interfaces: Vec<String>,
    /// The settings of its sysctl file (none in a build from before it).
    settings: Vec<switchyard::verify::sysctl::Setting>,
    /// `switchyard.update.nft` and the build id it applies over.
    update: Option<(String, String)>,
}

fn read_host_build(dir: &Path, host: Option<&str>) -> Result<HostBuild, Failure> {
    use switchyard::verify::{self, HostArtifacts};
    let manifest = read_manifest(dir)?;
    let artifacts =
        HostArtifacts::select(&manifest, host).map_err(|e| Failure::Usage(e.to_string()))?;
    let (nft_script, nft_text) = read_listed(dir, artifacts.nft)?;
    let (ip_batch, batch) = read_listed(dir, artifacts.ip)?;
    let settings = match artifacts.sysctl {
        Some(file) => {
            let (_, text) = read_listed(dir, file)?;
            verify::sysctl::parse(&text, &file.path).map_err(|e| Failure::Usage(e.to_string()))?
        }
        None => Vec::new(),
    };
    let update = match artifacts.update {
        Some(file) => {
            let over = file.applies_over_build.clone();
            let (_, text) = read_listed(dir, file)?;
            over.map(|over| (text, over))
        }
        None => None,
    };
    Ok(HostBuild {
        host: artifacts.host.to_owned(),
        nft_script,
        nft_text,
        ip_batch,
        interfaces: verify::batch_interfaces(&batch),
        settings,
        update,
    })
}

/// The listings of what `build` gives (loaded into a scratch namespace, with
/// its settings) and of the live namespace.
fn list_states(
    build: &HostBuild,
) -> Result<(switchyard::verify::Listings, switchyard::verify::Listings), Failure> {
    // Listing a 100k-VM table takes seconds: the live state is read while the
    // scratch namespace loads and lists the build.
    let (live, expected) = std::thread::scope(|scope| {
        let live = scope.spawn(|| kernel::live(&build.settings));
        let expected = kernel::expected(&build.nft_script, &build.ip_batch, &build.interfaces);
        let live = live.join().expect("the listing thread does not panic");
        (live, expected)
    });
    let mut expected = expected.map_err(Failure::Usage)?;
    expected.sysctls = build
        .settings
        .iter()
        .map(|s| (s.key.clone(), Some(s.value.clone())))
        .collect();
    Ok((expected, live.map_err(Failure::Usage)?))
}

/// A listing parsed, or an error (exit 2). Listings are parsed one after the
/// other: parsing a 100k-VM listing takes hundreds of MB while it lasts.
fn parse_state(
    listings: &switchyard::verify::Listings,
) -> Result<switchyard::verify::KernelState, Failure> {
    switchyard::verify::KernelState::parse(listings).map_err(|e| Failure::Usage(e.to_string()))
}

fn verify(dir: &Path, host: Option<&str>) -> Result<ExitCode, Failure> {
    let build = read_host_build(dir, host)?;
    let (expected, live) = list_states(&build)?;
    let report = switchyard::verify::compare(&parse_state(&expected)?, &parse_state(&live)?);
    if report.is_empty() {
        print_stdout(format!("{}: in sync with {}\n", build.host, dir.display()))?;
        Ok(ExitCode::SUCCESS)
    } else {
        print_stdout(format!(
            "{report}{}: {} difference(s) between the live state and {}\n",
            build.host,
            report.len(),
            dir.display()
        ))?;
        Ok(ExitCode::from(EXIT_INVALID))
    }
}

/// Human diagnostics go to stderr; JSON and GitHub ones are the result, on stdout.
fn report(source: &Source, diagnostics: &[Diagnostic], format: Format) -> Result<(), Failure> {
    match format {
        Format::Human => {
            eprint!(
                "{}",
                diagnostic::render_human(source, diagnostics, terminal_width())
            );
            Ok(())
        }
        Format::Json => print_stdout(diagnostic::render_json(source, diagnostics)),
        Format::Github => print_stdout(diagnostic::render_github(source, diagnostics)),
    }
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}

/// `-` names standard input wherever a topology is expected.
fn reads_stdin(path: &Path) -> bool {
    path == Path::new("-")
}

/// Reads the topology (`-`: standard input, named `<stdin>` in diagnostics and
/// artifacts). A file that cannot be read is an I/O error (exit 2); an oversized
/// or non-UTF-8 one is reported like any other invalid topology (exit 1).
fn read_topology(path: &Path, format: Format) -> Result<Source, Failure> {
    let mut bytes = Vec::new();
    let limit = switchyard::MAX_INPUT_BYTES as u64 + 1;
    let (name, read) = if reads_stdin(path) {
        let read = std::io::stdin().lock().take(limit).read_to_end(&mut bytes);
        ("<stdin>".to_owned(), read)
    } else {
        let read =
            std::fs::File::open(path).and_then(|file| file.take(limit).read_to_end(&mut bytes));
        (path.display().to_string(), read)
    };
    if let Err(error) = read {
        return Err(Failure::Usage(format!("cannot read {name}: {error}")));
    }
    match Source::from_bytes(name, bytes) {
        Ok(source) => Ok(source),
        Err(failure) => {
            let (source, diagnostic) = *failure;
            report(&source, &[diagnostic], format)?;
            Err(Failure::Reported(ExitCode::from(EXIT_INVALID)))
        }
    }
}
