//! The kubelets and the StatefulSet controller, stepped by the driver between simulation steps.
//!
//! The kubelet works per pod incarnation, not per API object: a pod removed from the API (force-deleted) is
//! still killed on its node (`HandlePodRemoves`), with the spec's grace, while its replacement may already be
//! starting. It starts nothing on a node whose VM is not running.

use super::{Mount, MountState, Node, Pod, PodPhase, Process, ProcessState};
use crate::vault::VaultView;
use crate::world::{HostOp, World};
use firedrill_scenarios::trace::{MountStatus, NodeCondition, PodPhaseName, TaskState};
use firedrill_scenarios::EventKind;

/// Time from a pod's creation to its volume mount: scheduling, attach and image checks.
const CONTAINER_CREATE_MS: u64 = 2_000;
/// Back-off before a crashed container is started again.
const CONTAINER_RESTART_MS: u64 = 10_000;
/// The `sleep` in vault-helm's preStop hook before it sends Vault SIGTERM.
const PRESTOP_SLEEP_MS: u64 = 5_000;
/// Where the NFS server exports the volumes, inside the simulation only.
const NFS_EXPORT: &str = "nfs-server:/srv/nfs";
/// The node lifecycle controller marks a node NotReady when its kubelet has not posted status for this long
/// (`--node-monitor-grace-period`, 40 s by default up to Kubernetes 1.31).
pub const NODE_MONITOR_GRACE_MS: u64 = 40_000;

/// Creates the nodes and the StatefulSet's pods, each mounted and running at time zero.
pub fn start_cluster(world: &mut World) {
    for name in world.scenario.topology.nodes.clone() {
        world.nodes.insert(
            name.clone(),
            Node {
                name,
                nfs_v42_corrupted: false,
                nfs_session_hung: false,
            },
        );
    }
    crate::hypervisor::start(world);
    // Every node is in the trace from the start, a free one too, so a rule that judges nodes (collateral damage)
    // knows the nodes no voter runs on.
    for node in world.scenario.topology.nodes.clone() {
        world.record(EventKind::NodeState {
            node,
            state: NodeCondition::Ready,
        });
    }
    super::claims::create_initial(world);
    let nodes = world.scenario.topology.nodes.clone();
    for (index, pod) in world.scenario.voter_names().into_iter().enumerate() {
        // The cluster as it stands when the run starts: voter i on node i, the rest of the nodes free.
        let node = nodes[index % nodes.len()].clone();
        create_pod(world, &pod, Some(node));
        try_start_container(world, &pod, true);
    }
}

/// One pass of every kubelet and of the StatefulSet controller.
pub fn tick(world: &mut World) {
    crate::hypervisor::tick(world);
    let now_ms = world.now_ms();
    let names: Vec<String> = world.pods.keys().cloned().collect();
    for name in &names {
        if let Some(pod) = world.pods.get(name).cloned() {
            terminate_step(world, &pod, now_ms, true);
        }
    }
    // Incarnations the API no longer has are still torn down by their node's kubelet.
    for pod in world.removed_pods.clone() {
        terminate_step(world, &pod, now_ms, false);
    }
    clean_orphans(world);
    schedule_pending(world);
    let statefulset_first = world.scenario.topology.statefulset_wins_pvc_race;
    if !statefulset_first {
        super::claims::release_unused(world);
    }
    // The StatefulSet controller recreates every missing ordinal; the scheduler places it, or it waits Pending.
    for pod in world.scenario.voter_names() {
        if !world.pods.contains_key(&pod) {
            create_pod(world, &pod, None);
        }
    }
    if statefulset_first {
        super::claims::release_unused(world);
    }
    let names: Vec<String> = world.pods.keys().cloned().collect();
    for name in &names {
        let Some(pod) = world.pods.get(name) else {
            continue;
        };
        let node_up = world.vms.get(&pod.node).is_none_or(|vm| vm.node_ready());
        if pod.phase == PodPhase::ContainerCreating
            && node_up
            && now_ms >= pod.created_ms + CONTAINER_CREATE_MS
        {
            try_start_container(world, name, false);
        }
        super::readiness::update(world, name);
    }
}

