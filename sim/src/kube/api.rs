//! The API-server verbs the runbook uses: graceful delete, force delete, the StatefulSet patch, and the node's
//! `umount -l`.

use super::{MountState, PodPhase, Termination};
use crate::world::World;
use firedrill_scenarios::trace::{MountStatus, NodeCondition, PodPhaseName};
use firedrill_scenarios::EventKind;

/// `kubectl delete pod`: marks the pod Terminating; the kubelet sends TERM, then KILL after the grace period.
pub fn delete_pod(world: &mut World, pod_name: &str) -> Result<(), String> {
    let grace_period_ms = world.scenario.topology.termination_grace_period_ms;
    delete_pod_with_grace(world, pod_name, grace_period_ms)
}

/// A graceful delete with the request's own `gracePeriodSeconds` instead of the pod's.
pub fn delete_pod_with_grace(
    world: &mut World,
    pod_name: &str,
    grace_period_ms: u64,
) -> Result<(), String> {
    let now_ms = world.now_ms();
    let pod = world
        .pods
        .get_mut(pod_name)
        .ok_or_else(|| format!("pods \"{pod_name}\" not found"))?;
    let request = EventKind::PodDeletionRequested {
        pod: pod_name.to_string(),
        uid: pod.uid.clone(),
        node: pod.node.clone(),
        grace_period_ms,
        force: false,
    };
    if pod.termination.is_none() {
        pod.termination = Some(Termination {
            requested_ms: now_ms,
            grace_period_ms,
            term_sent: false,
            kill_sent: false,
        });
        pod.phase = PodPhase::Terminating;
        let (uid, node) = (pod.uid.clone(), pod.node.clone());
        world.record(request);
        world.record(EventKind::PodPhase {
            pod: pod_name.to_string(),
            uid,
            node,
            phase: PodPhase::Terminating.name(),
        });
    } else {
        world.record(request);
    }
    Ok(())
}

/// The eviction API (`kubectl evict`; `kubectl drain` calls it for each pod of the node): a graceful delete that
/// the API server refuses with 429 when it would take the StatefulSet past vault-helm's PodDisruptionBudget
/// (`maxUnavailable`). The budget needs `voters - maxUnavailable` healthy (Ready, not deleting) pods. A Ready
/// pod may go only while more than that are healthy; a pod that is not Ready may go while the budget is met
/// without it (`unhealthyPodEvictionPolicy`'s default, IfHealthyBudget); a Pending or Terminating pod goes
/// without the budget being consulted.
pub fn evict_pod(world: &mut World, pod_name: &str) -> Result<(), String> {
    let pod = world
        .pods
        .get(pod_name)
        .ok_or_else(|| format!("pods \"{pod_name}\" not found"))?;
    if !matches!(pod.phase, PodPhase::Pending | PodPhase::Terminating) {
        let voters = *world.scenario.topology.voters.get_ref() as u64;
        let desired_healthy = voters.saturating_sub(world.scenario.topology.pdb_max_unavailable);
        let healthy = world
            .pods
            .values()
            .filter(|other| other.phase == PodPhase::Ready)
            .count() as u64;
        let allowed = if pod.phase == PodPhase::Ready {
            healthy > desired_healthy
        } else {
            healthy >= desired_healthy
        };
        if !allowed {
            return Err(format!(
                "Cannot evict pod as it would violate the pod's disruption budget. The disruption budget vault needs {desired_healthy} healthy pods and has {healthy} currently"
            ));
        }
    }
    delete_pod(world, pod_name)
}

/// `kubectl delete pod --force --grace-period=0`: the API object goes at once, without waiting for the kubelet,
/// so the StatefulSet may create the replacement at once. The node's kubelet still kills the old containers
/// (`HandlePodRemoves`): a deletion grace of 0 falls back to the spec's grace (`calculateEffectiveGracePeriod`),
/// and tasks in D state stay. Under the incident's hypothesis, doing this while the pod's NFS session is hung
/// corrupts the node's NFSv4.2 client.
pub fn force_delete_pod(world: &mut World, pod_name: &str) -> Result<(), String> {
    let now_ms = world.now_ms();
    let spec_grace_ms = world.scenario.topology.termination_grace_period_ms;
    let mut pod = world
        .pods
        .remove(pod_name)
        .ok_or_else(|| format!("pods \"{pod_name}\" not found"))?;
    // A graceful deletion already under way keeps its clock; otherwise the kubelet starts one now.
    pod.termination.get_or_insert(Termination {
        requested_ms: now_ms,
        grace_period_ms: spec_grace_ms.max(1_000),
        term_sent: false,
        kill_sent: false,
    });
    world.removed_pods.push(pod.clone());
    world.record(EventKind::PodDeletionRequested {
        pod: pod.name.clone(),
        uid: pod.uid.clone(),
        node: pod.node.clone(),
        grace_period_ms: 0,
        force: true,
    });
    world.record(EventKind::PodPhase {
        pod: pod.name.clone(),
        uid: pod.uid.clone(),
        node: pod.node.clone(),
        phase: PodPhaseName::Deleted,
    });
    // The session is held while a mount of the pod is hung and its blocked I/O was not failed, whether the mount
    // is still in the table or lazily detached with a task still blocked on it.
    let session_hung = world
        .mounts
        .iter()
        .any(|mount| mount.pod_uid == pod.uid && mount.hung && !mount.io_failed);
    let nfs_v42 = world.scenario.topology.nfs_version == "4.2";
    if session_hung && nfs_v42 && world.schedule.hypotheses.force_delete_corrupts_nfs_client {
        if let Some(node) = world.nodes.get_mut(&pod.node) {
            if !node.nfs_v42_corrupted {
                node.nfs_v42_corrupted = true;
                world.record(EventKind::NodeState {
                    node: pod.node.clone(),
                    state: NodeCondition::NfsV42ClientCorrupted,
                });
            }
        }
    }
    Ok(())
}

