//! SY0712: a failover probe target must be an address an ICMP echo can reach
//! through the uplink and be answered from beyond it. The host's own addresses
//! (on this link or another) are answered by the host itself, and a public
//! address of one of its VMs by that VM: either keeps a dead uplink up forever.
//! The link's network and broadcast addresses (and any multicast address) are
//! answered by no single far end, or by none, which holds a live uplink down.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Attachment, Host, HostId, Model, Spanned};

pub fn check(model: &Model, out: &mut Diagnostics) {
    // The probe targets of every host, by host and address; most topologies
    // probe a few addresses, so the VMs are looked at only against these.
    let mut targets: HashMap<(HostId, Ipv4Addr), Vec<&Spanned<Ipv4Addr>>> = HashMap::new();
    for (id, host) in model.host_ids().zip(&model.hosts) {
        for attachment in &host.attachments {
            for target in &attachment.probe {
                match problem(host, attachment, target.value) {
                    Some(problem) => out.push(bad_target(target, problem)),
                    None => targets.entry((id, target.value)).or_default().push(target),
                }
            }
        }
    }
    if targets.is_empty() {
        return;
    }
    for vm in &model.vms {
        for public in &vm.public {
            for target in targets.get(&(vm.host, public.value)).into_iter().flatten() {
                let problem = format!("a public address of VM `{}` on this host", vm.name.value);
                out.push(
                    bad_target(target, &problem).also(public.span.clone(), "the VM's address"),
                );
            }
        }
    }
}

/// What is wrong with `address` as a probe target of `attachment`, found from
/// the host's attachments alone.
fn problem(host: &Host, attachment: &Attachment, address: Ipv4Addr) -> Option<&'static str> {
    let link = attachment.address.value;
    if address.is_unspecified()
        || address.is_broadcast()
        || address.is_multicast()
        || address.is_loopback()
    {
        Some("not a unicast address")
    } else if address == link.addr() {
        Some("the host's own address on this link")
    } else if host.attachments.iter().any(|a| a.address.addr() == address) {
        Some("the host's own address on another uplink")
    } else if link.prefix_len() < 31 && address == link.network() {
        Some("the network address of this link")
    } else if link.prefix_len() < 31 && address == link.broadcast() {
        Some("the broadcast address of this link")
    } else {
        None
    }
}

fn bad_target(target: &Spanned<Ipv4Addr>, problem: &str) -> Diagnostic {
    Diagnostic::new(
        Code::BadProbeTarget,
        format!("probe target {} is {problem}", target.value),
        target.span.clone(),
        problem.to_owned(),
    )
    .help("probe the gateway (the default) or a well-connected address beyond it")
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::{Code, Source};

    /// The messages of the SY0712 diagnostics for a host probing `probe` on isp-a
    /// (192.0.2.2/29); its VM web-1 has 198.51.100.7.
    fn refused(probe: &str) -> Vec<String> {
        let text = format!(
            r#"version = 1
[failover]
[uplinks.isp-a]
id = 1
[uplinks.isp-b]
id = 2
[pools.pool-a]
uplink = "isp-a"
prefix = "198.51.100.0/24"
[hosts.net1]
lan = ["lan0"]
[hosts.net1.uplinks.isp-a]
interface = "up-a"
address = "192.0.2.2/29"
gateway = "192.0.2.1"
probe = ["{probe}"]
[hosts.net1.uplinks.isp-b]
interface = "up-b"
address = "198.18.0.2/30"
gateway = "198.18.0.1"
[projects.acme]
pools = ["pool-a"]
addresses = ["198.51.100.7"]
[vms.web-1]
project = "acme"
host = "net1"
address = "10.0.0.5"
public = ["198.51.100.7"]
default = "pool-a"
"#
        );
        match crate::validate(&Source::new("t.toml", text)) {
            Ok(_) => Vec::new(),
            Err(diagnostics) => diagnostics
                .iter()
                .filter(|d| d.code == Code::BadProbeTarget)
                .map(|d| d.message.clone())
                .collect(),
        }
    }

    #[test]
    fn targets_the_host_or_its_vms_answer_are_refused() {
        for (probe, problem) in [
            ("192.0.2.2", "the host's own address on this link"),
            ("198.18.0.2", "the host's own address on another uplink"),
            (
                "198.51.100.7",
                "a public address of VM `web-1` on this host",
            ),
        ] {
            assert_eq!(
                refused(probe),
                [format!("probe target {probe} is {problem}")]
            );
        }
    }

    #[test]
    fn targets_no_single_far_end_answers_are_refused() {
        for (probe, problem) in [
            ("192.0.2.0", "the network address of this link"),
            ("192.0.2.7", "the broadcast address of this link"),
            ("224.0.0.1", "not a unicast address"),
        ] {
            assert_eq!(
                refused(probe),
                [format!("probe target {probe} is {problem}")]
            );
        }
    }

    #[test]
    fn targets_beyond_the_host_pass() {
        for probe in ["192.0.2.1", "192.0.2.3", "9.9.9.9", "198.51.100.8"] {
            assert_eq!(refused(probe), Vec::<String>::new(), "{probe}");
        }
    }
}