/// Another pass of the scheduler over the Pending pods, after the StatefulSet controller has created the
/// claims they are missing.
fn schedule_pending(world: &mut World) {
    let pending: Vec<String> = world
        .pods
        .values()
        .filter(|pod| pod.phase == PodPhase::Pending)
        .map(|pod| pod.name.clone())
        .collect();
    for name in pending {
        super::claims::ensure(world, &name);
        schedule(world, &name);
    }
}

/// Binds a Pending pod to the node the scheduler picks, or records the scheduler's FailedScheduling message.
fn schedule(world: &mut World, name: &str) {
    let Some(uid) = world.pods.get(name).map(|pod| pod.uid.clone()) else {
        return;
    };
    match super::scheduler::place(world, name, &uid) {
        super::scheduler::Placement::Node(node) => {
            let now_ms = world.now_ms();
            let storage = super::claims::storage_of(world, name);
            let pod = world.pods.get_mut(name).expect("looked up above");
            pod.node = node.clone();
            pod.storage = storage;
            pod.created_ms = now_ms;
            world.log(
                name,
                &format!("default-scheduler: Successfully assigned vault/{name} to {node}"),
            );
            set_phase(world, name, PodPhase::ContainerCreating);
        }
        super::scheduler::Placement::Unschedulable(message) => {
            world.log(
                name,
                &format!("default-scheduler: FailedScheduling: {message}"),
            );
        }
    }
}

pub(super) fn set_phase(world: &mut World, name: &str, phase: PodPhase) {
    let Some(pod) = world.pods.get_mut(name) else {
        return;
    };
    if pod.phase == phase {
        return;
    }
    pod.phase = phase;
    let (uid, node) = (pod.uid.clone(), pod.node.clone());
    world.record(EventKind::PodPhase {
        pod: name.to_string(),
        uid,
        node,
        phase: phase.name(),
    });
}

/// The StatefulSet controller creates a pod (and its claim, if missing). The pods of the cluster's start come
/// with their node; a pod created later goes through the scheduler, and is recorded Pending only when no node
/// takes it at once.
fn create_pod(world: &mut World, name: &str, node: Option<String>) {
    let now_ms = world.now_ms();
    let uid = world.allocate_uid(name);
    super::claims::ensure(world, name);
    let scheduled = node.is_none();
    let placement = match node {
        Some(node) => super::scheduler::Placement::Node(node),
        None => super::scheduler::place(world, name, &uid),
    };
    let (node, phase) = match &placement {
        super::scheduler::Placement::Node(node) => (node.clone(), PodPhase::ContainerCreating),
        super::scheduler::Placement::Unschedulable(_) => (String::new(), PodPhase::Pending),
    };
    let storage = match phase {
        PodPhase::Pending => world.scenario.topology.storage,
        _ => super::claims::storage_of(world, name),
    };
    world.pods.insert(
        name.to_string(),
        Pod {
            name: name.to_string(),
            uid: uid.clone(),
            node: node.clone(),
            phase,
            created_ms: now_ms,
            termination: None,
            container_started: false,
            fs_group_change_policy: world.fs_group_change_policy,
            storage,
        },
    );
    world.record(EventKind::PodPhase {
        pod: name.to_string(),
        uid: uid.clone(),
        node: node.clone(),
        phase: phase.name(),
    });
    world.host_ops.push(HostOp::Register {
        host: uid,
        pod: name.to_string(),
    });
    match placement {
        super::scheduler::Placement::Node(node) if scheduled => world.log(
            name,
            &format!("default-scheduler: Successfully assigned vault/{name} to {node}"),
        ),
        super::scheduler::Placement::Node(_) => {}
        super::scheduler::Placement::Unschedulable(message) => world.log(
            name,
            &format!("default-scheduler: FailedScheduling: {message}"),
        ),
    }
}

/// Records a task's state in the trace: the world's ground truth, per thread.
pub fn record_process(world: &mut World, process: &Process, state: TaskState) {
    world.record(EventKind::ProcessState {
        node: process.node.clone(),
        pod_uid: process.pod_uid.clone(),
        pid: process.pid,
        tid: Some(process.tid),
        comm: process.comm.clone(),
        state,
    });
}

