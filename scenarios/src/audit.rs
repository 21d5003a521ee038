//! Auditing a runbook's claims: what each contested step actually did in a run, measured from the world's
//! ground truth in its trace.
//!
//! The CLI runs the runbook twice: with the contested hypotheses switched to upstream behaviour, and, as a
//! control, under the runbook's own beliefs. Each question below is asked of every trace. A claim that does
//! not hold under the control is a broken measurement, not a finding.

use crate::trace::{Activity, Branch, EventKind, PodPhaseName, TaskState, Trace, VmOperation};
use std::collections::BTreeSet;

/// What followed the runbook's first lazy unmount of a mount whose task was blocked in D state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LazyUnmountOutcome {
    /// A task that was in D state when the mount was detached left D state before the fault ended.
    pub released: bool,
    /// The runbook's D-state wait gave up (`on_timeout`).
    pub wait_timed_out: bool,
}

/// `None` when the run never lazily unmounted anything while a task was blocked.
pub fn lazy_unmount(trace: &Trace) -> Option<LazyUnmountOutcome> {
    let mut blocked: BTreeSet<(String, u32)> = BTreeSet::new();
    let mut unmounted: Option<BTreeSet<(String, u32)>> = None;
    let mut released = false;
    let mut wait_steps: BTreeSet<&str> = BTreeSet::new();
    let mut wait_timed_out = false;
    for event in trace.iter() {
        match &event.kind {
            EventKind::ProcessState {
                node,
                pid,
                tid,
                state,
                ..
            } => {
                let key = (node.clone(), tid.unwrap_or(*pid));
                if *state == TaskState::DiskSleep {
                    blocked.insert(key);
                } else {
                    blocked.remove(&key);
                    // Leaving D by dying at a reboot is not a release by the unmount.
                    if *state != TaskState::GoneAtReboot
                        && unmounted.as_ref().is_some_and(|held| held.contains(&key))
                    {
                        released = true;
                    }
                }
            }
            EventKind::Action {
                action: Activity::LazyUnmount,
                ..
            } if unmounted.is_none() && !blocked.is_empty() => {
                unmounted = Some(blocked.clone());
            }
            EventKind::Action {
                action: Activity::DStateProcesses | Activity::DStateThreads,
                step,
                ..
            } if unmounted.is_some() => {
                wait_steps.insert(step);
            }
            EventKind::BranchTaken {
                step,
                branch: Branch::Timeout,
                ..
            } if wait_steps.contains(step.as_str()) => wait_timed_out = true,
            EventKind::FaultHealed { .. } if unmounted.is_some() => break,
            _ => {}
        }
    }
    unmounted.map(|_| LazyUnmountOutcome {
        released,
        wait_timed_out,
    })
}

/// What followed the runbook's first `qm reset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResetOutcome {
    /// The guest rebooted (the world recorded a reboot) before any cold boot.
    pub guest_rebooted: bool,
    /// The runbook then cold-booted the same VM.
    pub cold_boot_followed: bool,
}

/// `None` when the run never reset a VM.
pub fn reset(trace: &Trace) -> Option<ResetOutcome> {
    let mut reset_node: Option<&str> = None;
    let mut guest_rebooted = false;
    for event in trace.iter() {
        match (&event.kind, reset_node) {
            (
                EventKind::VmPower {
                    node,
                    operation: VmOperation::Reset,
                    ..
                },
                None,
            ) => reset_node = Some(node),
            (EventKind::NodeState { node, state }, Some(reset))
                if node == reset && *state == crate::trace::NodeCondition::Rebooting =>
            {
                guest_rebooted = true;
            }
            (
                EventKind::VmPower {
                    node,
                    operation: VmOperation::ColdBoot,
                    ..
                },
                Some(reset),
            ) if node == reset => {
                return Some(ResetOutcome {
                    guest_rebooted,
                    cold_boot_followed: true,
                });
            }
            _ => {}
        }
    }
    reset_node.map(|_| ResetOutcome {
        guest_rebooted,
        cold_boot_followed: false,
    })
}

/// Whether the pod the runbook deleted gracefully was gone by the time the runbook next looked at it:
/// `Some(true)` when its incarnation was deleted before the runbook's next `get_pod` of it.
pub fn pod_gone_when_checked(trace: &Trace) -> Option<bool> {
    let mut deleted: Option<(String, String)> = None;
    let mut gone = false;
    for event in trace.iter() {
        match &event.kind {
            EventKind::PodDeletionRequested {
                pod,
                uid,
                force: false,
                ..
            } if deleted.is_none() => deleted = Some((pod.clone(), uid.clone())),
            EventKind::PodPhase {
                pod,
                uid,
                phase: PodPhaseName::Deleted,
                ..
            } if deleted.as_ref() == Some(&(pod.clone(), uid.clone())) => gone = true,
            EventKind::Action {
                action: Activity::GetPod,
                target,
                ..
            } if deleted.as_ref().is_some_and(|(pod, _)| pod == target) => return Some(gone),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::fixture::TraceBuilder;
    use crate::trace::MountStatus;

    /// A task in D, a lazy unmount, then a D-state check (`check`) whose wait times out.
    fn unmount_then_wait_times_out(check: Activity) -> LazyUnmountOutcome {
        let mut t = TraceBuilder::healthy_cluster();
        t.task(10, "n2", 102, "u2", "vault", TaskState::DiskSleep)
            .action(20, Activity::LazyUnmount, "n2:/data")
            .mount(20, "n2", "u2", "/data", MountStatus::Detached)
            .action(30, check, "n2");
        t.push(
            40,
            EventKind::BranchTaken {
                step: "s".into(),
                branch: Branch::Timeout,
                to: "x".into(),
            },
        );
        lazy_unmount(&t.build()).unwrap()
    }

    #[test]
    fn a_task_still_in_d_after_the_unmount_is_not_released() {
        let outcome = unmount_then_wait_times_out(Activity::DStateProcesses);
        assert!(!outcome.released && outcome.wait_timed_out, "{outcome:?}");
    }

    #[test]
    fn the_per_thread_d_state_check_is_the_wait_too() {
        let outcome = unmount_then_wait_times_out(Activity::DStateThreads);
        assert!(outcome.wait_timed_out, "{outcome:?}");
    }

    #[test]
    fn a_task_leaving_d_after_the_unmount_is_released() {
        let mut t = TraceBuilder::healthy_cluster();
        t.task(10, "n2", 102, "u2", "vault", TaskState::DiskSleep)
            .action(20, Activity::LazyUnmount, "n2:/data")
            .task(20, "n2", 102, "u2", "vault", TaskState::Exited);
        assert!(lazy_unmount(&t.build()).unwrap().released);
    }

    #[test]
    fn a_reset_that_rebooted_then_a_cold_boot_is_measured() {
        let mut t = TraceBuilder::healthy_cluster();
        t.vm(10, "n2", VmOperation::Reset, "scsi1")
            .node(10, "n2", crate::trace::NodeCondition::Rebooting)
            .vm(50, "n2", VmOperation::ColdBoot, "scsi1");
        assert_eq!(
            reset(&t.build()),
            Some(ResetOutcome {
                guest_rebooted: true,
                cold_boot_followed: true
            })
        );
    }
}
