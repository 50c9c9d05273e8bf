//! The synthetic generator (examples/synth.rs) produces topologies that check
//! clean, deterministically.

#[path = "../examples/synth.rs"]
mod synth;

use switchyard::diagnostic::Source;

fn generate(vms: usize, hosts: usize, seed: u64) -> String {
    generate_families(vms, hosts, seed, false)
}

fn generate_families(vms: usize, hosts: usize, seed: u64, dual_stack: bool) -> String {
    let mut out = Vec::new();
    synth::generate(vms, hosts, seed, dual_stack, &mut out).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("the generator writes UTF-8")
}

fn assert_clean(text: String) {
    let source = Source::new("synth.toml", text);
    match switchyard::validate(&source) {
        Ok(validated) => {
            let codes: Vec<_> = validated
                .warnings()
                .iter()
                .map(|d| d.code.as_str())
                .collect();
            assert!(
                validated.warnings().is_empty(),
                "warnings: {codes:?}\n{}",
                switchyard::diagnostic::render_human(&source, validated.warnings(), 100)
            );
        }
        Err(diagnostics) => panic!(
            "the generated topology is invalid:\n{}",
            switchyard::diagnostic::render_human(&source, &diagnostics, 100)
        ),
    }
}

#[test]
fn small_topology_checks_clean() {
    assert_clean(generate(300, 2, 1));
}

#[test]
fn other_seeds_and_sizes_check_clean() {
    for (vms, hosts, seed) in [(1, 1, 0), (59, 1, 7), (500, 3, 42), (1500, 5, 1234)] {
        assert_clean(generate(vms, hosts, seed));
    }
}

#[test]
fn dual_stack_topologies_check_clean() {
    for (vms, hosts, seed) in [(1, 1, 0), (300, 2, 1), (1500, 5, 1234)] {
        assert_clean(generate_families(vms, hosts, seed, true));
    }
}

#[test]
fn zero_vms_is_a_valid_empty_estate() {
    assert_clean(generate(0, 1, 1));
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let first = generate(300, 2, 9);
    assert_eq!(first, generate(300, 2, 9));
    assert_ne!(first, generate(300, 2, 10));
}

#[test]
fn shape_matches_the_request() {
    let text = generate(300, 2, 3);
    let source = Source::new("synth.toml", text);
    let Ok(validated) = switchyard::validate(&source) else {
        panic!("the generated topology is invalid");
    };
    let model = validated.model();
    assert_eq!(model.vms.len(), 300);
    assert_eq!(model.hosts.len(), 2);
    assert_eq!(model.uplinks.len(), 3);
    assert_eq!(model.pools.len(), 3);
    assert!(model.hosts.iter().all(|h| h.attachments.len() == 3));
    assert!(
        model
            .vms
            .iter()
            .all(|vm| (2..=3).contains(&vm.public.len()))
    );
    assert!(
        model
            .projects
            .iter()
            .all(|p| !p.default.is_empty() && (1..=3).contains(&p.egress.len()))
    );
    // Both hosts get VMs, some projects are denied a pool, some VMs override.
    assert!(
        model
            .hosts
            .iter()
            .enumerate()
            .all(|(i, _)| model.vms.iter().any(|vm| vm.host.index() == i))
    );
    assert!(model.projects.iter().any(|p| p.pools.len() == 2));
    let overriding = model
        .vms
        .iter()
        .filter(|vm| !vm.default.is_empty() || !vm.egress.is_empty())
        .count();
    assert!(
        (30..=90).contains(&overriding),
        "{overriding} of 300 VMs override their project"
    );
}

#[test]
fn bad_arguments_are_refused() {
    let mut out = Vec::new();
    assert!(synth::generate(10, 0, 1, false, &mut out).is_err());
    assert!(synth::generate(synth::MAX_VMS + 1, 1, 1, false, &mut out).is_err());
    assert!(synth::generate(10, synth::MAX_HOSTS + 1, 1, false, &mut out).is_err());
}
