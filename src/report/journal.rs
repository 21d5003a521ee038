//! The run journal (`--journal FILE`): one JSON document per run, in the spirit of Chaos Toolkit's journal,
//! read off the trace and the verdict. Its schema is documented in `docs/journal.md`; `JOURNAL_VERSION` changes
//! with it.

use firedrill_scenarios::checkers::CheckResult;
use firedrill_scenarios::trace::TRACE_SCHEMA_VERSION;
use firedrill_scenarios::{figures, EventKind, Trace, Verdict};
use serde::Serialize;
use std::collections::BTreeSet;

/// The version of the journal's schema (`docs/journal.md`).
pub const JOURNAL_VERSION: u32 = 1;

#[derive(Serialize)]
pub struct Journal {
    pub journal_version: u32,
    pub scenario: String,
    pub seed: u64,
    /// What the seed decided (faults, first leader, beliefs), as the trace recorded it.
    pub schedule: Option<serde_json::Value>,
    pub backend: String,
    pub versions: Versions,
    /// `succeeded` when every rule held, `failed` when one broke, `aborted` when the run could not complete.
    pub status: &'static str,
    /// Whether the system deviated from what the rules demand: a rule broke.
    pub deviated: bool,
    /// Simulated (or, on a real backend, elapsed) time the run lasted, and the wall time it took.
    pub end_ms: u64,
    pub wall_ms: u64,
    /// Every runbook activity, in order.
    pub activities: Vec<ActivityRecord>,
    pub probe_rounds: Vec<ProbeRound>,
    pub alerts: Vec<AlertRecord>,
    pub runbook_outcome: Option<String>,
    pub rules: Vec<CheckResult>,
    pub figures: JournalFigures,
}

#[derive(Serialize)]
pub struct Versions {
    pub firedrill: &'static str,
    pub trace_schema: u32,
    /// The version the registry stated, for a registry drill.
    pub registry: Option<String>,
}

/// One runbook activity: an observation or an action, a confirmation, a recovery declared, or the end.
#[derive(Serialize)]
pub struct ActivityRecord {
    pub step: String,
    /// The verb (`probe_voters`, `delete_pod`, …), or `confirm`, `declare_recovery`, `finish`.
    pub activity: String,
    pub target: String,
    pub destructive: bool,
    /// When the runbook entered the step, and when the activity's result was recorded.
    pub start_ms: u64,
    pub end_ms: u64,
    /// `succeeded`, or `failed` when the actuator could not carry it out.
    pub status: &'static str,
    pub output: String,
}

/// One round of probes: each endpoint's result once, in the order they came.
#[derive(Serialize)]
pub struct ProbeRound {
    pub start_ms: u64,
    pub end_ms: u64,
    pub results: Vec<ProbeRecord>,
}

#[derive(Serialize)]
pub struct ProbeRecord {
    pub t_ms: u64,
    pub probe: String,
    pub endpoint: String,
    pub state: String,
    pub http_status: Option<u16>,
    pub latency_ms: u64,
}

#[derive(Serialize)]
pub struct AlertRecord {
    pub t_ms: u64,
    pub name: String,
    pub state: String,
    pub detail: String,
}

#[derive(Serialize)]
pub struct JournalFigures {
    pub onset_ms: Option<u64>,
    pub detected_at_ms: Option<u64>,
    pub recovered_at_ms: Option<u64>,
    /// From the fault's onset.
    pub time_to_detect_ms: Option<u64>,
    pub time_to_recover_ms: Option<u64>,
    pub destructive_actions: u64,
    pub node_reboots: u64,
}

