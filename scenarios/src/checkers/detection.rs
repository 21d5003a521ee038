//! Rule: the stuck-leader alert fires within the expected time of the fault's onset.

use super::CheckResult;
use crate::trace::{AlertState, EventKind, Trace};

/// The alert that seed 000 wished it had: a voter accepts connections but answers nothing.
pub const STUCK_ALERT: &str = "VaultRaftLeaderStuck";

/// The alerts that count as detection: the Vault stuck-leader alert and the registry integrity alert.
const DETECTION_ALERTS: [&str; 2] = [STUCK_ALERT, crate::registry::INTEGRITY_ALERT];

/// When a detection alert (the stuck-leader or the registry integrity alert) first fired at or after `onset_ms`.
pub fn detected_at_ms(trace: &Trace, onset_ms: Option<u64>) -> Option<u64> {
    let onset_ms = onset_ms?;
    trace.iter().find_map(|event| match &event.kind {
        EventKind::Alert { name, state, .. }
            if DETECTION_ALERTS.contains(&name.as_str())
                && *state == AlertState::Firing
                && event.t_ms >= onset_ms =>
        {
            Some(event.t_ms)
        }
        _ => None,
    })
}

pub fn check(trace: &Trace, onset_ms: Option<u64>, within_ms: u64) -> CheckResult {
    const RULE: &str = "detected_within";
    let Some(onset) = onset_ms else {
        return CheckResult::not_exercised(
            RULE,
            "no fault was injected, so nothing could be detected",
        );
    };
    match detected_at_ms(trace, onset_ms) {
        Some(at) if at - onset <= within_ms => CheckResult::new(
            RULE,
            true,
            format!("detected {} ms after onset", at - onset),
        ),
        Some(at) => CheckResult::new(
            RULE,
            false,
            format!(
                "detected {} ms after onset, allowed {within_ms} ms",
                at - onset
            ),
        ),
        None => CheckResult::new(RULE, false, format!("{STUCK_ALERT} never fired")),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::TraceBuilder;
    use super::super::RuleStatus;
    use super::*;

    fn alert(t: &mut TraceBuilder, at: u64) {
        t.push(
            at,
            EventKind::Alert {
                name: STUCK_ALERT.into(),
                state: AlertState::Firing,
                detail: String::new(),
            },
        );
    }

    #[test]
    fn an_alert_in_time_passes_and_a_late_one_fails() {
        let mut t = TraceBuilder::healthy_cluster();
        alert(&mut t, 130);
        assert_eq!(check(&t.build(), Some(100), 50).status, RuleStatus::Pass);
        assert_eq!(check(&t.build(), Some(100), 10).status, RuleStatus::Fail);
    }

    #[test]
    fn no_alert_fails_and_no_fault_is_not_exercised() {
        let t = TraceBuilder::healthy_cluster();
        assert_eq!(check(&t.build(), Some(100), 50).status, RuleStatus::Fail);
        assert_eq!(check(&t.build(), None, 50).status, RuleStatus::NotExercised);
    }
}
