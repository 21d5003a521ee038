//! PersistentVolumeClaims of the StatefulSet, the `kubernetes.io/pvc-protection` finalizer, and the race that
//! brings a migrated pod back on its old claim.
//!
//! A migration to new storage deletes the claim `data-<pod>` (it turns Terminating: the finalizer holds it while
//! a pod uses it) and then the pod. The StatefulSet controller recreates the pod at once, and binds it to any
//! claim of that name that still exists, Terminating or not. Unless the finalizer was patched out first, the
//! claim is still there, so the pod comes back on the old volume (seed 003; kubernetes#74374, #89910). Only a
//! claim created anew gets the template's new storage. The volume's data is taken as copied beforehand.

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

/// The StatefulSet controller's binding for a new pod: the claim of its name if any exists (even Terminating),
/// else a new claim from the volumeClaimTemplate. Returns the storage the pod will mount.
pub fn bind(world: &mut World, pod: &str) -> Storage {
    let name = claim_name(pod);
    if let Some(claim) = world.claims.get(&name) {
        let (storage, deleting) = (claim.storage, claim.deleting);
        if deleting {
            world.log(
                pod,
                &format!(
                    "statefulset-controller: pod {pod} bound to claim {name}, which is Terminating: the old {} volume",
                    storage_name(storage)
                ),
            );
        }
        return storage;
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
    storage
}

/// The pvc-protection controller: a deleted claim that no pod object uses loses its finalizer and goes.
pub fn release_unused(world: &mut World) {
    let released: Vec<String> = world
        .claims
        .values()
        .filter(|claim| claim.deleting)
        .filter(|claim| !world.pods.keys().any(|pod| claim_name(pod) == claim.name))
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
