//! The kubelet's fsGroup ownership walk at volume setup, and the loop it falls into when the walk outlasts the deadline.
//!
//! With `fsGroupChangePolicy: Always` (what an unset policy means) the kubelet chowns every file of the volume at
//! every mount, so the walk costs the file count times the cost per file. On NFS with `retrans=3,timeo=30` and a
//! large audit log the walk outlasted the kubelet's volume-setup deadline: the setup failed, started over, and
//! never finished, so the pod stayed ContainerCreating (seed 003). `OnRootMismatch` skips the walk when the root
//! already matches, which it does for every volume here: they all went through their first setup before the run.

use crate::world::World;
use firedrill_scenarios::scenario::FsGroupChangePolicy;

/// Where a mount's ownership walk stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// Mounted, the walk not begun.
    Pending,
    /// The walk in progress; `attempt` counts the setups begun for this mount, from 1.
    Walking { started_ms: u64, attempt: u32 },
    /// Ownership applied (or skipped): the container may start.
    Done,
}

/// How long a full walk of one volume takes.
pub fn walk_ms(world: &World) -> u64 {
    let topology = &world.scenario.topology;
    topology
        .volume_file_count
        .saturating_mul(topology.chown_per_file_us)
        / 1_000
}

/// Advances the walk of the pod incarnation's mount and tells whether ownership is done. A walk that outlasts
/// the deadline fails with the kubelet's error and starts over from the first file.
pub fn settle(world: &mut World, pod_name: &str, mount_index: usize) -> bool {
    let now_ms = world.now_ms();
    let Some(pod) = world.pods.get(pod_name) else {
        return false;
    };
    let (uid, policy) = (pod.uid.clone(), pod.fs_group_change_policy);
    let files = world.scenario.topology.volume_file_count;
    let deadline_ms = world.scenario.topology.volume_setup_deadline_ms;
    let walk_ms = walk_ms(world);
    let state = world.mounts[mount_index].ownership;
    let (next, line) = match (state, policy) {
        (Ownership::Done, _) => return true,
        (_, FsGroupChangePolicy::OnRootMismatch) => (
            Ownership::Done,
            Some(format!(
                "kubelet: pod {uid}: volume root already owned by the fsGroup, skipping the walk (fsGroupChangePolicy=OnRootMismatch)"
            )),
        ),
        (Ownership::Pending, FsGroupChangePolicy::Always) if walk_ms == 0 => (Ownership::Done, None),
        (Ownership::Pending, FsGroupChangePolicy::Always) => (
            Ownership::Walking {
                started_ms: now_ms,
                attempt: 1,
            },
            Some(format!(
                "kubelet: pod {uid}: applying fsGroup ownership to {files} files (fsGroupChangePolicy=Always), attempt 1"
            )),
        ),
        (
            Ownership::Walking {
                started_ms,
                attempt,
            },
            FsGroupChangePolicy::Always,
        ) => {
            if walk_ms <= deadline_ms && now_ms >= started_ms.saturating_add(walk_ms) {
                (Ownership::Done, None)
            } else if now_ms >= started_ms.saturating_add(deadline_ms) {
                let walked = files * deadline_ms / walk_ms.max(1);
                (
                    Ownership::Walking {
                        started_ms: now_ms,
                        attempt: attempt + 1,
                    },
                    Some(format!(
                        "kubelet: pod {uid}: MountVolume.SetUp failed: applying fsGroup ownership walked {walked} of {files} files: context deadline exceeded; chown loop, attempt {}",
                        attempt + 1
                    )),
                )
            } else {
                return false;
            }
        }
    };
    world.mounts[mount_index].ownership = next;
    if let Some(line) = line {
        world.log(pod_name, &line);
    }
    next == Ownership::Done
}
