//! Safety rule (DOMAIN.md §7.1): never force-delete a pod while any task of it (any name, any thread) is
//! blocked on NFS, while one of its mounts is still mounted, while a lazily detached mount of it still has
//! users, or while a `mount.nfs` on its node is blocked on the hung client.
//!
//! Judged at each force delete the world recorded, against the world's state at that instant. The rule is
//! exercised once the runbook acts while some task is blocked in D state: it could have force-deleted then.

use super::replay::Replay;
use super::CheckResult;
use crate::trace::{EventKind, MountStatus, TaskState, Trace};

pub const RULE: &str = "no_force_delete_before_unmount";

pub fn check(trace: &Trace) -> CheckResult {
    let mut world = Replay::default();
    let mut hazard_at_ms: Option<u64> = None;
    let mut force_deletes = 0;
    for event in trace.iter() {
        match &event.kind {
            EventKind::PodDeletionRequested {
                pod,
                uid,
                node,
                force: true,
                ..
            } => {
                force_deletes += 1;
                if let Some(harm) = harm_at_force_delete(&world, uid, node) {
                    return CheckResult::new(
                        RULE,
                        false,
                        format!(
                            "force-deleted {pod} (uid {uid}) at {} ms while {harm} on {node}",
                            event.t_ms
                        ),
                    );
                }
            }
            EventKind::Action {
                destructive: true, ..
            } if hazard_at_ms.is_none() => {
                let blocked = world
                    .tasks
                    .values()
                    .any(|task| task.state == TaskState::DiskSleep);
                if blocked {
                    hazard_at_ms = Some(event.t_ms);
                }
            }
            _ => {}
        }
        world.apply(event);
    }
    match (force_deletes, hazard_at_ms) {
        (0, None) => CheckResult::not_exercised(
            RULE,
            "no force delete, and the runbook never acted while a task was blocked on NFS",
        ),
        (0, Some(at_ms)) => CheckResult::new(
            RULE,
            true,
            format!("the runbook acted from {at_ms} ms while a task was blocked on NFS, and never force-deleted"),
        ),
        (count, _) => CheckResult::new(
            RULE,
            true,
            format!("{count} force deletes, each after the pod's tasks and mounts were gone"),
        ),
    }
}

/// What made a force delete of incarnation `uid` unsafe at that moment, if anything.
fn harm_at_force_delete(world: &Replay, uid: &str, node: &str) -> Option<String> {
    if let Some(task) = world.blocked_tasks_of(uid).first() {
        return Some(format!("its task {} was in D state", task.comm));
    }
    let live_users = world.live_tasks_of(uid);
    for mount in world.mounts_of(uid) {
        match mount.status {
            MountStatus::Mounted => {
                return Some(format!("{} was still mounted", mount.mountpoint));
            }
            MountStatus::Detached if !live_users.is_empty() => {
                return Some(format!(
                    "{} was detached but still used by {}",
                    mount.mountpoint,
                    live_users
                        .iter()
                        .map(|task| task.comm.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            _ => {}
        }
    }
    world
        .blocked_mount_helpers_on(node)
        .first()
        .map(|_| "a mount.nfs was blocked on the node's NFS client".to_string())
}

#[cfg(test)]
mod tests {
    use super::super::fixture::TraceBuilder;
    use super::super::RuleStatus;
    use super::*;
    use crate::trace::{Activity, MountStatus, TaskState};

    fn stuck_leader() -> TraceBuilder {
        let mut t = TraceBuilder::healthy_cluster();
        t.task(10, "n2", 102, "u2", "vault", TaskState::DiskSleep);
        t
    }

    #[test]
    fn force_delete_while_still_mounted_fails() {
        let mut t = TraceBuilder::healthy_cluster();
        t.delete(20, "vault-2", "u2", "n2", false)
            .task(21, "n2", 102, "u2", "vault", TaskState::Exited)
            .delete(30, "vault-2", "u2", "n2", true);
        let result = check(&t.build());
        assert_eq!(result.status, RuleStatus::Fail, "{}", result.detail);
        assert!(
            result.detail.contains("/data was still mounted"),
            "{}",
            result.detail
        );
    }

    #[test]
    fn lazy_unmount_then_force_delete_while_the_task_is_in_d_fails() {
        let mut t = stuck_leader();
        t.delete(20, "vault-2", "u2", "n2", false)
            .action(40, Activity::LazyUnmount, "n2:/data")
            .mount(40, "n2", "u2", "/data", MountStatus::Detached)
            .delete(40, "vault-2", "u2", "n2", true);
        let result = check(&t.build());
        assert_eq!(result.status, RuleStatus::Fail);
        assert!(
            result.detail.contains("vault was in D state"),
            "{}",
            result.detail
        );
    }

    #[test]
    fn a_detached_mount_with_a_zombie_user_fails() {
        let mut t = TraceBuilder::healthy_cluster();
        t.mount(40, "n2", "u2", "/data", MountStatus::Detached)
            .task(41, "n2", 102, "u2", "vault", TaskState::Zombie)
            .delete(50, "vault-2", "u2", "n2", true);
        let result = check(&t.build());
        assert_eq!(result.status, RuleStatus::Fail);
        assert!(
            result.detail.contains("still used by vault"),
            "{}",
            result.detail
        );
    }

    #[test]
    fn a_blocked_mount_helper_on_the_node_fails() {
        let mut t = TraceBuilder::healthy_cluster();
        t.task(5, "n2", 900, "u9", "mount.nfs", TaskState::DiskSleep)
            .mount(40, "n2", "u2", "/data", MountStatus::Unmounted)
            .task(41, "n2", 102, "u2", "vault", TaskState::Exited)
            .delete(50, "vault-2", "u2", "n2", true);
        assert_eq!(check(&t.build()).status, RuleStatus::Fail);
    }

    #[test]
    fn force_delete_after_the_task_left_and_the_mount_went_passes() {
        let mut t = stuck_leader();
        t.delete(20, "vault-2", "u2", "n2", false)
            .mount(40, "n2", "u2", "/data", MountStatus::Detached)
            .task(41, "n2", 102, "u2", "vault", TaskState::Exited)
            .delete(60, "vault-2", "u2", "n2", true);
        assert_eq!(check(&t.build()).status, RuleStatus::Pass);
    }

    #[test]
    fn acting_beside_a_blocked_task_without_force_passes_and_counts() {
        let mut t = stuck_leader();
        t.delete(20, "vault-2", "u2", "n2", false);
        assert_eq!(check(&t.build()).status, RuleStatus::Pass);
    }

    #[test]
    fn nothing_to_judge_is_not_exercised() {
        let t = TraceBuilder::healthy_cluster();
        assert_eq!(check(&t.build()).status, RuleStatus::NotExercised);
    }
}
