//! Auditing a runbook's claims: what each contested step actually did in a run, read off its trace.
//!
//! The CLI runs the default runbook with the hypotheses switched to upstream behaviour and asks these questions
//! of every trace; where the answers disagree with what the runbook says the step does, that is a finding.

use crate::trace::{EventKind, Trace};

/// After the runbook's lazy unmount, did the stuck task leave D state before the runbook gave up waiting?
/// `None` when the run never lazily unmounted anything.
pub fn lazy_unmount_released_d_state(trace: &Trace) -> Option<bool> {
    let unmounted_at = trace.iter().find_map(|e| match &e.kind {
        EventKind::Action { action, .. } if action == "lazy_unmount" => Some(e.t_ms),
        _ => None,
    })?;
    let still_stuck = trace.iter().any(|e| {
        e.t_ms >= unmounted_at
            && matches!(&e.kind, EventKind::Action { action, outcome, .. }
                if action == "d_state_processes" && outcome.contains(":vault:D"))
    });
    Some(!still_stuck)
}

/// After a `qm reset`, whether the guest rebooted (a new boot), and whether the runbook then cold-booted the VM
/// anyway because the QEMU PID had not changed. `None` when the run never reset a VM.
pub fn reset_then_cold_boot(trace: &Trace) -> Option<(bool, bool)> {
    let reset_at = trace.iter().find_map(|e| match &e.kind {
        EventKind::Action { action, .. } if action == "vm_reset" => Some(e.t_ms),
        _ => None,
    })?;
    let cold_boot_at = trace.iter().find_map(|e| match &e.kind {
        EventKind::Action { action, .. } if action == "vm_stop_start" && e.t_ms > reset_at => {
            Some(e.t_ms)
        }
        _ => None,
    });
    let rebooted = trace.iter().any(|e| {
        e.t_ms >= reset_at
            && cold_boot_at.is_none_or(|cold| e.t_ms < cold)
            && matches!(&e.kind, EventKind::NodeState { state, .. } if state == "rebooting")
    });
    Some((rebooted, cold_boot_at.is_some()))
}

/// The time from the graceful delete to the kubelet's SIGKILL, as observed: the pod's real grace period.
pub fn observed_grace_ms(trace: &Trace) -> Option<u64> {
    let deleted_at = trace.iter().find_map(|e| match &e.kind {
        EventKind::Action { action, .. } if action == "delete_pod" => Some(e.t_ms),
        _ => None,
    })?;
    trace.iter().find_map(|e| match &e.kind {
        EventKind::PodLog { message, .. }
            if e.t_ms >= deleted_at && message.contains("SIGKILL") =>
        {
            Some(e.t_ms - deleted_at)
        }
        _ => None,
    })
}
