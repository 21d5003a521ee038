//! Rule (control): the stuck-leader alert never fires. A probe that always alerts fails here.

use super::{detection::STUCK_ALERT, CheckResult};
use crate::trace::{AlertState, EventKind, Trace};

pub fn check(trace: &Trace) -> CheckResult {
    let fired = trace.iter().find(|event| {
        matches!(&event.kind, EventKind::Alert { name, state: AlertState::Firing, .. } if name == STUCK_ALERT)
    });
    match fired {
        None => CheckResult::new("no_stuck_alert", true, format!("{STUCK_ALERT} never fired")),
        Some(event) => CheckResult::new(
            "no_stuck_alert",
            false,
            format!("{STUCK_ALERT} fired at {} ms", event.t_ms),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture::TraceBuilder;
    use super::super::RuleStatus;
    use super::*;

    #[test]
    fn silence_passes_and_an_alert_fails() {
        let mut t = TraceBuilder::healthy_cluster();
        assert_eq!(check(&t.build()).status, RuleStatus::Pass);
        t.push(
            50,
            EventKind::Alert {
                name: STUCK_ALERT.into(),
                state: AlertState::Firing,
                detail: String::new(),
            },
        );
        assert_eq!(check(&t.build()).status, RuleStatus::Fail);
    }
}
