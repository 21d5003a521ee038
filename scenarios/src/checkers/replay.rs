//! The world as the trace says it was at each moment: pods, tasks, mounts, nodes, claims and health, folded
//! event by event from the ground truth the world records.
//!
//! Safety checkers judge an action against this state at the instant the action happened, never against
//! what the runbook believed or said about itself.

use crate::trace::{
    ClaimPhase, Event, EventKind, MountStatus, NodeCondition, PodPhaseName, TaskState,
};
use std::collections::BTreeMap;

/// One pod's current incarnation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodView {
    pub uid: String,
    pub node: String,
    pub phase: PodPhaseName,
}

/// One task on a node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskView {
    pub node: String,
    pub pod_uid: String,
    pub comm: String,
    pub state: TaskState,
}

/// One mount of a pod incarnation's volume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountView {
    pub node: String,
    pub pod_uid: String,
    pub mountpoint: String,
    pub status: MountStatus,
}

/// What is known to be wrong with a node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeView {
    pub nfs_client_corrupted: bool,
    pub boot_failed: bool,
    pub rebooting: bool,
}

impl NodeView {
    /// Up, with a working NFS client.
    pub fn healthy(&self) -> bool {
        !self.nfs_client_corrupted && !self.boot_failed && !self.rebooting
    }
}

#[derive(Clone, Debug, Default)]
pub struct Replay {
    /// Current incarnation per pod name; a deleted pod is absent.
    pub pods: BTreeMap<String, PodView>,
    /// Every task (thread) seen, by (node, tid); tasks that left stay with their final state.
    pub tasks: BTreeMap<(String, u32), TaskView>,
    /// Every mount seen, by (node, pod uid, mountpoint).
    pub mounts: BTreeMap<(String, String, String), MountView>,
    pub nodes: BTreeMap<String, NodeView>,
    /// Claim name → (phase, finalizer present).
    pub claims: BTreeMap<String, (ClaimPhase, bool)>,
    pub external_health: Option<u16>,
}

impl Replay {
    /// Folds one event into the state. Events that carry no world state are ignored.
    pub fn apply(&mut self, event: &Event) {
        match &event.kind {
            EventKind::PodPhase {
                pod,
                uid,
                node,
                phase,
            } => {
                if *phase == PodPhaseName::Deleted {
                    if self.pods.get(pod).is_some_and(|view| &view.uid == uid) {
                        self.pods.remove(pod);
                    }
                } else {
                    self.pods.insert(
                        pod.clone(),
                        PodView {
                            uid: uid.clone(),
                            node: node.clone(),
                            phase: *phase,
                        },
                    );
                }
            }
            EventKind::ProcessState {
                node,
                pod_uid,
                pid,
                tid,
                comm,
                state,
            } => {
                self.tasks.insert(
                    (node.clone(), tid.unwrap_or(*pid)),
                    TaskView {
                        node: node.clone(),
                        pod_uid: pod_uid.clone(),
                        comm: comm.clone(),
                        state: *state,
                    },
                );
            }
            EventKind::MountState {
                node,
                pod_uid,
                mountpoint,
                state,
            } => {
                self.mounts.insert(
                    (node.clone(), pod_uid.clone(), mountpoint.clone()),
                    MountView {
                        node: node.clone(),
                        pod_uid: pod_uid.clone(),
                        mountpoint: mountpoint.clone(),
                        status: *state,
                    },
                );
            }
            EventKind::NodeState { node, state } => {
                let view = self.nodes.entry(node.clone()).or_default();
                match state {
                    NodeCondition::Rebooting => {
                        // A reboot clears the guest: its NFS client starts fresh.
                        view.rebooting = true;
                        view.boot_failed = false;
                        view.nfs_client_corrupted = false;
                    }
                    NodeCondition::Ready => view.rebooting = false,
                    NodeCondition::BootFailedIpxe => view.boot_failed = true,
                    NodeCondition::NfsV42ClientCorrupted => view.nfs_client_corrupted = true,
                    NodeCondition::QmResetNoOp | NodeCondition::NotReady => {}
                }
            }
            EventKind::ClaimState {
                claim,
                state,
                finalizer,
            } => {
                self.claims.insert(claim.clone(), (*state, *finalizer));
            }
            EventKind::ExternalHealth { http_status } => self.external_health = Some(*http_status),
            _ => {}
        }
    }

    /// Live tasks of a pod incarnation blocked in uninterruptible sleep (any name, any thread).
    pub fn blocked_tasks_of(&self, pod_uid: &str) -> Vec<&TaskView> {
        self.tasks
            .values()
            .filter(|task| task.pod_uid == pod_uid && task.state == TaskState::DiskSleep)
            .collect()
    }

    /// Live tasks of a pod incarnation, whatever their state: they hold its mounts.
    pub fn live_tasks_of(&self, pod_uid: &str) -> Vec<&TaskView> {
        self.tasks
            .values()
            .filter(|task| task.pod_uid == pod_uid && task.state.is_alive())
            .collect()
    }

    /// `mount.nfs` tasks blocked on a node.
    pub fn blocked_mount_helpers_on(&self, node: &str) -> Vec<&TaskView> {
        self.tasks
            .values()
            .filter(|task| {
                task.node == node && task.comm == "mount.nfs" && task.state == TaskState::DiskSleep
            })
            .collect()
    }

    pub fn mounts_of(&self, pod_uid: &str) -> Vec<&MountView> {
        self.mounts
            .values()
            .filter(|mount| mount.pod_uid == pod_uid)
            .collect()
    }

    /// A voter is up when its current incarnation is Ready and none of its tasks is blocked in uninterruptible
    /// sleep; absent, starting, Terminating or not answering are down, whatever the cause. A blocked task counts
    /// because readiness alone can lie: real OpenBao answers `vault status` and its health for minutes while its
    /// raft writes hang (DOMAIN.md §9).
    pub fn voter_up(&self, pod: &str) -> bool {
        self.pods.get(pod).is_some_and(|view| {
            view.phase == PodPhaseName::Ready && self.blocked_tasks_of(&view.uid).is_empty()
        })
    }

    /// The pods whose current incarnation runs on a node.
    pub fn pods_on(&self, node: &str) -> Vec<String> {
        self.pods
            .iter()
            .filter(|(_, view)| view.node == node)
            .map(|(pod, _)| pod.clone())
            .collect()
    }

    /// The node is known to be broken: its NFS client, its boot, a reboot in progress, or tasks stuck on it.
    pub fn node_broken(&self, node: &str) -> bool {
        let view_broken = self.nodes.get(node).is_some_and(|view| !view.healthy());
        let stuck_tasks = self
            .tasks
            .values()
            .any(|task| task.node == node && task.state == TaskState::DiskSleep);
        let pods_down = self
            .pods
            .values()
            .any(|view| view.node == node && view.phase != PodPhaseName::Ready);
        view_broken || stuck_tasks || pods_down
    }
}
