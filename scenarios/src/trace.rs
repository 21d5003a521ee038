//! The trace: every fault, probe result, alert, action and state change, stamped with simulated time.
//!
//! Every backend emits these events and every checker reads only these events. Serialized, a trace is JSON
//! Lines; field order is fixed by the type definitions, so one seed gives byte-identical files.

use serde::{Deserialize, Serialize};
use std::io::{self, Write};

/// One thing that happened, at `t_ms` since the start of the run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub t_ms: u64,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// The version of the trace's schema, written in `run_started`. Version 2 made states, actions and outcomes
/// typed and added the world's ground-truth events (deletions, power operations, claims, diagnoses). Version 3
/// records tasks per thread (`process_state.tid`), as `ps -eLo` lists them. Version 4 records each write to the
/// Kubernetes API (`kube_api_request`: method, path, status code, reason).
pub const TRACE_SCHEMA_VERSION: u32 = 4;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    RunStarted {
        scenario: String,
        seed: u64,
        backend: String,
        /// [`TRACE_SCHEMA_VERSION`] of the writer; traces written before it was recorded read as 1.
        #[serde(default = "schema_version_1")]
        schema_version: u32,
    },
    /// What the seed decided: printed so a failing run can be understood without rerunning it.
    ScheduleDrawn {
        schedule: crate::schedule::Schedule,
    },
    FaultInjected {
        fault: FaultName,
        target: String,
        detail: String,
    },
    /// A fault ended: healed at its scheduled time, or ended by the world (a node reboot clears a corrupted
    /// NFS client; a hung session ends with the last mount that used it).
    FaultHealed {
        fault: FaultName,
        target: String,
        #[serde(default)]
        how: String,
    },
    /// A voter changed Raft role or term.
    RaftRole {
        pod: String,
        role: RaftRoleName,
        term: u64,
    },
    /// A pod's log line; repeated identical lines are summarised, never flooded into the trace.
    PodLog {
        pod: String,
        message: String,
    },
    PodPhase {
        pod: String,
        uid: String,
        node: String,
        phase: PodPhaseName,
    },
    /// Ground truth: the API server accepted a deletion of this pod incarnation, recorded by the world at the
    /// moment it happened, whoever asked for it.
    PodDeletionRequested {
        pod: String,
        uid: String,
        node: String,
        grace_period_ms: u64,
        force: bool,
    },
    /// One task (thread) of a process. `pid` is the process (thread group), `tid` the thread; the thread-group
    /// leader has `tid == pid`, and its state is what `ps -eo state` prints for the whole process. Traces
    /// before schema 3 have no `tid`: each event then stands for the process's leader.
    ProcessState {
        node: String,
        pod_uid: String,
        pid: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tid: Option<u32>,
        comm: String,
        state: TaskState,
    },
    MountState {
        node: String,
        pod_uid: String,
        mountpoint: String,
        state: MountStatus,
    },
    NodeState {
        node: String,
        state: NodeCondition,
    },
    /// Ground truth: a power operation on a node's VM, with the boot configuration it met.
    VmPower {
        node: String,
        operation: VmOperation,
        bootdisk: String,
        os_disk: String,
    },
    /// Ground truth: a PersistentVolumeClaim changed (deleted, finalizer removed, gone, created).
    ClaimState {
        claim: String,
        state: ClaimPhase,
        finalizer: bool,
    },
    ProbeResult {
        probe: String,
        endpoint: String,
        state: String,
        http_status: Option<u16>,
        latency_ms: u64,
    },
    /// The user-facing health through the `vault-active` service, recorded when it changes.
    ExternalHealth {
        http_status: u16,
    },
    Alert {
        name: String,
        state: AlertState,
        detail: String,
    },
    /// A runbook step: an observation or an action through the actuator, with what came of it.
    Action {
        step: String,
        action: Activity,
        target: String,
        destructive: bool,
        outcome: String,
        /// The actuator carried the command out (an action that failed changed nothing).
        #[serde(default = "yes")]
        ok: bool,
    },
    /// A write that reached the Kubernetes API server (the simulated one, or a real cluster's as the kind backend
    /// sees it): its HTTP method and path, the status code of the answer and, for a failure, the `Status` reason.
    KubeApiRequest {
        method: String,
        path: String,
        code: u16,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
    },
    /// The runbook confirmed a diagnosis, with the observations it was based on. A confirmation with no
    /// evidence is recorded too, and judged as none.
    DiagnosisConfirmed {
        step: String,
        diagnosis: Diagnosis,
        target: String,
        evidence: Vec<Evidence>,
    },
    /// The runbook entered a step (recorded once per entry, not per poll), for step coverage.
    StepReached {
        step: String,
    },
    /// The runbook left a step by a branch other than falling through to the next one.
    BranchTaken {
        step: String,
        branch: Branch,
        to: String,
    },
    RecoveryDeclared {
        detail: String,
    },
    RunbookFinished {
        outcome: RunbookOutcome,
        #[serde(default)]
        detail: String,
    },
    /// The run could not complete: the world or the runbook panicked. Always a failure.
    RunAborted {
        reason: String,
    },
    RunFinished {},
    /// What the seed decided for a registry drill: when each push, cleanup, GC and probe round happens.
    RegistryPlanDrawn {
        plan: crate::registry::RegistryPlan,
    },
    /// The registry a registry drill runs against, with the version it states itself.
    RegistryStarted {
        backend: String,
        version: String,
    },
    /// A push, cleanup or GC carried out on the registry, with what it did.
    RegistryOperation {
        operation: String,
        detail: String,
    },
    /// One scan of the registry: the integrity probe through the API, or the naive blob-presence scan on disk.
    /// `findings` name each broken object as `<kind> <repository>@<reference>`.
    RegistryScan {
        scanner: String,
        reported: u64,
        findings: Vec<String>,
        requests: u64,
        latency_ms: u64,
        error: Option<String>,
    },
}

