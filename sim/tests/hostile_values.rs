//! Issue 10, items 5 and 6, at the simulation tier: values that reach the simulation without a file's range check
//! (a library caller, a property test) neither panic nor wrap.

use firedrill_scenarios::catalog;

#[test]
fn a_performance_multiplier_of_zero_does_not_panic() {
    let mut scenario = catalog::load("vault-healthy").unwrap();
    scenario.topology.performance_multiplier = 0;
    // An empty election-timeout range (0..0) used to panic on the first election.
    let outcome = firedrill_sim::run(&scenario, 1);
    assert!(!outcome.trace.events.is_empty());
}

#[test]
fn a_u64_max_performance_multiplier_does_not_overflow() {
    let mut scenario = catalog::load("vault-healthy").unwrap();
    scenario.topology.performance_multiplier = u64::MAX;
    let outcome = firedrill_sim::run(&scenario, 1);
    assert!(!outcome.trace.events.is_empty());
}
