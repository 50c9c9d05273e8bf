//! SY0711: a VLAN's `parent_unit` agrees with every other attachment on the
//! same parent: all VLANs on one parent name the same unit (or none), and a
//! parent that is itself an uplink has no `parent_unit`, since switchyard
//! writes that interface's unit. Whether it names a .network file a drop-in can
//! extend (SY0710) is decided once, when the model is made
//! ([`crate::model::NetworkUnitName`]).

use std::collections::BTreeMap;

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Attachment, Model, Name, NetworkUnitName, Spanned, Vlan};

pub fn check(model: &Model, out: &mut Diagnostics) {
    for host in &model.hosts {
        let vlans = host.attachments.iter().filter_map(|a| a.vlan.as_ref());
        let mut by_parent: BTreeMap<&str, Vec<&Vlan>> = BTreeMap::new();
        for vlan in vlans {
            by_parent.entry(&vlan.parent.value).or_default().push(vlan);
        }
        for (parent, vlans) in by_parent {
            let uplink_on_parent = host
                .attachments
                .iter()
                .find(|a| a.interface.value == parent);
            if let Some(uplink) = uplink_on_parent {
                for unit in vlans.iter().filter_map(|v| v.parent_unit.as_ref()) {
                    out.push(parent_is_uplink(model, &host.name, uplink, unit));
                }
            } else if let Some(disagreeing) = vlans.iter().find(|v| {
                v.parent_unit.as_ref().map(|u| &u.value)
                    != vlans[0].parent_unit.as_ref().map(|u| &u.value)
            }) {
                out.push(disagreement(&host.name, parent, vlans[0], disagreeing));
            }
        }
    }
}

fn parent_is_uplink(
    model: &Model,
    host: &Spanned<Name>,
    uplink: &Attachment,
    unit: &Spanned<NetworkUnitName>,
) -> Diagnostic {
    Diagnostic::new(
        Code::ParentUnitConflict,
        format!(
            "`{}` on host `{}` is uplink `{}`'s interface: switchyard writes its unit, so \
             there is no unit of the administrator's to extend",
            uplink.interface.value,
            host.value,
            model.uplink(uplink.uplink).name.value
        ),
        unit.span.clone(),
        "parent_unit of an uplink's interface",
    )
    .also(uplink.interface.span.clone(), "the uplink on the parent")
    .help("remove parent_unit: the `VLAN=` lines go into switchyard's unit for the uplink")
}

fn disagreement(host: &Spanned<Name>, parent: &str, first: &Vlan, other: &Vlan) -> Diagnostic {
    let described = |vlan: &Vlan| match &vlan.parent_unit {
        Some(unit) => (unit.span.clone(), format!("parent_unit `{}`", unit.value)),
        None => (vlan.parent.span.clone(), "no parent_unit".to_owned()),
    };
    let (first_span, first_label) = described(first);
    let (other_span, other_label) = described(other);
    Diagnostic::new(
        Code::ParentUnitConflict,
        format!(
            "the VLANs on `{parent}` of host `{}` disagree about the parent's unit",
            host.value
        ),
        other_span,
        other_label,
    )
    .also(first_span, format!("{first_label} here"))
    .help("give every VLAN on this parent the same parent_unit, or none")
}

#[cfg(test)]
mod tests {
    use crate::diagnostic::{Code, Source};

    /// Two VLANs on eth1, the first naming `first_unit`, the second `second_unit`.
    fn codes(first_unit: &str, second_unit: &str) -> Vec<Code> {
        let text = format!(
            r#"version = 1
[uplinks.isp-a]
id = 1
[uplinks.isp-b]
id = 2
[hosts.net1.uplinks.isp-a]
interface = "eth1.100"
vlan = {{ parent = "eth1", id = 100{first_unit} }}
address = "192.0.2.2/30"
gateway = "192.0.2.1"
[hosts.net1.uplinks.isp-b]
interface = "eth1.200"
vlan = {{ parent = "eth1", id = 200{second_unit} }}
address = "198.18.0.2/30"
gateway = "198.18.0.1"
"#
        );
        match crate::validate(&Source::new("t.toml", text)) {
            Ok(_) => Vec::new(),
            Err(diagnostics) => diagnostics.iter().map(|d| d.code).collect(),
        }
    }

    #[test]
    fn vlans_on_one_parent_name_the_same_unit_or_none() {
        let unit = r#", parent_unit = "20-eth1.network""#;
        assert_eq!(codes(unit, unit), []);
        assert_eq!(codes("", ""), []);
        assert_eq!(codes(unit, ""), [Code::ParentUnitConflict]);
        assert_eq!(
            codes(unit, r#", parent_unit = "30-eth1.network""#),
            [Code::ParentUnitConflict]
        );
    }

    #[test]
    fn switchyard_prefix_and_hidden_names_are_refused() {
        for name in ["10-switchyard-eth1.network", ".network", "a/b.network"] {
            let unit = format!(r#", parent_unit = "{name}""#);
            assert!(codes(&unit, &unit).contains(&Code::BadParentUnit), "{name}");
        }
    }
}
