//! Liveness: once every fault has healed, external health is 200 within the budget and stays 200 to the end.
//! A run that ends before the budget has elapsed cannot be judged, and says so.

use super::CheckResult;
use crate::trace::{EventKind, Trace};

pub const RULE: &str = "liveness_after_heal";

pub fn check(trace: &Trace, budget_ms: u64) -> CheckResult {
    let injected = trace
        .iter()
        .filter(|e| matches!(e.kind, EventKind::FaultInjected { .. }))
        .count();
    let healed: Vec<u64> = trace
        .iter()
        .filter(|e| matches!(e.kind, EventKind::FaultHealed { .. }))
        .map(|e| e.t_ms)
        .collect();
    if injected == 0 || healed.len() < injected {
        return CheckResult::new(
            RULE,
            true,
            "not judged: some fault never healed during the run",
        );
    }
    let healed_at = *healed.iter().max().expect("at least one heal");
    let deadline = healed_at.saturating_add(budget_ms);
    if trace.end_ms() < deadline {
        return CheckResult::new(
            RULE,
            true,
            format!(
                "not judged: faults healed at {healed_at} ms, the run ended before {deadline} ms"
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
        Some(since) if since <= deadline => {
            CheckResult::new(RULE, true, format!("healthy from {since} ms; faults healed at {healed_at} ms"))
        }
        Some(since) => CheckResult::new(
            RULE,
            false,
            format!("healthy only from {since} ms; faults healed at {healed_at} ms, budget {budget_ms} ms"),
        ),
        None => CheckResult::new(
            RULE,
            false,
            format!("not healthy at the end; faults healed at {healed_at} ms, budget {budget_ms} ms"),
        ),
    }
}
