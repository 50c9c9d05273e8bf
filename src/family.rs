//! The two address families (docs/semantics.md §13). Everything that differs
//! between IPv4 and IPv6 is here, as the [`Family`] trait implemented by the
//! marker types [`V4`] and [`V6`]: the address and prefix types, the integers
//! intervals are computed on, and the words the artifacts use. Model, plan and
//! render are written once, generic over `F: Family`, and run once per family.
//!
//! [`Both`] holds one value per family, typed by family: `Both<P>` holds
//! `P::Of<V4>` and `P::Of<V6>`, and generic code takes its family's with
//! [`Family::of`].

use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// An address as an unsigned integer, so intervals are plain arithmetic.
pub trait Bits: Copy + Ord + Hash + Debug + Send + Sync + rangemap::StepLite + 'static {
    const ZERO: Self;
    const MAX: Self;
    /// The next integer, `None` past the last address.
    fn checked_next(self) -> Option<Self>;
    /// The previous integer; never called on zero.
    fn previous(self) -> Self;
    /// With `last >= self`: the prefix length of exactly `self..=last`, if
    /// the range is one prefix.
    fn prefix_len_to(self, last: Self) -> Option<u8>;
}

macro_rules! bits {
    ($($t:ty),*) => {$(
        impl Bits for $t {
            const ZERO: Self = 0;
            const MAX: Self = <$t>::MAX;
            fn checked_next(self) -> Option<Self> {
                self.checked_add(1)
            }
            fn previous(self) -> Self {
                self - 1
            }
            fn prefix_len_to(self, last: Self) -> Option<u8> {
                // A prefix is an aligned block whose size is a power of two:
                // the span is all ones below some bit, and the start has none.
                let span = last - self;
                let aligned = span & span.wrapping_add(1) == 0 && self & span == 0;
                aligned.then(|| (<$t>::BITS - span.count_ones()) as u8)
            }
        }
    )*};
}
bits!(u32, u128);

/// One address family. Implemented by [`V4`] and [`V6`] only.
pub trait Family:
    Copy + Debug + Default + PartialEq + Eq + PartialOrd + Ord + Hash + Send + Sync + 'static
{
    type Addr: Copy + Ord + Hash + Debug + Display + FromStr + Send + Sync + Into<IpAddr> + 'static;
    type Net: Copy + Ord + Hash + Debug + Display + Send + Sync + Into<IpNet> + 'static;
    type Bits: Bits;

    /// "IPv4" or "IPv6", for messages.
    const NAME: &'static str;
    /// The longest prefix: 32 or 128.
    const MAX_PREFIX_LEN: u8;

    fn bits(address: Self::Addr) -> Self::Bits;
    fn address(bits: Self::Bits) -> Self::Addr;
    /// This family's address, if `address` is one.
    fn of_ip(address: IpAddr) -> Option<Self::Addr>;
    /// This family's prefix, if `net` is one.
    fn of_net(net: IpNet) -> Option<Self::Net>;
    fn net(address: Self::Addr, prefix_len: u8) -> Option<Self::Net>;
    /// The prefix's address as written (host bits kept).
    fn net_address(net: &Self::Net) -> Self::Addr;
    fn prefix_len(net: &Self::Net) -> u8;

    /// This family's value of `both`.
    fn of<P: PerFamily>(both: &Both<P>) -> &P::Of<Self>;
    fn of_mut<P: PerFamily>(both: &mut Both<P>) -> &mut P::Of<Self>;

    /// The first address of `net`.
    fn first(net: &Self::Net) -> Self::Addr;
    /// The last address of `net`.
    fn last(net: &Self::Net) -> Self::Addr {
        Self::address(Self::last_bits(net))
    }
    fn last_bits(net: &Self::Net) -> Self::Bits;
    fn contains(net: &Self::Net, address: Self::Addr) -> bool {
        let a = Self::bits(address);
        Self::bits(Self::first(net)) <= a && a <= Self::last_bits(net)
    }
}

/// What a [`Both`] holds for each family: `Of<V4>` and `Of<V6>`.
pub trait PerFamily {
    type Of<F: Family>;
}

/// One value per family.
pub struct Both<P: PerFamily> {
    pub v4: P::Of<V4>,
    pub v6: P::Of<V6>,
}

impl<P: PerFamily> Both<P> {
    pub fn get<F: Family>(&self) -> &P::Of<F> {
        F::of(self)
    }
}

impl<P: PerFamily> Clone for Both<P>
where
    P::Of<V4>: Clone,
    P::Of<V6>: Clone,
{
    fn clone(&self) -> Self {
        Both {
            v4: self.v4.clone(),
            v6: self.v6.clone(),
        }
    }
}

