//! parse + check + plan + render with the built-in templates on arbitrary bytes.
//! A valid topology must render (a render error is a bug, not bad input), every
//! machine (a host, or each member of a pair) gets files, and every VM's
//! planned egress ranges are sorted and disjoint, in each family.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use switchyard::BuildError;
use switchyard::diagnostic::Source;
use switchyard::family::{Family, V4, V6};
use switchyard::plan::HostPlan;
use switchyard::render::Renderer;

fn renderer() -> &'static Renderer {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    RENDERER.get_or_init(|| Renderer::new(BTreeMap::new()).expect("built-in templates parse"))
}

/// Every VM's egress ranges of family `F` on `host` are sorted and disjoint.
fn assert_sorted_and_disjoint<F: Family>(host: &HostPlan) {
    for vm in &host.family::<F>().vms {
        for pair in vm.egress.windows(2) {
            assert!(pair[0].0.last < pair[1].0.first, "{:?}: {pair:?}", vm.vm);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(source) = Source::from_bytes("fuzz.toml".to_owned(), data.to_vec()) else {
        return;
    };
    match switchyard::build(&source, None, renderer()) {
        Ok(build) => {
            let validated = switchyard::validate(&source).expect("built, so valid");
            for host in &validated.plan().hosts {
                assert_sorted_and_disjoint::<V4>(host);
                assert_sorted_and_disjoint::<V6>(host);
                // A pair's files are its members'.
                let machines: Vec<&str> = match &host.ha {
                    Some(ha) => ha.members.iter().map(|m| &*m.name).collect(),
                    None => vec![&*host.name],
                };
                for machine in machines {
                    assert!(
                        build.artifacts.iter().any(|a| a.host == machine),
                        "{machine}"
                    );
                }
            }
        }
        Err(BuildError::Invalid(diagnostics)) => assert!(!diagnostics.is_empty()),
        Err(error) => panic!("a valid topology failed to build: {error}"),
    }
});
