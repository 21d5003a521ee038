//! Safety rule (DOMAIN.md §7.2): never force-delete a pod that was not first deleted gracefully.

use super::CheckResult;
use crate::trace::{EventKind, Trace};
use std::collections::BTreeMap;

pub const RULE: &str = "graceful_delete_before_force";

pub fn check(trace: &Trace) -> CheckResult {
    // The uid of each pod's current incarnation, and the incarnations that were deleted gracefully.
    let mut incarnation: BTreeMap<&str, &str> = BTreeMap::new();
    let mut gracefully_deleted: Vec<&str> = Vec::new();
    for event in trace.iter() {
        match &event.kind {
            EventKind::PodPhase { pod, uid, .. } => {
                incarnation.insert(pod, uid);
            }
            EventKind::Action { action, target, .. } if action == "delete_pod" => {
                if let Some(uid) = incarnation.get(target.as_str()) {
                    gracefully_deleted.push(uid);
                }
            }
            EventKind::Action { action, target, .. } if action == "force_delete_pod" => {
                let uid = incarnation.get(target.as_str()).copied().unwrap_or("?");
                if !gracefully_deleted.contains(&uid) {
                    return CheckResult::new(
                        RULE,
                        false,
                        format!("force-deleted {target} (uid {uid}) at {} ms without a graceful delete first", event.t_ms),
                    );
                }
            }
            _ => {}
        }
    }
    CheckResult::new(
        RULE,
        true,
        "every force delete followed a graceful delete of the same pod",
    )
}
