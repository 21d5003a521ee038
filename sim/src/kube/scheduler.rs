//! The kube-scheduler for the StatefulSet's pods: the node a new pod goes to, or why it stays Pending.
//!
//! What it filters on is upstream's: the volume-binding plugin rejects a pod whose claim is missing or being
//! deleted ("persistentvolumeclaim %q is being deleted", before any node is tried); a node must be Ready; and
//! vault-helm's required pod anti-affinity on `kubernetes.io/hostname` keeps two voters off one node. Every pod
//! object in the API counts for the anti-affinity, Terminating ones included; a force-deleted pod's leftover
//! containers do not, since the scheduler sees only the API. When more than one node fits, the real scheduler
//! scores them on what else runs there (requests, images), which the drill does not model, and breaks ties at
//! random; here the seed breaks the tie, keyed by the pod incarnation, so a run replays exactly.

use super::claims::claim_name;
use crate::world::World;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Where the scheduler puts a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    Node(String),
    /// No node fits; the message is the scheduler's FailedScheduling event.
    Unschedulable(String),
}

/// Decides the node for pod incarnation `uid` of `pod`, from the world as it stands.
pub fn place(world: &World, pod: &str, uid: &str) -> Placement {
    let nodes = &world.scenario.topology.nodes;
    let claim = claim_name(pod);
    match world.claims.get(&claim) {
        None => {
            return Placement::Unschedulable(format!(
                "0/{} nodes are available: persistentvolumeclaim \"{claim}\" not found.",
                nodes.len()
            ))
        }
        Some(found) if found.deleting => {
            return Placement::Unschedulable(format!(
                "0/{} nodes are available: persistentvolumeclaim \"{claim}\" is being deleted.",
                nodes.len()
            ))
        }
        Some(_) => {}
    }
    let mut not_ready = 0;
    let mut anti_affinity = 0;
    let mut feasible = Vec::new();
    for node in nodes {
        let ready = world.vms.get(node).is_some_and(|vm| vm.node_ready());
        let holds_voter = world
            .pods
            .values()
            .any(|other| other.name != pod && &other.node == node);
        if !ready {
            not_ready += 1;
        } else if holds_voter {
            anti_affinity += 1;
        } else {
            feasible.push(node.clone());
        }
    }
    if feasible.is_empty() {
        let mut reasons = Vec::new();
        if not_ready > 0 {
            reasons.push(format!(
                "{not_ready} node(s) had untolerated taint {{node.kubernetes.io/not-ready: }}"
            ));
        }
        if anti_affinity > 0 {
            reasons.push(format!(
                "{anti_affinity} node(s) didn't match pod anti-affinity rules"
            ));
        }
        return Placement::Unschedulable(format!(
            "0/{} nodes are available: {}.",
            nodes.len(),
            reasons.join(", ")
        ));
    }
    let mut rng =
        ChaCha8Rng::seed_from_u64(world.schedule.component_seed(&format!("scheduler/{uid}")));
    let index = rng.random_range(0..feasible.len());
    Placement::Node(feasible.swap_remove(index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::{Claim, Pod, PodPhase};
    use firedrill_scenarios::scenario::{FsGroupChangePolicy, Storage};
    use firedrill_scenarios::{catalog, Schedule};

    fn world(seed: u64) -> World {
        let scenario = catalog::load("vault-stuck-leader").unwrap();
        let schedule = Schedule::draw(&scenario, seed);
        let mut world = World::new(&scenario, &schedule);
        crate::kube::start_cluster(&mut world);
        world
    }

    fn remove_pod(world: &mut World, pod: &str) {
        world.pods.remove(pod);
    }

    #[test]
    fn a_replacement_goes_to_its_old_node_or_the_free_one_as_the_seed_breaks_the_tie() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..40 {
            let mut w = world(seed);
            assert_eq!(w.scenario.topology.nodes.len(), 4, "the seed's four nodes");
            let old_node = w.pods["vault-2"].node.clone();
            remove_pod(&mut w, "vault-2");
            let Placement::Node(node) = place(&w, "vault-2", "vault-2-uid9") else {
                panic!("a node fits");
            };
            assert!(node == old_node || node == "k8s-node4", "{node}");
            assert_eq!(
                place(&w, "vault-2", "vault-2-uid9"),
                Placement::Node(node.clone())
            );
            seen.insert(node);
        }
        assert_eq!(
            seen.len(),
            2,
            "both nodes are chosen over 40 seeds: {seen:?}"
        );
    }

    #[test]
    fn anti_affinity_counts_terminating_pods_and_no_fitting_node_leaves_the_pod_pending() {
        let mut w = world(1);
        // A fourth voter fills the free node; the pod for a fifth finds no node without a voter.
        w.pods.insert(
            "vault-3".into(),
            Pod {
                name: "vault-3".into(),
                uid: "vault-3-uid8".into(),
                node: "k8s-node4".into(),
                phase: PodPhase::Terminating,
                created_ms: 0,
                termination: None,
                container_started: true,
                fs_group_change_policy: FsGroupChangePolicy::Always,
                storage: Storage::Nfs,
            },
        );
        w.claims.insert(
            "data-vault-4".into(),
            Claim {
                name: "data-vault-4".into(),
                storage: Storage::Nfs,
                deleting: false,
                protected: true,
            },
        );
        assert_eq!(
            place(&w, "vault-4", "vault-4-uid9"),
            Placement::Unschedulable(
                "0/4 nodes are available: 4 node(s) didn't match pod anti-affinity rules.".into()
            )
        );
    }

    #[test]
    fn a_claim_being_deleted_rejects_the_pod_before_any_node_is_tried() {
        let mut w = world(1);
        remove_pod(&mut w, "vault-0");
        w.claims.get_mut("data-vault-0").unwrap().deleting = true;
        assert_eq!(
            place(&w, "vault-0", "vault-0-uid9"),
            Placement::Unschedulable(
                "0/4 nodes are available: persistentvolumeclaim \"data-vault-0\" is being deleted."
                    .into()
            )
        );
    }
}
