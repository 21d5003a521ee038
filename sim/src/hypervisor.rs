//! Proxmox VMs under the Kubernetes nodes: `qm reset`, `qm stop/start`, boot order, and guest reboots.
//!
//! Upstream, `qm reset` sends QMP `system_reset`: the guest reboots inside the same QEMU process, so the PID
//! never changes. The incident believed a reset could be a no-op; `hypotheses.qm_reset_is_noop` picks one.

use crate::kube::{PodPhase, ProcessState};
use crate::vault::VaultView;
use crate::world::{HostOp, World};
use firedrill_scenarios::trace::{MountStatus, NodeCondition, TaskState, VmOperation};
use firedrill_scenarios::EventKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmState {
    Running,
    /// No QEMU process (`qm status`: stopped).
    Stopped,
    /// The guest is booting; the node turns Ready at `ready_at_ms`, the CSI driver registers later.
    Booting {
        ready_at_ms: u64,
    },
    /// A cold boot tried the wrong disk (iPXE) and stopped there.
    BootFailed,
}

#[derive(Clone, Debug)]
pub struct Vm {
    pub node: String,
    pub vmid: u32,
    pub qemu_pid: u32,
    pub boot_id: u32,
    pub bootdisk: String,
    pub os_disk: String,
    pub state: VmState,
    pub csi_registered_at_ms: Option<u64>,
    /// When the guest stopped running a kubelet that posts status (a reboot, a stop, a failed boot).
    pub kubelet_silent_since_ms: Option<u64>,
    /// The node lifecycle controller has marked the node NotReady.
    pub marked_not_ready: bool,
}

impl Vm {
    /// The guest is up and its kubelet runs containers.
    pub fn node_ready(&self) -> bool {
        self.state == VmState::Running
    }

    /// `qm status`: running while a QEMU process exists, whatever the guest inside it is doing (booting, or
    /// stuck in iPXE after a boot from the wrong disk).
    pub fn qemu_running(&self) -> bool {
        self.state != VmState::Stopped
    }

    /// The node's Ready condition as the API server shows it (`kubectl get node`): the kubelet's last post
    /// stands until the node-monitor grace period has passed without one.
    pub fn api_ready(&self) -> bool {
        self.node_ready() || !self.marked_not_ready
    }

    pub fn csi_registered(&self, now_ms: u64) -> bool {
        self.node_ready() && self.csi_registered_at_ms.is_some_and(|at| at <= now_ms)
    }
}

/// One VM per node, all running; stale-bootdisk nodes name `scsi0` while the OS disk is `scsi1`.
pub fn start(world: &mut World) {
    let stale = world.schedule.stale_bootdisk_nodes.clone();
    for (index, node) in world
        .scenario
        .topology
        .nodes
        .clone()
        .into_iter()
        .enumerate()
    {
        let qemu_pid = world.allocate_pid();
        let bootdisk = if stale.contains(&node) {
            "scsi0"
        } else {
            "scsi1"
        };
        world.vms.insert(
            node.clone(),
            Vm {
                node,
                vmid: 201 + index as u32,
                qemu_pid,
                boot_id: 1,
                bootdisk: bootdisk.to_string(),
                os_disk: "scsi1".to_string(),
                state: VmState::Running,
                csi_registered_at_ms: Some(0),
                kubelet_silent_since_ms: None,
                marked_not_ready: false,
            },
        );
    }
}

/// `qm reset`.
pub fn reset(world: &mut World, node: &str) -> Result<(), String> {
    let Some(vm) = world.vms.get(node) else {
        return Err(format!("no VM for node {node}"));
    };
    world.record(EventKind::VmPower {
        node: node.to_string(),
        operation: VmOperation::Reset,
        bootdisk: vm.bootdisk.clone(),
        os_disk: vm.os_disk.clone(),
    });
    if world.schedule.hypotheses.qm_reset_is_noop {
        world.record(EventKind::NodeState {
            node: node.to_string(),
            state: NodeCondition::QmResetNoOp,
        });
        return Ok(());
    }
    reboot_guest(world, node);
    Ok(())
}

/// `qm stop && qm start`: a new QEMU process and a cold boot from the configured boot disk.
pub fn stop_start(world: &mut World, node: &str) -> Result<(), String> {
    let new_pid = world.allocate_pid();
    let vm = world
        .vms
        .get_mut(node)
        .ok_or_else(|| format!("no VM for node {node}"))?;
    vm.qemu_pid = new_pid;
    let boots = vm.bootdisk == vm.os_disk;
    let power = EventKind::VmPower {
        node: node.to_string(),
        operation: VmOperation::ColdBoot,
        bootdisk: vm.bootdisk.clone(),
        os_disk: vm.os_disk.clone(),
    };
    world.record(power);
    reboot_guest(world, node);
    if !boots {
        if let Some(vm) = world.vms.get_mut(node) {
            vm.state = VmState::BootFailed;
        }
        world.record(EventKind::NodeState {
            node: node.to_string(),
            state: NodeCondition::BootFailedIpxe,
        });
    }
    Ok(())
}

/// `qm set --boot order=<os disk>`.
pub fn fix_boot_order(world: &mut World, node: &str) -> Result<(), String> {
    let vm = world
        .vms
        .get_mut(node)
        .ok_or_else(|| format!("no VM for node {node}"))?;
    vm.bootdisk = vm.os_disk.clone();
    Ok(())
}

