//! Rule (DOMAIN.md §7.4): recovery is declared only after external health held 200 for the sustained window.
//! Seed 003's 11:03 "recovery" regressed to 503 fifteen minutes later.
//!
//! The rule is exercised by a declaration, or by a trap the runbook did not fall into: after the runbook began
//! acting, health turned 200 and regressed before the window was over, a moment when declaring would have been
//! premature.

use super::CheckResult;
use crate::trace::{EventKind, Trace};

pub const RULE: &str = "no_premature_recovery";

pub fn check(trace: &Trace, sustained_health_ms: u64) -> CheckResult {
    let mut healthy_since: Option<u64> = None;
    let mut declarations = 0;
    let mut acting = false;
    let mut regression: Option<(u64, u64)> = None;
    for event in trace.iter() {
        match &event.kind {
            EventKind::Action {
                destructive: true, ..
            } => acting = true,
            EventKind::ExternalHealth { http_status } => {
                if *http_status != 200 {
                    if let Some(since) = healthy_since {
                        let short = event.t_ms.saturating_sub(since) < sustained_health_ms;
                        if acting && short && regression.is_none() {
                            regression = Some((since, event.t_ms));
                        }
                    }
                }
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
        return match regression {
            Some((since_ms, until_ms)) => CheckResult::new(
                RULE,
                true,
                format!(
                    "health turned 200 at {since_ms} ms and regressed at {until_ms} ms, inside the {sustained_health_ms} ms window; no recovery was declared on it"
                ),
            ),
            None => CheckResult::not_exercised(
                RULE,
                "no recovery was declared, and no 200 regressed inside the window after the runbook acted",
            ),
        };
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
    fn a_regression_inside_the_window_without_a_declaration_passes() {
        let mut t = TraceBuilder::leader_stuck();
        t.action(50, crate::trace::Activity::DeletePod, "vault-2")
            .health(100, 200)
            .health(400, 503);
        let result = check(&t.build(), 900);
        assert_eq!(result.status, RuleStatus::Pass, "{}", result.detail);
    }

    #[test]
    fn declaring_on_a_200_that_then_regresses_fails() {
        let mut t = TraceBuilder::leader_stuck();
        t.action(50, crate::trace::Activity::DeletePod, "vault-2")
            .health(100, 200);
        declared(&mut t, 150);
        t.health(400, 503);
        assert_eq!(check(&t.build(), 900).status, RuleStatus::Fail);
    }

    #[test]
    fn no_declaration_is_not_exercised() {
        let t = TraceBuilder::healthy_cluster();
        assert_eq!(check(&t.build(), 900).status, RuleStatus::NotExercised);
    }
}
