//! The turmoil world: deterministic models of Vault, NFS, Kubernetes and the ops host, and `run`.

use firedrill_scenarios::{Scenario, Trace};

/// What one simulated run produced.
pub struct SimOutcome {
    pub trace: Trace,
    /// Wall-clock time the run took; measured outside the simulated code and never written to the trace.
    pub wall_ms: u64,
}

/// Runs a scenario with a seed. Placeholder until the world lands.
pub fn run(_scenario: &Scenario, _seed: u64) -> SimOutcome {
    SimOutcome {
        trace: Trace::default(),
        wall_ms: 0,
    }
}
