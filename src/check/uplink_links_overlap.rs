//! SY0713: the uplinks of one host are on disjoint link subnets. Each link gets
//! a connected route in the main table; with two links over one subnet the main
//! table reaches it by one interface only, so what the host itself sends to the
//! other uplink's gateway leaves by the wrong interface, and Linux answers ARP
//! for either address on both links (each with its own MAC), so a provider may
//! send one uplink's traffic into the other.

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
