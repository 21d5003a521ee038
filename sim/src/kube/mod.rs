//! The Kubernetes pieces recovery needs: nodes, pods of a StatefulSet, processes with their states, and mounts.

mod api;
pub mod apiserver;
mod claims;
pub mod client;
mod fs_group;
mod kubelet;
mod readiness;
mod scheduler;

pub use api::{
    delete_pod, delete_pod_with_grace, evict_pod, force_delete_pod, force_unmount, lazy_unmount,
    set_fs_group_change_policy,
};
pub use claims::{delete_claim, remove_claim_finalizer, storage_name, Claim};
pub use fs_group::Ownership;
pub use kubelet::{
    exit_container, nfs_mount_hangs, record_process, start_cluster, tick, NODE_MONITOR_GRACE_MS,
};
pub use readiness::ReadinessProbe;

/// A Kubernetes node (a VM).
#[derive(Clone, Debug)]
pub struct Node {
    pub name: String,
    /// The node's NFSv4.2 client state is corrupted: v4.2 mounts hang until the node reboots.
    pub nfs_v42_corrupted: bool,
    /// The NFS server does not answer the node's session for the scenario's export and NFS version. Linux
    /// shares one client, and for v4.1+ one session, per (server, protocol, minor version) on a node
    /// (`fs/nfs/client.c`, `nfs_match_client`), so every mount through it hangs, new ones included; a mount
    /// with another minor version uses another client and works.
    pub nfs_session_hung: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodPhase {
    /// In the API, not yet on a node: the scheduler found none that fits (its `node` is empty).
    Pending,
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
            PodPhase::Pending => PodPhaseName::Pending,
            PodPhase::ContainerCreating => PodPhaseName::ContainerCreating,
            PodPhase::Running => PodPhaseName::Running,
            PodPhase::Ready => PodPhaseName::Ready,
            PodPhase::Terminating => PodPhaseName::Terminating,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PodPhase::Pending => "Pending",
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
    /// The node the scheduler bound the pod to; empty while it is Pending.
    pub node: String,
    pub phase: PodPhase,
    /// When the pod was bound to its node (its volume setup counts from there).
    pub created_ms: u64,
    pub termination: Option<Termination>,
    /// The pod's container is running this incarnation's Vault host software.
    pub container_started: bool,
    /// The StatefulSet template's policy when this incarnation was created; a later patch does not change it.
    pub fs_group_change_policy: firedrill_scenarios::scenario::FsGroupChangePolicy,
    /// The storage of the claim this incarnation was scheduled with.
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

/// A task (thread) on a node, as `ps -eLo` lists it. `pid` is its process (thread group) and `tid` the thread;
/// the thread-group leader has `tid == pid`, and its state is what `ps -eo` prints for the whole process.
/// `pod_uid` ties container tasks to the pod incarnation that started them (empty for a node's own task).
#[derive(Clone, Debug)]
pub struct Process {
    pub node: String,
    pub pid: u32,
    pub tid: u32,
    pub comm: String,
    pub state: ProcessState,
    pub pod_uid: String,
    /// SIGKILL is pending: the process dies as soon as it leaves D state.
    pub killed: bool,
}

impl Process {
    /// A single-threaded process (`sh`, `mount.nfs`), or the leader of a multi-threaded one.
    pub fn leader(node: &str, pid: u32, comm: &str, state: ProcessState, pod_uid: &str) -> Self {
        Self {
            node: node.to_string(),
            pid,
            tid: pid,
            comm: comm.to_string(),
            state,
            pod_uid: pod_uid.to_string(),
            killed: false,
        }
    }

    /// The thread-group leader: what `ps -eo` shows for the process.
    pub fn is_leader(&self) -> bool {
        self.tid == self.pid
    }

    /// Vault's thread that carries Raft's log writes and fsyncs: the one that blocks on a hung disk. Go runs
    /// the blocking syscall on an OS thread of its own, never on the leader, which waits on a futex.
    pub fn is_vault_io_thread(&self) -> bool {
        self.comm == "vault" && !self.is_leader()
    }
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
