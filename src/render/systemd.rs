//! Boot units: per host, one oneshot service that applies the nft table early
//! and one that applies the whole build once the uplinks exist, both with
//! `switchyard apply` from the build installed on the host (templates/systemd/).

use minijinja::Value;
use serde::Serialize;

use super::{Header, Verbatim, monitor, nft};
use crate::family::V6;
use crate::model::InterfaceName;
use crate::plan::{self, HostPlan};

/// Where the units expect the build (manifest.json and the host's directory).
pub const BUILD_DIR: &str = "/etc/switchyard/build";

/// The unit files, by their name below the host's `systemd/` directory (and the
/// template they are rendered from, `systemd/NAME`).
pub const UNITS: [&str; 2] = ["switchyard-nftables.service", "switchyard-routes.service"];

#[derive(Serialize)]
struct Context<'a> {
    header: Verbatim<'a>,
    host: &'a str,
    table: &'static str,
    protocol: u8,
    binary: &'static str,
    build_dir: &'static str,
    /// The device units of the uplink and LAN interfaces and a member's sync
    /// link (`sys-subsystem-net-devices-up\x2da.device`): the routing names
    /// the uplinks and the sync link, the sysctl file the uplinks and LANs.
    /// Escaped (`\x2d`): written as is.
    devices: Vec<Value>,
    /// The host forwards IPv6 ([`HostPlan::forwards`]).
    ipv6: bool,
}

pub fn boot_unit_context<'a>(host: &'a HostPlan, header: &'a Header) -> impl Serialize + 'a {
    let mut devices: Vec<String> = host
        .uplinks
        .iter()
        .map(|uplink| uplink.interface.as_str())
        .chain(host.lan.iter().map(InterfaceName::as_str))
        .chain(host.sync_link().map(|link| link.interface))
        .map(device_unit)
        .collect();
    devices.sort();
    devices.dedup();
    Context {
        header: header.verbatim(),
        host: &host.name,
        table: nft::TABLE,
        protocol: plan::ROUTE_PROTOCOL,
        binary: monitor::BINARY,
        build_dir: BUILD_DIR,
        devices: devices.into_iter().map(Value::from_safe_string).collect(),
        ipv6: host.forwards::<V6>(),
    }
}

/// The device unit systemd makes for a network interface: its sysfs path,
/// escaped as `systemd-escape --path` does (`-` and anything but ASCII
/// letters, digits, `:`, `_` and a `.` that does not lead becomes `\xNN`).
fn device_unit(interface: &str) -> String {
    let escaped: String = interface
        .bytes()
        .enumerate()
        .map(|(index, byte)| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b':' | b'_' => (byte as char).to_string(),
            b'.' if index > 0 => ".".to_owned(),
            _ => format!("\\x{byte:02x}"),
        })
        .collect();
    format!("sys-subsystem-net-devices-{escaped}.device")
}

#[cfg(test)]
mod tests {
    #[test]
    fn device_units_are_named_as_systemd_escape_names_them() {
        assert_eq!(
            super::device_unit("up-a"),
            r"sys-subsystem-net-devices-up\x2da.device"
        );
        assert_eq!(
            super::device_unit("eth1.100"),
            "sys-subsystem-net-devices-eth1.100.device"
        );
    }
}
