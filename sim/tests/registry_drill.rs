//! Registry drills in turmoil: the catalog's registry scenarios pass, a seed gives one trace, and the trace shows
//! the seed's "live proof" (the naive scan at 0 while the probe finds the orphans).

use firedrill_scenarios::catalog;
use firedrill_scenarios::registry::{RegistryScenario, INTEGRITY_SCANNER, NAIVE_SCANNER};
use firedrill_scenarios::{Drill, EventKind, Trace};

const REGISTRY_DRILLS: [&str; 4] = [
    "registry-orphan-index",
    "registry-orphan-api-cleanup",
    "registry-orphan-gc-sweep",
    "registry-healthy",
];

fn load(name: &str) -> RegistryScenario {
    match catalog::load_drill(name).unwrap_or_else(|error| panic!("{error}")) {
        Drill::Registry(scenario) => scenario,
        Drill::Vault(_) => panic!("{name} is a registry drill"),
    }
}

fn jsonl(trace: &Trace) -> String {
    let mut bytes = Vec::new();
    trace.write_jsonl(&mut bytes).unwrap();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn every_registry_drill_passes_on_a_few_seeds() {
    for name in REGISTRY_DRILLS {
        let scenario = load(name);
        for seed in 1..=5 {
            let outcome = firedrill_sim::registry::run::run(&scenario, seed);
            let verdict = Drill::Registry(scenario.clone()).judge(seed, &outcome.trace, 0);
            assert!(
                verdict.passed(),
                "{name} seed {seed}: {:#?}",
                verdict.checks
            );
        }
    }
}

#[test]
fn one_seed_gives_one_trace_and_seeds_differ() {
    let scenario = load("registry-orphan-index");
    let a = firedrill_sim::registry::run::run(&scenario, 7).trace;
    let b = firedrill_sim::registry::run::run(&scenario, 7).trace;
    assert_eq!(jsonl(&a), jsonl(&b));
    let c = firedrill_sim::registry::run::run(&scenario, 8).trace;
    assert_ne!(jsonl(&a), jsonl(&c));
}

#[test]
fn the_naive_scan_reports_zero_while_the_probe_finds_every_orphan() {
    let scenario = load("registry-orphan-index");
    let trace = firedrill_sim::registry::run::run(&scenario, 1).trace;
    let last = |scanner: &str| {
        trace
            .iter()
            .filter_map(|event| match &event.kind {
                EventKind::RegistryScan {
                    scanner: name,
                    reported,
                    findings,
                    ..
                } if name == scanner => Some((*reported, findings.clone())),
                _ => None,
            })
            .last()
            .unwrap()
    };
    let (_, naive) = last(NAIVE_SCANNER);
    let (integrity, findings) = last(INTEGRITY_SCANNER);
    // It sees `_layers` links whose data GC swept, but not one orphaned child.
    assert!(!naive.is_empty());
    assert!(
        !naive.iter().any(|f| f.starts_with("missing-child")),
        "{naive:?}"
    );
    // Two OCI index children and two manifest-list children lose their revision links.
    assert_eq!(integrity, 4, "{findings:?}");
    assert!(
        findings.iter().all(|f| f.starts_with("manifest ")),
        "{findings:?}"
    );
}