/// Whether a new NFS mount on `node` with minor version `nfsvers` would hang: through a hung session, or a
/// corrupted v4.2 client.
pub fn nfs_mount_hangs(world: &World, node: &str, nfsvers: &str) -> bool {
    let Some(state) = world.nodes.get(node) else {
        return false;
    };
    let session_hung = state.nfs_session_hung && nfsvers == world.scenario.topology.nfs_version;
    let corrupted = state.nfs_v42_corrupted && nfsvers == "4.2";
    session_hung || corrupted
}

/// Mounts the pod's volume, applies its fsGroup ownership, and starts its container. On a node whose NFSv4.2
/// client is corrupted the mount hangs: a `mount.nfs` sits in D state and the pod stays ContainerCreating. The
/// pods of the `initial` start went through their volume setup before the run.
fn try_start_container(world: &mut World, name: &str, initial: bool) {
    let Some(pod) = world.pods.get(name).cloned() else {
        return;
    };
    let nfs = pod.storage == firedrill_scenarios::scenario::Storage::Nfs;
    let nfsvers = world.scenario.topology.nfs_version.clone();
    let vm = world.vms.get(&pod.node);
    if vm.is_some_and(|vm| !vm.node_ready())
        || (nfs && vm.is_some_and(|vm| !vm.csi_registered(world.now_ms())))
    {
        // No container runs on a node whose VM is down, and no CSI volume mounts before its driver registers.
        return;
    }
    let waiting = world
        .processes
        .iter()
        .position(|process| process.pod_uid == pod.uid && process.comm == "mount.nfs");
    if nfs && nfs_mount_hangs(world, &pod.node, &nfsvers) {
        if waiting.is_none() {
            let pid = world.allocate_pid();
            let process = Process::leader(
                &pod.node,
                pid,
                "mount.nfs",
                ProcessState::DiskSleep,
                &pod.uid,
            );
            record_process(world, &process, TaskState::DiskSleep);
            world.processes.push(process);
        }
        return;
    }
    if let Some(index) = waiting {
        // The server answers again: the waiting mount completes.
        let process = world.processes.remove(index);
        record_process(world, &process, TaskState::Exited);
    }
    let has_mount = world
        .mounts
        .iter()
        .any(|mount| mount.pod_uid == pod.uid && mount.state == MountState::Mounted);
    if !has_mount {
        let mount = Mount {
            id: world.allocate_pid(),
            node: pod.node.clone(),
            pod_uid: pod.uid.clone(),
            mountpoint: format!(
                "/var/lib/kubelet/pods/{}/volumes/kubernetes.io~csi/data-{name}/mount",
                pod.uid
            ),
            source: if nfs {
                format!("{NFS_EXPORT}/data-{name}")
            } else {
                format!("/dev/mapper/data-{name}")
            },
            state: MountState::Mounted,
            hung: false,
            io_failed: false,
            fsync_latency_ms: 0,
            ownership: if initial {
                super::Ownership::Done
            } else {
                super::Ownership::Pending
            },
        };
        world.record(EventKind::MountState {
            node: mount.node.clone(),
            pod_uid: mount.pod_uid.clone(),
            mountpoint: mount.mountpoint.clone(),
            state: MountStatus::Mounted,
        });
        world.mounts.push(mount);
    }
    let mount_index = world
        .mounts
        .iter()
        .position(|mount| mount.pod_uid == pod.uid && mount.state == MountState::Mounted)
        .expect("mounted above");
    if !super::fs_group::settle(world, name, mount_index) {
        return;
    }
    // vault-helm runs Vault under a `/bin/sh -ec` PID-1 wrapper. Vault is a Go program: its leader thread
    // waits on a futex (S) while another OS thread carries the blocking writes.
    let sh_pid = world.allocate_pid();
    let vault_pid = world.allocate_pid();
    let io_tid = world.allocate_pid();
    let io_thread = Process {
        tid: io_tid,
        ..Process::leader(
            &pod.node,
            vault_pid,
            "vault",
            ProcessState::Running,
            &pod.uid,
        )
    };
    for process in [
        Process::leader(&pod.node, sh_pid, "sh", ProcessState::Sleeping, &pod.uid),
        Process::leader(
            &pod.node,
            vault_pid,
            "vault",
            ProcessState::Sleeping,
            &pod.uid,
        ),
        io_thread,
    ] {
        record_process(world, &process, process.state.name());
        world.processes.push(process);
    }
    world
        .vaults
        .insert(name.to_string(), VaultView::starting(&pod.uid));
    world.host_ops.push(HostOp::Start(pod.uid.clone()));
    if let Some(pod) = world.pods.get_mut(name) {
        pod.container_started = true;
    }
    set_phase(world, name, PodPhase::Running);
}

