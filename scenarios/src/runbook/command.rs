//! What a runbook can ask of the world, and what the world answers.

use crate::trace::{Activity, Diagnosis, Evidence, RunbookOutcome};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Observe(Query),
    Act(Action),
    Wait {
        duration_ms: u64,
    },
    /// The runbook confirmed a diagnosis on this evidence; the world is not touched.
    Confirm {
        diagnosis: Diagnosis,
        target: String,
        evidence: Vec<Evidence>,
    },
    Finish(Outcome),
}

/// Read-only questions, each the equivalent of one command in seed 000.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// The stuck-node probe against every voter: `timeout 3 vault status` per pod.
    ProbeVoters,
    /// `vault status` through one pod: who Raft thinks the leader is.
    RaftLeader { via: String },
    /// `kubectl logs --tail`.
    Logs { pod: String, tail: usize },
    /// `kubectl get pod`.
    Pod { pod: String },
    /// `ps auxf | grep $POD_UID` on the pod's node.
    Processes { node: String, pod_uid: String },
    /// `mount | grep $POD_UID` on the pod's node.
    Mounts { node: String, pod_uid: String },
    /// `ps -eo state,pid,comm | grep '^D'` on a node.
    DStateProcesses { node: String },
    /// `ps -eLo state,pid,tid,comm | grep '^D'` on a node: per thread, so it sees a zombie's blocked thread.
    DStateThreads { node: String },
    /// `curl https://vault…/v1/sys/health` through the `vault-active` service.
    ExternalHealth,
    /// `timeout T mount -t nfs -o nfsvers=V … /tmp/nfstest` on a node.
    TestMount {
        node: String,
        nfsvers: String,
        timeout_ms: u64,
    },
    /// `qm status` plus the guest's boot id: the QEMU PID and whether the guest rebooted.
    VmStatus { node: String },
    /// `grep -E 'boot|scsi[0-9]+:' /etc/pve/qemu-server/<vmid>.conf`.
    BootOrder { node: String },
    /// `kubectl get node` and the CSI driver's registration.
    NodeStatus { node: String },
    /// `kubectl describe pod`: the kubelet's events for the pod, oldest first.
    PodEvents { pod: String },
    /// `kubectl get endpoints -n vault vault-active -o yaml` (seed 000 §0.3): the pods the active Service sends to.
    ActiveEndpoints,
    /// `vault operator raft list-peers` through one pod (seed 000 §5).
    RaftPeers { via: String },
    /// `kubectl get pods -n vault -l app.kubernetes.io/name=vault` (seed 000 §5, "all pods 2/2").
    Pods,
    /// Alertmanager's firing alerts whose name starts with `Vault` (seed 000 §5, "no alerts fired").
    FiringAlerts,
}

