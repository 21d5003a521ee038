//! Rule (DOMAIN.md §7.4): recovery is declared only after external health held 200 for the sustained window.
//! Seed 003's 11:03 "recovery" regressed to 503 fifteen minutes later.

use super::CheckResult;
use crate::trace::{EventKind, Trace};

pub const RULE: &str = "no_premature_recovery";

pub fn check(trace: &Trace, sustained_health_ms: u64) -> CheckResult {
    let mut healthy_since: Option<u64> = None;
    let mut declarations = 0;
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
                declarations += 1;
                let held_ms = healthy_since.map(|since| event.t_ms.saturating_sub(since));
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
    if declarations == 0 {
        return CheckResult::not_exercised(RULE, "no recovery was declared");
    }
    CheckResult::new(
        RULE,
        true,
        format!("recovery declared only after {sustained_health_ms} ms of health 200"),
    )
}

#[cfg(test)]
mod tests {
    use super::super::fixture::TraceBuilder;
    use super::super::RuleStatus;
    use super::*;

    fn declared(t: &mut TraceBuilder, t_ms: u64) {
        t.push(t_ms, EventKind::RecoveryDeclared { detail: "d".into() });
    }

    #[test]
    fn declaring_on_the_first_200_fails() {
        let mut t = TraceBuilder::healthy_cluster();
        t.health(100, 503).health(200, 200);
        declared(&mut t, 200);
        assert_eq!(check(&t.build(), 900).status, RuleStatus::Fail);
    }

    #[test]
    fn declaring_after_the_window_passes() {
        let mut t = TraceBuilder::healthy_cluster();
        t.health(100, 503).health(200, 200);
        declared(&mut t, 1_100);
        assert_eq!(check(&t.build(), 900).status, RuleStatus::Pass);
    }

    #[test]
    fn no_declaration_is_not_exercised() {
        let t = TraceBuilder::healthy_cluster();
        assert_eq!(check(&t.build(), 900).status, RuleStatus::NotExercised);
    }
}
