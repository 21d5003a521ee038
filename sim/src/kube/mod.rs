//! The Kubernetes pieces recovery needs: nodes, pods of a StatefulSet, processes with their states, and mounts.

mod api;
mod claims;
mod fs_group;
mod kubelet;
mod readiness;

pub use api::{delete_pod, force_delete_pod, lazy_unmount, set_fs_group_change_policy};
pub use claims::{delete_claim, remove_claim_finalizer, storage_name, Claim};
pub use fs_group::Ownership;
pub use kubelet::{exit_container, start_cluster, tick};
pub use readiness::ReadinessProbe;

/// A Kubernetes node (a VM).
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    /// The node's NFSv4.2 client state is corrupted: v4.2 mounts hang until the node reboots.
    pub nfs_v42_corrupted: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodPhase {
    ContainerCreating,
    Running,
    Ready,
    Terminating,
}

impl PodPhase {
    /// The phase as the trace names it.
    pub fn name(self) -> firedrill_scenarios::trace::PodPhaseName {
        use firedrill_scenarios::trace::PodPhaseName;
        match self {
            PodPhase::ContainerCreating => PodPhaseName::ContainerCreating,
            PodPhase::Running => PodPhaseName::Running,
            PodPhase::Ready => PodPhaseName::Ready,
            PodPhase::Terminating => PodPhaseName::Terminating,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PodPhase::ContainerCreating => "ContainerCreating",
            PodPhase::Running => "Running",
            PodPhase::Ready => "Ready",
            PodPhase::Terminating => "Terminating",
        }
    }
}

/// The API object of a pod. Removing it from the world is what the API server does when deletion completes or
/// is forced; the node's processes and mounts are separate and may outlive it.
#[derive(Clone, Debug)]
pub struct Pod {
    pub name: String,
    pub uid: String,
    pub node: String,
    pub phase: PodPhase,
    pub created_ms: u64,
    pub termination: Option<Termination>,
    /// The pod's container is running this incarnation's Vault host software.
    pub container_started: bool,
    /// The StatefulSet template's policy when this incarnation was created; a later patch does not change it.
    pub fs_group_change_policy: firedrill_scenarios::scenario::FsGroupChangePolicy,
    /// The storage of the claim this incarnation was bound to.
    pub storage: firedrill_scenarios::scenario::Storage,
}

/// A graceful deletion in progress.
#[derive(Clone, Debug)]
pub struct Termination {
    pub requested_ms: u64,
    pub grace_period_ms: u64,
    pub term_sent: bool,
    pub kill_sent: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcessState {
    Running,
    Sleeping,
    /// Uninterruptible sleep, on I/O that cannot complete.
    DiskSleep,
    Zombie,
}

impl ProcessState {
    /// The state as the trace names it.
    pub fn name(self) -> firedrill_scenarios::trace::TaskState {
        use firedrill_scenarios::trace::TaskState;
        match self {
            ProcessState::Running => TaskState::Running,
            ProcessState::Sleeping => TaskState::Sleeping,
            ProcessState::DiskSleep => TaskState::DiskSleep,
            ProcessState::Zombie => TaskState::Zombie,
        }
    }

    pub fn letter(self) -> char {
        match self {
            ProcessState::Running => 'R',
            ProcessState::Sleeping => 'S',
            ProcessState::DiskSleep => 'D',
            ProcessState::Zombie => 'Z',
        }
    }
}

/// A process on a node. `pod_uid` ties container processes to the pod incarnation that started them.
#[derive(Clone, Debug)]
pub struct Process {
    pub node: String,
    pub pid: u32,
    pub comm: String,
    pub state: ProcessState,
    pub pod_uid: String,
    /// SIGKILL is pending: the process dies as soon as it leaves D state.
    pub killed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountState {
    Mounted,
    /// Lazily unmounted: gone from the mount table, but tasks inside it may still hold the NFS session.
    Detached,
}

/// An NFS mount of a pod's data volume on a node.
#[derive(Clone, Debug)]
pub struct Mount {
    pub id: u32,
    pub node: String,
    pub pod_uid: String,
    pub mountpoint: String,
    pub source: String,
    pub state: MountState,
    /// The NFS server does not answer this mount's session: I/O blocks (hard mount).
    pub hung: bool,
    /// Blocked I/O was failed with EIO (the runbook's belief about `umount -l`).
    pub io_failed: bool,
    /// Every fsync takes this long (slow but answering storage).
    pub fsync_latency_ms: u64,
    /// Where the kubelet's fsGroup walk of this mount stands; the container starts once it is done.
    pub ownership: Ownership,
}
