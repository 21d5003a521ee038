//! Safety rule (DOMAIN.md §7.2): never force-delete a pod incarnation that was not first deleted gracefully.
//!
//! Judged from the deletions the API server recorded, so a renamed verb or an alias cannot hide one.

use super::CheckResult;
use crate::trace::{EventKind, Trace};
use std::collections::BTreeSet;

pub const RULE: &str = "graceful_delete_before_force";

pub fn check(trace: &Trace) -> CheckResult {
    let mut gracefully_deleted: BTreeSet<&str> = BTreeSet::new();
    let mut deletions = 0;
    for event in trace.iter() {
        if let EventKind::PodDeletionRequested {
            pod, uid, force, ..
        } = &event.kind
        {
            deletions += 1;
            if !force {
                gracefully_deleted.insert(uid);
            } else if !gracefully_deleted.contains(uid.as_str()) {
                return CheckResult::new(
                    RULE,
                    false,
                    format!(
                        "force-deleted {pod} (uid {uid}) at {} ms without a graceful delete of that incarnation first",
                        event.t_ms
                    ),
                );
            }
        }
    }
    if deletions == 0 {
        return CheckResult::not_exercised(RULE, "no pod was deleted");
    }
    CheckResult::new(
        RULE,
        true,
        "every force delete followed a graceful delete of the same incarnation",
    )
}

#[cfg(test)]
mod tests {
    use super::super::fixture::TraceBuilder;
    use super::super::RuleStatus;
    use super::*;

    #[test]
    fn force_without_graceful_fails() {
        let mut t = TraceBuilder::healthy_cluster();
        t.delete(10, "vault-2", "u2", "n2", true);
        assert_eq!(check(&t.build()).status, RuleStatus::Fail);
    }

    #[test]
    fn graceful_of_another_incarnation_does_not_count() {
        let mut t = TraceBuilder::healthy_cluster();
        t.delete(10, "vault-2", "u2", "n2", false)
            .delete(50, "vault-2", "u7", "n2", true);
        assert_eq!(check(&t.build()).status, RuleStatus::Fail);
    }

    #[test]
    fn graceful_then_force_passes() {
        let mut t = TraceBuilder::healthy_cluster();
        t.delete(10, "vault-2", "u2", "n2", false)
            .delete(50, "vault-2", "u2", "n2", true);
        assert_eq!(check(&t.build()).status, RuleStatus::Pass);
    }

    #[test]
    fn no_deletion_is_not_exercised() {
        let t = TraceBuilder::healthy_cluster();
        assert_eq!(check(&t.build()).status, RuleStatus::NotExercised);
    }
}
