//! The addresses a member's `keepalived.conf` lets keepalived add: the pair's
//! shared addresses (docs/semantics.md §12). On the active member they sit on
//! the interfaces whose addresses are switchyard's, beside the member's own;
//! which member holds them is keepalived's decision, so `verify` and `apply`
//! neither require nor remove them.
//!
//! Read from the file keepalived reads, not from the topology: what keepalived
//! adds is what that file says, templates overridden or not.

use std::collections::BTreeSet;

/// `(interface, ADDRESS/LEN)` of every `virtual_ipaddress` line with a `dev`
/// (keepalived reads an address without a length as a /32).
pub fn addresses(conf: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    let mut in_block = false;
    for line in conf.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.starts_with("virtual_ipaddress") && line.ends_with('{') {
            in_block = true;
            continue;
        }
        if !in_block {
            continue;
        }
        if line.starts_with('}') {
            in_block = false;
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let device = words
            .windows(2)
            .find(|pair| pair[0] == "dev")
            .map(|pair| pair[1]);
        if let (Some(address), Some(device)) = (words.first(), device) {
            let address = if address.contains('/') {
                (*address).to_owned()
            } else {
                format!("{address}/32")
            };
            found.insert((device.to_owned(), address));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_virtual_address_with_its_device_and_nothing_else() {
        let conf = "vrrp_instance net1 {\n    interface ha0\n    unicast_peer {\n        10.255.0.2\n    }\n    virtual_ipaddress {\n        10.0.0.1/24 dev lan0\n        192.0.2.2/29 dev up-a no_track # shared\n        198.18.0.2 dev up-b\n    }\n    notify \"/bin/sh x\"\n}\n";
        let found: Vec<(String, String)> = super::addresses(conf).into_iter().collect();
        let pair = |d: &str, a: &str| (d.to_owned(), a.to_owned());
        assert_eq!(
            found,
            [
                pair("lan0", "10.0.0.1/24"),
                pair("up-a", "192.0.2.2/29"),
                pair("up-b", "198.18.0.2/32")
            ]
        );
    }
}
