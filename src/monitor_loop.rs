//! `switchyard monitor CONFIG`: the daemon around [`switchyard::monitor::Monitor`].
//! Part of the binary, as it is all IO: one thread per uplink sends its ICMP
//! echoes (socket2: a raw socket bound to the uplink's interface, carrying its
//! mark, from the host's address on the link, so no answer can come through
//! another uplink) and reports each round; the main thread feeds the rounds to
//! the monitor, keeps the nft set in line with `nft` and deletes conntrack
//! entries with `conntrack` (Debian's tools: the same the operator uses, and no
//! netlink code of our own), and stops on SIGTERM or SIGINT.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use switchyard::monitor::{Config, MarkFilter, Monitor, Uplink, parse_set};

/// Runs until SIGTERM or SIGINT. `Err` for what stops it from starting (no
/// raw sockets without CAP_NET_RAW, an interface that does not exist).
pub fn run(config: Config) -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| format!("cannot handle signal {signal}: {e}"))?;
    }
    let interval = config.interval();
    let (rounds, results) = mpsc::channel();
    let mut probers = Vec::new();
    for (index, uplink) in config.uplinks.iter().enumerate() {
        let socket = probe_socket(uplink)?;
        let (uplink, stop, rounds) = (uplink.clone(), Arc::clone(&stop), rounds.clone());
        probers.push(std::thread::spawn(move || {
            probe_rounds(index, &uplink, &socket, interval, &stop, &rounds);
        }));
    }
    drop(rounds);
    let mut monitor = Monitor::new(config);
    let mut kernel = Kernel::default();
    eprintln!(
        "switchyard monitor: watching {} uplink(s) of host {} every {} ms",
        monitor.config().uplinks.len(),
        monitor.config().host,
        interval.as_millis()
    );
    let mut next_sync = Instant::now();
    // A transition changes the set at once, without reading it first: the
    // fewer processes between a dead uplink and the fallback, the better.
    let mut changed = false;
    while !stop.load(Ordering::Relaxed) {
        match results.recv_timeout(interval.min(Duration::from_millis(100))) {
            Ok((uplink, answered)) => {
                if let Some(transition) = monitor.observe(uplink, answered) {
                    let name = &monitor.config().uplinks[uplink].name;
                    let (state, after) = if transition.up {
                        ("up", monitor.config().up_after)
                    } else {
                        ("down", monitor.config().down_after)
                    };
                    let rounds = if transition.up {
                        "answered"
                    } else {
                        "unanswered"
                    };
                    eprintln!(
                        "switchyard monitor: uplink {name} is {state} ({after} probe rounds {rounds} in a row)"
                    );
                    changed = true;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        // Every round, not only on a transition: a reload of the ruleset
        // empties the set, and this puts it back within one round.
        if changed || Instant::now() >= next_sync {
            kernel.sync(&monitor, !changed);
            changed = false;
            next_sync = Instant::now() + interval;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for prober in probers {
        let _ = prober.join();
    }
    // Without a monitor nobody would bring an uplink back: leave none down.
    kernel.clear(&monitor);
    eprintln!("switchyard monitor: stopped");
    Ok(())
}

/// What the monitor last knew of the kernel: the set's marks as last read or
/// written, and the problem last reported (so it is reported once, not every
/// round).
#[derive(Default)]
struct Kernel {
    in_set: BTreeSet<u32>,
    last_error: Option<String>,
}

impl Kernel {
    /// Makes the set hold exactly the down uplinks; for every down uplink the
    /// set lacked (it just went down, or a reload emptied the set and
    /// connections were classified meanwhile), deletes the conntrack entries
    /// that may move.
    /// `read`: list the set first; otherwise trust what was last read or
    /// written.
    fn sync(&mut self, monitor: &Monitor, read: bool) {
        let config = monitor.config();
        if read {
            let listed = nft(
                &["-j", "list", "set", "inet", &config.table, &config.set],
                "",
            )
            .and_then(|json| parse_set(&json));
            match listed {
                Ok(marks) => self.in_set = marks,
                Err(error) => {
                    self.report(format!(
                        "cannot read set inet {} {}: {error}",
                        config.table, config.set
                    ));
                    return;
                }
            }
        }
        let in_kernel = std::mem::take(&mut self.in_set);
        let wanted = monitor.down_marks();
        if in_kernel == wanted {
            self.in_set = in_kernel;
            self.report_ok();
            return;
        }
        if let Err(error) = nft(&["-f", "-"], &monitor.set_script()) {
            self.report(format!(
                "cannot update set inet {} {}: {error}",
                config.table, config.set
            ));
            self.in_set = in_kernel;
            return;
        }
        self.in_set = wanted.clone();
        self.report_ok();
        let newly_down: BTreeSet<u32> = wanted.difference(&in_kernel).copied().collect();
        let names: Vec<&str> = config
            .uplinks
            .iter()
            .filter(|u| wanted.contains(&u.mark))
            .map(|u| u.name.as_str())
            .collect();
        eprintln!(
            "switchyard monitor: set {} now holds {}",
            config.set,
            list(&names)
        );
        // One `conntrack -D --mark` per newly down uplink (rarely more): the
        // mark finds exactly the connections that may move, whatever the
        // number of VMs.
        for (index, uplink) in config.uplinks.iter().enumerate() {
            if !newly_down.contains(&uplink.mark) {
                continue;
            }
            for filter in monitor.conntrack_deletions(index) {
                match conntrack_delete(filter) {
                    Ok(summary) => eprintln!(
                        "switchyard monitor: uplink {}: conntrack {summary}",
                        uplink.name
                    ),
                    Err(error) => eprintln!("switchyard monitor: uplink {}: {error}", uplink.name),
                }
            }
        }
    }

    fn clear(&mut self, monitor: &Monitor) {
        let config = monitor.config();
        let flush = format!("flush set inet {} {}\n", config.table, config.set);
        if let Err(error) = nft(&["-f", "-"], &flush) {
            eprintln!(
                "switchyard monitor: cannot empty set {}: {error}",
                config.set
            );
        }
    }

    fn report(&mut self, error: String) {
        if self.last_error.as_ref() != Some(&error) {
            eprintln!("switchyard monitor: {error}");
            self.last_error = Some(error);
        }
    }

    fn report_ok(&mut self) {
        if self.last_error.take().is_some() {
            eprintln!("switchyard monitor: the nft set is in line again");
        }
    }
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "no uplink".to_owned()
    } else {
        names.join(", ")
    }
}

/// Runs `nft ARGS` with `input` on standard input; its standard output.
fn nft(args: &[&str], input: &str) -> Result<String, String> {
    let mut child = Command::new("nft")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run nft: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .map_err(|e| format!("cannot write to nft: {e}"))?;
    }
    let output = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim().to_owned());
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Runs `conntrack -D --mark MARK/MASK`; its summary line. conntrack exits 1
/// when nothing matched, which is no error here.
fn conntrack_delete(filter: MarkFilter) -> Result<String, String> {
    let mark = format!("{:#x}/{:#x}", filter.mark, filter.mask);
    let output = Command::new("conntrack")
        .args(["-D", "--mark", &mark])
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run conntrack: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = stderr
        .lines()
        .find(|line| line.contains("flow entries"))
        .map(|line| {
            format!(
                "-D --mark {mark}: {}",
                line.rsplit("): ").next().unwrap_or(line)
            )
        });
    summary.ok_or_else(|| format!("conntrack -D --mark {mark} failed: {}", stderr.trim()))
}

/// A raw ICMP socket that sends and receives only through `uplink`.
fn probe_socket(uplink: &Uplink) -> Result<Socket, String> {
    let context = |what: &str, e: std::io::Error| {
        format!(
            "uplink {} ({}): cannot {what}: {e}",
            uplink.name, uplink.interface
        )
    };
    let socket = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))
        .map_err(|e| context("open a raw ICMP socket (needs CAP_NET_RAW)", e))?;
    socket
        .bind_device(Some(uplink.interface.as_bytes()))
        .map_err(|e| context("bind to the interface", e))?;
    socket
        .set_mark(uplink.mark)
        .map_err(|e| context("set the mark (needs CAP_NET_ADMIN)", e))?;
    socket
        .bind(&SockAddr::from(SocketAddrV4::new(uplink.address, 0)))
        .map_err(|e| context(&format!("bind to {}", uplink.address), e))?;
    Ok(socket)
}

