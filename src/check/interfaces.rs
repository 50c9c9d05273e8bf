//! SY0701, SY0703: interface names are ones Linux accepts and that are safe to
//! write into nft, ip and networkd files; no interface serves two roles on a host.

use std::collections::HashMap;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Model, Spanned};

/// IFNAMSIZ minus the terminating NUL.
const MAX_INTERFACE_BYTES: usize = 15;

pub fn check(model: &Model, out: &mut Diagnostics) {
    for host in &model.hosts {
        let vlan_parents = host
            .attachments
            .iter()
            .filter_map(|a| a.vlan.as_ref().map(|v| &v.parent));
        for name in host
            .lan
            .iter()
            .chain(host.attachments.iter().map(|a| &a.interface))
            .chain(vlan_parents)
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
                    .help("use 1 to 15 ASCII letters, digits, `-`, `_`, `.` or `@`"),
                );
            }
        }
        let mut seen: HashMap<&str, &Spanned<String>> = HashMap::new();
        for name in host
            .lan
            .iter()
            .chain(host.attachments.iter().map(|a| &a.interface))
        {
            if let Some(first) = seen.insert(&name.value, name) {
                out.push(
                    Diagnostic::new(
                        Code::InterfaceUsedTwice,
                        format!(
                            "interface `{}` is used twice on host `{}`",
                            name.value, host.name.value
                        ),
                        name.span.clone(),
                        "used again",
                    )
                    .also(first.span.clone(), "first used here"),
                );
            }
        }
    }
}

fn problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("empty")
    } else if name.len() > MAX_INTERFACE_BYTES {
        Some("longer than 15 bytes")
    } else if name == "." || name == ".." {
        Some("reserved by the kernel")
    } else if name.contains('/') {
        Some("contains `/`")
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
