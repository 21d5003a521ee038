//! The readiness probe of vault-helm's chart: `vault status` every 5 s, a 3 s timeout, and two consecutive
//! failures before the pod turns NotReady (one success makes it Ready).

use super::PodPhase;
use crate::world::World;

/// `readinessProbe.periodSeconds` (and `initialDelaySeconds`) in vault-helm.
const PERIOD_MS: u64 = 5_000;
/// `readinessProbe.failureThreshold` in vault-helm.
const FAILURE_THRESHOLD: u32 = 2;

/// One pod incarnation's readiness probe.
#[derive(Clone, Debug, Default)]
pub struct ReadinessProbe {
    next_probe_ms: u64,
    consecutive_failures: u32,
}

/// Runs the pod's probe when it is due and sets the phase it implies. `vault status` succeeds within its 3 s
/// timeout when Vault is unsealed and not waiting for its core lock behind a write stuck in the kernel; a slow
/// write delays it by less than that, a stuck one for ever.
pub fn update(world: &mut World, name: &str) {
    let Some(pod) = world.pods.get(name) else {
        return;
    };
    if !matches!(pod.phase, PodPhase::Running | PodPhase::Ready) {
        return;
    }
    // No kubelet runs on a node whose VM is down, and its containers are gone with the guest.
    if world.vms.get(&pod.node).is_some_and(|vm| !vm.node_ready()) {
        super::kubelet::set_phase(world, name, PodPhase::Running);
        return;
    }
    let uid = pod.uid.clone();
    let now_ms = world.now_ms();
    let answering = world
        .vaults
        .get(name)
        .is_some_and(|view| view.uid == uid && view.is_answering());
    let probe = world
        .readiness
        .entry(uid)
        .or_insert_with(|| ReadinessProbe {
            next_probe_ms: now_ms + PERIOD_MS,
            consecutive_failures: 0,
        });
    if now_ms < probe.next_probe_ms {
        return;
    }
    probe.next_probe_ms = now_ms + PERIOD_MS;
    let phase = if answering {
        probe.consecutive_failures = 0;
        PodPhase::Ready
    } else {
        probe.consecutive_failures += 1;
        if probe.consecutive_failures < FAILURE_THRESHOLD
            && pod_phase(world, name) == PodPhase::Ready
        {
            return;
        }
        PodPhase::Running
    };
    super::kubelet::set_phase(world, name, phase);
}

fn pod_phase(world: &World, name: &str) -> PodPhase {
    world
        .pods
        .get(name)
        .map(|pod| pod.phase)
        .unwrap_or(PodPhase::Running)
}
