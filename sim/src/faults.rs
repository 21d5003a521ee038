//! Fault injection: the schedule's faults start and heal at their drawn times, applied between steps.

use crate::world::World;
use firedrill_scenarios::scenario::FaultKind;
use firedrill_scenarios::schedule::DrawnFault;
use firedrill_scenarios::EventKind;

/// A fault that has started, and the mount it hit.
pub struct ActiveFault {
    pub fault: DrawnFault,
    pub mount_id: Option<u32>,
    pub target_pod: String,
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
            heal(world, fault);
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
            format!("the NFSv4.2 client of {node} is corrupted")
        }
        (_, None) => "no mounted volume to hit".to_string(),
    };
    world.record(EventKind::FaultInjected {
        fault: fault_name(fault.kind).to_string(),
        target: target_pod.clone(),
        detail,
    });
    ActiveFault {
        fault,
        mount_id,
        target_pod,
        healed: false,
    }
}

fn heal(world: &mut World, fault: &ActiveFault) {
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
        fault: fault_name(fault.fault.kind).to_string(),
        target: fault.target_pod.clone(),
    });
}

fn fault_name(kind: FaultKind) -> &'static str {
    match kind {
        FaultKind::NfsHang => "nfs_hang",
        FaultKind::SlowFsync => "slow_fsync",
        FaultKind::NfsClientCorrupted => "nfs_client_corrupted",
    }
}
