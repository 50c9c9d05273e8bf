//! Names checked once, when the model is made, and typed from then on: a
//! [`Name`], an [`InterfaceName`] or a [`NetworkUnitName`] holds only text its
//! rules accept, so the
//! plan and the backends that carry one into nft, `ip -batch`, networkd and unit
//! files need no check of their own (the templates' formatter still refuses
//! anything unsafe, as a last guard).

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use serde::Serialize;

use crate::layout::UNIT_PREFIX;

/// An entity's name: the key of `[uplinks.NAME]`, `[pools.NAME]`,
/// `[hosts.NAME]`, `[projects.NAME]` or `[vms.NAME]`, in the topology's grammar
/// (SY0013): 1 to 63 ASCII letters, digits, `-`, `_` or `.`, starting with a
/// letter or digit. Names become directory names, comments and parts of nft
/// identifiers, so the grammar is safe in all of them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Name(String);

/// A network interface's name as Linux takes it and switchyard's files can
/// hold it (SY0701): the kernel's `dev_valid_name`, but for the names its
/// per-interface sysctl directories reserve, and only ASCII letters, digits,
/// `-`, `_`, `.` and `@`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct InterfaceName(String);

/// The administrator's own systemd-networkd unit that a VLAN's `parent_unit`
/// names (SY0710): a `.network` file name, not hidden, of ASCII letters,
/// digits, `-`, `_`, `.` and `@`, at most 255 bytes and not switchyard's own
/// (`10-switchyard-`). switchyard writes a drop-in directory of that name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct NetworkUnitName(String);

impl Name {
    /// The name, or `None` when `text` is outside the grammar.
    pub fn new(text: &str) -> Option<Name> {
        is_valid_name(text).then(|| Name(text.to_owned()))
    }
}

/// Whether `name` is in the grammar of [`Name`].
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// IFNAMSIZ minus the terminating NUL.
const MAX_INTERFACE_BYTES: usize = 15;

/// `/proc/sys/net/ipv4/conf/{all,default}` hold the settings for every and for
/// new interfaces: an interface of either name would have its sysctls shadowed.
const SYSCTL_RESERVED_NAMES: &[&str] = &["all", "default"];

impl InterfaceName {
    /// The name, or why Linux (or a file switchyard writes) would not take it.
    pub fn new(text: &str) -> Result<InterfaceName, &'static str> {
        match interface_problem(text) {
            Some(problem) => Err(problem),
            None => Ok(InterfaceName(text.to_owned())),
        }
    }
}

/// Why `name` is no [`InterfaceName`]; `None` when it is one.
pub fn interface_problem(name: &str) -> Option<&'static str> {
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

/// Longest file name most Linux file systems accept.
const MAX_FILE_NAME_BYTES: usize = 255;

impl NetworkUnitName {
    /// The name, or why networkd or switchyard could not use it.
    pub fn new(text: &str) -> Result<NetworkUnitName, &'static str> {
        if text.len() > MAX_FILE_NAME_BYTES {
            Err("longer than 255 bytes")
        } else if !text.ends_with(".network") {
            Err("does not end in `.network`")
        } else if text.starts_with('.') {
            Err("a hidden file, which networkd ignores")
        } else if !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
        {
            Err("contains a character other than ASCII letters, digits, `-`, `_`, `.` and `@`")
        } else if text.starts_with(UNIT_PREFIX) {
            Err("switchyard's own unit prefix `10-switchyard-`")
        } else {
            Ok(NetworkUnitName(text.to_owned()))
        }
    }
}

/// All three read as the text they hold.
macro_rules! text {
    ($($name:ident),*) => {$(
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// A host's name is its directory in a build.
        impl AsRef<std::path::Path> for $name {
            fn as_ref(&self) -> &std::path::Path {
                self.0.as_ref()
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    )*};
}
text!(Name, InterfaceName, NetworkUnitName);

#[cfg(test)]
mod tests {
    use super::{InterfaceName, Name};

    #[test]
    fn names_outside_the_grammar_are_refused() {
        for name in ["", "-a", "a b", "a;b", "a\"b", "a\nb", &"x".repeat(64)] {
            assert_eq!(Name::new(name), None, "{name:?}");
        }
        assert_eq!(Name::new("web-1.a_b").as_deref(), Some("web-1.a_b"));
    }

    #[test]
    fn names_the_kernel_refuses_or_reserves_are_refused() {
        for name in [
            "", ".", "..", "all", "default", "a/b", "eth0:1", "a b", "a\tb",
        ] {
            assert!(
                InterfaceName::new(name).is_err(),
                "{name:?} should be refused"
            );
        }
        assert_eq!(
            InterfaceName::new("sixteen-bytes-xx"),
            Err("longer than 15 bytes")
        );
    }

    #[test]
    fn ordinary_interface_names_pass() {
        for name in [
            "eth0",
            "eth1.100",
            "up-a",
            "br_lan",
            "all0",
            "default-up",
            "fifteen-bytes-x",
        ] {
            assert_eq!(
                InterfaceName::new(name).as_deref(),
                Ok(name),
                "{name:?} should pass"
            );
        }
    }
}
