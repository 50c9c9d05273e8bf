//! Boot units: per host, one oneshot service that loads the nft script and one
//! that loads the ip batch, from the directory they are installed into
//! (templates/systemd/).

use serde::Serialize;

use super::{Header, IP_BATCH, NFT_SCRIPT, nft};
use crate::plan::{self, HostPlan};

/// Where the units expect a host's `switchyard.nft` and `switchyard.ip`.
pub const INSTALL_DIR: &str = "/etc/switchyard";

/// The unit files, by their name below the host's `systemd/` directory (and the
/// template they are rendered from, `systemd/NAME`).
pub const UNITS: [&str; 2] = ["switchyard-nftables.service", "switchyard-routes.service"];

#[derive(Serialize)]
struct Context<'a> {
    header: &'a str,
    host: &'a str,
    table: &'static str,
    protocol: u8,
    install_dir: &'static str,
    nft_script: &'static str,
    ip_batch: &'static str,
}

pub fn context<'a>(host: &'a HostPlan, header: &'a Header) -> impl Serialize + 'a {
    Context {
        header: header.text(),
        host: &host.name,
        table: nft::TABLE,
        protocol: plan::ROUTE_PROTOCOL,
        install_dir: INSTALL_DIR,
        nft_script: NFT_SCRIPT,
        ip_batch: IP_BATCH,
    }
}
