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

#[test]
fn a_u64_max_node_boot_never_finishes_instead_of_booting_at_once() {
    use firedrill_scenarios::EventKind;
    let mut scenario = catalog::load("vault-node-nfs-stuck").unwrap();
    scenario.topology.node_boot_ms = u64::MAX;
    let outcome = firedrill_sim::run(&scenario, 1);
    use firedrill_scenarios::trace::NodeCondition;
    let node_states: Vec<(String, NodeCondition)> = outcome
        .trace
        .events
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::NodeState { node, state } => Some((node.clone(), *state)),
            _ => None,
        })
        .collect();
    let rebooted = node_states
        .iter()
        .position(|(_, state)| *state == NodeCondition::Rebooting)
        .expect("the runbook reboots the stuck node in this drill");
    let node = &node_states[rebooted].0;
    // With wrapping arithmetic, now + u64::MAX is now - 1: the node was Ready at the next tick.
    assert!(
        !node_states[rebooted..]
            .iter()
            .any(|(other, state)| other == node && *state == NodeCondition::Ready),
        "{node_states:?}"
    );
}
