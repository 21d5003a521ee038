//! Helpers shared by the benches: the scenario the simulator-throughput figure is defined on.

use firedrill_scenarios::{catalog, Scenario};

/// The scenario of the simulator-speed target: the Vault stuck leader, 30 simulated minutes.
pub fn stuck_leader() -> Scenario {
    catalog::load("vault-stuck-leader").expect("the catalog scenario parses")
}
