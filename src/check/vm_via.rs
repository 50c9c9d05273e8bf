//! SY0404, SY0405, SY0904: every `via`/`default` a VM relies on resolves to one of
//! its own public addresses: a pool named in an egress entry holds an address of
//! the VM of the entry's family (a default has no family: any will do).
//! Project-wide preferences that skip a VM are warned about, except for VMs
//! without public addresses of the family (internal-only by design).

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::family::{V4, V6, Which};
use crate::model::{Model, PoolId, Spanned, Via, Vm};

pub fn check(model: &Model, out: &mut Diagnostics) {
    for vm in &model.vms {
        for via in &vm.default {
            check_vm_via(model, vm, via, None, out);
        }
        for entry in &vm.egress {
            for via in &entry.via {
                check_vm_via(model, vm, via, Some(Which::of_net(&entry.to)), out);
            }
        }
        let project = model.project(vm.project);
        // A list applies when any of its pools does: the others are fallbacks
        // the VM lacks, which failover skips.
        let project_vias = std::iter::once((&project.default[..], None))
            .chain((project.egress.iter()).map(|e| (&e.via[..], Some(Which::of_net(&e.to)))));
        for (vias, family) in project_vias {
            // A VM without public addresses (of the family) is internal-only by
            // design: project preferences never apply to it, and warning about
            // each would be noise.
            if !vm.public.iter().any(|p| of_family(p.value, family)) {
                continue;
            }
            if let [first, ..] = vias
                && !applies(model, vm, vias, family)
            {
                let span = first.span.clone();
                let pool = pools(model, vias);
                let what = family_word(model, vm, vias.iter().map(|v| v.value), family);
                out.push(
                    Diagnostic::new(
                        Code::ProjectEgressSkipped,
                        format!("project `{}` sends traffic via {pool}, but VM `{}` has no {what}address there", project.name.value, vm.name.value),
                        span.clone(),
                        format!("does not apply to `{}`", vm.name.value),
                    )
                    .also(vm.name.span.clone(), "this VM")
                    .help("the entry is skipped for this VM; give it an address in the pool to apply it"),
                );
            }
        }
    }
}

/// Whether `address` is of `family` (any, for a default).
fn of_family(address: std::net::IpAddr, family: Option<Which>) -> bool {
    family.is_none_or(|family| Which::of(address) == family)
}

/// Whether `vias` apply to the VM's packets of `family` (of either, for a default).
fn applies(model: &Model, vm: &Vm, vias: &[Spanned<PoolId>], family: Option<Which>) -> bool {
    let v4 = || model.applies::<V4, _>(vm, vias);
    let v6 = || model.applies::<V6, _>(vm, vias);
    match family {
        Some(Which::V4) => v4(),
        Some(Which::V6) => v6(),
        None => v4() || v6(),
    }
}

/// "IPv6 " when the VM has an address of another family in one of `pools`
/// (so "no address there" would be untrue); nothing otherwise.
fn family_word(
    model: &Model,
    vm: &Vm,
    mut pools: impl Iterator<Item = PoolId>,
    family: Option<Which>,
) -> String {
    match family {
        Some(family)
            if pools.any(|pool| {
                (vm.public.iter()).any(|p| model.pool_of_ip(p.value) == Some(pool))
            }) =>
        {
            format!("{} ", family.name())
        }
        _ => String::new(),
    }
}

fn check_vm_via(
    model: &Model,
    vm: &Vm,
    via: &Spanned<Via>,
    family: Option<Which>,
    out: &mut Diagnostics,
) {
    match via.value {
        Via::Address(address) if !vm.public.iter().any(|p| p.value == address) => out.push(
            Diagnostic::new(
                Code::ViaNotOwned,
                format!("VM `{}` does not own {address}", vm.name.value),
                via.span.clone(),
                "not one of this VM's public addresses",
            )
            .help(format!("is {address} the address you meant? {}", owned(vm))),
        ),
        Via::Pool(pool)
            if !(vm.public.iter())
                .any(|p| of_family(p.value, family) && model.pool_of_ip(p.value) == Some(pool)) =>
        {
            let what = family_word(model, vm, std::iter::once(pool), family);
            out.push(
                Diagnostic::new(
                    Code::ViaPoolWithoutAddress,
                    format!(
                        "VM `{}` has no {what}address in pool `{}`",
                        vm.name.value,
                        model.pool(pool).name.value
                    ),
                    via.span.clone(),
                    "no address of this VM in this pool",
                )
                .help(format!(
                    "is `{}` the pool you meant? {}",
                    model.pool(pool).name.value,
                    owned(vm)
                )),
            )
        }
        _ => {}
    }
}

fn owned(vm: &Vm) -> String {
    if vm.public.is_empty() {
        return "This VM has no public addresses".into();
    }
    let list: Vec<String> = vm.public.iter().map(|p| p.value.to_string()).collect();
    format!("This VM's public addresses: {}", list.join(", "))
}

/// `pool `a`` or `pools `a`, `b``, for a message.
fn pools(model: &Model, vias: &[Spanned<PoolId>]) -> String {
    let names: Vec<String> = vias
        .iter()
        .map(|pool| format!("`{}`", model.pool(pool.value).name.value))
        .collect();
    match names.as_slice() {
        [one] => format!("pool {one}"),
        many => format!("pools {}", many.join(", ")),
    }
}
