//! `switchyard monitor` run by a test: in a namespace, as root or with only
//! what its systemd unit leaves it, its log (stderr) in a file.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Netns, repo_path, run_ok, splice};

/// `switchyard monitor` in the host namespace, its stderr in a file.
pub struct Monitor {
    child: Child,
    log: tempfile::NamedTempFile,
}

/// What the monitor's unit leaves it (DynamicUser=yes, AmbientCapabilities=
/// CAP_NET_RAW CAP_NET_ADMIN, CapabilityBoundingSet= the same,
/// NoNewPrivileges=yes), as setpriv gives it outside systemd.
pub const UNIT_PRIVILEGES: &[&str] = &[
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=-all,+net_raw,+net_admin",
    "--ambient-caps=-all,+net_raw,+net_admin",
    "--bounding-set=-all,+net_raw,+net_admin",
    "--no-new-privs",
    "--",
];

#[derive(Clone, Copy, PartialEq)]
pub enum Privileges {
    Root,
    Unit,
}

impl Monitor {
    pub fn start(host: &Netns, config: &Path, privileges: Privileges) -> Monitor {
        Monitor::start_with_env(host, config, privileges, &[])
    }

    pub fn start_with_env(
        host: &Netns,
        config: &Path,
        privileges: Privileges,
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Monitor {
        let log = tempfile::NamedTempFile::new().expect("log file");
        let mut command = match privileges {
            Privileges::Root => host.exec(env!("CARGO_BIN_EXE_switchyard")),
            Privileges::Unit => {
                let mut command = host.exec("setpriv");
                command
                    .args(UNIT_PRIVILEGES)
                    .arg(env!("CARGO_BIN_EXE_switchyard"));
                command
            }
        };
        let child = command
            .envs(env.iter().copied())
            .arg("monitor")
            .arg(config)
            .stdout(Stdio::null())
            .stderr(File::create(log.path()).expect("open log"))
            .spawn()
            .expect("start the monitor");
        Monitor { child, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).expect("read log")
    }

    /// Waits up to `timeout` for `text` in the log; how long it took.
    pub fn wait_for(&self, text: &str, timeout: Duration) -> Duration {
        self.wait_for_times(text, 1, timeout)
    }

    /// Waits up to `timeout` for `text` to be `times` times in the log; how
    /// long it took.
    pub fn wait_for_times(&self, text: &str, times: usize, timeout: Duration) -> Duration {
        let start = Instant::now();
        while self.log().matches(text).count() < times {
            assert!(
                start.elapsed() < timeout,
                "no {text:?} (×{times}) in the monitor's log within {timeout:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        start.elapsed()
    }

    /// SIGTERM, then the exit status must be success.
    pub fn stop(&mut self) -> String {
        run_ok(Command::new("kill").args(["-TERM", &self.child.id().to_string()]));
        let status = self.child.wait().expect("monitor exits");
        assert!(
            status.success(),
            "monitor exited with {status}:\n{}",
            self.log()
        );
        self.log()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        // Only when a test failed before stopping it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// examples/dual-stack.toml with `[failover]`: a host whose monitor probes
/// both families.
pub fn dual_stack_with_failover() -> String {
    let text = std::fs::read_to_string(repo_path("examples/dual-stack.toml"))
        .expect("examples/dual-stack.toml");
    splice(&text, &[("version = 1\n", "version = 1\n\n[failover]\n")])
}
