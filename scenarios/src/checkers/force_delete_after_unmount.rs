//! Safety rule (DOMAIN.md §7.1): never force-delete a pod while one of its NFS mounts is still mounted, or
//! while a `mount.nfs` on its node is in D state.

use super::CheckResult;
use crate::trace::{EventKind, Trace};
use std::collections::BTreeMap;

pub const RULE: &str = "no_force_delete_before_unmount";

pub fn check(trace: &Trace) -> CheckResult {
    // The pod's current incarnation, each mount's latest state, and each process's latest state, replayed in
    // trace order so every force delete is judged against the world as it was at that moment.
    let mut pods: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut mounts: BTreeMap<(String, String, String), String> = BTreeMap::new();
    let mut processes: BTreeMap<(String, u32), (String, String)> = BTreeMap::new();
    for event in trace.iter() {
        match &event.kind {
            EventKind::PodPhase { pod, uid, node, .. } => {
                pods.insert(pod.clone(), (uid.clone(), node.clone()));
            }
            EventKind::MountState {
                node,
                pod_uid,
                mountpoint,
                state,
            } => {
                mounts.insert(
                    (node.clone(), pod_uid.clone(), mountpoint.clone()),
                    state.clone(),
                );
            }
            EventKind::ProcessState {
                node,
                pid,
                comm,
                state,
                ..
            } => {
                processes.insert((node.clone(), *pid), (comm.clone(), state.clone()));
            }
            EventKind::Action { action, target, .. } if action == "force_delete_pod" => {
                let Some((uid, node)) = pods.get(target) else {
                    continue;
                };
                let mounted: Vec<&String> = mounts
                    .iter()
                    .filter(|((n, u, _), state)| {
                        n == node && u == uid && state.as_str() == "mounted"
                    })
                    .map(|((_, _, mountpoint), _)| mountpoint)
                    .collect();
                if let Some(mountpoint) = mounted.first() {
                    return CheckResult::new(
                        RULE,
                        false,
                        format!(
                            "force-deleted {target} (uid {uid}) at {} ms while {mountpoint} was still mounted on {node}",
                            event.t_ms
                        ),
                    );
                }
                let stuck_mount = processes.iter().find(|((n, _), (comm, state))| {
                    n == node && comm == "mount.nfs" && state == "D"
                });
                if let Some(((_, pid), _)) = stuck_mount {
                    return CheckResult::new(
                        RULE,
                        false,
                        format!(
                            "force-deleted {target} at {} ms while mount.nfs (pid {pid}) was in D state on {node}",
                            event.t_ms
                        ),
                    );
                }
            }
            _ => {}
        }
    }
    CheckResult::new(
        RULE,
        true,
        "every force delete came after its mounts were gone",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Trace {
        let mut trace = Trace::default();
        trace.push(
            0,
            EventKind::PodPhase {
                pod: "vault-2".into(),
                uid: "u1".into(),
                node: "n3".into(),
                phase: "Running".into(),
            },
        );
        trace.push(
            0,
            EventKind::MountState {
                node: "n3".into(),
                pod_uid: "u1".into(),
                mountpoint: "/data".into(),
                state: "mounted".into(),
            },
        );
        trace
    }

    fn force_delete(trace: &mut Trace, t_ms: u64) {
        trace.push(
            t_ms,
            EventKind::Action {
                step: "2d".into(),
                action: "force_delete_pod".into(),
                target: "vault-2".into(),
                destructive: true,
                outcome: "ok".into(),
            },
        );
    }

    #[test]
    fn force_delete_while_mounted_is_caught() {
        let mut trace = base();
        force_delete(&mut trace, 10);
        let result = check(&trace);
        assert!(!result.passed);
        assert!(result.detail.contains("/data"), "{}", result.detail);
    }

    #[test]
    fn force_delete_after_unmount_passes() {
        let mut trace = base();
        trace.push(
            5,
            EventKind::MountState {
                node: "n3".into(),
                pod_uid: "u1".into(),
                mountpoint: "/data".into(),
                state: "detached".into(),
            },
        );
        force_delete(&mut trace, 10);
        assert!(check(&trace).passed);
    }
}
