//! Rule: the registry integrity alert fires within the expected time of the first breakage.

use super::{detected_at_ms, CheckResult};
use crate::registry::INTEGRITY_ALERT;
use crate::trace::Trace;

pub fn check(trace: &Trace, onset_ms: Option<u64>, within_ms: u64) -> CheckResult {
    const RULE: &str = "detected_within";
    let Some(onset) = onset_ms else {
        return CheckResult::not_exercised(RULE, "nothing broke, so nothing could be detected");
    };
    match detected_at_ms(trace, onset_ms) {
        Some(at) if at - onset <= within_ms => CheckResult::new(
            RULE,
            true,
            format!(
                "{INTEGRITY_ALERT} fired {} ms after the breakage",
                at - onset
            ),
        ),
        Some(at) => CheckResult::new(
            RULE,
            false,
            format!(
                "{INTEGRITY_ALERT} fired {} ms after the breakage, allowed {within_ms} ms",
                at - onset
            ),
        ),
        None => CheckResult::new(RULE, false, format!("{INTEGRITY_ALERT} never fired")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::RuleStatus;
    use super::*;
    use crate::trace::{AlertState, EventKind};

    #[test]
    fn the_alert_in_time_passes_never_fails_and_no_breakage_is_not_exercised() {
        let mut trace = Trace::default();
        assert_eq!(check(&trace, None, 10).status, RuleStatus::NotExercised);
        assert_eq!(check(&trace, Some(1), 10).status, RuleStatus::Fail);
        trace.push(
            5,
            EventKind::Alert {
                name: INTEGRITY_ALERT.into(),
                state: AlertState::Firing,
                detail: String::new(),
            },
        );
        assert_eq!(check(&trace, Some(1), 10).status, RuleStatus::Pass);
        assert_eq!(check(&trace, Some(1), 2).status, RuleStatus::Fail);
    }
}
