//! Safety rule (DOMAIN.md §7.7): never delete a pod being migrated to new storage before its claim's
//! `kubernetes.io/pvc-protection` finalizer is handled.
//!
//! A pod is being migrated once its claim `data-<pod>` was deleted; the finalizer is handled once it was patched
//! out of that claim. A delete of the pod in between lets the StatefulSet controller recreate it on the old claim.

use super::CheckResult;
use crate::trace::{EventKind, Trace};
use std::collections::BTreeSet;

pub const RULE: &str = "pvc_finalizer_before_migration_delete";

pub fn check(trace: &Trace) -> CheckResult {
    // Claims deleted for a migration whose finalizer is still in place.
    let mut pending: BTreeSet<&str> = BTreeSet::new();
    for event in trace.iter() {
        let EventKind::Action {
            action,
            target,
            outcome,
            ..
        } = &event.kind
        else {
            continue;
        };
        match action.as_str() {
            "delete_pvc" if outcome == "ok" => {
                pending.insert(target);
            }
            "remove_pvc_finalizer" if outcome == "ok" => {
                pending.remove(target.as_str());
            }
            "delete_pod" | "force_delete_pod" => {
                let claim = format!("data-{target}");
                if pending.contains(claim.as_str()) {
                    return CheckResult::new(
                        RULE,
                        false,
                        format!(
                            "{action} {target} at {} ms while claim {claim} was being deleted with its pvc-protection finalizer in place",
                            event.t_ms
                        ),
                    );
                }
            }
            _ => {}
        }
    }
    CheckResult::new(
        RULE,
        true,
        "every pod under migration was deleted after its claim's finalizer was handled",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(trace: &mut Trace, t_ms: u64, action: &str, target: &str) {
        trace.push(
            t_ms,
            EventKind::Action {
                step: "s".to_string(),
                action: action.to_string(),
                target: target.to_string(),
                destructive: true,
                outcome: "ok".to_string(),
            },
        );
    }

    #[test]
    fn finalizer_first_passes() {
        let mut trace = Trace::default();
        action(&mut trace, 1, "delete_pvc", "data-vault-0");
        action(&mut trace, 2, "remove_pvc_finalizer", "data-vault-0");
        action(&mut trace, 3, "delete_pod", "vault-0");
        assert!(check(&trace).passed);
    }

    #[test]
    fn delete_before_finalizer_fails_and_names_the_pod() {
        let mut trace = Trace::default();
        action(&mut trace, 1, "delete_pvc", "data-vault-1");
        action(&mut trace, 2, "delete_pod", "vault-1");
        action(&mut trace, 3, "remove_pvc_finalizer", "data-vault-1");
        let result = check(&trace);
        assert!(!result.passed);
        assert!(result.detail.contains("vault-1"), "{}", result.detail);
    }

    #[test]
    fn a_pod_not_under_migration_may_be_deleted() {
        let mut trace = Trace::default();
        action(&mut trace, 1, "delete_pvc", "data-vault-1");
        action(&mut trace, 2, "delete_pod", "vault-2");
        assert!(check(&trace).passed);
    }
}
