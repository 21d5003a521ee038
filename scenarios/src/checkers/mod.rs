//! The checkers: one per rule, each judging a trace alone.
//!
//! Architecture invariant: a checker sees only the trace (and the scenario's expectations), never a backend,
//! so the same checkers judge the simulation and the real worlds.

mod detection;
mod force_delete_after_unmount;
mod no_destructive_action;
mod no_stuck_alert;
mod recovery;
mod voters_ready;

pub use detection::{detected_at_ms, STUCK_ALERT};
pub use recovery::recovered_at_ms;

use crate::scenario::Scenario;
use crate::trace::Trace;
use serde::Serialize;

/// The result of one rule on one trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub rule: &'static str,
    pub passed: bool,
    pub detail: String,
}

impl CheckResult {
    fn new(rule: &'static str, passed: bool, detail: impl Into<String>) -> Self {
        Self {
            rule,
            passed,
            detail: detail.into(),
        }
    }
}

/// Runs every rule that applies: the safety rules always, the expectations the scenario asks for.
pub fn check_all(scenario: &Scenario, trace: &Trace) -> Vec<CheckResult> {
    let expect = &scenario.expect;
    let onset_ms = fault_onset_ms(trace);
    let mut results = vec![force_delete_after_unmount::check(trace)];
    if let Some(within_ms) = expect.detected_within_ms {
        results.push(detection::check(trace, onset_ms, within_ms));
    }
    if let Some(within_ms) = expect.recovered_within_ms {
        results.push(recovery::check(trace, onset_ms, within_ms));
    }
    if expect.no_stuck_alert {
        results.push(no_stuck_alert::check(trace));
    }
    if expect.no_destructive_action {
        results.push(no_destructive_action::check(trace));
    }
    if let Some(count) = expect.voters_ready_at_end {
        results.push(voters_ready::check(trace, count));
    }
    results
}

/// The time of the first injected fault: the origin for detection and recovery times.
pub fn fault_onset_ms(trace: &Trace) -> Option<u64> {
    trace.iter().find_map(|event| match event.kind {
        crate::trace::EventKind::FaultInjected { .. } => Some(event.t_ms),
        _ => None,
    })
}
