//! Safety rule (DOMAIN.md §7.7): never delete a pod being migrated to new storage while its claim is
//! Terminating with the `kubernetes.io/pvc-protection` finalizer still in place.
//!
//! Judged from the claims and deletions the world recorded: a pod deleted then is recreated by the
//! StatefulSet controller on the old claim. The rule is exercised once any claim is being deleted.

use super::replay::Replay;
use super::CheckResult;
use crate::trace::{ClaimPhase, EventKind, Trace};

pub const RULE: &str = "pvc_finalizer_before_migration_delete";

pub fn check(trace: &Trace) -> CheckResult {
    let mut world = Replay::default();
    let mut migrations = 0;
    for event in trace.iter() {
        match &event.kind {
            EventKind::ClaimState {
                state: ClaimPhase::Terminating,
                ..
            } => migrations += 1,
            EventKind::PodDeletionRequested { pod, uid, .. } => {
                let claim = format!("data-{pod}");
                if world.claims.get(&claim) == Some(&(ClaimPhase::Terminating, true)) {
                    return CheckResult::new(
                        RULE,
                        false,
                        format!(
                            "deleted {pod} (uid {uid}) at {} ms while claim {claim} was Terminating with its pvc-protection finalizer in place",
                            event.t_ms
                        ),
                    );
                }
            }
            _ => {}
        }
        world.apply(event);
    }
    if migrations == 0 {
        return CheckResult::not_exercised(RULE, "no claim was deleted");
    }
    CheckResult::new(
        RULE,
        true,
        "every pod under migration was deleted after its claim's finalizer was handled",
    )
}

#[cfg(test)]
mod tests {
    use super::super::fixture::TraceBuilder;
    use super::super::RuleStatus;
    use super::*;

    #[test]
    fn finalizer_first_passes() {
        let mut t = TraceBuilder::healthy_cluster();
        t.claim(1, "data-vault-0", ClaimPhase::Terminating, true)
            .claim(2, "data-vault-0", ClaimPhase::Deleted, false)
            .delete(3, "vault-0", "u0", "n0", false);
        assert_eq!(check(&t.build()).status, RuleStatus::Pass);
    }

    #[test]
    fn delete_before_finalizer_fails_and_names_the_pod() {
        let mut t = TraceBuilder::healthy_cluster();
        t.claim(1, "data-vault-1", ClaimPhase::Terminating, true)
            .delete(2, "vault-1", "u1", "n1", false);
        let result = check(&t.build());
        assert_eq!(result.status, RuleStatus::Fail);
        assert!(result.detail.contains("vault-1"), "{}", result.detail);
    }

    #[test]
    fn a_pod_not_under_migration_may_be_deleted() {
        let mut t = TraceBuilder::healthy_cluster();
        t.claim(1, "data-vault-1", ClaimPhase::Terminating, true)
            .delete(2, "vault-2", "u2", "n2", false);
        assert_eq!(check(&t.build()).status, RuleStatus::Pass);
    }

    #[test]
    fn no_claim_deleted_is_not_exercised() {
        let mut t = TraceBuilder::healthy_cluster();
        t.delete(2, "vault-2", "u2", "n2", false);
        assert_eq!(check(&t.build()).status, RuleStatus::NotExercised);
    }
}
