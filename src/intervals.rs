//! Address intervals and prefixes, the one place the plan and the checks do
//! interval arithmetic: inclusive ranges, the painting that turns nested
//! prefixes into disjoint ranges (longest prefix wins, on `rangemap`), sorted
//! range lists, and an index of possibly overlapping prefixes. Generic over the
//! address family; IPv4 when unsaid.

use rangemap::RangeInclusiveMap;

use crate::family::{Bits, Family, V4};

/// An inclusive range of addresses of family `F`, as integers so arithmetic is plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Range<F: Family = V4> {
    pub first: F::Bits,
    pub last: F::Bits,
}

impl<F: Family> Range<F> {
    pub fn of(net: &F::Net) -> Range<F> {
        Range {
            first: F::bits(F::first(net)),
            last: F::last_bits(net),
        }
    }
    pub fn single(address: F::Addr) -> Range<F> {
        let a = F::bits(address);
        Range { first: a, last: a }
    }
    pub fn first_address(&self) -> F::Addr {
        F::address(self.first)
    }
    pub fn last_address(&self) -> F::Addr {
        F::address(self.last)
    }
    pub fn contains(&self, address: F::Addr) -> bool {
        (self.first..=self.last).contains(&F::bits(address))
    }
    /// The range written as the shortest exact text: a prefix when it is one.
    pub fn as_prefix(&self) -> Option<F::Net> {
        let len = self.first.prefix_len_to(self.last)?;
        F::net(self.first_address(), len)
    }
}

/// Disjoint ranges, each with a value; painting a range overwrites what lies
/// under it, and neighbours with equal values are joined.
#[derive(Debug, Clone)]
pub struct Painting<T: Eq + Clone, F: Family = V4> {
    map: RangeInclusiveMap<F::Bits, T>,
}

impl<T: Eq + Clone, F: Family> Painting<T, F> {
    pub fn new() -> Self {
        Painting {
            map: RangeInclusiveMap::new(),
        }
    }

    pub fn paint(&mut self, range: Range<F>, value: T) {
        self.map.insert(range.first..=range.last, value);
    }

    /// Removes every one of the sorted, disjoint `holes` from the painting. Only
    /// the holes that meet a painted range are looked at, so a few painted ranges
    /// and many holes (a host's VM addresses) cost little.
    pub fn cut(&mut self, holes: &[Range<F>]) {
        let meeting: Vec<Range<F>> = self
            .map
            .iter()
            .flat_map(|(painted, _)| overlapping(holes, Range::from(painted)))
            .copied()
            .collect();
        for hole in meeting {
            self.map.remove(hole.first..=hole.last);
        }
    }

    /// Sorted, disjoint ranges with their values.
    pub fn into_ranges(self) -> Vec<(Range<F>, T)> {
        self.map
            .into_iter()
            .map(|(range, value)| (Range::from(&range), value))
            .collect()
    }
}

impl<T: Eq + Clone, F: Family> Default for Painting<T, F> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: Family> From<&std::ops::RangeInclusive<F::Bits>> for Range<F> {
    fn from(range: &std::ops::RangeInclusive<F::Bits>) -> Range<F> {
        Range {
            first: *range.start(),
            last: *range.end(),
        }
    }
}

/// Sorts and joins overlapping or adjacent ranges.
pub fn merge<F: Family>(mut ranges: Vec<Range<F>>) -> Vec<Range<F>> {
    ranges.sort();
    let mut out: Vec<Range<F>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match out.last_mut() {
            Some(previous)
                if previous
                    .last
                    .checked_next()
                    .is_none_or(|next| range.first <= next) =>
            {
                previous.last = previous.last.max(range.last);
            }
            _ => out.push(range),
        }
    }
    out
}

/// Does any of the sorted, disjoint `ranges` contain `address`?
pub fn any_contains<F: Family>(ranges: &[Range<F>], address: F::Addr) -> bool {
    let a = F::bits(address);
    let i = ranges.partition_point(|r| r.last < a);
    ranges.get(i).is_some_and(|r| r.first <= a)
}