/// `umount -l MOUNTPOINT` on a node.
pub fn lazy_unmount(world: &mut World, node: &str, mountpoint: &str) -> Result<(), String> {
    let releases = world.schedule.hypotheses.lazy_umount_releases_d_state;
    let mount = world
        .mounts
        .iter_mut()
        .find(|mount| {
            mount.node == node
                && mount.mountpoint == mountpoint
                && mount.state == MountState::Mounted
        })
        .ok_or_else(|| format!("umount: {mountpoint}: not mounted"))?;
    mount.state = MountState::Detached;
    if releases && mount.hung {
        mount.io_failed = true;
    }
    let pod_uid = mount.pod_uid.clone();
    world.record(EventKind::MountState {
        node: node.to_string(),
        pod_uid,
        mountpoint: mountpoint.to_string(),
        state: MountStatus::Detached,
    });
    Ok(())
}

/// `umount -f MOUNTPOINT` on a node. `MNT_FORCE` calls `nfs_umount_begin` → `rpc_killall_tasks`: the mount's
/// pending NFS requests fail with EIO, which wakes the tasks blocked on them (a task with SIGKILL pending then
/// dies). The unmount itself then fails with EBUSY while a task still holds the mount; the kubelet's teardown
/// unmounts it once the task is gone. New I/O through the hung session would block again.
pub fn force_unmount(world: &mut World, node: &str, mountpoint: &str) -> Result<(), String> {
    let index = world
        .mounts
        .iter()
        .position(|mount| {
            mount.node == node
                && mount.mountpoint == mountpoint
                && mount.state == MountState::Mounted
        })
        .ok_or_else(|| format!("umount: {mountpoint}: not mounted"))?;
    let mount = &mut world.mounts[index];
    if mount.hung {
        mount.io_failed = true;
    }
    let pod_uid = mount.pod_uid.clone();
    let busy = world
        .processes
        .iter()
        .any(|p| p.pod_uid == pod_uid && p.comm == "vault");
    if busy {
        return Err(format!("umount: {mountpoint}: target is busy"));
    }
    world.mounts.remove(index);
    world.record(EventKind::MountState {
        node: node.to_string(),
        pod_uid,
        mountpoint: mountpoint.to_string(),
        state: MountStatus::Unmounted,
    });
    Ok(())
}

/// `kubectl patch statefulset vault` setting `securityContext.fsGroupChangePolicy`: only pods created after the
/// patch get it (vault-helm's `OnDelete` update strategy), so a pod already looping must be deleted too.
pub fn set_fs_group_change_policy(
    world: &mut World,
    policy: firedrill_scenarios::scenario::FsGroupChangePolicy,
) -> Result<(), String> {
    world.fs_group_change_policy = policy;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use firedrill_scenarios::{catalog, Schedule};

    fn cluster() -> World {
        let scenario = catalog::load("vault-storage-migration").unwrap();
        let schedule = Schedule::draw(&scenario, 1);
        let mut world = World::new(&scenario, &schedule);
        super::super::start_cluster(&mut world);
        for pod in world.pods.values_mut() {
            pod.phase = PodPhase::Ready;
        }
        world
    }

    #[test]
    fn with_every_voter_ready_one_eviction_goes_and_the_next_is_refused() {
        let mut world = cluster();
        assert_eq!(evict_pod(&mut world, "vault-0"), Ok(()));
        assert_eq!(world.pods["vault-0"].phase, PodPhase::Terminating);
        let refused = evict_pod(&mut world, "vault-1").unwrap_err();
        assert!(
            refused.contains("needs 2 healthy pods and has 2 currently"),
            "{refused}"
        );
        assert!(world.pods["vault-1"].termination.is_none());
        // Evicting the pod already going is not a new disruption.
        assert_eq!(evict_pod(&mut world, "vault-0"), Ok(()));
    }

    #[test]
    fn an_unready_pod_goes_while_the_budget_holds_without_it_and_a_pending_one_always() {
        let mut world = cluster();
        world.pods.get_mut("vault-2").unwrap().phase = PodPhase::Running;
        assert_eq!(evict_pod(&mut world, "vault-2"), Ok(()));
        let mut world = cluster();
        world.pods.get_mut("vault-1").unwrap().phase = PodPhase::Running;
        world.pods.get_mut("vault-2").unwrap().phase = PodPhase::Running;
        assert!(
            evict_pod(&mut world, "vault-2").is_err(),
            "1 healthy of 2 needed"
        );
        world.pods.get_mut("vault-2").unwrap().phase = PodPhase::Pending;
        assert_eq!(evict_pod(&mut world, "vault-2"), Ok(()));
    }
}
