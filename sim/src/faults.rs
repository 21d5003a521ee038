//! Fault injection: the schedule's faults start and heal at their drawn times, applied between steps.
//!
//! Every fault has an end, and the trace records it: its scheduled heal, or the world ending it. A corrupted
//! NFS client ends when its node reboots; a hung session ends with the node's NFS client (its last mount gone,
//! or a reboot); a slow disk ends when the last mount that used it is gone.
//!
//! An NFS hang belongs to the node's NFS client, not to one mount: Linux shares one client and one session per
//! (server, protocol, minor version) on a node, so the target pod's hang hangs every mount of that version on
//! its node, and every new one.

use crate::world::World;
use firedrill_scenarios::scenario::FaultKind;
use firedrill_scenarios::schedule::DrawnFault;
use firedrill_scenarios::trace::{NodeCondition, TaskState};

/// The NFS server's name in every NFS mount's source (`server:/export`).
const NFS_SERVER: &str = "nfs-server:";
use firedrill_scenarios::EventKind;

/// A fault that has started, and the mount it hit.
pub struct ActiveFault {
    /// The fault's position in the schedule, so each fault starts once whatever order the schedule lists them in.
    pub index: usize,
    pub fault: DrawnFault,
    pub mount_id: Option<u32>,
    pub target_pod: String,
    /// The node whose NFS client the fault hit (a hung session, or a corrupted client).
    pub node: Option<String>,
    pub healed: bool,
}

/// Starts and heals faults whose time has come. `active` keeps what started, so heals undo exactly that.
pub fn apply(world: &mut World, active: &mut Vec<ActiveFault>) {
    let now_ms = world.now_ms();
    // A schedule need not list its faults in time order (a scenario file lists them as its author thought of
    // them, and a shrinker moves times), so every fault is started by its own time, earliest first.
    let mut due: Vec<(usize, DrawnFault)> = world
        .schedule
        .faults
        .iter()
        .enumerate()
        .filter(|(index, fault)| {
            fault.at_ms <= now_ms && !active.iter().any(|started| started.index == *index)
        })
        .map(|(index, fault)| (index, fault.clone()))
        .collect();
    due.sort_by_key(|(index, fault)| (fault.at_ms, *index));
    for (index, fault) in due {
        let started = start(world, index, fault);
        active.push(started);
    }
    for fault in active.iter_mut().filter(|f| !f.healed) {
        if fault
            .fault
            .heal_at_ms
            .is_some_and(|heal_at_ms| heal_at_ms <= now_ms)
        {
            fault.healed = true;
            heal(world, fault, "healed as scheduled");
        } else if let Some(how) = ended_by_the_world(world, fault) {
            fault.healed = true;
            if fault.fault.kind == FaultKind::NfsHang {
                // The client is freed with its last user; the next mount opens a fresh session.
                set_session_hung(world, fault.node.as_deref(), false);
            }
            world.record(EventKind::FaultHealed {
                fault: fault.fault.kind.into(),
                target: fault.target_pod.clone(),
                how: how.to_string(),
            });
        }
    }
}

/// Whether the world itself has ended a fault, and how.
fn ended_by_the_world(world: &World, fault: &ActiveFault) -> Option<&'static str> {
    match fault.fault.kind {
        FaultKind::NfsClientCorrupted => {
            let node = fault.node.as_ref()?;
            let corrupted = world.nodes.get(node).is_some_and(|n| n.nfs_v42_corrupted);
            (!corrupted).then_some("the node rebooted with a fresh NFS client")
        }
        FaultKind::NfsHang => {
            let node = fault.node.as_ref()?;
            let hung = world.nodes.get(node).is_some_and(|n| n.nfs_session_hung);
            if !hung {
                return Some("the node rebooted with a fresh NFS client");
            }
            let in_use = world
                .mounts
                .iter()
                .any(|m| &m.node == node && m.source.starts_with(NFS_SERVER))
                || world
                    .processes
                    .iter()
                    .any(|p| &p.node == node && p.comm == "mount.nfs");
            (!in_use).then_some("the last mount using the node's NFS client went away")
        }
        FaultKind::SlowFsync => {
            let mount_id = fault.mount_id?;
            let gone = !world.mounts.iter().any(|m| m.id == mount_id);
            gone.then_some("the last mount using the session went away")
        }
    }
}

fn resolve_target(world: &World, target: &str) -> String {
    if target != "leader" {
        return target.to_string();
    }
    world
        .vaults
        .iter()
        .find(|(_, view)| view.role == "leader" && !view.frozen)
        .map(|(pod, _)| pod.clone())
        .unwrap_or_else(|| world.schedule.leader.clone())
}

