//! Rule (control): the runbook takes no destructive action, because nothing is stuck.

use super::CheckResult;
use crate::trace::{EventKind, Trace};

pub fn check(trace: &Trace) -> CheckResult {
    let destructive: Vec<String> = trace
        .iter()
        .filter_map(|event| match &event.kind {
            EventKind::Action {
                action,
                target,
                destructive: true,
                ..
            } => Some(format!("{} {target} at {} ms", action.as_str(), event.t_ms)),
            _ => None,
        })
        .collect();
    if destructive.is_empty() {
        CheckResult::new("no_destructive_action", true, "no destructive action")
    } else {
        CheckResult::new("no_destructive_action", false, destructive.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::TraceBuilder;
    use super::super::RuleStatus;
    use super::*;
    use crate::trace::Activity;

    #[test]
    fn observing_passes_and_acting_fails() {
        let mut t = TraceBuilder::healthy_cluster();
        t.action(10, Activity::ProbeVoters, "");
        assert_eq!(check(&t.build()).status, RuleStatus::Pass);
        t.action(20, Activity::DeletePod, "vault-0");
        assert_eq!(check(&t.build()).status, RuleStatus::Fail);
    }
}