fn schema_version_1() -> u32 {
    1
}

fn yes() -> bool {
    true
}

/// Every fault the trace can name: the Vault scenarios' faults, and the registry breakage the disk oracle finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultName {
    NfsHang,
    SlowFsync,
    NfsClientCorrupted,
    /// A pushed registry object that the API no longer serves.
    Unreachable,
    /// An orphaned index child whose config or own layer data was swept: only a rebuild helps.
    OrphanSwept,
}

impl From<crate::scenario::FaultKind> for FaultName {
    fn from(kind: crate::scenario::FaultKind) -> Self {
        match kind {
            crate::scenario::FaultKind::NfsHang => FaultName::NfsHang,
            crate::scenario::FaultKind::SlowFsync => FaultName::SlowFsync,
            crate::scenario::FaultKind::NfsClientCorrupted => FaultName::NfsClientCorrupted,
        }
    }
}

/// A pod's phase as `kubectl get pod` names it, plus `Deleted` once the API object is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PodPhaseName {
    /// In the API but not scheduled: no node fits, or a claim it names cannot be used (the scheduler's message
    /// is in the pod's log). Its `node` is empty.
    Pending,
    ContainerCreating,
    Running,
    Ready,
    Terminating,
    Deleted,
}

/// A task's state as `ps` shows it, plus how it left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TaskState {
    #[serde(rename = "R")]
    Running,
    #[serde(rename = "S")]
    Sleeping,
    /// Uninterruptible sleep, on I/O that cannot complete.
    #[serde(rename = "D")]
    DiskSleep,
    #[serde(rename = "Z")]
    Zombie,
    #[serde(rename = "exited")]
    Exited,
    /// The node rebooted under the task.
    #[serde(rename = "gone_at_reboot")]
    GoneAtReboot,
}

