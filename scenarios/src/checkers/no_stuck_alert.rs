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
