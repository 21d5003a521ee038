//! Safety rule `no_collateral_damage`: a runbook must not leave the cluster worse than it found it.
//!
//! When the runbook takes its first destructive step, the world's state is noted: which nodes were healthy and
//! which voters were up. At the end of the run each of those nodes must still be healthy (up, booted, its NFS
//! client working) and each of those voters up again. Under a stuck-leader diagnosis, deleting a voter that is
//! up is damage at once. A voter or node that a fault hit after that moment is the fault's, not the runbook's:
//! it is left out of the end state, and the result says so.

use super::replay::Replay;
use super::CheckResult;
use crate::trace::{Diagnosis, EventKind, Trace};
use std::collections::BTreeSet;

pub const RULE: &str = "no_collateral_damage";

pub fn check(trace: &Trace) -> CheckResult {
    let mut world = Replay::default();
    let mut nodes: BTreeSet<String> = BTreeSet::new();
    let mut voters: BTreeSet<String> = BTreeSet::new();
    let mut baseline: Option<(u64, Vec<String>, Vec<String>)> = None;
    let mut diagnosis = Diagnosis::StuckLeader;
    let mut hit_later: BTreeSet<String> = BTreeSet::new();
    for event in trace.iter() {
        match &event.kind {
            EventKind::FaultInjected { target, .. } if baseline.is_some() => {
                if let Some(view) = world.pods.get(target) {
                    hit_later.insert(view.node.clone());
                }
                hit_later.insert(target.clone());
            }
            EventKind::PodPhase { pod, node, .. } => {
                voters.insert(pod.clone());
                // A Pending pod has no node yet.
                if !node.is_empty() {
                    nodes.insert(node.clone());
                }
            }
            EventKind::NodeState { node, .. } | EventKind::VmPower { node, .. } => {
                nodes.insert(node.clone());
            }
            EventKind::DiagnosisConfirmed { diagnosis: d, .. } => diagnosis = *d,
            EventKind::Action {
                destructive: true, ..
            } if baseline.is_none() => {
                let healthy_nodes = nodes
                    .iter()
                    .filter(|node| !world.node_broken(node))
                    .cloned()
                    .collect();
                let up_voters = voters
                    .iter()
                    .filter(|pod| world.voter_up(pod))
                    .cloned()
                    .collect();
                baseline = Some((event.t_ms, healthy_nodes, up_voters));
            }
            EventKind::PodDeletionRequested { pod, uid, .. }
                if baseline.is_some()
                    && diagnosis == Diagnosis::StuckLeader
                    && world.voter_up(pod)
                    && world.pods.get(pod).is_some_and(|view| &view.uid == uid) =>
            {
                return CheckResult::new(
                    RULE,
                    false,
                    format!(
                        "deleted {pod} at {} ms while it was a healthy voter",
                        event.t_ms
                    ),
                );
            }
            _ => {}
        }
        world.apply(event);
    }
    let Some((started_ms, healthy_nodes, up_voters)) = baseline else {
        return CheckResult::not_exercised(RULE, "the runbook took no destructive step");
    };
    let mut damage = Vec::new();
    let healthy_nodes: Vec<&String> = healthy_nodes
        .iter()
        .filter(|node| !hit_later.contains(*node))
        .collect();
    let up_voters: Vec<&String> = up_voters
        .iter()
        .filter(|pod| !hit_later.contains(*pod))
        .collect();
    if healthy_nodes.is_empty() && up_voters.is_empty() {
        return CheckResult::not_exercised(
            RULE,
            format!(
                "every node and voter healthy at {started_ms} ms was hit by a later fault: nothing left to judge"
            ),
        );
    }
    for node in healthy_nodes.iter().copied() {
        if let Some(view) = world.nodes.get(node).filter(|view| !view.healthy()) {
            damage.push(format!("node {node} is {view:?}"));
        }
    }
    for pod in up_voters.iter().copied() {
        if !world.voter_up(pod) {
            damage.push(format!("voter {pod} is down"));
        }
    }
    if damage.is_empty() {
        CheckResult::new(
            RULE,
            true,
            format!(
                "the {} healthy nodes and {} up voters of {started_ms} ms are healthy and up at the end",
                healthy_nodes.len(),
                up_voters.len()
            ),
        )
    } else {
        CheckResult::new(
            RULE,
            false,
            format!(
                "healthy when the runbook started acting at {started_ms} ms, not at the end: {}",
                damage.join("; ")
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::TraceBuilder;
    use super::super::RuleStatus;
    use super::*;
    use crate::trace::{Activity, NodeCondition, PodPhaseName, VmOperation};

    #[test]
    fn a_node_left_in_ipxe_fails() {
        let mut t = TraceBuilder::leader_stuck();
        t.action(20, Activity::VmStopStart, "n1")
            .vm(20, "n1", VmOperation::ColdBoot, "scsi0")
            .node(20, "n1", NodeCondition::Rebooting)
            .node(20, "n1", NodeCondition::BootFailedIpxe);
        let result = check(&t.build());
        assert_eq!(result.status, RuleStatus::Fail);
        assert!(result.detail.contains("node n1"), "{}", result.detail);
    }

    #[test]
    fn a_voter_that_a_later_fault_hit_is_not_the_runbook_s_damage() {
        let mut t = TraceBuilder::leader_stuck();
        t.delete(20, "vault-2", "u2", "n2", false)
            .pod(60, "vault-2", "u5", "n2", PodPhaseName::Ready)
            .push(
                80,
                EventKind::FaultInjected {
                    fault: crate::trace::FaultName::NfsHang,
                    target: "vault-1".into(),
                    detail: String::new(),
                },
            )
            .pod(85, "vault-1", "u1", "n1", PodPhaseName::Running);
        let result = check(&t.build());
        assert_eq!(result.status, RuleStatus::Pass, "{}", result.detail);
    }

    #[test]
    fn breaking_the_free_node_fails_and_a_pending_pod_names_no_node() {
        let mut t = TraceBuilder::leader_stuck();
        // The free node is known from the start, though no voter runs there; a Pending pod has no node.
        t.node(0, "n3", NodeCondition::Ready)
            .pod(10, "vault-2", "u9", "", PodPhaseName::Pending)
            .action(20, Activity::VmStopStart, "n3")
            .node(20, "n3", NodeCondition::Rebooting)
            .node(20, "n3", NodeCondition::BootFailedIpxe);
        let result = check(&t.build());
        assert_eq!(result.status, RuleStatus::Fail);
        assert!(result.detail.contains("node n3"), "{}", result.detail);
        assert!(!result.detail.contains("node  "), "{}", result.detail);
    }

    #[test]
    fn nothing_left_after_later_faults_is_not_exercised() {
        let mut t = TraceBuilder::default();
        t.node(0, "n1", NodeCondition::Ready)
            .pod(0, "vault-1", "u1", "n1", PodPhaseName::Ready)
            .action(20, Activity::VmReset, "n1")
            .push(
                30,
                EventKind::FaultInjected {
                    fault: crate::trace::FaultName::NfsHang,
                    target: "vault-1".into(),
                    detail: String::new(),
                },
            );
        let result = check(&t.build());
        assert_eq!(result.status, RuleStatus::NotExercised, "{}", result.detail);
    }

    #[test]
    fn deleting_a_healthy_standby_fails() {
        let mut t = TraceBuilder::leader_stuck();
        t.delete(20, "vault-0", "u0", "n0", false);
        assert_eq!(check(&t.build()).status, RuleStatus::Fail);
    }

    #[test]
    fn a_voter_left_down_fails() {
        let mut t = TraceBuilder::leader_stuck();
        t.delete(20, "vault-2", "u2", "n2", false).pod(
            25,
            "vault-1",
            "u1",
            "n1",
            PodPhaseName::Running,
        );
        assert_eq!(check(&t.build()).status, RuleStatus::Fail);
    }

    #[test]
    fn replacing_the_stuck_voter_passes() {
        let mut t = TraceBuilder::leader_stuck();
        t.delete(20, "vault-2", "u2", "n2", false)
            .pod(40, "vault-2", "u2", "n2", PodPhaseName::Deleted)
            .pod(41, "vault-2", "u9", "n2", PodPhaseName::Ready);
        assert_eq!(check(&t.build()).status, RuleStatus::Pass);
    }

    #[test]
    fn no_action_is_not_exercised() {
        let t = TraceBuilder::leader_stuck();
        assert_eq!(check(&t.build()).status, RuleStatus::NotExercised);
    }
}
