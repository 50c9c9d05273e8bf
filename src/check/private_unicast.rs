//! SY0604: a VM's private address is an address a NIC can have and the host can
//! route to: not a special-purpose IPv4 block (RFC 6890; IPv6's are SY1003's),
//! and not an edge address of one of its project's networks (an IPv4 network
//! or broadcast address, an IPv6 subnet-router anycast address).

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::family::{Family, V4, V6};
use crate::model::{Model, Spanned};

use super::family::{self, Rules};
use super::lookup::FastMap;

/// A project's networks' edge addresses: which edge each is, and of which network.
type Edges<F> = FastMap<<F as Family>::Bits, (&'static str, Spanned<<F as Family>::Net>)>;

pub fn check(model: &Model, out: &mut Diagnostics) {
    check_family::<V4>(model, out);
    check_family::<V6>(model, out);
}

fn check_family<F: Rules>(model: &Model, out: &mut Diagnostics) {
    // Per project, the edge addresses of its networks: one hash lookup per VM,
    // however many networks a project lists.
    let edges: Vec<Edges<F>> = model
        .projects
        .iter()
        .map(|project| {
            let mut edges = Edges::<F>::default();
            for network in project.networks_of::<F>() {
                let (first, last) = (F::first(&network), F::last(&network));
                for address in [first, last] {
                    if let Some(which) = family::edge::<F>(&network, address) {
                        edges
                            .entry(F::bits(address))
                            .or_insert((which, network.clone()));
                    }
                }
            }
            edges
        })
        .collect();
    for vm in &model.vms {
        let Some(private) = family::private::<F>(vm) else {
            continue;
        };
        let address = private.value;
        let diagnostic = if let Some(what) = F::special_purpose(address) {
            Diagnostic::new(
                Code::PrivateNotUnicast,
                format!("VM `{}` address {address} is {what}", vm.name.value),
                private.span.clone(),
                "not a unicast host address",
            )
        } else if let Some((which, network)) = edges[vm.project.0].get(&F::bits(address)) {
            Diagnostic::new(
                Code::PrivateNotUnicast,
                format!(
                    "VM `{}` address {address} is the {which} address of its project's \
                     network {}",
                    vm.name.value, network.value
                ),
                private.span.clone(),
                format!("{which} address"),
            )
            .also(network.span.clone(), "the project network")
        } else {
            continue;
        };
        out.push(diagnostic.help(
            "give the VM an ordinary host address of its project's network: packets to \
             or from this one are dropped or never routed to the VM",
        ));
    }
}
