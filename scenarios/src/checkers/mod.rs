//! The checkers: one per rule, each judging a trace alone.
//!
//! Architecture invariant: a checker sees only the trace (and the scenario's expectations), never a backend,
//! so the same checkers judge the simulation and the real worlds. Safety rules judge the harm itself, from the
//! ground truth the world records (`replay.rs`), never a ritual the runbook performs. A rule with nothing to
//! judge says `not_exercised`, never `pass`.

mod boot_order_checked;
mod collateral_damage;
mod detection;
mod diagnosis_first;
#[cfg(test)]
pub(crate) mod fixture;
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
pub mod replay;
mod voters_ready;

pub use detection::{detected_at_ms, STUCK_ALERT};
pub use recovery::recovered_at_ms;

use crate::registry::RegistryScenario;
use crate::scenario::Scenario;
use crate::trace::Trace;
use serde::Serialize;

/// What one rule concluded about one trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleStatus {
    /// The rule had something to judge, and it held.
    Pass,
    /// The rule was broken.
    Fail,
    /// Nothing in the run gave the rule anything to judge; `detail` says why.
    NotExercised,
}

impl RuleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleStatus::Pass => "pass",
            RuleStatus::Fail => "fail",
            RuleStatus::NotExercised => "not_exercised",
        }
    }
}

/// The result of one rule on one trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    pub rule: &'static str,
    pub status: RuleStatus,
    pub detail: String,
}

impl CheckResult {
    fn new(rule: &'static str, passed: bool, detail: impl Into<String>) -> Self {
        Self {
            rule,
            status: if passed {
                RuleStatus::Pass
            } else {
                RuleStatus::Fail
            },
            detail: detail.into(),
        }
    }

    fn not_exercised(rule: &'static str, why: impl Into<String>) -> Self {
        Self {
            rule,
            status: RuleStatus::NotExercised,
            detail: why.into(),
        }
    }

    pub fn failed(&self) -> bool {
        self.status == RuleStatus::Fail
    }

    pub fn exercised(&self) -> bool {
        self.status != RuleStatus::NotExercised
    }
}

/// The names of the safety rules, in the order [`safety_rules`] returns them.
pub const SAFETY_RULES: &[&str] = &[
    force_delete_after_unmount::RULE,
    graceful_before_force::RULE,
    boot_order_checked::RULE,
    premature_recovery::RULE,
    one_voter_at_a_time::RULE,
    diagnosis_first::RULE,
    pvc_finalizer_before_migration_delete::RULE,
    collateral_damage::RULE,
    liveness::RULE,
];

/// The rules of DOMAIN.md §7 that hold in every drill, whatever it expects, plus liveness. These are what
/// `firedrill check` proves over seeds.
pub fn safety_rules(scenario: &Scenario, trace: &Trace) -> Vec<CheckResult> {
    let expect = &scenario.expect;
    let mut results = vec![
        force_delete_after_unmount::check(trace),
        graceful_before_force::check(trace),
        boot_order_checked::check(trace),
        premature_recovery::check(trace, expect.sustained_health_ms),
        one_voter_at_a_time::check(trace),
        diagnosis_first::check(trace),
        pvc_finalizer_before_migration_delete::check(trace),
        collateral_damage::check(trace),
        liveness::check(trace, expect.liveness_budget_ms, &expect.runbook_outcomes),
    ];
    if let Some(reason) = aborted(trace) {
        results.push(CheckResult::new(RUN_COMPLETED, false, reason));
    }
    results
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

/// The pseudo-rule a run fails when it could not complete (a panic in the world or the runbook).
pub const RUN_COMPLETED: &str = "run_completed";

/// Why the run was aborted, if it was.
pub fn aborted(trace: &Trace) -> Option<String> {
    trace.iter().find_map(|event| match &event.kind {
        crate::trace::EventKind::RunAborted { reason } => {
            Some(format!("the run aborted at {} ms: {reason}", event.t_ms))
        }
        _ => None,
    })
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
    if let Some(reason) = aborted(trace) {
        results.push(CheckResult::new(RUN_COMPLETED, false, reason));
    }
    results
}

/// The origin for detection and recovery times: the onset of the first NFS hang, the fault that makes a voter
/// stuck, or of the first fault of any kind in a run with no hang (a registry breakage, a slow disk). A run
/// whose only fault is a corrupted NFS client has nothing the stuck-leader alert should see, so the hang's
/// absence there means no onset.
pub fn fault_onset_ms(trace: &Trace) -> Option<u64> {
    use crate::trace::{EventKind, FaultName};
    let onsets: Vec<(u64, FaultName)> = trace
        .iter()
        .filter_map(|event| match event.kind {
            EventKind::FaultInjected { fault, .. } => Some((event.t_ms, fault)),
            _ => None,
        })
        .collect();
    onsets
        .iter()
        .find(|(_, fault)| *fault == FaultName::NfsHang)
        .or_else(|| {
            onsets
                .iter()
                .find(|(_, fault)| *fault != FaultName::NfsClientCorrupted)
        })
        .map(|(t_ms, _)| *t_ms)
}