impl<P: PerFamily> Default for Both<P>
where
    P::Of<V4>: Default,
    P::Of<V6>: Default,
{
    fn default() -> Self {
        Both {
            v4: Default::default(),
            v6: Default::default(),
        }
    }
}

impl<P: PerFamily> Debug for Both<P>
where
    P::Of<V4>: Debug,
    P::Of<V6>: Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Both")
            .field("v4", &self.v4)
            .field("v6", &self.v6)
            .finish()
    }
}

impl<P: PerFamily> PartialEq for Both<P>
where
    P::Of<V4>: PartialEq,
    P::Of<V6>: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        self.v4 == other.v4 && self.v6 == other.v6
    }
}

impl<P: PerFamily> Eq for Both<P>
where
    P::Of<V4>: Eq,
    P::Of<V6>: Eq,
{
}

/// IPv4.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct V4;

/// IPv6.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct V6;

macro_rules! family {
    ($family:ident, $addr:ty, $net:ty, $bits:ty, $name:literal, $len:literal, $ip:ident, $field:ident) => {
        impl Family for $family {
            type Addr = $addr;
            type Net = $net;
            type Bits = $bits;
            const NAME: &'static str = $name;
            const MAX_PREFIX_LEN: u8 = $len;

            fn bits(address: $addr) -> $bits {
                <$bits>::from(address)
            }
            fn address(bits: $bits) -> $addr {
                <$addr>::from(bits)
            }
            fn of_ip(address: IpAddr) -> Option<$addr> {
                match address {
                    IpAddr::$ip(address) => Some(address),
                    _ => None,
                }
            }
            fn of_net(net: IpNet) -> Option<$net> {
                match net {
                    IpNet::$ip(net) => Some(net),
                    _ => None,
                }
            }
            fn net(address: $addr, prefix_len: u8) -> Option<$net> {
                <$net>::new(address, prefix_len).ok()
            }
            fn net_address(net: &$net) -> $addr {
                net.addr()
            }
            fn prefix_len(net: &$net) -> u8 {
                net.prefix_len()
            }
            fn first(net: &$net) -> $addr {
                net.network()
            }
            fn last_bits(net: &$net) -> $bits {
                <$bits>::from(net.broadcast())
            }
            fn of<P: PerFamily>(both: &Both<P>) -> &P::Of<Self> {
                &both.$field
            }
            fn of_mut<P: PerFamily>(both: &mut Both<P>) -> &mut P::Of<Self> {
                &mut both.$field
            }
        }
    };
}
family!(V4, Ipv4Addr, Ipv4Net, u32, "IPv4", 32, V4, v4);
family!(V6, Ipv6Addr, Ipv6Net, u128, "IPv6", 128, V6, v6);

/// The family of an address, for code that holds addresses of both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Which {
    V4,
    V6,
}

impl Which {
    pub fn of(address: IpAddr) -> Which {
        match address {
            IpAddr::V4(_) => Which::V4,
            IpAddr::V6(_) => Which::V6,
        }
    }
    pub fn of_net(net: &IpNet) -> Which {
        Which::of(net.addr())
    }
    pub fn name(self) -> &'static str {
        match self {
            Which::V4 => V4::NAME,
            Which::V6 => V6::NAME,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_is_an_aligned_power_of_two() {
        assert_eq!(0u32.prefix_len_to(u32::MAX), Some(0));
        assert_eq!(0u128.prefix_len_to(u128::MAX), Some(0));
        assert_eq!(10u32.prefix_len_to(10), Some(32));
        assert_eq!(8u128.prefix_len_to(15), Some(125));
        assert_eq!(1u32.prefix_len_to(2), None);
        assert_eq!(4u32.prefix_len_to(11), None);
    }

    #[test]
    fn first_and_last_of_a_prefix_ignore_host_bits() {
        let net: Ipv6Net = "2001:db8::5/64".parse().unwrap();
        assert_eq!(V6::first(&net), "2001:db8::".parse::<Ipv6Addr>().unwrap());
        assert_eq!(
            V6::last(&net),
            "2001:db8::ffff:ffff:ffff:ffff".parse::<Ipv6Addr>().unwrap()
        );
        assert!(V6::contains(&net, "2001:db8::1".parse().unwrap()));
        let net: Ipv4Net = "192.0.2.6/30".parse().unwrap();
        assert_eq!(V4::first(&net), Ipv4Addr::new(192, 0, 2, 4));
    }
}