/// The sorted, disjoint `ranges` that overlap `range`.
pub fn overlapping<F: Family>(ranges: &[Range<F>], range: Range<F>) -> &[Range<F>] {
    let start = ranges.partition_point(|r| r.last < range.first);
    let end = ranges.partition_point(|r| r.first <= range.last);
    &ranges[start..end.max(start)]
}

/// Two prefixes overlap exactly when one contains the other.
pub fn prefixes_overlap<F: Family>(a: &F::Net, b: &F::Net) -> bool {
    let (a, b) = (Range::<F>::of(a), Range::<F>::of(b));
    a.first <= b.last && b.first <= a.last
}

/// Prefixes that may overlap each other (so not a painting), each with an item.
/// Answers "does any stored prefix overlap this one?" in O(log n) per prefix
/// length stored, so checks stay linear-ish on topologies with 100k VMs (whose
/// addresses and networks come in one or two lengths).
pub struct PrefixIndex<'a, T, F: Family = V4> {
    /// Sorted by first address, then length; equal prefixes in the order given.
    by_network: Vec<(Range<F>, u8, &'a T)>,
    /// The lengths of the stored prefixes, ascending, each once.
    lengths: Vec<u8>,
}

impl<'a, T, F: Family> PrefixIndex<'a, T, F> {
    pub fn new(items: impl IntoIterator<Item = (F::Net, &'a T)>) -> Self {
        let mut by_network: Vec<_> = items
            .into_iter()
            .map(|(net, item)| (Range::of(&net), F::prefix_len(&net), item))
            .collect();
        by_network.sort_by_key(|(range, len, _)| (range.first, *len));
        let mut lengths: Vec<u8> = by_network.iter().map(|(_, len, _)| *len).collect();
        lengths.sort_unstable();
        lengths.dedup();
        PrefixIndex {
            by_network,
            lengths,
        }
    }

    /// A stored prefix that contains `prefix` or lies inside it: the
    /// shortest containing one (the last given of equal ones), else the first
    /// inside it.
    pub fn overlapping(&self, prefix: &F::Net) -> Option<&'a T> {
        let range = Range::<F>::of(prefix);
        let containing = (self.lengths.iter())
            .take_while(|len| **len <= F::prefix_len(prefix))
            .find_map(|&len| {
                let supernet = F::net(range.first_address(), len)?;
                self.exact(F::bits(F::first(&supernet)), len)
            });
        containing.or_else(|| {
            let first = self
                .by_network
                .partition_point(|(net, _, _)| net.first < range.first);
            self.by_network
                .get(first)
                .filter(|(net, _, _)| net.first <= range.last)
                .map(|(_, _, item)| *item)
        })
    }

