//! The runbook file: named steps with guards, polling, timeouts and branches, the way seed 000 is written.

use crate::parse_error::ParseError;
use serde::{Deserialize, Serialize};
use std::path::Path;
use toml::Spanned;

/// A runbook as data. Steps run in file order unless a branch names another step.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunbookFile {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub params: RunbookParams,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunbookParams {
    /// How long health must answer 200 without a break for `health_sustained` to hold.
    pub sustained_health_ms: u64,
}

impl Default for RunbookParams {
    fn default() -> Self {
        Self {
            sustained_health_ms: 900_000,
        }
    }
}

/// One step. `do` names what it does; `when` guards it; `until` repeats it; `then`, `otherwise` and
/// `on_timeout` branch.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: Spanned<String>,
    #[serde(rename = "do")]
    pub verb: Spanned<Verb>,
    /// Which pod the step acts on: the diagnosed stuck pod (default), a standby, or a pod name.
    #[serde(default)]
    pub target: Option<String>,
    /// Facts that must all hold for the step to run (`!fact` negates).
    #[serde(default)]
    pub when: Vec<Spanned<String>>,
    /// Where to go when the guard does not hold; the next step if absent.
    #[serde(default)]
    pub otherwise: Option<Spanned<String>>,
    /// How many times a failed guard sends the runbook back to `retry_from` after `retry_wait_ms`.
    #[serde(default)]
    pub retries: u32,
    #[serde(default)]
    pub retry_wait_ms: u64,
    #[serde(default)]
    pub retry_from: Option<Spanned<String>>,
    /// Repeat this step's observation every `poll_ms` until the fact holds, for at most `timeout_ms`.
    #[serde(default)]
    pub until: Option<Spanned<String>>,
    #[serde(default)]
    pub poll_ms: Option<u64>,
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub on_timeout: Option<Spanned<String>>,
    /// Where to go after the step; the next step if absent.
    #[serde(default)]
    pub then: Option<Spanned<String>>,
    /// For `wait`.
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// For `test_mount`.
    #[serde(default)]
    pub nfsvers: Option<String>,
    /// For `finish`.
    #[serde(default)]
    pub outcome: Option<FinishOutcome>,
    /// For `set_fs_group_change_policy`.
    #[serde(default)]
    pub fs_group_change_policy: Option<crate::scenario::FsGroupChangePolicy>,
    /// For `confirm`: what is being confirmed. A stuck leader (the default) allows destructive steps only on
    /// what is really broken; a planned change allows them on a healthy cluster, one voter at a time.
    #[serde(default)]
    pub diagnosis: Option<crate::trace::Diagnosis>,
    /// Free text: the seed's own words for the step.
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verb {
    // Observations.
    ProbeVoters,
    RaftLeader,
    StandbyLogs,
    GetPod,
    FindStuckProcesses,
    ListMounts,
    DStateProcesses,
    /// The per-thread variant (`ps -eLo`): a killed process whose thread is blocked shows `Z` to `ps -eo`.
    DStateThreads,
    ExternalHealth,
    TestMount,
    VmStatus,
    CheckBootOrder,
    NodeStatus,
    /// The kubelet's events for the pod (`kubectl describe pod`): volume setup, the fsGroup walk.
    PodEvents,
    /// `kubectl get endpoints vault-active` (seed 000 §0.3).
    ActiveEndpoints,
    /// `vault operator raft list-peers` through a standby (seed 000 §5).
    ListPeers,
    /// `kubectl get pods -l app.kubernetes.io/name=vault` (seed 000 §5).
    ListPods,
    /// Alertmanager's firing `Vault*` alerts (seed 000 §5).
    FiringAlerts,
    // Actions.
    DeletePod,
    ForceDeletePod,
    LazyUnmount,
    /// `umount -f` on each of the pod's mounts: fails their pending NFS I/O with EIO.
    ForceUnmount,
    VmReset,
    VmStopStart,
    FixBootOrder,
    /// `kubectl patch statefulset vault` with `securityContext.fsGroupChangePolicy` (seed 000 §4's breakglass).
    SetFsGroupChangePolicy,
    /// `kubectl delete pvc data-<pod> --wait=false`, for a migration to new storage.
    DeletePvc,
    /// Patch the `kubernetes.io/pvc-protection` finalizer out of `data-<pod>` (seed 003's force-finalize).
    RemovePvcFinalizer,
    /// Evict the pod through the eviction API, which honours the PodDisruptionBudget (what `kubectl drain`
    /// does for each pod of a node).
    EvictPod,
    // Control.
    Confirm,
    Wait,
    Finish,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishOutcome {
    Recovered,
    NotConfirmed,
    Escalated,
    NotRecovered,
}

/// Every fact a guard may name; see `facts.rs` for what each means.
pub const FACTS: &[&str] = &[
    "one_voter_stuck",
    "stuck_is_leader",
    "standby_logs_msgpack",
    "standby_logs_rpc_errors",
    "confirmed",
    "pod_terminating",
    "pod_replaced",
    "pod_running",
    "mounts_present",
    "no_d_state",
    "health_200",
    "health_sustained",
    "test_mount_hung",
    "vm_pid_changed",
    "vm_rebooted",
    "bootdisk_ok",
    "node_ready",
    "chown_loop",
    "pod_ready_on_block_storage",
    "active_endpoint_stuck",
    "active_endpoints_single",
    "peers_have_leader",
    "all_pods_ready",
    "vault_alerts_quiet",
];

impl RunbookFile {
    pub fn parse(path: &Path, source: &str) -> Result<RunbookFile, ParseError> {
        let runbook: RunbookFile =
            toml::from_str(source).map_err(|error| ParseError::from_toml(path, source, &error))?;
        crate::limits::check(path, source, crate::limits::RUNBOOK)?;
        runbook.validate(path, source)?;
        Ok(runbook)
    }

    pub fn load(path: &Path) -> Result<RunbookFile, ParseError> {
        let source = crate::parse_error::read_source(path)?;
        Self::parse(path, &source)
    }

    /// The index of the step with this id.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.steps.iter().position(|step| step.id.get_ref() == id)
    }

    fn validate(&self, path: &Path, source: &str) -> Result<(), ParseError> {
        let fail =
            |offset: usize, message: String| ParseError::at_offset(path, source, offset, message);
        if self.steps.is_empty() {
            return Err(fail(0, "expected at least one [[steps]]".into()));
        }
        // A map of ids, not `index_of` per step: a linear search per step made a 100,000-step runbook take 30 s.
        let mut ids = std::collections::BTreeSet::new();
        for step in &self.steps {
            if !ids.insert(step.id.get_ref().as_str()) {
                return Err(fail(
                    step.id.span().start,
                    format!(
                        "expected a unique step id, found \"{}\" twice",
                        step.id.get_ref()
                    ),
                ));
            }
        }
        for step in &self.steps {
            for goto in [
                &step.otherwise,
                &step.retry_from,
                &step.on_timeout,
                &step.then,
            ]
            .into_iter()
            .flatten()
            {
                if !ids.contains(goto.get_ref().as_str()) {
                    return Err(fail(
                        goto.span().start,
                        format!("expected the id of a step, found \"{}\"", goto.get_ref()),
                    ));
                }
            }
            for fact in step.when.iter().chain(step.until.iter()) {
                // One `!` negates; the engine reads exactly one, so `!!fact` is no fact at all.
                let text = fact.get_ref();
                let name = text.strip_prefix('!').unwrap_or(text);
                if !FACTS.contains(&name) {
                    return Err(fail(
                        fact.span().start,
                        format!(
                            "expected a fact ({}), found \"{}\"",
                            FACTS.join(", "),
                            fact.get_ref()
                        ),
                    ));
                }
            }
            let verb = *step.verb.get_ref();
            let missing = match verb {
                Verb::Wait if step.duration_ms.is_none() => Some("duration_ms"),
                Verb::Finish if step.outcome.is_none() => Some("outcome"),
                Verb::TestMount if step.nfsvers.is_none() || step.timeout_ms.is_none() => {
                    Some("nfsvers and timeout_ms")
                }
                Verb::SetFsGroupChangePolicy if step.fs_group_change_policy.is_none() => {
                    Some("fs_group_change_policy")
                }
                _ => None,
            };
            if let Some(field) = missing {
                return Err(fail(
                    step.verb.span().start,
                    format!("expected {field} for this step"),
                ));
            }
            if step.until.is_some() && (step.poll_ms.is_none() || step.timeout_ms.is_none()) {
                return Err(fail(
                    step.id.span().start,
                    "expected poll_ms and timeout_ms with until".into(),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: &str = r#"
name = "r"
description = "d"

[[steps]]
id = "a"
do = "probe_voters"

[[steps]]
id = "b"
do = "finish"
outcome = "recovered"
"#;

    #[test]
    fn a_minimal_runbook_parses() {
        let runbook = RunbookFile::parse(Path::new("r.toml"), STEPS).unwrap();
        assert_eq!(runbook.index_of("b"), Some(1));
    }

    #[test]
    fn unknown_verbs_goto_targets_and_facts_are_located() {
        let bad_verb = STEPS.replace("probe_voters", "reboot_everything");
        let error = RunbookFile::parse(Path::new("r.toml"), &bad_verb).unwrap_err();
        assert_eq!((error.line, error.column), (7, 6), "{error}");
        let bad_goto = STEPS.replace(
            "do = \"probe_voters\"",
            "do = \"probe_voters\"\nthen = \"zz\"",
        );
        let error = RunbookFile::parse(Path::new("r.toml"), &bad_goto).unwrap_err();
        assert!(error.message.contains("\"zz\""), "{error}");
        assert_eq!(error.line, 8);
        let bad_fact = STEPS.replace(
            "do = \"probe_voters\"",
            "do = \"probe_voters\"\nwhen = [\"moon_full\"]",
        );
        let error = RunbookFile::parse(Path::new("r.toml"), &bad_fact).unwrap_err();
        assert!(error.message.contains("moon_full"), "{error}");
    }

    #[test]
    fn a_double_negation_is_rejected_as_the_engine_would() {
        let text = STEPS.replace(
            "do = \"probe_voters\"",
            "do = \"probe_voters\"\nwhen = [\"!!one_voter_stuck\"]",
        );
        let error = RunbookFile::parse(Path::new("r.toml"), &text).unwrap_err();
        assert!(error.message.contains("!!one_voter_stuck"), "{error}");
        assert_eq!(error.line, 8, "{error}");
    }

    #[test]
    fn a_wait_needs_a_duration() {
        let text = STEPS.replace("do = \"probe_voters\"", "do = \"wait\"");
        let error = RunbookFile::parse(Path::new("r.toml"), &text).unwrap_err();
        assert!(error.message.contains("duration_ms"), "{error}");
    }
}
