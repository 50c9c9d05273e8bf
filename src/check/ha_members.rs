//! SY0801, SY0802: a pair's members are two distinct machine names, and each
//! names a build directory of its own: not a host (whose directory it would
//! be) and not a member of another pair.

use std::collections::BTreeMap;

use crate::diagnostic::{Code, Diagnostic, Diagnostics, Span};
use crate::model::Model;

pub fn check(model: &Model, out: &mut Diagnostics) {
    // Member name → where it was first named, and by which host.
    let mut named: BTreeMap<&str, (&Span, &str)> = BTreeMap::new();
    for host in &model.hosts {
        let Some(ha) = &host.ha else {
            continue;
        };
        let [first, second] = &ha.members.0;
        if first.value == second.value {
            out.push(
                Diagnostic::new(
                    Code::HaMembers,
                    format!(
                        "host `{}` names `{}` as both members of its pair",
                        host.name.value, first.value
                    ),
                    second.span.clone(),
                    "the same machine again",
                )
                .also(first.span.clone(), "first named here")
                .help("a pair is two machines: name the second one"),
            );
            continue;
        }
        for member in ha.members.iter() {
            if let Some(other) = model.host_named(&member.value) {
                out.push(
                    Diagnostic::new(
                        Code::HaMemberName,
                        format!(
                            "member `{}` of host `{}` is also the name of a host",
                            member.value, host.name.value
                        ),
                        member.span.clone(),
                        "also a host",
                    )
                    .also(model.host(other).name.span.clone(), "the host")
                    .help(
                        "each member gets a build directory of its name, as each host does: \
                         give the machine a name no host has",
                    ),
                );
            } else if let Some((span, owner)) = named.get(member.value.as_str()) {
                out.push(
                    Diagnostic::new(
                        Code::HaMemberName,
                        format!(
                            "member `{}` of host `{}` is already a member of host `{owner}`",
                            member.value, host.name.value
                        ),
                        member.span.clone(),
                        "a member of two pairs",
                    )
                    .also((*span).clone(), "first named here")
                    .help("one machine serves one host: give each pair machines of its own"),
                );
            } else {
                named.insert(&member.value, (&member.span, &host.name.value));
            }
        }
    }
}
