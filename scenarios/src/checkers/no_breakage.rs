//! Rule (a control): nothing on disk breaks and the integrity alert never fires.

use super::CheckResult;
use crate::registry::INTEGRITY_ALERT;
use crate::trace::{AlertState, EventKind, Trace};

pub fn check(trace: &Trace) -> CheckResult {
    const RULE: &str = "no_breakage";
    for event in trace.iter() {
        match &event.kind {
            EventKind::FaultInjected { fault, target, .. } => {
                return CheckResult::new(
                    RULE,
                    false,
                    format!("{fault:?} {target} at {} ms", event.t_ms),
                );
            }
            EventKind::Alert { name, state, .. }
                if name == INTEGRITY_ALERT && *state == AlertState::Firing =>
            {
                return CheckResult::new(
                    RULE,
                    false,
                    format!("{INTEGRITY_ALERT} fired at {} ms", event.t_ms),
                );
            }
            _ => {}
        }
    }
    CheckResult::new(RULE, true, "nothing broke and no alert fired")
}
