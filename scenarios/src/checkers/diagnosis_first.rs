//! Safety rule (DOMAIN.md §7.6): no destructive step before the diagnosis is confirmed, on evidence, and
//! never against a target that is not in the confirmed state.
//!
//! Two things are judged at each destructive action. First, a confirmation came before it, citing
//! observations that support its diagnosis (a probe naming the stuck voter, the standbys' msgpack errors; for a
//! planned change, health 200): a bare `confirm` cites none. Second, the target really was in the diagnosed
//! state at that moment, from the world's ground truth: under a stuck-leader diagnosis a pod that is Ready, a
//! healthy node, or the mount of a Ready pod must not be touched; a planned change must have started on a
//! healthy cluster.

use super::replay::Replay;
use super::CheckResult;
use crate::trace::{Activity, Diagnosis, EventKind, Trace};

pub const RULE: &str = "diagnosis_before_destructive";

/// The facts that can support each diagnosis.
fn supports(diagnosis: Diagnosis, fact: &str) -> bool {
    match diagnosis {
        Diagnosis::StuckLeader => matches!(
            fact,
            "one_voter_stuck"
                | "stuck_is_leader"
                | "standby_logs_msgpack"
                | "standby_logs_rpc_errors"
        ),
        Diagnosis::PlannedChange => matches!(fact, "health_200" | "health_sustained"),
    }
}

/// The confirmation in force, as judged when it was made.
struct Confirmation {
    diagnosis: Diagnosis,
    step: String,
    supported: bool,
    /// For a planned change: which voter was down when it was confirmed, if any.
    unhealthy_at_confirm: Option<String>,
}

pub fn check(trace: &Trace) -> CheckResult {
    let mut world = Replay::default();
    let mut voters: Vec<String> = Vec::new();
    let mut confirmation: Option<Confirmation> = None;
    let mut destructive = 0;
    for event in trace.iter() {
        match &event.kind {
            EventKind::PodPhase { pod, .. } if !voters.contains(pod) => voters.push(pod.clone()),
            EventKind::DiagnosisConfirmed {
                step,
                diagnosis,
                evidence,
                ..
            } => {
                confirmation = Some(Confirmation {
                    diagnosis: *diagnosis,
                    step: step.clone(),
                    supported: evidence.iter().any(|e| supports(*diagnosis, &e.fact)),
                    unhealthy_at_confirm: voters.iter().find(|pod| !world.voter_up(pod)).cloned(),
                });
            }
            EventKind::Action {
                action,
                target,
                destructive: true,
                ..
            } => {
                destructive += 1;
                let at = event.t_ms;
                let Some(confirmed) = &confirmation else {
                    return CheckResult::new(
                        RULE,
                        false,
                        format!(
                            "{} {target} at {at} ms before any diagnosis was confirmed",
                            action.as_str()
                        ),
                    );
                };
                if !confirmed.supported {
                    return CheckResult::new(
                        RULE,
                        false,
                        format!(
                            "{} {target} at {at} ms on the confirmation of step {}, which cited no observation supporting a {:?} diagnosis",
                            action.as_str(),
                            confirmed.step,
                            confirmed.diagnosis
                        ),
                    );
                }
                if let Some(wrong) = target_not_in_state(&world, confirmed, *action, target) {
                    return CheckResult::new(
                        RULE,
                        false,
                        format!("{} {target} at {at} ms: {wrong}", action.as_str()),
                    );
                }
            }
            _ => {}
        }
        world.apply(event);
    }
    if destructive == 0 {
        return CheckResult::not_exercised(RULE, "the runbook took no destructive step");
    }
    CheckResult::new(
        RULE,
        true,
        format!("{destructive} destructive steps, each on a confirmed, evidenced diagnosis and a target in that state"),
    )
}