/// One uplink's rounds, until `stop`: each sends an echo request to every
/// target and reports `(uplink, true)` on the first answer, or `(uplink,
/// false)` when the round ends without one. An answer counts at once, so an
/// uplink that comes back is seen as soon as its rounds answer.
fn probe_rounds(
    uplink: usize,
    config: &Uplink,
    socket: &Socket,
    interval: Duration,
    stop: &AtomicBool,
    rounds: &mpsc::Sender<(usize, bool)>,
) {
    // Our echoes among everything the raw socket sees: the process id and
    // the uplink tell them apart from other pingers' and other uplinks'.
    let id = (std::process::id() as u16) ^ ((uplink as u16) << 12);
    let mut sequence: u16 = 0;
    let mut deadline = Instant::now();
    let mut send_error = None;
    while !stop.load(Ordering::Relaxed) {
        sequence = sequence.wrapping_add(1);
        deadline += interval;
        for target in &config.probe {
            let request = echo_request(id, sequence);
            let sent = socket.send_to(&request, &SockAddr::from(SocketAddrV4::new(*target, 0)));
            match (sent, &send_error) {
                (Err(e), None) => {
                    eprintln!(
                        "switchyard monitor: uplink {}: cannot probe {target}: {e}",
                        config.name
                    );
                    send_error = Some(());
                }
                (Ok(_), Some(())) => send_error = None,
                _ => {}
            }
        }
        let answered = await_reply(socket, &config.probe, id, sequence, deadline);
        if rounds.send((uplink, answered)).is_err() {
            return;
        }
        if let Some(rest) = deadline.checked_duration_since(Instant::now()) {
            std::thread::sleep(rest);
        }
    }
}

