//! Liveness: the system comes back, and the runbook ends the way the scenario expects.
//!
//! Every fault has an end: its scheduled heal, or the world ending it (a reboot clears a corrupted NFS client;
//! a hung session ends with the last mount that used it). Health must be 200 from no later than the budget
//! after the last fault ended (or after the runbook finished, or after the onset, for a fault that never
//! ends) to the end of the run. A runbook that finishes with an outcome the scenario does not expect
//! (`escalated`, `not_recovered`, …) fails liveness, whether or not a fault is still active. Only a run that
//! ends before its deadline cannot be judged, and says so.

use super::CheckResult;
use crate::trace::{EventKind, FaultName, RunbookOutcome, Trace};
use std::collections::BTreeMap;

pub const RULE: &str = "liveness_after_heal";

pub fn check(trace: &Trace, budget_ms: u64, expected: &[RunbookOutcome]) -> CheckResult {
    let mut open: BTreeMap<(FaultName, &str), u64> = BTreeMap::new();
    let mut onset_ms: Option<u64> = None;
    let mut last_end_ms: Option<u64> = None;
    let mut finished: Option<(u64, RunbookOutcome, &str)> = None;
    for event in trace.iter() {
        match &event.kind {
            EventKind::FaultInjected { fault, target, .. } => {
                onset_ms.get_or_insert(event.t_ms);
                *open.entry((*fault, target.as_str())).or_default() += 1;
            }
            EventKind::FaultHealed { fault, target, .. } => {
                if let Some(count) = open.get_mut(&(*fault, target.as_str())) {
                    *count = count.saturating_sub(1);
                }
                last_end_ms = Some(event.t_ms);
            }
            EventKind::RunbookFinished { outcome, detail } => {
                finished = Some((event.t_ms, *outcome, detail));
            }
            _ => {}
        }
    }
    if let Some((at_ms, outcome, detail)) = finished {
        if !expected.contains(&outcome) {
            let expected: Vec<&str> = expected.iter().map(|o| o.as_str()).collect();
            return CheckResult::new(
                RULE,
                false,
                format!(
                    "the runbook finished {} at {at_ms} ms ({detail}); the scenario expects {}",
                    outcome.as_str(),
                    expected.join(" or ")
                ),
            );
        }
    }
    let unended = open.iter().find(|(_, count)| **count > 0);
    let (origin_ms, origin) = match (unended, finished) {
        (None, _) => match last_end_ms {
            Some(at) => (at, "the last fault ended"),
            None => (0, "the run started with no fault"),
        },
        (Some(_), Some((at, _, _))) => (at, "the runbook finished, with a fault still active"),
        (Some(_), None) => (
            onset_ms.unwrap_or(0),
            "the onset of a fault that never ended, with no runbook to finish",
        ),
    };
    let deadline_ms = origin_ms.saturating_add(budget_ms);
    if trace.end_ms() < deadline_ms {
        return CheckResult::not_exercised(
            RULE,
            format!(
                "the run ended at {} ms, before the deadline {deadline_ms} ms ({origin} at {origin_ms} ms, budget {budget_ms} ms)",
                trace.end_ms()
            ),
        );
    }
    let mut healthy_since = None;
    for event in trace.iter() {
        if let EventKind::ExternalHealth { http_status } = event.kind {
            healthy_since = (http_status == 200).then(|| healthy_since.unwrap_or(event.t_ms));
        }
    }
    match healthy_since {
        Some(since) if since <= deadline_ms => CheckResult::new(
            RULE,
            true,
            format!("healthy from {since} ms to the end; {origin} at {origin_ms} ms"),
        ),
        Some(since) => CheckResult::new(
            RULE,
            false,
            format!(
                "healthy only from {since} ms; {origin} at {origin_ms} ms, budget {budget_ms} ms"
            ),
        ),
        None => CheckResult::new(
            RULE,
            false,
            format!("not healthy at the end; {origin} at {origin_ms} ms, budget {budget_ms} ms"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::TraceBuilder;
    use super::super::RuleStatus;
    use super::*;

    const RECOVERED: &[RunbookOutcome] = &[RunbookOutcome::Recovered];

    fn fault(t: &mut TraceBuilder, at: u64) {
        t.push(
            at,
            EventKind::FaultInjected {
                fault: FaultName::NfsHang,
                target: "vault-2".into(),
                detail: String::new(),
            },
        );
    }

    fn heal(t: &mut TraceBuilder, at: u64) {
        t.push(
            at,
            EventKind::FaultHealed {
                fault: FaultName::NfsHang,
                target: "vault-2".into(),
                how: String::new(),
            },
        );
    }

    fn end(t: &mut TraceBuilder, at: u64) {
        t.push(at, EventKind::RunFinished {});
    }

    #[test]
    fn an_escalated_runbook_fails_even_with_the_fault_active() {
        let mut t = TraceBuilder::healthy_cluster();
        fault(&mut t, 10);
        t.health(20, 503).finished(100, RunbookOutcome::Escalated);
        end(&mut t, 10_000);
        let result = check(&t.build(), 1_000, RECOVERED);
        assert_eq!(result.status, RuleStatus::Fail);
        assert!(result.detail.contains("escalated"), "{}", result.detail);
    }

    #[test]
    fn health_back_within_the_budget_after_the_heal_passes() {
        let mut t = TraceBuilder::healthy_cluster();
        fault(&mut t, 10);
        t.health(20, 503);
        heal(&mut t, 100);
        t.health(500, 200);
        end(&mut t, 10_000);
        assert_eq!(check(&t.build(), 1_000, RECOVERED).status, RuleStatus::Pass);
    }

    #[test]
    fn health_never_back_fails() {
        let mut t = TraceBuilder::healthy_cluster();
        fault(&mut t, 10);
        t.health(20, 503);
        heal(&mut t, 100);
        end(&mut t, 10_000);
        assert_eq!(check(&t.build(), 1_000, RECOVERED).status, RuleStatus::Fail);
    }

    #[test]
    fn a_fault_that_never_ends_without_a_runbook_is_still_judged() {
        let mut t = TraceBuilder::healthy_cluster();
        fault(&mut t, 10);
        t.health(20, 503);
        end(&mut t, 10_000);
        assert_eq!(check(&t.build(), 1_000, RECOVERED).status, RuleStatus::Fail);
    }

    #[test]
    fn no_fault_is_judged_from_the_start() {
        let mut t = TraceBuilder::healthy_cluster();
        end(&mut t, 10_000);
        assert_eq!(check(&t.build(), 1_000, RECOVERED).status, RuleStatus::Pass);
    }

    #[test]
    fn a_run_shorter_than_the_deadline_is_not_exercised() {
        let mut t = TraceBuilder::healthy_cluster();
        fault(&mut t, 10);
        heal(&mut t, 100);
        end(&mut t, 500);
        assert_eq!(
            check(&t.build(), 1_000, RECOVERED).status,
            RuleStatus::NotExercised
        );
    }
}
