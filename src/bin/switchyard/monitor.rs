//! `switchyard monitor CONFIG`: the daemon around [`switchyard::monitor::Monitor`].
//! Part of the binary, as it is all IO: one thread per uplink sends its ICMP
//! and ICMPv6 echoes (socket2: a raw socket per family bound to the uplink's
//! interface, carrying its mark, from the host's address of that family on
//! the link, so no answer can come through another uplink), waits for the
//! replies on both (rustix's `poll`) and reports each decided round
//! ([`switchyard::monitor::probes::Probes`]); the main thread feeds the rounds
//! to the monitor, keeps the kernel in line
//! ([`switchyard::monitor::sync::KernelState`]) through [`SystemKernel`]
//! (the ruleset generation over netlink every round; `nft`, run through
//! `kernel.rs` as apply and verify run it, and the netlink deletion of
//! connections only on a change), tells systemd it is ready and alive (`sd_notify`), and stops
//! within 100 ms of SIGTERM or SIGINT.

use std::collections::BTreeSet;
use std::io::Read;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::net::{RecvFlags, recvfrom};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use switchyard::family::Which;
use switchyard::monitor::probes::{Probes, Silence};
use switchyard::monitor::sync::{Event, Kernel, KernelState, Priority};
use switchyard::monitor::{Config, MarkFilter, Monitor, Uplink, parse_set};

use crate::Failure;

/// Watch the uplinks' health and fail over (runs until SIGTERM).
///
/// CONFIG is a host's monitor.json from `build` (with [failover]). Probes
/// every uplink through itself (ICMP echoes from its IPv4 address, ICMPv6
/// echoes from its IPv6 address; a round is answered when any target of
/// either family answers), keeps set `down_uplinks` of table inet
/// switchyard in line with what it measures, deletes the connections that
/// may move off a dead uplink (IPv4 and IPv6, by conntrack mark, over
/// netlink) and logs every transition to stderr. Needs CAP_NET_RAW, CAP_NET_ADMIN and nft.
/// A monitor.json it cannot use stops it at start (exit 2, naming the key).
#[derive(clap::Args)]
pub struct Args {
    config: PathBuf,
}

pub fn run(Args { config: path }: Args) -> Result<ExitCode, Failure> {
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    let config = Config::from_json(&text).map_err(|e| {
        Failure::Usage(format!(
            "{} is not a usable switchyard monitor.json: {e}",
            path.display()
        ))
    })?;
    watch(config).map_err(Failure::Usage)?;
    Ok(ExitCode::SUCCESS)
}

/// The longest the daemon sleeps or blocks before it looks at the stop flag.
const STOP_LATENCY: Duration = Duration::from_millis(100);