/// Changes to the world. Every action is destructive in the sense of DOMAIN.md §7.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `kubectl delete pod`, with the pod's own grace period.
    DeletePod { pod: String },
    /// `kubectl delete pod --force --grace-period=0`.
    ForceDeletePod { pod: String },
    /// `umount -l` on the node.
    LazyUnmount { node: String, mountpoint: String },
    /// `umount -f MOUNTPOINT` on a node: `MNT_FORCE` fails the mount's pending NFS requests with EIO
    /// (`rpc_killall_tasks`), which wakes tasks blocked on it, then unmounts if nothing holds it any more.
    ForceUnmount { node: String, mountpoint: String },
    /// `qm reset <vmid>`.
    VmReset { node: String },
    /// `qm stop <vmid> && qm start <vmid>`: a cold boot.
    VmStopStart { node: String },
    /// `qm set <vmid> --boot order=<os disk>`.
    FixBootOrder { node: String },
    /// `kubectl delete pvc --wait=false`: the claim turns Terminating, held by the pvc-protection finalizer.
    DeletePvc { claim: String },
    /// `kubectl patch pvc -p '{"metadata":{"finalizers":null}}'`: a deleted claim goes at once.
    RemovePvcFinalizer { claim: String },
    /// `kubectl evict` (the eviction API, as `kubectl drain` uses it): a graceful delete that the API server
    /// refuses (429) when it would take the StatefulSet past its PodDisruptionBudget.
    EvictPod { pod: String },
    /// `kubectl patch statefulset vault` setting `securityContext.fsGroupChangePolicy`.
    SetFsGroupChangePolicy {
        policy: crate::scenario::FsGroupChangePolicy,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// The answer to an action or a wait, and the first observation of a run.
    Done,
    ActionFailed(String),
    Voters(Vec<(String, String)>),
    Leader(Option<String>),
    Logs(Vec<String>),
    Pod(Option<PodInfo>),
    Processes(Vec<ProcessInfo>),
    Mounts(Vec<MountInfo>),
    HttpStatus(u16),
    MountTest {
        hung: bool,
    },
    Vm {
        qemu_pid: u32,
        boot_id: u32,
        running: bool,
    },
    BootOrder {
        ok: bool,
        detail: String,
    },
    Node {
        ready: bool,
        csi_registered: bool,
    },
    /// The pods behind the `vault-active` Service.
    Endpoints(Vec<String>),
    /// Raft's configuration as one node sees it: each server and whether it is the leader.
    Peers(Vec<(String, bool)>),
    Pods(Vec<PodInfo>),
    /// Names of firing alerts.
    Alerts(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodInfo {
    pub name: String,
    pub uid: String,
    pub node: String,
    pub phase: String,
    /// The readiness probe passes (`2/2`).
    #[serde(default)]
    pub ready: bool,
    /// The storage of the claim the pod mounts: `nfs` or `block`.
    #[serde(default)]
    pub storage: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInfo {
    pub pid: u32,
    /// The thread, for a per-thread listing (`ps -eLo`); `None` in a per-process listing (`ps -eo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<u32>,
    pub comm: String,
    pub state: char,
    pub pod_uid: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountInfo {
    pub mountpoint: String,
    pub source: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Health held for the sustained window.
    Recovered,
    /// The diagnosis was not confirmed, so nothing destructive was done.
    NotConfirmed(String),
    /// The runbook reached a point where it must hand over to a human.
    Escalated(String),
    /// Health never held for the window within the verification budget.
    NotRecovered(String),
}

impl Action {
    pub fn name(&self) -> Activity {
        match self {
            Action::DeletePod { .. } => Activity::DeletePod,
            Action::ForceDeletePod { .. } => Activity::ForceDeletePod,
            Action::LazyUnmount { .. } => Activity::LazyUnmount,
            Action::ForceUnmount { .. } => Activity::ForceUnmount,
            Action::VmReset { .. } => Activity::VmReset,
            Action::VmStopStart { .. } => Activity::VmStopStart,
            Action::FixBootOrder { .. } => Activity::FixBootOrder,
            Action::SetFsGroupChangePolicy { .. } => Activity::SetFsGroupChangePolicy,
            Action::DeletePvc { .. } => Activity::DeletePvc,
            Action::RemovePvcFinalizer { .. } => Activity::RemovePvcFinalizer,
            Action::EvictPod { .. } => Activity::EvictPod,
        }
    }

    pub fn target(&self) -> String {
        match self {
            Action::DeletePod { pod }
            | Action::ForceDeletePod { pod }
            | Action::EvictPod { pod } => pod.clone(),
            Action::LazyUnmount { node, mountpoint }
            | Action::ForceUnmount { node, mountpoint } => format!("{node}:{mountpoint}"),
            Action::VmReset { node }
            | Action::VmStopStart { node }
            | Action::FixBootOrder { node } => node.clone(),
            Action::DeletePvc { claim } | Action::RemovePvcFinalizer { claim } => claim.clone(),
            Action::SetFsGroupChangePolicy { policy } => {
                format!("statefulset/vault fsGroupChangePolicy={}", policy.as_str())
            }
        }
    }
}

impl Query {
    pub fn name(&self) -> Activity {
        match self {
            Query::ProbeVoters => Activity::ProbeVoters,
            Query::RaftLeader { .. } => Activity::RaftLeader,
            Query::Logs { .. } => Activity::Logs,
            Query::Pod { .. } => Activity::GetPod,
            Query::Processes { .. } => Activity::Processes,
            Query::Mounts { .. } => Activity::Mounts,
            Query::DStateProcesses { .. } => Activity::DStateProcesses,
            Query::DStateThreads { .. } => Activity::DStateThreads,
            Query::ExternalHealth => Activity::ExternalHealth,
            Query::TestMount { .. } => Activity::TestMount,
            Query::VmStatus { .. } => Activity::VmStatus,
            Query::BootOrder { .. } => Activity::CheckBootOrder,
            Query::NodeStatus { .. } => Activity::NodeStatus,
            Query::PodEvents { .. } => Activity::PodEvents,
            Query::ActiveEndpoints => Activity::ActiveEndpoints,
            Query::RaftPeers { .. } => Activity::ListPeers,
            Query::Pods => Activity::ListPods,
            Query::FiringAlerts => Activity::FiringAlerts,
        }
    }

    pub fn target(&self) -> String {
        match self {
            Query::ProbeVoters
            | Query::ExternalHealth
            | Query::ActiveEndpoints
            | Query::Pods
            | Query::FiringAlerts => String::new(),
            Query::RaftPeers { via } => via.clone(),
            Query::RaftLeader { via } => via.clone(),
            Query::Logs { pod, .. } | Query::Pod { pod } | Query::PodEvents { pod } => pod.clone(),
            Query::Processes { node, pod_uid } | Query::Mounts { node, pod_uid } => {
                format!("{node}:{pod_uid}")
            }
            Query::DStateProcesses { node }
            | Query::DStateThreads { node }
            | Query::VmStatus { node }
            | Query::BootOrder { node }
            | Query::NodeStatus { node } => node.clone(),
            Query::TestMount { node, nfsvers, .. } => format!("{node} nfsvers={nfsvers}"),
        }
    }
}

impl Observation {
    /// A one-line summary for the trace.
    pub fn summary(&self) -> String {
        match self {
            Observation::Done => "ok".into(),
            Observation::ActionFailed(why) => format!("failed: {why}"),
            Observation::Voters(states) => states
                .iter()
                .map(|(pod, state)| format!("{pod}={state}"))
                .collect::<Vec<_>>()
                .join(" "),
            Observation::Leader(leader) => leader.clone().unwrap_or_else(|| "none".into()),
            Observation::Logs(lines) => format!("{} lines", lines.len()),
            Observation::Pod(None) => "absent".into(),
            Observation::Pod(Some(pod)) => format!("{} uid={} on {}", pod.phase, pod.uid, pod.node),
            Observation::Processes(processes) => processes
                .iter()
                .map(|p| format!("{}:{}:{}", p.pid, p.comm, p.state))
                .collect::<Vec<_>>()
                .join(" "),
            Observation::Mounts(mounts) => mounts
                .iter()
                .map(|m| m.mountpoint.clone())
                .collect::<Vec<_>>()
                .join(" "),
            Observation::HttpStatus(status) => status.to_string(),
            Observation::MountTest { hung } => {
                if *hung {
                    "timed out".into()
                } else {
                    "MOUNT_OK".into()
                }
            }
            Observation::Vm {
                qemu_pid,
                boot_id,
                running,
            } => {
                format!("pid={qemu_pid} boot_id={boot_id} running={running}")
            }
            Observation::BootOrder { ok, detail } => format!("ok={ok} {detail}"),
            Observation::Node {
                ready,
                csi_registered,
            } => format!("ready={ready} csi={csi_registered}"),
            Observation::Endpoints(pods) | Observation::Alerts(pods) => {
                if pods.is_empty() {
                    "none".into()
                } else {
                    pods.join(" ")
                }
            }
            Observation::Peers(peers) => peers
                .iter()
                .map(|(name, leader)| {
                    format!("{name}={}", if *leader { "leader" } else { "follower" })
                })
                .collect::<Vec<_>>()
                .join(" "),
            Observation::Pods(pods) => pods
                .iter()
                .map(|pod| {
                    format!(
                        "{}={}/{}",
                        pod.name,
                        pod.phase,
                        if pod.ready { "2/2" } else { "1/2" }
                    )
                })
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

impl Outcome {
    /// The outcome's kind, as the trace records it.
    pub fn kind(&self) -> RunbookOutcome {
        match self {
            Outcome::Recovered => RunbookOutcome::Recovered,
            Outcome::NotConfirmed(_) => RunbookOutcome::NotConfirmed,
            Outcome::Escalated(_) => RunbookOutcome::Escalated,
            Outcome::NotRecovered(_) => RunbookOutcome::NotRecovered,
        }
    }

    /// Why the runbook finished this way, in its own words.
    pub fn detail(&self) -> String {
        match self {
            Outcome::Recovered => String::new(),
            Outcome::NotConfirmed(why) | Outcome::Escalated(why) | Outcome::NotRecovered(why) => {
                why.clone()
            }
        }
    }

    pub fn summary(&self) -> String {
        match self {
            Outcome::Recovered => "recovered".into(),
            Outcome::NotConfirmed(why) => format!("not_confirmed: {why}"),
            Outcome::Escalated(why) => format!("escalated: {why}"),
            Outcome::NotRecovered(why) => format!("not_recovered: {why}"),
        }
    }
}