impl Journal {
    pub fn of(verdict: &Verdict, trace: &Trace) -> Journal {
        let mut backend = "sim".to_string();
        let mut schedule = None;
        let mut aborted = false;
        let mut entered: std::collections::BTreeMap<String, u64> = Default::default();
        let mut activities = Vec::new();
        let mut probes = Vec::new();
        let mut alerts = Vec::new();
        for event in trace.iter() {
            let t_ms = event.t_ms;
            let mut record =
                |step: &str, activity: String, target: String, ok: bool, output: String| {
                    activities.push(ActivityRecord {
                        start_ms: entered.get(step).copied().unwrap_or(t_ms).min(t_ms),
                        step: step.to_string(),
                        activity,
                        target,
                        destructive: false,
                        end_ms: t_ms,
                        status: if ok { "succeeded" } else { "failed" },
                        output,
                    })
                };
            match &event.kind {
                EventKind::RunStarted { backend: b, .. } => backend = b.clone(),
                EventKind::ScheduleDrawn { schedule: s } => {
                    schedule = serde_json::to_value(s).ok();
                }
                EventKind::RegistryPlanDrawn { plan } => schedule = serde_json::to_value(plan).ok(),
                EventKind::RunAborted { .. } => aborted = true,
                EventKind::StepReached { step } => {
                    entered.insert(step.clone(), t_ms);
                }
                EventKind::Action {
                    step,
                    action,
                    target,
                    destructive,
                    outcome,
                    ok,
                } => {
                    record(
                        step,
                        action.as_str().to_string(),
                        target.clone(),
                        *ok,
                        outcome.clone(),
                    );
                    if let Some(last) = activities.last_mut() {
                        last.destructive = *destructive;
                    }
                }
                EventKind::DiagnosisConfirmed {
                    step,
                    diagnosis,
                    target,
                    evidence,
                } => record(
                    step,
                    "confirm".to_string(),
                    target.clone(),
                    !evidence.is_empty(),
                    format!(
                        "{} on {} observation(s)",
                        serde_json::to_value(diagnosis)
                            .ok()
                            .and_then(|value| value.as_str().map(str::to_string))
                            .unwrap_or_default(),
                        evidence.len()
                    ),
                ),
                EventKind::RecoveryDeclared { detail } => record(
                    "",
                    "declare_recovery".to_string(),
                    String::new(),
                    true,
                    detail.clone(),
                ),
                EventKind::RunbookFinished { outcome, detail } => record(
                    "",
                    "finish".to_string(),
                    String::new(),
                    true,
                    format!(
                        "{}{}{detail}",
                        outcome.as_str(),
                        if detail.is_empty() { "" } else { ": " }
                    ),
                ),
                EventKind::ProbeResult {
                    probe,
                    endpoint,
                    state,
                    http_status,
                    latency_ms,
                } => probes.push(ProbeRecord {
                    t_ms,
                    probe: probe.clone(),
                    endpoint: endpoint.clone(),
                    state: state.clone(),
                    http_status: *http_status,
                    latency_ms: *latency_ms,
                }),
                EventKind::RegistryScan {
                    scanner,
                    reported,
                    error,
                    latency_ms,
                    ..
                } => probes.push(ProbeRecord {
                    t_ms,
                    probe: scanner.clone(),
                    endpoint: "registry".to_string(),
                    state: match error {
                        Some(error) => format!("error: {error}"),
                        None => format!("{reported} broken object(s) reported"),
                    },
                    http_status: None,
                    latency_ms: *latency_ms,
                }),
                EventKind::Alert {
                    name,
                    state,
                    detail,
                } => alerts.push(AlertRecord {
                    t_ms,
                    name: name.clone(),
                    state: serde_json::to_value(state)
                        .ok()
                        .and_then(|value| value.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    detail: detail.clone(),
                }),
                _ => {}
            }
        }
        let since_onset = |at: Option<u64>| {
            at.zip(verdict.onset_ms)
                .map(|(at, onset)| at.saturating_sub(onset))
        };
        Journal {
            journal_version: JOURNAL_VERSION,
            scenario: verdict.scenario.clone(),
            seed: verdict.seed,
            schedule,
            backend,
            versions: Versions {
                firedrill: env!("CARGO_PKG_VERSION"),
                trace_schema: TRACE_SCHEMA_VERSION,
                registry: verdict.registry_version.clone(),
            },
            status: if aborted {
                "aborted"
            } else if verdict.passed() {
                "succeeded"
            } else {
                "failed"
            },
            deviated: !verdict.passed(),
            end_ms: verdict.simulated_ms,
            wall_ms: verdict.wall_ms,
            activities,
            probe_rounds: rounds(probes),
            alerts,
            runbook_outcome: verdict.runbook_outcome.clone(),
            rules: verdict.checks.clone(),
            figures: JournalFigures {
                onset_ms: verdict.onset_ms,
                detected_at_ms: verdict.detected_at_ms,
                recovered_at_ms: verdict.recovered_at_ms,
                time_to_detect_ms: since_onset(verdict.detected_at_ms),
                time_to_recover_ms: since_onset(verdict.recovered_at_ms),
                destructive_actions: figures::destructive_actions(trace),
                node_reboots: figures::node_reboots(trace),
            },
        }
    }
}

/// Groups probe results into rounds: a round ends when an endpoint it already holds answers again.
fn rounds(results: Vec<ProbeRecord>) -> Vec<ProbeRound> {
    let mut rounds: Vec<ProbeRound> = Vec::new();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for result in results {
        let key = (result.probe.clone(), result.endpoint.clone());
        match rounds.last_mut() {
            Some(round) if !seen.contains(&key) => {
                round.end_ms = result.t_ms;
                round.results.push(result);
            }
            _ => {
                seen.clear();
                rounds.push(ProbeRound {
                    start_ms: result.t_ms,
                    end_ms: result.t_ms,
                    results: vec![result],
                });
            }
        }
        seen.insert(key);
    }
    rounds
}

/// Writes the journal of a run to `path`.
pub fn write(path: &std::path::Path, verdict: &Verdict, trace: &Trace) -> Result<(), String> {
    let journal = Journal::of(verdict, trace);
    let json = serde_json::to_string_pretty(&journal).expect("journals serialize");
    std::fs::write(path, json + "\n")
        .map_err(|error| format!("cannot write journal {}: {error}", path.display()))
}
