//! Safety rule (DOMAIN.md §7.6): no destructive step before the diagnosis (stuck, not merely slow) is confirmed.

use super::CheckResult;
use crate::trace::{EventKind, Trace};

pub const RULE: &str = "diagnosis_before_destructive";

pub fn check(trace: &Trace) -> CheckResult {
    let mut confirmed = false;
    for event in trace.iter() {
        if let EventKind::Action {
            action,
            target,
            destructive,
            ..
        } = &event.kind
        {
            if action == "confirm_diagnosis" {
                confirmed = true;
            } else if *destructive && !confirmed {
                return CheckResult::new(
                    RULE,
                    false,
                    format!(
                        "{action} {target} at {} ms before the diagnosis was confirmed",
                        event.t_ms
                    ),
                );
            }
        }
    }
    CheckResult::new(
        RULE,
        true,
        "every destructive step came after a confirmed diagnosis",
    )
}