/// Advances the termination of one pod incarnation: TERM, then KILL after the grace period, then teardown once
/// nothing runs. `in_api` tells a graceful deletion (the API object stays Terminating until teardown) from an
/// incarnation the API already dropped (force-deleted), which the kubelet kills all the same.
fn terminate_step(world: &mut World, pod: &Pod, now_ms: u64, in_api: bool) {
    let name = pod.name.as_str();
    let Some(termination) = pod.termination.clone() else {
        return;
    };
    // vault-helm's preStop hook is `sleep 5 && kill -SIGTERM $(pidof vault)`: PID 1 is `/bin/sh -ec`, which
    // ignores the kubelet's SIGTERM, so Vault hears of the deletion only from the hook, 5 s in. What Vault does
    // with it (close 8200, then shut down unless its core is stuck) is its own business (`vault/node.rs`).
    if !termination.term_sent && now_ms >= termination.requested_ms.saturating_add(PRESTOP_SLEEP_MS)
    {
        set_termination(world, &pod.uid, |t| t.term_sent = true);
        if let Some(view) = world
            .vaults
            .get_mut(name)
            .filter(|view| view.uid == pod.uid)
        {
            view.sigterm_received_ms.get_or_insert(now_ms);
        }
    }
    if !termination.kill_sent
        && now_ms
            >= termination
                .requested_ms
                .saturating_add(termination.grace_period_ms)
    {
        set_termination(world, &pod.uid, |t| t.kill_sent = true);
        kill_container(world, name, &pod.uid);
    }
    let container_alive = world
        .processes
        .iter()
        .any(|p| p.pod_uid == pod.uid && p.comm == "vault");
    if container_alive {
        return;
    }
    // Teardown: unmount what can be unmounted. A mounted, hung NFS volume makes umount hang, so deletion never
    // completes and the pod stays Terminating.
    unmount_idle(world, &pod.uid);
    let blocked = world
        .mounts
        .iter()
        .any(|m| m.pod_uid == pod.uid && m.state == MountState::Mounted);
    if blocked {
        return;
    }
    // `sh` left with the last vault task (`exit_container`); what remains here is a waiting `mount.nfs`.
    world
        .processes
        .retain(|p| p.pod_uid != pod.uid || p.comm == "mount.nfs");
    if !in_api {
        world.removed_pods.retain(|removed| removed.uid != pod.uid);
        return;
    }
    world.pods.remove(name);
    world.record(EventKind::PodPhase {
        pod: name.to_string(),
        uid: pod.uid.clone(),
        node: pod.node.clone(),
        phase: PodPhaseName::Deleted,
    });
}

/// Changes the termination of incarnation `uid`, whether the API still has it or not.
fn set_termination(world: &mut World, uid: &str, change: impl FnOnce(&mut super::Termination)) {
    let termination = world
        .pods
        .values_mut()
        .chain(world.removed_pods.iter_mut())
        .find(|pod| pod.uid == uid)
        .and_then(|pod| pod.termination.as_mut());
    if let Some(termination) = termination {
        change(termination);
    }
}

/// SIGKILL to the pod's processes. After SIGKILL every thread that can wake exits; a thread in uninterruptible
/// sleep stays, with the kill pending. Vault's leader thread then shows `Z` to `ps -eo` (`/proc/PID/stat`
/// reports the leader) while its I/O thread shows `D` only per thread (`ps -eLo`), and the process keeps its
/// file table, so its sockets stay open. Every other thread stopped, so a stuck leader's heartbeats finally
/// stop. The `sh -ec` wrapper is PID 1 of the pod's namespace: the kernel kills the namespace and PID 1 waits
/// in `do_wait` (S) until the last task is reaped (`zap_pid_ns_processes`).
fn kill_container(world: &mut World, name: &str, uid: &str) {
    world.log(name, "kubelet: grace period expired, sending SIGKILL");
    let in_disk_sleep = world
        .processes
        .iter()
        .any(|p| p.pod_uid == uid && p.is_vault_io_thread() && p.state == ProcessState::DiskSleep);
    if !in_disk_sleep {
        exit_container(world, uid);
        return;
    }
    let mut changed = Vec::new();
    for process in world
        .processes
        .iter_mut()
        .filter(|p| p.pod_uid == uid && p.comm == "vault")
    {
        process.killed = true;
        if process.is_leader() && process.state != ProcessState::Zombie {
            process.state = ProcessState::Zombie;
            changed.push(process.clone());
        }
    }
    for process in changed {
        record_process(world, &process, TaskState::Zombie);
    }
    if let Some(view) = world.vaults.get_mut(name) {
        if view.uid == uid {
            view.frozen = true;
        }
    }
    world.log(
        name,
        "received SIGKILL while in uninterruptible I/O; other threads stopped",
    );
}

