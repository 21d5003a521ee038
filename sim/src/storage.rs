//! A pod's data volume as Vault's storage sees it: fsync that is instant, slow, or blocked in D state on a hung
//! hard NFS mount, and that fails with EIO when the mount's blocked I/O is released.

use crate::kube::{MountState, ProcessState};
use crate::world::SharedWorld;
use firedrill_scenarios::EventKind;
use std::time::Duration;

/// How often a task blocked on NFS re-checks the server: the hard mount's retransmission, coarsened.
const NFS_RETRY_MS: u64 = 100;

#[derive(Debug, PartialEq, Eq)]
pub enum FsyncError {
    /// The I/O failed (`EIO`): the blocked request was released without completing.
    Io,
    /// The process died as soon as it left D state (SIGKILL was pending).
    Killed,
}

/// Flushes the volume of pod incarnation `uid`. Blocks while the mount is hung, as a hard mount does.
pub async fn fsync(world: &SharedWorld, pod: &str, uid: &str) -> Result<(), FsyncError> {
    let latency_ms = {
        let mut w = world.borrow_mut();
        let Some(mount) = w.mounts.iter().find(|m| m.pod_uid == uid) else {
            return Err(FsyncError::Io);
        };
        let latency_ms = mount.fsync_latency_ms;
        set_blocked(&mut w, pod, uid, true);
        latency_ms
    };
    if latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(latency_ms)).await;
    }
    let mut in_disk_sleep = false;
    let result = loop {
        let status = {
            let w = world.borrow();
            w.mounts
                .iter()
                .find(|m| m.pod_uid == uid)
                .map(|m| (m.hung, m.io_failed, m.state))
        };
        match status {
            None | Some((_, true, _)) => break Err(FsyncError::Io),
            Some((_, _, MountState::Detached)) if !in_disk_sleep => break Err(FsyncError::Io),
            Some((true, false, _)) => {
                if !in_disk_sleep {
                    in_disk_sleep = true;
                    set_process_state(world, uid, ProcessState::DiskSleep);
                }
                tokio::time::sleep(Duration::from_millis(NFS_RETRY_MS)).await;
            }
            Some((false, false, _)) => break Ok(()),
        }
    };
    let killed = {
        let w = world.borrow();
        w.processes
            .iter()
            .any(|p| p.pod_uid == uid && p.is_vault_io_thread() && p.killed)
    };
    if killed {
        // The pending SIGKILL takes effect the moment the task leaves the kernel.
        let mut w = world.borrow_mut();
        crate::kube::exit_container(&mut w, uid);
        return Err(FsyncError::Killed);
    }
    if in_disk_sleep {
        set_process_state(world, uid, ProcessState::Running);
    }
    set_blocked(&mut world.borrow_mut(), pod, uid, false);
    result
}

fn set_blocked(world: &mut crate::world::World, pod: &str, uid: &str, blocked: bool) {
    if let Some(view) = world.vaults.get_mut(pod).filter(|view| view.uid == uid) {
        view.blocked = blocked;
        if !blocked {
            view.disk_sleep = false;
            view.completed_fsyncs += 1;
            world.vault_changed.notify_waiters();
        }
    }
}

fn set_process_state(world: &SharedWorld, uid: &str, state: ProcessState) {
    let mut w = world.borrow_mut();
    // Only the thread doing the write blocks; the process's other threads run on.
    let Some(process) = w
        .processes
        .iter_mut()
        .find(|p| p.pod_uid == uid && p.is_vault_io_thread())
    else {
        return;
    };
    process.state = state;
    let event = EventKind::ProcessState {
        node: process.node.clone(),
        pod_uid: process.pod_uid.clone(),
        pid: process.pid,
        tid: Some(process.tid),
        comm: process.comm.clone(),
        state: state.name(),
    };
    let pod = w
        .vaults
        .iter()
        .find(|(_, view)| view.uid == uid)
        .map(|(name, _)| name.clone());
    if let Some(pod) = pod {
        if let Some(view) = w.vaults.get_mut(&pod) {
            view.disk_sleep = state == ProcessState::DiskSleep;
        }
    }
    w.record(event);
}
