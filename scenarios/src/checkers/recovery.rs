//! Rule: external health is 200 again within the expected time of the fault's onset, and stays 200.

use super::CheckResult;
use crate::trace::{EventKind, Trace};

/// The start of the final stretch of external health 200 that lasts to the end of the trace, if it began
/// after the onset (a run that never lost health has nothing to recover from).
pub fn recovered_at_ms(trace: &Trace, onset_ms: Option<u64>) -> Option<u64> {
    let onset_ms = onset_ms?;
    let mut healthy_since = None;
    let mut lost_after_onset = false;
    for event in trace.iter() {
        if let EventKind::ExternalHealth { http_status } = event.kind {
            if http_status == 200 {
                healthy_since.get_or_insert(event.t_ms);
            } else {
                healthy_since = None;
                lost_after_onset |= event.t_ms >= onset_ms;
            }
        }
    }
    healthy_since.filter(|since| lost_after_onset && *since >= onset_ms)
}

pub fn check(trace: &Trace, onset_ms: Option<u64>, within_ms: u64) -> CheckResult {
    const RULE: &str = "recovered_within";
    let Some(onset) = onset_ms else {
        return CheckResult::not_exercised(RULE, "no fault was injected, so nothing could recover");
    };
    let lost = trace.iter().any(|event| {
        event.t_ms >= onset
            && matches!(event.kind, EventKind::ExternalHealth { http_status } if http_status != 200)
    });
    if !lost {
        return CheckResult::not_exercised(RULE, "external health never broke after the fault");
    }
    match recovered_at_ms(trace, onset_ms) {
        Some(at) if at - onset <= within_ms => CheckResult::new(
            RULE,
            true,
            format!("healthy from {} ms after onset to the end", at - onset),
        ),
        Some(at) => CheckResult::new(
            RULE,
            false,
            format!(
                "healthy only from {} ms after onset, allowed {within_ms} ms",
                at - onset
            ),
        ),
        None => CheckResult::new(
            RULE,
            false,
            "external health never held 200 to the end after the fault",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(statuses: &[(u64, u16)]) -> Trace {
        let mut trace = Trace::default();
        for &(t_ms, http_status) in statuses {
            trace.push(t_ms, EventKind::ExternalHealth { http_status });
        }
        trace
    }

    #[test]
    fn recovery_is_the_last_healthy_stretch() {
        let t = trace(&[(0, 200), (100, 503), (200, 200), (300, 503), (400, 200)]);
        assert_eq!(recovered_at_ms(&t, Some(50)), Some(400));
    }

    #[test]
    fn never_lost_means_nothing_recovered() {
        let t = trace(&[(0, 200)]);
        assert_eq!(recovered_at_ms(&t, Some(50)), None);
    }

    #[test]
    fn regression_at_the_end_is_not_recovery() {
        let t = trace(&[(0, 200), (100, 503), (200, 200), (300, 503)]);
        assert_eq!(recovered_at_ms(&t, Some(50)), None);
        assert!(check(&t, Some(50), 1000).failed());
    }
}