/// Runs until SIGTERM or SIGINT. `Err` for what stops it from starting (a
/// signal handler it cannot install). A missing interface does not: its
/// uplink's rounds fail until it appears.
fn watch(config: Config) -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, Arc::clone(&stop))
            .map_err(|e| format!("cannot handle signal {signal}: {e}"))?;
    }
    let interval = config.interval();
    let (rounds, results) = mpsc::channel();
    let mut probers = Vec::new();
    for (index, uplink) in config.uplinks.iter().enumerate() {
        let mut prober = Prober::new(index, uplink, interval, config.down_after);
        let (stop, rounds) = (Arc::clone(&stop), rounds.clone());
        probers.push(std::thread::spawn(move || prober.run(&stop, &rounds)));
    }
    drop(rounds);
    let mut monitor = Monitor::new(config);
    let mut kernel = SystemKernel::default();
    let mut state = KernelState::default();
    let systemd = Systemd::from_environment();
    log(&Event::new(
        Priority::Info,
        format!(
            "watching {} uplink(s) of host {} every {} ms",
            monitor.config().uplinks.len(),
            monitor.config().host,
            interval.as_millis()
        ),
    ));
    state.sync(&monitor, &mut kernel).iter().for_each(log);
    write_vrrp_health(&monitor);
    systemd.notify("READY=1");
    let mut next_sync = Instant::now() + interval;
    while !stop.load(Ordering::Relaxed) {
        systemd.keep_alive();
        // A transition is logged once the set says so: whoever reads the log
        // (an operator, a test) then finds the dataplane already moved.
        let mut transition_event = None;
        match results.recv_timeout(interval.min(STOP_LATENCY)) {
            Ok(Round { uplink, answered }) => {
                if let Some(transition) = monitor.observe(uplink, answered) {
                    let config = monitor.config();
                    let (priority, state, after, rounds) = if transition.up {
                        (Priority::Notice, "up", config.up_after, "answered")
                    } else {
                        (Priority::Warning, "down", config.down_after, "unanswered")
                    };
                    let name = &config.uplinks[uplink].name;
                    transition_event = Some(Event::new(
                        priority,
                        format!(
                            "uplink {name} is {state} ({after} probe rounds {rounds} in a row)"
                        ),
                    ));
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        // Every round, not only on a transition: a reload of the ruleset
        // empties the set, and this puts it back within one round. Without a
        // change of the ruleset's generation that is one netlink request.
        let changed = transition_event.is_some();
        if changed {
            write_vrrp_health(&monitor);
        }
        if changed || Instant::now() >= next_sync {
            state.sync(&monitor, &mut kernel).iter().for_each(log);
            next_sync = Instant::now() + interval;
        }
        transition_event.iter().for_each(log);
    }
    systemd.notify("STOPPING=1");
    stop.store(true, Ordering::Relaxed);
    for prober in probers {
        let _ = prober.join();
    }
    // Without a monitor nobody would bring an uplink back: leave none down.
    let config = monitor.config();
    let flush = format!("flush set inet {} {}\n", config.table, config.set);
    if let Err(error) = kernel.run_nft(&flush) {
        log(&Event::new(
            Priority::Error,
            format!("cannot empty set {}: {error}", config.set),
        ));
    }
    log(&Event::new(Priority::Info, "stopped"));
    Ok(())
}

/// On a member of a pair, writes its health where keepalived reads it
/// (docs/semantics.md §12): into a file beside it, then renamed over it, so
/// keepalived never reads half a number.
fn write_vrrp_health(monitor: &Monitor) {
    let Some(path) = &monitor.config().vrrp_health_file else {
        return;
    };
    let health = monitor.vrrp_health();
    let event = match replace_file(path, &health) {
        Ok(()) => Event::new(
            Priority::Info,
            format!(
                "VRRP health {} written to {}",
                health.trim_end(),
                path.display()
            ),
        ),
        Err(error) => Event::new(
            Priority::Error,
            format!(
                "cannot write the VRRP health to {}: {error}",
                path.display()
            ),
        ),
    };
    log(&event);
}

/// Writes `text` into a new file beside `path` and renames it over `path`: a
/// reader sees the old text or the new, never a part.
fn replace_file(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let directory = path
        .parent()
        .ok_or_else(|| std::io::Error::other("no directory"))?;
    let mut file = tempfile::NamedTempFile::new_in(directory)?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// One line on standard error, with the syslog priority prefix journald reads.
fn log(event: &Event) {
    eprintln!(
        "<{}>switchyard monitor: {}",
        event.priority as u8, event.message
    );
}

/// The kernel of the host the monitor runs on: netfilter over netlink for
/// the ruleset generation and the conntrack deletions, `nft` for the set.
#[derive(Default)]
struct SystemKernel {
    netlink: Option<Socket>,
    sequence: u32,
}

/// netlink and nfnetlink: the nftables subsystem's "get generation" and the
/// conntrack subsystem's "delete" (without a tuple: every entry that matches
/// the mark filter, in one request, walked by the kernel; for the family
/// AF_UNSPEC, so IPv4 and IPv6 entries alike).
const AF_NETLINK: i32 = 16;
const AF_UNSPEC: u8 = 0;
const NETLINK_NETFILTER: i32 = 12;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLMSG_ERROR: u16 = 2;
const NFNL_SUBSYS_CTNETLINK: u16 = 1;
const IPCTNL_MSG_CT_DELETE: u16 = 2;
const CTA_MARK: u16 = 8;
const CTA_MARK_MASK: u16 = 21;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_GETGEN: u16 = 16;
const NFT_MSG_NEWGEN: u16 = 15;
const NFTA_GEN_ID: u16 = 1;

impl SystemKernel {
    fn netlink(&mut self) -> Result<&Socket, String> {
        if self.netlink.is_none() {
            let socket = Socket::new(
                Domain::from(AF_NETLINK),
                Type::RAW,
                Some(Protocol::from(NETLINK_NETFILTER)),
            )
            .map_err(|e| format!("cannot open a netfilter netlink socket: {e}"))?;
            // Long enough for the kernel to walk a large conntrack table.
            socket
                .set_read_timeout(Some(Duration::from_secs(5)))
                .map_err(|e| format!("netlink: {e}"))?;
            self.netlink = Some(socket);
        }
        Ok(self.netlink.as_ref().expect("just opened"))
    }

    /// Sends one nfnetlink request; the answer with its sequence number (an
    /// error answer as `Err`). A failed exchange drops the socket, so the next
    /// one starts clean.
    fn request(
        &mut self,
        kind: u16,
        flags: u16,
        family: u8,
        attributes: &[(u16, u32)],
    ) -> Result<Vec<u8>, String> {
        self.sequence = self.sequence.wrapping_add(1);
        let message = nfnetlink_message(kind, flags, family, self.sequence, attributes);
        let sequence = self.sequence;
        let answer = self.netlink().and_then(|socket| {
            socket
                .send(&message)
                .map_err(|e| format!("netlink send: {e}"))?;
            let mut buffer = vec![0u8; 8192];
            loop {
                let mut reader: &Socket = socket;
                let len = reader
                    .read(&mut buffer)
                    .map_err(|e| format!("netlink receive: {e}"))?;
                if let Some(answer) = answer_to(&buffer[..len], sequence) {
                    return answer.map(<[u8]>::to_vec);
                }
            }
        });
        if answer.is_err() {
            self.netlink = None;
        }
        answer
    }
}

impl Kernel for SystemKernel {
    fn generation(&mut self) -> Result<u32, String> {
        let answer = self.request(
            NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETGEN,
            NLM_F_REQUEST,
            0,
            &[],
        )?;
        generation_of(&answer)
    }

    fn read_set(&mut self, table: &str, set: &str) -> Result<BTreeSet<u32>, String> {
        crate::kernel::list_set(table, set).and_then(|json| parse_set(&json))
    }

    fn run_nft(&mut self, script: &str) -> Result<(), String> {
        crate::kernel::load_nft(script)
    }

    fn delete_connections(&mut self, filter: MarkFilter) -> Result<String, String> {
        self.request(
            NFNL_SUBSYS_CTNETLINK << 8 | IPCTNL_MSG_CT_DELETE,
            NLM_F_REQUEST | NLM_F_ACK,
            AF_UNSPEC,
            &[(CTA_MARK, filter.mark), (CTA_MARK_MASK, filter.mask)],
        )?;
        Ok(format!(
            "entries with mark {:#x}/{:#x} deleted",
            filter.mark, filter.mask
        ))
    }
}

/// A netlink header, an nfgenmsg for `family`, and 32-bit big-endian
/// attributes.
fn nfnetlink_message(
    kind: u16,
    flags: u16,
    family: u8,
    sequence: u32,
    attributes: &[(u16, u32)],
) -> Vec<u8> {
    let length = 20 + 8 * attributes.len();
    let mut message = Vec::with_capacity(length);
    message.extend((length as u32).to_ne_bytes());
    message.extend(kind.to_ne_bytes());
    message.extend(flags.to_ne_bytes());
    message.extend(sequence.to_ne_bytes());
    message.extend(0u32.to_ne_bytes());
    message.extend([family, 0, 0, 0]);
    for &(kind, value) in attributes {
        message.extend(8u16.to_ne_bytes());
        message.extend(kind.to_ne_bytes());
        message.extend(value.to_be_bytes());
    }
    message
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    bytes
        .get(at..at + 2)
        .map(|b| u16::from_ne_bytes([b[0], b[1]]))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

/// The first message of a netlink datagram when it answers request
/// `sequence`: an error answer (other than the ACK, code 0) as `Err`. `None`:
/// not that answer, read on.
fn answer_to(datagram: &[u8], sequence: u32) -> Option<Result<&[u8], String>> {
    let length = usize::try_from(u32_at(datagram, 0)?).ok()?;
    let message = datagram.get(..length)?;
    if u32_at(message, 8)? != sequence {
        return None;
    }
    if u16_at(message, 4)? == NLMSG_ERROR {
        let code = u32_at(message, 16)? as i32;
        if code != 0 {
            return Some(Err(format!(
                "netlink: {}",
                std::io::Error::from_raw_os_error(-code)
            )));
        }
    }
    Some(Ok(message))
}

/// The generation in a NFT_MSG_NEWGEN answer.
fn generation_of(message: &[u8]) -> Result<u32, String> {
    if u16_at(message, 4) != Some(NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_NEWGEN) {
        return Err("the answer is not a generation".to_owned());
    }
    // Attributes follow the 16-byte header and the 4-byte nfgenmsg.
    let mut at = 20;
    while let (Some(length), Some(kind)) = (u16_at(message, at), u16_at(message, at + 2)) {
        let length = usize::from(length);
        if length < 4 {
            break;
        }
        if kind & 0x3fff == NFTA_GEN_ID
            && let Some(id) = message.get(at + 4..at + 8)
        {
            return Ok(u32::from_be_bytes([id[0], id[1], id[2], id[3]]));
        }
        at += length.div_ceil(4) * 4;
    }
    Err("the generation answer has no id".to_owned())
}

/// `sd_notify` without libsystemd: datagrams to `$NOTIFY_SOCKET`, and
/// `WATCHDOG=1` every half `$WATCHDOG_USEC`. Outside systemd, nothing.
struct Systemd {
    socket: Option<(Socket, SockAddr)>,
    watchdog: Option<Duration>,
    last_ping: std::cell::Cell<Instant>,
}

impl Systemd {
    fn from_environment() -> Self {
        let socket = std::env::var_os("NOTIFY_SOCKET").and_then(|path| {
            let mut bytes = path.into_encoded_bytes();
            // An abstract socket: systemd writes its leading NUL as `@`.
            if bytes.first() == Some(&b'@') {
                bytes[0] = 0;
            }
            let path = std::path::PathBuf::from(String::from_utf8(bytes).ok()?);
            let address = SockAddr::unix(path).ok()?;
            let socket = Socket::new(Domain::UNIX, Type::DGRAM, None).ok()?;
            Some((socket, address))
        });
        let watchdog = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|usec| usec.parse::<u64>().ok())
            .filter(|&usec| usec > 0)
            .map(|usec| Duration::from_micros(usec) / 2);
        Systemd {
            socket,
            watchdog,
            last_ping: std::cell::Cell::new(Instant::now()),
        }
    }

    fn notify(&self, state: &str) {
        if let Some((socket, address)) = &self.socket {
            let _ = socket.send_to(state.as_bytes(), address);
        }
    }

    /// Called from the main loop: as long as it turns, systemd hears from it.
    fn keep_alive(&self) {
        if let Some(period) = self.watchdog
            && self.last_ping.get().elapsed() >= period
        {
            self.notify("WATCHDOG=1");
            self.last_ping.set(Instant::now());
        }
    }
}

/// A decided probe round of one uplink.
struct Round {
    uplink: usize,
    answered: bool,
}

/// One uplink's probing thread: one schedule of rounds, each round's echo
/// sent in every family the uplink has an address of.
struct Prober {
    index: usize,
    uplink_name: String,
    interface: String,
    mark: u32,
    probes: Probes,
    /// One per address of the uplink with targets of its family.
    links: Vec<Link>,
    /// Our echoes among everything a raw socket sees: the process id and the
    /// uplink tell them apart from other pingers' and other uplinks'.
    id: u16,
    last_error: Option<String>,
}

/// An uplink's probing in one family.
struct Link {
    /// The host's address on the link, the echoes' source; its family is
    /// the link's.
    source: IpAddr,
    targets: Vec<IpAddr>,
    /// `None` until opened, and again after a lost round.
    socket: Option<Socket>,
    /// On a dual-stack uplink: whether this family alone stopped answering.
    silence: Silence,
}

impl Prober {
    /// `silent_after`: the rounds after which one family of a dual-stack
    /// uplink that stopped answering is reported (`down_after`).
    fn new(index: usize, uplink: &Uplink, interval: Duration, silent_after: u32) -> Self {
        let start = Instant::now();
        let links = uplink
            .address
            .iter()
            .map(|&source| Link {
                source,
                targets: uplink.targets_from(source).collect(),
                socket: None,
                silence: Silence::new(interval, silent_after, start),
            })
            .filter(|link| !link.targets.is_empty())
            .collect();
        Prober {
            id: (std::process::id() as u16) ^ ((index as u16) << 12),
            index,
            uplink_name: uplink.name.clone(),
            interface: uplink.interface.clone(),
            mark: uplink.mark,
            probes: Probes::new(interval),
            links,
            last_error: None,
        }
    }

    /// Until `stop`: sends a probe when one is due (opening the sockets first
    /// when there are none), reads replies until the next event, and reports
    /// the rounds decided. A lost round closes the sockets, so an interface
    /// that was deleted and created again (a NIC reset, a VLAN re-created by
    /// networkd) is probed through new ones.
    fn run(&mut self, stop: &AtomicBool, rounds: &mpsc::Sender<Round>) {
        let mut packet = [0u8; 1500];
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if self.probes.due(now) {
                let sequence = self.probes.send(now);
                self.send(sequence);
            }
            let wake = self.probes.next_event(Instant::now());
            let wait = wake
                .saturating_duration_since(Instant::now())
                .min(STOP_LATENCY);
            if !wait.is_zero() {
                self.receive(wait, &mut packet);
            }
            for answered in self.probes.decided(Instant::now()) {
                if answered {
                    self.report_silent_families();
                } else {
                    self.links.iter_mut().for_each(|link| link.socket = None);
                }
                let round = Round {
                    uplink: self.index,
                    answered,
                };
                if rounds.send(round).is_err() {
                    return;
                }
            }
        }
    }

    /// After a round answered by some family: a family of a dual-stack
    /// uplink silent for `silent_after` rounds is logged (once), as the
    /// uplink stays up (a round is answered when any target answers).
    fn report_silent_families(&mut self) {
        if self.links.len() < 2 {
            return;
        }
        let now = Instant::now();
        for link in &mut self.links {
            if link.silence.fell_silent(now) {
                let what = "stopped answering; it stays up while those of the other family answer";
                log_family(&self.uplink_name, link, Priority::Warning, what);
            }
        }
    }

    /// Waits up to `wait` for a reply on any open socket and reads what
    /// came: an echo reply to one of ours counts for its round.
    fn receive(&mut self, wait: Duration, packet: &mut [u8]) {
        let readable: Vec<usize> = {
            let (open, mut polled): (Vec<usize>, Vec<PollFd>) = self
                .links
                .iter()
                .enumerate()
                .filter_map(|(i, link)| {
                    Some((i, PollFd::new(link.socket.as_ref()?, PollFlags::IN)))
                })
                .unzip();
            let timeout = Timespec::try_from(wait).ok();
            if polled.is_empty() || poll(&mut polled, timeout.as_ref()).is_err() {
                return std::thread::sleep(wait);
            }
            open.into_iter()
                .zip(&polled)
                .filter_map(|(i, polled)| {
                    let events = polled.revents();
                    if events.contains(PollFlags::ERR)
                        && let Some(socket) = &self.links[i].socket
                    {
                        // A pending socket error would wake every poll at once.
                        let _ = socket.take_error();
                    }
                    events.contains(PollFlags::IN).then_some(i)
                })
                .collect()
        };
        for i in readable {
            let link = &mut self.links[i];
            let Some(socket) = &link.socket else {
                continue;
            };
            if let Ok((len, _, Some(from))) = recvfrom(socket, &mut *packet, RecvFlags::DONTWAIT)
                && let Ok(from) = std::net::SocketAddr::try_from(from)
                && let Some(sequence) =
                    reply_sequence(&packet[..len], from.ip(), &link.targets, self.id)
            {
                let now = Instant::now();
                self.probes.reply(sequence, now);
                if link.silence.reply(now) {
                    log_family(&self.uplink_name, link, Priority::Notice, "answer again");
                }
            }
        }
    }

    fn send(&mut self, sequence: u16) {
        let mut failures = Vec::new();
        for link in &mut self.links {
            if link.socket.is_none() {
                match probe_socket(&self.interface, self.mark, link.source) {
                    Ok(socket) => link.socket = Some(socket),
                    Err(error) => {
                        failures.push(error);
                        continue;
                    }
                }
            }
            let request = echo_request(link.source, self.id, sequence);
            let socket = link.socket.as_ref().expect("just opened");
            let mut failed = false;
            for &target in &link.targets {
                if let Err(e) =
                    socket.send_to(&request, &SockAddr::from(SocketAddr::new(target, 0)))
                {
                    failures.push(format!("cannot probe {target}: {e}"));
                    failed = true;
                }
            }
            if failed {
                link.socket = None;
            }
        }
        if failures.is_empty() {
            if self.last_error.take().is_some() {
                log(&Event::new(
                    Priority::Notice,
                    format!("uplink {}: probing again", self.uplink_name),
                ));
            }
            return;
        }
        let error = format!(
            "uplink {} ({}): {}",
            self.uplink_name,
            self.interface,
            failures.join("; ")
        );
        if self.last_error.as_ref() != Some(&error) {
            log(&Event::new(Priority::Warning, error.clone()));
            self.last_error = Some(error);
        }
    }
}

/// Logs what the targets of one family of uplink `uplink` do.
fn log_family(uplink: &str, link: &Link, priority: Priority, what: &str) {
    let family = Which::of(link.source).name();
    log(&Event::new(
        priority,
        format!("uplink {uplink}: its {family} targets {what}"),
    ));
}

/// A raw ICMP socket of `source`'s family (ICMPv6 for an IPv6 source) that
/// sends and receives only through the uplink: bound to its `interface`,
/// carrying its `mark` (so the uplink's routing table routes it) and sending
/// from `source`.
fn probe_socket(interface: &str, mark: u32, source: IpAddr) -> Result<Socket, String> {
    let (domain, protocol, kind) = match source {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4, "ICMP"),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6, "ICMPv6"),
    };
    let context = |what: &str, e: std::io::Error| format!("cannot {what}: {e}");
    let socket = Socket::new(domain, Type::RAW, Some(protocol))
        .map_err(|e| context(&format!("open a raw {kind} socket (needs CAP_NET_RAW)"), e))?;
    socket
        .bind_device(Some(interface.as_bytes()))
        .map_err(|e| context("bind to the interface", e))?;
    socket
        .set_mark(mark)
        .map_err(|e| context("set the mark (needs CAP_NET_ADMIN)", e))?;
    socket
        .bind(&SockAddr::from(SocketAddr::new(source, 0)))
        .map_err(|e| context(&format!("bind to {source}"), e))?;
    Ok(socket)
}

