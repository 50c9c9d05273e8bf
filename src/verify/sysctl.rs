//! The settings of a build's `sysctl.d/90-switchyard.conf`, and where the
//! kernel keeps each below /proc/sys.

use super::VerifyError;

/// One `key = value` line of a sysctl.d file, key as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub key: String,
    pub value: String,
}

impl Setting {
    /// The file below /proc/sys: `net.ipv4.ip_forward` → `net/ipv4/ip_forward`.
    /// A key whose first separator is a dot has dots and slashes swapped, one
    /// whose first is a slash is a path already (sysctl.d(5)), which is how a
    /// name holding a dot (`eth1.100`) is written.
    pub fn proc_path(&self) -> String {
        match self.key.find(['.', '/']) {
            Some(at) if self.key.as_bytes()[at] == b'.' => self
                .key
                .chars()
                .map(|c| match c {
                    '.' => '/',
                    '/' => '.',
                    c => c,
                })
                .collect(),
            _ => self.key.clone(),
        }
    }
}

/// The settings of a sysctl.d file (comments and blank lines skipped). A line
/// that is not `key = value`, or a key that would leave /proc/sys, is an error.
pub fn parse(text: &str, file: &str) -> Result<Vec<Setting>, VerifyError> {
    text.lines()
        .enumerate()
        .map(|(index, line)| (index, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with(['#', ';']))
        .map(|(index, line)| {
            let invalid = || VerifyError::Unreadable(format!("{file} line {}", index + 1));
            let (key, value) = line.split_once('=').ok_or_else(invalid)?;
            let (key, value) = (key.trim(), value.trim());
            let safe = !key.is_empty()
                && key
                    .split(['.', '/'])
                    .all(|part| !part.is_empty() && part != "..")
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-/@".contains(c));
            if !safe || value.is_empty() {
                return Err(invalid());
            }
            Ok(Setting {
                key: key.to_owned(),
                value: value.to_owned(),
            })
        })
        .collect()
}