fn start(world: &mut World, index: usize, fault: DrawnFault) -> ActiveFault {
    let target_pod = resolve_target(world, &fault.target);
    let uid = world.pods.get(&target_pod).map(|pod| pod.uid.clone());
    let mount = world
        .mounts
        .iter_mut()
        .find(|m| Some(&m.pod_uid) == uid.as_ref());
    let mount_id = mount.as_ref().map(|m| m.id);
    let mut corrupted_node = None;
    let detail = match (fault.kind, mount) {
        (FaultKind::NfsHang, Some(mount)) if mount.source.starts_with(NFS_SERVER) => {
            let (node, source) = (mount.node.clone(), mount.source.clone());
            set_session_hung(world, Some(&node), true);
            corrupted_node = Some(node.clone());
            format!(
                "NFS server stops answering the NFSv{} session of {node} (mounted from {source}): every mount of it hangs",
                world.scenario.topology.nfs_version
            )
        }
        (FaultKind::NfsHang, Some(mount)) => {
            mount.hung = true;
            format!("the disk under {} stops answering", mount.source)
        }
        (FaultKind::SlowFsync, Some(mount)) => {
            mount.fsync_latency_ms = fault.latency_ms.unwrap_or(0);
            format!(
                "every fsync on {} takes {} ms",
                mount.source, mount.fsync_latency_ms
            )
        }
        (FaultKind::NfsClientCorrupted, _) => {
            let node = world
                .pods
                .get(&target_pod)
                .map(|pod| pod.node.clone())
                .unwrap_or_default();
            if let Some(state) = world.nodes.get_mut(&node) {
                state.nfs_v42_corrupted = true;
            }
            world.record(EventKind::NodeState {
                node: node.clone(),
                state: NodeCondition::NfsV42ClientCorrupted,
            });
            corrupted_node = Some(node.clone());
            format!("the NFSv4.2 client of {node} is corrupted")
        }
        (_, None) => "no mounted volume to hit".to_string(),
    };
    world.record(EventKind::FaultInjected {
        fault: fault.kind.into(),
        target: target_pod.clone(),
        detail,
    });
    ActiveFault {
        index,
        fault,
        mount_id,
        target_pod,
        node: corrupted_node,
        healed: false,
    }
}

/// Hangs or frees the NFS session of a node: every NFS mount on it follows. When the server answers again, the
/// `mount.nfs` helpers waiting on the session complete (a corrupted v4.2 client still holds its own).
fn set_session_hung(world: &mut World, node: Option<&str>, hung: bool) {
    let Some(node) = node else {
        return;
    };
    if let Some(state) = world.nodes.get_mut(node) {
        state.nfs_session_hung = hung;
    }
    for mount in world
        .mounts
        .iter_mut()
        .filter(|m| m.node == node && m.source.starts_with(NFS_SERVER))
    {
        mount.hung = hung;
    }
    if hung || world.nodes.get(node).is_some_and(|n| n.nfs_v42_corrupted) {
        return;
    }
    let finished: Vec<crate::kube::Process> = world
        .processes
        .iter()
        .filter(|p| p.node == node && p.comm == "mount.nfs" && p.pod_uid.is_empty())
        .cloned()
        .collect();
    world
        .processes
        .retain(|p| !(p.node == node && p.comm == "mount.nfs" && p.pod_uid.is_empty()));
    for process in finished {
        crate::kube::record_process(world, &process, TaskState::Exited);
    }
}

fn heal(world: &mut World, fault: &ActiveFault, how: &str) {
    if fault.fault.kind == FaultKind::NfsHang && fault.node.is_some() {
        set_session_hung(world, fault.node.as_deref(), false);
    }
    if let Some(mount) = world
        .mounts
        .iter_mut()
        .find(|m| Some(m.id) == fault.mount_id)
    {
        match fault.fault.kind {
            FaultKind::NfsHang => mount.hung = false,
            FaultKind::SlowFsync => mount.fsync_latency_ms = 0,
            // Only a reboot clears a corrupted client; nothing heals it.
            FaultKind::NfsClientCorrupted => {}
        }
    }
    world.record(EventKind::FaultHealed {
        fault: fault.fault.kind.into(),
        target: fault.target_pod.clone(),
        how: how.to_string(),
    });
}

/// The next time a fault is due to start or to heal as scheduled, after `now_ms`: the driver's next appointment
/// on an engine that skips idle time. Heals the world causes happen while hosts run, and are seen then.
pub fn next_change_ms(world: &World, active: &[ActiveFault], now_ms: u64) -> Option<u64> {
    let starts = world
        .schedule
        .faults
        .iter()
        .enumerate()
        .filter(|(index, _)| !active.iter().any(|started| started.index == *index))
        .map(|(_, fault)| fault.at_ms);
    let heals = active
        .iter()
        .filter(|fault| !fault.healed)
        .filter_map(|fault| fault.fault.heal_at_ms);
    starts.chain(heals).filter(|at_ms| *at_ms > now_ms).min()
}
