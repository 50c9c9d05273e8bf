//! One uplink's probes in flight, dpinger-style: each echo request has its own
//! sequence number and deadline, so a reply slower than one interval still
//! counts when it comes within its timeout, and rounds are decided in the order
//! they were sent. Pure: the caller passes the time.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A probe's timeout, in intervals: 1.25 keeps `down_after` = 3 rounds of
/// 200 ms within the 1 s promise (the third lost probe is sent 400 ms after the
/// first and decided 250 ms later, at most 850 ms after the cut) while a reply
/// may take a quarter interval more than one interval.
const TIMEOUT_INTERVALS: (u32, u32) = (5, 4);

#[derive(Debug)]
pub struct Probes {
    interval: Duration,
    timeout: Duration,
    next_sequence: u16,
    next_send: Option<Instant>,
    in_flight: VecDeque<InFlight>,
}

#[derive(Debug, Clone, Copy)]
struct InFlight {
    sequence: u16,
    deadline: Instant,
    answered: bool,
}

impl Probes {
    pub fn new(interval: Duration) -> Self {
        Probes {
            interval,
            timeout: interval * TIMEOUT_INTERVALS.0 / TIMEOUT_INTERVALS.1,
            next_sequence: 0,
            next_send: None,
            in_flight: VecDeque::new(),
        }
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Whether a probe is due at `now`.
    pub fn due(&self, now: Instant) -> bool {
        self.next_send.is_none_or(|at| now >= at)
    }

    /// A probe leaves at `now`: its sequence number. The next one is due one
    /// interval later, counted from the schedule — unless the schedule fell
    /// behind by more than an interval (a stall): then from `now`, so a paused
    /// monitor does not send a burst of rounds at once.
    pub fn send(&mut self, now: Instant) -> u16 {
        let sequence = self.next_sequence;
        self.next_sequence = sequence.wrapping_add(1);
        let scheduled = self.next_send.unwrap_or(now) + self.interval;
        self.next_send = Some(if scheduled < now {
            now + self.interval
        } else {
            scheduled
        });
        self.in_flight.push_back(InFlight {
            sequence,
            deadline: now + self.timeout,
            answered: false,
        });
        sequence
    }

    /// A reply to probe `sequence` was read at `now`: it counts if the probe
    /// is still in flight and within its deadline.
    pub fn reply(&mut self, sequence: u16, now: Instant) {
        if let Some(probe) = self
            .in_flight
            .iter_mut()
            .find(|p| p.sequence == sequence && now <= p.deadline)
        {
            probe.answered = true;
        }
    }

    /// The rounds decided by `now`, oldest first: `true` for an answered probe,
    /// `false` for one whose deadline passed. A probe whose deadline passed more
    /// than an interval before `now` was not watched when it expired (the
    /// monitor was paused or starved): it is dropped, neither answered nor
    /// lost, so a stall never turns into an outage.
    pub fn decided(&mut self, now: Instant) -> Vec<bool> {
        let mut rounds = Vec::new();
        while let Some(probe) = self.in_flight.front().copied() {
            if probe.answered {
                rounds.push(true);
            } else if now > probe.deadline {
                if now - probe.deadline <= self.interval {
                    rounds.push(false);
                }
            } else {
                break;
            }
            self.in_flight.pop_front();
        }
        rounds
    }

    /// When something next happens: a probe is due or one's deadline passes.
    pub fn next_event(&self, now: Instant) -> Instant {
        let deadline = self.in_flight.front().map(|p| p.deadline);
        [self.next_send, deadline]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now)
    }
}

/// One family of a dual-stack uplink, watched on its own: the uplink's
/// health counts a round answered by either family (docs/semantics.md §10),
/// so an outage of one family alone changes nothing in the kernel — but the
/// operator hears of it. Silent: no reply for `rounds` intervals. Pure: the
/// caller passes the time.
#[derive(Debug)]
pub struct Silence {
    limit: Duration,
    last_reply: Instant,
    silent: bool,
}

impl Silence {
    pub fn new(interval: Duration, rounds: u32, now: Instant) -> Self {
        Silence {
            limit: interval * rounds,
            last_reply: now,
            silent: false,
        }
    }

    /// A reply of the family came at `now`: `true` when it had been silent.
    pub fn reply(&mut self, now: Instant) -> bool {
        self.last_reply = now;
        std::mem::replace(&mut self.silent, false)
    }

    /// `true` once, when the family has been silent for `rounds` intervals
    /// by `now`.
    pub fn fell_silent(&mut self, now: Instant) -> bool {
        let silent = now.saturating_duration_since(self.last_reply) > self.limit;
        silent && !std::mem::replace(&mut self.silent, silent)
    }

    pub fn is_silent(&self) -> bool {
        self.silent
    }
}
