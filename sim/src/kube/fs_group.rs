//! The kubelet's fsGroup ownership walk at volume setup, the FailedMount events a long walk reports, and the
//! loop it falls into only when the walk itself fails.
//!
//! With `fsGroupChangePolicy: Always` (what an unset policy means) the kubelet chowns every file of the volume at
//! every mount, so the walk costs the file count times the cost per file. The two minutes of the incident are
//! `podAttachAndMountTimeout` (2m3s) in `WaitForAttachAndMount`: when it passes, the pod sync reports
//! "Unable to attach or mount volumes … timed out waiting for the condition" and retries, while the mount
//! operation, walk included, keeps running (nestedpendingoperations lets no second one start). A long walk
//! therefore ends, late. It starts over only when SetUp returns an error: a metadata call of the walk that
//! fails (`topology.walk_error_mean_interval_ms`, a hypothesis), after the operation's exponential back-off
//! (500 ms, doubling, at most 2m2s). A walk longer than the typical time between errors then rarely finishes:
//! that is the loop of seed 003. `OnRootMismatch` skips the walk when the root already matches, which it does
//! for every volume here: they all went through their first setup before the run.

use crate::world::World;
use firedrill_scenarios::scenario::{FsGroupChangePolicy, Storage};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// nestedpendingoperations' first back-off after a failed operation.
const FIRST_BACKOFF_MS: u64 = 500;
/// nestedpendingoperations' longest back-off (2m2s).
const MAX_BACKOFF_MS: u64 = 122_000;

/// Where a mount's ownership walk stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ownership {
    /// Mounted, the walk not begun.
    Pending,
    /// The walk in progress, or backing off after a failed attempt.
    Walking(Walk),
    /// Ownership applied (or skipped): the container may start.
    Done,
}

/// One volume's walk across its attempts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Walk {
    /// When the pod sync began waiting for the volume; a FailedMount event follows every
    /// `podAttachAndMountTimeout` from here while the volume is not set up.
    pub waiting_since_ms: u64,
    pub timeouts_reported: u64,
    /// Attempts begun, from 1.
    pub attempt: u32,
    pub attempt_started_ms: u64,
    /// When this attempt hits a failing metadata call, if it does before its last file.
    pub fails_at_ms: Option<u64>,
    /// After a failed attempt: when the back-off lets the next one start.
    pub retry_at_ms: Option<u64>,
}

/// How long a full walk of one volume takes.
pub fn walk_ms(world: &World) -> u64 {
    let topology = &world.scenario.topology;
    topology
        .volume_file_count
        .saturating_mul(topology.chown_per_file_us)
        / 1_000
}

