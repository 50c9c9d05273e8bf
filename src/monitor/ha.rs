//! What a member of a pair (docs/semantics.md §12) tells keepalived: its health,
//! a number keepalived reads from a file and adds, times [`HEALTH_WEIGHT`], to
//! the member's VRRP priority.

/// What one uplink up adds to a member's priority (keepalived's `weight` of
/// the tracked health file). Two, so that one uplink more outweighs the
/// preferred member's one point: the pair moves only to a member with strictly
/// more uplinks up, and back to the preferred one at equal health.
pub const HEALTH_WEIGHT: i32 = 2;
/// The health of a member with every uplink down: times [`HEALTH_WEIGHT`] it is
/// -254, which keepalived reads as a failure (FAULT): the member gives up
/// being active whatever its peer's state.
pub const FAULT_HEALTH: i32 = -127;

/// The health a member's monitor reports, from how many of its uplinks are up:
/// that number, or [`FAULT_HEALTH`] when none is.
pub fn health(uplinks_up: usize) -> i32 {
    match uplinks_up {
        0 => FAULT_HEALTH,
        up => i32::try_from(up).unwrap_or(i32::MAX),
    }
}

/// The health file's text: the number and a newline.
pub fn health_file(uplinks_up: usize) -> String {
    format!("{}\n", health(uplinks_up))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::ha::BASE_PRIORITY;

    /// The effective VRRP priority keepalived computes from a base priority and a
    /// health (clamped to 1..=254 as keepalived does; `None` is FAULT).
    fn priority(base: u8, health: i32) -> Option<i32> {
        let weighted = health.saturating_mul(HEALTH_WEIGHT);
        (weighted > -254).then(|| (i32::from(base) + weighted).clamp(1, 254))
    }

    #[test]
    fn health_is_the_uplinks_up_and_all_down_is_a_fault() {
        assert_eq!(health(0) * HEALTH_WEIGHT, -254, "keepalived faults at -254");
        assert_eq!(priority(BASE_PRIORITY + 1, health(0)), None);
        assert_eq!(health(1), 1);
        assert_eq!(health(3), 3);
        assert_eq!(health_file(2), "2\n");
    }

    #[test]
    fn the_pair_moves_only_to_strictly_more_uplinks_up() {
        let (preferred, other) = (BASE_PRIORITY + 1, BASE_PRIORITY);
        let at = |base, up| priority(base, health(up)).expect("not a fault");
        for up in 1..=4 {
            assert!(at(preferred, up) > at(other, up), "equal health: preferred");
            assert!(at(other, up + 1) > at(preferred, up), "one more: the other");
            assert!(at(preferred, up + 1) > at(other, up), "one more: preferred");
        }
    }
}
