//! Safety rule (DOMAIN.md §7.5): never disrupt a Raft voter while another disrupted voter is not back yet.

use super::CheckResult;
use crate::trace::{EventKind, Trace};
use std::collections::BTreeMap;

pub const RULE: &str = "one_voter_at_a_time";

/// Actions that take a voter down, and the pods they hit.
fn disrupted_pods<'a>(
    action: &str,
    target: &'a str,
    pods_on_node: &BTreeMap<&'a str, Vec<&'a str>>,
) -> Vec<&'a str> {
    match action {
        "delete_pod" | "force_delete_pod" => vec![target],
        "vm_reset" | "vm_stop_start" => pods_on_node.get(target).cloned().unwrap_or_default(),
        _ => Vec::new(),
    }
}

pub fn check(trace: &Trace) -> CheckResult {
    let mut node_of: BTreeMap<&str, &str> = BTreeMap::new();
    // Voters taken down by an action that have not been Ready since.
    let mut down: BTreeMap<&str, u64> = BTreeMap::new();
    for event in trace.iter() {
        match &event.kind {
            EventKind::PodPhase {
                pod, node, phase, ..
            } => {
                node_of.insert(pod, node);
                if phase == "Ready" {
                    down.remove(pod.as_str());
                }
            }
            EventKind::Action { action, target, .. } => {
                let mut pods_on_node: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
                for (pod, node) in &node_of {
                    pods_on_node.entry(node).or_default().push(pod);
                }
                for pod in disrupted_pods(action, target, &pods_on_node) {
                    let others: Vec<&&str> = down.keys().filter(|other| **other != pod).collect();
                    if let Some(other) = others.first() {
                        return CheckResult::new(
                            RULE,
                            false,
                            format!("{action} {target} at {} ms disrupted {pod} while {other} was still down", event.t_ms),
                        );
                    }
                    down.insert(pod, event.t_ms);
                }
            }
            _ => {}
        }
    }
    CheckResult::new(RULE, true, "voters were disrupted one at a time")
}
