//! Figures over many runs: distributions, and the per-run numbers they are built from, read off traces.

use crate::trace::{EventKind, Trace};
use serde::Serialize;

/// A distribution over seeds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Distribution {
    pub count: usize,
    pub p50: Option<u64>,
    pub p95: Option<u64>,
    pub max: Option<u64>,
}

impl Distribution {
    pub fn of(mut values: Vec<u64>) -> Self {
        values.sort_unstable();
        let at = |q: f64| {
            values
                .get(((values.len() as f64 - 1.0) * q).round() as usize)
                .copied()
        };
        Self {
            count: values.len(),
            p50: at(0.5),
            p95: at(0.95),
            max: values.last().copied(),
        }
    }

    /// `p50 X, p95 Y, max Z (n=N)` with a unit, or `n/a`.
    pub fn text(&self, unit: &str) -> String {
        match (self.p50, self.p95, self.max) {
            (Some(p50), Some(p95), Some(max)) => {
                format!(
                    "p50 {p50}{unit}, p95 {p95}{unit}, max {max}{unit} (n={})",
                    self.count
                )
            }
            _ => "n/a".to_string(),
        }
    }
}

/// Node reboots in a run: every guest reboot, from `qm reset` or a cold boot.
pub fn node_reboots(trace: &Trace) -> u64 {
    trace
        .iter()
        .filter(|e| {
            matches!(
                &e.kind,
                EventKind::NodeState {
                    state: crate::trace::NodeCondition::Rebooting,
                    ..
                }
            )
        })
        .count() as u64
}

/// Destructive actions a runbook took in a run.
pub fn destructive_actions(trace: &Trace) -> u64 {
    trace
        .iter()
        .filter(|e| {
            matches!(
                &e.kind,
                EventKind::Action {
                    destructive: true,
                    ..
                }
            )
        })
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_small_sample() {
        let d = Distribution::of(vec![5, 1, 3, 2, 4]);
        assert_eq!(
            (d.count, d.p50, d.p95, d.max),
            (5, Some(3), Some(5), Some(5))
        );
        assert_eq!(Distribution::of(vec![]).text("ms"), "n/a");
    }
}
