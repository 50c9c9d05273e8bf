//! SY0404, SY0405, SY0904: every `via`/`default` a VM relies on resolves to one of
//! its own public addresses. Project-wide preferences that skip a VM are warned
//! about, except for VMs without public addresses (internal-only by design).

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Model, PoolId, Spanned, Via, Vm};

pub fn check(model: &Model, out: &mut Diagnostics) {
    for vm in &model.vms {
        for via in vm
            .default
            .iter()
            .chain(vm.egress.iter().flat_map(|e| &e.via))
        {
            check_vm_via(model, vm, via, out);
        }
        // A VM without public addresses is internal-only by design: project
        // preferences never apply to it, and warning about each would be noise.
        if vm.public.is_empty() {
            continue;
        }
        let project = model.project(vm.project);
        // A list applies when any of its pools does: the others are fallbacks
        // the VM lacks, which failover skips.
        let project_vias =
            std::iter::once(&project.default[..]).chain(project.egress.iter().map(|e| &e.via[..]));
        for vias in project_vias {
            if let [first, ..] = vias
                && !model.applies(vm, vias)
            {
                let span = first.span.clone();
                let pool = pools(model, vias);
                out.push(
                    Diagnostic::new(
                        Code::ProjectEgressSkipped,
                        format!("project `{}` sends traffic via {pool}, but VM `{}` has no address there", project.name.value, vm.name.value),
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

fn check_vm_via(model: &Model, vm: &Vm, via: &Spanned<Via>, out: &mut Diagnostics) {
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
        Via::Pool(pool) if model.public_in_pool(vm, pool).is_none() => out.push(
            Diagnostic::new(
                Code::ViaPoolWithoutAddress,
                format!(
                    "VM `{}` has no address in pool `{}`",
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
        ),
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
