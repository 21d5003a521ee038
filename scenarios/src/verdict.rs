//! The verdict of one run, computed from its trace alone.

use crate::checkers::{self, CheckResult};
use crate::registry::RegistryScenario;
use crate::scenario::Scenario;
use crate::trace::{EventKind, Trace};
use serde::Serialize;

/// What a run showed: the figures and whether every rule held. `wall_ms` is the only field not taken from the
/// trace; it is measured by the caller and never part of the trace, so traces stay byte-identical.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    pub scenario: String,
    pub seed: u64,
    /// "pass" or "fail".
    pub verdict: &'static str,
    pub simulated_ms: u64,
    pub wall_ms: u64,
    pub onset_ms: Option<u64>,
    pub detected_at_ms: Option<u64>,
    pub recovered_at_ms: Option<u64>,
    pub actions: Vec<ActionSummary>,
    pub checks: Vec<CheckResult>,
    pub runbook_outcome: Option<String>,
    /// The simulation engine that ran the drill (`exact`, `turmoil-tick-<ms>ms`), when a simulation did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// For a registry drill: the version the registry stated, as the trace records it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry_version: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ActionSummary {
    pub t_ms: u64,
    pub step: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
}

impl Verdict {
    pub fn judge(scenario: &Scenario, seed: u64, trace: &Trace, wall_ms: u64) -> Verdict {
        let checks = checkers::check_all(scenario, trace);
        Self::from_checks(&scenario.name, seed, trace, wall_ms, checks)
    }

    /// Judges a registry drill's trace with the registry's checkers.
    pub fn judge_registry(
        scenario: &RegistryScenario,
        seed: u64,
        trace: &Trace,
        wall_ms: u64,
    ) -> Verdict {
        let checks = checkers::check_all_registry(scenario, trace);
        Self::from_checks(&scenario.name, seed, trace, wall_ms, checks)
    }

    /// The figures every verdict has, taken from the trace, around checks already run on it.
    fn from_checks(
        name: &str,
        seed: u64,
        trace: &Trace,
        wall_ms: u64,
        checks: Vec<CheckResult>,
    ) -> Verdict {
        let onset_ms = checkers::fault_onset_ms(trace);
        let actions = trace
            .iter()
            .filter_map(|event| match &event.kind {
                EventKind::Action {
                    step,
                    action,
                    target,
                    destructive: true,
                    outcome,
                    ..
                } => Some(ActionSummary {
                    t_ms: event.t_ms,
                    step: step.clone(),
                    action: action.as_str().to_string(),
                    target: target.clone(),
                    outcome: outcome.clone(),
                }),
                _ => None,
            })
            .collect();
        let runbook_outcome = trace.iter().find_map(|event| match &event.kind {
            EventKind::RunbookFinished { outcome, detail } if detail.is_empty() => {
                Some(outcome.as_str().to_string())
            }
            EventKind::RunbookFinished { outcome, detail } => {
                Some(format!("{}: {detail}", outcome.as_str()))
            }
            _ => None,
        });
        let registry_version = trace.iter().find_map(|event| match &event.kind {
            EventKind::RegistryStarted { version, .. } => Some(version.clone()),
            _ => None,
        });
        Verdict {
            scenario: name.to_string(),
            seed,
            verdict: if checks.iter().all(|check| !check.failed()) {
                "pass"
            } else {
                "fail"
            },
            simulated_ms: trace.end_ms(),
            wall_ms,
            onset_ms,
            detected_at_ms: checkers::detected_at_ms(trace, onset_ms),
            recovered_at_ms: checkers::recovered_at_ms(trace, onset_ms),
            actions,
            checks,
            runbook_outcome,
            registry_version,
            engine: None,
        }
    }

    pub fn passed(&self) -> bool {
        self.verdict == "pass"
    }

    /// The rules that failed, by name.
    pub fn failed_rules(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|check| check.failed())
            .map(|check| check.rule)
            .collect()
    }
}

/// The events worth a line in a readable timeline: faults, role changes, alerts, actions, health changes.
pub fn timeline(trace: &Trace) -> Vec<String> {
    trace
        .iter()
        .filter_map(|event| {
            let line = match &event.kind {
                EventKind::FaultInjected {
                    fault,
                    target,
                    detail,
                } => {
                    format!("fault     {fault:?} on {target} ({detail})")
                }
                EventKind::FaultHealed { fault, target, how } if how.is_empty() => {
                    format!("heal      {fault:?} on {target}")
                }
                EventKind::FaultHealed { fault, target, how } => {
                    format!("heal      {fault:?} on {target} ({how})")
                }
                EventKind::DiagnosisConfirmed {
                    step,
                    diagnosis,
                    target,
                    evidence,
                } => format!(
                    "confirm   [{step}] {diagnosis:?} {target} on {} observations",
                    evidence.len()
                ),
                EventKind::PodDeletionRequested {
                    pod, uid, force, ..
                } => format!(
                    "api       {} delete of {pod} (uid {uid})",
                    if *force { "force" } else { "graceful" }
                ),
                EventKind::VmPower {
                    node,
                    operation,
                    bootdisk,
                    ..
                } => format!("vm        {operation:?} of {node} (bootdisk {bootdisk})"),
                EventKind::RunAborted { reason } => format!("aborted   {reason}"),
                EventKind::RaftRole {
                    pod,
                    role: crate::trace::RaftRoleName::Leader,
                    term,
                } => {
                    format!("raft      {pod} leads term {term}")
                }
                EventKind::Alert {
                    name,
                    state,
                    detail,
                } => format!("alert     {name} {state:?} ({detail})")
                    .replace("Firing", "firing")
                    .replace("Resolved", "resolved"),
                EventKind::Action {
                    step,
                    action,
                    target,
                    destructive: true,
                    outcome,
                    ..
                } => format!(
                    "action    [{step}] {} {target} -> {outcome}",
                    action.as_str()
                ),
                EventKind::Action {
                    step,
                    action,
                    target,
                    ok: false,
                    outcome,
                    ..
                } => format!(
                    "action    [{step}] {} {target} -> {outcome}",
                    action.as_str()
                ),
                EventKind::ExternalHealth { http_status } => {
                    format!("health    external /v1/sys/health = {http_status}")
                }
                EventKind::NodeState { node, state } => format!("node      {node} {state:?}"),
                EventKind::RecoveryDeclared { detail } => format!("recovered declared ({detail})"),
                EventKind::RunbookFinished { outcome, detail } => {
                    format!("runbook   finished: {} {detail}", outcome.as_str())
                }
                EventKind::RegistryStarted { backend, version } => {
                    format!("registry  {version} ({backend})")
                }
                EventKind::RegistryOperation { operation, detail } => {
                    format!("operation {operation}: {detail}")
                }
                EventKind::RegistryScan {
                    scanner,
                    reported,
                    requests,
                    latency_ms,
                    ..
                } => format!(
                    "scan      {scanner}: {reported} broken ({requests} requests, {latency_ms} ms)"
                ),
                _ => return None,
            };
            Some(format!("{:>10}  {line}", format_ms(event.t_ms)))
        })
        .collect()
}

/// `mm:ss.mmm` of simulated time.
pub fn format_ms(t_ms: u64) -> String {
    format!(
        "{:02}:{:02}.{:03}",
        t_ms / 60_000,
        (t_ms / 1000) % 60,
        t_ms % 1000
    )
}