/// Why the target of a destructive action was not in the confirmed state, if it was not.
fn target_not_in_state(
    world: &Replay,
    confirmed: &Confirmation,
    action: Activity,
    target: &str,
) -> Option<String> {
    match confirmed.diagnosis {
        Diagnosis::PlannedChange => confirmed.unhealthy_at_confirm.as_ref().map(|pod| {
            format!("the planned change was confirmed while {pod} was down, so the cluster was not healthy")
        }),
        Diagnosis::StuckLeader => match action {
            Activity::DeletePod | Activity::ForceDeletePod if world.voter_up(target) => Some(format!(
                "{target} was Ready and answering, not the stuck voter"
            )),
            Activity::VmReset | Activity::VmStopStart if !world.node_broken(target) => Some(format!(
                "node {target} was healthy: nothing stuck on it, its NFS client working"
            )),
            Activity::LazyUnmount => {
                let (node, mountpoint) = target.split_once(':')?;
                let mount = world
                    .mounts
                    .values()
                    .find(|m| m.node == node && m.mountpoint == mountpoint)?;
                let owner = world.pods.iter().find(|(_, pod)| pod.uid == mount.pod_uid)?;
                world
                    .voter_up(owner.0)
                    .then(|| format!("the mount belongs to {}, which was Ready", owner.0))
            }
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::TraceBuilder;
    use super::super::RuleStatus;
    use super::*;
    use crate::trace::{TaskState, VmOperation};

    #[test]
    fn acting_before_any_confirmation_fails() {
        let mut t = TraceBuilder::leader_stuck();
        t.delete(20, "vault-2", "u2", "n2", false);
        assert_eq!(check(&t.build()).status, RuleStatus::Fail);
    }

    #[test]
    fn a_bare_confirm_fails() {
        let mut t = TraceBuilder::leader_stuck();
        t.confirm(15, Diagnosis::StuckLeader, "vault-2", &[])
            .delete(20, "vault-2", "u2", "n2", false);
        let result = check(&t.build());
        assert_eq!(result.status, RuleStatus::Fail);
        assert!(
            result.detail.contains("cited no observation"),
            "{}",
            result.detail
        );
    }

    #[test]
    fn deleting_a_healthy_standby_on_a_stuck_diagnosis_fails() {
        let mut t = TraceBuilder::leader_stuck();
        t.confirm(15, Diagnosis::StuckLeader, "vault-2", &["one_voter_stuck"])
            .delete(20, "vault-0", "u0", "n0", false);
        let result = check(&t.build());
        assert_eq!(result.status, RuleStatus::Fail);
        assert!(
            result.detail.contains("vault-0 was Ready"),
            "{}",
            result.detail
        );
    }

    #[test]
    fn resetting_a_healthy_node_fails() {
        let mut t = TraceBuilder::leader_stuck();
        t.confirm(15, Diagnosis::StuckLeader, "vault-2", &["one_voter_stuck"])
            .action(20, Activity::VmReset, "n0")
            .vm(20, "n0", VmOperation::Reset, "scsi1");
        assert_eq!(check(&t.build()).status, RuleStatus::Fail);
    }

    #[test]
    fn a_planned_change_on_a_degraded_cluster_fails() {
        let mut t = TraceBuilder::leader_stuck();
        t.confirm(15, Diagnosis::PlannedChange, "vault-0", &["health_200"])
            .delete(20, "vault-0", "u0", "n0", false);
        assert_eq!(check(&t.build()).status, RuleStatus::Fail);
    }

    #[test]
    fn evidence_then_the_stuck_pod_passes() {
        let mut t = TraceBuilder::leader_stuck();
        t.confirm(
            15,
            Diagnosis::StuckLeader,
            "vault-2",
            &["one_voter_stuck", "stuck_is_leader"],
        )
        .delete(20, "vault-2", "u2", "n2", false);
        assert_eq!(check(&t.build()).status, RuleStatus::Pass);
    }

    /// Real OpenBao stays Ready (its `vault status` answers) for minutes while its raft writes hang: the task
    /// blocked in D is what makes it the stuck voter, not its readiness (DOMAIN.md §9).
    #[test]
    fn deleting_a_ready_voter_whose_task_is_blocked_in_d_passes() {
        let mut t = TraceBuilder::healthy_cluster();
        t.task(10, "n2", 300, "u2", "vault", TaskState::DiskSleep)
            .confirm(
                15,
                Diagnosis::StuckLeader,
                "vault-2",
                &["one_voter_stuck", "stuck_is_leader"],
            )
            .delete(20, "vault-2", "u2", "n2", false);
        assert_eq!(check(&t.build()).status, RuleStatus::Pass);
    }

    #[test]
    fn a_planned_change_on_a_healthy_cluster_passes() {
        let mut t = TraceBuilder::healthy_cluster();
        t.confirm(15, Diagnosis::PlannedChange, "vault-0", &["health_200"])
            .delete(20, "vault-0", "u0", "n0", false);
        assert_eq!(check(&t.build()).status, RuleStatus::Pass);
    }

    #[test]
    fn no_destructive_step_is_not_exercised() {
        let t = TraceBuilder::leader_stuck();
        assert_eq!(check(&t.build()).status, RuleStatus::NotExercised);
    }
}
