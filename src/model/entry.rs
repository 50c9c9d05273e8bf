//! Which topology entry decides a VM's packets, by identity rather than by
//! position: the plan and the lints compare entries by [`EntryId`], and only
//! what prints one (diagnostics, `trace`, `changes`, render's comments) looks
//! its place in the file up.

use super::{Model, ProjectId, Span, VmId};

/// Whose entry: a project's (for every VM it applies to) or one VM's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Project,
    Vm,
}

/// One topology entry that can decide a VM's packets: a project's or a VM's
/// `default` list, or one of its egress entries (one `to` prefix). Only the
/// crate makes one, from an entry the model holds, so every id names an entry
/// that exists.
///
/// 16 bytes (indices as `u32`: the input limit keeps them far below 2³²), as
/// every decision of every VM carries one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId {
    scope: Scope,
    /// The project's or the VM's index.
    owner: u32,
    /// The index in its owner's `egress`; `None` for its `default` list.
    egress: Option<u32>,
}

/// An index of the model as an [`EntryId`] holds it.
fn small(index: usize) -> u32 {
    u32::try_from(index).expect("the input limit keeps the model's indices below 2^32")
}

impl EntryId {
    /// The `default` list of a project that has one.
    pub(crate) fn project_default(project: ProjectId) -> Self {
        EntryId {
            scope: Scope::Project,
            owner: small(project.0),
            egress: None,
        }
    }

    /// The `default` list of a VM that has one.
    pub(crate) fn vm_default(vm: VmId) -> Self {
        EntryId {
            scope: Scope::Vm,
            owner: small(vm.0),
            egress: None,
        }
    }

    /// The project's egress entry at `index` of its `egress`.
    pub(crate) fn project_egress(project: ProjectId, index: usize) -> Self {
        EntryId {
            scope: Scope::Project,
            owner: small(project.0),
            egress: Some(small(index)),
        }
    }

    /// The VM's egress entry at `index` of its `egress`.
    pub(crate) fn vm_egress(vm: VmId, index: usize) -> Self {
        EntryId {
            scope: Scope::Vm,
            owner: small(vm.0),
            egress: Some(small(index)),
        }
    }

    pub fn scope(self) -> Scope {
        self.scope
    }

    /// A `default` list rather than an egress entry.
    pub fn is_default(self) -> bool {
        self.egress.is_none()
    }
}

impl Model {
    /// Where `entry` is written: an egress entry's `to` prefix, or the first
    /// pool of a `default` list.
    pub fn entry_span(&self, entry: EntryId) -> &Span {
        let owner = entry.owner as usize;
        match (entry.scope, entry.egress.map(|i| i as usize)) {
            (Scope::Project, Some(i)) => &self.projects[owner].egress[i].to.span,
            (Scope::Vm, Some(i)) => &self.vms[owner].egress[i].to.span,
            (Scope::Project, None) => &self.projects[owner].default[0].span,
            (Scope::Vm, None) => &self.vms[owner].default[0].span,
        }
    }

    /// An egress entry's destination prefix; `None` for a `default` list.
    pub fn entry_prefix(&self, entry: EntryId) -> Option<ipnet::IpNet> {
        let (owner, i) = (entry.owner as usize, entry.egress? as usize);
        Some(match entry.scope {
            Scope::Project => self.projects[owner].egress[i].to.value,
            Scope::Vm => self.vms[owner].egress[i].to.value,
        })
    }

    /// The name of the project or VM whose entry it is.
    pub fn entry_owner(&self, entry: EntryId) -> &str {
        let owner = entry.owner as usize;
        match entry.scope {
            Scope::Project => &self.projects[owner].name.value,
            Scope::Vm => &self.vms[owner].name.value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_id_is_as_small_as_the_span_it_replaced() {
        assert_eq!(size_of::<EntryId>(), size_of::<Span>());
    }
}
