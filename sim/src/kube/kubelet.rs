//! The kubelets and the StatefulSet controller, stepped by the driver between simulation steps.

use super::{Mount, MountState, Node, Pod, PodPhase, Process, ProcessState};
use crate::vault::VaultView;
use crate::world::{HostOp, World};
use firedrill_scenarios::trace::{MountStatus, PodPhaseName, TaskState};
use firedrill_scenarios::EventKind;

/// Time from a pod's creation to its volume mount: scheduling, attach and image checks.
const CONTAINER_CREATE_MS: u64 = 2_000;
/// Back-off before a crashed container is started again.
const CONTAINER_RESTART_MS: u64 = 10_000;
/// The `sleep` in vault-helm's preStop hook before it sends Vault SIGTERM.
const PRESTOP_SLEEP_MS: u64 = 5_000;
/// Where the NFS server exports the volumes, inside the simulation only.
const NFS_EXPORT: &str = "nfs-server:/srv/nfs";

/// Creates the nodes and the StatefulSet's pods, each mounted and running at time zero.
pub fn start_cluster(world: &mut World) {
    for name in world.scenario.topology.nodes.clone() {
        world.nodes.insert(
            name.clone(),
            Node {
                name,
                nfs_v42_corrupted: false,
            },
        );
    }
    crate::hypervisor::start(world);
    super::claims::create_initial(world);
    for pod in world.scenario.voter_names() {
        create_pod(world, &pod);
        try_start_container(world, &pod, true);
    }
}

