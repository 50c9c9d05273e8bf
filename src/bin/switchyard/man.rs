//! `switchyard man` and the man pages: clap_mangen's page of each command (name,
//! synopsis, description, options), followed by what clap cannot know: EXIT
//! STATUS, FILES, EXAMPLES and SEE ALSO, from the table below. Rendering is
//! pure; `run` writes the pages.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory as _;
use clap_mangen::roff::{Roff, bold, roman};

use crate::{Cli, Failure, print_stdout};

/// Print the man page (roff), or write every page into a directory.
///
/// E.g. `switchyard man | man -l -`, or
/// `switchyard man --output-dir /usr/local/share/man/man1`.
#[derive(clap::Args)]
pub struct Args {
    /// Write switchyard.1 and one page per subcommand (switchyard-build.1, …)
    /// into DIR instead of printing switchyard.1.
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
}

pub fn run(Args { output_dir }: Args) -> Result<ExitCode, Failure> {
    match output_dir {
        Some(dir) => {
            for (file, page) in pages(Cli::command()) {
                std::fs::write(dir.join(file), page)?;
            }
        }
        None => print_stdout(main_page(Cli::command()))?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The sections of one page that clap cannot derive.
struct Extra {
    /// The page: `switchyard` or a subcommand's name.
    command: &'static str,
    /// (exit code, when).
    exit_status: &'static [(&'static str, &'static str)],
    /// (path, what it is).
    files: &'static [(&'static str, &'static str)],
    /// (what it does, the command line).
    examples: &'static [(&'static str, &'static str)],
    /// Other pages, `name(section)`, besides switchyard(1).
    see_also: &'static [&'static str],
}

const USAGE_OR_IO: (&str, &str) = (
    "2",
    "Usage or I/O error: a bad argument, a file that cannot be read or written.",
);
const INVALID: (&str, &str) = (
    "1",
    "The topology is invalid: its diagnostics are on standard error.",
);
const TOPOLOGY: (&str, &str) = (
    "TOPOLOGY",
    "The topology file (TOML), or - for standard input. Its JSON schema is \
     /usr/share/doc/switchyard/schema/topology.schema.json.",
);
const MANIFEST: (&str, &str) = (
    "DIR/manifest.json",
    "Every file of a build with its host and SHA-256, and the topology's file name and SHA-256.",
);

const EXTRAS: &[Extra] = &[
    Extra {
        command: "switchyard",
        exit_status: &[
            (
                "0",
                "Success (for diff: no difference; for verify: in sync).",
            ),
            (
                "1",
                "The topology is invalid (for diff and verify: differences found).",
            ),
            USAGE_OR_IO,
        ],
        files: &[
            TOPOLOGY,
            (
                "/usr/share/switchyard/templates/",
                "The built-in templates, a starting point for build --templates.",
            ),
            (
                "/usr/share/doc/switchyard/",
                "README.md, docs/ (the topology reference, the operations runbook, \
                 deployment, the semantics), the examples (with an Ansible role and a Salt \
                 state) and the JSON schemas.",
            ),
        ],
        examples: &[
            (
                "Check a topology, then build every host's artifacts:",
                "switchyard check topology.toml && switchyard build topology.toml -o out",
            ),
            (
                "Ask which public address and uplink a packet leaves by:",
                "switchyard trace topology.toml --from web-1 --to 100.65.3.4",
            ),
        ],
        see_also: &[
            "switchyard-check(1)",
            "switchyard-build(1)",
            "switchyard-diff(1)",
            "switchyard-changes(1)",
            "switchyard-trace(1)",
            "switchyard-verify(1)",
            "switchyard-apply(1)",
            "switchyard-monitor(1)",
            "nft(8)",
            "ip(8)",
            "systemd-networkd(8)",
        ],
    },
    Extra {
        command: "check",
        exit_status: &[
            (
                "0",
                "The topology is valid (warnings are printed but allowed).",
            ),
            (
                "1",
                "The topology has an error, or a warning with --deny-warnings.",
            ),
            USAGE_OR_IO,
        ],
        files: &[TOPOLOGY],
        examples: &[
            (
                "Check a shipped example:",
                "switchyard check /usr/share/doc/switchyard/examples/two-isps.toml",
            ),
            (
                "Annotate a GitHub pull request, failing on warnings too:",
                "switchyard check topology.toml --format github --deny-warnings",
            ),
        ],
        see_also: &["switchyard-explain(1)", "switchyard-build(1)"],
    },
    Extra {
        command: "build",
        exit_status: &[
            ("0", "The artifacts were written."),
            ("1", "The topology is invalid: nothing was written."),
            (
                "2",
                "Usage or I/O error, or DIR holds files that are not an earlier build's \
                 (refused, nothing touched).",
            ),
        ],
        files: &[
            TOPOLOGY,
            MANIFEST,
            (
                "DIR/HOST/switchyard.nft",
                "The nftables script: table inet switchyard, replaced atomically by nft -f.",
            ),
            (
                "DIR/HOST/switchyard.ip",
                "The ip -batch file: routing-policy rules and routes of the uplink tables.",
            ),
            (
                "DIR/HOST/switchyard6.ip",
                "On a host that forwards IPv6: the same for IPv6, for ip -6 -batch.",
            ),
            (
                "DIR/HOST/networkd/",
                "The same routing as systemd-networkd units (deploy these or the ip batch, not both).",
            ),
            (
                "DIR/HOST/systemd/",
                "The units that load the nft script and the ip batch at boot, and the monitor's.",
            ),
            (
                "DIR/HOST/monitor.json",
                "The failover monitor's configuration (topologies with [failover]).",
            ),
            (
                "DIR/HOST/switchyard.update.nft",
                "With --since: the transaction from the earlier build's table to this one's.",
            ),
        ],
        examples: &[
            (
                "Build every host of a shipped example into out/:",
                "switchyard build /usr/share/doc/switchyard/examples/two-isps.toml -o out",
            ),
            (
                "Rebuild one host, with an update over the build it runs:",
                "switchyard build topology.toml -o out --host net1 --since out",
            ),
        ],
        see_also: &[
            "switchyard-diff(1)",
            "switchyard-verify(1)",
            "nft(8)",
            "ip(8)",
            "systemd.network(5)",
        ],
    },
    Extra {
        command: "diff",
        exit_status: &[
            ("0", "DIR is what the topology builds."),
            (
                "1",
                "DIR differs (the unified diff is on standard output), or the topology is invalid.",
            ),
            USAGE_OR_IO,
        ],
        files: &[TOPOLOGY, MANIFEST],
        examples: &[(
            "Fail a pipeline when the committed build is stale:",
            "switchyard diff topology.toml build/",
        )],
        see_also: &["switchyard-build(1)", "diff(1)"],
    },
    Extra {
        command: "changes",
        exit_status: &[
            (
                "0",
                "Nothing changes for the dataplane (a reordered or re-commented file included).",
            ),
            (
                "1",
                "Something changes: what, host by host, is on standard output.",
            ),
            (
                "2",
                "Either topology is invalid (its diagnostics, located in its own file), a file \
                 cannot be read, or an unknown --host.",
            ),
        ],
        files: &[
            (
                "OLD, NEW",
                "The two topology files (one of them may be - for standard input).",
            ),
            (
                "/usr/share/doc/switchyard/schema/changes-output.schema.json",
                "The JSON schema of --format json.",
            ),
        ],
        examples: &[
            (
                "What a pull request changes, as a comment to post on it:",
                "switchyard changes main.toml topology.toml --format markdown",
            ),
            (
                "Only one host, as JSON:",
                "switchyard changes old.toml new.toml --host net1 --format json",
            ),
        ],
        see_also: &[
            "switchyard-diff(1)",
            "switchyard-trace(1)",
            "switchyard-check(1)",
        ],
    },
    Extra {
        command: "trace",
        exit_status: &[
            ("0", "The packet was traced."),
            INVALID,
            (
                "2",
                "Usage error: an unknown VM or uplink, or a file that cannot be read.",
            ),
        ],
        files: &[TOPOLOGY],
        examples: &[
            (
                "Which public address and uplink web-1's packet leaves by:",
                "switchyard trace topology.toml --from web-1 --to 100.65.3.4",
            ),
            (
                "The same with uplink isp-a down, as JSON:",
                "switchyard trace topology.toml --from web-1 --to 100.65.3.4 --down isp-a --format json",
            ),
        ],
        see_also: &["switchyard-build(1)"],
    },
    Extra {
        command: "graph",
        exit_status: &[("0", "The graph was printed."), INVALID, USAGE_OR_IO],
        files: &[TOPOLOGY],
        examples: &[(
            "Draw one host and what it touches:",
            "switchyard graph topology.toml --host net1 | dot -Tsvg > net1.svg",
        )],
        see_also: &["dot(1)"],
    },
    Extra {
        command: "verify",
        exit_status: &[
            ("0", "The live state is in sync with the build."),
            ("1", "It drifted: the differences are on standard output."),
            (
                "2",
                "Error: not root, a missing tool (nft, ip), or a build that cannot be read.",
            ),
        ],
        files: &[
            MANIFEST,
            (
                "DIR/HOST/",
                "The host's artifacts the live state is compared with.",
            ),
        ],
        examples: &[
            (
                "Compare this router with its build:",
                "switchyard verify /var/lib/switchyard --host net1",
            ),
            (
                "Inside a network namespace:",
                "ip netns exec ns1 switchyard verify out",
            ),
        ],
        see_also: &[
            "switchyard-apply(1)",
            "switchyard-build(1)",
            "nft(8)",
            "ip(8)",
        ],
    },
    Extra {
        command: "apply",
        exit_status: &[
            (
                "0",
                "The host now matches its build, or already did (it says \"unchanged\"); \
                 --confirm: the pending trial is kept.",
            ),
            (
                "1",
                "A step failed and everything was restored as it was; the step is named.",
            ),
            (
                "2",
                "Error: not root, a missing tool, a build that cannot be read, or the \
                 restore itself failed.",
            ),
        ],
        files: &[
            MANIFEST,
            (
                "DIR/HOST/",
                "The host's artifacts: switchyard.nft (or switchyard.update.nft over its base), \
                 switchyard.ip, switchyard6.ip (a host with IPv6) and sysctl.d/90-switchyard.conf.",
            ),
            (
                "/etc/switchyard/build/",
                "Where the boot units expect the installed build.",
            ),
            (
                "/run/switchyard/",
                "A pending --try: the state to restore unless apply --confirm runs in time.",
            ),
        ],
        examples: &[
            (
                "Apply this router's build:",
                "switchyard apply /etc/switchyard/build --host net1",
            ),
            (
                "Apply, and undo it in 60 s unless confirmed from a new session:",
                "switchyard apply /etc/switchyard/build --try 60; switchyard apply --confirm",
            ),
        ],
        see_also: &[
            "switchyard-verify(1)",
            "switchyard-build(1)",
            "nft(8)",
            "ip(8)",
        ],
    },
    Extra {
        command: "monitor",
        exit_status: &[
            ("0", "Stopped by SIGTERM or SIGINT."),
            (
                "2",
                "The configuration cannot be read or is invalid, or a socket cannot be opened.",
            ),
        ],
        files: &[
            (
                "CONFIG",
                "A host's monitor.json from build (e.g. /etc/switchyard/monitor.json).",
            ),
            (
                "/etc/systemd/system/switchyard-monitor.service",
                "The unit build writes to run the monitor.",
            ),
        ],
        examples: &[(
            "Run the monitor of a host by hand:",
            "switchyard monitor /etc/switchyard/monitor.json",
        )],
        see_also: &["switchyard-trace(1)", "nft(8)", "conntrack(8)"],
    },
    Extra {
        command: "completions",
        exit_status: &[("0", "The script was printed."), USAGE_OR_IO],
        files: &[(
            "/usr/share/bash-completion/completions/switchyard",
            "The bash completions the package installs (zsh and fish likewise).",
        )],
        examples: &[(
            "Install bash completions by hand:",
            "switchyard completions bash > /etc/bash_completion.d/switchyard",
        )],
        see_also: &[],
    },
    Extra {
        command: "man",
        exit_status: &[("0", "The pages were written."), USAGE_OR_IO],
        files: &[(
            "/usr/share/man/man1/",
            "Where the package installs these pages.",
        )],
        examples: &[
            (
                "Read this page without installing it:",
                "switchyard man | man -l -",
            ),
            (
                "Install every page:",
                "switchyard man --output-dir /usr/local/share/man/man1",
            ),
        ],
        see_also: &["man(1)"],
    },
    Extra {
        command: "schema",
        exit_status: &[("0", "The schema was printed."), USAGE_OR_IO],
        files: &[(
            "/usr/share/doc/switchyard/schema/",
            "The same schemas, as shipped.",
        )],
        examples: &[(
            "Point an editor at the topology schema:",
            "switchyard schema > topology.schema.json",
        )],
        see_also: &["switchyard-check(1)"],
    },
    Extra {
        command: "explain",
        exit_status: &[
            ("0", "The code was explained."),
            ("2", "No such code (the closest one is suggested)."),
        ],
        files: &[(
            "/usr/share/doc/switchyard/examples/invalid/",
            "A topology showing each code, named after it.",
        )],
        examples: &[("Explain a code from check:", "switchyard explain SY0101")],
        see_also: &["switchyard-check(1)"],
    },
];

/// Every page of `command` and its subcommands (help excepted) as (file name,
/// roff), as clap_mangen names them: `switchyard-build.1`, …, `switchyard.1`
/// last.
fn pages(command: clap::Command) -> Vec<(String, Vec<u8>)> {
    let mut pages = Vec::new();
    collect(prepared(command), &mut pages);
    pages
}

/// The page of `command` itself (`switchyard.1`).
fn main_page(command: clap::Command) -> Vec<u8> {
    page(prepared(command)).1
}

/// `command` as its pages show it: no `help` subcommand (`--help` is there).
fn prepared(command: clap::Command) -> clap::Command {
    let mut command = command.disable_help_subcommand(true);
    command.build();
    command
}

fn collect(command: clap::Command, pages: &mut Vec<(String, Vec<u8>)>) {
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        collect(sub.clone(), pages);
    }
    pages.push(page(command));
}

