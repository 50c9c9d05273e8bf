//! Inclusive IPv4 address ranges and the painting that turns nested prefixes into
//! disjoint ranges (longest prefix wins).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

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

/// Disjoint ranges, each with a value; painting a range overwrites what lies under it.
#[derive(Debug, Clone)]
pub struct Painting<T> {
    /// first address → (last address, value)
    segments: BTreeMap<u32, (u32, T)>,
}

impl<T: Clone + PartialEq> Painting<T> {
    pub fn new() -> Self {
        Painting {
            segments: BTreeMap::new(),
        }
    }

    pub fn paint(&mut self, range: Range, value: T) {
        self.cut(range);
        self.segments.insert(range.first, (range.last, value));
    }

    /// Removes `range` from every segment, splitting those that straddle it.
    pub fn cut(&mut self, range: Range) {
        // A segment starting before `range` may reach into it.
        if let Some((&first, (last, value))) = self.segments.range(..range.first).next_back()
            && *last >= range.first
        {
            let (last, value) = (*last, value.clone());
            self.segments
                .insert(first, (range.first - 1, value.clone()));
            if last > range.last {
                self.segments.insert(range.last + 1, (last, value));
            }
        }
        let inside: Vec<u32> = self
            .segments
            .range(range.first..=range.last)
            .map(|(&first, _)| first)
            .collect();
        for first in inside {
            let (last, value) = self.segments.remove(&first).expect("key just listed");
            if last > range.last {
                self.segments.insert(range.last + 1, (last, value));
            }
        }
    }

    /// The painted ranges, in order.
    pub fn segments(&self) -> impl Iterator<Item = Range> + '_ {
        self.segments
            .iter()
            .map(|(&first, &(last, _))| Range { first, last })
    }

    /// Sorted, disjoint segments; neighbours with equal values are joined.
    pub fn into_ranges(self) -> Vec<(Range, T)> {
        let mut out: Vec<(Range, T)> = Vec::with_capacity(self.segments.len());
        for (first, (last, value)) in self.segments {
            match out.last_mut() {
                Some((previous, v))
                    if previous.last.checked_add(1) == Some(first) && *v == value =>
                {
                    previous.last = last
                }
                _ => out.push((Range { first, last }, value)),
            }
        }
        out
    }
}

impl<T: Clone + PartialEq> Default for Painting<T> {
    fn default() -> Self {
        Self::new()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> Range {
        Range::of(&text.parse().unwrap())
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
                (
                    Range {
                        first: net("10.0.0.0/8").first,
                        last: net("10.0.255.255/32").last
                    },
                    'a'
                ),
                (net("10.1.0.0/16"), 'b'),
                (
                    Range {
                        first: net("10.2.0.0/32").first,
                        last: net("10.255.255.255/32").last
                    },
                    'a'
                ),
            ]
        );
    }

    #[test]
    fn cut_removes_a_hole_and_edges() {
        let mut painting = Painting::new();
        painting.paint(net("0.0.0.0/0"), 1);
        painting.cut(net("0.0.0.0/8"));
        painting.cut(net("10.0.0.0/24"));
        painting.cut(net("255.255.255.255/32"));
        let ranges: Vec<_> = painting.into_ranges().into_iter().map(|(r, _)| r).collect();
        assert_eq!(
            ranges,
            vec![
                Range {
                    first: net("1.0.0.0/32").first,
                    last: net("9.255.255.255/32").last
                },
                Range {
                    first: net("10.0.1.0/32").first,
                    last: net("255.255.255.254/32").last
                },
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
