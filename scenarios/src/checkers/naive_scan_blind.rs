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
