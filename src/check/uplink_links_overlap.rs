//! SY0713: the uplinks of one host are on disjoint link subnets of each family.
//! Each link gets a connected route in the main table; with two links over one
//! subnet the main table reaches it by one interface only, so what the host
//! itself sends to the other uplink's gateway leaves by the wrong interface, and
//! Linux answers ARP (neighbour solicitations) for either address on both links
//! (each with its own MAC), so a provider may send one uplink's traffic into the
//! other.

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::family::{V4, V6};
use crate::intervals::prefixes_overlap;
use crate::model::Model;

use super::family::{self, Rules};

pub fn check(model: &Model, out: &mut Diagnostics) {
    check_family::<V4>(model, out);
    check_family::<V6>(model, out);
}

fn check_family<F: Rules>(model: &Model, out: &mut Diagnostics) {
    for host in &model.hosts {
        // A /0 or /32 link is SY0706's: a /0 would overlap everything.
        let links: Vec<_> = (host.attachments.iter())
            .filter_map(|a| Some((a, family::link::<F>(a)?)))
            .filter(|(_, link)| family::is_routable_link::<F>(F::prefix_len(&link.value)))
            .collect();
        for (i, (first, first_link)) in links.iter().enumerate() {
            for (second, second_link) in &links[i + 1..] {
                let a = family::trunc::<F>(&first_link.value);
                let b = family::trunc::<F>(&second_link.value);
                if !prefixes_overlap::<F>(&a, &b) {
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
                        second_link.span.clone(),
                        "overlaps another link of this host",
                    )
                    .also(first_link.span.clone(), "this link")
                    .help(
                        "give each uplink its own link subnet with its real prefix length; \
                         two uplinks on one segment are one uplink",
                    ),
                );
            }
        }
    }
}
