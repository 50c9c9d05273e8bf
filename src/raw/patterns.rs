//! Patterns the topology schema gives strings (the `schemars` attributes of
//! `src/raw/mod.rs`), so an editor flags a malformed value as it is typed.
//! `switchyard check` remains the authority: it also reports what a pattern
//! cannot express (host bits, overlaps, references).

/// The name grammar (SY0013): 1 to 63 ASCII letters, digits, `-`, `_` or `.`,
/// starting with a letter or digit.
pub(crate) const NAME_PATTERN: &str = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$";

/// An interface name Linux accepts (SY0701), but for the reserved `.`, `..`,
/// `all` and `default`: excluding them needs look-ahead, which the Rust regex
/// engine of some editors' TOML plugins lacks.
pub(crate) const INTERFACE_PATTERN: &str = r"^[A-Za-z0-9_.@-]{1,15}$";

/// A MAC address as the model parses it: six colon-separated octets of two
/// hexadecimal digits (SY0014).
pub(crate) const MAC_PATTERN: &str = r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$";

/// A dotted-decimal IPv4 address (SY0011), as the model parses it: four octets
/// of 0 to 255 without leading zeros.
pub(crate) const IPV4_ADDRESS_PATTERN: &str = r"^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$";

/// An IPv4 prefix (SY0011): an address with a prefix length of 0 to 32, or a
/// bare address, which `check` reads as its /32; whether host bits are set
/// (SY0012) is for `check` to say.
pub(crate) const IPV4_PREFIX_PATTERN: &str = r"^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(/(3[0-2]|[12]?[0-9]))?$";

/// The host's address on an uplink's link: a prefix of /1 to /31, as a /0 or /32
/// link leaves no room for the link and gateway routes (SY0706).
pub(crate) const LINK_PATTERN: &str = r"^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])/(3[01]|[12][0-9]|[1-9])$";

/// What a pool name must not be: only digits and dots, which `via` and `default`
/// would read as an address (SY0013). A schema says it as `"not": {"pattern": …}`.
pub(crate) const ADDRESS_LIKE_PATTERN: &str = r"^[0-9.]+$";

/// A systemd-networkd `.network` file name without a directory (SY0710).
pub(crate) const NETWORK_UNIT_PATTERN: &str = r"^[^/]+\.network$";
