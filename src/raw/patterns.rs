//! Patterns the topology schema gives strings (the `schemars` attributes of
//! `src/raw/mod.rs`), so an editor flags a malformed value as it is typed.
//! `switchyard check` remains the authority: it also reports what a pattern
//! cannot express (host bits, overlaps, references, two of one family).
//!
//! The address patterns are built from the fragments below (macros, so that
//! `concat!` can join them into constants).

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

/// A dotted-decimal IPv4 address as the model parses it: four octets of 0 to
/// 255 without leading zeros.
macro_rules! ipv4 {
    () => {
        r"((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
    };
}

/// An IPv6 address as the model parses it (the standard library's grammar,
/// which is RFC 3986's): eight groups of one to four hex digits, the last two
/// of which may be written as an IPv4 address, and one `::` for a run of at
/// least one zero group. One alternative per number of groups before `::`.
#[rustfmt::skip]
macro_rules! ipv6 {
    () => {
        concat!(
            "(",
            "(", h16!(), ":){6}", ls32!(),
            "|::(", h16!(), ":){5}", ls32!(),
            "|(", h16!(), ")?::(", h16!(), ":){4}", ls32!(),
            "|((", h16!(), ":){0,1}", h16!(), ")?::(", h16!(), ":){3}", ls32!(),
            "|((", h16!(), ":){0,2}", h16!(), ")?::(", h16!(), ":){2}", ls32!(),
            "|((", h16!(), ":){0,3}", h16!(), ")?::", h16!(), ":", ls32!(),
            "|((", h16!(), ":){0,4}", h16!(), ")?::", ls32!(),
            "|((", h16!(), ":){0,5}", h16!(), ")?::", h16!(),
            "|((", h16!(), ":){0,6}", h16!(), ")?::",
            ")"
        )
    };
}
/// One group of an IPv6 address: one to four hex digits.
macro_rules! h16 {
    () => {
        "[0-9A-Fa-f]{1,4}"
    };
}
/// The last 32 bits of an IPv6 address: two groups or an IPv4 address.
macro_rules! ls32 {
    () => {
        concat!("(", h16!(), ":", h16!(), "|", ipv4!(), ")")
    };
}

/// An IPv4 or IPv6 address (SY0011).
pub(crate) const IP_ADDRESS_PATTERN: &str = concat!("^(", ipv4!(), "|", ipv6!(), ")$");

/// A pool's, project's or egress prefix of either family (SY0011): an address
/// with a prefix length (0 to 32, 0 to 128), or a bare address, which `check`
/// reads as its /32 or /128; whether host bits are set (SY0012) is for `check`
/// to say.
pub(crate) const IP_PREFIX_PATTERN: &str = concat!(
    "^(",
    ipv4!(),
    r"(/(3[0-2]|[12]?[0-9]))?",
    "|",
    ipv6!(),
    r"(/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))?",
    ")$"
);

/// A VM's `via` or `default`: a pool name or a public address; IPv4
/// addresses follow the name grammar, IPv6 ones do not.
pub(crate) const VIA_PATTERN: &str = concat!(r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,62}|", ipv6!(), ")$");

/// The host's IPv4 address on a link: a prefix of /1 to /31, as a /0 or /32
/// link leaves no room for the link and gateway routes (SY0706).
pub(crate) const IPV4_LINK_PATTERN: &str = concat!("^", ipv4!(), "/(3[01]|[12][0-9]|[1-9])$");

/// The host's address on a link, of either family: /1 to /31 in IPv4, /1 to
/// /128 in IPv6, where a /128 is routable with a link-local gateway (SY0706).
pub(crate) const IP_LINK_PATTERN: &str = concat!(
    "^(",
    ipv4!(),
    "/(3[01]|[12][0-9]|[1-9])",
    "|",
    ipv6!(),
    "/(12[0-8]|1[01][0-9]|[1-9][0-9]?)",
    ")$"
);

/// What `via` and `default` read as an address: only digits and dots, or
/// anything with a colon. A pool name must not be one (SY0013), nor a
/// project's `default` (SY0407). A schema says it as `"not": {"pattern": …}`.
pub(crate) const ADDRESS_LIKE_PATTERN: &str = r"^([0-9.]+|.*:.*)$";

/// A systemd-networkd `.network` file name without a directory (SY0710).
pub(crate) const NETWORK_UNIT_PATTERN: &str = r"^[^/]+\.network$";
