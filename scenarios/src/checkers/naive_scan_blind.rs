//! Rule: the seed's "live proof": at one probe round, the naive scan reports no missing index child while the
//! integrity probe finds orphaned children (it may still report `_layers` links whose data GC swept).

use super::CheckResult;
use crate::registry::{INTEGRITY_SCANNER, NAIVE_SCANNER};
use crate::trace::{EventKind, Trace};

pub fn check(trace: &Trace) -> CheckResult {
    const RULE: &str = "naive_scan_blind_to_orphans";
    let mut naive_reported: Option<u64> = None;
    for event in trace.iter() {
        let EventKind::RegistryScan {
            scanner, findings, ..
        } = &event.kind
        else {
            continue;
        };
        if scanner == NAIVE_SCANNER {
            naive_reported = Some(count(findings, "missing-child "));
        } else if scanner == INTEGRITY_SCANNER {
            // The naive scan of the same round runs just before the walk.
            let orphans = count(findings, "manifest ");
            if naive_reported == Some(0) && orphans > 0 {
                return CheckResult::new(
                    RULE,
                    true,
                    format!(
                        "at {} ms the naive scan reported 0 missing children while the probe found {orphans} orphans",
                        event.t_ms
                    ),
                );
            }
            naive_reported = None;
        }
    }
    CheckResult::new(
        RULE,
        false,
        "no round had the naive scan at 0 missing children while the probe found orphans",
    )
}

fn count(findings: &[String], prefix: &str) -> u64 {
    findings.iter().filter(|f| f.starts_with(prefix)).count() as u64
}

#[cfg(test)]
mod tests {
    use super::super::RuleStatus;
    use super::*;

    fn scan(trace: &mut Trace, t_ms: u64, scanner: &str, findings: &[&str]) {
        trace.push(
            t_ms,
            EventKind::RegistryScan {
                scanner: scanner.into(),
                reported: findings.len() as u64,
                findings: findings.iter().map(|f| f.to_string()).collect(),
                requests: 0,
                latency_ms: 0,
                error: None,
            },
        );
    }

    #[test]
    fn a_blind_naive_round_passes_and_a_seeing_one_does_not() {
        let mut trace = Trace::default();
        scan(&mut trace, 1, NAIVE_SCANNER, &[]);
        scan(
            &mut trace,
            2,
            INTEGRITY_SCANNER,
            &["manifest app@sha256:aa"],
        );
        assert_eq!(check(&trace).status, RuleStatus::Pass);
        let mut seeing = Trace::default();
        scan(
            &mut seeing,
            1,
            NAIVE_SCANNER,
            &["missing-child app@sha256:aa"],
        );
        scan(
            &mut seeing,
            2,
            INTEGRITY_SCANNER,
            &["manifest app@sha256:aa"],
        );
        assert_eq!(check(&seeing).status, RuleStatus::Fail);
    }
}