/// The guest reboots: every process, mount and container on the node is gone, and the NFS client is fresh.
fn reboot_guest(world: &mut World, node: &str) {
    let now_ms = world.now_ms();
    let boot_ms = world.scenario.topology.node_boot_ms;
    if let Some(vm) = world.vms.get_mut(node) {
        vm.boot_id += 1;
        vm.state = VmState::Booting {
            ready_at_ms: now_ms.saturating_add(boot_ms),
        };
        vm.csi_registered_at_ms = None;
        vm.kubelet_silent_since_ms.get_or_insert(now_ms);
    }
    world.record(EventKind::NodeState {
        node: node.to_string(),
        state: NodeCondition::Rebooting,
    });
    let gone: Vec<_> = world
        .processes
        .iter()
        .filter(|p| p.node == node)
        .cloned()
        .collect();
    world.processes.retain(|p| p.node != node);
    // Every incarnation with a task on the node is gone from the network with it, zombies included.
    let gone_hosts: std::collections::BTreeSet<String> = gone
        .iter()
        .map(|p| p.pod_uid.clone())
        .filter(|uid| world.hosts.contains(uid))
        .collect();
    for host in gone_hosts {
        world.host_ops.push(HostOp::Crash(host));
    }
    for process in gone {
        world.record(EventKind::ProcessState {
            node: process.node,
            pod_uid: process.pod_uid,
            pid: process.pid,
            tid: Some(process.tid),
            comm: process.comm,
            state: if process.state == ProcessState::DiskSleep {
                TaskState::GoneAtReboot
            } else {
                TaskState::Exited
            },
        });
    }
    let unmounted: Vec<_> = world
        .mounts
        .iter()
        .filter(|m| m.node == node)
        .cloned()
        .collect();
    world.mounts.retain(|m| m.node != node);
    for mount in unmounted {
        world.record(EventKind::MountState {
            node: mount.node,
            pod_uid: mount.pod_uid,
            mountpoint: mount.mountpoint,
            state: MountStatus::Unmounted,
        });
    }
    if let Some(state) = world.nodes.get_mut(node) {
        // A fresh kernel has a fresh NFS client and opens a new session.
        state.nfs_v42_corrupted = false;
        state.nfs_session_hung = false;
    }
    let pods: Vec<String> = world
        .pods
        .values()
        .filter(|p| p.node == node)
        .map(|p| p.name.clone())
        .collect();
    for pod in pods {
        if world
            .vaults
            .get(&pod)
            .is_some_and(|view: &VaultView| world.pods.get(&pod).is_some_and(|p| p.uid == view.uid))
        {
            world.vaults.remove(&pod);
        }
        let Some(entry) = world.pods.get_mut(&pod) else {
            continue;
        };
        entry.container_started = false;
        if entry.phase != PodPhase::Terminating {
            entry.phase = PodPhase::ContainerCreating;
            let (uid, node) = (entry.uid.clone(), entry.node.clone());
            world.record(EventKind::PodPhase {
                pod,
                uid,
                node,
                phase: PodPhase::ContainerCreating.name(),
            });
        }
    }
}

/// Advances booting VMs: Ready after the boot, CSI registered after that. A node whose kubelet stopped posting
/// is marked NotReady once the node-monitor grace period has passed.
pub fn tick(world: &mut World) {
    let now_ms = world.now_ms();
    let csi_ms = world.scenario.topology.csi_register_ms;
    let mut events = Vec::new();
    for vm in world.vms.values_mut() {
        if let VmState::Booting { ready_at_ms } = vm.state {
            if now_ms >= ready_at_ms {
                vm.state = VmState::Running;
                vm.csi_registered_at_ms = Some(now_ms.saturating_add(csi_ms));
                vm.kubelet_silent_since_ms = None;
                vm.marked_not_ready = false;
                events.push((vm.node.clone(), NodeCondition::Ready));
            }
        }
        let grace_over = vm.kubelet_silent_since_ms.is_some_and(|since| {
            now_ms >= since.saturating_add(crate::kube::NODE_MONITOR_GRACE_MS)
        });
        if grace_over && !vm.marked_not_ready {
            vm.marked_not_ready = true;
            events.push((vm.node.clone(), NodeCondition::NotReady));
        }
    }
    for (node, state) in events {
        world.record(EventKind::NodeState { node, state });
    }
}

/// A test mount through a hung or corrupted client leaves its `mount.nfs` blocked in D state on the node after
/// `timeout` gives up: the signal waits for a wake-up that never comes. It holds the client like any mount.
pub fn leave_test_mount_helper(world: &mut World, node: &str) {
    let up = world.vms.get(node).is_some_and(|vm| vm.node_ready());
    if !up {
        return;
    }
    let pid = world.allocate_pid();
    let process = crate::kube::Process::leader(node, pid, "mount.nfs", ProcessState::DiskSleep, "");
    crate::kube::record_process(world, &process, TaskState::DiskSleep);
    world.processes.push(process);
}

/// `timeout T mount -t nfs -o nfsvers=V`: hangs on a node whose NFSv4.2 client is corrupted (unless v4.1), or
/// whose session for that version is hung, or that is down (ssh never answers).
pub fn test_mount_hangs(world: &World, node: &str, nfsvers: &str) -> bool {
    let down = world.vms.get(node).is_none_or(|vm| !vm.node_ready());
    down || crate::kube::nfs_mount_hangs(world, node, nfsvers)
}
