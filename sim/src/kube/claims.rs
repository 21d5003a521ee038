//! PersistentVolumeClaims of the StatefulSet, the `kubernetes.io/pvc-protection` finalizer, and the race between
//! the StatefulSet controller and the pvc-protection controller in a storage migration.
//!
//! A migration to new storage deletes the claim `data-<pod>` (it turns Terminating: the finalizer holds it while
//! a scheduled pod uses it) and then the pod. The StatefulSet controller recreates the pod at once. If the old
//! claim still exists, Terminating, the scheduler rejects the pod ("persistentvolumeclaim \"data-<pod>\" is
//! being deleted") and it stays Pending: it never runs on the old claim. Once the pvc-protection controller lets
//! the claim go, the StatefulSet controller creates the pod's missing claim anew from the template, with the
//! new storage, and the pod is scheduled (DOMAIN.md §8; seed 003 saw the race, kubernetes#74374, #89910). The
//! volume's data is taken as copied beforehand.

use super::PodPhase;
use crate::world::World;
use firedrill_scenarios::scenario::Storage;
use firedrill_scenarios::trace::ClaimPhase;
use firedrill_scenarios::EventKind;

/// One claim, `data-<pod>`.
#[derive(Clone, Debug)]
pub struct Claim {
    pub name: String,
    pub storage: Storage,
    /// `kubectl delete pvc` was issued: the claim is Terminating.
    pub deleting: bool,
    /// The `kubernetes.io/pvc-protection` finalizer is present.
    pub protected: bool,
}

pub fn claim_name(pod: &str) -> String {
    format!("data-{pod}")
}

pub fn storage_name(storage: Storage) -> &'static str {
    match storage {
        Storage::Nfs => "nfs",
        Storage::Block => "block",
    }
}

/// Records a claim's state as the API server would show it.
fn record(world: &mut World, claim: &str, state: ClaimPhase, finalizer: bool) {
    world.record(EventKind::ClaimState {
        claim: claim.to_string(),
        state,
        finalizer,
    });
}

/// The claims that exist when the run starts, one per voter, on the topology's storage.
pub fn create_initial(world: &mut World) {
    let storage = world.scenario.topology.storage;
    for pod in world.scenario.voter_names() {
        let name = claim_name(&pod);
        world.claims.insert(
            name.clone(),
            Claim {
                name,
                storage,
                deleting: false,
                protected: true,
            },
        );
    }
}

/// The StatefulSet controller's claim for a pod it creates, or for one of its pods that is Pending: a claim of
/// the pod's name that exists, even Terminating, is left alone; a missing one is created from the
/// volumeClaimTemplate (`createMissingPersistentVolumeClaims`). Only a claim created anew gets the template's
/// storage.
pub fn ensure(world: &mut World, pod: &str) {
    let name = claim_name(pod);
    if world.claims.contains_key(&name) {
        return;
    }
    let topology = &world.scenario.topology;
    let storage = topology.claim_template_storage.unwrap_or(topology.storage);
    world.claims.insert(
        name.clone(),
        Claim {
            name: name.clone(),
            storage,
            deleting: false,
            protected: true,
        },
    );
    record(world, &name, ClaimPhase::Bound, true);
    world.log(
        pod,
        &format!(
            "statefulset-controller: created claim {name} from the template ({})",
            storage_name(storage)
        ),
    );
}

/// The storage of the pod's claim, which the scheduler has checked exists and is not being deleted.
pub fn storage_of(world: &World, pod: &str) -> Storage {
    world
        .claims
        .get(&claim_name(pod))
        .map(|claim| claim.storage)
        .expect("the scheduler places a pod only once its claim exists")
}

/// The pvc-protection controller: a deleted claim that no scheduled pod uses loses its finalizer and goes. A
/// Pending pod does not hold the claim (`podUsesPVC` looks only at pods with a node): the kubelet would refuse
/// to start a pod on a claim being deleted, so the scheduler never places one there.
pub fn release_unused(world: &mut World) {
    let released: Vec<String> = world
        .claims
        .values()
        .filter(|claim| claim.deleting)
        .filter(|claim| {
            !world
                .pods
                .values()
                .any(|pod| claim_name(&pod.name) == claim.name && pod.phase != PodPhase::Pending)
        })
        .map(|claim| claim.name.clone())
        .collect();
    for name in released {
        world.claims.remove(&name);
        record(world, &name, ClaimPhase::Deleted, false);
    }
}

/// `kubectl delete pvc NAME --wait=false`.
pub fn delete_claim(world: &mut World, name: &str) -> Result<(), String> {
    let claim = world
        .claims
        .get_mut(name)
        .ok_or_else(|| format!("persistentvolumeclaims \"{name}\" not found"))?;
    claim.deleting = true;
    let protected = claim.protected;
    if protected {
        record(world, name, ClaimPhase::Terminating, true);
    } else {
        world.claims.remove(name);
        record(world, name, ClaimPhase::Deleted, false);
    }
    Ok(())
}

/// `kubectl patch pvc NAME -p '{"metadata":{"finalizers":null}}'`: a deleted claim goes at once; a pod still
/// running on its volume keeps the volume mounted.
pub fn remove_claim_finalizer(world: &mut World, name: &str) -> Result<(), String> {
    let claim = world
        .claims
        .get_mut(name)
        .ok_or_else(|| format!("persistentvolumeclaims \"{name}\" not found"))?;
    claim.protected = false;
    if claim.deleting {
        world.claims.remove(name);
        record(world, name, ClaimPhase::Deleted, false);
    } else {
        record(world, name, ClaimPhase::Bound, false);
    }
    Ok(())
}