/// One page: clap_mangen's sections, then this table's.
fn page(command: clap::Command) -> (String, Vec<u8>) {
    let extra = EXTRAS
        .iter()
        .find(|extra| extra.command == command.get_name());
    let man = clap_mangen::Man::new(command);
    let mut roff = Vec::new();
    man.render(&mut roff)
        .expect("rendering into memory cannot fail");
    if let Some(extra) = extra {
        roff.extend(extra.render().into_bytes());
    }
    (man.get_filename(), roff)
}

impl Extra {
    fn render(&self) -> String {
        let mut roff = Roff::new();
        let tagged = |roff: &mut Roff, heading: &str, items: &[(&str, &str)]| {
            roff.control("SH", [heading]);
            for (tag, text) in items {
                roff.control("TP", [])
                    .text([bold(*tag)])
                    .text([roman(*text)]);
            }
        };
        tagged(&mut roff, "EXIT STATUS", self.exit_status);
        tagged(&mut roff, "FILES", self.files);
        roff.control("SH", ["EXAMPLES"]);
        for (what, line) in self.examples {
            roff.control("PP", [])
                .text([roman(*what)])
                .control("RS", ["4"])
                .control("EX", [])
                .text([roman(*line)])
                .control("EE", [])
                .control("RE", []);
        }
        roff.control("SH", ["SEE ALSO"]);
        let mut see_also: Vec<&str> = Vec::new();
        if self.command != "switchyard" {
            see_also.push("switchyard(1)");
        }
        see_also.extend(self.see_also);
        let mut inlines = Vec::new();
        for (i, reference) in see_also.iter().enumerate() {
            let (name, section) = reference.split_once('(').unwrap_or((reference, ""));
            if i > 0 {
                inlines.push(roman(", "));
            }
            inlines.push(bold(name));
            inlines.push(roman(format!("({section}")));
        }
        inlines.push(roman(
            ". The full documentation: /usr/share/doc/switchyard/README.md and docs/.",
        ));
        roff.text(inlines);
        roff.to_roff()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new subcommand needs its row in `EXTRAS`: its page would otherwise lack
    /// those sections (tests/cli_extras.rs reads the rendered pages).
    #[test]
    fn every_command_has_its_extra_sections() {
        let command = Cli::command();
        let names = std::iter::once(command.get_name())
            .chain(command.get_subcommands().map(clap::Command::get_name));
        for name in names {
            assert!(
                EXTRAS.iter().any(|extra| extra.command == name),
                "no EXIT STATUS, FILES, EXAMPLES, SEE ALSO for `{name}`: add it to EXTRAS"
            );
        }
    }
}
