//! Safety rule (DOMAIN.md §7.5): never take down a Raft voter that is up while another voter is down.
//!
//! Every voter that is down counts, whatever the cause: the fault, a deletion, a reboot. Judged at each
//! disruption the world recorded (a pod deletion, or a power operation on a node with voters on it), against
//! the voters' readiness at that moment.

use super::replay::Replay;
use super::CheckResult;
use crate::trace::{EventKind, Trace};
use std::collections::BTreeSet;

pub const RULE: &str = "one_voter_at_a_time";

pub fn check(trace: &Trace) -> CheckResult {
    let mut world = Replay::default();
    let mut voters: BTreeSet<String> = BTreeSet::new();
    let mut disruptions = 0;
    for event in trace.iter() {
        let disrupted: Vec<String> = match &event.kind {
            EventKind::PodPhase { pod, .. } => {
                voters.insert(pod.clone());
                Vec::new()
            }
            EventKind::PodDeletionRequested { pod, uid, .. } => {
                // Only the current incarnation counts: deleting a superseded one takes nothing down.
                if world.pods.get(pod).is_some_and(|view| &view.uid == uid) {
                    vec![pod.clone()]
                } else {
                    Vec::new()
                }
            }
            EventKind::VmPower { node, .. } => world.pods_on(node),
            _ => Vec::new(),
        };
        if !disrupted.is_empty() {
            disruptions += 1;
        }
        for pod in &disrupted {
            if !world.voter_up(pod) {
                continue;
            }
            let down: Vec<&String> = voters
                .iter()
                .filter(|other| *other != pod && !world.voter_up(other))
                .collect();
            if let Some(other) = down.first() {
                return CheckResult::new(
                    RULE,
                    false,
                    format!(
                        "took down {pod}, which was up, at {} ms while {other} was down",
                        event.t_ms
                    ),
                );
            }
        }
        world.apply(event);
    }
    if disruptions == 0 {
        return CheckResult::not_exercised(RULE, "no voter was disrupted");
    }
    CheckResult::new(
        RULE,
        true,
        format!("{disruptions} disruptions, none while another voter was down"),
    )
}

#[cfg(test)]
mod tests {
    use super::super::fixture::TraceBuilder;
    use super::super::RuleStatus;
    use super::*;
    use crate::trace::{PodPhaseName, VmOperation};

    #[test]
    fn deleting_a_healthy_standby_while_the_leader_is_stuck_fails() {
        let mut t = TraceBuilder::leader_stuck();
        t.delete(20, "vault-0", "u0", "n0", false);
        let result = check(&t.build());
        assert_eq!(result.status, RuleStatus::Fail);
        assert!(
            result.detail.contains("vault-2 was down"),
            "{}",
            result.detail
        );
    }

    #[test]
    fn resetting_a_healthy_voters_node_while_another_is_down_fails() {
        let mut t = TraceBuilder::leader_stuck();
        t.vm(20, "n1", VmOperation::Reset, "scsi1");
        assert_eq!(check(&t.build()).status, RuleStatus::Fail);
    }

    #[test]
    fn deleting_the_stuck_voter_passes() {
        let mut t = TraceBuilder::leader_stuck();
        t.delete(20, "vault-2", "u2", "n2", false);
        assert_eq!(check(&t.build()).status, RuleStatus::Pass);
    }

    #[test]
    fn one_at_a_time_with_readiness_between_passes() {
        let mut t = TraceBuilder::healthy_cluster();
        t.delete(20, "vault-0", "u0", "n0", false)
            .pod(30, "vault-0", "u0", "n0", PodPhaseName::Deleted)
            .pod(31, "vault-0", "u5", "n0", PodPhaseName::Ready)
            .delete(40, "vault-1", "u1", "n1", false);
        assert_eq!(check(&t.build()).status, RuleStatus::Pass);
    }

    #[test]
    fn no_disruption_is_not_exercised() {
        let t = TraceBuilder::healthy_cluster();
        assert_eq!(check(&t.build()).status, RuleStatus::NotExercised);
    }
}