/// One pass of every kubelet and of the StatefulSet controller.
pub fn tick(world: &mut World) {
    crate::hypervisor::tick(world);
    let now_ms = world.now_ms();
    let names: Vec<String> = world.pods.keys().cloned().collect();
    for name in &names {
        terminate_step(world, name, now_ms);
    }
    clean_orphans(world);
    let statefulset_first = world.scenario.topology.statefulset_wins_pvc_race;
    if !statefulset_first {
        super::claims::release_unused(world);
    }
    // The StatefulSet controller recreates every missing ordinal.
    for pod in world.scenario.voter_names() {
        if !world.pods.contains_key(&pod) {
            create_pod(world, &pod);
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
        if pod.phase == PodPhase::ContainerCreating
            && now_ms >= pod.created_ms + CONTAINER_CREATE_MS
        {
            try_start_container(world, name, false);
        }
        super::readiness::update(world, name);
    }
}

/// The node a voter is scheduled on: a StatefulSet pod with node-independent storage returns to its node.
fn node_for(world: &World, pod: &str) -> String {
    let index: usize = pod
        .rsplit('-')
        .next()
        .and_then(|ordinal| ordinal.parse().ok())
        .expect("voter pods are named vault-<ordinal>");
    let nodes = &world.scenario.topology.nodes;
    nodes[index % nodes.len()].clone()
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

fn create_pod(world: &mut World, name: &str) {
    let now_ms = world.now_ms();
    let uid = world.allocate_uid(name);
    let node = node_for(world, name);
    let storage = super::claims::bind(world, name);
    world.pods.insert(
        name.to_string(),
        Pod {
            name: name.to_string(),
            uid: uid.clone(),
            node: node.clone(),
            phase: PodPhase::ContainerCreating,
            created_ms: now_ms,
            termination: None,
            container_started: false,
            fs_group_change_policy: world.fs_group_change_policy,
            storage,
        },
    );
    world.record(EventKind::PodPhase {
        pod: name.to_string(),
        uid,
        node,
        phase: PodPhase::ContainerCreating.name(),
    });
}

fn record_process(world: &mut World, process: &Process, state: TaskState) {
    world.record(EventKind::ProcessState {
        node: process.node.clone(),
        pod_uid: process.pod_uid.clone(),
        pid: process.pid,
        comm: process.comm.clone(),
        state,
    });
}

/// Mounts the pod's volume, applies its fsGroup ownership, and starts its container. On a node whose NFSv4.2
/// client is corrupted the mount hangs: a `mount.nfs` sits in D state and the pod stays ContainerCreating. The
/// pods of the `initial` start went through their volume setup before the run.
fn try_start_container(world: &mut World, name: &str, initial: bool) {
    let Some(pod) = world.pods.get(name).cloned() else {
        return;
    };
    let corrupted = world
        .nodes
        .get(&pod.node)
        .is_some_and(|node| node.nfs_v42_corrupted);
    let nfs = pod.storage == firedrill_scenarios::scenario::Storage::Nfs;
    if nfs && corrupted && world.scenario.topology.nfs_version == "4.2" {
        let already_waiting = world
            .processes
            .iter()
            .any(|process| process.pod_uid == pod.uid && process.comm == "mount.nfs");
        if !already_waiting {
            let process = Process {
                node: pod.node.clone(),
                pid: world.allocate_pid(),
                comm: "mount.nfs".to_string(),
                state: ProcessState::DiskSleep,
                pod_uid: pod.uid.clone(),
                killed: false,
            };
            record_process(world, &process, TaskState::DiskSleep);
            world.processes.push(process);
        }
        return;
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
    // vault-helm runs Vault under a `/bin/sh -ec` PID-1 wrapper.
    for (comm, state) in [
        ("sh", ProcessState::Sleeping),
        ("vault", ProcessState::Running),
    ] {
        let process = Process {
            node: pod.node.clone(),
            pid: world.allocate_pid(),
            comm: comm.to_string(),
            state,
            pod_uid: pod.uid.clone(),
            killed: false,
        };
        record_process(world, &process, state.name());
        world.processes.push(process);
    }
    world
        .vaults
        .insert(name.to_string(), VaultView::starting(&pod.uid));
    world.host_ops.push(HostOp::Start(name.to_string()));
    if let Some(pod) = world.pods.get_mut(name) {
        pod.container_started = true;
    }
    set_phase(world, name, PodPhase::Running);
}

/// Advances a graceful deletion: TERM, then KILL after the grace period, then teardown once nothing runs.
fn terminate_step(world: &mut World, name: &str, now_ms: u64) {
    let Some(pod) = world.pods.get(name).cloned() else {
        return;
    };
    let Some(termination) = pod.termination.clone() else {
        return;
    };
    // vault-helm's preStop hook is `sleep 5 && kill -SIGTERM $(pidof vault)`: PID 1 is `/bin/sh -ec`, which
    // ignores the kubelet's SIGTERM, so Vault hears of the deletion only from the hook, 5 s in. What Vault does
    // with it (close 8200, then shut down unless its core is stuck) is its own business (`vault/node.rs`).
    if !termination.term_sent && now_ms >= termination.requested_ms.saturating_add(PRESTOP_SLEEP_MS)
    {
        set_termination(world, name, |t| t.term_sent = true);
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
        set_termination(world, name, |t| t.kill_sent = true);
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
    world
        .processes
        .retain(|p| p.pod_uid != pod.uid || p.comm == "mount.nfs");
    world.pods.remove(name);
    world.record(EventKind::PodPhase {
        pod: name.to_string(),
        uid: pod.uid,
        node: pod.node,
        phase: PodPhaseName::Deleted,
    });
}

fn set_termination(world: &mut World, name: &str, change: impl FnOnce(&mut super::Termination)) {
    if let Some(termination) = world
        .pods
        .get_mut(name)
        .and_then(|pod| pod.termination.as_mut())
    {
        change(termination);
    }
}

/// SIGKILL to the pod's processes. A task in D state cannot die: it stays, with the kill pending, and every
/// other thread of it stops (so a stuck leader's heartbeats finally stop). The `sh` wrapper dies to a zombie
/// its parent has not reaped.
fn kill_container(world: &mut World, name: &str, uid: &str) {
    world.log(name, "kubelet: grace period expired, sending SIGKILL");
    let mut in_disk_sleep = false;
    let mut changed = Vec::new();
    for process in world.processes.iter_mut().filter(|p| p.pod_uid == uid) {
        match (process.comm.as_str(), process.state) {
            ("vault", ProcessState::DiskSleep) => {
                process.killed = true;
                in_disk_sleep = true;
            }
            ("sh", _) => {
                process.state = ProcessState::Zombie;
                changed.push(process.clone());
            }
            _ => {}
        }
    }
    for process in changed {
        record_process(world, &process, TaskState::Zombie);
    }
    if in_disk_sleep {
        if let Some(view) = world.vaults.get_mut(name) {
            if view.uid == uid {
                view.frozen = true;
            }
        }
        world.log(
            name,
            "received SIGKILL while in uninterruptible I/O; other threads stopped",
        );
    } else {
        exit_container(world, uid);
    }
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
        world.host_ops.push(HostOp::Crash(name.clone()));
    }
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
    let holders = world
        .processes
        .iter()
        .any(|p| p.pod_uid == uid && p.state == ProcessState::DiskSleep && p.comm != "mount.nfs");
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