/// When attempt `attempt` of incarnation `uid`'s walk, started at `started_ms`, fails: the first failing
/// metadata call, drawn from the seed as a Poisson process with the hypothesis's mean interval, if it comes
/// before the walk's end. NFS volumes only; block storage never fails a walk here.
fn draw_failure(world: &World, uid: &str, attempt: u32, started_ms: u64) -> Option<u64> {
    let mean_ms = world.scenario.topology.walk_error_mean_interval_ms?;
    let storage = world.pods.values().find(|pod| pod.uid == uid)?.storage;
    if storage != Storage::Nfs {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(
        world
            .schedule
            .component_seed(&format!("walk-errors/{uid}/{attempt}")),
    );
    let uniform: f64 = rng.random_range(f64::EPSILON..1.0);
    let after_ms = (-(mean_ms as f64) * uniform.ln()) as u64;
    (after_ms < walk_ms(world)).then(|| started_ms.saturating_add(after_ms))
}

/// The back-off before attempt `attempt + 1`.
fn backoff_ms(attempt: u32) -> u64 {
    FIRST_BACKOFF_MS
        .saturating_mul(1u64 << attempt.saturating_sub(1).min(20))
        .min(MAX_BACKOFF_MS)
}

/// Advances the walk of the pod incarnation's mount and tells whether ownership is done. The start of an attempt
/// is a line of the kubelet's journal; its failures and the FailedMount retry points are the pod's events
/// (`kubectl describe pod`), as upstream reports them.
pub fn settle(world: &mut World, pod_name: &str, mount_index: usize) -> bool {
    let now_ms = world.now_ms();
    let Some(pod) = world.pods.get(pod_name) else {
        return false;
    };
    let (uid, policy) = (pod.uid.clone(), pod.fs_group_change_policy);
    let files = world.scenario.topology.volume_file_count;
    let timeout_ms = world.scenario.topology.pod_attach_and_mount_timeout_ms;
    let walk_ms = walk_ms(world);
    let mut lines = Vec::new();
    let next = match (world.mounts[mount_index].ownership, policy) {
        (Ownership::Done, _) => return true,
        (_, FsGroupChangePolicy::OnRootMismatch) => {
            lines.push(format!(
                "kubelet: pod {uid}: volume root already owned by the fsGroup, skipping the walk (fsGroupChangePolicy=OnRootMismatch)"
            ));
            Ownership::Done
        }
        (Ownership::Pending, FsGroupChangePolicy::Always) if walk_ms == 0 => Ownership::Done,
        (Ownership::Pending, FsGroupChangePolicy::Always) => {
            lines.push(format!(
                "kubelet journal: pod {uid}: applying fsGroup ownership to {files} files (fsGroupChangePolicy=Always), attempt 1"
            ));
            Ownership::Walking(Walk {
                waiting_since_ms: now_ms,
                timeouts_reported: 0,
                attempt: 1,
                attempt_started_ms: now_ms,
                fails_at_ms: draw_failure(world, &uid, 1, now_ms),
                retry_at_ms: None,
            })
        }
        (Ownership::Walking(mut walk), FsGroupChangePolicy::Always) => {
            let mut done = false;
            if let Some(retry_at_ms) = walk.retry_at_ms.filter(|at| now_ms >= *at) {
                walk.attempt += 1;
                walk.attempt_started_ms = retry_at_ms;
                walk.retry_at_ms = None;
                walk.fails_at_ms = draw_failure(world, &uid, walk.attempt, retry_at_ms);
                lines.push(format!(
                    "kubelet journal: pod {uid}: applying fsGroup ownership to {files} files (fsGroupChangePolicy=Always), attempt {}",
                    walk.attempt
                ));
            } else if walk.retry_at_ms.is_none() {
                if let Some(fails_at_ms) = walk.fails_at_ms.filter(|at| now_ms >= *at) {
                    let walked = files.saturating_mul(fails_at_ms - walk.attempt_started_ms)
                        / walk_ms.max(1);
                    let backoff_ms = backoff_ms(walk.attempt);
                    walk.fails_at_ms = None;
                    walk.retry_at_ms = Some(fails_at_ms.saturating_add(backoff_ms));
                    lines.push(format!(
                        "kubelet: pod {uid}: MountVolume.SetUp failed: applying fsGroup ownership: lstat: input/output error after {walked} of {files} files; the walk starts over in {backoff_ms} ms"
                    ));
                } else if now_ms >= walk.attempt_started_ms.saturating_add(walk_ms) {
                    done = true;
                }
            }
            // The pod sync's retry point: an event, and the walk goes on.
            while !done
                && now_ms
                    >= walk.waiting_since_ms.saturating_add(
                        timeout_ms.saturating_mul(walk.timeouts_reported.saturating_add(1)),
                    )
            {
                walk.timeouts_reported += 1;
                let walked = if walk.retry_at_ms.is_some() {
                    0
                } else {
                    files.saturating_mul(now_ms.saturating_sub(walk.attempt_started_ms))
                        / walk_ms.max(1)
                };
                lines.push(format!(
                    "kubelet: pod {uid}: Unable to attach or mount volumes: unmounted volumes=[data]: timed out waiting for the condition; the fsGroup walk goes on ({} of {files} files, attempt {})",
                    walked.min(files),
                    walk.attempt
                ));
            }
            if done {
                Ownership::Done
            } else {
                Ownership::Walking(walk)
            }
        }
    };
    world.mounts[mount_index].ownership = next;
    for line in lines {
        world.log(pod_name, &line);
    }
    next == Ownership::Done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_half_a_second_to_two_minutes_two() {
        assert_eq!(backoff_ms(1), 500);
        assert_eq!(backoff_ms(2), 1_000);
        assert_eq!(backoff_ms(9), 122_000);
        assert_eq!(backoff_ms(40), 122_000);
    }
}