/// ICMP's echo request and reply types, and ICMPv6's.
const ECHO_REQUEST: u8 = 8;
const ECHO_REPLY: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;

/// An echo request with an 8-byte payload, for sending from `source`: ICMP
/// with its checksum, or ICMPv6, whose checksum (over the IPv6 addresses
/// too) the kernel writes for a raw ICMPv6 socket.
fn echo_request(source: IpAddr, id: u16, sequence: u16) -> [u8; 16] {
    let mut packet = [0u8; 16];
    packet[4..6].copy_from_slice(&id.to_be_bytes());
    packet[6..8].copy_from_slice(&sequence.to_be_bytes());
    packet[8..16].copy_from_slice(b"swyd-mon");
    if source.is_ipv6() {
        packet[0] = ECHO_REQUEST_V6;
    } else {
        packet[0] = ECHO_REQUEST;
        let checksum = internet_checksum(&packet);
        packet[2..4].copy_from_slice(&checksum.to_be_bytes());
    }
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

/// The sequence number of `packet`, as a raw socket read it from `source`,
/// when it is an echo reply to our request `id` from one of `targets`: an
/// IPv4 datagram (a raw IPv4 socket reads the header too), or an ICMPv6
/// message (a raw IPv6 socket reads none).
fn reply_sequence(packet: &[u8], source: IpAddr, targets: &[IpAddr], id: u16) -> Option<u16> {
    let (icmp, reply) = match source {
        IpAddr::V4(_) => {
            let header = usize::from(packet.first()? & 0x0f) * 4;
            (packet.get(header..header + 8)?, ECHO_REPLY)
        }
        IpAddr::V6(_) => (packet.get(..8)?, ECHO_REPLY_V6),
    };
    (icmp[0] == reply && icmp[4..6] == id.to_be_bytes() && targets.contains(&source))
        .then(|| u16::from_be_bytes([icmp[6], icmp[7]]))
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn the_health_file_is_replaced_whole_and_nothing_is_left_beside_it() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("health");
        std::fs::write(&path, "0\n").expect("keepalived's init_file");
        replace_file(&path, "-127\n").expect("replaced");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "-127\n");
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("list").collect();
        assert_eq!(left.len(), 1, "no temporary file left");
        assert!(replace_file(&dir.path().join("gone/health"), "1\n").is_err());
    }

    const SOURCE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
    const SOURCE_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2));

    #[test]
    fn an_echo_request_checksums_to_zero_and_an_icmpv6_one_is_left_to_the_kernel() {
        assert_eq!(internet_checksum(&echo_request(SOURCE, 0x1234, 7)), 0);
        let request = echo_request(SOURCE_V6, 0x1234, 7);
        assert_eq!(request[..8], [128, 0, 0, 0, 0x12, 0x34, 0, 7]);
    }

    #[test]
    fn only_our_replies_from_a_target_count() {
        let target: IpAddr = Ipv4Addr::new(192, 0, 2, 1).into();
        let reply = |source: IpAddr, kind: u8, id: u16, sequence: u16| {
            let IpAddr::V4(source) = source else {
                unreachable!()
            };
            let mut packet = vec![0x45, 0, 0, 36, 0, 0, 0, 0, 64, 1, 0, 0];
            packet.extend(source.octets());
            packet.extend([192, 0, 2, 2]);
            let mut icmp = echo_request(SOURCE, id, sequence);
            icmp[0] = kind;
            packet.extend(icmp);
            packet
        };
        let answer = |packet: &[u8], source| reply_sequence(packet, source, &[target], 9);
        assert_eq!(answer(&reply(target, 0, 9, 3), target), Some(3));
        assert_eq!(answer(&reply(target, 0, 8, 3), target), None);
        assert_eq!(answer(&reply(target, 8, 9, 3), target), None);
        let stranger: IpAddr = Ipv4Addr::new(9, 9, 9, 9).into();
        assert_eq!(answer(&reply(stranger, 0, 9, 3), stranger), None);
        assert_eq!(answer(&[0x45, 0], target), None);
    }

    #[test]
    fn only_our_icmpv6_replies_from_a_target_count() {
        let target: IpAddr = "fe80::1".parse::<Ipv6Addr>().unwrap().into();
        let reply = |kind: u8, id: u16, sequence: u16| {
            let mut icmp = echo_request(SOURCE_V6, id, sequence);
            icmp[0] = kind;
            icmp
        };
        let answer = |packet: &[u8], source| reply_sequence(packet, source, &[target], 9);
        assert_eq!(answer(&reply(129, 9, 3), target), Some(3));
        assert_eq!(answer(&reply(129, 8, 3), target), None);
        // Our own request, an IPv4 echo reply's type, a neighbour advertisement.
        assert_eq!(answer(&reply(128, 9, 3), target), None);
        assert_eq!(answer(&reply(0, 9, 3), target), None);
        assert_eq!(answer(&reply(136, 9, 3), target), None);
        assert_eq!(answer(&reply(129, 9, 3), SOURCE_V6), None, "not a target");
        assert_eq!(answer(&[129, 0], target), None);
    }

    #[test]
    fn the_generation_is_read_from_a_newgen_answer() {
        let request = nfnetlink_message(0x0a10, NLM_F_REQUEST, 0, 7, &[]);
        assert_eq!(request.len(), 20);
        assert_eq!(request[4..6], (0x0a10u16).to_ne_bytes());
        // A NEWGEN answer to request 7 with NFTA_GEN_ID = 0x01020304.
        let answer = nfnetlink_message(0x0a0f, 0, 0, 7, &[(NFTA_GEN_ID, 0x0102_0304)]);
        let message = answer_to(&answer, 7)
            .expect("the answer")
            .expect("no error");
        assert_eq!(generation_of(message), Ok(0x0102_0304));
        assert!(answer_to(&answer, 8).is_none());
    }

    #[test]
    fn a_conntrack_deletion_carries_the_mark_filter_and_an_error_answer_is_an_error() {
        let request = nfnetlink_message(
            0x0102,
            NLM_F_REQUEST | NLM_F_ACK,
            AF_UNSPEC,
            3,
            &[(CTA_MARK, 0x80_0100), (CTA_MARK_MASK, 0x80_ff00)],
        );
        assert_eq!(request.len(), 36);
        assert_eq!(
            request[16..18],
            [AF_UNSPEC, 0],
            "every family, nfnetlink version 0"
        );
        assert_eq!(request[24..28], [0x00, 0x80, 0x01, 0x00]);
        assert_eq!(request[32..36], [0x00, 0x80, 0xff, 0x00]);
        // NLMSG_ERROR with -EPERM (1), then with 0 (the ACK).
        let mut error = nfnetlink_message(NLMSG_ERROR, 0, 0, 3, &[]);
        error[16..20].copy_from_slice(&(-1i32).to_ne_bytes());
        assert!(answer_to(&error, 3).expect("the answer").is_err());
        error[16..20].copy_from_slice(&0i32.to_ne_bytes());
        assert!(answer_to(&error, 3).expect("the answer").is_ok());
    }
}