    /// The item of the stored prefix that starts at `first` and is `len`
    /// long, the last given if several are.
    fn exact(&self, first: F::Bits, len: u8) -> Option<&'a T> {
        let end = (self.by_network).partition_point(|(net, l, _)| (net.first, *l) <= (first, len));
        let (net, l, item) = self.by_network[..end].last()?;
        (net.first == first && *l == len).then_some(*item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ipnet::Ipv4Net;
    use std::net::Ipv4Addr;

    fn net(text: &str) -> Range {
        Range::of(&text.parse().unwrap())
    }

    fn span(first: &str, last: &str) -> Range {
        Range {
            first: first.parse::<Ipv4Addr>().unwrap().into(),
            last: last.parse::<Ipv4Addr>().unwrap().into(),
        }
    }

    #[test]
    fn nested_paint_splits_outer_range() {
        let mut painting = Painting::new();
        painting.paint(net("10.0.0.0/8"), 'a');
        painting.paint(net("10.1.0.0/16"), 'b');
        let ranges = painting.into_ranges();
        assert_eq!(
            ranges,
            vec![
                (span("10.0.0.0", "10.0.255.255"), 'a'),
                (net("10.1.0.0/16"), 'b'),
                (span("10.2.0.0", "10.255.255.255"), 'a'),
            ]
        );
    }

    #[test]
    fn cut_removes_holes_and_edges() {
        let mut painting = Painting::new();
        painting.paint(net("0.0.0.0/0"), 1);
        painting.cut(&merge(vec![
            net("0.0.0.0/8"),
            net("10.0.0.0/24"),
            net("172.16.0.1/32"),
            net("255.255.255.255/32"),
        ]));
        let ranges: Vec<_> = painting.into_ranges().into_iter().map(|(r, _)| r).collect();
        assert_eq!(
            ranges,
            vec![
                span("1.0.0.0", "9.255.255.255"),
                span("10.0.1.0", "172.16.0.0"),
                span("172.16.0.2", "255.255.255.254"),
            ]
        );
    }

    #[test]
    fn cut_ignores_holes_outside_the_painting() {
        let mut painting = Painting::new();
        painting.paint(net("100.64.0.0/10"), 'a');
        painting.cut(&[net("10.0.0.0/8"), net("100.65.0.0/16"), net("192.0.2.0/24")]);
        assert_eq!(
            painting.into_ranges(),
            vec![
                (span("100.64.0.0", "100.64.255.255"), 'a'),
                (span("100.66.0.0", "100.127.255.255"), 'a'),
            ]
        );
    }

    #[test]
    fn equal_neighbours_join() {
        let mut painting = Painting::new();
        painting.paint(net("10.0.0.0/25"), 'a');
        painting.paint(net("10.0.0.128/25"), 'a');
        assert_eq!(painting.into_ranges(), vec![(net("10.0.0.0/24"), 'a')]);
    }

    #[test]
    fn prefix_index_finds_containing_then_contained() {
        let nets: Vec<(Ipv4Net, char)> = [
            ("10.0.0.0/8", 'a'),
            ("10.1.0.0/16", 'b'),
            ("10.1.0.0/16", 'c'),
            ("192.0.2.7/32", 'd'),
            ("192.0.2.9/32", 'e'),
        ]
        .map(|(net, item)| (net.parse().unwrap(), item))
        .into();
        let index = PrefixIndex::<_, V4>::new(nets.iter().map(|(net, item)| (*net, item)));
        let overlapping = |prefix: &str| index.overlapping(&prefix.parse().unwrap()).copied();
        // The shortest containing prefix wins; of equal ones, the last given.
        assert_eq!(overlapping("10.1.2.0/24"), Some('a'));
        assert_eq!(overlapping("10.1.0.0/16"), Some('a'));
        assert_eq!(overlapping("11.0.0.0/8"), None);
        // Else the first stored prefix inside it.
        assert_eq!(overlapping("192.0.2.0/24"), Some('d'));
        assert_eq!(overlapping("192.0.2.9/32"), Some('e'));
        assert_eq!(overlapping("192.0.2.8/32"), None);
        let nested = PrefixIndex::<_, V4>::new(nets[1..3].iter().map(|(net, item)| (*net, item)));
        assert_eq!(
            nested.overlapping(&"10.1.0.0/24".parse().unwrap()),
            Some(&'c')
        );
    }

    #[test]
    fn merge_joins_adjacent_and_overlapping() {
        let merged = merge(vec![
            net("10.0.0.1/32"),
            net("10.0.0.0/32"),
            net("10.0.0.0/30"),
            net("10.0.1.0/24"),
        ]);
        assert_eq!(merged, vec![net("10.0.0.0/30"), net("10.0.1.0/24")]);
    }

    #[test]
    fn prefix_form_only_for_aligned_power_of_two() {
        assert_eq!(
            net("10.0.0.0/24").as_prefix(),
            Some("10.0.0.0/24".parse().unwrap())
        );
        assert_eq!(Range::<V4> { first: 1, last: 2 }.as_prefix(), None);
        assert_eq!(
            net("0.0.0.0/0").as_prefix(),
            Some("0.0.0.0/0".parse().unwrap())
        );
    }
}
