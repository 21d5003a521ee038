//! Fault injection: the schedule's faults start and heal at their drawn times, applied between steps.
//!
//! Every fault has an end, and the trace records it: its scheduled heal, or the world ending it. A corrupted
//! NFS client ends when its node reboots; a hung or slow session ends when the last mount that used it is gone.

use crate::world::World;
use firedrill_scenarios::scenario::FaultKind;
use firedrill_scenarios::schedule::DrawnFault;
use firedrill_scenarios::trace::NodeCondition;
use firedrill_scenarios::EventKind;

/// A fault that has started, and the mount it hit.
pub struct ActiveFault {
    pub fault: DrawnFault,
    pub mount_id: Option<u32>,
    pub target_pod: String,
    /// The node a corrupted NFS client belongs to.
    pub node: Option<String>,
    pub healed: bool,
}

/// Starts and heals faults whose time has come. `active` keeps what started, so heals undo exactly that.
pub fn apply(world: &mut World, active: &mut Vec<ActiveFault>) {
    let now_ms = world.now_ms();
    let due: Vec<DrawnFault> = world
        .schedule
        .faults
        .iter()
        .skip(active.len())
        .take_while(|fault| fault.at_ms <= now_ms)
        .cloned()
        .collect();
    for fault in due {
        let started = start(world, fault);
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
        FaultKind::NfsHang | FaultKind::SlowFsync => {
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

fn start(world: &mut World, fault: DrawnFault) -> ActiveFault {
    let target_pod = resolve_target(world, &fault.target);
    let uid = world.pods.get(&target_pod).map(|pod| pod.uid.clone());
    let mount = world
        .mounts
        .iter_mut()
        .find(|m| Some(&m.pod_uid) == uid.as_ref());
    let mount_id = mount.as_ref().map(|m| m.id);
    let mut corrupted_node = None;
    let detail = match (fault.kind, mount) {
        (FaultKind::NfsHang, Some(mount)) => {
            mount.hung = true;
            format!("NFS server stops answering {}", mount.source)
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
        fault,
        mount_id,
        target_pod,
        node: corrupted_node,
        healed: false,
    }
}

fn heal(world: &mut World, fault: &ActiveFault, how: &str) {
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
