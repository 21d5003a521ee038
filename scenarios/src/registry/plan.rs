//! The concrete plan of one registry run: when each push, cleanup, GC and probe round happens, drawn from the seed.

use super::scenario::RegistryScenario;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// One scheduled operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// CI pushes every image of the scenario.
    Push,
    /// The nightly cleanup of stale tags.
    Cleanup,
    /// The weekly `registry garbage-collect`.
    GarbageCollect,
    /// One integrity probe round, with the naive scan beside it.
    ProbeRound,
}

/// What a seed decided. Operations are sorted by time; at the same time, in the order of [`Operation`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryPlan {
    pub seed: u64,
    pub operations: Vec<(u64, Operation)>,
}

impl RegistryPlan {
    /// Draws the plan. The draw order is fixed: cleanup phase, GC phase, probe phase.
    pub fn draw(scenario: &RegistryScenario, seed: u64) -> RegistryPlan {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        // Cron has one-second resolution; whole seconds also keep a walk (well under a second) from overlapping
        // the next operation, so detection latency is never inflated by a delayed start.
        let mut draw = |spec: &crate::duration::MillisSpec| spec.draw(&mut rng) / 1000 * 1000;
        let cleanup_first_ms = draw(&scenario.cleanup.first_at_ms);
        let gc_first_ms = draw(&scenario.gc.first_at_ms);
        let probe_first_ms = draw(&scenario.probes.integrity.first_at_ms);
        let end_ms = scenario.duration_ms;
        let mut operations = vec![(0, Operation::Push)];
        let mut every = |first_ms: u64, interval_ms: u64, operation: Operation| {
            let mut at_ms = first_ms;
            while at_ms < end_ms {
                operations.push((at_ms, operation));
                // Checked, and at least 1 ms: near u64::MAX the sum would wrap to an earlier time and never end.
                match at_ms.checked_add(interval_ms.max(1)) {
                    Some(next_ms) => at_ms = next_ms,
                    None => break,
                }
            }
        };
        every(
            cleanup_first_ms,
            scenario.cleanup.interval_ms,
            Operation::Cleanup,
        );
        every(
            gc_first_ms,
            scenario.gc.interval_ms,
            Operation::GarbageCollect,
        );
        every(
            probe_first_ms,
            scenario.probes.integrity.interval_ms,
            Operation::ProbeRound,
        );
        operations.sort();
        RegistryPlan { seed, operations }
    }
}
