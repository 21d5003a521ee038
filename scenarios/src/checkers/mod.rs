//! The checkers: one per rule, each judging a trace alone.
//!
//! Architecture invariant: a checker sees only the trace (and the scenario's expectations), never a backend,
//! so the same checkers judge the simulation and the real worlds.

mod boot_order_checked;
mod detection;
mod diagnosis_first;
mod force_delete_after_unmount;
mod graceful_before_force;
mod liveness;
mod naive_scan_blind;
mod no_breakage;
mod no_destructive_action;
mod no_stuck_alert;
mod one_voter_at_a_time;
mod orphans_swept;
mod premature_recovery;
mod probe_exact;
mod pvc_finalizer_before_migration_delete;
mod recovery;
mod registry_detection;
mod voters_ready;

pub use detection::{detected_at_ms, STUCK_ALERT};
pub use recovery::recovered_at_ms;

use crate::registry::RegistryScenario;
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

/// The rules of DOMAIN.md §7 that hold in every drill, whatever it expects, plus liveness. These are what
/// `firedrill check` proves over seeds.
pub fn safety_rules(scenario: &Scenario, trace: &Trace) -> Vec<CheckResult> {
    let expect = &scenario.expect;
    vec![
        force_delete_after_unmount::check(trace),
        graceful_before_force::check(trace),
        boot_order_checked::check(trace),
        premature_recovery::check(trace, expect.sustained_health_ms),
        one_voter_at_a_time::check(trace),
        diagnosis_first::check(trace),
        pvc_finalizer_before_migration_delete::check(trace),
        liveness::check(trace, expect.liveness_budget_ms),
    ]
}

/// Runs every rule that applies: the safety rules always, the expectations the scenario asks for.
pub fn check_all(scenario: &Scenario, trace: &Trace) -> Vec<CheckResult> {
    let expect = &scenario.expect;
    let onset_ms = fault_onset_ms(trace);
    let mut results = safety_rules(scenario, trace);
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

/// Runs every rule a registry drill asks for.
pub fn check_all_registry(scenario: &RegistryScenario, trace: &Trace) -> Vec<CheckResult> {
    let expect = &scenario.expect;
    let onset_ms = fault_onset_ms(trace);
    let mut results = Vec::new();
    if let Some(within_ms) = expect.detected_within_ms {
        results.push(registry_detection::check(trace, onset_ms, within_ms));
    }
    if expect.probe_exact {
        results.push(probe_exact::check(trace));
    }
    if expect.naive_scan_blind {
        results.push(naive_scan_blind::check(trace));
    }
    if expect.orphans_swept {
        results.push(orphans_swept::check(trace));
    }
    if expect.no_breakage {
        results.push(no_breakage::check(trace));
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
