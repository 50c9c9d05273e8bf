//! Address intervals and prefixes, the one place the plan and the checks do
//! interval arithmetic: inclusive ranges, the painting that turns nested
//! prefixes into disjoint ranges (longest prefix wins, on `rangemap`), sorted
//! range lists, and an index of possibly overlapping prefixes.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use rangemap::RangeInclusiveMap;

/// An inclusive range of IPv4 addresses, as `u32`s so arithmetic is plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Range {
    pub first: u32,
    pub last: u32,
}

impl Range {
    pub fn of(net: &Ipv4Net) -> Range {
        Range {
            first: net.network().into(),
            last: net.broadcast().into(),
        }
    }
    pub fn single(address: Ipv4Addr) -> Range {
        let a = u32::from(address);
        Range { first: a, last: a }
    }
    pub fn first_address(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.first)
    }
    pub fn last_address(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.last)
    }
    pub fn contains(&self, address: Ipv4Addr) -> bool {
        (self.first..=self.last).contains(&u32::from(address))
    }
    /// The range written as the shortest exact text: a prefix when it is one.
    pub fn as_prefix(&self) -> Option<Ipv4Net> {
        let size = u64::from(self.last) - u64::from(self.first) + 1;
        if !size.is_power_of_two() || u64::from(self.first) % size != 0 {
            return None;
        }
        let len = 32 - size.trailing_zeros() as u8;
        Ipv4Net::new(self.first_address(), len).ok()
    }
}

/// Disjoint ranges, each with a value; painting a range overwrites what lies
/// under it, and neighbours with equal values are joined.
#[derive(Debug, Clone)]
pub struct Painting<T: Eq + Clone> {
    map: RangeInclusiveMap<u32, T>,
}

impl<T: Eq + Clone> Painting<T> {
    pub fn new() -> Self {
        Painting {
            map: RangeInclusiveMap::new(),
        }
    }

    pub fn paint(&mut self, range: Range, value: T) {
        self.map.insert(range.first..=range.last, value);
    }

    /// Removes every one of the sorted, disjoint `holes` from the painting. Only
    /// the holes that meet a painted range are looked at, so a few painted ranges
    /// and many holes (a host's VM addresses) cost little.
    pub fn cut(&mut self, holes: &[Range]) {
        let meeting: Vec<Range> = self
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
    pub fn into_ranges(self) -> Vec<(Range, T)> {
        self.map
            .into_iter()
            .map(|(range, value)| (Range::from(&range), value))
            .collect()
    }
}

impl<T: Eq + Clone> Default for Painting<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl From<&std::ops::RangeInclusive<u32>> for Range {
    fn from(range: &std::ops::RangeInclusive<u32>) -> Range {
        Range {
            first: *range.start(),
            last: *range.end(),
        }
    }
}

/// Sorted, disjoint `ranges` with `filler` in every gap between, before and after
/// them: values for every address when there is a filler.
pub fn fill_gaps<'a, T>(ranges: &'a [(Range, T)], filler: Option<&'a T>) -> Vec<(Range, &'a T)> {
    let mut out = Vec::with_capacity(2 * ranges.len() + 1);
    // The first address not covered yet; `None` past the last address.
    let mut next = Some(0u32);
    for (range, value) in ranges {
        if let (Some(filler), Some(first)) = (filler, next)
            && first < range.first
        {
            out.push((
                Range {
                    first,
                    last: range.first - 1,
                },
                filler,
            ));
        }
        out.push((*range, value));
        next = range.last.checked_add(1);
    }
    if let (Some(filler), Some(first)) = (filler, next) {
        out.push((
            Range {
                first,
                last: u32::MAX,
            },
            filler,
        ));
    }
    out
}

/// Sorts and joins overlapping or adjacent ranges.
pub fn merge(mut ranges: Vec<Range>) -> Vec<Range> {
    ranges.sort();
    let mut out: Vec<Range> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match out.last_mut() {
            Some(previous) if u64::from(range.first) <= u64::from(previous.last) + 1 => {
                previous.last = previous.last.max(range.last);
            }
            _ => out.push(range),
        }
    }
    out
}

/// Does any of the sorted, disjoint `ranges` contain `address`?
pub fn any_contains(ranges: &[Range], address: Ipv4Addr) -> bool {
    let a = u32::from(address);
    let i = ranges.partition_point(|r| r.last < a);
    ranges.get(i).is_some_and(|r| r.first <= a)
}

/// The sorted, disjoint `ranges` that overlap `range`.
pub fn overlapping(ranges: &[Range], range: Range) -> &[Range] {
    let start = ranges.partition_point(|r| r.last < range.first);
    let end = ranges.partition_point(|r| r.first <= range.last);
    &ranges[start..end.max(start)]
}

/// Two prefixes overlap exactly when one contains the other.
pub fn prefixes_overlap(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(b) || b.contains(a)
}

/// Prefixes that may overlap each other (so not a painting), each with an item.
/// Answers "does any stored prefix overlap this one?" in O(log n + prefix
/// length), so checks stay linear-ish on topologies with 100k VMs.
pub struct PrefixIndex<'a, T> {
    by_network: Vec<(Ipv4Net, &'a T)>,
    exact: HashMap<Ipv4Net, &'a T>,
}

impl<'a, T> PrefixIndex<'a, T> {
    pub fn new(items: impl IntoIterator<Item = (Ipv4Net, &'a T)>) -> Self {
        let mut by_network: Vec<_> = items.into_iter().collect();
        by_network.sort_by_key(|(net, _)| (net.network(), net.prefix_len()));
        let exact = by_network.iter().map(|(net, item)| (*net, *item)).collect();
        PrefixIndex { by_network, exact }
    }

    /// A stored prefix that contains `prefix` or lies inside it.
    pub fn overlapping(&self, prefix: &Ipv4Net) -> Option<&'a T> {
        let containing = (0..=prefix.prefix_len()).find_map(|len| {
            let supernet = Ipv4Net::new(prefix.network(), len).ok()?.trunc();
            self.exact.get(&supernet).copied()
        });
        containing.or_else(|| {
            let first = self
                .by_network
                .partition_point(|(net, _)| net.network() < prefix.network());
            self.by_network
                .get(first)
                .filter(|(net, _)| net.network() <= prefix.broadcast())
                .map(|(_, item)| *item)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn fill_gaps_covers_every_address_with_a_filler_and_nothing_more_without() {
        let ranges = [(net("0.0.0.0/8"), 'a'), (net("10.0.0.0/8"), 'b')];
        assert_eq!(
            fill_gaps(&ranges, Some(&'d')),
            [
                (net("0.0.0.0/8"), &'a'),
                (span("1.0.0.0", "9.255.255.255"), &'d'),
                (net("10.0.0.0/8"), &'b'),
                (span("11.0.0.0", "255.255.255.255"), &'d'),
            ]
        );
        assert_eq!(
            fill_gaps(&[(net("0.0.0.0/0"), 'a')], Some(&'d')),
            [(net("0.0.0.0/0"), &'a')]
        );
        assert_eq!(
            fill_gaps::<char>(&[], Some(&'d')),
            [(net("0.0.0.0/0"), &'d')]
        );
        assert_eq!(
            fill_gaps(&ranges, None),
            [(ranges[0].0, &'a'), (ranges[1].0, &'b')]
        );
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
        assert_eq!(Range { first: 1, last: 2 }.as_prefix(), None);
        assert_eq!(
            net("0.0.0.0/0").as_prefix(),
            Some("0.0.0.0/0".parse().unwrap())
        );
    }
}
