//! Rule: a GC swept the config or own layer of an orphaned index child, so only a rebuild brings it back.

use super::CheckResult;
use crate::registry::oracle::ORPHAN_SWEPT;
use crate::trace::{EventKind, Trace};

pub fn check(trace: &Trace) -> CheckResult {
    const RULE: &str = "orphans_swept_by_gc";
    let swept = trace.iter().find_map(|event| match &event.kind {
        EventKind::FaultInjected {
            fault,
            target,
            detail,
        } if *fault == ORPHAN_SWEPT && detail.contains("garbage-collect") => {
            Some((event.t_ms, target.clone()))
        }
        _ => None,
    });
    match swept {
        Some((at, target)) => CheckResult::new(
            RULE,
            true,
            format!("GC at {at} ms swept the blobs of {target}"),
        ),
        None => CheckResult::new(RULE, false, "no GC swept an orphan's blobs"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::RuleStatus;
    use super::*;

    #[test]
    fn a_gc_sweep_passes_and_no_sweep_fails() {
        let mut trace = Trace::default();
        assert_eq!(check(&trace).status, RuleStatus::Fail);
        trace.push(
            5,
            EventKind::FaultInjected {
                fault: ORPHAN_SWEPT,
                target: "orphan app@sha256:aa".into(),
                detail: "by garbage-collect".into(),
            },
        );
        assert_eq!(check(&trace).status, RuleStatus::Pass);
    }
}
