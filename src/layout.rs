//! The layout switchyard's artifacts share with the kernel and the operator's
//! files: which mark bits are its own, how many pools they can number, the
//! prefix of its networkd units, and the paths a machine's build and daemons
//! use. Below every stage: `check` refuses what the layout cannot hold, `plan`
//! and `render` use it.
//!
//! Mark layout (documented in docs/topology.md): switchyard owns the bits of [`MARK_MASK`];
//! bits 8–15 carry the uplink id (what `ip rule fwmark` matches), bits 16–23 the
//! pool number (what SNAT uses to pick the address). Other bits are left alone.
//! In the conntrack mark, bits 8–15 carry the uplink a connection is bound to
//! and bits 16–23 its failover group ([`MOVABLE_MARK`] and the group number):
//! what lets the monitor delete exactly the connections that may move with one
//! `conntrack -D --mark`.

/// Every mark bit switchyard reads or writes.
pub const MARK_MASK: u32 = 0x00ff_ff00;
/// The uplink id's bits: `ip rule fwmark ID<<8/UPLINK_MARK_MASK`.
pub const UPLINK_MARK_MASK: u32 = 0x0000_ff00;
/// The pool number's bits.
pub const POOL_MARK_MASK: u32 = 0x00ff_0000;
/// The conntrack-mark bits of a connection's failover group.
pub const FAILOVER_MARK_MASK: u32 = 0x00ff_0000;
/// Set in the conntrack mark of every connection a failover chain classified:
/// its candidates sit on more than one uplink.
pub const MOVABLE_MARK: u32 = 0x0080_0000;
/// Failover groups are numbered 1..=127 (bits 16–22); a host with more distinct
/// uplink sets gives the rest number 0 (`MOVABLE_MARK` alone).
pub const MAX_FAILOVER_GROUPS: usize = 127;
/// Pools are numbered 1..=255 to fit their mark bits.
pub const MAX_POOLS: usize = 255;

/// A mark or mask as nft, `ip rule` and `monitor.json`'s readers show it:
/// `0x` and eight hexadecimal digits.
pub fn hex(mark: u32) -> String {
    format!("{mark:#010x}")
}

/// Prefix of every file name switchyard writes into the networkd directory: sorts
/// before most distribution defaults, so these units win for their interfaces,
/// and marks the files a deployment may remove when a build no longer has them.
pub const UNIT_PREFIX: &str = "10-switchyard-";

/// Where configuration management installs a machine's build (docs/operations.md):
/// the boot units, keepalived and conntrackd read their files from here.
pub const CONFIG_DIR: &str = "/etc/switchyard";

/// Where a member's monitor writes its health and keepalived reads it: the
/// monitor's own runtime directory (it runs as a dynamic user).
pub const HEALTH_RUNTIME_DIRECTORY: &str = "switchyard-vrrp";
/// The health file in [`HEALTH_RUNTIME_DIRECTORY`].
pub const HEALTH_FILE: &str = "/run/switchyard-vrrp/health";