/// Reads until `deadline` for an echo reply from one of `targets` to this
/// round's request.
fn await_reply(
    socket: &Socket,
    targets: &[Ipv4Addr],
    id: u16,
    sequence: u16,
    deadline: Instant,
) -> bool {
    let mut packet = [0u8; 1500];
    loop {
        let Some(left) = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
        else {
            return false;
        };
        if socket.set_read_timeout(Some(left)).is_err() {
            return false;
        }
        let mut reader: &Socket = socket;
        match reader.read(&mut packet) {
            Ok(len) => {
                if is_reply(&packet[..len], targets, id, sequence) {
                    return true;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// An ICMP echo request with an 8-byte payload.
fn echo_request(id: u16, sequence: u16) -> [u8; 16] {
    let mut packet = [0u8; 16];
    packet[0] = 8;
    packet[4..6].copy_from_slice(&id.to_be_bytes());
    packet[6..8].copy_from_slice(&sequence.to_be_bytes());
    packet[8..16].copy_from_slice(b"swyd-mon");
    let checksum = internet_checksum(&packet);
    packet[2..4].copy_from_slice(&checksum.to_be_bytes());
    packet
}

fn internet_checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Whether `packet` (an IPv4 datagram, as a raw socket reads it) is the echo
/// reply to request `id`/`sequence` from one of `targets`.
fn is_reply(packet: &[u8], targets: &[Ipv4Addr], id: u16, sequence: u16) -> bool {
    let Some(&first) = packet.first() else {
        return false;
    };
    let header = usize::from(first & 0x0f) * 4;
    let (Some(source), Some(icmp)) = (packet.get(12..16), packet.get(header..header + 8)) else {
        return false;
    };
    let source = Ipv4Addr::new(source[0], source[1], source[2], source[3]);
    icmp[0] == 0
        && icmp[4..6] == id.to_be_bytes()
        && icmp[6..8] == sequence.to_be_bytes()
        && targets.contains(&source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_echo_request_checksums_to_zero() {
        assert_eq!(internet_checksum(&echo_request(0x1234, 7)), 0);
    }

    #[test]
    fn only_this_rounds_reply_from_a_target_counts() {
        let target = Ipv4Addr::new(192, 0, 2, 1);
        let reply = |source: Ipv4Addr, kind: u8, id: u16, sequence: u16| {
            let mut packet = vec![0x45, 0, 0, 36, 0, 0, 0, 0, 64, 1, 0, 0];
            packet.extend(source.octets());
            packet.extend([192, 0, 2, 2]);
            let mut icmp = echo_request(id, sequence);
            icmp[0] = kind;
            packet.extend(icmp);
            packet
        };
        assert!(is_reply(&reply(target, 0, 9, 3), &[target], 9, 3));
        assert!(!is_reply(&reply(target, 0, 9, 2), &[target], 9, 3));
        assert!(!is_reply(&reply(target, 0, 8, 3), &[target], 9, 3));
        assert!(!is_reply(&reply(target, 8, 9, 3), &[target], 9, 3));
        assert!(!is_reply(
            &reply(Ipv4Addr::new(9, 9, 9, 9), 0, 9, 3),
            &[target],
            9,
            3
        ));
        assert!(!is_reply(&[0x45, 0], &[target], 9, 3));
    }
}
