//! The seed's topology (DOMAIN.md §8): four nodes, vault-helm's pod anti-affinity on the hostname, so a
//! replacement pod may land on the free node; the ground-truth events name the node each incarnation really ran
//! on, so the rules judge the right node; and the PodDisruptionBudget (maxUnavailable 1) that the eviction API
//! enforces.

use firedrill_scenarios::runbook::RunbookFile;
use firedrill_scenarios::trace::{Activity, PodPhaseName};
use firedrill_scenarios::{catalog, EventKind, Trace, Verdict};
use std::collections::BTreeMap;
use std::path::Path;

/// The node the replacement of the first pod deleted was scheduled on.
fn replacement_node(trace: &Trace) -> Option<String> {
    let deleted = trace.iter().find_map(|e| match &e.kind {
        EventKind::PodDeletionRequested { pod, uid, .. } => Some((pod.clone(), uid.clone())),
        _ => None,
    })?;
    trace.iter().find_map(|e| match &e.kind {
        EventKind::PodPhase {
            pod,
            uid,
            node,
            phase: PodPhaseName::ContainerCreating,
        } if *pod == deleted.0 && *uid != deleted.1 => Some(node.clone()),
        _ => None,
    })
}

#[test]
fn a_replacement_lands_on_the_free_node_or_its_old_one_and_every_event_names_the_node_it_ran_on() {
    // With the seed's `umount -l`, the stuck pod's deletion completes only when its node reboots, so its
    // replacement always meets the old node not Ready. `umount -f` frees the blocked thread at once, so the
    // replacement is created while both the old node and the free one can take it.
    let mut scenario = catalog::load("vault-node-nfs-stuck").unwrap();
    let text = catalog::RUNBOOKS
        .iter()
        .find(|(name, _)| *name == "vault-safe-restart")
        .unwrap()
        .1
        .replace("do = \"lazy_unmount\"", "do = \"force_unmount\"");
    scenario.runbook = Some(RunbookFile::parse(Path::new("umount-f.toml"), &text).unwrap());
    let mut placements = BTreeMap::new();
    for seed in 0..12 {
        let outcome = firedrill_sim::run(&scenario, seed);
        let verdict = Verdict::judge(&scenario, seed, &outcome.trace, outcome.wall_ms);
        assert!(verdict.passed(), "seed {seed}: {:?}", verdict.checks);
        let node = replacement_node(&outcome.trace).expect("the stuck pod is replaced");
        *placements.entry(node == "k8s-node4").or_insert(0) += 1;
        // Anti-affinity: no two incarnations in the API share a node at any instant.
        let mut on_node: BTreeMap<String, (String, String)> = BTreeMap::new();
        let mut node_of_uid: BTreeMap<String, String> = BTreeMap::new();
        for event in outcome.trace.iter() {
            match &event.kind {
                EventKind::PodPhase {
                    pod,
                    uid,
                    node,
                    phase,
                } => {
                    on_node.retain(|_, (other_pod, _)| other_pod != pod);
                    if *phase != PodPhaseName::Deleted && !node.is_empty() {
                        if let Some((other, _)) = on_node.get(node) {
                            panic!("seed {seed}: {pod} and {other} both on {node}");
                        }
                        on_node.insert(node.clone(), (pod.clone(), uid.clone()));
                        node_of_uid.insert(uid.clone(), node.clone());
                    }
                }
                // Deletions, tasks and mounts carry the node their incarnation was scheduled on.
                EventKind::PodDeletionRequested { uid, node, .. }
                | EventKind::ProcessState {
                    pod_uid: uid, node, ..
                }
                | EventKind::MountState {
                    pod_uid: uid, node, ..
                } if node_of_uid.contains_key(uid) => {
                    assert_eq!(&node_of_uid[uid], node, "seed {seed}: {:?}", event);
                }
                _ => {}
            }
        }
    }
    assert_eq!(
        placements.len(),
        2,
        "over 12 seeds the replacement goes to the free node and to its old one: {placements:?}"
    );
}

/// The unsafe runbook that disrupts two voters at once, with the eviction API instead of a plain delete.
fn evicting_two_voters() -> RunbookFile {
    let (_, source) = catalog::RUNBOOKS
        .iter()
        .find(|(name, _)| *name == "unsafe/delete-two-voters")
        .unwrap();
    let edited = source.replace("do = \"delete_pod\"", "do = \"evict_pod\"");
    assert_eq!(edited.matches("evict_pod").count(), 2);
    RunbookFile::parse(Path::new("evict-two-voters.toml"), &edited).unwrap()
}

#[test]
fn the_disruption_budget_refuses_the_second_eviction_so_only_one_voter_goes() {
    let mut scenario = catalog::load("vault-stuck-leader").unwrap();
    scenario.runbook = Some(evicting_two_voters());
    for seed in [1, 7, 42] {
        let outcome = firedrill_sim::run(&scenario, seed);
        let verdict = Verdict::judge(&scenario, seed, &outcome.trace, outcome.wall_ms);
        let one_voter = verdict
            .checks
            .iter()
            .find(|check| check.rule == "one_voter_at_a_time")
            .unwrap();
        assert_eq!(
            one_voter.status,
            firedrill_scenarios::checkers::RuleStatus::Pass,
            "seed {seed}: {one_voter:?}"
        );
        // What the API server answered each eviction: the runbook records "requested" first, then a failure.
        let mut evictions: Vec<(bool, String)> = Vec::new();
        for event in outcome.trace.iter() {
            if let EventKind::Action {
                action: Activity::EvictPod,
                ok,
                outcome,
                ..
            } = &event.kind
            {
                if outcome == "requested" {
                    evictions.push((true, outcome.clone()));
                } else if let Some(last) = evictions.last_mut() {
                    *last = (*ok, outcome.clone());
                }
            }
        }
        assert_eq!(evictions.len(), 2, "seed {seed}: {evictions:?}");
        // The stuck leader is not Ready, and the budget holds without it: it goes.
        assert!(evictions[0].0, "seed {seed}: {evictions:?}");
        assert!(!evictions[1].0, "seed {seed}: {evictions:?}");
        assert!(
            evictions[1]
                .1
                .contains("Cannot evict pod as it would violate the pod's disruption budget"),
            "seed {seed}: {evictions:?}"
        );
        let deletions = outcome
            .trace
            .iter()
            .filter(|e| matches!(e.kind, EventKind::PodDeletionRequested { .. }))
            .count();
        assert_eq!(
            deletions, 1,
            "seed {seed}: only the stuck voter was deleted"
        );
    }
}
