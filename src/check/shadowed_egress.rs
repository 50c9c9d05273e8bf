//! SY0903 (warning): an egress entry that can never win because longer prefixes
//! that beat it cover its whole range. For VM entries both scopes count; project
//! entries are judged against the project's own entries (VMs differ).

use ipnet::Ipv4Net;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Egress, Model};

pub fn check(model: &Model, out: &mut Diagnostics) {
    for project in &model.projects {
        let longer = sorted(project.egress.iter().map(|e| e.to.value));
        for entry in &project.egress {
            report_if_covered(
                entry,
                &longer,
                &format!("project `{}`", project.name.value),
                out,
            );
        }
    }
    for vm in model.vms.iter().filter(|vm| !vm.egress.is_empty()) {
        let project = model.project(vm.project);
        let project_entries = project.egress.iter().map(|e| e.to.value);
        let longer = sorted(vm.egress.iter().map(|e| e.to.value).chain(project_entries));
        for entry in &vm.egress {
            report_if_covered(entry, &longer, &format!("VM `{}`", vm.name.value), out);
        }
    }
}

fn sorted(prefixes: impl Iterator<Item = Ipv4Net>) -> Vec<Ipv4Net> {
    let mut prefixes: Vec<_> = prefixes.collect();
    prefixes.sort_by_key(|p| (p.network(), p.prefix_len()));
    prefixes.dedup();
    prefixes
}

fn report_if_covered(entry: &Egress, prefixes: &[Ipv4Net], scope: &str, out: &mut Diagnostics) {
    if entry.to.prefix_len() < 32 && covered(&entry.to, entry.to.prefix_len(), prefixes) {
        out.push(
            Diagnostic::new(
                Code::ShadowedEgress,
                format!("{scope}'s entry for {} can never win", entry.to.value),
                entry.to.span.clone(),
                "fully covered by longer prefixes",
            )
            .help("every address in it matches a longer entry; remove it or narrow the others"),
        );
    }
}

/// Is every address of `range` inside some prefix of `prefixes` longer than `len`?
fn covered(range: &Ipv4Net, len: u8, prefixes: &[Ipv4Net]) -> bool {
    // Prefixes whose network lies in `range`: a contiguous run of the sorted slice.
    let start = prefixes.partition_point(|p| p.network() < range.network());
    let end = prefixes.partition_point(|p| p.network() <= range.broadcast());
    let inside = &prefixes[start..end];
    if inside
        .iter()
        .any(|p| p.prefix_len() > len && p.prefix_len() <= range.prefix_len())
    {
        return true;
    }
    match range.subnets(range.prefix_len() + 1) {
        Ok(mut halves) if range.prefix_len() < 32 && !inside.is_empty() => {
            halves.all(|half| covered(&half, len, inside))
        }
        _ => false,
    }
}
