//! Rule (a control): nothing on disk breaks and the integrity alert never fires.

use super::CheckResult;
use crate::registry::INTEGRITY_ALERT;
use crate::trace::{AlertState, EventKind, Trace};

pub fn check(trace: &Trace) -> CheckResult {
    const RULE: &str = "no_breakage";
    let mut rounds = 0;
    for event in trace.iter() {
        match &event.kind {
            EventKind::RegistryScan { scanner, .. }
                if scanner == crate::registry::INTEGRITY_SCANNER =>
            {
                rounds += 1;
            }
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
    if rounds == 0 {
        // Without a probe round the alert could not have fired: its silence proves nothing.
        return CheckResult::not_exercised(RULE, "the integrity probe never ran");
    }
    CheckResult::new(
        RULE,
        true,
        format!("nothing broke and no alert fired over {rounds} probe rounds"),
    )
}

#[cfg(test)]
mod tests {
    use super::super::RuleStatus;
    use super::*;

    fn round(trace: &mut Trace, t_ms: u64) {
        trace.push(
            t_ms,
            EventKind::RegistryScan {
                scanner: crate::registry::INTEGRITY_SCANNER.into(),
                reported: 0,
                findings: Vec::new(),
                requests: 1,
                latency_ms: 1,
                error: None,
            },
        );
    }

    #[test]
    fn quiet_rounds_pass_a_breakage_fails_and_no_round_is_not_exercised() {
        let mut trace = Trace::default();
        assert_eq!(check(&trace).status, RuleStatus::NotExercised);
        round(&mut trace, 1);
        assert_eq!(check(&trace).status, RuleStatus::Pass);
        trace.push(
            2,
            EventKind::FaultInjected {
                fault: crate::trace::FaultName::Unreachable,
                target: "tag app@latest".into(),
                detail: String::new(),
            },
        );
        assert_eq!(check(&trace).status, RuleStatus::Fail);
    }
}
