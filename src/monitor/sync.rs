//! Keeping the kernel in line with the [`Monitor`]: the nft set of down uplinks
//! and the conntrack entries that may move. The kernel is behind the
//! [`Kernel`] trait, so reloads, errors and restarts are unit-tested without
//! root; the binary implements it with netlink, `nft` and `conntrack`.

use std::collections::BTreeSet;

use super::{MarkFilter, Monitor};

/// What the monitor asks of the kernel.
pub trait Kernel {
    /// The nftables ruleset generation: it changes with every change of any
    /// ruleset (a reload, and the monitor's own writes).
    fn generation(&mut self) -> Result<u32, String>;
    /// The marks set `table`/`set` holds.
    fn read_set(&mut self, table: &str, set: &str) -> Result<BTreeSet<u32>, String>;
    /// Runs an nft script (one transaction).
    fn run_nft(&mut self, script: &str) -> Result<(), String>;
    /// Deletes the conntrack entries `filter` matches; a summary.
    fn delete_connections(&mut self, filter: MarkFilter) -> Result<String, String>;
}

/// A syslog priority (the `<N>` prefix systemd reads on standard error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Error = 3,
    Warning = 4,
    Notice = 5,
    Info = 6,
}

/// A line for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub priority: Priority,
    pub message: String,
}

impl Event {
    pub fn new(priority: Priority, message: impl Into<String>) -> Self {
        Event {
            priority,
            message: message.into(),
        }
    }
}

/// What the monitor last knew of the kernel. The set is read only when the
/// ruleset generation moved since the monitor's own last write (a reload, or
/// any other change): no process per round.
#[derive(Debug, Default)]
pub struct KernelState {
    /// The generation after the monitor's last write or read; `None` before
    /// the first or after an error.
    generation: Option<u32>,
    /// The set's marks at that generation.
    in_set: BTreeSet<u32>,
    /// The problem last reported, so it is reported once, not every round.
    last_error: Option<String>,
}

impl KernelState {
    /// Makes the set hold exactly the down uplinks; for every down uplink the
    /// set lacked (it just went down, or a reload emptied the set and
    /// connections were bound to it meanwhile), deletes the connections that
    /// may move.
    pub fn sync(&mut self, monitor: &Monitor, kernel: &mut impl Kernel) -> Vec<Event> {
        let mut events = Vec::new();
        let config = monitor.config();
        let generation = kernel.generation();
        if let Err(error) = &generation {
            self.report(
                &mut events,
                format!("cannot read the ruleset generation: {error}"),
            );
        }
        if generation.is_err() || generation.as_ref().ok() != self.generation.as_ref() {
            match kernel.read_set(&config.table, &config.set) {
                Ok(marks) => self.in_set = marks,
                Err(error) => {
                    self.generation = None;
                    self.report(
                        &mut events,
                        format!(
                            "cannot read set inet {} {}: {error}",
                            config.table, config.set
                        ),
                    );
                    return events;
                }
            }
            self.generation = generation.as_ref().ok().copied();
        }
        let wanted = monitor.down_marks();
        if self.in_set == wanted {
            self.report_ok(&mut events);
            return events;
        }
        if let Err(error) = kernel.run_nft(&monitor.set_script()) {
            self.generation = None;
            self.report(
                &mut events,
                format!(
                    "cannot update set inet {} {}: {error}",
                    config.table, config.set
                ),
            );
            return events;
        }
        let newly_down: BTreeSet<u32> = wanted.difference(&self.in_set).copied().collect();
        self.in_set = wanted;
        self.generation = kernel.generation().ok();
        self.report_ok(&mut events);
        let names: Vec<&str> = config
            .uplinks
            .iter()
            .filter(|u| self.in_set.contains(&u.mark))
            .map(|u| u.name.as_str())
            .collect();
        events.push(Event::new(
            Priority::Info,
            format!(
                "set {} now holds {}",
                config.set,
                if names.is_empty() {
                    "no uplink".to_owned()
                } else {
                    names.join(", ")
                }
            ),
        ));
        for (index, uplink) in config.uplinks.iter().enumerate() {
            if !newly_down.contains(&uplink.mark) {
                continue;
            }
            for filter in monitor.conntrack_deletions(index) {
                events.push(match kernel.delete_connections(filter) {
                    Ok(summary) => Event::new(
                        Priority::Info,
                        format!("uplink {}: conntrack {summary}", uplink.name),
                    ),
                    Err(error) => Event::new(
                        Priority::Warning,
                        format!("uplink {}: {error}", uplink.name),
                    ),
                });
            }
        }
        events
    }

    fn report(&mut self, events: &mut Vec<Event>, error: String) {
        if self.last_error.as_ref() != Some(&error) {
            events.push(Event::new(Priority::Warning, error.clone()));
            self.last_error = Some(error);
        }
    }

    fn report_ok(&mut self, events: &mut Vec<Event>) {
        if self.last_error.take().is_some() {
            events.push(Event::new(Priority::Notice, "the nft set is in line again"));
        }
    }
}
