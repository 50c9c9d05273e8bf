//! SY0701, SY0703: interface names are ones Linux accepts (the kernel's
//! `dev_valid_name`, plus the names its per-interface sysctl directories reserve)
//! and that are safe to write into nft, ip and networkd files; no interface serves
//! two roles on a host (a LAN, an uplink, a pair's sync link).

use std::collections::HashMap;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Model, Spanned};

/// IFNAMSIZ minus the terminating NUL.
const MAX_INTERFACE_BYTES: usize = 15;

/// `/proc/sys/net/ipv4/conf/{all,default}` hold the settings for every and for
/// new interfaces: an interface of either name would have its sysctls shadowed.
const SYSCTL_RESERVED_NAMES: &[&str] = &["all", "default"];

pub fn check(model: &Model, out: &mut Diagnostics) {
    for host in &model.hosts {
        let vlan_parents = host
            .attachments
            .iter()
            .filter_map(|a| a.vlan.as_ref().map(|v| &v.parent));
        let sync_link = host.ha.as_ref().map(|ha| &ha.sync_interface);
        for name in host
            .lan
            .iter()
            .chain(host.attachments.iter().map(|a| &a.interface))
            .chain(vlan_parents)
            .chain(sync_link)
        {
            if let Some(problem) = problem(name) {
                out.push(
                    Diagnostic::new(
                        Code::BadInterfaceName,
                        format!(
                            "`{}` is not a usable interface name: {problem}",
                            name.value.escape_debug()
                        ),
                        name.span.clone(),
                        problem,
                    )
                    .help(
                        "use 1 to 15 ASCII letters, digits, `-`, `_`, `.` or `@`, \
                         other than `.`, `..`, `all` and `default`",
                    ),
                );
            }
        }
        let mut seen: HashMap<&str, &Spanned<String>> = HashMap::new();
        for name in host
            .lan
            .iter()
            .chain(host.attachments.iter().map(|a| &a.interface))
            .chain(sync_link)
        {
            if let Some(first) = seen.insert(&name.value, name) {
                let (interface, host) = (&name.value, &host.name.value);
                out.push(Diagnostic::used_again(
                    Code::InterfaceUsedTwice,
                    format!("interface `{interface}` is used twice on host `{host}`"),
                    name.span.clone(),
                    first.span.clone(),
                ));
            }
        }
    }
}

/// Why Linux (or a file switchyard writes) would not take `name` as an
/// interface name; `None` when it is usable.
pub fn problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("empty")
    } else if name.len() > MAX_INTERFACE_BYTES {
        Some("longer than 15 bytes")
    } else if name == "." || name == ".." {
        Some("reserved by the kernel")
    } else if SYSCTL_RESERVED_NAMES.contains(&name) {
        Some("reserved by the kernel's per-interface sysctls")
    } else if name.contains('/') {
        Some("contains `/`")
    } else if name.contains(':') {
        Some("contains `:` (the kernel's address-alias syntax)")
    } else if name.chars().any(char::is_whitespace) {
        Some("contains whitespace")
    } else if name.chars().any(|c| c == '"' || c == '\'') {
        Some("contains a quote")
    } else if name.chars().any(char::is_control) {
        Some("contains a control character")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
    {
        Some("contains a character outside [A-Za-z0-9-_.@]")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::problem;

    #[test]
    fn names_the_kernel_refuses_or_reserves_are_refused() {
        for name in [
            "", ".", "..", "all", "default", "a/b", "eth0:1", "a b", "a\tb",
        ] {
            assert!(problem(name).is_some(), "{name:?} should be refused");
        }
        assert_eq!(problem("sixteen-bytes-xx"), Some("longer than 15 bytes"));
    }

    #[test]
    fn ordinary_names_pass() {
        for name in [
            "eth0",
            "eth1.100",
            "up-a",
            "br_lan",
            "all0",
            "default-up",
            "fifteen-bytes-x",
        ] {
            assert_eq!(problem(name), None, "{name:?} should pass");
        }
    }
}