/// The container's processes are gone: its host software stops. A container that exits outside a deletion is
/// restarted after a back-off, as with `restartPolicy: Always`.
pub fn exit_container(world: &mut World, uid: &str) {
    let exited: Vec<Process> = world
        .processes
        .iter()
        .filter(|p| p.pod_uid == uid && (p.comm == "vault" || p.comm == "sh"))
        .cloned()
        .collect();
    world
        .processes
        .retain(|p| !(p.pod_uid == uid && (p.comm == "vault" || p.comm == "sh")));
    for process in &exited {
        record_process(world, process, TaskState::Exited);
    }
    let owner = world
        .pods
        .values()
        .find(|pod| pod.uid == uid)
        .map(|pod| pod.name.clone());
    let view_owner = world
        .vaults
        .iter()
        .find(|(_, view)| view.uid == uid)
        .map(|(name, _)| name.clone());
    if let Some(name) = &view_owner {
        world.vaults.remove(name);
    }
    // The incarnation's last task is gone, and its sockets with it.
    world.host_ops.push(HostOp::Crash(uid.to_string()));
    exit_owner(world, owner);
}

/// A container that exits outside a deletion is restarted after a back-off.
fn exit_owner(world: &mut World, owner: Option<String>) {
    if let Some(name) = owner {
        let now_ms = world.now_ms();
        let pod = world.pods.get_mut(&name).expect("owner exists");
        pod.container_started = false;
        if pod.termination.is_none() {
            pod.created_ms = now_ms + CONTAINER_RESTART_MS - CONTAINER_CREATE_MS;
            set_phase(world, &name, PodPhase::ContainerCreating);
        }
    }
}

/// Unmounts a pod incarnation's mounts that are not hung. Detached mounts leave once no task holds them.
fn unmount_idle(world: &mut World, uid: &str) {
    // Any live task of the incarnation holds its files, a zombie's blocked thread included.
    let holders = world
        .processes
        .iter()
        .any(|p| p.pod_uid == uid && p.comm == "vault");
    let mut gone = Vec::new();
    world.mounts.retain(|mount| {
        let removable = mount.pod_uid == uid
            && match mount.state {
                MountState::Mounted => !mount.hung || mount.io_failed,
                MountState::Detached => !holders,
            };
        if removable {
            gone.push(mount.clone());
        }
        !removable
    });
    for mount in gone {
        if mount.state == MountState::Mounted {
            world.record(EventKind::MountState {
                node: mount.node,
                pod_uid: mount.pod_uid,
                mountpoint: mount.mountpoint,
                state: MountStatus::Unmounted,
            });
        }
    }
}

/// Mounts of pod incarnations that no longer exist (force-deleted) are unmounted once their processes exit.
fn clean_orphans(world: &mut World) {
    let orphan_uids: Vec<String> = world
        .mounts
        .iter()
        .map(|mount| mount.pod_uid.clone())
        .filter(|uid| !world.pods.values().any(|pod| &pod.uid == uid))
        .filter(|uid| !world.removed_pods.iter().any(|pod| &pod.uid == uid))
        .filter(|uid| {
            !world
                .processes
                .iter()
                .any(|p| &p.pod_uid == uid && p.comm == "vault")
        })
        .collect();
    for uid in orphan_uids {
        unmount_idle(world, &uid);
        world
            .processes
            .retain(|p| !(p.pod_uid == uid && p.comm == "sh"));
    }
}
