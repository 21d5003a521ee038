//! Rule (DOMAIN.md §7.4): recovery is declared only after external health held 200 for the sustained window.
//! Seed 003's 11:03 "recovery" regressed to 503 fifteen minutes later.

use super::CheckResult;
use crate::trace::{EventKind, Trace};

pub const RULE: &str = "no_premature_recovery";

pub fn check(trace: &Trace, sustained_health_ms: u64) -> CheckResult {
    let mut healthy_since: Option<u64> = None;
    for event in trace.iter() {
        match &event.kind {
            EventKind::ExternalHealth { http_status } => {
                healthy_since = if *http_status == 200 {
                    Some(healthy_since.unwrap_or(event.t_ms))
                } else {
                    None
                };
            }
            EventKind::RecoveryDeclared { .. } => {
                let held_ms = healthy_since.map(|since| event.t_ms - since);
                if held_ms.is_none_or(|held| held < sustained_health_ms) {
                    return CheckResult::new(
                        RULE,
                        false,
                        format!(
                            "recovery declared at {} ms after health held 200 for {} ms; the window is {sustained_health_ms} ms",
                            event.t_ms,
                            held_ms.unwrap_or(0)
                        ),
                    );
                }
            }
            _ => {}
        }
    }
    CheckResult::new(
        RULE,
        true,
        format!("no recovery declared before {sustained_health_ms} ms of health 200"),
    )
}
