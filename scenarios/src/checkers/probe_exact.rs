//! Rule: every integrity probe round reports exactly the objects the disk shows the API cannot serve.

use super::CheckResult;
use crate::registry::oracle::UNREACHABLE;
use crate::registry::INTEGRITY_SCANNER;
use crate::trace::{EventKind, Trace};
use std::collections::BTreeSet;

pub fn check(trace: &Trace) -> CheckResult {
    const RULE: &str = "probe_reports_exactly_the_breakage";
    let mut broken: BTreeSet<&str> = BTreeSet::new();
    let mut rounds = 0;
    for event in trace.iter() {
        match &event.kind {
            EventKind::FaultInjected { fault, target, .. } if *fault == UNREACHABLE => {
                broken.insert(target);
            }
            EventKind::FaultHealed { fault, target, .. } if *fault == UNREACHABLE => {
                broken.remove(target.as_str());
            }
            EventKind::RegistryScan {
                scanner,
                findings,
                error,
                ..
            } if scanner == INTEGRITY_SCANNER => {
                rounds += 1;
                if let Some(error) = error {
                    return CheckResult::new(
                        RULE,
                        false,
                        format!("round at {} ms could not walk: {error}", event.t_ms),
                    );
                }
                let reported: BTreeSet<&str> = findings.iter().map(String::as_str).collect();
                if reported != broken {
                    let missed: Vec<_> = broken.difference(&reported).collect();
                    let extra: Vec<_> = reported.difference(&broken).collect();
                    return CheckResult::new(
                        RULE,
                        false,
                        format!(
                            "round at {} ms missed {missed:?} and wrongly reported {extra:?}",
                            event.t_ms
                        ),
                    );
                }
            }
            _ => {}
        }
    }
    if rounds == 0 {
        return CheckResult::new(RULE, false, "the integrity probe never ran");
    }
    CheckResult::new(
        RULE,
        true,
        format!("{rounds} rounds, each reported exactly the broken objects"),
    )
}

#[cfg(test)]
mod tests {
    use super::super::RuleStatus;
    use super::*;

    fn broken(trace: &mut Trace, t_ms: u64, target: &str) {
        trace.push(
            t_ms,
            EventKind::FaultInjected {
                fault: UNREACHABLE,
                target: target.into(),
                detail: String::new(),
            },
        );
    }

    fn round(trace: &mut Trace, t_ms: u64, findings: &[&str]) {
        trace.push(
            t_ms,
            EventKind::RegistryScan {
                scanner: INTEGRITY_SCANNER.into(),
                reported: findings.len() as u64,
                findings: findings.iter().map(|f| f.to_string()).collect(),
                requests: 1,
                latency_ms: 1,
                error: None,
            },
        );
    }

    #[test]
    fn exact_reports_pass_and_a_miss_fails() {
        let mut trace = Trace::default();
        broken(&mut trace, 1, "manifest app@sha256:aa");
        round(&mut trace, 2, &["manifest app@sha256:aa"]);
        assert_eq!(check(&trace).status, RuleStatus::Pass);
        round(&mut trace, 3, &[]);
        assert_eq!(check(&trace).status, RuleStatus::Fail);
    }
}
