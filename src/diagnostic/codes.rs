//! The table of every diagnostic code: its stable number, severity and title.

use std::fmt;

use super::Severity;

macro_rules! codes {
    ($($variant:ident = $code:literal, $severity:ident, $title:literal;)*) => {
        /// Every diagnostic code. Codes are stable: never renumber, only add.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }
            /// One line saying what the code means, for docs and `--help`.
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }
        }
    };
}

codes! {
    TomlSyntax = "SY0001", Error, "the file is not valid TOML";
    WrongType = "SY0002", Error, "a key has the wrong type or a required key is missing";
    UnknownKey = "SY0003", Error, "unknown key";
    UnsupportedVersion = "SY0004", Error, "unsupported format version";
    InputTooLarge = "SY0005", Error, "the input exceeds switchyard's size limit";
    OutOfRange = "SY0010", Error, "a number is out of its allowed range";
    BadAddress = "SY0011", Error, "not an IP address or prefix";
    HostBitsSet = "SY0012", Error, "a prefix has host bits set";
    BadName = "SY0013", Error, "a name does not follow the name grammar";
    BadMac = "SY0014", Error, "not a MAC address";
    UnknownUplink = "SY0101", Error, "reference to an unknown uplink";
    UnknownPool = "SY0102", Error, "reference to an unknown pool";
    UnknownHost = "SY0103", Error, "reference to an unknown host";
    UnknownProject = "SY0104", Error, "reference to an unknown project";
    PoolOverlap = "SY0201", Error, "two pools overlap";
    DuplicateUplinkId = "SY0202", Error, "two uplinks share an id (and so a mark)";
    DuplicateTable = "SY0203", Error, "two uplinks share a routing table, or a table is reserved";
    TooManyPools = "SY0204", Error, "more pools than the mark layout can number (255)";
    ReservedOutsidePool = "SY0205", Error, "a reserved address lies outside its pool";
    AddressOutsidePools = "SY0301", Error, "a project address lies outside every pool";
    PoolNotAllowed = "SY0302", Error, "a project uses a pool its ACL does not allow";
    AddressReserved = "SY0303", Error, "a project address is reserved in its pool";
    AddressNotUsable = "SY0304", Error, "a project address is its pool's network or broadcast address";
    AddressAllocatedTwice = "SY0305", Error, "an address is allocated to two projects (or twice to one)";
    OverQuota = "SY0306", Error, "a project holds more addresses of a pool than its quota";
    PublicNotAllocated = "SY0401", Error, "a VM's public address is not allocated to its project";
    PublicUsedTwice = "SY0402", Error, "a public address is used by two VMs";
    SamePoolTwice = "SY0403", Error, "a VM has two public addresses from one pool";
    ViaNotOwned = "SY0404", Error, "a via/default names an address the VM does not own";
    ViaPoolWithoutAddress = "SY0405", Error, "a via/default names a pool in which the VM has no address";
    UplinkNotAttached = "SY0406", Error, "a VM's host has no attachment to the uplink of one of its pools";
    ProjectViaNotPool = "SY0407", Error, "a project-wide via/default must name a pool";
    ConflictingEgress = "SY0501", Error, "the same destination twice in one scope with different vias";
    EgressOverlapsInternal = "SY0502", Error, "an egress prefix overlaps an internal network";
    DuplicatePrivateAddress = "SY0601", Error, "two VMs share a private address on one host";
    AddressOutsideNetworks = "SY0602", Error, "a VM address lies outside its project's networks";
    PrivateInsidePool = "SY0603", Error, "a private address or network lies inside a public pool";
    PrivateNotUnicast = "SY0604", Error, "a VM private address is not a usable unicast host address";
    MacNotUnicast = "SY0605", Error, "a VM's MAC is multicast, broadcast or all-zero";
    DuplicateMac = "SY0606", Error, "two VMs share a MAC on one host";
    BadInterfaceName = "SY0701", Error, "an interface name Linux would refuse";
    GatewayOutsideLink = "SY0702", Error, "a gateway outside its link";
    InterfaceUsedTwice = "SY0703", Error, "an interface is used twice on one host";
    VlanOwnParent = "SY0704", Error, "a VLAN uplink is its own parent";
    DuplicateVlanId = "SY0705", Error, "the same VLAN id twice on one parent of a host";
    UnroutableLinkPrefix = "SY0706", Error, "an uplink link's prefix length leaves no room for its routes (/0 or /32)";
    UplinkAddressNotUsable = "SY0707", Error, "a host's uplink address is its link's network or broadcast address";
    AddressIsUplinkAddress = "SY0708", Error, "a project or VM address is also a host's uplink address or gateway";
    VmsWithoutLan = "SY0709", Error, "a host with VMs has no LAN interface";
    BadParentUnit = "SY0710", Error, "a VLAN's parent_unit is not a .network file name switchyard can extend";
    ParentUnitConflict = "SY0711", Error, "a VLAN's parent_unit conflicts with another attachment on its parent";
    BadProbeTarget = "SY0712", Error, "a failover probe target is not a unicast address beyond the host";
    UplinkLinksOverlap = "SY0713", Error, "two uplinks of a host are on overlapping link subnets";
    LinkOverlapsInternal = "SY0714", Error, "an uplink's link subnet overlaps a project network, a pool or a VM of the host";
    LanIsVlanParent = "SY0715", Error, "a LAN interface is a VLAN parent without its own parent_unit";
    HaMembers = "SY0801", Error, "an HA pair's members are not two distinct names";
    HaMemberName = "SY0802", Error, "an HA member's name is also a host or a member of another pair";
    HaVrid = "SY0803", Error, "an HA pair's VRRP id is out of 1..=255";
    HaPairLength = "SY0804", Error, "a list in members' order does not have one entry per member";
    HaSyncLink = "SY0805", Error, "an HA pair's sync addresses are not two host addresses of one link";
    MemberAddressOutsideLink = "SY0806", Error, "an HA member's address is not a host address of its uplink's link";
    HaLinkTooSmall = "SY0807", Error, "an uplink link too small for the shared address, the gateway and both members";
    HaAddressTwice = "SY0808", Error, "the same address twice among an HA pair's addresses";
    HaMemberAddresses = "SY0809", Error, "member_addresses missing on an uplink of an HA host, or given without ha";
    HaWithoutFailover = "SY0810", Error, "an HA host without [failover]: nothing would feed VRRP the uplinks' health";
    HaLanAddresses = "SY0811", Error, "an HA host's lan_addresses are missing or have no LAN interface to go on";
    NoDefault = "SY0901", Warning, "a VM with public addresses has no default egress";
    UnusedAddress = "SY0902", Warning, "an allocated address no VM uses";
    ShadowedEgress = "SY0903", Warning, "an egress entry that can never win";
    ProjectEgressSkipped = "SY0904", Warning, "a project-wide preference does not apply to a VM without an address in its pool";
    NoFailoverAlternative = "SY0905", Warning, "with [failover], a VM decision whose candidates all leave by one uplink while the VM has others";
    TwoOfOneFamily = "SY1001", Error, "two addresses or prefixes of one family where a key holds one per family";
    ViaOtherFamily = "SY1002", Error, "a via address of another family than its entry's destination";
    NotGlobalAddress = "SY1003", Error, "a link-local, multicast, loopback or unspecified IPv6 address where a VM, project or pool address is expected";
    SubnetRouterAnycast = "SY1004", Error, "an IPv6 pool's subnet-router anycast address (the prefix itself) is allocated";
    GatewayFamily = "SY1005", Error, "an uplink address without a gateway of its family, or a gateway without an address";
    HaIpv6Uplink = "SY1006", Error, "an IPv6 address on an uplink of an HA host (a pair's members have IPv4 uplink addresses only)";
}

impl Code {
    /// The code written `name` (`SY0101`, in any case).
    pub fn parse(name: &str) -> Option<Code> {
        Code::ALL
            .iter()
            .copied()
            .find(|code| code.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
