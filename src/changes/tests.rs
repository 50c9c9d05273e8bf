//! The range arithmetic `changes` is built on; whole topologies are compared in
//! tests/changes.rs and, against `trace`, in tests/properties.rs.

use std::net::Ipv4Addr;

use super::*;

fn range(first: u32, last: u32) -> Range {
    Range { first, last }
}

fn range6(first: u128, last: u128) -> Range<V6> {
    Range { first, last }
}

#[test]
fn segments_cover_the_range_cut_at_every_cut_inside_it() {
    let cut: Vec<Range> = segments(vec![5, 0, 20, 9, 5, 30], range(3, 25)).collect();
    assert_eq!(cut, [range(3, 4), range(5, 8), range(9, 19), range(20, 25)]);
    let whole: Vec<Range> = segments(vec![], range(0, u32::MAX)).collect();
    assert_eq!(whole, [range(0, u32::MAX)]);
    let cut: Vec<Range<V6>> = segments(vec![u128::MAX, 1 << 64], everything()).collect();
    assert_eq!(
        cut,
        [
            range6(0, (1 << 64) - 1),
            range6(1 << 64, u128::MAX - 1),
            range6(u128::MAX, u128::MAX)
        ]
    );
}

#[test]
fn symmetric_difference_keeps_what_only_one_side_has() {
    let a = [range(0, 9), range(20, 29)];
    let b = [range(5, 9), range(20, 35), range(u32::MAX, u32::MAX)];
    assert_eq!(
        symmetric_difference(&a, &b),
        [range(0, 4), range(30, 35), range(u32::MAX, u32::MAX)]
    );
    assert!(symmetric_difference(&a, &a).is_empty());
    let a = [range6(0, 9), range6(1 << 100, u128::MAX)];
    let b = [range6(5, 9)];
    assert_eq!(
        symmetric_difference(&a, &b),
        [range6(0, 4), range6(1 << 100, u128::MAX)]
    );
}

#[test]
fn ranges_are_written_as_prefixes_when_they_are_one() {
    let net = |text: &str| Range::<V4>::of(&text.parse().expect("prefix"));
    assert_eq!(written(net("10.0.0.0/8")), "10.0.0.0/8");
    assert_eq!(written(net("10.0.0.1/32")), "10.0.0.1");
    assert_eq!(
        written(range(
            u32::from(Ipv4Addr::new(10, 0, 0, 1)),
            u32::from(Ipv4Addr::new(10, 0, 0, 6))
        )),
        "10.0.0.1-10.0.0.6"
    );
    let net6 = |text: &str| Range::<V6>::of(&text.parse().expect("prefix"));
    assert_eq!(written(net6("2001:db8:100::/40")), "2001:db8:100::/40");
    assert_eq!(written(net6("2001:db8::5/128")), "2001:db8::5");
    assert_eq!(written(everything::<V6>()), "::/0");
    assert_eq!(
        written(range6(1, 6)),
        "::1-::6",
        "a range that is no prefix is written first-last"
    );
}

#[test]
fn join_by_pairs_sorted_lists_by_key() {
    let old = [1, 3, 5];
    let new = [2, 3, 6];
    let pairs = join_by(&old, &new, |x| **x, |x| **x);
    let pairs: Vec<(Option<i32>, Option<i32>)> = pairs
        .into_iter()
        .map(|(a, b)| (a.copied(), b.copied()))
        .collect();
    assert_eq!(
        pairs,
        [
            (Some(1), None),
            (None, Some(2)),
            (Some(3), Some(3)),
            (Some(5), None),
            (None, Some(6))
        ]
    );
}