impl TaskState {
    /// The task still exists (and, for a mount, still uses it).
    pub fn is_alive(self) -> bool {
        !matches!(self, TaskState::Exited | TaskState::GoneAtReboot)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MountStatus {
    Mounted,
    /// Lazily unmounted: gone from the mount table, still held by any task that uses it.
    Detached,
    Unmounted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeCondition {
    Rebooting,
    Ready,
    /// The node lifecycle controller marked the node NotReady: its kubelet posted nothing for the node-monitor
    /// grace period (the guest is rebooting, stopped, or failed to boot).
    NotReady,
    /// A cold boot tried the wrong disk (iPXE) and stopped there.
    BootFailedIpxe,
    #[serde(rename = "nfs_v4.2_client_corrupted")]
    NfsV42ClientCorrupted,
    /// `qm reset` did nothing (the incident's belief about it).
    QmResetNoOp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RaftRoleName {
    Follower,
    Candidate,
    Leader,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VmOperation {
    /// `qm reset`: QMP `system_reset` inside the same QEMU process.
    Reset,
    /// `qm stop && qm start`: a new QEMU process booting from the configured boot disk.
    ColdBoot,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimPhase {
    Bound,
    /// `kubectl delete pvc` was issued; the pvc-protection finalizer may still hold it.
    Terminating,
    Deleted,
}

/// Everything a runbook step can do, as the trace names it: observations first, then actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activity {
    ProbeVoters,
    RaftLeader,
    Logs,
    GetPod,
    Processes,
    Mounts,
    DStateProcesses,
    DStateThreads,
    ExternalHealth,
    TestMount,
    VmStatus,
    CheckBootOrder,
    NodeStatus,
    PodEvents,
    ActiveEndpoints,
    ListPeers,
    ListPods,
    FiringAlerts,
    DeletePod,
    ForceDeletePod,
    LazyUnmount,
    ForceUnmount,
    VmReset,
    VmStopStart,
    FixBootOrder,
    SetFsGroupChangePolicy,
    DeletePvc,
    RemovePvcFinalizer,
    EvictPod,
}

impl Activity {
    pub fn as_str(self) -> &'static str {
        match self {
            Activity::ProbeVoters => "probe_voters",
            Activity::RaftLeader => "raft_leader",
            Activity::Logs => "logs",
            Activity::GetPod => "get_pod",
            Activity::Processes => "processes",
            Activity::Mounts => "mounts",
            Activity::DStateProcesses => "d_state_processes",
            Activity::DStateThreads => "d_state_threads",
            Activity::ExternalHealth => "external_health",
            Activity::TestMount => "test_mount",
            Activity::VmStatus => "vm_status",
            Activity::CheckBootOrder => "check_boot_order",
            Activity::NodeStatus => "node_status",
            Activity::PodEvents => "pod_events",
            Activity::ActiveEndpoints => "active_endpoints",
            Activity::ListPeers => "list_peers",
            Activity::ListPods => "list_pods",
            Activity::FiringAlerts => "firing_alerts",
            Activity::DeletePod => "delete_pod",
            Activity::ForceDeletePod => "force_delete_pod",
            Activity::LazyUnmount => "lazy_unmount",
            Activity::ForceUnmount => "force_unmount",
            Activity::VmReset => "vm_reset",
            Activity::VmStopStart => "vm_stop_start",
            Activity::FixBootOrder => "fix_boot_order",
            Activity::SetFsGroupChangePolicy => "set_fs_group_change_policy",
            Activity::DeletePvc => "delete_pvc",
            Activity::RemovePvcFinalizer => "remove_pvc_finalizer",
            Activity::EvictPod => "evict_pod",
        }
    }
}

/// What a runbook's `confirm` step says is wrong, and so what its destructive steps may touch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Diagnosis {
    /// A voter accepts connections but never answers (seed 000): only broken pods and nodes may be touched.
    #[default]
    StuckLeader,
    /// A planned change on a healthy cluster (a storage migration): healthy voters may be taken down, one at a
    /// time.
    PlannedChange,
}

/// One observation a confirmation was based on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The fact the observation established.
    pub fact: String,
    pub step: String,
    pub activity: Activity,
    pub t_ms: u64,
    pub observed: String,
}

/// How a runbook left a step, other than falling through to the next one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Branch {
    /// The `when` guard did not hold: `otherwise`.
    Otherwise,
    /// The guard did not hold and a retry was left: back to `retry_from`.
    Retry,
    /// The `until` fact held: `then`.
    UntilHeld,
    /// The `until` fact did not hold within `timeout_ms`: `on_timeout`.
    Timeout,
    /// The step ran and `then` named the next step.
    Then,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunbookOutcome {
    Recovered,
    NotConfirmed,
    Escalated,
    NotRecovered,
}

impl RunbookOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RunbookOutcome::Recovered => "recovered",
            RunbookOutcome::NotConfirmed => "not_confirmed",
            RunbookOutcome::Escalated => "escalated",
            RunbookOutcome::NotRecovered => "not_recovered",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Firing,
    Resolved,
}

/// A run's events, in the order they happened.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trace {
    pub events: Vec<Event>,
}

