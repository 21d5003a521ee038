//! Rule (liveness): the expected number of voters are ready when the run ends.

use super::CheckResult;
use crate::trace::{EventKind, PodPhaseName, Trace};
use std::collections::BTreeMap;

pub fn check(trace: &Trace, expected: usize) -> CheckResult {
    let mut last_phase: BTreeMap<&str, PodPhaseName> = BTreeMap::new();
    for event in trace.iter() {
        if let EventKind::PodPhase { pod, phase, .. } = &event.kind {
            last_phase.insert(pod, *phase);
        }
    }
    let ready: Vec<&str> = last_phase
        .iter()
        .filter(|(_, phase)| **phase == PodPhaseName::Ready)
        .map(|(pod, _)| *pod)
        .collect();
    let detail = format!(
        "{} of {expected} voters ready at the end: {}",
        ready.len(),
        last_phase
            .iter()
            .map(|(pod, phase)| format!("{pod}={phase:?}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    CheckResult::new("voters_ready_at_end", ready.len() >= expected, detail)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::TraceBuilder;
    use super::super::RuleStatus;
    use super::*;

    #[test]
    fn all_ready_passes_and_one_down_fails() {
        let mut t = TraceBuilder::healthy_cluster();
        assert_eq!(check(&t.build(), 3).status, RuleStatus::Pass);
        t.pod(10, "vault-1", "u1", "n1", PodPhaseName::ContainerCreating);
        let result = check(&t.build(), 3);
        assert_eq!(result.status, RuleStatus::Fail);
        assert!(
            result.detail.contains("vault-1=ContainerCreating"),
            "{}",
            result.detail
        );
    }
}
