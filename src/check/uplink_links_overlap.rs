//! SY0713: the uplinks of one host are on disjoint link subnets. Each link gets
//! a connected route in the main table and a link route in its uplink's table;
//! with two links over one subnet the main table reaches that subnet by one
//! interface only, so the other uplink's gateway (and its probes, and every
//! packet the host itself sends there) leaves by the wrong interface.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::intervals::prefixes_overlap;
use crate::model::Model;

use super::uplink_link::is_routable_link;

pub fn check(model: &Model, out: &mut Diagnostics) {
    for host in &model.hosts {
        // A /0 or /32 link is SY0706's: a /0 would overlap everything.
        let links: Vec<_> = host
            .attachments
            .iter()
            .filter(|a| is_routable_link(a.address.prefix_len()))
            .collect();
        for (i, first) in links.iter().enumerate() {
            for second in &links[i + 1..] {
                let (a, b) = (first.address.value.trunc(), second.address.value.trunc());
                if !prefixes_overlap(&a, &b) {
                    continue;
                }
                out.push(
                    Diagnostic::new(
                        Code::UplinkLinksOverlap,
                        format!(
                            "the links of host `{}` on uplinks `{}` ({a}) and `{}` ({b}) overlap",
                            host.name.value,
                            model.uplink(first.uplink).name.value,
                            model.uplink(second.uplink).name.value,
                        ),
                        second.address.span.clone(),
                        "overlaps another link of this host",
                    )
                    .also(first.address.span.clone(), "this link")
                    .help(
                        "give each uplink its own link subnet with its real prefix length; \
                         two uplinks on one segment are one uplink",
                    ),
                );
            }
        }
    }
}