impl Trace {
    pub fn push(&mut self, t_ms: u64, kind: EventKind) {
        // Time never runs backwards in a trace; checkers rely on it.
        if let Some(last) = self.events.last() {
            assert!(
                last.t_ms <= t_ms,
                "trace time ran backwards: {} then {t_ms}",
                last.t_ms
            );
        }
        self.events.push(Event { t_ms, kind });
    }

    /// Writes the trace as JSON Lines.
    pub fn write_jsonl(&self, mut out: impl Write) -> io::Result<()> {
        for event in &self.events {
            serde_json::to_writer(&mut out, event)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// Reads a JSON Lines trace, as written by [`Trace::write_jsonl`].
    pub fn read_jsonl(text: &str) -> Result<Trace, serde_json::Error> {
        let events = text
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<Vec<Event>, _>>()?;
        Ok(Trace { events })
    }

    /// The time of the last event: the simulated length of the run.
    pub fn end_ms(&self) -> u64 {
        self.events.last().map(|event| event.t_ms).unwrap_or(0)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Event> {
        self.events.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_round_trips() {
        let mut trace = Trace::default();
        trace.push(0, EventKind::ExternalHealth { http_status: 200 });
        trace.push(
            5,
            EventKind::Alert {
                name: "A".into(),
                state: AlertState::Firing,
                detail: "d".into(),
            },
        );
        let mut bytes = Vec::new();
        trace.write_jsonl(&mut bytes).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.starts_with("{\"t_ms\":0,\"event\":\"external_health\""),
            "{text}"
        );
        assert_eq!(Trace::read_jsonl(&text).unwrap(), trace);
    }

    #[test]
    #[should_panic(expected = "ran backwards")]
    fn time_never_runs_backwards() {
        let mut trace = Trace::default();
        trace.push(10, EventKind::RunFinished {});
        trace.push(9, EventKind::RunFinished {});
    }

    #[test]
    fn states_serialize_as_their_display_names() {
        let event = EventKind::ProcessState {
            node: "n".into(),
            pod_uid: "u".into(),
            pid: 1,
            tid: None,
            comm: "vault".into(),
            state: TaskState::DiskSleep,
        };
        let text = serde_json::to_string(&event).unwrap();
        assert!(text.contains("\"state\":\"D\""), "{text}");
        let node = serde_json::to_string(&NodeCondition::NfsV42ClientCorrupted).unwrap();
        assert_eq!(node, "\"nfs_v4.2_client_corrupted\"");
        let phase = serde_json::to_string(&PodPhaseName::ContainerCreating).unwrap();
        assert_eq!(phase, "\"ContainerCreating\"");
        let activity = serde_json::to_string(&Activity::ForceDeletePod).unwrap();
        assert_eq!(
            activity,
            format!("\"{}\"", Activity::ForceDeletePod.as_str())
        );
    }

    #[test]
    fn a_version_1_run_started_still_reads() {
        let text = r#"{"t_ms":0,"event":"run_started","scenario":"s","seed":1,"backend":"sim"}"#;
        let trace = Trace::read_jsonl(text).unwrap();
        assert!(matches!(
            trace.events[0].kind,
            EventKind::RunStarted {
                schema_version: 1,
                ..
            }
        ));
    }
}
